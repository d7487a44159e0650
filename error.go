package dialerd

import (
	"errors"
	"fmt"
	"sort"
)

// Error codes. Each maps to exactly one HTTP status in http/error.go; actor
// replies carry the code so an error raised in a grain on another node comes
// back as the same *Error.
const (
	EINVALID      = "invalid"      // validation failed; Fields says where
	EUNAUTHORIZED = "unauthorized" // no or unknown credentials
	EFORBIDDEN    = "forbidden"    // authenticated, not allowed
	ENOTFOUND     = "not_found"    // absent, or outside the caller's scope
	EMETHOD       = "method_not_allowed"
	ECONFLICT     = "conflict"  // state does not allow it (taken slug, duplicate, not failed)
	ETOOLARGE     = "too_large" // request body over the route's limit
	EMEDIATYPE    = "unsupported_media_type"
	ERATELIMIT    = "rate_limited"
	EUNAVAILABLE  = "unavailable" // try again: shutting down, no quorum, timeout
	EINTERNAL     = "internal"    // a bug or an I/O failure; logged
)

// Error is the one error type of the project. Message is safe to show to the
// client; Fields, for EINVALID, maps each bad field to its messages.
type Error struct {
	Code    string
	Message string
	Fields  map[string][]string
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return fmt.Sprintf("dialerd: code=%s message=%s", e.Code, e.Message)
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return fmt.Sprintf("dialerd: code=%s fields=%v", e.Code, keys)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err when it is (or wraps) an *Error, "" for
// nil and EINTERNAL for anything else.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err. Internal errors get a
// generic text: their details belong in the log, not in a response.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// FieldErrors accumulates validation messages per field.
type FieldErrors map[string][]string

// Add records msg for field.
func (f FieldErrors) Add(field, msg string) { f[field] = append(f[field], msg) }

// Err returns nil when nothing was recorded, else an EINVALID *Error.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "Invalid input.", Fields: f}
}
