package b2b

import (
	"strings"
	"testing"
)

func TestEmailLanguage(t *testing.T) {
	for lang, want := range map[string]string{"": "en", "en-US": "en", "sv-SE": "sv", "sv": "sv", "it_IT": "it", "PL-pl": "pl", "pt-BR": "en", "svx": "en"} {
		if got := emailLanguage(invitation{Language: lang}); got != want {
			t.Errorf("emailLanguage(%q) = %q, want %q", lang, got, want)
		}
	}
	// Graph ignores messageLanguage when a customized body is given.
	if got := emailLanguage(invitation{Language: "sv", HasCustomBody: true, CustomBody: "Hej"}); got != "en" {
		t.Errorf("with a custom body: %q", got)
	}
}

func TestInvitationEmailEscapes(t *testing.T) {
	const redeem = "https://id.gatehouse.test/redeem?ticket=t1.abc&x=1"
	msg, err := renderInvitation(invitationEmail{Lang: "en", Org: "Contoso <Ltd>", Color: "red;} body{display:none", Inviter: "Eve\r\nBcc: victim@x.example",
		To: "ana@partner.example", ToName: "Ana", CustomBody: "Hi <script>alert(1)</script>\n<a href=\"https://evil.example\">click</a> & more",
		RedeemURL: redeem, MessageID: "<m1@id.gatehouse.test>"})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script>", "<a href=\"https://evil.example\">", "Contoso <Ltd>", "display:none"} {
		if strings.Contains(msg.HTML, bad) {
			t.Errorf("HTML part carries %q unescaped:\n%s", bad, msg.HTML)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&amp; more", "Contoso &lt;Ltd&gt;", defaultColor, "Accept invitation",
		`href="https://id.gatehouse.test/redeem?ticket=t1.abc&amp;x=1"`} {
		if !strings.Contains(msg.HTML, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, msg.HTML)
		}
	}
	if strings.ContainsAny(msg.Subject, "\r\n") || msg.Subject != "Eve Bcc: victim@x.example invited you to access applications within Contoso <Ltd>" {
		t.Errorf("Subject %q", msg.Subject)
	}
	if !strings.Contains(msg.Text, redeem) || !strings.Contains(msg.Text, "> Hi <script>alert(1)</script>") {
		t.Errorf("text part:\n%s", msg.Text)
	}
	if msg.MessageID != "<m1@id.gatehouse.test>" || len(msg.To) != 1 || msg.To[0].Address != "ana@partner.example" || msg.Language != "en" {
		t.Errorf("headers %+v", msg)
	}
}

func TestInvitationEmailLanguages(t *testing.T) {
	for lang, word := range map[string]string{"en": "Accept invitation", "sv": "Acceptera inbjudan", "it": "Accetta l&#39;invito", "pl": "Zaakceptuj zaproszenie"} {
		msg, err := renderInvitation(invitationEmail{Lang: lang, Org: "Contoso", Color: "#123abc", Inviter: "Adele", To: "ana@partner.example", RedeemURL: "https://x.example/redeem?ticket=a"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(msg.HTML, word) || !strings.Contains(msg.HTML, "#123abc") || !strings.Contains(msg.Subject, "Adele") || !strings.Contains(msg.Subject, "Contoso") {
			t.Errorf("%s: subject %q, html:\n%s", lang, msg.Subject, msg.HTML)
		}
		if strings.Contains(msg.HTML, "Message from") || strings.Contains(msg.Text, "> ") {
			t.Errorf("%s: a message section without a custom body", lang)
		}
	}
}
