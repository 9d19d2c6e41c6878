// Package usererr is the error type domain packages return when the caller, not
// the server, is at fault. Its message is safe to show to the caller as is; the
// surfaces (Graph API, pages, CLI) map its Kind to their own status codes, so
// domain packages never speak HTTP.
package usererr

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies what went wrong from the caller's point of view.
type Kind int

const (
	Invalid      Kind = iota + 1 // the request is malformed or breaks a rule
	NotFound                     // the object does not exist (or is not visible to the caller)
	Conflict                     // a unique key is taken or the object already exists
	Precondition                 // the caller's version (ETag) is stale
	Forbidden                    // the caller may not do this
	TooMany                      // the caller (or its tenant) asked too often; retry after RetryAfter
)

// Error is a user-safe error. Code, when set, is the machine-readable code a
// surface should report instead of its default for the Kind (e.g. Graph's
// "Request_MultipleObjectsWithSameKeyValue").
type Error struct {
	Kind    Kind
	Code    string
	Message string
	// Target and Detail, when set, name the property at fault and a finer
	// code for it (Graph's error details, e.g. userPrincipalName/ObjectConflict).
	Target, Detail string
	// RetryAfter is when a TooMany request may be retried.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Message }

// New returns an error of kind k with a formatted message.
func New(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// WithCode returns an error of kind k carrying a specific code.
func WithCode(k Kind, code, format string, args ...any) *Error {
	return &Error{Kind: k, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Taken reports that a unique property value is already used by another
// object: the request is invalid, and the details say which property.
func Taken(property string) *Error {
	return &Error{Kind: Invalid, Code: "Request_BadRequest", Target: property, Detail: "ObjectConflict",
		Message: fmt.Sprintf("Another object with the same value for property %s already exists.", property)}
}

// Throttled reports a request refused by a rate limit, which may be
// retried after retryAfter.
func Throttled(retryAfter time.Duration, format string, args ...any) *Error {
	return &Error{Kind: TooMany, RetryAfter: retryAfter, Message: fmt.Sprintf(format, args...)}
}

// As extracts a user-safe error from err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// IsKind reports whether err is a user-safe error of kind k.
func IsKind(err error, k Kind) bool {
	e, ok := As(err)
	return ok && e.Kind == k
}
