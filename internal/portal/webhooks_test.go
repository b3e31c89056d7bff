package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/portal"
	"github.com/erhverv/erhverv/internal/postgres"
)

// newWebhookPlatform is newPlatform ("oiosaml") and the webhook registry
// its pages manage.
func newWebhookPlatform(t *testing.T) (*platform, *postgres.Webhooks) {
	t.Helper()
	p := newPlatform(t, "oiosaml")
	return p, p.webhooks
}

func TestWebhookPagesSubscribeShowTheLogAndDelete(t *testing.T) {
	t.Parallel()
	p, hooks := newWebhookPlatform(t)
	org, mette := p.employ("demo-mette", "91234564", "Nordlys Rådgivning ApS")
	hc := browser(t)
	p.loginAs(hc, "/login", "demo-mette", "code_app").Body.Close()

	doc := page(t, get(t, hc, p.url+portal.WebhooksPath))
	if text(doc, "webhooks-heading") != "Webhooks" || text(doc, "webhooks-none") == "" {
		t.Fatalf("empty list: %q", doc.Find("main").Text())
	}
	// A refused URL keeps what was entered and stores nothing.
	resp := post(t, hc, p.url+portal.WebhooksPath, url.Values{"url": {"http://system.nordlys.dk/hook"}, "event_types": {"user."}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(text(doc, "error-url"), "https://") {
		t.Fatalf("http URL: %d %q", resp.StatusCode, text(doc, "error-summary"))
	}
	if v, _ := doc.Find(`[data-testid="field-url"]`).Attr("value"); v != "http://system.nordlys.dk/hook" {
		t.Errorf("the form lost the URL: %q", v)
	}
	if _, ok := doc.Find(`[data-testid="field-event-user."]`).Attr("checked"); !ok {
		t.Error("the form lost the chosen event type")
	}
	if n := p.count("SELECT count(*) FROM webhooks"); n != 0 {
		t.Fatalf("a refused webhook was stored (%d)", n)
	}

	resp = post(t, hc, p.url+portal.WebhooksPath, url.Values{"url": {"https://system.nordlys.dk/hook"}, "event_types": {"user.", "group."}})
	doc = page(t, resp)
	secret, _ := doc.Find(`[data-testid="webhook-secret"]`).Attr("value")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(secret, "whsec_") || text(doc, "secret-warning") == "" {
		t.Fatalf("created: %d, secret %q, %q", resp.StatusCode, secret, doc.Find("main").Text())
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the secret page's Cache-Control: %q, want no-store", cc)
	}
	list, err := hooks.List(context.Background(), org.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("stored: %v, %v", list, err)
	}
	h := list[0]
	doc = page(t, get(t, hc, p.url+portal.WebhooksPath))
	if got := text(doc, "webhook-events-"+h.ID.String()); !strings.Contains(got, "Brugere") || !strings.Contains(got, "Grupper") {
		t.Errorf("the list's event types: %q", got)
	}
	if strings.Contains(doc.Text(), secret) {
		t.Error("the list shows the secret again")
	}

	// A change to a group is enqueued for the webhook and shows in its log.
	adm := postgres.NewAdministration(p.db, nil, "")
	if err := adm.CreateGroup(context.Background(), postgres.Actor{UserID: mette.ID, Label: "Mette"}, &domain.Group{OrgID: org.ID, Name: "Løn"}); err != nil {
		t.Fatal(err)
	}
	claimed, err := hooks.ClaimDeliveries(context.Background(), 10, time.Minute)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %d, %v", len(claimed), err)
	}
	if _, err := hooks.RecordAttempt(context.Background(), claimed[0].ID, domain.DeliveryResult{Attempt: 1, AttemptedAt: time.Now(),
		Duration: 40 * time.Millisecond, StatusCode: 502, Error: "HTTP 502 Bad Gateway", RetryIn: time.Hour}); err != nil {
		t.Fatal(err)
	}
	doc = page(t, get(t, hc, p.url+portal.WebhooksPath+"/"+h.ID.String()))
	d := claimed[0].ID.String()
	if got := text(doc, "delivery-status-"+d); !strings.Contains(got, "Venter") || !strings.Contains(got, "Næste forsøg") {
		t.Errorf("delivery status: %q", got)
	}
	if got := text(doc, "delivery-attempts-"+d); !strings.Contains(got, "HTTP 502") || !strings.Contains(got, "Bad Gateway") || !strings.Contains(got, "40 ms") {
		t.Errorf("delivery attempts: %q", got)
	}
	if got := text(doc, "delivery-"+d); !strings.Contains(got, "group.created") || !strings.Contains(got, claimed[0].Event.ID) {
		t.Errorf("delivery: %q", got)
	}

	// Deleting asks first.
	resp = post(t, hc, p.url+portal.WebhooksPath+"/"+h.ID.String()+"/delete", nil)
	doc = page(t, resp)
	if text(doc, "confirm-delete") == "" {
		t.Fatalf("delete without confirmation: %q", doc.Find("main").Text())
	}
	if n := p.count("SELECT count(*) FROM webhooks"); n != 1 {
		t.Fatalf("deleted before the confirmation (%d left)", n)
	}
	resp = post(t, hc, p.url+portal.WebhooksPath+"/"+h.ID.String()+"/delete", url.Values{"confirm": {"yes"}})
	doc = page(t, resp)
	if text(doc, "notice") == "" || text(doc, "webhooks-none") == "" {
		t.Errorf("after deleting: %q", doc.Find("main").Text())
	}
	if n := p.count("SELECT count(*) FROM webhooks"); n != 0 {
		t.Errorf("%d webhooks left, want none", n)
	}
}

func TestWebhookPagesAreTheOrganisationAdministratorsOwn(t *testing.T) {
	t.Parallel()
	p, hooks := newWebhookPlatform(t)
	org, _ := p.employ("demo-jonas", "91234564", "Nordlys Rådgivning ApS")
	other, otherAdmin := p.employ("demo-mette", "95001238", "Havbryg Revision I/S")
	foreign, _, err := hooks.Create(context.Background(), postgres.Actor{UserID: otherAdmin.ID, Label: "Mette"}, other.ID, "https://havbryg.dk/hook", nil)
	if err != nil {
		t.Fatal(err)
	}
	// An administrator of another organisation reaches neither the log nor
	// the delete of Havbryg's webhook.
	hc := browser(t)
	p.loginAs(hc, "/login", "demo-jonas", "code_app").Body.Close()
	if got := status(t, get(t, hc, p.url+portal.WebhooksPath+"/"+foreign.ID.String())); got != http.StatusNotFound {
		t.Errorf("another organisation's log: got %d, want 404", got)
	}
	if got := status(t, post(t, hc, p.url+portal.WebhooksPath+"/"+foreign.ID.String()+"/delete", url.Values{"confirm": {"yes"}})); got != http.StatusNotFound {
		t.Errorf("another organisation's delete: got %d, want 404", got)
	}
	if got := status(t, get(t, hc, p.url+portal.WebhooksPath+"/"+uuid.NewString()+"?before=x")); got != http.StatusNotFound {
		t.Errorf("an unknown webhook: got %d, want 404", got)
	}
	if n := p.count("SELECT count(*) FROM webhooks WHERE org_id = $1", other.ID); n != 1 {
		t.Errorf("Havbryg's webhook: %d left, want 1", n)
	}

	// A user administrator is not an organisation administrator.
	p.auditEmployee(org, "demo-sofie", domain.RoleUserAdmin, domain.RoleRightsAdmin)
	hc = browser(t)
	p.loginAs(hc, "/login", "demo-sofie", "code_app").Body.Close()
	for _, r := range []*http.Response{
		get(t, hc, p.url+portal.WebhooksPath),
		post(t, hc, p.url+portal.WebhooksPath, url.Values{"url": {"https://evil.example/hook"}}),
	} {
		if got := status(t, r); got != http.StatusForbidden {
			t.Errorf("%s %s as a user administrator: got %d, want 403", r.Request.Method, r.Request.URL.Path, got)
		}
	}
	if n := p.count("SELECT count(*) FROM webhooks WHERE org_id = $1", org.ID); n != 0 {
		t.Errorf("a refused create stored %d webhooks", n)
	}
}
