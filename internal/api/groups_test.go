package api

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// storedGroup reads a group from the database, bypassing the API; nil when
// it does not exist.
func storedGroup(t testing.TB, e *testEnv, orgID, id uuid.UUID) *domain.Group {
	t.Helper()
	g, err := postgres.NewGroupService(e.DB).FindGroupByID(context.Background(), orgID, id)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// memberships counts the group's memberships in the database.
func memberships(t testing.TB, e *testEnv, groupID uuid.UUID) int {
	t.Helper()
	return apiCount(t, e, "SELECT count(*) FROM group_members WHERE group_id = $1", groupID)
}

// createGroupFor creates a group through the API and returns it.
func createGroupFor(t testing.TB, e *testEnv, tok, name string) groupJSON {
	t.Helper()
	var g groupJSON
	e.decode(t, e.do(t, http.MethodPost, "/api/v1/groups", tok, map[string]any{"name": name}, nil), http.StatusCreated, &g)
	return g
}

func TestGroupsLifecycle(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	org := e.org(t, "", "Gruppe ApS")
	tok := e.token(t, org, "users:write")
	unit := &domain.ProductionUnit{OrgID: org.ID, PNumber: "1" + org.CVR + "2", Name: "Lager"}
	if err := e.Orgs.CreateProductionUnit(context.Background(), unit); err != nil {
		t.Fatal(err)
	}

	resp := e.do(t, http.MethodPost, "/api/v1/groups", tok,
		map[string]any{"name": " Bogholderi ", "description": "Alle i bogholderiet", "production_unit_id": unit.ID.String()}, nil)
	var g groupJSON
	e.decode(t, resp, http.StatusCreated, &g)
	if g.Name != "Bogholderi" || g.ProductionUnitID == nil || *g.ProductionUnitID != unit.ID ||
		resp.Header.Get("Location") != "/api/v1/groups/"+g.ID.String() || resp.Header.Get("ETag") == "" {
		t.Errorf("created group: got %+v, Location %q, ETag %q", g, resp.Header.Get("Location"), resp.Header.Get("ETag"))
	}
	if n := auditedByClient(t, e, org, "group.created", g.ID.String()); n != 1 {
		t.Errorf("group.created by the client: got %d, want 1", n)
	}
	path := "/api/v1/groups/" + g.ID.String()
	resp = e.do(t, http.MethodGet, path, tok, nil, nil)
	e.decode(t, resp, http.StatusOK, &g)
	etag := resp.Header.Get("ETag")

	// A merge patch: null lifts the restriction, the rest stays.
	resp = e.do(t, http.MethodPatch, path, tok, `{"name": "Regnskab", "production_unit_id": null}`, ifMatch(etag))
	var patched groupJSON
	e.decode(t, resp, http.StatusOK, &patched)
	if patched.Name != "Regnskab" || patched.Description != "Alle i bogholderiet" || patched.ProductionUnitID != nil {
		t.Errorf("patched group: got %+v, want Regnskab, description kept, no unit", patched)
	}
	if resp.Header.Get("ETag") == etag {
		t.Errorf("ETag after a change: still %s", etag)
	}
	e.problemOf(t, e.do(t, http.MethodPatch, path, tok, `{"description": "x"}`, ifMatch(etag)), http.StatusPreconditionFailed, CodePreconditionFailed)
	if s := storedGroup(t, e, org.ID, g.ID); s.Description != "Alle i bogholderiet" {
		t.Errorf("after a stale patch: description %q, want it unchanged", s.Description)
	}

	// Members: PUT adds once, then answers 200.
	u := e.user(t, org, "Mette", "Madsen")
	mpath := path + "/members/" + u.ID.String()
	resp = e.do(t, http.MethodPut, mpath, tok, nil, nil)
	var m memberJSON
	e.decode(t, resp, http.StatusCreated, &m)
	if m.UserID != u.ID || m.External || m.Name != "Mette Madsen" || m.OrgCVR != org.CVR || resp.Header.Get("Location") != mpath {
		t.Errorf("added member: got %+v (Location %q)", m, resp.Header.Get("Location"))
	}
	e.decode(t, e.do(t, http.MethodPut, mpath, tok, nil, nil), http.StatusOK, &m)
	if n := memberships(t, e, g.ID); n != 1 {
		t.Errorf("memberships after two PUTs: %d, want 1", n)
	}
	if n := auditedByClient(t, e, org, "group.member_added", g.ID.String()); n != 1 {
		t.Errorf("group.member_added by the client: got %d, want 1", n)
	}
	e.decode(t, e.do(t, http.MethodGet, mpath, tok, nil, nil), http.StatusOK, &m)
	var members Page[memberJSON]
	e.decode(t, e.do(t, http.MethodGet, path+"/members", tok, nil, nil), http.StatusOK, &members)
	if len(members.Items) != 1 || members.Items[0].UserID != u.ID {
		t.Errorf("members: got %+v, want Mette", members.Items)
	}
	e.decode(t, e.do(t, http.MethodDelete, mpath, tok, nil, nil), http.StatusNoContent, nil)
	e.problemOf(t, e.do(t, http.MethodDelete, mpath, tok, nil, nil), http.StatusNotFound, domain.ENOTFOUND)
	e.problemOf(t, e.do(t, http.MethodGet, mpath, tok, nil, nil), http.StatusNotFound, domain.ENOTFOUND)
	if n := auditedByClient(t, e, org, "group.member_removed", g.ID.String()); n != 1 {
		t.Errorf("group.member_removed by the client: got %d, want 1", n)
	}

	// Deleting with a stale ETag changes nothing; with the current one it goes.
	e.problemOf(t, e.do(t, http.MethodDelete, path, tok, nil, ifMatch(etag)), http.StatusPreconditionFailed, CodePreconditionFailed)
	if storedGroup(t, e, org.ID, g.ID) == nil {
		t.Fatal("a stale delete deleted the group")
	}
	resp = e.do(t, http.MethodGet, path, tok, nil, nil)
	e.decode(t, resp, http.StatusOK, nil)
	e.decode(t, e.do(t, http.MethodDelete, path, tok, nil, ifMatch(resp.Header.Get("ETag"))), http.StatusNoContent, nil)
	e.problemOf(t, e.do(t, http.MethodGet, path, tok, nil, nil), http.StatusNotFound, domain.ENOTFOUND)
	if n := auditedByClient(t, e, org, "group.deleted", g.ID.String()); n != 1 {
		t.Errorf("group.deleted by the client: got %d, want 1", n)
	}
}

func TestGroupsAndMembersPageWithoutDuplicates(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	org := e.org(t, "", "Sider ApS")
	other := e.org(t, "", "Andre ApS")
	tok := e.token(t, org, "users:write")
	createGroupFor(t, e, e.token(t, other, "users:write"), "Andres gruppe")
	names := []string{"echo", "Alfa", "delta", "Bravo", "charlie", "Golf", "foxtrot"}
	for _, n := range names {
		createGroupFor(t, e, tok, n)
	}
	var got []string
	path := "/api/v1/groups?limit=3"
	for pages := 0; path != ""; pages++ {
		if pages > len(names) {
			t.Fatal("more pages than groups")
		}
		var page Page[groupJSON]
		e.decode(t, e.do(t, http.MethodGet, path, tok, nil, nil), http.StatusOK, &page)
		for _, g := range page.Items {
			got = append(got, g.Name)
		}
		path = ""
		if page.NextCursor != "" {
			path = "/api/v1/groups?limit=3&cursor=" + page.NextCursor
		}
	}
	if want := "Alfa Bravo charlie delta echo foxtrot Golf"; strings.Join(got, " ") != want {
		t.Errorf("groups: got %v, want %s", got, want)
	}
	var page Page[groupJSON]
	e.decode(t, e.do(t, http.MethodGet, "/api/v1/groups?q=LF", tok, nil, nil), http.StatusOK, &page)
	if len(page.Items) != 2 {
		t.Errorf("q=LF: got %+v, want Alfa and Golf", page.Items)
	}

	g := createGroupFor(t, e, tok, "Mange medlemmer")
	want := map[uuid.UUID]bool{}
	for _, n := range []string{"A", "B", "C", "D", "E"} {
		u := e.user(t, org, n, "Medlem")
		e.decode(t, e.do(t, http.MethodPut, "/api/v1/groups/"+g.ID.String()+"/members/"+u.ID.String(), tok, nil, nil), http.StatusCreated, nil)
		want[u.ID] = true
	}
	seen := map[uuid.UUID]bool{}
	path = "/api/v1/groups/" + g.ID.String() + "/members?limit=2"
	for pages := 0; path != ""; pages++ {
		if pages > len(want) {
			t.Fatal("more pages than members")
		}
		var page Page[memberJSON]
		e.decode(t, e.do(t, http.MethodGet, path, tok, nil, nil), http.StatusOK, &page)
		for _, m := range page.Items {
			if seen[m.UserID] || !want[m.UserID] {
				t.Errorf("member %s listed twice or unexpected", m.UserID)
			}
			seen[m.UserID] = true
		}
		path = ""
		if page.NextCursor != "" {
			path = "/api/v1/groups/" + g.ID.String() + "/members?limit=2&cursor=" + page.NextCursor
		}
	}
	if len(seen) != len(want) {
		t.Errorf("members listed: %d, want %d", len(seen), len(want))
	}
}

func TestGroupRefusals(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	org := e.org(t, "", "Nej Tak ApS")
	other := e.org(t, "", "Ikke Vores ApS")
	tok := e.token(t, org, "users:write")
	g := createGroupFor(t, e, tok, "Salg")
	createGroupFor(t, e, tok, "Indkøb")
	foreignUnit := &domain.ProductionUnit{OrgID: other.ID, PNumber: "1" + other.CVR + "3", Name: "Fremmed"}
	if err := e.Orgs.CreateProductionUnit(context.Background(), foreignUnit); err != nil {
		t.Fatal(err)
	}
	state := func() [2]int {
		return [2]int{apiCount(t, e, "SELECT count(*) FROM user_groups WHERE org_id = $1", org.ID),
			apiCount(t, e, "SELECT count(*) FROM user_groups WHERE org_id = $1 AND name = 'Salg' AND description = ''", org.ID)}
	}
	before := state()
	check := func(method, path string, cases []refusal) {
		t.Helper()
		for _, r := range cases {
			checkRefusal(t, e, method, path, tok, r)
			if s := state(); s != before {
				t.Fatalf("%s %s, %s: groups %v, want %v (nothing changed)", method, path, r.name, s, before)
			}
		}
	}
	check(http.MethodPost, "/api/v1/groups", append(badBodies(map[string]any{"name": "Ny"}),
		refusal{name: "wrong type", body: `{"name": ["Ny"]}`, status: http.StatusBadRequest, code: domain.EINVALID, field: "/name"},
		refusal{name: "empty name", body: `{"name": "  "}`, status: http.StatusBadRequest, code: domain.EINVALID, field: "/name"},
		refusal{name: "name taken", body: `{"name": "salg"}`, status: http.StatusConflict, code: domain.ECONFLICT},
		refusal{name: "unit and SE-number", body: map[string]any{"name": "Ny", "production_unit_id": uuid.NewString(), "se_number_id": uuid.NewString()},
			status: http.StatusBadRequest, code: domain.EINVALID, field: "/production_unit_id"},
		refusal{name: "another organisation's unit", body: map[string]any{"name": "Ny", "production_unit_id": foreignUnit.ID.String()},
			status: http.StatusBadRequest, code: domain.EINVALID, field: "/production_unit_id"},
	))
	path := "/api/v1/groups/" + g.ID.String()
	check(http.MethodPatch, path, append(badBodies(map[string]any{"description": "Ny"}),
		refusal{name: "wrong type", body: `{"description": 5}`, status: http.StatusBadRequest, code: domain.EINVALID, field: "/description"},
		refusal{name: "null name", body: `{"name": null}`, status: http.StatusBadRequest, code: domain.EINVALID, field: "/name"},
		refusal{name: "name taken", body: `{"name": "Indkøb"}`, status: http.StatusConflict, code: domain.ECONFLICT},
		refusal{name: "stale If-Match", body: `{"description": "Ny"}`, hdr: ifMatch(`"1"`), status: http.StatusPreconditionFailed, code: CodePreconditionFailed},
		refusal{name: "malformed id", body: `{"se_number_id": "se-1"}`, status: http.StatusBadRequest, code: domain.EINVALID, field: "/se_number_id"},
	))

	// Members: a deleted user, another organisation's, an unknown one.
	gone := e.user(t, org, "Gone", "Away")
	if err := e.Users.SetUserStatus(context.Background(), org.ID, gone.ID, gone.Version, domain.UserDeleted); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{gone.ID.String(), e.user(t, other, "Ude", "Fra").ID.String(), uuid.NewString(), "not-a-uuid"} {
		e.problemOf(t, e.do(t, http.MethodPut, path+"/members/"+id, tok, nil, nil), http.StatusNotFound, domain.ENOTFOUND)
	}
	if n := memberships(t, e, g.ID); n != 0 {
		t.Errorf("memberships after refusals: %d, want 0", n)
	}

	// Idempotency-Key: a replay is the first answer, another body is 422.
	key := http.Header{"Idempotency-Key": {"group-marketing"}}
	first := e.do(t, http.MethodPost, "/api/v1/groups", tok, map[string]any{"name": "Marketing"}, key)
	e.decode(t, first, http.StatusCreated, nil)
	again := e.do(t, http.MethodPost, "/api/v1/groups", tok, map[string]any{"name": "Marketing"}, key)
	e.decode(t, again, http.StatusCreated, nil)
	if mustBody(t, first) != mustBody(t, again) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay: got %s, want the first answer %s", mustBody(t, again), mustBody(t, first))
	}
	e.problemOf(t, e.do(t, http.MethodPost, "/api/v1/groups", tok, map[string]any{"name": "Marketing 2"}, key),
		http.StatusUnprocessableEntity, CodeIdempotencyReused)
	if n := apiCount(t, e, "SELECT count(*) FROM user_groups WHERE org_id = $1 AND name LIKE 'Marketing%'", org.ID); n != 1 {
		t.Errorf("Marketing groups: %d, want 1", n)
	}

	// Scopes and tokens.
	member := e.user(t, org, "Med", "Lem")
	reader := e.token(t, org, "users:read", "rights:read", "roles:write")
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, "/api/v1/groups", map[string]any{"name": "X"}}, {http.MethodPatch, path, map[string]any{"name": "X"}},
		{http.MethodDelete, path, nil}, {http.MethodPut, path + "/members/" + member.ID.String(), nil},
		{http.MethodDelete, path + "/members/" + member.ID.String(), nil},
	} {
		e.problemOf(t, e.do(t, r.method, r.path, reader, r.body, nil), http.StatusForbidden, domain.EFORBIDDEN)
	}
	e.decode(t, e.do(t, http.MethodGet, path+"/members", reader, nil, nil), http.StatusOK, nil)
	for _, p := range []string{"/api/v1/groups", path, path + "/members"} {
		e.problemOf(t, e.do(t, http.MethodGet, p, e.token(t, org, "roles:write"), nil, nil), http.StatusForbidden, domain.EFORBIDDEN)
		e.problemOf(t, e.do(t, http.MethodGet, p, expiredToken(t, e, org, "users:write"), nil, nil), http.StatusUnauthorized, domain.EUNAUTHENTICATED)
		e.problemOf(t, e.do(t, http.MethodGet, p, forgedToken(t, e, org, "users:write"), nil, nil), http.StatusUnauthorized, domain.EUNAUTHENTICATED)
	}
	if s := storedGroup(t, e, org.ID, g.ID); s == nil || s.Name != "Salg" || memberships(t, e, g.ID) != 0 {
		t.Errorf("group after refusals: %+v, want Salg without members", s)
	}
}

func TestGroupsTenantIsolation(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	a := e.org(t, "", "Alfa Grupper A/S")
	b := e.org(t, "", "Beta Grupper A/S")
	tokA := e.token(t, a, "users:write")
	tokB := e.token(t, b, "users:write", "rights:read")
	ga := createGroupFor(t, e, tokA, "Alfas gruppe")
	ua := e.user(t, a, "Anna", "Alfa")
	e.decode(t, e.do(t, http.MethodPut, "/api/v1/groups/"+ga.ID.String()+"/members/"+ua.ID.String(), tokA, nil, nil), http.StatusCreated, nil)
	gb := createGroupFor(t, e, tokB, "Betas gruppe")

	path := "/api/v1/groups/" + ga.ID.String()
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, path, nil}, {http.MethodPatch, path, map[string]any{"name": "Hacked"}}, {http.MethodDelete, path, nil},
		{http.MethodGet, path + "/members", nil}, {http.MethodGet, path + "/members/" + ua.ID.String(), nil},
		{http.MethodPut, path + "/members/" + ua.ID.String(), nil}, {http.MethodDelete, path + "/members/" + ua.ID.String(), nil},
		// A's user cannot be put into B's group either.
		{http.MethodPut, "/api/v1/groups/" + gb.ID.String() + "/members/" + ua.ID.String(), nil},
		{http.MethodGet, "/api/v1/groups/" + gb.ID.String() + "/members/" + ua.ID.String(), nil},
	} {
		e.problemOf(t, e.do(t, r.method, r.path, tokB, r.body, nil), http.StatusNotFound, domain.ENOTFOUND)
	}
	for _, q := range []string{"", "?q=Alfa"} {
		var page Page[groupJSON]
		e.decode(t, e.do(t, http.MethodGet, "/api/v1/groups"+q, tokB, nil, nil), http.StatusOK, &page)
		for _, g := range page.Items {
			if g.ID != gb.ID {
				t.Errorf("GET /groups%s by B: got %s (%s), want B's groups only", q, g.ID, g.Name)
			}
		}
	}
	if s := storedGroup(t, e, a.ID, ga.ID); s == nil || s.Name != "Alfas gruppe" || memberships(t, e, ga.ID) != 1 || memberships(t, e, gb.ID) != 0 {
		t.Errorf("after B's attempts: A's group %+v, want it unchanged with its one member and B's group empty", s)
	}
}
