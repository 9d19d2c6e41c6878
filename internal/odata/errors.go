package odata

import "fmt"

// Graph error codes this package returns. The graph surface sends both with
// HTTP 400.
const (
	// CodeBadRequest marks a query option that is malformed: a syntax error, a
	// literal of the wrong type, an out-of-range $top.
	CodeBadRequest = "Request_BadRequest"
	// CodeUnsupportedQuery marks a well-formed query Graph does not support: an
	// unknown or non-filterable property, an operator the property does not
	// allow, or one that needs the advanced query parameters.
	CodeUnsupportedQuery = "Request_UnsupportedQuery"
)

// Error is a query-option error carrying the code and message Graph returns
// for it, so the graph surface can put both on the wire unchanged.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func badRequest(format string, args ...any) *Error {
	return &Error{Code: CodeBadRequest, Message: fmt.Sprintf(format, args...)}
}

// syntaxError reports a problem at pos, a zero-based byte offset into the
// option text src.
func syntaxError(src string, pos int, format string, args ...any) *Error {
	return badRequest("Syntax error: %s at position %d in '%s'.", fmt.Sprintf(format, args...), pos, src)
}

func unsupportedProperty(name, resource string) *Error {
	return &Error{
		Code:    CodeUnsupportedQuery,
		Message: fmt.Sprintf("Unsupported or invalid query filter clause specified for property '%s' of resource '%s'.", name, resource),
	}
}

func needsAdvanced(op string) *Error {
	return &Error{
		Code: CodeUnsupportedQuery,
		Message: fmt.Sprintf("Operator '%s' is not supported because the required parameters might be missing. "+
			"Try adding $count=true query parameter and ConsistencyLevel:eventual header. "+
			"Refer to https://aka.ms/graph-docs/advanced-queries for more information", op),
	}
}

func unsupportedSort(name, resource string) *Error {
	return &Error{
		Code:    CodeUnsupportedQuery,
		Message: fmt.Sprintf("Unsupported sort property '%s' for '%s'.", name, resource),
	}
}
