// Package mail renders nothing and decides nothing: it delivers email
// messages over SMTP (STARTTLS or implicit TLS, with authentication), or
// into the developer mailbox when no SMTP server is configured.
package mail

// Address is a mailbox, with an optional display name.
type Address struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address"`
}

// Message is one email, fully rendered by the domain that sends it.
// MessageID is fixed when the message is enqueued, so a retried delivery
// carries the same Message-ID as the first attempt.
type Message struct {
	MessageID string    `json:"messageId"`
	From      Address   `json:"from"`
	To        []Address `json:"to"`
	Cc        []Address `json:"cc,omitempty"`
	Subject   string    `json:"subject"`
	Text      string    `json:"text"`
	HTML      string    `json:"html,omitempty"`
	Language  string    `json:"language,omitempty"` // Content-Language, e.g. "sv"
	// Report names what the message is about (e.g. "invitation"), the
	// object it concerns and its tenant, so that a delivery or a bounce can
	// be audited against it. It is not sent.
	Report Report `json:"report"`
}

// Report says what a message is about, for the audit of its delivery.
type Report struct {
	Kind     string `json:"kind,omitempty"`
	TenantID string `json:"tenantId,omitempty"`
	ObjectID string `json:"objectId,omitempty"`
}
