package mail

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/mail/mailtest"
)

func smtpTo(t *testing.T, url string) *SMTP {
	t.Helper()
	cfg, err := ParseSMTPURL(url)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSMTP(cfg, nil)
	s.timeout = 5 * time.Second
	return s
}

func invitation() Message {
	return Message{
		MessageID: "<0f7d2c1e@contoso.example>",
		From:      Address{Name: "Contoso via Gatehouse", Address: "invites@contoso.example"},
		To:        []Address{{Name: "Åsa Guest", Address: "asa@fabrikam.example"}},
		Cc:        []Address{{Address: "boss@contoso.example"}},
		Subject:   "Du har blivit inbjuden",
		Text:      "Hej! https://gatehouse.example/redeem?ticket=x",
		HTML:      "<p>Hej! <a href=\"https://gatehouse.example/redeem?ticket=x\">Acceptera</a></p>",
		Language:  "sv",
	}
}

func TestSMTPDelivers(t *testing.T) {
	mp := mailtest.Start(t)
	// Credentials over clear text are allowed to a relay on this machine.
	url := strings.Replace(mp.SMTPURL, "smtp://", "smtp://relay:pw@", 1)
	if err := smtpTo(t, url).Send(t.Context(), "t1", invitation()); err != nil {
		t.Fatal(err)
	}
	got := mp.Await(t, 1, 10*time.Second)
	m := mp.Message(t, got[0].ID)
	want := invitation()
	if m.MessageID != "0f7d2c1e@contoso.example" || m.Subject != want.Subject || m.From.Address != want.From.Address ||
		len(m.To) != 1 || m.To[0].Address != "asa@fabrikam.example" || m.To[0].Name != "Åsa Guest" ||
		len(m.Cc) != 1 || m.Cc[0].Address != "boss@contoso.example" {
		t.Errorf("received %+v", m.Summary)
	}
	if strings.TrimSpace(m.Text) != want.Text || !strings.Contains(m.HTML, `<a href="https://gatehouse.example/redeem?ticket=x">`) {
		t.Errorf("bodies: text %q html %q", m.Text, m.HTML)
	}
	if h := m.Headers["Content-Language"]; len(h) != 1 || h[0] != "sv" {
		t.Errorf("Content-Language = %v", h)
	}
	if h := m.Headers["Auto-Submitted"]; len(h) != 1 || h[0] != "auto-generated" {
		t.Errorf("Auto-Submitted = %v", h)
	}
}

func TestSMTPDefaultSender(t *testing.T) {
	mp := mailtest.Start(t)
	m := invitation()
	m.From = Address{}
	if err := smtpTo(t, mp.SMTPURL).Send(t.Context(), "t1", m); !IsPermanent(err) {
		t.Fatalf("no sender anywhere: %v, want a permanent error", err)
	}
	if err := smtpTo(t, mp.SMTPURL+"&from=Gatehouse%20%3Cno-reply%40gatehouse.example%3E").Send(t.Context(), "t1", m); err != nil {
		t.Fatal(err)
	}
	if got := mp.Await(t, 1, 10*time.Second); got[0].From.Address != "no-reply@gatehouse.example" || got[0].From.Name != "Gatehouse" {
		t.Errorf("from = %+v", got[0].From)
	}
}

func TestSMTPFailures(t *testing.T) {
	mp := mailtest.Start(t)
	s := smtpTo(t, mp.SMTPURL)
	ctx := t.Context()

	mp.Chaos(t, 550)
	err := s.Send(ctx, "t1", invitation())
	var rej *RejectedError
	if !IsPermanent(err) || !errors.As(err, &rej) || rej.Code != 550 {
		t.Errorf("550 from the server: %v, want a permanent *RejectedError with code 550", err)
	}
	mp.Chaos(t, 451)
	if err := s.Send(ctx, "t1", invitation()); err == nil || IsPermanent(err) {
		t.Errorf("451 from the server: %v, want a temporary error", err)
	}
	mp.Chaos(t, 0)
	mp.Stop(t)
	if err := s.Send(ctx, "t1", invitation()); err == nil || IsPermanent(err) {
		t.Errorf("server down: %v, want a temporary error", err)
	}
	m := invitation()
	m.To = nil
	if err := s.Send(ctx, "t1", m); !IsPermanent(err) {
		t.Errorf("no recipient: %v, want a permanent error", err)
	}
	m.To = []Address{{Address: "not an address"}}
	if err := s.Send(ctx, "t1", m); !IsPermanent(err) {
		t.Errorf("bad recipient: %v, want a permanent error", err)
	}
}

func TestSMTPRequiredTLSRefusesAServerWithoutIt(t *testing.T) {
	mp := mailtest.Start(t)
	// mailpit offers no STARTTLS here: required means the message stays.
	err := smtpTo(t, strings.Replace(mp.SMTPURL, "starttls=none", "starttls=required", 1)).Send(context.Background(), "t1", invitation())
	if err == nil || IsPermanent(err) {
		t.Errorf("starttls=required to a server without it: %v, want a temporary error", err)
	}
	if n := len(mp.Messages(t)); n != 0 {
		t.Errorf("%d message(s) sent in clear", n)
	}
}
