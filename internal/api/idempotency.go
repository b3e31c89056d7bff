package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// idempotent makes a create safe to retry (draft-ietf-httpapi-idempotency-key-header):
// with an Idempotency-Key header, the first answer is stored and replayed
// for a retry with the same key and body (marked Idempotent-Replayed); the
// same key with another body is 422, and while the first request is still
// being answered a retry gets 409. Without the header the request is
// answered as it is.
func (a *API) idempotent(c *gin.Context) {
	key := c.GetHeader("Idempotency-Key")
	if key == "" {
		c.Next()
		return
	}
	if len(key) > 255 || !printable(key) {
		a.problemf(c, http.StatusBadRequest, domain.EINVALID, "Idempotency-Key must be 1 to 255 printable ASCII characters, such as a UUID.",
			FieldError{Field: "Idempotency-Key", Code: "header.idempotency_key", Detail: "Use a new random value, such as a UUID, for each new request."})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody))
	if err != nil {
		a.problemf(c, http.StatusRequestEntityTooLarge, CodeTooLarge, "The body is larger than 1 MiB.")
		return
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(body))
	h := sha256.New()
	h.Write([]byte(c.Request.Method + " " + c.Request.URL.Path + "\n"))
	h.Write(body)
	client := ClientOf(c)
	stored, err := a.opts.Idempotency.Begin(c.Request.Context(), client.ID, key, c.Request.Method, c.Request.URL.Path, h.Sum(nil))
	switch {
	case errors.Is(err, postgres.ErrIdempotencyReused):
		a.problemf(c, http.StatusUnprocessableEntity, CodeIdempotencyReused, domain.ErrorMessage(err))
		return
	case errors.Is(err, postgres.ErrIdempotencyInUse):
		a.problemf(c, http.StatusConflict, CodeIdempotencyInUse, domain.ErrorMessage(err))
		return
	case err != nil:
		a.problem(c, err)
		return
	case stored != nil:
		if stored.Location != "" {
			c.Header("Location", stored.Location)
		}
		if stored.ETag != "" {
			c.Header("ETag", stored.ETag)
		}
		c.Header("Idempotent-Replayed", "true")
		c.Data(stored.Status, stored.ContentType, stored.Body)
		c.Abort()
		return
	}
	rec := &recorder{ResponseWriter: c.Writer}
	c.Writer = rec
	c.Next()
	// The answer is stored even when the client has gone: a retry must get it.
	ctx := context.WithoutCancel(c.Request.Context())
	status := rec.Status()
	if status >= 500 {
		if err := a.opts.Idempotency.Abandon(ctx, client.ID, key); err != nil {
			a.log.Error("free idempotency key", "error", err.Error())
		}
		return
	}
	hdr := rec.Header()
	if err := a.opts.Idempotency.Finish(ctx, client.ID, key, postgres.StoredResponse{
		Status: status, ContentType: hdr.Get("Content-Type"), Location: hdr.Get("Location"), ETag: hdr.Get("ETag"), Body: rec.body.Bytes(),
	}); err != nil {
		a.log.Error("store idempotent answer", "error", err.Error())
	}
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// recorder keeps a copy of the body written through it.
type recorder struct {
	gin.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) WriteString(s string) (int, error) {
	r.body.WriteString(s)
	return r.ResponseWriter.WriteString(s)
}
