package mail

import (
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
)

// Security is how a connection to the SMTP server is protected.
type Security int

const (
	// StartTLSRequired upgrades the connection with STARTTLS and refuses a
	// server that does not offer it.
	StartTLSRequired Security = iota
	// StartTLSOpportunistic upgrades when the server offers STARTTLS and
	// carries on in clear text when it does not.
	StartTLSOpportunistic
	// PlainText never encrypts: for a relay on the same machine only.
	PlainText
	// ImplicitTLS speaks TLS from the first byte (smtps://, port 465).
	ImplicitTLS
)

func (s Security) String() string {
	switch s {
	case StartTLSRequired:
		return "starttls=required"
	case StartTLSOpportunistic:
		return "starttls=opportunistic"
	case PlainText:
		return "starttls=none"
	case ImplicitTLS:
		return "implicit TLS"
	}
	return "unknown"
}

// SMTPConfig says how to reach the SMTP server that delivers mail.
type SMTPConfig struct {
	Host     string
	Port     int
	Security Security
	Username string // empty: no authentication
	Password string
	// From is the sender of messages that name none.
	From Address
}

// ParseSMTPURL reads an --smtp-url:
//
//	smtp://user:pass@host:587?starttls=required&from=Gatehouse%20%3Cno-reply%40example.com%3E
//	smtps://user:pass@host:465
//	smtp://127.0.0.1:1025?starttls=none
//
// smtp:// defaults to port 587 and starttls=required, except towards a
// loopback host, where it upgrades when it can. Credentials are refused on
// any connection to another host that could end up unencrypted, and so is
// starttls=none: the link of an invitation is as good as a password.
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse quotes the whole URL, password included.
		return SMTPConfig{}, errors.New("smtp url: not a URL")
	}
	var c SMTPConfig
	switch u.Scheme {
	case "smtp":
		c.Port = 587
	case "smtps":
		c.Port, c.Security = 465, ImplicitTLS
	default:
		return SMTPConfig{}, fmt.Errorf("smtp url: scheme %q, want smtp or smtps", u.Scheme)
	}
	c.Host = u.Hostname()
	if c.Host == "" || u.Opaque != "" {
		return SMTPConfig{}, errors.New("smtp url: no host")
	}
	if u.Path != "" && u.Path != "/" {
		return SMTPConfig{}, errors.New("smtp url: a path means nothing here")
	}
	if p := u.Port(); p != "" {
		if c.Port, err = strconv.Atoi(p); err != nil || c.Port < 1 || c.Port > 65535 {
			return SMTPConfig{}, fmt.Errorf("smtp url: bad port %q", p)
		}
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	loopback := IsLoopbackHost(c.Host)
	if c.Security != ImplicitTLS && loopback {
		c.Security = StartTLSOpportunistic
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return SMTPConfig{}, errors.New("smtp url: bad query")
	}
	for key, vals := range q {
		if len(vals) != 1 {
			return SMTPConfig{}, fmt.Errorf("smtp url: %s given %d times", key, len(vals))
		}
		v := vals[0]
		switch key {
		case "starttls":
			if c.Security == ImplicitTLS {
				return SMTPConfig{}, errors.New("smtp url: smtps speaks TLS from the start; starttls applies to smtp://")
			}
			switch v {
			case "required":
				c.Security = StartTLSRequired
			case "opportunistic":
				c.Security = StartTLSOpportunistic
			case "none":
				c.Security = PlainText
			default:
				return SMTPConfig{}, fmt.Errorf("smtp url: starttls=%q, want required, opportunistic or none", v)
			}
		case "from":
			if c.From, err = ParseAddress(v); err != nil {
				return SMTPConfig{}, fmt.Errorf("smtp url: from: %v", err)
			}
		default:
			return SMTPConfig{}, fmt.Errorf("smtp url: unknown parameter %q", key)
		}
	}
	if loopback {
		return c, nil
	}
	switch {
	case c.Security == PlainText:
		return SMTPConfig{}, fmt.Errorf("smtp url: starttls=none is only for a relay on this machine, not %s", c.Host)
	case c.Security == StartTLSOpportunistic && c.Username != "":
		return SMTPConfig{}, fmt.Errorf("smtp url: credentials for %s could be sent in clear with starttls=opportunistic; use starttls=required or smtps://", c.Host)
	}
	return c, nil
}

// Addr is the server's host:port.
func (c SMTPConfig) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// String describes the configuration without its password.
func (c SMTPConfig) String() string {
	user := ""
	if c.Username != "" {
		user = c.Username + "@"
	}
	return fmt.Sprintf("%s%s (%s)", user, c.Addr(), c.Security)
}

// IsLoopbackHost reports whether a host name or address is this machine
// without asking DNS: "localhost" (RFC 6761 reserves it) or a loopback IP.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ParseAddress reads "Name <address>" or a bare address, as --mail-from takes it.
func ParseAddress(s string) (Address, error) {
	a, err := netmail.ParseAddress(s)
	if err != nil {
		return Address{}, err
	}
	return Address{Name: a.Name, Address: a.Address}, nil
}
