package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Sender delivers one message of a tenant. Delivery to an SMTP server and
// to the developer mailbox are the two.
type Sender interface {
	Send(ctx context.Context, tenantID string, m Message) error
}

// TxSender is a Sender that delivers by writing into the store (the
// developer mailbox), so the delivery can commit in one transaction with
// its record in the outbox.
type TxSender interface {
	Sender
	SendTx(ctx context.Context, tx store.Tx, tenantID string, m Message) error
}

// RejectedError is a permanent refusal of a message: the server answered
// 5xx (a bounce) or the message cannot be sent as it is. Sending it again
// would fail the same way.
type RejectedError struct {
	Code int // the SMTP reply code; 0 when the message was refused before it reached the server
	Err  error
}

func (e *RejectedError) Error() string {
	if e.Code == 0 {
		return "mail: rejected: " + e.Err.Error()
	}
	return fmt.Sprintf("mail: rejected (%d): %v", e.Code, e.Err)
}

func (e *RejectedError) Unwrap() error { return e.Err }

// IsPermanent reports whether a Send error is a permanent refusal.
func IsPermanent(err error) bool {
	var r *RejectedError
	return errors.As(err, &r)
}

// SMTP delivers messages to an SMTP server, one connection per message.
type SMTP struct {
	cfg     SMTPConfig
	timeout time.Duration
	tls     *tls.Config
}

// DefaultSMTPTimeout bounds connecting and each command of a delivery.
const DefaultSMTPTimeout = 30 * time.Second

// NewSMTP makes a sender for cfg. tlsConfig may be nil (the system's roots
// and the configured host name).
func NewSMTP(cfg SMTPConfig, tlsConfig *tls.Config) *SMTP {
	if tlsConfig == nil {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tlsConfig = tlsConfig.Clone()
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = cfg.Host
	}
	return &SMTP{cfg: cfg, timeout: DefaultSMTPTimeout, tls: tlsConfig}
}

// Send delivers m. The Message-ID is m's, so a retried delivery is
// recognisably the same message. A 5xx answer is a *RejectedError; every
// other failure (the server unreachable, 4xx, a dropped connection) may
// pass.
func (s *SMTP) Send(ctx context.Context, _ string, m Message) error {
	msg, err := s.compose(m)
	if err != nil {
		return &RejectedError{Err: err}
	}
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port), gomail.WithTimeout(s.timeout), gomail.WithTLSConfig(s.tls),
	}
	switch s.cfg.Security {
	case ImplicitTLS:
		opts = append(opts, gomail.WithSSL())
	case StartTLSRequired:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case StartTLSOpportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case PlainText:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.cfg.Username != "" {
		// go-mail's discovery picks no password mechanism without TLS;
		// towards a relay on this machine (ParseSMTPURL allows clear text
		// nowhere else) PLAIN is what such relays offer.
		auth := gomail.SMTPAuthAutoDiscover
		if IsLoopbackHost(s.cfg.Host) && (s.cfg.Security == PlainText || s.cfg.Security == StartTLSOpportunistic) {
			auth = gomail.SMTPAuthPlain
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	c, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("mail: smtp client: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*s.timeout)
	defer cancel()
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		var se *gomail.SendError
		if errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() < 600 {
			return &RejectedError{Code: se.ErrorCode(), Err: err}
		}
		return fmt.Errorf("mail: smtp %s: %w", s.cfg.Addr(), err)
	}
	return nil
}

// compose builds the wire message: text, and HTML as its alternative.
func (s *SMTP) compose(m Message) (*gomail.Msg, error) {
	if len(m.To) == 0 {
		return nil, errors.New("no recipient")
	}
	from := m.From
	if from.Address == "" {
		from = s.cfg.From
	}
	if from.Address == "" {
		return nil, errors.New("no sender: set --mail-from or the from parameter of --smtp-url")
	}
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.FromFormat(from.Name, from.Address); err != nil {
		return nil, err
	}
	for _, a := range m.To {
		if err := msg.AddToFormat(a.Name, a.Address); err != nil {
			return nil, err
		}
	}
	for _, a := range m.Cc {
		if err := msg.AddCcFormat(a.Name, a.Address); err != nil {
			return nil, err
		}
	}
	if id := strings.Trim(m.MessageID, "<>"); id != "" {
		msg.SetMessageIDWithValue(id)
	} else {
		msg.SetMessageID()
	}
	if m.Language != "" {
		msg.SetGenHeader(gomail.HeaderContentLang, m.Language)
	}
	// Out-of-office and other automatic replies have nobody to reach.
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetDate()
	msg.Subject(m.Subject)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}
