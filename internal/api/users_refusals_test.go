package api

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/erhverv/erhverv/internal/domain"
)

// refusal is one bad request and the answer it must get.
type refusal struct {
	name   string
	body   any
	hdr    http.Header
	status int
	code   string
	field  string // a field error the problem must name ("" for none required)
}

// badBodies are the malformed requests every JSON endpoint refuses the
// same way; valid is a body the endpoint would accept.
func badBodies(valid map[string]any) []refusal {
	unknown := map[string]any{"shoe_size": 43}
	for k, v := range valid {
		unknown[k] = v
	}
	return []refusal{
		{name: "malformed JSON", body: `{"first_name": `, status: http.StatusBadRequest, code: domain.EINVALID},
		{name: "unknown field", body: unknown, status: http.StatusBadRequest, code: domain.EINVALID, field: "/shoe_size"},
		{name: "trailing data", body: `{} {}`, status: http.StatusBadRequest, code: domain.EINVALID},
		{name: "not an object", body: `[1, 2]`, status: http.StatusBadRequest, code: domain.EINVALID},
		{name: "oversized body", body: `{"description": "` + strings.Repeat("x", maxBody) + `"}`, status: http.StatusRequestEntityTooLarge, code: CodeTooLarge},
		{name: "not JSON", body: "first_name=Jens", hdr: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
			status: http.StatusUnsupportedMediaType, code: CodeUnsupportedMediaType},
	}
}

// checkRefusal sends r and checks the problem it gets.
func checkRefusal(t *testing.T, e *testEnv, method, path, tok string, r refusal) Problem {
	t.Helper()
	p := e.problemOf(t, e.do(t, method, path, tok, r.body, r.hdr), r.status, r.code)
	if r.field != "" && !hasField(p, r.field) {
		t.Errorf("%s: errors %+v, want one about %s", r.name, p.Errors, r.field)
	}
	return p
}

func hasField(p Problem, field string) bool {
	for _, f := range p.Errors {
		if f.Field == field {
			return true
		}
	}
	return false
}

func TestUserCreateRefusals(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	org := e.org(t, "", "Afvist ApS")
	other := e.org(t, "", "Fremmed ApS")
	// P-numbers are unique across organisations: one made of the CVR is free.
	foreignUnit := &domain.ProductionUnit{OrgID: other.ID, PNumber: "1" + other.CVR + "1", Name: "Fremmed enhed"}
	if err := e.Orgs.CreateProductionUnit(context.Background(), foreignUnit); err != nil {
		t.Fatal(err)
	}
	tok := e.token(t, org, "users:write")
	taken := e.user(t, org, "Taget", "Adresse")
	valid := map[string]any{"first_name": "Jens", "last_name": "Jensen", "email": "jens@example.dk", "birth_date": "1980-01-01"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range valid {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	cases := append(badBodies(valid),
		refusal{name: "wrong type", body: with("first_name", 7), status: http.StatusBadRequest, code: domain.EINVALID, field: "/first_name"},
		refusal{name: "bad email", body: with("email", "jens"), status: http.StatusBadRequest, code: domain.EINVALID, field: "/email"},
		refusal{name: "neither CPR nor birth date", body: map[string]any{"first_name": "J", "last_name": "J", "email": "j@example.dk"},
			status: http.StatusBadRequest, code: domain.EINVALID, field: "/birth_date"},
		refusal{name: "impossible CPR", body: with("cpr", "3213801234"), status: http.StatusBadRequest, code: domain.EINVALID, field: "/cpr"},
		refusal{name: "impossible date", body: with("birth_date", "1980-13-01"), status: http.StatusBadRequest, code: domain.EINVALID, field: "/birth_date"},
		refusal{name: "malformed unit", body: with("production_unit_id", "unit-1"), status: http.StatusBadRequest, code: domain.EINVALID, field: "/production_unit_id"},
		refusal{name: "another organisation's unit", body: with("production_unit_id", foreignUnit.ID.String()),
			status: http.StatusBadRequest, code: domain.EINVALID, field: "/production_unit_id"},
		refusal{name: "email taken", body: with("email", taken.Email), status: http.StatusConflict, code: domain.ECONFLICT},
	)
	count := func() int {
		return apiCount(t, e, "SELECT count(*) FROM users WHERE org_id = $1", org.ID)
	}
	before := count()
	for _, r := range cases {
		p := checkRefusal(t, e, http.MethodPost, "/api/v1/users", tok, r)
		if strings.Contains(p.Detail, "3213801234") || strings.Contains(fmt.Sprint(p.Errors), "3213801234") {
			t.Errorf("%s: the problem repeats the CPR number: %+v", r.name, p)
		}
		if n := count(); n != before {
			t.Fatalf("%s: the organisation has %d users, want %d (nothing created)", r.name, n, before)
		}
	}
	if len(sentMails(e)) != 0 {
		t.Errorf("refused creates sent %d mails, want none", len(sentMails(e)))
	}
}

func TestUserPatchRefusals(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	org := e.org(t, "", "Uændret ApS")
	tok := e.token(t, org, "users:write")
	u := &domain.User{OrgID: org.ID, FirstName: "Cpr", LastName: "Person", Email: "cpr@example.dk", CPR: "0101801234", Status: domain.UserActive}
	if err := e.Users.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/users/" + u.ID.String()
	cases := append(badBodies(map[string]any{"first_name": "Ny"}),
		refusal{name: "wrong type", body: `{"phone": 12345678}`, status: http.StatusBadRequest, code: domain.EINVALID, field: "/phone"},
		refusal{name: "null required field", body: `{"first_name": null}`, status: http.StatusBadRequest, code: domain.EINVALID, field: "/first_name"},
		refusal{name: "bad email", body: `{"email": "@"}`, status: http.StatusBadRequest, code: domain.EINVALID, field: "/email"},
		refusal{name: "birth date of a CPR user", body: `{"birth_date": "1980-01-02"}`, status: http.StatusBadRequest, code: domain.EINVALID, field: "/birth_date"},
		refusal{name: "stale If-Match", body: `{"first_name": "Ny"}`, hdr: ifMatch(`"5"`), status: http.StatusPreconditionFailed, code: CodePreconditionFailed},
		refusal{name: "malformed If-Match", body: `{"first_name": "Ny"}`, hdr: ifMatch(`five`), status: http.StatusBadRequest, code: domain.EINVALID, field: "If-Match"},
	)
	for _, r := range cases {
		checkRefusal(t, e, http.MethodPatch, path, tok, r)
		if s := storedUser(t, e, u); s.Version != 1 || s.FirstName != "Cpr" || s.Email != "cpr@example.dk" {
			t.Fatalf("%s: stored user %+v, want it unchanged at version 1", r.name, s)
		}
	}
	if n := auditedByClient(t, e, org, "user.updated", u.ID.String()); n != 0 {
		t.Errorf("refused patches left %d audit events, want none", n)
	}
}

func TestUserIdempotencyKey(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	org := e.org(t, "", "Gentaget ApS")
	tok := e.token(t, org, "users:write")
	body := map[string]any{"first_name": "Ole", "last_name": "Olsen", "email": "ole@example.dk", "birth_date": "1975-06-07"}
	key := http.Header{"Idempotency-Key": {"create-ole-1"}}
	first := e.do(t, http.MethodPost, "/api/v1/users", tok, body, key)
	e.decode(t, first, http.StatusCreated, nil)
	again := e.do(t, http.MethodPost, "/api/v1/users", tok, body, key)
	e.decode(t, again, http.StatusCreated, nil)
	if !bytes.Equal([]byte(mustBody(t, first)), []byte(mustBody(t, again))) {
		t.Errorf("replay: got body %s, want the first answer %s", mustBody(t, again), mustBody(t, first))
	}
	if again.Header.Get("Idempotent-Replayed") != "true" || again.Header.Get("Location") != first.Header.Get("Location") ||
		again.Header.Get("ETag") != first.Header.Get("ETag") {
		t.Errorf("replay headers: got %v, want Idempotent-Replayed and the first Location and ETag", again.Header)
	}
	if n := apiCount(t, e, "SELECT count(*) FROM users WHERE org_id = $1 AND email = $2", org.ID, "ole@example.dk"); n != 1 {
		t.Errorf("users created: got %d, want 1", n)
	}
	if len(sentMails(e)) != 1 {
		t.Errorf("activation mails: got %d, want 1", len(sentMails(e)))
	}
	body["email"] = "ole2@example.dk"
	e.problemOf(t, e.do(t, http.MethodPost, "/api/v1/users", tok, body, key), http.StatusUnprocessableEntity, CodeIdempotencyReused)
	if n := apiCount(t, e, "SELECT count(*) FROM users WHERE org_id = $1", org.ID); n != 1 {
		t.Errorf("after a reused key: %d users, want 1", n)
	}
}

func TestUserScopesAndTokens(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	org := e.org(t, "", "Skarp ApS")
	u := e.user(t, org, "Bo", "Berg")
	path := "/api/v1/users/" + u.ID.String()
	create := map[string]any{"first_name": "Ny", "last_name": "Ny", "email": "ny@example.dk", "birth_date": "1980-01-01"}
	reader := e.token(t, org, "users:read")
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, "/api/v1/users", create}, {http.MethodPatch, path, map[string]any{"first_name": "X"}},
		{http.MethodDelete, path, nil}, {http.MethodPost, path + "/deactivate", nil}, {http.MethodPost, path + "/reactivate", nil},
	} {
		p := e.problemOf(t, e.do(t, r.method, r.path, reader, r.body, nil), http.StatusForbidden, domain.EFORBIDDEN)
		if !strings.Contains(p.Detail, "users:write") {
			t.Errorf("%s %s: detail %q, want it to name the scope needed", r.method, r.path, p.Detail)
		}
	}
	events := e.token(t, org, "events:read")
	for _, p := range []string{"/api/v1/users", path} {
		e.problemOf(t, e.do(t, http.MethodGet, p, events, nil, nil), http.StatusForbidden, domain.EFORBIDDEN)
	}
	e.decode(t, e.do(t, http.MethodGet, path, e.token(t, org, "roles:write"), nil, nil), http.StatusOK, nil)
	for name, tok := range map[string]string{
		"expired": expiredToken(t, e, org, "users:write"), "forged": forgedToken(t, e, org, "users:write"),
	} {
		for _, r := range []struct {
			method, path string
			body         any
		}{{http.MethodGet, "/api/v1/users", nil}, {http.MethodPost, "/api/v1/users", create}, {http.MethodDelete, path, nil}} {
			resp := e.do(t, r.method, r.path, tok, r.body, nil)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s token, %s %s: status %d, want 401", name, r.method, r.path, resp.StatusCode)
			}
			e.problemOf(t, resp, http.StatusUnauthorized, domain.EUNAUTHENTICATED)
		}
	}
	if s := storedUser(t, e, u); s.Version != 1 || s.Status != domain.UserActive || s.FirstName != "Bo" {
		t.Errorf("after refusals: %+v, want Bo unchanged", s)
	}
	if n := apiCount(t, e, "SELECT count(*) FROM users WHERE org_id = $1", org.ID); n != 1 {
		t.Errorf("after refusals: %d users, want 1", n)
	}
}

func TestUsersTenantIsolation(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	a := e.org(t, "", "Alfa A/S")
	b := e.org(t, "", "Beta A/S")
	ua := e.user(t, a, "Anna", "Alfa")
	ub := e.user(t, b, "Bent", "Beta")
	tokB := e.token(t, b, "users:write", "roles:write")
	path := "/api/v1/users/" + ua.ID.String()
	for _, r := range []struct {
		method, path string
		body         any
		hdr          http.Header
	}{
		{http.MethodGet, path, nil, nil},
		{http.MethodPatch, path, map[string]any{"first_name": "Hacked"}, nil},
		{http.MethodPatch, path, map[string]any{"first_name": "Hacked"}, ifMatch(`"1"`)},
		{http.MethodDelete, path, nil, nil},
		{http.MethodPost, path + "/deactivate", nil, nil},
		{http.MethodPost, path + "/reactivate", nil, nil},
	} {
		e.problemOf(t, e.do(t, r.method, r.path, tokB, r.body, r.hdr), http.StatusNotFound, domain.ENOTFOUND)
	}
	for _, q := range []string{"", "?q=" + ua.ID.String(), "?q=Anna", "?status=active"} {
		var page Page[userJSON]
		e.decode(t, e.do(t, http.MethodGet, "/api/v1/users"+q, tokB, nil, nil), http.StatusOK, &page)
		for _, u := range page.Items {
			if u.ID != ub.ID {
				t.Errorf("GET /users%s by B: got %s (%s %s), want B's users only", q, u.ID, u.FirstName, u.LastName)
			}
		}
	}
	if s := storedUser(t, e, ua); s.Version != 1 || s.Status != domain.UserActive || s.FirstName != "Anna" {
		t.Errorf("A's user after B's attempts: %+v, want unchanged", s)
	}
}
