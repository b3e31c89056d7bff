package api

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/erhverv/erhverv/internal/domain"
)

// Page sizes.
const (
	defaultLimit = 50
	maxLimit     = 200
)

// Page is one page of a list. NextCursor, when set, fetches the next page.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// pageParams reads ?limit= (1..200, default 50) and ?cursor=; on a bad
// limit it answers 400 and returns ok false.
func (a *API) pageParams(c *gin.Context) (limit int, cursor string, ok bool) {
	limit = defaultLimit
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			a.problemf(c, http.StatusBadRequest, domain.EINVALID, "The limit is not valid; see errors.",
				FieldError{Field: "limit", Code: "page.limit", Detail: fmt.Sprintf("limit must be a whole number from 1 to %d.", maxLimit)})
			return 0, "", false
		}
		limit = n
	}
	return limit, c.Query("cursor"), true
}

// encodeCursor makes an opaque cursor of a keyset position.
func encodeCursor(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor made by encodeCursor into v; on a cursor that
// is not one it answers 400 and returns false. An empty cursor leaves v alone.
func (a *API) decodeCursor(c *gin.Context, s string, v any) bool {
	if s == "" {
		return true
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		a.problemf(c, http.StatusBadRequest, domain.EINVALID, "The cursor is not valid; see errors.",
			FieldError{Field: "cursor", Code: "page.cursor", Detail: "Use the next_cursor of the previous page as it is, or leave cursor out to start from the beginning."})
		return false
	}
	return true
}

// page answers 200 with a page of items and, when there is a next page, a
// Link header to it.
func (a *API) page(c *gin.Context, items any, next string) {
	if next != "" {
		u := *c.Request.URL
		q := u.Query()
		q.Set("cursor", next)
		u.RawQuery = q.Encode()
		c.Header("Link", fmt.Sprintf("<%s>; rel=\"next\"", (&url.URL{Path: u.Path, RawQuery: u.RawQuery}).String()))
	}
	if v := reflect.ValueOf(items); v.Kind() == reflect.Slice && v.IsNil() {
		items = []any{} // an empty page is [], never null
	}
	c.JSON(http.StatusOK, struct {
		Items      any    `json:"items"`
		NextCursor string `json:"next_cursor,omitempty"`
	}{Items: items, NextCursor: next})
}
