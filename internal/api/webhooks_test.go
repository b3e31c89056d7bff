package api

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

type webhookOut struct {
	ID         string   `json:"id"`
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types"`
	Active     bool     `json:"active"`
	CreatedBy  string   `json:"created_by"`
	Secret     string   `json:"secret"`
}

type deliveryOut struct {
	ID        string `json:"id"`
	EventID   string `json:"event_id"`
	EventSeq  int64  `json:"event_seq"`
	EventType string `json:"event_type"`
	Status    string `json:"status"`
	Attempts  int    `json:"attempts"`
	Log       []any  `json:"log"`
}

func (e *testEnv) createWebhook(t *testing.T, tok string, body any) webhookOut {
	t.Helper()
	resp := e.do(t, "POST", "/api/v1/webhooks", tok, body, nil)
	var h webhookOut
	e.decode(t, resp, http.StatusCreated, &h)
	if loc := resp.Header.Get("Location"); loc != "/api/v1/webhooks/"+h.ID {
		t.Errorf("Location: %q, want /api/v1/webhooks/%s", loc, h.ID)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control of the answer with the secret: %q, want no-store", cc)
	}
	return h
}

func TestWebhooksCreateListGetDelete(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	org := env.org(t, "", "Nordlys Rådgivning ApS")
	tok := env.token(t, org, "events:read")

	h := env.createWebhook(t, tok, map[string]any{"url": "https://hooks.nordlys.dk/erhverv", "event_types": []string{"group.", "user.created"}})
	if !strings.HasPrefix(h.Secret, "whsec_") || h.URL != "https://hooks.nordlys.dk/erhverv" || !h.Active ||
		strings.Join(h.EventTypes, ",") != "group.,user.created" || h.CreatedBy != "API client test client" {
		t.Errorf("created: %+v", h)
	}
	all := env.createWebhook(t, tok, map[string]any{"url": "https://all.nordlys.dk/"})
	if len(all.EventTypes) != 0 {
		t.Errorf("no event types: got %v, want [] (every change)", all.EventTypes)
	}

	var list struct {
		Items []webhookOut `json:"items"`
	}
	env.decode(t, env.do(t, "GET", "/api/v1/webhooks", tok, nil, nil), http.StatusOK, &list)
	if len(list.Items) != 2 || list.Items[0].ID != h.ID || list.Items[0].Secret != "" {
		t.Errorf("list: %+v", list.Items)
	}
	var got webhookOut
	env.decode(t, env.do(t, "GET", "/api/v1/webhooks/"+h.ID, tok, nil, nil), http.StatusOK, &got)
	if got.ID != h.ID || got.Secret != "" {
		t.Errorf("get: %+v", got)
	}

	// A change reaches the matching webhooks' logs at once (the dispatcher
	// is not running here, so the deliveries wait).
	env.change(t, org, "Løn")
	var page struct {
		Items      []deliveryOut `json:"items"`
		NextCursor string        `json:"next_cursor"`
	}
	env.decode(t, env.do(t, "GET", "/api/v1/webhooks/"+h.ID+"/deliveries", tok, nil, nil), http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].EventType != "group.created" || page.Items[0].Status != "pending" ||
		page.Items[0].Attempts != 0 || page.Items[0].Log == nil || page.NextCursor != "" {
		t.Fatalf("deliveries: %+v", page)
	}
	if !strings.HasSuffix(page.Items[0].EventID, ":"+strconv.FormatInt(page.Items[0].EventSeq, 10)) {
		t.Errorf("event id %q does not end in its seq %d", page.Items[0].EventID, page.Items[0].EventSeq)
	}
	env.change(t, org, "Bogholderi")
	env.change(t, org, "Salg")
	var seen []int64
	cursor := ""
	for range 10 {
		q := "?limit=2"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		var p struct {
			Items      []deliveryOut `json:"items"`
			NextCursor string        `json:"next_cursor"`
		}
		env.decode(t, env.do(t, "GET", "/api/v1/webhooks/"+h.ID+"/deliveries"+q, tok, nil, nil), http.StatusOK, &p)
		for _, d := range p.Items {
			seen = append(seen, d.EventSeq)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if len(seen) != 3 || seen[0] <= seen[1] || seen[1] <= seen[2] {
		t.Errorf("paged deliveries: %v, want 3, newest first", seen)
	}
	env.problemOf(t, env.do(t, "GET", "/api/v1/webhooks/"+h.ID+"/deliveries?cursor=%21", tok, nil, nil), http.StatusBadRequest, "invalid")

	resp := env.do(t, "DELETE", "/api/v1/webhooks/"+h.ID, tok, nil, nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	env.problemOf(t, env.do(t, "GET", "/api/v1/webhooks/"+h.ID, tok, nil, nil), http.StatusNotFound, "not_found")
	env.problemOf(t, env.do(t, "DELETE", "/api/v1/webhooks/"+h.ID, tok, nil, nil), http.StatusNotFound, "not_found")
	var actions []string
	rows, err := env.DB.SQL().Query("SELECT action || ' ' || actor_label FROM audit_events WHERE org_id = $1 AND action LIKE 'webhook.%' ORDER BY seq", org.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		actions = append(actions, s)
	}
	if strings.Join(actions, "|") != "webhook.created API client test client|webhook.created API client test client|webhook.deleted API client test client" {
		t.Errorf("audit: %v", actions)
	}
}

func TestWebhookCreateRefusals(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	org := env.org(t, "", "Nordlys")
	tok := env.token(t, org, "events:read")
	for _, c := range []struct {
		name  string
		body  any
		field string
	}{
		{"http", map[string]any{"url": "http://hooks.nordlys.dk/"}, "/url"},
		{"no url", map[string]any{"event_types": []string{"user."}}, "/url"},
		{"credentials", map[string]any{"url": "https://u:p@hooks.nordlys.dk/"}, "/url"},
		{"unknown event type", map[string]any{"url": "https://hooks.nordlys.dk/", "event_types": []string{"session."}}, "/event_types"},
		{"unknown field", map[string]any{"url": "https://hooks.nordlys.dk/", "secret": "mine"}, ""},
		{"wrong type", map[string]any{"url": "https://hooks.nordlys.dk/", "event_types": "user."}, ""},
	} {
		p := env.problemOf(t, env.do(t, "POST", "/api/v1/webhooks", tok, c.body, nil), http.StatusBadRequest, "invalid")
		if c.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != c.field) {
			t.Errorf("%s: errors %+v, want one about %s", c.name, p.Errors, c.field)
		}
	}
	env.problemOf(t, env.do(t, "POST", "/api/v1/webhooks", tok, "url=https://x", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}),
		http.StatusUnsupportedMediaType, "unsupported_media_type")
	var n int
	if err := env.DB.SQL().QueryRow("SELECT count(*) FROM webhooks").Scan(&n); err != nil || n != 0 {
		t.Errorf("refused creates stored %d webhooks (%v)", n, err)
	}
}

func TestWebhooksAreTheClientsOrganisationsOnly(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	orgA, orgB := env.org(t, "", "A"), env.org(t, "", "B")
	tokA, tokB := env.token(t, orgA, "events:read"), env.token(t, orgB, "events:read")
	h := env.createWebhook(t, tokA, map[string]any{"url": "https://a.example.dk/hook"})
	env.change(t, orgB, "B's gruppe")

	for _, path := range []string{"/api/v1/webhooks/" + h.ID, "/api/v1/webhooks/" + h.ID + "/deliveries", "/api/v1/webhooks/not-a-uuid"} {
		env.problemOf(t, env.do(t, "GET", path, tokB, nil, nil), http.StatusNotFound, "not_found")
	}
	env.problemOf(t, env.do(t, "DELETE", "/api/v1/webhooks/"+h.ID, tokB, nil, nil), http.StatusNotFound, "not_found")
	var list struct {
		Items []webhookOut `json:"items"`
	}
	env.decode(t, env.do(t, "GET", "/api/v1/webhooks", tokB, nil, nil), http.StatusOK, &list)
	if len(list.Items) != 0 {
		t.Errorf("B lists %d webhooks, want none", len(list.Items))
	}
	var page struct {
		Items []deliveryOut `json:"items"`
	}
	env.decode(t, env.do(t, "GET", "/api/v1/webhooks/"+h.ID+"/deliveries", tokA, nil, nil), http.StatusOK, &page)
	if len(page.Items) != 0 {
		t.Errorf("B's change reached A's webhook: %+v", page.Items)
	}

	// Without events:read a client neither reads nor manages webhooks.
	other := env.token(t, orgA, "users:write", "rights:write")
	env.problemOf(t, env.do(t, "GET", "/api/v1/webhooks", other, nil, nil), http.StatusForbidden, "forbidden")
	env.problemOf(t, env.do(t, "POST", "/api/v1/webhooks", other, map[string]any{"url": "https://x.example.dk/"}, nil), http.StatusForbidden, "forbidden")
	env.problemOf(t, env.do(t, "DELETE", "/api/v1/webhooks/"+h.ID, other, nil, nil), http.StatusForbidden, "forbidden")
	env.problemOf(t, env.do(t, "GET", "/api/v1/webhooks/"+h.ID+"/deliveries", other, nil, nil), http.StatusForbidden, "forbidden")
}
