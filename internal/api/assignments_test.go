package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
)

func TestAssignmentLifecycle(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	env := f.env
	tok := env.token(t, f.acme, "rights:write")

	// To a user, the privilege by URI, for the whole CVR.
	until := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	resp := env.do(t, "POST", "/api/v1/assignments", tok, map[string]any{
		"user_id": f.bo.ID, "privilege": f.hemmelig.URI, "scope": map[string]string{"type": "cvr", "value": f.acme.CVR},
		"valid_to": until.Format(time.RFC3339),
	}, nil)
	var created assignmentJSON
	env.decode(t, resp, http.StatusCreated, &created)
	if loc := resp.Header.Get("Location"); loc != "/api/v1/assignments/"+created.ID.String() {
		t.Errorf("Location: got %q, want /api/v1/assignments/%s", loc, created.ID)
	}
	if created.UserID == nil || *created.UserID != f.bo.ID || created.Privilege.ID != f.hemmelig.ID || created.Privilege.URI != f.hemmelig.URI ||
		created.Scope != (scopeJSON{"cvr", f.acme.CVR}) || created.ValidTo == nil || !created.ValidTo.Equal(until) || created.Source != "direct" ||
		created.Privilege.ITSystemName != "Sag" || created.Privilege.ProviderName != "Skatteværket" {
		t.Errorf("created: got %+v", created)
	}

	// To a group, the privilege by id, for the unit's P-number, with a KLE value.
	var toGroup assignmentJSON
	env.decode(t, env.do(t, "POST", "/api/v1/assignments", tok, map[string]any{
		"group_id": f.group.ID, "privilege": f.sag.ID.String(), "scope": map[string]string{"type": "pnumber", "value": f.unit.PNumber},
		"constraints": map[string]string{domain.ConstraintKLE: "25.02.01"},
	}, nil), http.StatusCreated, &toGroup)
	if toGroup.GroupID == nil || *toGroup.GroupID != f.group.ID || toGroup.Constraints[domain.ConstraintKLE] != "25.02.01" || toGroup.Scope.Type != "pnumber" {
		t.Errorf("to the group: got %+v", toGroup)
	}

	var got assignmentJSON
	env.decode(t, env.do(t, "GET", "/api/v1/assignments/"+created.ID.String(), tok, nil, nil), http.StatusOK, &got)
	if got.ID != created.ID || got.Privilege.URI != f.hemmelig.URI {
		t.Errorf("get: got %+v, want %+v", got, created)
	}

	ids := func(query string) []uuid.UUID {
		t.Helper()
		var page Page[assignmentJSON]
		env.decode(t, env.do(t, "GET", "/api/v1/assignments"+query, tok, nil, nil), http.StatusOK, &page)
		out := make([]uuid.UUID, len(page.Items))
		for i, a := range page.Items {
			out[i] = a.ID
		}
		return out
	}
	for _, tt := range []struct {
		query string
		want  []uuid.UUID
	}{
		{"?user_id=" + f.bo.ID.String(), []uuid.UUID{created.ID}},
		{"?group_id=" + f.group.ID.String(), []uuid.UUID{f.groupSag.ID, toGroup.ID}},
		{"?privilege=" + url.QueryEscape(f.løn.URI), []uuid.UUID{f.annaLøn.ID}},
		{"?privilege=" + f.hemmelig.ID.String(), []uuid.UUID{created.ID}},
		{"?privilege=" + url.QueryEscape("urn:dk:test:nothing"), []uuid.UUID{}},
	} {
		if got := ids(tt.query); !sameIDs(got, tt.want) {
			t.Errorf("list %s: got %v, want %v", tt.query, got, tt.want)
		}
	}
	// Every assignment of the organisation, one a page, none of Bent's.
	var all []uuid.UUID
	path := "/api/v1/assignments?limit=1"
	for range 20 {
		var page Page[assignmentJSON]
		env.decode(t, env.do(t, "GET", path, tok, nil, nil), http.StatusOK, &page)
		for _, a := range page.Items {
			all = append(all, a.ID)
		}
		if page.NextCursor == "" {
			break
		}
		path = "/api/v1/assignments?limit=1&cursor=" + url.QueryEscape(page.NextCursor)
	}
	if want := []uuid.UUID{f.annaMoms.ID, f.annaLøn.ID, f.annaExpired.ID, f.groupSag.ID, created.ID, toGroup.ID}; !sameIDs(all, want) {
		t.Errorf("all pages: got %v, want %v (in any order)", all, want)
	}

	before := f.stateOf(t, f.acme)
	env.decode(t, env.do(t, "DELETE", "/api/v1/assignments/"+created.ID.String(), tok, nil, nil), http.StatusNoContent, nil)
	env.problemOf(t, env.do(t, "GET", "/api/v1/assignments/"+created.ID.String(), tok, nil, nil), http.StatusNotFound, "not_found")
	env.problemOf(t, env.do(t, "DELETE", "/api/v1/assignments/"+created.ID.String(), tok, nil, nil), http.StatusNotFound, "not_found")
	if after := f.stateOf(t, f.acme); after[0] != before[0]-1 || after[1] != before[1]+1 {
		t.Errorf("after removal: got %v assignments/events, want %d/%d", after, before[0]-1, before[1]+1)
	}
	// Creating and removing are audited as the client.
	var label, action string
	row := env.DB.SQL().QueryRow(`SELECT actor_label, action FROM audit_events WHERE org_id = $1 AND target_id = $2 ORDER BY seq DESC LIMIT 1`, f.acme.ID, created.ID.String())
	if err := row.Scan(&label, &action); err != nil || label != "API client test client" || action != "assignment.removed" {
		t.Errorf("audit: got %q %q (%v), want assignment.removed by API client test client", label, action, err)
	}
}

func sameIDs(got, want []uuid.UUID) bool {
	if len(got) != len(want) {
		return false
	}
	seen := map[uuid.UUID]int{}
	for _, id := range got {
		seen[id]++
	}
	for _, id := range want {
		if seen[id]--; seen[id] < 0 {
			return false
		}
	}
	return true
}

func TestAssignmentRefusals(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	env := f.env
	tok := env.token(t, f.acme, "rights:write")
	cvr := map[string]string{"type": "cvr", "value": f.acme.CVR}
	valid := func(change func(m map[string]any)) map[string]any {
		m := map[string]any{"user_id": f.bo.ID, "privilege": f.moms.URI, "scope": cvr}
		if change != nil {
			change(m)
		}
		return m
	}
	before := f.stateOf(t, f.acme)
	otherBefore := f.stateOf(t, f.other)
	for _, tt := range []struct {
		name   string
		body   any
		hdr    http.Header
		status int
		code   string
		field  string
	}{
		{"malformed JSON", `{"user_id": `, nil, 400, "invalid", ""},
		{"unknown field", valid(func(m map[string]any) { m["role"] = "admin" }), nil, 400, "invalid", "/role"},
		{"wrong type", valid(func(m map[string]any) { m["user_id"] = 5 }), nil, 400, "invalid", "/user_id"},
		{"wrong type in scope", valid(func(m map[string]any) { m["scope"] = map[string]any{"type": "cvr", "value": 12345678} }), nil, 400, "invalid", "/scope/value"},
		{"not JSON", "user_id=1", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, 415, "unsupported_media_type", ""},
		{"oversized", `{"privilege": "` + strings.Repeat("x", 1<<20) + `"}`, nil, 413, "too_large", ""},
		{"trailing data", `{"privilege": "x"} {}`, nil, 400, "invalid", ""},
		{"no holder", valid(func(m map[string]any) { delete(m, "user_id") }), nil, 400, "invalid", "/user_id"},
		{"both holders", valid(func(m map[string]any) { m["group_id"] = f.group.ID }), nil, 400, "invalid", "/group_id"},
		{"malformed user id", valid(func(m map[string]any) { m["user_id"] = "bo" }), nil, 400, "invalid", "/user_id"},
		{"unknown privilege", valid(func(m map[string]any) { m["privilege"] = "urn:dk:test:nothing" }), nil, 400, "invalid", "/privilege"},
		{"unknown privilege id", valid(func(m map[string]any) { m["privilege"] = uuid.NewString() }), nil, 400, "invalid", "/privilege"},
		{"no scope", valid(func(m map[string]any) { delete(m, "scope") }), nil, 400, "invalid", "/scope"},
		{"bad scope type", valid(func(m map[string]any) { m["scope"] = map[string]string{"type": "p", "value": f.unit.PNumber} }), nil, 400, "invalid", "/scope/type"},
		{"malformed CVR", valid(func(m map[string]any) { m["scope"] = map[string]string{"type": "cvr", "value": "123"} }), nil, 400, "invalid", "/scope/value"},
		{"another organisation's CVR", valid(func(m map[string]any) { m["scope"] = map[string]string{"type": "cvr", "value": f.other.CVR} }), nil, 400, "invalid", "/scope/value"},
		{"constraint of the wrong format", map[string]any{"group_id": f.group.ID, "privilege": f.sag.URI, "scope": cvr,
			"constraints": map[string]string{domain.ConstraintKLE: "bogholderi"}}, nil, 400, "invalid", "/constraints/urn:dk:kombit:KLE"},
		{"undeclared constraint type", valid(func(m map[string]any) { m["constraints"] = map[string]string{"https://x.example/type": "1"} }), nil, 400, "invalid", "/constraints/https:~1~1x.example~1type"},
		{"constraint not a string", valid(func(m map[string]any) { m["constraints"] = map[string]any{domain.ConstraintKLE: 25} }), nil, 400, "invalid", "/constraints"},
		{"malformed date", valid(func(m map[string]any) { m["valid_to"] = "31-12-2030" }), nil, 400, "invalid", "/valid_to"},
		{"ended", valid(func(m map[string]any) { m["valid_to"] = "2020-01-01T00:00:00Z" }), nil, 400, "invalid", "/valid_to"},
		{"end before start", valid(func(m map[string]any) {
			m["valid_from"], m["valid_to"] = "2031-01-01T00:00:00Z", "2030-01-01T00:00:00Z"
		}), nil, 400, "invalid", "/valid_to"},
		{"another organisation's user", valid(func(m map[string]any) { m["user_id"] = f.bent.ID }), nil, 400, "invalid", "/user_id"},
		{"unknown user", valid(func(m map[string]any) { m["user_id"] = uuid.New() }), nil, 400, "invalid", "/user_id"},
		{"another organisation's group", valid(func(m map[string]any) { delete(m, "user_id"); m["group_id"] = uuid.New() }), nil, 400, "invalid", "/group_id"},
		{"held already", valid(func(m map[string]any) { m["user_id"] = f.anna.ID }), nil, 409, "conflict", "/user_id"},
		{"bad idempotency key", valid(nil), http.Header{"Idempotency-Key": {"ø"}}, 400, "invalid", "Idempotency-Key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := env.problemOf(t, env.do(t, "POST", "/api/v1/assignments", tok, tt.body, tt.hdr), tt.status, tt.code)
			if tt.field == "" {
				return
			}
			for _, e := range p.Errors {
				if e.Field == tt.field {
					return
				}
			}
			t.Errorf("errors: got %+v, want one on %s", p.Errors, tt.field)
		})
	}
	if after := f.stateOf(t, f.acme); after != before {
		t.Errorf("after refusals: got %v assignments/events, want %v: nothing changed", after, before)
	}
	if after := f.stateOf(t, f.other); after != otherBefore {
		t.Errorf("the other organisation after refusals: got %v, want %v", after, otherBefore)
	}
}

func TestAssignmentIdempotencyKey(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	env := f.env
	tok := env.token(t, f.acme, "rights:write")
	body := map[string]any{"user_id": f.bo.ID, "privilege": f.moms.URI, "scope": map[string]string{"type": "cvr", "value": f.acme.CVR}}
	key := http.Header{"Idempotency-Key": {uuid.NewString()}}
	before := f.stateOf(t, f.acme)

	var first, again assignmentJSON
	env.decode(t, env.do(t, "POST", "/api/v1/assignments", tok, body, key), http.StatusCreated, &first)
	resp := env.do(t, "POST", "/api/v1/assignments", tok, body, key)
	env.decode(t, resp, http.StatusCreated, &again)
	if again.ID != first.ID || resp.Header.Get("Idempotent-Replayed") != "true" || resp.Header.Get("Location") != "/api/v1/assignments/"+first.ID.String() {
		t.Errorf("replay: got %s (replayed %q, Location %q), want %s again", again.ID, resp.Header.Get("Idempotent-Replayed"), resp.Header.Get("Location"), first.ID)
	}
	body["user_id"] = f.anna.ID
	body["privilege"] = f.hemmelig.URI
	env.problemOf(t, env.do(t, "POST", "/api/v1/assignments", tok, body, key), http.StatusUnprocessableEntity, "idempotency_key_reused")
	if after := f.stateOf(t, f.acme); after != [2]int{before[0] + 1, before[1] + 1} {
		t.Errorf("after a create and two retries: got %v, want one assignment and one event more than %v", after, before)
	}
}

func TestAssignmentTenantIsolation(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	env := f.env
	other := env.token(t, f.other, "rights:write")
	reader := env.token(t, f.acme, "rights:read")
	users := env.token(t, f.acme, "users:read", "decisions")
	id := f.annaMoms.ID.String()
	before := f.stateOf(t, f.acme)

	env.problemOf(t, env.do(t, "GET", "/api/v1/assignments/"+id, other, nil, nil), http.StatusNotFound, "not_found")
	env.problemOf(t, env.do(t, "DELETE", "/api/v1/assignments/"+id, other, nil, nil), http.StatusNotFound, "not_found")
	var page Page[assignmentJSON]
	env.decode(t, env.do(t, "GET", "/api/v1/assignments?user_id="+f.anna.ID.String(), other, nil, nil), http.StatusOK, &page)
	if len(page.Items) != 0 {
		t.Errorf("another organisation's list by Anna: got %d items, want none", len(page.Items))
	}
	env.decode(t, env.do(t, "GET", "/api/v1/assignments", other, nil, nil), http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].UserID == nil || *page.Items[0].UserID != f.bent.ID {
		t.Errorf("another organisation's list: got %+v, want only Bent's", page.Items)
	}
	env.problemOf(t, env.do(t, "POST", "/api/v1/assignments", other, map[string]any{
		"group_id": f.group.ID, "privilege": f.moms.URI, "scope": map[string]string{"type": "cvr", "value": f.other.CVR},
	}, nil), http.StatusBadRequest, "invalid")
	if after := f.stateOf(t, f.acme); after != before {
		t.Errorf("Jensen Byg after Hansen Auto's attempts: got %v, want %v", after, before)
	}

	// Scopes: reading is not writing, and users:read is not rights.
	env.decode(t, env.do(t, "GET", "/api/v1/assignments/"+id, reader, nil, nil), http.StatusOK, nil)
	env.problemOf(t, env.do(t, "DELETE", "/api/v1/assignments/"+id, reader, nil, nil), http.StatusForbidden, "forbidden")
	env.problemOf(t, env.do(t, "POST", "/api/v1/assignments", reader, map[string]any{"user_id": f.bo.ID}, nil), http.StatusForbidden, "forbidden")
	env.problemOf(t, env.do(t, "GET", "/api/v1/assignments", users, nil, nil), http.StatusForbidden, "forbidden")
	env.problemOf(t, env.do(t, "GET", "/api/v1/assignments/"+id, "", nil, nil), http.StatusUnauthorized, "unauthenticated")
	if after := f.stateOf(t, f.acme); after != before {
		t.Errorf("after refused requests: got %v, want %v", after, before)
	}
	for _, bad := range []string{"?user_id=anna", "?group_id=1", "?cursor=x", "?limit=500"} {
		env.problemOf(t, env.do(t, "GET", "/api/v1/assignments"+bad, reader, nil, nil), http.StatusBadRequest, "invalid")
	}
	env.problemOf(t, env.do(t, "GET", "/api/v1/assignments/not-an-id", reader, nil, nil), http.StatusNotFound, "not_found")
}
