package api

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// rightsFixture is demo-like data for the rights endpoints. Skatteværket
// (provider) publishes two IT systems: Moms with moms (substantial) and
// Sag with sag (KLE-constrained, group-assignable) and hemmelig (high);
// Lønservice (provider2) publishes løn. Jensen Byg (acme) has a production
// unit, Anna (moms directly, løn directly, an expired moms grant at the
// unit) and Bo (sag through the group Bogholderi, KLE 25.*). Hansen Auto
// (other) has Bent, who holds løn only.
type rightsFixture struct {
	env                 *testEnv
	provider, provider2 *domain.Organisation
	momsSystem, sagSys  *domain.ITSystem
	lønSystem           *domain.ITSystem
	moms, sag, hemmelig *domain.Privilege
	løn                 *domain.Privilege
	acme, other         *domain.Organisation
	unit                *domain.ProductionUnit
	anna, bo, bent      *domain.User
	group               *domain.Group
	annaMoms, annaLøn   *domain.Assignment
	annaExpired         *domain.Assignment
	groupSag            *domain.Assignment
}

func newRightsFixture(t testing.TB) *rightsFixture {
	t.Helper()
	env := newTestEnv(t)
	ctx := context.Background()
	f := &rightsFixture{env: env}
	f.provider = env.org(t, "", "Skatteværket")
	f.provider2 = env.org(t, "", "Lønservice A/S")
	f.acme = env.org(t, "", "Jensen Byg ApS")
	f.other = env.org(t, "", "Hansen Auto A/S")
	f.unit = &domain.ProductionUnit{OrgID: f.acme.ID, PNumber: fmt.Sprintf("10%08d", rand.IntN(100_000_000)), Name: "Værkstedet"}
	if err := env.Orgs.CreateProductionUnit(ctx, f.unit); err != nil {
		t.Fatal(err)
	}
	f.momsSystem = f.system(t, f.provider, "Moms")
	f.sagSys = f.system(t, f.provider, "Sag")
	f.lønSystem = f.system(t, f.provider2, "Løn")
	f.moms = f.privilege(t, f.momsSystem, "urn:dk:test:moms:indberet", "Indberet moms", domain.LoASubstantial)
	f.sag = f.privilege(t, f.sagSys, "urn:dk:test:sag:laes", "Læs sager", domain.LoASubstantial, domain.ConstraintKLE)
	f.hemmelig = f.privilege(t, f.sagSys, "urn:dk:test:sag:hemmelig", "Hemmelige sager", domain.LoAHigh)
	f.løn = f.privilege(t, f.lønSystem, "https://loen.example.dk/privilege/udbetal", "Udbetal løn", domain.LoALow)

	f.anna = env.user(t, f.acme, "Anna", "Andersen")
	f.bo = env.user(t, f.acme, "Bo", "Bertelsen")
	f.bent = env.user(t, f.other, "Bent", "Hansen")
	groups := postgres.NewGroupService(env.DB)
	f.group = &domain.Group{OrgID: f.acme.ID, Name: "Bogholderi"}
	if err := groups.CreateGroup(ctx, f.group); err != nil {
		t.Fatal(err)
	}
	if err := groups.AddGroupMember(ctx, &domain.GroupMember{OrgID: f.acme.ID, GroupID: f.group.ID, UserID: f.bo.ID, MemberOrgID: f.acme.ID}); err != nil {
		t.Fatal(err)
	}
	hourAgo := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	cvr := domain.Scope{Kind: domain.ScopeCVR, Value: f.acme.CVR}
	f.annaMoms = f.assign(t, &domain.Assignment{OrgID: f.acme.ID, PrivilegeID: f.moms.ID, UserID: &f.anna.ID, Scope: cvr, ValidFrom: &hourAgo})
	f.annaLøn = f.assign(t, &domain.Assignment{OrgID: f.acme.ID, PrivilegeID: f.løn.ID, UserID: &f.anna.ID, Scope: cvr})
	ended := hourAgo.Add(30 * time.Minute)
	longAgo := hourAgo.Add(-24 * time.Hour)
	f.annaExpired = f.assign(t, &domain.Assignment{OrgID: f.acme.ID, PrivilegeID: f.moms.ID, UserID: &f.anna.ID,
		Scope: domain.Scope{Kind: domain.ScopeP, Value: f.unit.PNumber}, ValidFrom: &longAgo, ValidTo: &ended})
	f.groupSag = f.assign(t, &domain.Assignment{OrgID: f.acme.ID, PrivilegeID: f.sag.ID, GroupID: &f.group.ID, Scope: cvr,
		ConstraintValues: map[string]string{domain.ConstraintKLE: "25.*"}})
	f.assign(t, &domain.Assignment{OrgID: f.other.ID, PrivilegeID: f.løn.ID, UserID: &f.bent.ID,
		Scope: domain.Scope{Kind: domain.ScopeCVR, Value: f.other.CVR}})
	return f
}

func (f *rightsFixture) system(t testing.TB, org *domain.Organisation, name string) *domain.ITSystem {
	t.Helper()
	s := &domain.ITSystem{OrgID: org.ID, Name: name}
	if err := f.env.Rights.CreateITSystem(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *rightsFixture) privilege(t testing.TB, sys *domain.ITSystem, uri, name, level string, types ...string) *domain.Privilege {
	t.Helper()
	p := &domain.Privilege{OrgID: sys.OrgID, ITSystemID: sys.ID, URI: uri, NameDA: name, NameEN: name + " (en)",
		MinLoA: level, GroupAssignable: true, ConstraintTypes: types}
	if err := f.env.Rights.PublishPrivilege(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *rightsFixture) assign(t testing.TB, a *domain.Assignment) *domain.Assignment {
	t.Helper()
	if err := f.env.Rights.CreateAssignment(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

// count is a number the database answers, for "nothing changed" checks.
func (f *rightsFixture) count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := f.env.DB.SQL().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// stateOf counts an organisation's assignments and audit events.
func (f *rightsFixture) stateOf(t testing.TB, org *domain.Organisation) [2]int {
	t.Helper()
	return [2]int{
		f.count(t, `SELECT count(*) FROM privilege_assignments WHERE org_id = $1`, org.ID),
		f.count(t, `SELECT count(*) FROM audit_events WHERE org_id = $1`, org.ID),
	}
}

func TestPrivilegeCatalogue(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	env := f.env
	tok := env.token(t, f.other, "rights:read")

	var page Page[privilegeJSON]
	env.decode(t, env.do(t, "GET", "/api/v1/privileges", tok, nil, nil), http.StatusOK, &page)
	var uris []string
	for _, p := range page.Items {
		uris = append(uris, p.URI)
	}
	want := []string{f.løn.URI, f.moms.URI, f.hemmelig.URI, f.sag.URI}
	if fmt.Sprint(uris) != fmt.Sprint(want) {
		t.Errorf("catalogue: got %v, want %v (by URI)", uris, want)
	}

	var sag privilegeJSON
	env.decode(t, env.do(t, "GET", "/api/v1/privileges/"+f.sag.ID.String(), tok, nil, nil), http.StatusOK, &sag)
	if sag.URI != f.sag.URI || sag.ITSystem.ID != f.sagSys.ID || sag.ITSystem.Name != "Sag" || sag.Provider.ID != f.provider.ID ||
		sag.Provider.CVR != f.provider.CVR || len(sag.ConstraintTypes) != 1 || sag.ConstraintTypes[0] != domain.ConstraintKLE || sag.MinLevel != "substantial" {
		t.Errorf("privilege: got %+v, want sag of Skatteværket's Sag with the KLE constraint", sag)
	}

	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"q=HEMMELIG", []string{f.hemmelig.URI}},
		{"q=" + url.QueryEscape("løn"), []string{f.løn.URI}},
		{"system=" + f.sagSys.ID.String(), []string{f.hemmelig.URI, f.sag.URI}},
		{"provider=" + f.provider2.ID.String(), []string{f.løn.URI}},
		{"status=retired", nil},
	} {
		var got Page[privilegeJSON]
		env.decode(t, env.do(t, "GET", "/api/v1/privileges?"+tt.query, tok, nil, nil), http.StatusOK, &got)
		var gotURIs []string
		for _, p := range got.Items {
			gotURIs = append(gotURIs, p.URI)
		}
		if fmt.Sprint(gotURIs) != fmt.Sprint(tt.want) {
			t.Errorf("?%s: got %v, want %v", tt.query, gotURIs, tt.want)
		}
	}

	// Pages of one, followed through next_cursor, give the whole catalogue.
	var paged []string
	path := "/api/v1/privileges?limit=1"
	for range 10 {
		var p Page[privilegeJSON]
		resp := env.do(t, "GET", path, tok, nil, nil)
		env.decode(t, resp, http.StatusOK, &p)
		for _, it := range p.Items {
			paged = append(paged, it.URI)
		}
		if p.NextCursor == "" {
			break
		}
		if resp.Header.Get("Link") == "" {
			t.Error("a page with next_cursor has no Link header")
		}
		path = "/api/v1/privileges?limit=1&cursor=" + url.QueryEscape(p.NextCursor)
	}
	if fmt.Sprint(paged) != fmt.Sprint(want) {
		t.Errorf("paged: got %v, want %v", paged, want)
	}
}

func TestPrivilegeCatalogueRefusals(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	env := f.env
	tok := env.token(t, f.acme, "decisions")
	for _, tt := range []struct {
		name, path, token string
		status            int
		code, field       string
	}{
		{"unknown privilege", "/api/v1/privileges/" + uuid.NewString(), tok, 404, "not_found", ""},
		{"malformed id", "/api/v1/privileges/moms", tok, 404, "not_found", ""},
		{"bad system", "/api/v1/privileges?system=moms", tok, 400, "invalid", "system"},
		{"bad provider", "/api/v1/privileges?provider=1", tok, 400, "invalid", "provider"},
		{"bad status", "/api/v1/privileges?status=gone", tok, 400, "invalid", "status"},
		{"bad cursor", "/api/v1/privileges?cursor=%21%21", tok, 400, "invalid", "cursor"},
		{"bad limit", "/api/v1/privileges?limit=0", tok, 400, "invalid", "limit"},
		{"long q", "/api/v1/privileges?q=" + strings.Repeat("a", 201), tok, 400, "invalid", "q"},
		{"missing scope", "/api/v1/privileges", env.token(t, f.acme, "users:read"), 403, "forbidden", ""},
		{"no token", "/api/v1/privileges", "", 401, "unauthenticated", ""},
		{"bad token", "/api/v1/privileges", "not-a-token", 401, "unauthenticated", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := env.problemOf(t, env.do(t, "GET", tt.path, tt.token, nil, nil), tt.status, tt.code)
			if tt.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tt.field) {
				t.Errorf("errors: got %+v, want one on %s", p.Errors, tt.field)
			}
		})
	}
}
