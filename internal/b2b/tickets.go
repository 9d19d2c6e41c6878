package b2b

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// A redeem ticket is "{tenant id}.{256 random bits}". The tenant part only
// says where to look; the store keeps the ticket's SHA-256, bound to its
// invitation and guest, usable once, for ticketLifetime. Issuing another
// for the guest deletes the older ones.
const (
	ticketKind     = "b2bRedeemTicket"
	ticketLifetime = 30 * 24 * time.Hour
	ticketBytes    = 32
)

// ticket is what a ticket's state holds.
type ticket struct {
	InvitationID string `json:"invitationId"`
	UserID       string `json:"userId"`
	Email        string `json:"email"`
	RedirectURL  string `json:"redirectUrl"`
	InviterName  string `json:"inviterName"`
}

func newTicketSecret(tenantID string, random io.Reader) (string, error) {
	b := make([]byte, ticketBytes)
	if _, err := io.ReadFull(random, b); err != nil {
		return "", fmt.Errorf("b2b: drawing a ticket: %w", err)
	}
	return tenantID + "." + base64.RawURLEncoding.EncodeToString(b), nil
}

func ticketID(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// ticketTenant is the tenant a ticket names, if it is shaped like one.
func ticketTenant(secret string) (string, bool) {
	tid, rest, ok := strings.Cut(secret, ".")
	if !ok || tid == "" || len(rest) != base64.RawURLEncoding.EncodedLen(ticketBytes) {
		return "", false
	}
	return tid, true
}

// issueTicket replaces the guest's tickets with a new one and returns it;
// a guest created in tx has none to replace (replace false).
func (s *Service) issueTicket(ctx context.Context, tx store.Tx, tenantID string, replace bool, t ticket) (string, error) {
	if replace {
		if _, err := tx.DeleteStates(ctx, tenantID, store.StateFilter{Kind: ticketKind, Subject: t.UserID}); err != nil {
			return "", err
		}
	}
	secret, err := newTicketSecret(tenantID, s.random)
	if err != nil {
		return "", err
	}
	data, err := json.Marshal(t)
	if err != nil {
		return "", err
	}
	now := s.now().UTC()
	err = tx.PutState(ctx, store.State{TenantID: tenantID, Kind: ticketKind, ID: ticketID(secret), Family: t.InvitationID,
		Subject: t.UserID, Data: data, CreatedAt: now, ExpiresAt: now.Add(ticketLifetime)})
	return secret, err
}

// readTicket finds a live, unused ticket; every way of not finding one is
// ErrInvitationInvalid.
func readTicket(ctx context.Context, tx store.Tx, secret string) (string, ticket, error) {
	tenantID, ok := ticketTenant(secret)
	if !ok {
		return "", ticket{}, ErrInvitationInvalid
	}
	st, err := tx.GetState(ctx, tenantID, ticketKind, ticketID(secret))
	if errors.Is(err, store.ErrNotFound) || err == nil && st.ConsumedAt != nil {
		return "", ticket{}, ErrInvitationInvalid
	}
	if err != nil {
		return "", ticket{}, err
	}
	var t ticket
	if err := json.Unmarshal(st.Data, &t); err != nil {
		return "", ticket{}, err
	}
	return tenantID, t, nil
}

// consumeTicket uses the ticket up; of concurrent redemptions exactly one
// gets past it.
func consumeTicket(ctx context.Context, tx store.Tx, tenantID, secret string) error {
	_, err := tx.ConsumeState(ctx, tenantID, ticketKind, ticketID(secret))
	if errors.Is(err, store.ErrConsumed) || errors.Is(err, store.ErrNotFound) {
		return ErrInvitationInvalid
	}
	return err
}
