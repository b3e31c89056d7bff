package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/erhverv/erhverv/internal/domain"
)

// setETag tags a versioned resource: the ETag is its version, which every
// change increments.
func setETag(c *gin.Context, version int) {
	c.Header("ETag", strconv.Quote(strconv.Itoa(version)))
}

// ifMatch reads If-Match: the version the client last saw. present is false
// without the header (or with "*"); on a malformed header it answers 400 and
// returns ok false. A version that is no longer current must be answered
// with 412 (precondition_failed) and no change.
func (a *API) ifMatch(c *gin.Context) (version int, present bool, ok bool) {
	h := strings.TrimSpace(c.GetHeader("If-Match"))
	if h == "" || h == "*" {
		return 0, false, true
	}
	if s, err := strconv.Unquote(h); err == nil {
		if v, err := strconv.Atoi(s); err == nil && v >= 0 {
			return v, true, true
		}
	}
	a.problemf(c, http.StatusBadRequest, domain.EINVALID, "If-Match must be the ETag of the resource as it was read, such as \"3\".",
		FieldError{Field: "If-Match", Code: "header.if_match", Detail: "Send the ETag header of your last read of the resource."})
	return 0, false, false
}

// stale answers 412: the resource changed since the client read it.
func (a *API) stale(c *gin.Context) {
	a.problemf(c, http.StatusPreconditionFailed, CodePreconditionFailed,
		"The resource has changed since you read it: read it again, reapply your change and send it with the new ETag.")
}
