package scim

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/erhverv/erhverv/internal/domain"
)

// scimError is an error answered with the SCIM error schema (RFC 7644
// §3.12): an HTTP status, for 400 and 409 a scimType, and a detail for the
// person reading the directory's provisioning log.
type scimError struct {
	status   int
	scimType string
	detail   string
}

func (e *scimError) Error() string {
	return strconv.Itoa(e.status) + " " + e.scimType + ": " + e.detail
}

func invalidSyntax(detail string) error {
	return &scimError{status: http.StatusBadRequest, scimType: "invalidSyntax", detail: detail}
}

func invalidValue(detail string) error {
	return &scimError{status: http.StatusBadRequest, scimType: "invalidValue", detail: detail}
}

func invalidFilter(detail string) error {
	return &scimError{status: http.StatusBadRequest, scimType: "invalidFilter", detail: detail}
}

func invalidPath(detail string) error {
	return &scimError{status: http.StatusBadRequest, scimType: "invalidPath", detail: detail}
}

func noTarget(detail string) error {
	return &scimError{status: http.StatusBadRequest, scimType: "noTarget", detail: detail}
}

func notFound(what string) error {
	return &scimError{status: http.StatusNotFound, detail: "The " + what + " does not exist."}
}

var errPrecondition = &scimError{status: http.StatusPreconditionFailed, detail: "The resource has changed since the version in If-Match; read it again."}

// WriteError answers with a SCIM error message and aborts the chain: for
// the caller's middleware in front of Mount (401 for a missing or expired
// token, 403 without the scim scope, 429), so directories see the error
// format they parse.
func WriteError(c *gin.Context, status int, detail string) {
	body, _ := json.Marshal(errorBody{Schemas: []string{schemaError}, Status: strconv.Itoa(status), Detail: detail})
	c.Data(status, contentType, body)
	c.Abort()
}

// errorBody is the SCIM error message.
type errorBody struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail"`
}

// fail answers err: a scimError as it is, a domain error by its code, and
// anything else as a logged 500 that says nothing of its cause.
func (h *handler) fail(c *gin.Context, err error) {
	var se *scimError
	if !errors.As(err, &se) {
		se = fromDomain(err)
	}
	if se.status == http.StatusInternalServerError {
		h.log.ErrorContext(c.Request.Context(), "scim request failed", "method", c.Request.Method, "path", c.FullPath(), "err", err)
	}
	body := errorBody{Schemas: []string{schemaError}, Status: strconv.Itoa(se.status), ScimType: se.scimType, Detail: se.detail}
	h.write(c, se.status, body)
	c.Abort()
}

// uniqueKeys are the conflicts of a value another resource has.
var uniqueKeys = map[string]bool{"user.email_taken": true, "user.cpr_taken": true, "group.name_taken": true, "scim.external_id_taken": true}

func fromDomain(err error) *scimError {
	detail := describe(err)
	switch domain.ErrorCode(err) {
	case domain.EINVALID:
		return &scimError{status: http.StatusBadRequest, scimType: "invalidValue", detail: detail}
	case domain.ENOTFOUND:
		return &scimError{status: http.StatusNotFound, detail: detail}
	case domain.ECONFLICT:
		if uniqueKeys[domain.ErrorKey(err)] {
			return &scimError{status: http.StatusConflict, scimType: "uniqueness", detail: detail}
		}
		return &scimError{status: http.StatusConflict, detail: detail}
	case domain.EFORBIDDEN:
		return &scimError{status: http.StatusForbidden, detail: detail}
	case domain.EUNAUTHENTICATED:
		return &scimError{status: http.StatusUnauthorized, detail: detail}
	}
	return &scimError{status: http.StatusInternalServerError, detail: "An internal error occurred."}
}

// attributeOf names the SCIM attribute behind a domain field.
var attributeOf = map[string]string{
	"email": "userName", "first_name": "name.givenName", "last_name": "name.familyName", "phone": "phoneNumbers",
	"birth_date": schemaErhverv + ":birthDate", "cpr": schemaErhverv + ":cpr",
	"employee_number": schemaEnterprise + ":employeeNumber", "department": schemaEnterprise + ":department",
	"production_unit": "productionUnit (set in the portal)", "external_id": "externalId", "name": "displayName",
	"status": "active",
}

// describe writes every field error of err with its SCIM attribute name.
func describe(err error) string {
	var errs domain.ValidationErrors
	if !errors.As(err, &errs) {
		var e *domain.Error
		if !errors.As(err, &e) {
			return domain.ErrorMessage(err)
		}
		errs = domain.ValidationErrors{e}
	}
	parts := make([]string, 0, len(errs))
	for _, e := range errs {
		switch attr := attributeOf[e.Field]; {
		case attr != "":
			parts = append(parts, attr+": "+e.Message)
		case e.Field != "":
			parts = append(parts, e.Field+": "+e.Message)
		default:
			parts = append(parts, e.Message)
		}
	}
	return strings.Join(parts, " ")
}
