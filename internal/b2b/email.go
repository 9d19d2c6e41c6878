package b2b

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"regexp"
	"strings"
	texttemplate "text/template"

	"github.com/gatehouse-id/gatehouse/internal/mail"
)

// invitationText is an invitation email's wording in one language. Each
// %[1]s is the inviter, %[2]s the organization.
type invitationText struct {
	Subject, Warning, Intro, From, Button, Link, Privacy, Ignore string
}

var invitationTexts = map[string]invitationText{
	"en": {
		Subject: "%[1]s invited you to access applications within %[2]s",
		Warning: "Please only act on this email if you trust the individual and organization represented below.",
		Intro:   "%[1]s invited you to access applications within their organization, %[2]s.",
		From:    "Message from %[1]s:",
		Button:  "Accept invitation",
		Link:    "Or open this link:",
		Privacy: "If you accept, %[2]s will see your name and email address.",
		Ignore:  "If you did not expect this invitation, you can ignore this email.",
	},
	"sv": {
		Subject: "%[1]s har bjudit in dig till program i %[2]s",
		Warning: "Agera bara på det här meddelandet om du litar på personen och organisationen nedan.",
		Intro:   "%[1]s har bjudit in dig till program i sin organisation, %[2]s.",
		From:    "Meddelande från %[1]s:",
		Button:  "Acceptera inbjudan",
		Link:    "Eller öppna den här länken:",
		Privacy: "Om du accepterar ser %[2]s ditt namn och din e-postadress.",
		Ignore:  "Om du inte väntade dig den här inbjudan kan du bortse från meddelandet.",
	},
	"it": {
		Subject: "%[1]s ti ha invitato ad accedere alle applicazioni di %[2]s",
		Warning: "Agisci in base a questo messaggio solo se ti fidi della persona e dell'organizzazione indicate di seguito.",
		Intro:   "%[1]s ti ha invitato ad accedere alle applicazioni della sua organizzazione, %[2]s.",
		From:    "Messaggio da %[1]s:",
		Button:  "Accetta l'invito",
		Link:    "Oppure apri questo link:",
		Privacy: "Se accetti, %[2]s vedrà il tuo nome e il tuo indirizzo email.",
		Ignore:  "Se non ti aspettavi questo invito, puoi ignorare questo messaggio.",
	},
	"pl": {
		Subject: "%[1]s zaprasza Cię do aplikacji organizacji %[2]s",
		Warning: "Reaguj na tę wiadomość tylko wtedy, gdy ufasz osobie i organizacji wskazanym poniżej.",
		Intro:   "%[1]s zaprasza Cię do aplikacji swojej organizacji, %[2]s.",
		From:    "Wiadomość od %[1]s:",
		Button:  "Zaakceptuj zaproszenie",
		Link:    "Możesz też otworzyć ten link:",
		Privacy: "Jeśli zaakceptujesz, organizacja %[2]s zobaczy Twoje imię i nazwisko oraz adres e-mail.",
		Ignore:  "Jeśli nie spodziewasz się tego zaproszenia, zignoruj tę wiadomość.",
	},
}

// emailLanguage picks the invitation email's language from
// messageLanguage's primary subtag; Graph ignores messageLanguage when a
// customized body is given, and so do we.
func emailLanguage(in invitation) string {
	if in.HasCustomBody {
		return "en"
	}
	primary, _, _ := strings.Cut(strings.ToLower(strings.ReplaceAll(in.Language, "_", "-")), "-")
	if _, ok := invitationTexts[primary]; ok {
		return primary
	}
	return "en"
}

// invitationEmail is what an invitation email says.
type invitationEmail struct {
	Lang, Org, Color, Inviter string
	To, ToName                string
	Cc                        []mail.Address
	CustomBody                string
	RedeemURL                 string
	MessageID                 string
}

// colorRE admits a branding colour into the email's style.
var colorRE = regexp.MustCompile(`^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$`)

const defaultColor = "#0067b8"

var invitationHTML = htmltemplate.Must(htmltemplate.New("invitation").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family: sans-serif; color: #1b1b1b;">
<p style="font-size: 12px; color: #605e5c;">{{.Warning}}</p>
<h1 style="font-size: 20px;">{{.Org}}</h1>
<p>{{.Intro}}</p>
{{if .Lines}}<p>{{.From}}</p>
<blockquote style="border-left: 3px solid {{.Color}}; margin: 0; padding-left: 12px;">{{range $i, $l := .Lines}}{{if $i}}<br>{{end}}{{$l}}{{end}}</blockquote>
{{end}}<p><a href="{{.RedeemURL}}" style="display: inline-block; padding: 10px 16px; background: {{.Color}}; color: #ffffff; text-decoration: none;">{{.Button}}</a></p>
<p style="font-size: 12px;">{{.Link}} <a href="{{.RedeemURL}}">{{.RedeemURL}}</a></p>
<p style="font-size: 12px; color: #605e5c;">{{.Privacy}}</p>
<p style="font-size: 12px; color: #605e5c;">{{.Ignore}}</p>
</body></html>
`))

var invitationPlain = texttemplate.Must(texttemplate.New("invitation").Parse(`{{.Warning}}

{{.Intro}}
{{if .Lines}}
{{.From}}
{{range .Lines}}> {{.}}
{{end}}{{end}}
{{.Button}}: {{.RedeemURL}}

{{.Privacy}}
{{.Ignore}}
`))

// renderInvitation renders an invitation email: a plain text part and an
// HTML part, with every value the inviter or the organization chose
// escaped in the HTML.
func renderInvitation(e invitationEmail) (mail.Message, error) {
	t := invitationTexts[e.Lang]
	color := e.Color
	if !colorRE.MatchString(color) {
		color = defaultColor
	}
	var lines []string
	if body := strings.TrimSpace(strings.ReplaceAll(e.CustomBody, "\r\n", "\n")); body != "" {
		lines = strings.Split(body, "\n")
	}
	inviter, org := oneLine(e.Inviter), oneLine(e.Org)
	view := struct {
		Lang, Subject, Warning, Intro, From, Button, Link, Privacy, Ignore, Org, Color, RedeemURL string
		Lines                                                                                     []string
	}{
		Lang: e.Lang, Subject: fmt.Sprintf(t.Subject, inviter, org), Warning: t.Warning,
		Intro: fmt.Sprintf(t.Intro, inviter, org), From: fmt.Sprintf(t.From, inviter, org), Button: t.Button, Link: t.Link,
		Privacy: fmt.Sprintf(t.Privacy, inviter, org), Ignore: t.Ignore, Org: org, Color: color, RedeemURL: e.RedeemURL, Lines: lines,
	}
	var html, text bytes.Buffer
	if err := invitationHTML.Execute(&html, view); err != nil {
		return mail.Message{}, err
	}
	if err := invitationPlain.Execute(&text, view); err != nil {
		return mail.Message{}, err
	}
	return mail.Message{
		MessageID: e.MessageID,
		From:      mail.Address{Name: org},
		To:        []mail.Address{{Name: oneLine(e.ToName), Address: e.To}},
		Cc:        e.Cc,
		Subject:   view.Subject,
		Text:      text.String(),
		HTML:      html.String(),
		Language:  e.Lang,
	}, nil
}

// codeEmail renders the email carrying a guest's one-time passcode.
func codeEmail(org, to, code, messageID string) mail.Message {
	org = oneLine(org)
	return mail.Message{
		MessageID: messageID,
		From:      mail.Address{Name: org},
		To:        []mail.Address{{Address: to}},
		Subject:   org + " account verification code",
		Text: "Your " + org + " verification code is: " + code + "\n\nIt expires in 10 minutes. If you did not ask for a code, " +
			"you can ignore this email: nobody can sign in without it.\n",
		Language: "en",
	}
}

// oneLine keeps header values and names on one line: a display name with
// a line break must not start a new header.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' || r == '\t' }), " ")
}
