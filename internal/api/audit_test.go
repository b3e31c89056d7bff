package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"
)

func TestAuditEvents(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	env := f.env
	writer := env.token(t, f.acme, "rights:write")
	auditor := env.token(t, f.acme, "audit:read")
	start := time.Now().UTC()

	// Two audited changes through the API: an assignment and its removal.
	var a assignmentJSON
	env.decode(t, env.do(t, "POST", "/api/v1/assignments", writer, map[string]any{
		"user_id": f.bo.ID, "privilege": f.moms.URI, "scope": map[string]string{"type": "cvr", "value": f.acme.CVR},
	}, nil), http.StatusCreated, &a)
	env.decode(t, env.do(t, "DELETE", "/api/v1/assignments/"+a.ID.String(), writer, nil, nil), http.StatusNoContent, nil)

	var page Page[auditEventJSON]
	env.decode(t, env.do(t, "GET", "/api/v1/audit-events?action=assignment.", auditor, nil, nil), http.StatusOK, &page)
	if len(page.Items) != 2 || page.Items[0].Action != "assignment.removed" || page.Items[1].Action != "assignment.created" {
		t.Fatalf("assignment events: got %+v, want removed, then created (newest first)", page.Items)
	}
	created := page.Items[1]
	if created.ActorLabel != "API client test client" || created.ActorID == nil || created.TargetType != "assignment" ||
		created.TargetID != a.ID.String() || created.Details["privilege_uri"] != f.moms.URI || created.RequestID == "" || created.Seq < 1 {
		t.Errorf("created event: got %+v", created)
	}
	// The log keeps the client's address; the API does not hand it on.
	var raw []byte
	if err := env.DB.SQL().QueryRow(`SELECT details::text FROM audit_events WHERE org_id = $1 AND seq = $2`, f.acme.ID, created.Seq).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var stored map[string]any
	if err := json.Unmarshal(raw, &stored); err != nil || stored["address"] == nil {
		t.Fatalf("stored details %s: want an address to scrub", raw)
	}
	if _, ok := created.Details["address"]; ok {
		t.Errorf("details %v: the client's address was handed on", created.Details)
	}

	for _, tt := range []struct {
		query string
		want  int
	}{
		{"action=assignment.created", 1},
		{"actor=" + url.QueryEscape("api client"), 2},
		{"actor=" + created.ActorID.String(), 2},
		{"target=" + a.ID.String(), 2},
		{"since=" + url.QueryEscape(start.Format(time.RFC3339Nano)), 2},
		{"action=assignment.&until=" + url.QueryEscape(start.Format(time.RFC3339Nano)), 0},
		{"action=user.", 0},
	} {
		var got Page[auditEventJSON]
		env.decode(t, env.do(t, "GET", "/api/v1/audit-events?"+tt.query, auditor, nil, nil), http.StatusOK, &got)
		if len(got.Items) != tt.want {
			t.Errorf("?%s: got %d events, want %d", tt.query, len(got.Items), tt.want)
		}
	}

	// Page by page, the same events.
	var seqs []int64
	path := "/api/v1/audit-events?action=assignment.&limit=1"
	for range 5 {
		var p Page[auditEventJSON]
		env.decode(t, env.do(t, "GET", path, auditor, nil, nil), http.StatusOK, &p)
		for _, e := range p.Items {
			seqs = append(seqs, e.Seq)
		}
		if p.NextCursor == "" {
			break
		}
		path = "/api/v1/audit-events?action=assignment.&limit=1&cursor=" + url.QueryEscape(p.NextCursor)
	}
	if want := []int64{page.Items[0].Seq, page.Items[1].Seq}; !reflect.DeepEqual(seqs, want) {
		t.Errorf("pages: got seqs %v, want %v", seqs, want)
	}

	// Hansen Auto's auditor sees nothing of Jensen Byg's log.
	var theirs Page[auditEventJSON]
	env.decode(t, env.do(t, "GET", "/api/v1/audit-events", env.token(t, f.other, "audit:read"), nil, nil), http.StatusOK, &theirs)
	for _, e := range theirs.Items {
		if e.TargetID == a.ID.String() || e.ActorLabel == "API client test client" {
			t.Errorf("Hansen Auto's log shows %+v", e)
		}
	}
}

func TestAuditEventRefusals(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	env := f.env
	auditor := env.token(t, f.acme, "audit:read")
	for _, tt := range []struct {
		name, query, token string
		status             int
		code, field        string
	}{
		{"bad since", "?since=yesterday", auditor, 400, "invalid", "since"},
		{"bad until", "?until=2026-13-01T00:00:00Z", auditor, 400, "invalid", "until"},
		{"until before since", "?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", auditor, 400, "invalid", "until"},
		{"bad action", "?action=DROP%20TABLE", auditor, 400, "invalid", "action"},
		{"bad cursor", "?cursor=abc", auditor, 400, "invalid", "cursor"},
		{"cursor of another list", "?cursor=" + encodeCursor("urn:dk:test"), auditor, 400, "invalid", "cursor"},
		{"missing scope", "", env.token(t, f.acme, "rights:write", "decisions", "users:write"), 403, "forbidden", ""},
		{"expired token", "", expiredToken(t, env, f.acme, "audit:read"), 401, "unauthenticated", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := env.problemOf(t, env.do(t, "GET", "/api/v1/audit-events"+tt.query, tt.token, nil, nil), tt.status, tt.code)
			if tt.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tt.field) {
				t.Errorf("errors: got %+v, want one on %s", p.Errors, tt.field)
			}
		})
	}
}

func TestScrubDetails(t *testing.T) {
	t.Parallel()
	got := scrubDetails(json.RawMessage(`{"address": "192.0.2.1", "email": "a@example.dk", "count": 12345678901234567,
		"before": {"cpr": "(changed)", "name": "A"}, "after": {"cpr": "0101901234", "IP": "192.0.2.1", "name": "B"},
		"list": ["010190-1234", "x"], "note": "010190-1234"}`))
	b, _ := json.Marshal(got)
	want := `{"after":{"name":"B"},"before":{"cpr":"(changed)","name":"A"},"count":12345678901234567,"email":"a@example.dk","list":["x"]}`
	if string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	if got := scrubDetails(json.RawMessage(`[]`)); len(got) != 0 {
		t.Errorf("not an object: got %v, want {}", got)
	}
}
