package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/webhook"
)

// Actions of the API policy for the change feed and webhooks.
const (
	actionEventsRead    = authz.ActionEventsRead
	actionWebhookManage = authz.ActionWebhookManage
)

// mountEvents registers the change feed and webhook endpoints.
func (a *API) mountEvents(g *gin.RouterGroup) {
	g.GET("/events", a.listEvents)
	g.GET("/webhooks", a.listWebhooks)
	// Not idempotent-keyed: the answer carries the webhook's secret, and
	// the idempotency store would keep it in clear.
	g.POST("/webhooks", a.createWebhook)
	g.GET("/webhooks/:id", a.getWebhook)
	g.DELETE("/webhooks/:id", a.deleteWebhook)
	g.GET("/webhooks/:id/deliveries", a.listDeliveries)
}

// eventPage is a page of the change feed. Unlike other lists, next_cursor
// is always present: a feed has no last page, and a client resumes from
// it however little came back.
type eventPage struct {
	Items      []webhook.Event `json:"items"`
	NextCursor string          `json:"next_cursor"`
}

// listEvents reads the organisation's change feed after the cursor ?after=
// (the seq of the last change handled; 0 or absent from the start).
func (a *API) listEvents(c *gin.Context) {
	cl := ClientOf(c)
	if !a.authorize(c, actionEventsRead, Resource{OrgID: cl.OrgID}) {
		return
	}
	var after int64
	if s := c.Query("after"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			a.problemf(c, http.StatusBadRequest, domain.EINVALID, "The cursor is not valid; see errors.",
				FieldError{Field: "after", Code: "feed.cursor", Detail: "Use the next_cursor of the previous page as it is, or leave after out to start from the beginning."})
			return
		}
		after = n
	}
	limit := postgres.DefaultFeedLimit
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > postgres.MaxFeedLimit {
			a.problemf(c, http.StatusBadRequest, domain.EINVALID, "The limit is not valid; see errors.",
				FieldError{Field: "limit", Code: "page.limit", Detail: fmt.Sprintf("limit must be a whole number from 1 to %d.", postgres.MaxFeedLimit)})
			return
		}
		limit = n
	}
	events, next, err := a.opts.Feed.Read(c.Request.Context(), cl.OrgID, after, limit)
	if err != nil {
		a.problem(c, err)
		return
	}
	page := eventPage{Items: make([]webhook.Event, len(events)), NextCursor: strconv.FormatInt(next, 10)}
	for i, e := range events {
		page.Items[i] = webhook.NewEvent(e)
	}
	q := url.Values{"after": {page.NextCursor}, "limit": {strconv.Itoa(limit)}}
	c.Header("Link", fmt.Sprintf("<%s?%s>; rel=\"next\"", c.Request.URL.Path, q.Encode()))
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, page)
}
