package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
)

// webhookJSON is a webhook as the API shows it: never its secret, which
// only the answer to the create carries.
type webhookJSON struct {
	ID         string    `json:"id"`
	URL        string    `json:"url"`
	EventTypes []string  `json:"event_types"`
	Active     bool      `json:"active"`
	CreatedBy  string    `json:"created_by"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func toWebhookJSON(h *domain.Webhook) webhookJSON {
	types := h.EventTypes
	if types == nil {
		types = []string{}
	}
	return webhookJSON{ID: h.ID.String(), URL: h.URL, EventTypes: types, Active: h.Active, CreatedBy: h.CreatedByLabel,
		CreatedAt: h.CreatedAt.UTC(), UpdatedAt: h.UpdatedAt.UTC()}
}

// createdWebhookJSON is the answer to a create: the webhook and its secret,
// shown this once.
type createdWebhookJSON struct {
	webhookJSON
	Secret string `json:"secret"`
}

type deliveryJSON struct {
	ID             string        `json:"id"`
	EventID        string        `json:"event_id"`
	EventSeq       int64         `json:"event_seq"`
	EventType      string        `json:"event_type"`
	Status         string        `json:"status"`
	Attempts       int           `json:"attempts"`
	NextAttemptAt  *time.Time    `json:"next_attempt_at,omitempty"`
	LastStatusCode *int          `json:"last_status_code,omitempty"`
	LastError      string        `json:"last_error"`
	DeliveredAt    *time.Time    `json:"delivered_at,omitempty"`
	CreatedAt      time.Time     `json:"created_at"`
	Log            []attemptJSON `json:"log"`
}

type attemptJSON struct {
	Attempt     int       `json:"attempt"`
	AttemptedAt time.Time `json:"attempted_at"`
	DurationMS  int       `json:"duration_ms"`
	StatusCode  *int      `json:"status_code,omitempty"`
	Error       string    `json:"error"`
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func toDeliveryJSON(d domain.WebhookDelivery) deliveryJSON {
	out := deliveryJSON{ID: d.ID.String(), EventID: d.EventID, EventSeq: d.EventSeq, EventType: d.EventType, Status: d.Status,
		Attempts: d.Attempts, NextAttemptAt: utcPtr(d.NextAttemptAt), LastStatusCode: d.LastStatusCode, LastError: d.LastError,
		DeliveredAt: utcPtr(d.DeliveredAt), CreatedAt: d.CreatedAt.UTC(), Log: make([]attemptJSON, len(d.Log))}
	for i, l := range d.Log {
		out.Log[i] = attemptJSON{Attempt: l.Attempt, AttemptedAt: l.AttemptedAt.UTC(), DurationMS: l.DurationMS, StatusCode: l.StatusCode, Error: l.Error}
	}
	return out
}

func (a *API) listWebhooks(c *gin.Context) {
	cl := ClientOf(c)
	if !a.authorize(c, actionEventsRead, Resource{OrgID: cl.OrgID}) {
		return
	}
	list, err := a.opts.Webhooks.List(c.Request.Context(), cl.OrgID)
	if err != nil {
		a.problem(c, err)
		return
	}
	items := make([]webhookJSON, len(list))
	for i, h := range list {
		items[i] = toWebhookJSON(h)
	}
	a.page(c, items, "")
}

type createWebhookRequest struct {
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types"`
}

func (a *API) createWebhook(c *gin.Context) {
	cl := ClientOf(c)
	if !a.authorize(c, actionWebhookManage, Resource{OrgID: cl.OrgID}) {
		return
	}
	var req createWebhookRequest
	if !a.bind(c, &req) {
		return
	}
	h, secret, err := a.opts.Webhooks.Create(c.Request.Context(), a.actor(c), cl.OrgID, req.URL, req.EventTypes)
	if err != nil {
		a.problem(c, err)
		return
	}
	c.Header("Location", "/api/v1/webhooks/"+h.ID.String())
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, createdWebhookJSON{webhookJSON: toWebhookJSON(h), Secret: secret})
}

// webhookOf finds the organisation's webhook named by the path; a
// malformed id is as unknown as another organisation's webhook.
func (a *API) webhookOf(c *gin.Context, orgID uuid.UUID) (*domain.Webhook, bool) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		a.problemf(c, http.StatusNotFound, domain.ENOTFOUND, "The webhook does not exist.")
		return nil, false
	}
	h, err := a.opts.Webhooks.Find(c.Request.Context(), orgID, id)
	if err != nil {
		a.problem(c, err)
		return nil, false
	}
	return h, true
}

func (a *API) getWebhook(c *gin.Context) {
	cl := ClientOf(c)
	if !a.authorize(c, actionEventsRead, Resource{OrgID: cl.OrgID}) {
		return
	}
	h, ok := a.webhookOf(c, cl.OrgID)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, toWebhookJSON(h))
}

func (a *API) deleteWebhook(c *gin.Context) {
	cl := ClientOf(c)
	if !a.authorize(c, actionWebhookManage, Resource{OrgID: cl.OrgID}) {
		return
	}
	h, ok := a.webhookOf(c, cl.OrgID)
	if !ok {
		return
	}
	if err := a.opts.Webhooks.Delete(c.Request.Context(), a.actor(c), cl.OrgID, h.ID); err != nil {
		a.problem(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// deliveryCursor is the position in a webhook's delivery log: the event
// seq of the last delivery of the previous page.
type deliveryCursor struct {
	Before int64 `json:"b"`
}

func (a *API) listDeliveries(c *gin.Context) {
	cl := ClientOf(c)
	if !a.authorize(c, actionEventsRead, Resource{OrgID: cl.OrgID}) {
		return
	}
	limit, cursor, ok := a.pageParams(c)
	if !ok {
		return
	}
	var cur deliveryCursor
	if !a.decodeCursor(c, cursor, &cur) {
		return
	}
	if cur.Before < 0 {
		a.problemf(c, http.StatusBadRequest, domain.EINVALID, "The cursor is not valid; see errors.",
			FieldError{Field: "cursor", Code: "page.cursor", Detail: "Use the next_cursor of the previous page as it is."})
		return
	}
	h, ok := a.webhookOf(c, cl.OrgID)
	if !ok {
		return
	}
	ds, next, err := a.opts.Webhooks.ListDeliveries(c.Request.Context(), cl.OrgID, h.ID, cur.Before, limit)
	if err != nil {
		a.problem(c, err)
		return
	}
	items := make([]deliveryJSON, len(ds))
	for i, d := range ds {
		items[i] = toDeliveryJSON(d)
	}
	var nextCursor string
	if next != 0 {
		nextCursor = encodeCursor(deliveryCursor{Before: next})
	}
	a.page(c, items, nextCursor)
}
