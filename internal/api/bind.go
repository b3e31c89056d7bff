package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/erhverv/erhverv/internal/domain"
)

// maxBody is the largest request body the API reads.
const maxBody = 1 << 20

// bind decodes the JSON request body into v strictly: the content type must
// be JSON, the body at most maxBody bytes, one object with only known fields
// of the right types. On failure it answers with a problem saying what is
// wrong and where, and returns false.
func (a *API) bind(c *gin.Context, v any) bool {
	if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil ||
		(mt != "application/json" && mt != "application/merge-patch+json" && !strings.HasSuffix(mt, "+json")) {
		a.problemf(c, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
			"Send the body as JSON with Content-Type: application/json.")
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			a.problemf(c, http.StatusRequestEntityTooLarge, CodeTooLarge,
				fmt.Sprintf("The body is larger than %d bytes.", maxBody))
			return false
		}
		a.problemf(c, http.StatusBadRequest, domain.EINVALID, "The request body could not be read.")
		return false
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(body)) // for idempotency and logs
	if len(bytes.TrimSpace(body)) == 0 {
		a.problemf(c, http.StatusBadRequest, domain.EINVALID, "The request needs a JSON body.")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		a.problemf(c, http.StatusBadRequest, domain.EINVALID, "The body is not acceptable JSON; see errors.", jsonFieldError(err))
		return false
	}
	if dec.More() {
		a.problemf(c, http.StatusBadRequest, domain.EINVALID, "The body has data after the JSON object; send one object.")
		return false
	}
	return true
}

// jsonFieldError explains a decoding error as a field error.
func jsonFieldError(err error) FieldError {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return FieldError{Field: "", Code: "json.syntax", Detail: fmt.Sprintf("Malformed JSON at byte %d: %s.", syntax.Offset, syntax.Error())}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return FieldError{Field: "", Code: "json.type", Detail: fmt.Sprintf("The body must be a JSON %s, not %s.", jsonType(typ.Type.Kind().String()), typ.Value)}
		}
		return FieldError{Field: pointer(field), Code: "json.type",
			Detail: fmt.Sprintf("%s must be %s, not %s.", field, jsonType(typ.Type.Kind().String()), typ.Value)}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return FieldError{Field: "", Code: "json.syntax", Detail: "The JSON ends too early."}
	}
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name, _ = strconv.Unquote(name)
		return FieldError{Field: pointer(name), Code: "json.unknown_field", Detail: fmt.Sprintf("Unknown field %q; see the API reference for the fields.", name)}
	}
	return FieldError{Field: "", Code: "json.invalid", Detail: msg}
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	}
	return "of another type"
}
