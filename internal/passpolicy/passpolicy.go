// Package passpolicy decides whether a new password is acceptable, following
// NIST SP 800-63B §5.1.1.2: at least 8 characters, at most 256 accepted, no
// composition rules, and no password that is known to be common or breached,
// repetitive or sequential, or built from words of its context (the account,
// the organization, the service). The decision is a pure function over the
// password, its context and a blocklist.
package passpolicy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Length limits, in characters.
const (
	MinLength = 8
	MaxLength = 256
)

// Reason says why a password is refused, for the message shown to the user.
type Reason string

const (
	TooShort    Reason = "too short"
	TooLong     Reason = "too long"
	NotText     Reason = "not valid text"
	Common      Reason = "a commonly used or breached password"
	Repetitive  Reason = "repetitive or sequential"
	FromContext Reason = "based on your account or organization name"
)

// RefusedError is a refused password and why.
type RefusedError struct{ Reason Reason }

func (e *RefusedError) Error() string { return "the password is " + string(e.Reason) }

// Blocklist is a set of refused passwords, compared case-insensitively.
type Blocklist struct{ words map[string]struct{} }

// builtin are passwords so common that any list of breached passwords
// starts with them; an operator adds a real breach corpus with Load.
var builtin = []string{
	"password", "password1", "password12", "password123", "passw0rd", "p@ssw0rd", "p@ssword",
	"12345678", "123456789", "1234567890", "87654321", "11111111", "00000000", "123123123",
	"qwertyui", "qwertyuiop", "asdfghjk", "asdfghjkl", "zxcvbnm1", "1q2w3e4r", "1q2w3e4r5t", "q1w2e3r4",
	"iloveyou", "iloveyou1", "sunshine", "princess", "football", "baseball", "superman", "trustno1",
	"welcome1", "welcome123", "letmein1", "starwars", "whatever", "dragon12", "monkey12", "shadow12",
	"master12", "computer", "internet", "changeme", "changeme1", "secret12", "administrator", "admin123",
	"abcd1234", "abc12345", "aa123456", "michael1", "jennifer", "jordan23", "liverpool", "chelsea1",
}

// NewBlocklist returns the built-in list.
func NewBlocklist() *Blocklist {
	b := &Blocklist{words: make(map[string]struct{}, len(builtin))}
	for _, w := range builtin {
		b.words[w] = struct{}{}
	}
	return b
}

// Load adds one password per line from r (a breach corpus the operator
// provides); blank lines and lines starting with # are skipped.
func (b *Blocklist) Load(r io.Reader) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1024), MaxLength*4)
	n := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		b.words[strings.ToLower(line)] = struct{}{}
		n++
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("passpolicy: reading the blocklist: %w", err)
	}
	return n, nil
}

func (b *Blocklist) has(pw string) bool {
	_, ok := b.words[strings.ToLower(pw)]
	return ok
}

// Check refuses a password that breaks the policy. context holds words the
// password must not be built from: user principal name, display name,
// organization name; they are split into their parts.
func (b *Blocklist) Check(pw string, context ...string) error {
	if !utf8.ValidString(pw) {
		return &RefusedError{NotText}
	}
	n := utf8.RuneCountInString(pw)
	switch {
	case n < MinLength:
		return &RefusedError{TooShort}
	case n > MaxLength:
		return &RefusedError{TooLong}
	case b.has(pw) || b.has(strings.TrimRightFunc(pw, isDigitOrPunct)):
		return &RefusedError{Common}
	case repetitiveOrSequential(pw):
		return &RefusedError{Repetitive}
	case fromContext(pw, context):
		return &RefusedError{FromContext}
	}
	return nil
}

func isDigitOrPunct(r rune) bool {
	return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r)
}

// repetitiveOrSequential: the password is a run of one character, a short
// unit repeated ("abcabcabc"), or a run of consecutive characters
// ("12345678", "abcdefgh", "87654321").
func repetitiveOrSequential(pw string) bool {
	r := []rune(strings.ToLower(pw))
	for unit := 1; unit <= len(r)/2; unit++ {
		if len(r)%unit == 0 && strings.Repeat(string(r[:unit]), len(r)/unit) == string(r) {
			return true
		}
	}
	up, down := true, true
	for i := 1; i < len(r); i++ {
		up = up && r[i] == r[i-1]+1
		down = down && r[i] == r[i-1]-1
	}
	return up || down
}

// fromContext: with its context words removed, little of the password is
// left (a name plus a year or a couple of characters).
func fromContext(pw string, context []string) bool {
	lower := strings.ToLower(pw)
	rest := lower
	for _, c := range context {
		for _, w := range strings.FieldsFunc(strings.ToLower(c), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if utf8.RuneCountInString(w) >= 4 {
				rest = strings.ReplaceAll(rest, w, "")
			}
		}
	}
	for _, w := range []string{"gatehouse"} {
		rest = strings.ReplaceAll(rest, w, "")
	}
	if rest == lower {
		return false
	}
	return utf8.RuneCountInString(strings.TrimFunc(rest, isDigitOrPunct)) < 4
}

// Is reports whether err is a refused password.
func Is(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}
