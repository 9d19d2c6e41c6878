// Package outbox carries email out of the transactions that decide to send
// it: a message is enqueued, sealed, in the writing transaction, and workers
// on every node claim due messages with leases, deliver them and record the
// outcome, retrying with backoff. A message is delivered once its
// transaction commits and never if it rolls back; a node that dies holding
// a claim loses nothing (its lease runs out and another node delivers). A
// node that dies after the server accepted a message but before recording
// it makes the one duplicate no outbox can rule out, with the same
// Message-ID, so mail clients show it once.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Topic is the outbox topic of email.
const Topic = "email"

// Mailer enqueues email in the caller's transaction.
type Mailer struct {
	keys  *secrets.Keyring
	newID func() string
	now   func() time.Time
	from  mail.Address
}

// NewMailer makes a mailer sealing messages with keys; newID names them
// (it must not repeat) and now dates them.
func NewMailer(keys *secrets.Keyring, newID func() string, now func() time.Time) *Mailer {
	return &Mailer{keys: keys, newID: newID, now: now}
}

// WithFrom returns a mailer whose messages that name no sender are sent
// from from.
func (m *Mailer) WithFrom(from mail.Address) *Mailer {
	c := *m
	c.from = from
	return &c
}

// Enqueue adds msg to the outbox in tx: it is delivered if and only if tx
// commits. A message without a Message-ID gets one here ("<id@domain of
// the sender>"), so every attempt to deliver it carries the same one.
func (m *Mailer) Enqueue(ctx context.Context, tx store.Tx, tenantID string, msg mail.Message) error {
	if tenantID == "" {
		return errors.New("outbox: a message needs its tenant")
	}
	if len(msg.To) == 0 {
		return errors.New("outbox: a message needs a recipient")
	}
	if msg.From.Address == "" {
		msg.From = m.from
	}
	id := m.newID()
	if msg.MessageID == "" {
		msg.MessageID = "<" + id + "@" + domainOf(msg.From.Address) + ">"
	}
	payload, err := seal(m.keys, tenantID, id, msg)
	if err != nil {
		return err
	}
	now := m.now()
	return tx.Enqueue(ctx, store.Message{ID: id, TenantID: tenantID, Topic: Topic, Payload: payload, CreatedAt: now, NotBefore: now})
}

// domainOf is the domain of an address, or a name reserved for documents
// (RFC 2606) when there is none, so a Message-ID is well-formed either way.
func domainOf(addr string) string {
	if at := strings.LastIndexByte(addr, '@'); at >= 0 && at < len(addr)-1 {
		return addr[at+1:]
	}
	return "gatehouse.invalid"
}

// sealedPayload is an outbox message's payload: the message sealed with the
// master keyring, bound to its tenant and outbox id.
type sealedPayload struct {
	Sealed []byte `json:"sealed"`
}

func aad(tenantID, id string) []byte {
	return []byte("gatehouse outbox email\x00" + tenantID + "\x00" + id)
}

func seal(keys *secrets.Keyring, tenantID, id string, msg mail.Message) (json.RawMessage, error) {
	plain, err := json.Marshal(msg)
	if err != nil {
		return nil, err
	}
	sealed, err := keys.Seal(plain, aad(tenantID, id))
	if err != nil {
		return nil, err
	}
	return json.Marshal(sealedPayload{Sealed: sealed})
}

// open unseals a claimed message. Failing is not the recipient's fault and
// leaves nothing to report against: perhaps a node with another master key
// sealed it, and another node may open it.
func open(keys *secrets.Keyring, m store.Message) (mail.Message, error) {
	var p sealedPayload
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		return mail.Message{}, errors.Join(errCannotOpen, err)
	}
	plain, err := keys.Open(p.Sealed, aad(m.TenantID, m.ID))
	if err != nil {
		return mail.Message{}, errors.Join(errCannotOpen, err)
	}
	var msg mail.Message
	if err := json.Unmarshal(plain, &msg); err != nil {
		return mail.Message{}, errors.Join(errCannotOpen, err)
	}
	return msg, nil
}

var errCannotOpen = errors.New("outbox: cannot open the sealed message")
