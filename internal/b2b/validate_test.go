package b2b

import (
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/federation"
	"github.com/gatehouse-id/gatehouse/internal/usererr"
)

func TestCheckInvitedEmail(t *testing.T) {
	ok := []string{"ana.silva@partner.example", "a_b@x.example", "_a_@x.example", "a-b.c@sub.x-y.example", "O'Neil@x.example", "a@x.co"}
	bad := []string{"", "ana", "@x.example", "ana@", "ana@x", "a@b@x.example", ".ana@x.example", "ana.@x.example", "-ana@x.example",
		"ana-@x.example", "a..b@x.example", "a b@x.example", "ana@x_y.example", "ana@-x.example", "anä@x.example", "ana@x.example\n"}
	for _, r := range "~!#$%^&*()+=[]{}\\/|;:\"<>?," {
		bad = append(bad, "a"+string(r)+"b@x.example")
	}
	for _, e := range ok {
		if err := CheckInvitedEmail(e); err != nil {
			t.Errorf("%q refused: %v", e, err)
		}
	}
	for _, e := range bad {
		if err := CheckInvitedEmail(e); !usererr.IsKind(err, usererr.Invalid) {
			t.Errorf("%q admitted (%v)", e, err)
		}
	}
}

func TestCheckRedirectURL(t *testing.T) {
	ok := []string{"https://apps.contoso.example/welcome", "https://myapps.example", "http://localhost:3000/cb", "http://127.0.0.1/x", "http://[::1]:8080/", "HTTPS://x.example/"}
	bad := []string{"", "javascript:alert(1)", "JavaScript://x.example/%0aalert(1)", "data:text/html,<script>", "http://apps.contoso.example/",
		"/relative", "//x.example/", "ftp://x.example/", "https://user:pw@x.example/", "https:///nohost", "http://localhost.evil.example/",
		"https://x.example/" + strings.Repeat("a", 2100)}
	for _, u := range ok {
		if err := CheckRedirectURL(u); err != nil {
			t.Errorf("%q refused: %v", u, err)
		}
	}
	for _, u := range bad {
		if err := CheckRedirectURL(u); err == nil {
			t.Errorf("%q admitted", u)
		}
	}
}

func TestGuestUPN(t *testing.T) {
	if got := GuestUPN("ana.silva@partner.example", "contoso.gatehouse.test"); got != "ana.silva_partner.example#EXT#@contoso.gatehouse.test" {
		t.Errorf("GuestUPN = %q", got)
	}
}

func TestParseInvitation(t *testing.T) {
	base := func() directory.Doc {
		return directory.Doc{"invitedUserEmailAddress": "ana@partner.example", "inviteRedirectUrl": "https://apps.example/"}
	}
	in, err := parseInvitation(base())
	if err != nil || in.UserType != "Guest" || in.Send || in.Reset {
		t.Fatalf("minimal body: %+v, %v", in, err)
	}
	full := base()
	full["invitedUserType"] = "member"
	full["sendInvitationMessage"] = true
	full["id"] = "ignored, read-only"
	full["invitedUserSponsors"] = []any{map[string]any{"id": "s1"}, map[string]any{"id": "s1"}, map[string]any{"id": "s2"}}
	full["invitedUserMessageInfo"] = map[string]any{"messageLanguage": "sv-SE", "customizedMessageBody": "Hej",
		"ccRecipients": []any{map[string]any{"emailAddress": map[string]any{"address": "owner@contoso.example", "name": "Owner"}}}}
	in, err = parseInvitation(full)
	if err != nil || in.UserType != "Member" || !in.Send || len(in.Sponsors) != 2 || in.Language != "sv-SE" || !in.HasCustomBody ||
		len(in.Cc) != 1 || in.Cc[0].Address != "owner@contoso.example" {
		t.Fatalf("full body: %+v, %v", in, err)
	}

	sponsors := func(n int) []any {
		var out []any
		for i := range n {
			out = append(out, map[string]any{"id": string(rune('a' + i))})
		}
		return out
	}
	cc := map[string]any{"emailAddress": map[string]any{"address": "x@y.example"}}
	for name, change := range map[string]func(directory.Doc){
		"no email":            func(d directory.Doc) { delete(d, "invitedUserEmailAddress") },
		"bad email":           func(d directory.Doc) { d["invitedUserEmailAddress"] = "a(b)@x.example" },
		"no redirect":         func(d directory.Doc) { delete(d, "inviteRedirectUrl") },
		"script redirect":     func(d directory.Doc) { d["inviteRedirectUrl"] = "javascript:alert(1)" },
		"plain http redirect": func(d directory.Doc) { d["inviteRedirectUrl"] = "http://apps.example/" },
		"six sponsors":        func(d directory.Doc) { d["invitedUserSponsors"] = sponsors(6) },
		"sponsor without id":  func(d directory.Doc) { d["invitedUserSponsors"] = []any{map[string]any{}} },
		"two cc":              func(d directory.Doc) { d["invitedUserMessageInfo"] = map[string]any{"ccRecipients": []any{cc, cc}} },
		"bad cc": func(d directory.Doc) {
			d["invitedUserMessageInfo"] = map[string]any{"ccRecipients": []any{map[string]any{}}}
		},
		"reset without user":   func(d directory.Doc) { d["resetRedemption"] = true },
		"user without reset":   func(d directory.Doc) { d["invitedUser"] = map[string]any{"id": "u1"} },
		"unknown type":         func(d directory.Doc) { d["invitedUserType"] = "Admin" },
		"unknown property":     func(d directory.Doc) { d["invitedUserPassword"] = "x" },
		"send not boolean":     func(d directory.Doc) { d["sendInvitationMessage"] = "yes" },
		"email not string":     func(d directory.Doc) { d["invitedUserEmailAddress"] = 42 },
		"unknown message prop": func(d directory.Doc) { d["invitedUserMessageInfo"] = map[string]any{"bcc": "x"} },
		"long body": func(d directory.Doc) {
			d["invitedUserMessageInfo"] = map[string]any{"customizedMessageBody": strings.Repeat("x", maxCustomBody+1)}
		},
	} {
		d := base()
		change(d)
		if _, err := parseInvitation(d); !usererr.IsKind(err, usererr.Invalid) {
			t.Errorf("%s: error %v, want invalid", name, err)
		}
	}
	five := base()
	five["invitedUserSponsors"] = sponsors(5)
	if _, err := parseInvitation(five); err != nil {
		t.Errorf("five sponsors refused: %v", err)
	}
}

func TestProves(t *testing.T) {
	const addr = "Ana@Partner.example"
	for _, c := range []struct {
		name string
		id   federation.Identity
		want bool
	}{
		{"verified same address", federation.Identity{Issuer: "https://idp", Subject: "s", Email: "ana@partner.example", EmailVerified: true}, true},
		{"unverified same address", federation.Identity{Issuer: "https://idp", Subject: "s", Email: "ana@partner.example"}, false},
		{"verified other address", federation.Identity{Issuer: "https://idp", Subject: "s", Email: "ana@partner.example.evil", EmailVerified: true}, false},
		{"otp of the address", federation.Identity{Issuer: federation.IssuerMail, Subject: "ana@partner.example"}, true},
		{"otp of another address", federation.Identity{Issuer: federation.IssuerMail, Subject: "bob@partner.example", Email: addr, EmailVerified: true}, false},
		{"no email", federation.Identity{Issuer: "https://idp", Subject: "s", EmailVerified: true}, false},
	} {
		if got := Proves(c.id, addr); got != c.want {
			t.Errorf("%s: Proves = %v, want %v", c.name, got, c.want)
		}
	}
	if Proves(federation.Identity{Issuer: federation.IssuerMail}, "") {
		t.Error("an empty address was proved")
	}
}

func TestTicketShape(t *testing.T) {
	secret, err := newTicketSecret("tid-1", strings.NewReader(strings.Repeat("k", 64)))
	if err != nil {
		t.Fatal(err)
	}
	if tid, ok := ticketTenant(secret); !ok || tid != "tid-1" {
		t.Errorf("ticketTenant(%q) = %q, %v", secret, tid, ok)
	}
	if len(secret) < len("tid-1.")+43 {
		t.Errorf("ticket %q carries fewer than 256 bits", secret)
	}
	for _, bad := range []string{"", "tid-1", ".abc", "tid-1.short", secret + "x"} {
		if _, ok := ticketTenant(bad); ok {
			t.Errorf("ticketTenant(%q) accepted", bad)
		}
	}
	if ticketID(secret) == ticketID(secret+"x") || strings.Contains(ticketID(secret), secret) {
		t.Error("ticket ids are not hashes of the secret")
	}
}
