package mail

import (
	"strings"
	"testing"
)

func TestParseSMTPURL(t *testing.T) {
	tests := []struct {
		url  string
		want SMTPConfig
		err  string // a part of the error; "" for none
	}{
		{url: "smtp://user:p%40ss@mail.example.com:587?starttls=required",
			want: SMTPConfig{Host: "mail.example.com", Port: 587, Security: StartTLSRequired, Username: "user", Password: "p@ss"}},
		{url: "smtp://mail.example.com", want: SMTPConfig{Host: "mail.example.com", Port: 587, Security: StartTLSRequired}},
		{url: "smtps://u:p@mail.example.com", want: SMTPConfig{Host: "mail.example.com", Port: 465, Security: ImplicitTLS, Username: "u", Password: "p"}},
		{url: "smtps://mail.example.com:2465", want: SMTPConfig{Host: "mail.example.com", Port: 2465, Security: ImplicitTLS}},
		{url: "smtp://relay.example.com:25?starttls=opportunistic", want: SMTPConfig{Host: "relay.example.com", Port: 25, Security: StartTLSOpportunistic}},
		{url: "smtp://127.0.0.1:1025", want: SMTPConfig{Host: "127.0.0.1", Port: 1025, Security: StartTLSOpportunistic}},
		{url: "smtp://localhost:25?starttls=none", want: SMTPConfig{Host: "localhost", Port: 25, Security: PlainText}},
		{url: "smtp://u:p@[::1]:1025?starttls=none", want: SMTPConfig{Host: "::1", Port: 1025, Security: PlainText, Username: "u", Password: "p"}},
		{url: "smtp://localhost:25?starttls=required", want: SMTPConfig{Host: "localhost", Port: 25, Security: StartTLSRequired}},
		{url: "smtp://mail.example.com?from=Gatehouse%20%3Cno-reply%40example.com%3E",
			want: SMTPConfig{Host: "mail.example.com", Port: 587, Security: StartTLSRequired, From: Address{Name: "Gatehouse", Address: "no-reply@example.com"}}},
		{url: "smtp://mail.example.com?from=no-reply%40example.com",
			want: SMTPConfig{Host: "mail.example.com", Port: 587, Security: StartTLSRequired, From: Address{Address: "no-reply@example.com"}}},

		// Clear text leaves this machine only by the operator's explicit
		// choice, and never with credentials.
		{url: "smtp://mail.example.com:25?starttls=none", err: "only for a relay on this machine"},
		{url: "smtp://u:p@mail.example.com?starttls=opportunistic", err: "could be sent in clear"},
		{url: "smtp://u:p@localhost.example.com?starttls=none", err: "only for a relay"},
		{url: "smtp://u:p@127.0.0.2.nip.io?starttls=none", err: "only for a relay"},
		{url: "smtps://mail.example.com?starttls=required", err: "smtps speaks TLS"},
		{url: "smtp://mail.example.com?starttls=yes", err: "want required, opportunistic or none"},
		{url: "smtp://mail.example.com?tls=required", err: "unknown parameter"},
		{url: "smtp://mail.example.com?starttls=none&starttls=required", err: "given 2 times"},
		{url: "smtp://mail.example.com?from=not%20an%20address", err: "from"},
		{url: "http://mail.example.com", err: "scheme"},
		{url: "mail.example.com:587", err: "scheme"},
		{url: "smtp://", err: "no host"},
		{url: "smtp://mail.example.com:0", err: "bad port"},
		{url: "smtp://mail.example.com:70000", err: "bad port"},
		{url: "smtp://mail.example.com/inbox", err: "path"},
		{url: "smtp://user:secret@mail.example.com:port", err: "not a URL"},
	}
	for _, tt := range tests {
		got, err := ParseSMTPURL(tt.url)
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseSMTPURL(%q) = %+v, %v; want error with %q", tt.url, got, err, tt.err)
		case tt.err == "" && err != nil:
			t.Errorf("ParseSMTPURL(%q): %v", tt.url, err)
		case tt.err == "" && got != tt.want:
			t.Errorf("ParseSMTPURL(%q) = %+v, want %+v", tt.url, got, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("ParseSMTPURL(%q) error shows the password: %v", tt.url, err)
		}
	}
}

func TestSMTPConfigStringHidesPassword(t *testing.T) {
	c, err := ParseSMTPURL("smtps://user:hunter2@mail.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if s := c.String(); strings.Contains(s, "hunter2") || !strings.Contains(s, "user@mail.example.com:465") {
		t.Errorf("String() = %q", s)
	}
}

func TestIsLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST.": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true,
		"localhost.example.com": false, "10.0.0.1": false, "mail.example.com": false, "": false, "::": false,
	} {
		if got := IsLoopbackHost(host); got != want {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}
