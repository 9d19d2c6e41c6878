package mail

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/secrets"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Mailbox is the developer mailbox: with no SMTP server configured, it
// keeps delivered messages in the store, sealed like every other secret
// (an invitation's link is one), for a week. Its page is served to this
// machine only (Handler).
type Mailbox struct {
	st   store.Store
	keys *secrets.Keyring
	now  func() time.Time
	from Address
}

// StateMailbox is the kind of the states that hold the developer mailbox.
const StateMailbox = "devmail"

// MailboxLifetime is how long the developer mailbox keeps a message.
const MailboxLifetime = 7 * 24 * time.Hour

// mailboxLimit bounds how many messages the mailbox lists.
const mailboxLimit = 500

// NewMailbox opens the developer mailbox over a store. from is the sender
// shown on messages that name none.
func NewMailbox(st store.Store, keys *secrets.Keyring, now func() time.Time, from Address) *Mailbox {
	return &Mailbox{st: st, keys: keys, now: now, from: from}
}

// Stored is a message in the developer mailbox.
type Stored struct {
	ID       string // tenant id "." digest of the Message-ID: the page's path
	TenantID string
	At       time.Time
	Message  Message
}

// Send stores m. Its Message-ID names it, so a message delivered twice
// (a worker that died before recording a delivery) is kept once.
func (b *Mailbox) Send(ctx context.Context, tenantID string, m Message) error {
	return b.st.Update(ctx, func(tx store.Tx) error { return b.SendTx(ctx, tx, tenantID, m) })
}

// SendTx stores m in tx.
func (b *Mailbox) SendTx(ctx context.Context, tx store.Tx, tenantID string, m Message) error {
	if tenantID == "" || m.MessageID == "" || len(m.To) == 0 {
		return &RejectedError{Err: errors.New("the developer mailbox needs a tenant, a Message-ID and a recipient")}
	}
	if m.From.Address == "" {
		m.From = b.from
	}
	plain, err := json.Marshal(m)
	if err != nil {
		return err
	}
	digest := sha256.Sum256([]byte(m.MessageID))
	id := hex.EncodeToString(digest[:16])
	sealed, err := b.keys.Seal(plain, mailboxAAD(tenantID, id))
	if err != nil {
		return err
	}
	data, err := json.Marshal(sealedMail{Sealed: sealed})
	if err != nil {
		return err
	}
	now := b.now()
	err = tx.PutState(ctx, store.State{TenantID: tenantID, Kind: StateMailbox, ID: id, Data: data, CreatedAt: now, ExpiresAt: now.Add(MailboxLifetime)})
	if errors.Is(err, store.ErrConflict) {
		return nil
	}
	return err
}

// sealedMail is the Data of a mailbox state.
type sealedMail struct {
	Sealed []byte `json:"sealed"`
}

func mailboxAAD(tenantID, id string) []byte {
	return []byte("gatehouse dev mailbox\x00" + tenantID + "\x00" + id)
}

// List returns the newest messages of every tenant, newest first. It reads
// across tenants as a developer's inbox does; nothing but the loopback-only
// page calls it.
func (b *Mailbox) List(ctx context.Context) ([]Stored, error) {
	var out []Stored
	err := b.st.View(ctx, func(tx store.Tx) error {
		for after := ""; ; {
			tenants, err := tx.ListTenants(ctx, after, 500)
			if err != nil {
				return err
			}
			for _, t := range tenants {
				states, err := tx.ListStates(ctx, t.ID, store.StateFilter{Kind: StateMailbox})
				if err != nil {
					return err
				}
				for _, s := range states {
					m, err := b.open(s)
					if err != nil {
						return err
					}
					out = append(out, m)
				}
			}
			if len(tenants) < 500 {
				return nil
			}
			after = tenants[len(tenants)-1].ID
		}
	})
	slices.SortFunc(out, func(a, b Stored) int { return cmp.Or(b.At.Compare(a.At), strings.Compare(a.ID, b.ID)) })
	return out[:min(len(out), mailboxLimit)], err
}

// Get returns one message; store.ErrNotFound when there is none.
func (b *Mailbox) Get(ctx context.Context, id string) (Stored, error) {
	dot := strings.LastIndexByte(id, '.')
	if dot <= 0 {
		return Stored{}, store.ErrNotFound
	}
	var m Stored
	err := b.st.View(ctx, func(tx store.Tx) error {
		s, err := tx.GetState(ctx, id[:dot], StateMailbox, id[dot+1:])
		if err != nil {
			return err
		}
		m, err = b.open(s)
		return err
	})
	return m, err
}

func (b *Mailbox) open(s store.State) (Stored, error) {
	var sm sealedMail
	if err := json.Unmarshal(s.Data, &sm); err != nil {
		return Stored{}, fmt.Errorf("mail: mailbox state %s: %w", s.ID, err)
	}
	plain, err := b.keys.Open(sm.Sealed, mailboxAAD(s.TenantID, s.ID))
	if err != nil {
		return Stored{}, fmt.Errorf("mail: mailbox state %s: %w", s.ID, err)
	}
	out := Stored{ID: s.TenantID + "." + s.ID, TenantID: s.TenantID, At: s.CreatedAt}
	return out, json.Unmarshal(plain, &out.Message)
}
