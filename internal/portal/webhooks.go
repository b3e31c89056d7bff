package portal

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/pages"
)

// WebhooksPath lists the organisation's webhooks; WebhooksPath/<id> is one
// webhook's delivery log.
const WebhooksPath = "/portal/webhooks"

// webhookPages are the pages where organisation administrators subscribe
// their systems to the organisation's changes and look into deliveries.
// They are managed with the same right as API clients (api_client.manage):
// a webhook hands the same data to a system as a client with events:read.
type webhookPages struct {
	*Portal
	hooks *postgres.Webhooks
}

// MountWebhooks adds the webhook pages to g (which must carry the session
// middleware), managing hooks.
func (p *Portal) MountWebhooks(g *gin.RouterGroup, hooks *postgres.Webhooks) {
	w := &webhookPages{Portal: p, hooks: hooks}
	g.GET(WebhooksPath, w.list)
	g.POST(WebhooksPath, w.create)
	g.GET(WebhooksPath+"/:id", w.detail)
	g.POST(WebhooksPath+"/:id/delete", w.delete)
}

var webhookResource = authz.Resource{Type: "api_client"}

// require is the acting identity when the policy lets it manage the
// organisation's integrations; otherwise it has answered.
func (w *webhookPages) require(c *gin.Context) (actor, bool) {
	act, ok := w.requireIdentity(c)
	if !ok || !w.authorize(c, act, authz.ActionAPIClientManage, webhookResource, authz.Context{}) {
		return actor{}, false
	}
	return act, true
}

func (w *webhookPages) list(c *gin.Context) {
	act, ok := w.require(c)
	if !ok {
		return
	}
	w.renderList(c, act, http.StatusOK, pages.WebhookFormValues{}, nil)
}

func (w *webhookPages) renderList(c *gin.Context, act actor, status int, form pages.WebhookFormValues, errs []pages.FieldError) {
	lang := w.lang(c)
	list, err := w.hooks.List(c.Request.Context(), act.Org.ID)
	if err != nil {
		w.internalError(c, err)
		return
	}
	v := pages.WebhooksView{Frame: w.frame(c, act, web.T(lang, "webhooks.title"), WebhooksPath),
		Notice: doneNotice(c, lang, "webhooks.done."), Form: form, Errors: errs}
	for _, f := range domain.ChangeEventFamilies {
		v.Choices = append(v.Choices, pages.EventTypeChoice{Value: f, Label: eventTypeLabel(lang, f)})
	}
	confirm := c.Query("confirm")
	for _, h := range list {
		line := webhookLine(lang, h)
		v.Webhooks = append(v.Webhooks, line)
		if h.ID.String() == confirm {
			v.Confirm = &line
		}
	}
	render(c, status, pages.Webhooks(v))
}

// eventTypeLabel words a kind of change ("user.") or one action for people.
func eventTypeLabel(lang, t string) string {
	if family, ok := strings.CutSuffix(t, "."); ok {
		return textOr(lang, "webhooks.event."+family, t)
	}
	return textOr(lang, "audit.action."+t, t)
}

func webhookLine(lang string, h *domain.Webhook) pages.WebhookLine {
	l := pages.WebhookLine{ID: h.ID.String(), URL: h.URL, CreatedBy: h.CreatedByLabel, CreatedAt: webhookTime(h.CreatedAt)}
	for _, t := range h.EventTypes {
		l.EventTypes = append(l.EventTypes, eventTypeLabel(lang, t))
	}
	if len(l.EventTypes) == 0 {
		l.EventTypes = []string{web.T(lang, "webhooks.all")}
	}
	return l
}

// create subscribes a URL. The secret is shown in this response only:
// never in a redirect, the session or a log line, and the page is not
// cached.
func (w *webhookPages) create(c *gin.Context) {
	act, ok := w.require(c)
	if !ok {
		return
	}
	form := pages.WebhookFormValues{URL: strings.TrimSpace(c.PostForm("url")), EventTypes: c.PostFormArray("event_types")}
	h, secret, err := w.hooks.Create(c.Request.Context(), w.actorOf(c, act), act.Org.ID, form.URL, form.EventTypes)
	if err != nil {
		if isFormError(err) {
			w.renderList(c, act, formStatus(err), form, fieldErrors(w.lang(c), err))
			return
		}
		w.internalError(c, err)
		return
	}
	lang := w.lang(c)
	c.Header("Pragma", "no-cache")
	render(c, http.StatusOK, pages.WebhookSecret(pages.WebhookSecretView{
		Frame: w.frame(c, act, web.T(lang, "webhooks.secret.heading"), WebhooksPath),
		ID:    h.ID.String(), URL: h.URL, Secret: secret}))
}

// detail shows a webhook's delivery log, a page at a time (?before= is
// the cursor). Another organisation's webhook is a 404.
func (w *webhookPages) detail(c *gin.Context) {
	act, ok := w.require(c)
	if !ok {
		return
	}
	h, ok := loadOwn(w.Portal, c, act, w.hooks.Find)
	if !ok {
		return
	}
	var before int64
	if s := c.Query("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			w.renderError(c, http.StatusBadRequest)
			return
		}
		before = n
	}
	ds, next, err := w.hooks.ListDeliveries(c.Request.Context(), act.Org.ID, h.ID, before, 25)
	if err != nil {
		w.notFound(c, err)
		return
	}
	lang := w.lang(c)
	line := webhookLine(lang, h)
	v := pages.WebhookView{Frame: w.frame(c, act, web.T(lang, "webhooks.log.heading"), WebhooksPath), Webhook: line}
	for _, d := range ds {
		v.Deliveries = append(v.Deliveries, deliveryLine(lang, d))
	}
	if next != 0 {
		v.NextURL = WebhooksPath + "/" + h.ID.String() + "?before=" + strconv.FormatInt(next, 10)
	}
	render(c, http.StatusOK, pages.Webhook(v))
}

var deliveryBadge = map[string]string{
	domain.DeliveryPending:   "badge-info",
	domain.DeliveryDelivered: "badge-success",
	domain.DeliveryFailed:    "badge-error",
}

func deliveryLine(lang string, d domain.WebhookDelivery) pages.DeliveryLine {
	l := pages.DeliveryLine{ID: d.ID.String(), EventID: d.EventID, EventType: d.EventType,
		Status: textOr(lang, "webhooks.status."+d.Status, d.Status), StatusClass: deliveryBadge[d.Status],
		Attempts: d.Attempts, CreatedAt: webhookTime(d.CreatedAt)}
	if d.NextAttemptAt != nil {
		l.NextAttempt = webhookTime(*d.NextAttemptAt)
	}
	for _, a := range d.Log {
		al := pages.AttemptLine{Attempt: a.Attempt, At: webhookTime(a.AttemptedAt), Error: a.Error,
			Duration: fmt.Sprintf("%d ms", a.DurationMS)}
		if a.StatusCode != nil {
			al.StatusCode = strconv.Itoa(*a.StatusCode)
		}
		l.Log = append(l.Log, al)
	}
	return l
}

// delete removes one of the organisation's webhooks after a second yes:
// the first POST shows the confirmation on the list. Another
// organisation's webhook is a 404 either way.
func (w *webhookPages) delete(c *gin.Context) {
	act, ok := w.require(c)
	if !ok {
		return
	}
	h, ok := loadOwn(w.Portal, c, act, w.hooks.Find)
	if !ok {
		return
	}
	if c.PostForm("confirm") != "yes" {
		c.Redirect(http.StatusSeeOther, WebhooksPath+"?confirm="+h.ID.String())
		return
	}
	if err := w.hooks.Delete(c.Request.Context(), w.actorOf(c, act), act.Org.ID, h.ID); err != nil {
		w.notFound(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, withDone(WebhooksPath, "webhooks.done.deleted"))
}

// webhookTime is a moment as Danish time, day first, to the second (the
// delivery log is read to see what happened when).
func webhookTime(t time.Time) string {
	return t.In(domain.DanishTime).Format("02-01-2006 15:04:05")
}
