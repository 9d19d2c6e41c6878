// Package otp owns email one-time passcodes: issuing a code for an
// address and a purpose, limiting how many are sent to an address, and
// checking a typed code exactly once with a bounded number of wrong tries.
// Codes are kept only as keyed hashes and addresses only inside keyed
// hashes, so the store's rows reveal neither. Sending the code is the
// caller's: it enqueues the email in the transaction Issue wrote in.
package otp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Policy is how codes look, live and are limited.
type Policy struct {
	Digits     int           // decimal digits of a code
	Lifetime   time.Duration // how long an issued code may be used
	MaxWrong   int           // wrong tries that void a code (the last one included)
	Sends      int           // codes issued to one address and purpose within SendWindow
	SendWindow time.Duration // measured back from each issue
}

// DefaultPolicy: eight digits, valid ten minutes, void after five wrong
// tries, five codes per address in fifteen minutes. At most 480 codes a
// day with five tries each leave a guesser of one address about one
// chance in 40,000 a day; per-client throttling at the pages cuts it
// further.
func DefaultPolicy() Policy {
	return Policy{Digits: 8, Lifetime: 10 * time.Minute, MaxWrong: 5, Sends: 5, SendWindow: 15 * time.Minute}
}

func (p Policy) validate() error {
	switch {
	case p.Digits < 6 || p.Digits > 12:
		return fmt.Errorf("otp: %d digits: a code has 6 to 12", p.Digits)
	case p.Lifetime <= 0 || p.SendWindow <= 0:
		return errors.New("otp: lifetime and send window must be positive")
	case p.MaxWrong < 1 || p.Sends < 1:
		return errors.New("otp: wrong tries and sends must be at least 1")
	}
	return nil
}

var (
	// ErrWrongCode: a code is live for the address but this is not it.
	// The try was counted; the MaxWrong-th voids the code.
	ErrWrongCode = errors.New("otp: wrong code")
	// ErrNoCode: no code is live for the address: none was issued, or it
	// was used, voided by wrong tries, replaced or expired.
	ErrNoCode = errors.New("otp: no live code")
)

// TooManyError refuses an Issue past the send limit; RetryAfter is when
// the oldest send within the window leaves it.
type TooManyError struct{ RetryAfter time.Duration }

func (e *TooManyError) Error() string {
	return fmt.Sprintf("otp: too many codes sent to the address; retry after %s", e.RetryAfter)
}

// minKey is the shortest key New accepts (128 bits).
const minKey = 16

// Codes issues and checks codes under one key.
type Codes struct {
	idKey, codeKey []byte
	err            error // a bad key or policy, returned by every call
	p              Policy
	now            func() time.Time
	random         io.Reader
}

// New returns codes hashed with key (secret, at least 16 bytes: the
// keyring's Derive("gatehouse otp v1"), say), timed by now and drawn from
// random; nil now and random mean the system clock and crypto/rand. A
// short key or an invalid policy makes every Issue and Check fail.
func New(key []byte, p Policy, now func() time.Time, random io.Reader) *Codes {
	if now == nil {
		now = time.Now
	}
	if random == nil {
		random = rand.Reader
	}
	c := &Codes{p: p, now: now, random: random, err: p.validate()}
	if len(key) < minKey {
		c.err = fmt.Errorf("otp: a %d-byte key; at least %d needed", len(key), minKey)
	}
	// Two keys from one, so a state id can never be mistaken for a code's
	// hash.
	c.idKey, c.codeKey = mac(key, "gatehouse otp state id"), mac(key, "gatehouse otp code")
	return c
}

// State kinds. Both states of an address and purpose share one id (and
// family): the send counter outlives codes, which are replaced and used.
const (
	kindSends = "otpSends"
	kindCode  = "otpCode"
)

// sends is the send counter: when each code within the window was issued.
type sends struct {
	At []time.Time `json:"at,omitempty"`
}

// code is a live code: its keyed hash and the wrong tries so far.
type code struct {
	MAC   []byte `json:"mac,omitempty"`
	Wrong int    `json:"wrong,omitempty"`
}

// Issue makes a new code for address in the tenant, for purpose (e.g.
// "redeem", "signin"), in tx: it replaces any earlier code for them and
// counts the send, under the counter's row lock so that concurrent issues
// cannot all pass the limit. Past the limit it returns *TooManyError and
// writes nothing. The caller sends the code and commits.
func (c *Codes) Issue(ctx context.Context, tx store.Tx, tenantID, purpose, address string) (string, error) {
	address, err := c.args(tenantID, purpose, address)
	if err != nil {
		return "", err
	}
	now := c.now()
	id := c.stateID(purpose, address)
	var s sends
	st, err := store.LockJSON(ctx, tx, store.State{TenantID: tenantID, Kind: kindSends, ID: id, Family: id,
		Data: []byte(`{}`), CreatedAt: now, ExpiresAt: now.Add(c.p.SendWindow)}, &s)
	if err != nil {
		return "", err
	}
	s.At = slices.DeleteFunc(s.At, func(t time.Time) bool { return !now.Before(t.Add(c.p.SendWindow)) })
	if len(s.At) >= c.p.Sends {
		return "", &TooManyError{RetryAfter: slices.MinFunc(s.At, time.Time.Compare).Add(c.p.SendWindow).Sub(now)}
	}
	digits, err := randomDigits(c.random, c.p.Digits)
	if err != nil {
		return "", fmt.Errorf("otp: drawing a code: %w", err)
	}
	s.At = append(s.At, now)
	expires := now.Add(max(c.p.SendWindow, c.p.Lifetime))
	if err := store.UpdateJSON(ctx, tx, st, s, expires); err != nil {
		return "", err
	}
	if _, err := tx.DeleteStates(ctx, tenantID, store.StateFilter{Kind: kindCode, Family: id}); err != nil {
		return "", err
	}
	data, err := json.Marshal(code{MAC: c.codeMAC(tenantID, purpose, address, digits)})
	if err != nil {
		return "", err
	}
	err = tx.PutState(ctx, store.State{TenantID: tenantID, Kind: kindCode, ID: id, Family: id, Data: data,
		CreatedAt: now, ExpiresAt: now.Add(c.p.Lifetime)})
	if err != nil {
		return "", err
	}
	return digits, nil
}

// errNoChange rolls back a Check that found no code after locking, so the
// row LockState created for it does not stay.
var errNoChange = errors.New("otp: no live code to change")

// Check takes a typed code for address in the tenant and purpose, in its
// own transaction: nil for the live code, exactly once (it is consumed);
// ErrWrongCode for another (the try counted under the code's row lock, so
// concurrent guesses are judged one after another and at most MaxWrong are
// ever compared); ErrNoCode when no code is live. Other errors are the
// store's.
func (c *Codes) Check(ctx context.Context, st store.Store, tenantID, purpose, address, typed string) error {
	address, err := c.args(tenantID, purpose, address)
	if err != nil {
		return err
	}
	id := c.stateID(purpose, address)
	want := c.codeMAC(tenantID, purpose, address, strings.TrimSpace(typed))
	var outcome error
	err = st.Update(ctx, func(tx store.Tx) error {
		outcome = nil
		now := c.now()
		// Most checks of an address without a code end here, unwritten.
		cur, err := tx.GetState(ctx, tenantID, kindCode, id)
		if errors.Is(err, store.ErrNotFound) {
			outcome = ErrNoCode
			return nil
		}
		if err != nil {
			return err
		}
		if cur.ConsumedAt != nil {
			outcome = ErrNoCode
			return nil
		}
		var k code
		locked, err := store.LockJSON(ctx, tx, store.State{TenantID: tenantID, Kind: kindCode, ID: id, Family: id,
			Data: []byte(`{}`), CreatedAt: now, ExpiresAt: now.Add(c.p.Lifetime)}, &k)
		if err != nil {
			return err
		}
		if locked.ConsumedAt != nil || len(k.MAC) == 0 || !now.Before(locked.ExpiresAt) {
			return errNoChange
		}
		if hmac.Equal(k.MAC, want) {
			_, err := tx.ConsumeState(ctx, tenantID, kindCode, id)
			if errors.Is(err, store.ErrConsumed) || errors.Is(err, store.ErrNotFound) {
				return errNoChange
			}
			outcome = err
			return err
		}
		outcome = ErrWrongCode
		if k.Wrong++; k.Wrong >= c.p.MaxWrong {
			_, err := tx.DeleteStates(ctx, tenantID, store.StateFilter{Kind: kindCode, Family: id})
			return err
		}
		err = store.UpdateJSON(ctx, tx, locked, k, locked.ExpiresAt)
		if errors.Is(err, store.ErrNotFound) {
			// It expired by the store's clock while locked.
			return errNoChange
		}
		return err
	})
	switch {
	case errors.Is(err, errNoChange):
		return ErrNoCode
	case err != nil:
		return err
	}
	return outcome
}

// args checks the names a code is issued or checked under and folds the
// address: mailboxes are compared case-insensitively.
func (c *Codes) args(tenantID, purpose, address string) (string, error) {
	if c.err != nil {
		return "", c.err
	}
	address = strings.ToLower(strings.TrimSpace(address))
	if tenantID == "" || purpose == "" || address == "" {
		return "", errors.New("otp: tenant, purpose and address are required")
	}
	return address, nil
}

// stateID names the states of an address and purpose by a keyed hash, so
// neither the address nor a guessable hash of it is stored. The tenant is
// the state's own column.
func (c *Codes) stateID(purpose, address string) string {
	return base64.RawURLEncoding.EncodeToString(framedMAC(c.idKey, purpose, address))
}

// codeMAC is what a code is stored as: bound to its tenant, purpose and
// address, so a code's hash is worth nothing for any other.
func (c *Codes) codeMAC(tenantID, purpose, address, digits string) []byte {
	return framedMAC(c.codeKey, tenantID, purpose, address, digits)
}

// framedMAC is HMAC-SHA256 over the fields, each prefixed with its length
// so that no two lists of fields hash alike.
func framedMAC(key []byte, fields ...string) []byte {
	m := hmac.New(sha256.New, key)
	var n [4]byte
	for _, f := range fields {
		binary.BigEndian.PutUint32(n[:], uint32(len(f)))
		m.Write(n[:])
		m.Write([]byte(f))
	}
	return m.Sum(nil)
}

func mac(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// randomDigits draws n uniform decimal digits from r. Bytes of 250 and
// above are rejected: 250 is a multiple of 10, so every digit keeps the
// same 25 byte values and none is favoured (a plain byte%10 would favour
// 0–5).
func randomDigits(r io.Reader, n int) (string, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4+1)
	for len(out) < n {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		for _, b := range buf {
			if b < 250 && len(out) < n {
				out = append(out, '0'+b%10)
			}
		}
	}
	return string(out), nil
}
