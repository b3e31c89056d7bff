// Package domain holds erhverv's business types, their validation, the error
// type every layer speaks, and the service interfaces the adapters implement.
// It imports nothing of the project: postgres, authz, the portal and the API
// depend on it, never the other way round.
package domain

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in one table (see the portal and
// API packages); only Internal errors are logged in full.
const (
	EINVALID         = "invalid"
	EUNAUTHENTICATED = "unauthenticated"
	EFORBIDDEN       = "forbidden"
	ENOTFOUND        = "not_found"
	ECONFLICT        = "conflict"
	EINTERNAL        = "internal"
)

// Error is an error meant for the person who caused it: the code says what
// kind of failure it is, Field names the input at fault (empty when none) and
// Message says what is wrong and how to fix it. Key is a stable identifier of
// the message so a page can show it in the reader's language.
type Error struct {
	Code    string
	Field   string
	Key     string
	Message string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error about one field.
func Invalid(field, key, message string) *Error {
	return &Error{Code: EINVALID, Field: field, Key: key, Message: message}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, and a
// generic message for anything else so internal details never reach a person.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "An internal error occurred."
}

// ValidationErrors collects the field errors of one input so a form can show
// every problem at once instead of one per submit.
type ValidationErrors []*Error

func (v ValidationErrors) Error() string {
	if len(v) == 0 {
		return "invalid: no errors"
	}
	if len(v) == 1 {
		return v[0].Error()
	}
	return fmt.Sprintf("%s (and %d more)", v[0].Error(), len(v)-1)
}

// Add appends err when it is not nil. Validation helpers return *Error or
// ValidationErrors; both are kept whole.
func (v *ValidationErrors) Add(err error) {
	switch e := err.(type) {
	case nil:
	case *Error:
		*v = append(*v, e)
	case ValidationErrors:
		*v = append(*v, e...)
	default:
		*v = append(*v, &Error{Code: EINTERNAL, Message: e.Error()})
	}
}

// Err returns nil when there are no errors, so a Validate method can end
// with `return errs.Err()`.
func (v ValidationErrors) Err() error {
	if len(v) == 0 {
		return nil
	}
	return v
}

// As lets errors.As find an *Error in a ValidationErrors: the first one.
func (v ValidationErrors) As(target any) bool {
	if len(v) == 0 {
		return false
	}
	if t, ok := target.(**Error); ok {
		*t = v[0]
		return true
	}
	return false
}

// Fields returns the field errors by field name, for forms.
func (v ValidationErrors) Fields() map[string]*Error {
	m := make(map[string]*Error, len(v))
	for _, e := range v {
		if _, seen := m[e.Field]; !seen {
			m[e.Field] = e
		}
	}
	return m
}

// ErrorKey returns the message key of the first *Error in err's chain (the
// key pages translate), and "" for anything else.
func ErrorKey(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Key
	}
	return ""
}

// ErrorField returns the form field of the first *Error in err's chain, and
// "" for anything else.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
