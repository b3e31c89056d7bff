package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/erhverv/erhverv/internal/api/scim"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/server"
)

// Problem is an RFC 9457 problem document: every error the API answers.
type Problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Code      string       `json:"code"`
	Detail    string       `json:"detail,omitempty"`
	Instance  string       `json:"instance,omitempty"`
	RequestID string       `json:"request_id,omitempty"`
	Errors    []FieldError `json:"errors,omitempty"`
}

// FieldError is one problem with one input field; Field is a JSON pointer
// into the request body ("/email"), or the query parameter's name.
type FieldError struct {
	Field  string `json:"field"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// Problem codes beyond the domain's error codes.
const (
	CodePreconditionFailed   = "precondition_failed"
	CodeIdempotencyReused    = "idempotency_key_reused"
	CodeIdempotencyInUse     = "idempotency_key_in_use"
	CodeRateLimited          = "rate_limited"
	CodeTooLarge             = "too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
)

var problemTitles = map[string]string{
	domain.EINVALID:          "The request is not valid",
	domain.EUNAUTHENTICATED:  "Authentication is needed",
	domain.EFORBIDDEN:        "The client may not do this",
	domain.ENOTFOUND:         "Not found",
	domain.ECONFLICT:         "Conflict with the current state",
	domain.EINTERNAL:         "Internal error",
	CodePreconditionFailed:   "The resource has changed",
	CodeIdempotencyReused:    "The idempotency key was used for another request",
	CodeIdempotencyInUse:     "A request with this idempotency key is still being answered",
	CodeRateLimited:          "Too many requests",
	CodeTooLarge:             "The request body is too large",
	CodeUnsupportedMediaType: "Unsupported media type",
}

// statusOf is the one table from a domain error code to an HTTP status.
var statusOf = map[string]int{
	domain.EINVALID:         http.StatusBadRequest,
	domain.EUNAUTHENTICATED: http.StatusUnauthorized,
	domain.EFORBIDDEN:       http.StatusForbidden,
	domain.ENOTFOUND:        http.StatusNotFound,
	domain.ECONFLICT:        http.StatusConflict,
	domain.EINTERNAL:        http.StatusInternalServerError,
}

// problemf answers with a problem of the given status and code.
func (a *API) problemf(c *gin.Context, status int, code, detail string, fields ...FieldError) {
	if strings.HasPrefix(c.Request.URL.Path, "/scim/") {
		// Directories read SCIM's error shape (RFC 7644 §3.12).
		scim.WriteError(c, status, detail)
		c.Abort()
		return
	}
	title := problemTitles[code]
	if title == "" {
		title = http.StatusText(status)
	}
	p := Problem{
		Type: a.problemType(code), Title: title, Status: status, Code: code, Detail: detail,
		Instance: c.Request.URL.Path, RequestID: server.RequestID(c), Errors: fields,
	}
	c.Header("Content-Type", "application/problem+json")
	c.Header("Cache-Control", "no-store")
	c.AbortWithStatusJSON(status, p)
}

// problemType is the problem's type URI: its section of the API reference.
func (a *API) problemType(code string) string {
	return strings.TrimSuffix(a.opts.BaseURL.String(), "/") + "/api/reference#problem-" + code
}

// problem answers with the problem a domain error describes: field errors
// for invalid input, 404 for what the client may not know exists, and a
// logged 500 for anything unexpected, whose details never reach the client.
func (a *API) problem(c *gin.Context, err error) {
	var verrs domain.ValidationErrors
	if errors.As(err, &verrs) {
		a.problemf(c, http.StatusBadRequest, domain.EINVALID, "Some fields are not valid; see errors.", fieldErrors(verrs)...)
		return
	}
	code := domain.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok || code == domain.EINTERNAL {
		a.log.Error("api request failed", "request_id", server.RequestID(c), "path", c.FullPath(), "error", err.Error())
		a.problemf(c, http.StatusInternalServerError, domain.EINTERNAL, "An internal error occurred; try again, and quote the request id if it persists.")
		return
	}
	var fields []FieldError
	if code == domain.EINVALID {
		var e *domain.Error
		if errors.As(err, &e) && e.Field != "" {
			fields = fieldErrors(domain.ValidationErrors{e})
		}
	}
	a.problemf(c, status, code, domain.ErrorMessage(err), fields...)
}

func fieldErrors(v domain.ValidationErrors) []FieldError {
	out := make([]FieldError, 0, len(v))
	for _, e := range v {
		code := e.Key
		if code == "" {
			code = e.Code
		}
		out = append(out, FieldError{Field: pointer(e.Field), Code: code, Detail: e.Message})
	}
	return out
}

// pointer turns a field name into a JSON pointer ("email" → "/email").
func pointer(field string) string {
	if field == "" || strings.HasPrefix(field, "/") {
		return field
	}
	return "/" + strings.ReplaceAll(field, ".", "/")
}
