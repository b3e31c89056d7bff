package api

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// giveRole assigns a role directly in the database.
func giveRole(t testing.TB, e *testEnv, u *domain.User, role string) *domain.AdminRole {
	t.Helper()
	r := &domain.AdminRole{OrgID: u.OrgID, UserID: u.ID, Role: role}
	if err := postgres.NewAdminRoleService(e.DB).AssignAdminRole(context.Background(), r); err != nil {
		t.Fatalf("assign %s: %v", role, err)
	}
	return r
}

// rolesOf counts the roles of the organisation in the database.
func rolesOf(t testing.TB, e *testEnv, org *domain.Organisation) int {
	t.Helper()
	return apiCount(t, e, "SELECT count(*) FROM admin_roles WHERE org_id = $1", org.ID)
}

func TestRolesAssignListRemove(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	org := e.org(t, "", "Roller ApS")
	tok := e.token(t, org, "roles:write")
	unit := &domain.ProductionUnit{OrgID: org.ID, PNumber: "1" + org.CVR + "4", Name: "Filial"}
	if err := e.Orgs.CreateProductionUnit(context.Background(), unit); err != nil {
		t.Fatal(err)
	}
	u := e.user(t, org, "Rikke", "Rolle")
	boss := e.user(t, org, "Bente", "Boss")
	bossRole := giveRole(t, e, boss, domain.RoleOrgAdmin)
	base := "/api/v1/users/" + u.ID.String() + "/roles"

	from, to := time.Now().Add(-time.Hour).UTC().Truncate(time.Second), time.Now().Add(30*24*time.Hour).UTC().Truncate(time.Second)
	resp := e.do(t, http.MethodPost, base, tok, map[string]any{"role": "user_admin", "production_unit_id": unit.ID.String(),
		"valid_from": from.Format(time.RFC3339), "valid_to": to.Format(time.RFC3339)}, nil)
	var r roleJSON
	e.decode(t, resp, http.StatusCreated, &r)
	if r.Role != domain.RoleUserAdmin || r.UserID != u.ID || r.ProductionUnitID == nil || *r.ProductionUnitID != unit.ID ||
		!r.Active || r.ValidFrom == nil || !r.ValidFrom.Equal(from) || r.ValidTo == nil || !r.ValidTo.Equal(to) {
		t.Errorf("assigned role: got %+v", r)
	}
	if got, want := resp.Header.Get("Location"), base+"/"+r.ID.String(); got != want {
		t.Errorf("Location: got %q, want %q", got, want)
	}
	if n := auditedByClient(t, e, org, "admin_role.assigned", r.ID.String()); n != 1 {
		t.Errorf("admin_role.assigned by the client: got %d, want 1", n)
	}
	if m := sentMails(e); len(m) != 1 || m[0].Template != "admin_role_assigned" || m[0].Lang != "da" || m[0].To != u.Email {
		t.Errorf("mails: got %+v, want one Danish role mail to %s", m, u.Email)
	}
	var future roleJSON
	e.decode(t, e.do(t, http.MethodPost, base, tok, map[string]any{"role": "rights_admin",
		"valid_from": time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)}, nil), http.StatusCreated, &future)
	if future.Active {
		t.Errorf("a role from the day after tomorrow: active now")
	}
	var admin roleJSON
	e.decode(t, e.do(t, http.MethodPost, base, tok, map[string]any{"role": "org_admin"}, nil), http.StatusCreated, &admin)

	var list Page[roleJSON]
	e.decode(t, e.do(t, http.MethodGet, base, tok, nil, nil), http.StatusOK, &list)
	if len(list.Items) != 3 {
		t.Errorf("roles: got %+v, want 3", list.Items)
	}
	var one roleJSON
	e.decode(t, e.do(t, http.MethodGet, base+"/"+r.ID.String(), tok, nil, nil), http.StatusOK, &one)
	if one.ID != r.ID {
		t.Errorf("GET role: got %+v, want %s", one, r.ID)
	}

	// With two organisation administrators one may go; the last one stays.
	e.decode(t, e.do(t, http.MethodDelete, "/api/v1/users/"+boss.ID.String()+"/roles/"+bossRole.ID.String(), tok, nil, nil), http.StatusNoContent, nil)
	p := e.problemOf(t, e.do(t, http.MethodDelete, base+"/"+admin.ID.String(), tok, nil, nil), http.StatusConflict, domain.ECONFLICT)
	if !strings.Contains(p.Detail, "last active organisation administrator") {
		t.Errorf("last administrator: detail %q, want it to say so", p.Detail)
	}
	if n := apiCount(t, e, "SELECT count(*) FROM admin_roles WHERE id = $1", admin.ID); n != 1 {
		t.Errorf("the last organisation administrator's role: %d rows, want 1", n)
	}
	e.decode(t, e.do(t, http.MethodDelete, base+"/"+r.ID.String(), tok, nil, nil), http.StatusNoContent, nil)
	e.problemOf(t, e.do(t, http.MethodGet, base+"/"+r.ID.String(), tok, nil, nil), http.StatusNotFound, domain.ENOTFOUND)
	if n := auditedByClient(t, e, org, "admin_role.removed", r.ID.String()); n != 1 {
		t.Errorf("admin_role.removed by the client: got %d, want 1", n)
	}
}

func TestRoleRefusals(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	org := e.org(t, "", "Ingen Roller ApS")
	other := e.org(t, "", "Fremmede Roller ApS")
	tok := e.token(t, org, "roles:write")
	u := e.user(t, org, "Rasmus", "Rolleløs")
	held := giveRole(t, e, u, domain.RoleRightsAdmin)
	colleague := e.user(t, org, "Kollega", "Kollegasen")
	theirs := giveRole(t, e, colleague, domain.RoleUserAdmin)
	foreignUnit := &domain.ProductionUnit{OrgID: other.ID, PNumber: "1" + other.CVR + "5", Name: "Fremmed"}
	if err := e.Orgs.CreateProductionUnit(context.Background(), foreignUnit); err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/users/" + u.ID.String() + "/roles"
	before := rolesOf(t, e, org)
	for _, r := range append(badBodies(map[string]any{"role": "user_admin"}),
		refusal{name: "wrong type", body: `{"role": 5}`, status: http.StatusBadRequest, code: domain.EINVALID, field: "/role"},
		refusal{name: "unknown role", body: `{"role": "king"}`, status: http.StatusBadRequest, code: domain.EINVALID, field: "/role"},
		refusal{name: "organisation administrator of a unit", body: map[string]any{"role": "org_admin", "production_unit_id": uuid.NewString()},
			status: http.StatusBadRequest, code: domain.EINVALID, field: "/production_unit_id"},
		refusal{name: "another organisation's unit", body: map[string]any{"role": "user_admin", "production_unit_id": foreignUnit.ID.String()},
			status: http.StatusBadRequest, code: domain.EINVALID, field: "/production_unit_id"},
		refusal{name: "period backwards", body: `{"role": "user_admin", "valid_from": "2030-01-02T00:00:00Z", "valid_to": "2030-01-01T00:00:00Z"}`,
			status: http.StatusBadRequest, code: domain.EINVALID, field: "/valid_to"},
		refusal{name: "not a time", body: `{"role": "user_admin", "valid_from": "tomorrow"}`, status: http.StatusBadRequest, code: domain.EINVALID, field: "/valid_from"},
		refusal{name: "held already", body: `{"role": "rights_admin"}`, status: http.StatusConflict, code: domain.ECONFLICT},
	) {
		checkRefusal(t, e, http.MethodPost, base, tok, r)
		if n := rolesOf(t, e, org); n != before {
			t.Fatalf("%s: %d roles, want %d (nothing assigned)", r.name, n, before)
		}
	}

	// Someone else's role through this user's path, and unknown ids.
	for _, id := range []string{theirs.ID.String(), uuid.NewString(), "nope"} {
		e.problemOf(t, e.do(t, http.MethodGet, base+"/"+id, tok, nil, nil), http.StatusNotFound, domain.ENOTFOUND)
		e.problemOf(t, e.do(t, http.MethodDelete, base+"/"+id, tok, nil, nil), http.StatusNotFound, domain.ENOTFOUND)
	}
	gone := e.user(t, org, "Gone", "Away")
	if err := e.Users.SetUserStatus(context.Background(), org.ID, gone.ID, gone.Version, domain.UserDeleted); err != nil {
		t.Fatal(err)
	}
	e.problemOf(t, e.do(t, http.MethodPost, "/api/v1/users/"+gone.ID.String()+"/roles", tok, map[string]any{"role": "user_admin"}, nil),
		http.StatusNotFound, domain.ENOTFOUND)

	// Scopes and tokens: users:write does not give roles; rights:read does not read them.
	writer := e.token(t, org, "users:write")
	e.problemOf(t, e.do(t, http.MethodPost, base, writer, map[string]any{"role": "user_admin"}, nil), http.StatusForbidden, domain.EFORBIDDEN)
	e.problemOf(t, e.do(t, http.MethodDelete, base+"/"+held.ID.String(), writer, nil, nil), http.StatusForbidden, domain.EFORBIDDEN)
	e.decode(t, e.do(t, http.MethodGet, base, writer, nil, nil), http.StatusOK, nil)
	e.problemOf(t, e.do(t, http.MethodGet, base, e.token(t, org, "rights:read"), nil, nil), http.StatusForbidden, domain.EFORBIDDEN)
	for _, bad := range []string{expiredToken(t, e, org, "roles:write"), forgedToken(t, e, org, "roles:write")} {
		e.problemOf(t, e.do(t, http.MethodGet, base, bad, nil, nil), http.StatusUnauthorized, domain.EUNAUTHENTICATED)
		e.problemOf(t, e.do(t, http.MethodDelete, base+"/"+held.ID.String(), bad, nil, nil), http.StatusUnauthorized, domain.EUNAUTHENTICATED)
	}
	if n := rolesOf(t, e, org); n != before {
		t.Errorf("after refusals: %d roles, want %d", n, before)
	}

	// Idempotency-Key.
	key := http.Header{"Idempotency-Key": {"role-1"}}
	first := e.do(t, http.MethodPost, base, tok, map[string]any{"role": "user_admin"}, key)
	e.decode(t, first, http.StatusCreated, nil)
	again := e.do(t, http.MethodPost, base, tok, map[string]any{"role": "user_admin"}, key)
	e.decode(t, again, http.StatusCreated, nil)
	if mustBody(t, first) != mustBody(t, again) || again.Header.Get("Location") != first.Header.Get("Location") {
		t.Errorf("replay: got %s, want %s", mustBody(t, again), mustBody(t, first))
	}
	e.problemOf(t, e.do(t, http.MethodPost, base, tok, map[string]any{"role": "org_admin"}, key), http.StatusUnprocessableEntity, CodeIdempotencyReused)
	if n := rolesOf(t, e, org); n != before+1 {
		t.Errorf("after a replay and a reused key: %d roles, want %d", n, before+1)
	}
}

func TestRolesTenantIsolation(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	a := e.org(t, "", "Alfa Roller A/S")
	b := e.org(t, "", "Beta Roller A/S")
	ua := e.user(t, a, "Anna", "Alfa")
	ra := giveRole(t, e, ua, domain.RoleOrgAdmin)
	ub := e.user(t, b, "Bent", "Beta")
	tokB := e.token(t, b, "roles:write", "users:write")
	before := rolesOf(t, e, a)
	pathA := "/api/v1/users/" + ua.ID.String() + "/roles"
	pathB := "/api/v1/users/" + ub.ID.String() + "/roles"
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, pathA, nil}, {http.MethodPost, pathA, map[string]any{"role": "user_admin"}},
		{http.MethodGet, pathA + "/" + ra.ID.String(), nil}, {http.MethodDelete, pathA + "/" + ra.ID.String(), nil},
		// A's role id through B's own user.
		{http.MethodGet, pathB + "/" + ra.ID.String(), nil}, {http.MethodDelete, pathB + "/" + ra.ID.String(), nil},
	} {
		e.problemOf(t, e.do(t, r.method, r.path, tokB, r.body, nil), http.StatusNotFound, domain.ENOTFOUND)
	}
	var list Page[roleJSON]
	e.decode(t, e.do(t, http.MethodGet, pathB, tokB, nil, nil), http.StatusOK, &list)
	if len(list.Items) != 0 {
		t.Errorf("B's user's roles: got %+v, want none", list.Items)
	}
	if n := rolesOf(t, e, a); n != before {
		t.Errorf("A's roles after B's attempts: %d, want %d", n, before)
	}
}
