package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/dbtest"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// rightsFixture is a service provider with one IT system and a customer with
// two production units, an SE-number and a few employees.
type rightsFixture struct {
	db       *postgres.DB
	rights   *postgres.RightsService
	groups   *postgres.GroupService
	provider *fixture
	customer *fixture
	other    *domain.ProductionUnit // the customer's second unit
	se       *domain.SENumber
	system   *domain.ITSystem
	actor    postgres.Actor
}

func newRightsFixture(t *testing.T) *rightsFixture {
	t.Helper()
	db := dbtest.New(t)
	f := &rightsFixture{db: db, rights: postgres.NewRightsService(db), groups: postgres.NewGroupService(db),
		provider: fixtureOn(t, db, "10000009", "1000000001"), customer: fixtureOn(t, db, "10000017", "1000000002")}
	ctx := context.Background()
	f.other = &domain.ProductionUnit{OrgID: f.customer.org.ID, PNumber: "1000000003", Name: "Filial"}
	if err := f.customer.orgs.CreateProductionUnit(ctx, f.other); err != nil {
		t.Fatal(err)
	}
	f.se = &domain.SENumber{OrgID: f.customer.org.ID, SENumber: "20000001", Name: "Løn"}
	if err := f.customer.orgs.CreateSENumber(ctx, f.se); err != nil {
		t.Fatal(err)
	}
	admin := f.provider.user(t, "henrik", "")
	f.actor = postgres.Actor{UserID: admin.ID, Label: "Henrik Jensen", RequestID: "req-1"}
	f.system = &domain.ITSystem{OrgID: f.provider.org.ID, Name: "Sagssystem", Description: "Sager"}
	if err := f.rights.RegisterITSystem(ctx, f.actor, f.system); err != nil {
		t.Fatalf("RegisterITSystem: %v", err)
	}
	return f
}

// publish publishes a privilege of the fixture's system.
func (f *rightsFixture) publish(t *testing.T, uri string, mod func(p *domain.Privilege)) *domain.Privilege {
	t.Helper()
	p := &domain.Privilege{OrgID: f.provider.org.ID, ITSystemID: f.system.ID, URI: uri, NameDA: "Læs " + uri, NameEN: "Read " + uri,
		MinLoA: domain.LoASubstantial, GroupAssignable: true}
	if mod != nil {
		mod(p)
	}
	if err := f.rights.PublishOwnPrivilege(context.Background(), f.actor, p); err != nil {
		t.Fatalf("PublishOwnPrivilege(%s): %v", uri, err)
	}
	return p
}

// count runs a count query.
func (f *rightsFixture) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.SQL().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *rightsFixture) audits(t *testing.T, org *domain.Organisation, action string) int {
	t.Helper()
	return f.count(t, "SELECT count(*) FROM audit_events WHERE org_id = $1 AND action = $2", org.ID, action)
}

func (f *rightsFixture) assignments(t *testing.T) int {
	t.Helper()
	return f.count(t, "SELECT count(*) FROM privilege_assignments")
}

func cvrScope(o *domain.Organisation) domain.Scope {
	return domain.Scope{Kind: domain.ScopeCVR, Value: o.CVR}
}

func TestITSystemsAndPrivilegesBelongToTheirProvider(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	ctx := context.Background()
	if got := f.audits(t, f.provider.org, "itsystem.created"); got != 1 {
		t.Errorf("itsystem.created events: got %d, want 1", got)
	}
	wantCode(t, "same name, other case", f.rights.RegisterITSystem(ctx, f.actor, &domain.ITSystem{OrgID: f.provider.org.ID, Name: "SAGSSYSTEM"}), domain.ECONFLICT)
	wantCode(t, "empty name", f.rights.RegisterITSystem(ctx, f.actor, &domain.ITSystem{OrgID: f.provider.org.ID, Name: "  "}), domain.EINVALID)
	if err := f.rights.RegisterITSystem(ctx, f.actor, &domain.ITSystem{OrgID: f.customer.org.ID, Name: "Sagssystem"}); err != nil {
		t.Errorf("another organisation may use the same name: %v", err)
	}

	// Refusals leave nothing behind.
	bad := []struct {
		name  string
		p     domain.Privilege
		code  string
		field string
	}{
		{"URI with spaces", domain.Privilege{URI: "urn:dk:test:læs sager", NameDA: "x", NameEN: "x", MinLoA: "low"}, domain.EINVALID, "uri"},
		{"no names", domain.Privilege{URI: "urn:dk:test:a", MinLoA: "low"}, domain.EINVALID, "name_da"},
		{"unknown level", domain.Privilege{URI: "urn:dk:test:b", NameDA: "x", NameEN: "x", MinLoA: "medium"}, domain.EINVALID, "min_loa"},
		{"constraint type not a URI", domain.Privilege{URI: "urn:dk:test:c", NameDA: "x", NameEN: "x", MinLoA: "low", ConstraintTypes: []string{"KLE"}}, domain.EINVALID, "constraint_types"},
		{"long description", domain.Privilege{URI: "urn:dk:test:d", NameDA: "x", NameEN: "x", MinLoA: "low", DescriptionEN: strings.Repeat("x", 2001)}, domain.EINVALID, "description_en"},
	}
	for _, c := range bad {
		p := c.p
		p.OrgID, p.ITSystemID = f.provider.org.ID, f.system.ID
		err := f.rights.PublishOwnPrivilege(ctx, f.actor, &p)
		wantCode(t, c.name, err, c.code)
		if got := domain.ErrorField(err); got != c.field {
			t.Errorf("%s: got field %q, want %q", c.name, got, c.field)
		}
	}
	if n := f.count(t, "SELECT count(*) FROM privileges"); n != 0 {
		t.Fatalf("after refusals: got %d privileges, want 0", n)
	}

	p := f.publish(t, "urn:dk:test:sag:laes", func(p *domain.Privilege) {
		p.ConstraintTypes = []string{domain.ConstraintKLE, " ", domain.ConstraintKLE}
	})
	if len(p.ConstraintTypes) != 1 || p.Status != "active" {
		t.Errorf("published: constraint types %v status %q, want one KLE type, active", p.ConstraintTypes, p.Status)
	}
	dup := &domain.Privilege{OrgID: f.customer.org.ID, URI: p.URI, NameDA: "x", NameEN: "x", MinLoA: "low"}
	customerSys := &domain.ITSystem{OrgID: f.customer.org.ID, Name: "Eget system"}
	if err := f.rights.RegisterITSystem(ctx, f.actor, customerSys); err != nil {
		t.Fatal(err)
	}
	dup.ITSystemID = customerSys.ID
	wantCode(t, "a URI another provider published", f.rights.PublishOwnPrivilege(ctx, f.actor, dup), domain.ECONFLICT)
	// The customer cannot publish for the provider's system, nor edit its privilege.
	theirs := &domain.Privilege{OrgID: f.customer.org.ID, ITSystemID: f.system.ID, URI: "urn:dk:test:snyd", NameDA: "x", NameEN: "x", MinLoA: "low"}
	wantCode(t, "publishing on another provider's system", f.rights.PublishOwnPrivilege(ctx, f.actor, theirs), domain.ENOTFOUND)
	edit := *p
	edit.OrgID = f.customer.org.ID
	wantCode(t, "editing another provider's privilege", f.rights.UpdatePrivilege(ctx, f.actor, &edit), domain.ENOTFOUND)
	wantCode(t, "editing another provider's system", f.rights.UpdateITSystem(ctx, f.actor, &domain.ITSystem{ID: f.system.ID, OrgID: f.customer.org.ID, Name: "x", Status: "active"}), domain.ENOTFOUND)
	if _, err := f.rights.FindITSystem(ctx, f.customer.org.ID, f.system.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("customer finding the provider's system: got %v, want not found", err)
	}

	// The URI never changes; the rest may.
	edit = *p
	edit.URI = "urn:dk:test:sag:andet"
	wantCode(t, "changing the URI", f.rights.UpdatePrivilege(ctx, f.actor, &edit), domain.EINVALID)
	edit = *p
	edit.URI, edit.NameEN, edit.MinLoA, edit.NeedsApproval = "", "Read cases", domain.LoAHigh, true
	if err := f.rights.UpdatePrivilege(ctx, f.actor, &edit); err != nil {
		t.Fatalf("UpdatePrivilege: %v", err)
	}
	got, err := f.rights.FindOwnPrivilege(ctx, f.provider.org.ID, p.ID)
	if err != nil || got.URI != p.URI || got.NameEN != "Read cases" || got.MinLoA != domain.LoAHigh || !got.NeedsApproval {
		t.Errorf("after update: %+v (%v)", got, err)
	}

	// A constraint type in use stays; so does group-assignable while a group holds it.
	u := f.customer.user(t, "dorte", "")
	g := &domain.Group{OrgID: f.customer.org.ID, Name: "Sagsbehandlere"}
	if err := f.groups.CreateGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	if _, err := f.rights.CreateAssignments(ctx, f.actor, postgres.NewAssignments{OrgID: f.customer.org.ID, PrivilegeID: p.ID, UserIDs: []uuid.UUID{u.ID},
		Scope: cvrScope(f.customer.org), ConstraintValues: map[string]string{domain.ConstraintKLE: "25.*"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.rights.CreateAssignments(ctx, f.actor, postgres.NewAssignments{OrgID: f.customer.org.ID, PrivilegeID: p.ID, GroupID: &g.ID,
		Scope: cvrScope(f.customer.org)}); err != nil {
		t.Fatal(err)
	}
	edit = *got
	edit.ConstraintTypes, edit.GroupAssignable = nil, false
	err = f.rights.UpdatePrivilege(ctx, f.actor, &edit)
	wantCode(t, "removing a constraint type in use", err, domain.EINVALID)
	if fields := err.(domain.ValidationErrors).Fields(); fields["constraint_types"] == nil || fields["group_assignable"] == nil {
		t.Errorf("refusal names %v, want constraint_types and group_assignable", fields)
	}
	if again, _ := f.rights.FindOwnPrivilege(ctx, f.provider.org.ID, p.ID); len(again.ConstraintTypes) != 1 || !again.GroupAssignable {
		t.Errorf("a refused update changed the privilege: %+v", again)
	}

	// Retiring the system retires its privileges; a retired system's privilege cannot be made active.
	sys := *f.system
	sys.Status = "retired"
	if err := f.rights.UpdateITSystem(ctx, f.actor, &sys); err != nil {
		t.Fatal(err)
	}
	if again, _ := f.rights.FindOwnPrivilege(ctx, f.provider.org.ID, p.ID); again.Status != "retired" {
		t.Errorf("privilege of a retired system: status %q, want retired", again.Status)
	}
	edit = *got
	edit.Status = "active"
	wantCode(t, "reactivating a privilege of a retired system", f.rights.UpdatePrivilege(ctx, f.actor, &edit), domain.EINVALID)
	late := &domain.Privilege{OrgID: f.provider.org.ID, ITSystemID: f.system.ID, URI: "urn:dk:test:sen", NameDA: "x", NameEN: "x", MinLoA: "low"}
	wantCode(t, "publishing on a retired system", f.rights.PublishOwnPrivilege(ctx, f.actor, late), domain.EINVALID)

	for action, want := range map[string]int{"itsystem.created": 1, "itsystem.updated": 1, "privilege.published": 1, "privilege.updated": 1} {
		if got := f.audits(t, f.provider.org, action); got != want {
			t.Errorf("%s events of the provider: got %d, want %d", action, got, want)
		}
	}
	list, err := f.rights.ListITSystems(ctx, f.provider.org.ID)
	if err != nil || len(list) != 1 || list[0].Privileges != 1 || list[0].ActivePrivileges != 0 {
		t.Errorf("ListITSystems: %+v (%v), want the one system with one retired privilege", list, err)
	}
}

func TestCatalogueSearch(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	ctx := context.Background()
	f.publish(t, "urn:dk:test:moms:indberet", func(p *domain.Privilege) { p.NameDA, p.NameEN = "Indberet moms", "File VAT" })
	f.publish(t, "urn:dk:test:moms:laes", func(p *domain.Privilege) { p.GroupAssignable = false })
	old := f.publish(t, "urn:dk:test:gammel", nil)
	retire := *old
	retire.Status = "retired"
	if err := f.rights.UpdatePrivilege(ctx, f.actor, &retire); err != nil {
		t.Fatal(err)
	}
	other := &domain.ITSystem{OrgID: f.customer.org.ID, Name: "Kundens system"}
	if err := f.rights.RegisterITSystem(ctx, f.actor, other); err != nil {
		t.Fatal(err)
	}
	if err := f.rights.PublishOwnPrivilege(ctx, f.actor, &domain.Privilege{OrgID: f.customer.org.ID, ITSystemID: other.ID, URI: "urn:dk:kunde:x",
		NameDA: "Kundens ret", NameEN: "Customer's right", MinLoA: "low"}); err != nil {
		t.Fatal(err)
	}
	uris := func(f postgres.PrivilegeFilter, s *postgres.RightsService) string {
		t.Helper()
		es, _, err := s.SearchPrivileges(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, e.Privilege.URI)
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct {
		name   string
		filter postgres.PrivilegeFilter
		want   string
	}{
		{"everything active", postgres.PrivilegeFilter{}, "urn:dk:kunde:x urn:dk:test:moms:indberet urn:dk:test:moms:laes"},
		{"by Danish name", postgres.PrivilegeFilter{Query: "INDBERET"}, "urn:dk:test:moms:indberet"},
		{"by English name", postgres.PrivilegeFilter{Query: "customer"}, "urn:dk:kunde:x"},
		{"by system name", postgres.PrivilegeFilter{Query: "sagssys"}, "urn:dk:test:moms:indberet urn:dk:test:moms:laes"},
		{"a LIKE wildcard is a character", postgres.PrivilegeFilter{Query: "%"}, ""},
		{"by provider", postgres.PrivilegeFilter{ProviderID: &f.customer.org.ID}, "urn:dk:kunde:x"},
		{"by system", postgres.PrivilegeFilter{SystemID: &f.system.ID, Status: postgres.CatalogueAll}, "urn:dk:test:gammel urn:dk:test:moms:indberet urn:dk:test:moms:laes"},
		{"retired", postgres.PrivilegeFilter{Status: postgres.CatalogueRetired}, "urn:dk:test:gammel"},
		{"group-assignable", postgres.PrivilegeFilter{GroupAssignable: true, SystemID: &f.system.ID}, "urn:dk:test:moms:indberet"},
	} {
		if got := uris(c.filter, f.rights); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
	page, more, err := f.rights.SearchPrivileges(ctx, postgres.PrivilegeFilter{Limit: 2})
	if err != nil || len(page) != 2 || !more {
		t.Fatalf("first page: %d more=%v (%v)", len(page), more, err)
	}
	if page[0].ProviderName != f.customer.org.Name || page[1].SystemName != "Sagssystem" || page[1].ProviderCVR != f.provider.org.CVR {
		t.Errorf("names on the page: %+v", page)
	}
	if got := uris(postgres.PrivilegeFilter{After: page[1].Privilege.URI}, f.rights); got != "urn:dk:test:moms:laes" {
		t.Errorf("second page: %q", got)
	}
	if _, _, err := f.rights.SearchPrivileges(ctx, postgres.PrivilegeFilter{Status: "gone"}); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("unknown status: %v", err)
	}
	e, err := f.rights.FindCatalogueEntry(ctx, old.ID)
	if err != nil || e.Privilege.Status != "retired" || e.ProviderName != f.provider.org.Name {
		t.Errorf("FindCatalogueEntry: %+v (%v)", e, err)
	}
	systems, err := f.rights.ListCatalogueSystems(ctx)
	if err != nil || len(systems) != 2 {
		t.Errorf("ListCatalogueSystems: %+v (%v), want the two systems with privileges", systems, err)
	}
}

func TestAssignmentsAreAllOrNothing(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	ctx := context.Background()
	kle := f.publish(t, "urn:dk:test:sag:kle", func(p *domain.Privilege) {
		p.ConstraintTypes, p.GroupAssignable = []string{domain.ConstraintKLE, domain.ConstraintPNumber}, false
	})
	plain := f.publish(t, "urn:dk:test:sag:laes", nil)
	retired := f.publish(t, "urn:dk:test:sag:gammel", nil)
	r := *retired
	r.Status = "retired"
	if err := f.rights.UpdatePrivilege(ctx, f.actor, &r); err != nil {
		t.Fatal(err)
	}
	org := f.customer.org
	anna, bo := f.customer.user(t, "anna", ""), f.customer.user(t, "bo", "")
	stranger := f.provider.user(t, "fremmed", "")
	restricted := &domain.Group{OrgID: org.ID, Name: "Filialen", ProductionUnitID: &f.other.ID}
	seGroup := &domain.Group{OrgID: org.ID, Name: "Lønnen", SENumberID: &f.se.ID}
	for _, g := range []*domain.Group{restricted, seGroup} {
		if err := f.groups.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	yesterday, tomorrow := time.Now().Add(-24*time.Hour), time.Now().Add(24*time.Hour)
	nextWeek := time.Now().Add(7 * 24 * time.Hour)
	pScope := domain.Scope{Kind: domain.ScopeP, Value: f.customer.unit.PNumber}
	users := []uuid.UUID{anna.ID, bo.ID}
	refusals := []struct {
		name  string
		n     postgres.NewAssignments
		code  string
		field string
	}{
		{"KLE value of the wrong format", postgres.NewAssignments{PrivilegeID: kle.ID, UserIDs: users, Scope: cvrScope(org),
			ConstraintValues: map[string]string{domain.ConstraintKLE: "25.2"}}, domain.EINVALID, "constraint:" + domain.ConstraintKLE},
		{"P-number constraint of the wrong type", postgres.NewAssignments{PrivilegeID: kle.ID, UserIDs: users, Scope: cvrScope(org),
			ConstraintValues: map[string]string{domain.ConstraintPNumber: "12345"}}, domain.EINVALID, "constraint:" + domain.ConstraintPNumber},
		{"undeclared constraint", postgres.NewAssignments{PrivilegeID: plain.ID, UserIDs: users, Scope: cvrScope(org),
			ConstraintValues: map[string]string{domain.ConstraintKLE: "25"}}, domain.EINVALID, "constraint:" + domain.ConstraintKLE},
		{"scope of another organisation", postgres.NewAssignments{PrivilegeID: plain.ID, UserIDs: users,
			Scope: domain.Scope{Kind: domain.ScopeP, Value: f.provider.unit.PNumber}}, domain.EINVALID, "scope"},
		{"another organisation's CVR", postgres.NewAssignments{PrivilegeID: plain.ID, UserIDs: users, Scope: cvrScope(f.provider.org)}, domain.EINVALID, "scope"},
		{"malformed scope", postgres.NewAssignments{PrivilegeID: plain.ID, UserIDs: users, Scope: domain.Scope{Kind: domain.ScopeP, Value: "12"}}, domain.EINVALID, "scope"},
		{"end before start", postgres.NewAssignments{PrivilegeID: plain.ID, UserIDs: users, Scope: cvrScope(org), ValidFrom: &nextWeek, ValidTo: &tomorrow}, domain.EINVALID, "valid_to"},
		{"end has passed", postgres.NewAssignments{PrivilegeID: plain.ID, UserIDs: users, Scope: cvrScope(org), ValidTo: &yesterday}, domain.EINVALID, "valid_to"},
		{"retired privilege", postgres.NewAssignments{PrivilegeID: retired.ID, UserIDs: users, Scope: cvrScope(org)}, domain.EINVALID, "privilege"},
		{"user-only privilege to a group", postgres.NewAssignments{PrivilegeID: kle.ID, GroupID: &restricted.ID,
			Scope: domain.Scope{Kind: domain.ScopeP, Value: f.other.PNumber}}, domain.EINVALID, "group"},
		{"group restricted to another P-number", postgres.NewAssignments{PrivilegeID: plain.ID, GroupID: &restricted.ID, Scope: pScope}, domain.EINVALID, "scope"},
		{"group restricted to P-number, whole CVR", postgres.NewAssignments{PrivilegeID: plain.ID, GroupID: &restricted.ID, Scope: cvrScope(org)}, domain.EINVALID, "scope"},
		{"group restricted to an SE-number", postgres.NewAssignments{PrivilegeID: plain.ID, GroupID: &seGroup.ID, Scope: pScope}, domain.EINVALID, "scope"},
		{"one user of another organisation", postgres.NewAssignments{PrivilegeID: plain.ID, UserIDs: []uuid.UUID{anna.ID, stranger.ID, bo.ID},
			Scope: cvrScope(org)}, domain.ENOTFOUND, "user:" + stranger.ID.String()},
		{"users and a group", postgres.NewAssignments{PrivilegeID: plain.ID, UserIDs: users, GroupID: &restricted.ID, Scope: cvrScope(org)}, domain.EINVALID, "users"},
		{"no holder", postgres.NewAssignments{PrivilegeID: plain.ID, Scope: cvrScope(org)}, domain.EINVALID, "users"},
		{"unknown privilege", postgres.NewAssignments{PrivilegeID: uuid.New(), UserIDs: users, Scope: cvrScope(org)}, domain.ENOTFOUND, "privilege"},
	}
	for _, c := range refusals {
		c.n.OrgID = org.ID
		out, err := f.rights.CreateAssignments(ctx, f.actor, c.n)
		wantCode(t, c.name, err, c.code)
		found := false
		if ve, ok := err.(domain.ValidationErrors); ok {
			found = ve.Fields()[c.field] != nil
		} else {
			found = domain.ErrorField(err) == c.field
		}
		if !found {
			t.Errorf("%s: got %v, want an error about %q", c.name, err, c.field)
		}
		if out != nil {
			t.Errorf("%s: got %d assignments back from a refusal", c.name, len(out))
		}
	}
	if n := f.assignments(t); n != 0 {
		t.Fatalf("after refusals: got %d assignments, want none", n)
	}
	if n := f.audits(t, org, "assignment.created"); n != 0 {
		t.Fatalf("after refusals: got %d audit events, want none", n)
	}

	// Every problem at once: the form can show them all.
	_, err := f.rights.CreateAssignments(ctx, f.actor, postgres.NewAssignments{OrgID: org.ID, PrivilegeID: kle.ID, UserIDs: []uuid.UUID{anna.ID, stranger.ID},
		Scope: cvrScope(f.provider.org), ConstraintValues: map[string]string{domain.ConstraintKLE: "x"}, ValidTo: &yesterday})
	if ve, ok := err.(domain.ValidationErrors); !ok || len(ve) != 4 {
		t.Errorf("several problems: got %v, want four (constraint, scope, end date, the stranger)", err)
	}

	// Two users at once, with a P-number scope, a KLE value and a period.
	out, err := f.rights.CreateAssignments(ctx, f.actor, postgres.NewAssignments{OrgID: org.ID, PrivilegeID: kle.ID, UserIDs: []uuid.UUID{anna.ID, bo.ID, anna.ID},
		Scope: pScope, ConstraintValues: map[string]string{domain.ConstraintKLE: "25.02.*"}, ValidFrom: &tomorrow, ValidTo: &nextWeek})
	if err != nil || len(out) != 2 {
		t.Fatalf("CreateAssignments: %d (%v), want 2", len(out), err)
	}
	if a := out[0]; a.GrantedBy == nil || *a.GrantedBy != f.actor.UserID || a.ConstraintValues[domain.ConstraintKLE] != "25.02.*" || a.ValidTo == nil {
		t.Errorf("stored: %+v", a)
	}
	if n := f.audits(t, org, "assignment.created"); n != 2 {
		t.Errorf("audit events: got %d, want 2", n)
	}
	if n := f.audits(t, f.provider.org, "assignment.created"); n != 0 {
		t.Errorf("the provider's log got %d assignment events, want none", n)
	}
	// The same again is a conflict for Anna and Bo, and nothing for the new one.
	carl := f.customer.user(t, "carl", "")
	_, err = f.rights.CreateAssignments(ctx, f.actor, postgres.NewAssignments{OrgID: org.ID, PrivilegeID: kle.ID, UserIDs: []uuid.UUID{carl.ID, anna.ID},
		Scope: pScope, ConstraintValues: map[string]string{domain.ConstraintKLE: "25.02.*"}})
	wantCode(t, "already holding it", err, domain.ECONFLICT)
	if f.count(t, "SELECT count(*) FROM privilege_assignments WHERE user_id = $1", carl.ID) != 0 {
		t.Error("a refused batch stored Carl's assignment")
	}
	// Another scope is another grant.
	if _, err := f.rights.CreateAssignments(ctx, f.actor, postgres.NewAssignments{OrgID: org.ID, PrivilegeID: kle.ID, UserIDs: []uuid.UUID{anna.ID},
		Scope: cvrScope(org)}); err != nil {
		t.Errorf("the same privilege for the whole CVR: %v", err)
	}
	// A restricted group takes its own unit; an SE group its SE-number.
	if _, err := f.rights.CreateAssignments(ctx, f.actor, postgres.NewAssignments{OrgID: org.ID, PrivilegeID: plain.ID, GroupID: &restricted.ID,
		Scope: domain.Scope{Kind: domain.ScopeP, Value: f.other.PNumber}}); err != nil {
		t.Errorf("restricted group, its own P-number: %v", err)
	}
	if _, err := f.rights.CreateAssignments(ctx, f.actor, postgres.NewAssignments{OrgID: org.ID, PrivilegeID: plain.ID, GroupID: &seGroup.ID,
		Scope: domain.Scope{Kind: domain.ScopeSE, Value: f.se.SENumber}}); err != nil {
		t.Errorf("SE group, its own SE-number: %v", err)
	}
	// The unaudited path (seed, requests) checks the same.
	wantCode(t, "insert for a restricted group, other unit", f.rights.CreateAssignment(ctx, &domain.Assignment{OrgID: org.ID, PrivilegeID: plain.ID,
		GroupID: &restricted.ID, Scope: pScope}), domain.EINVALID)
	deleted := f.customer.user(t, "slettet", "")
	if err := f.customer.users.SetUserStatus(ctx, org.ID, deleted.ID, deleted.Version, domain.UserDeleted); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "insert for a deleted user", f.rights.CreateAssignment(ctx, &domain.Assignment{OrgID: org.ID, PrivilegeID: plain.ID,
		UserID: &deleted.ID, Scope: cvrScope(org)}), domain.ENOTFOUND)
}

func TestRemoveAssignmentStaysInItsOrganisation(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	ctx := context.Background()
	p := f.publish(t, "urn:dk:test:sag:laes", nil)
	u := f.customer.user(t, "anna", "")
	out, err := f.rights.CreateAssignments(ctx, f.actor, postgres.NewAssignments{OrgID: f.customer.org.ID, PrivilegeID: p.ID, UserIDs: []uuid.UUID{u.ID},
		Scope: cvrScope(f.customer.org)})
	if err != nil {
		t.Fatal(err)
	}
	id := out[0].ID
	wantCode(t, "the provider removing the customer's assignment", f.rights.RemoveAssignment(ctx, f.actor, f.provider.org.ID, id), domain.ENOTFOUND)
	if _, err := f.rights.FindAssignment(ctx, f.provider.org.ID, id); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("the provider finding the customer's assignment: %v", err)
	}
	v, err := f.rights.FindAssignment(ctx, f.customer.org.ID, id)
	if err != nil || v.UserName != "anna Jensen" || v.PrivilegeURI != p.URI || v.GrantedByName != "henrik Jensen" {
		t.Errorf("FindAssignment: %+v (%v)", v, err)
	}
	if err := f.rights.RemoveAssignment(ctx, f.actor, f.customer.org.ID, id); err != nil {
		t.Fatalf("RemoveAssignment: %v", err)
	}
	if n := f.assignments(t); n != 0 {
		t.Errorf("after removing: %d assignments", n)
	}
	if n := f.audits(t, f.customer.org, "assignment.removed"); n != 1 {
		t.Errorf("assignment.removed events: %d, want 1", n)
	}
	var details string
	if err := f.db.SQL().QueryRow("SELECT details::text FROM audit_events WHERE action = 'assignment.removed'").Scan(&details); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(details, u.ID.String()) || !strings.Contains(details, p.URI) {
		t.Errorf("removal details %s lack the user or the privilege", details)
	}
	wantCode(t, "removing twice", f.rights.RemoveAssignment(ctx, f.actor, f.customer.org.ID, id), domain.ENOTFOUND)
}

func TestWhoHasWhichRight(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	ctx := context.Background()
	org := f.customer.org
	laes := f.publish(t, "urn:dk:test:a:laes", nil)
	skriv := f.publish(t, "urn:dk:test:b:skriv", nil)
	anna, bo, carl := f.customer.user(t, "anna", ""), f.customer.user(t, "bo", ""), f.customer.user(t, "carl", "")
	carl.ProductionUnitID = &f.other.ID
	if err := f.customer.users.UpdateUser(ctx, carl); err != nil {
		t.Fatal(err)
	}
	g := &domain.Group{OrgID: org.ID, Name: "Alle"}
	if err := f.groups.CreateGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	assign := func(n postgres.NewAssignments) {
		t.Helper()
		n.OrgID = org.ID
		if _, err := f.rights.CreateAssignments(ctx, f.actor, n); err != nil {
			t.Fatal(err)
		}
	}
	assign(postgres.NewAssignments{PrivilegeID: laes.ID, UserIDs: []uuid.UUID{anna.ID, bo.ID, carl.ID}, Scope: cvrScope(org)})
	assign(postgres.NewAssignments{PrivilegeID: skriv.ID, UserIDs: []uuid.UUID{anna.ID}, Scope: domain.Scope{Kind: domain.ScopeP, Value: f.other.PNumber}})
	assign(postgres.NewAssignments{PrivilegeID: skriv.ID, GroupID: &g.ID, Scope: cvrScope(org)})
	// Another organisation's assignment never shows.
	stranger := f.provider.user(t, "fremmed", "")
	if _, err := f.rights.CreateAssignments(ctx, f.actor, postgres.NewAssignments{OrgID: f.provider.org.ID, PrivilegeID: laes.ID,
		UserIDs: []uuid.UUID{stranger.ID}, Scope: cvrScope(f.provider.org)}); err != nil {
		t.Fatal(err)
	}
	holders := func(filter postgres.AssignmentFilter) string {
		t.Helper()
		filter.OrgID = org.ID
		vs, _, err := f.rights.ListAssignments(ctx, filter)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range vs {
			name := v.UserName
			if name == "" {
				name = "group " + v.GroupName
			}
			out = append(out, v.PrivilegeURI[len("urn:dk:test:"):]+" "+name)
		}
		return strings.Join(out, ", ")
	}
	for _, c := range []struct {
		name   string
		filter postgres.AssignmentFilter
		want   string
	}{
		{"all", postgres.AssignmentFilter{}, "a:laes anna Jensen, a:laes bo Jensen, a:laes carl Jensen, b:skriv group Alle, b:skriv anna Jensen"},
		{"one privilege", postgres.AssignmentFilter{PrivilegeID: &skriv.ID}, "b:skriv group Alle, b:skriv anna Jensen"},
		{"a unit: its P-number and its users", postgres.AssignmentFilter{UnitID: &f.other.ID}, "a:laes carl Jensen, b:skriv anna Jensen"},
		{"a user by name", postgres.AssignmentFilter{User: "ANNA"}, "a:laes anna Jensen, b:skriv anna Jensen"},
		{"a user by email", postgres.AssignmentFilter{User: "bo@example"}, "a:laes bo Jensen"},
		{"a user by UUID", postgres.AssignmentFilter{User: carl.ID.String()}, "a:laes carl Jensen"},
		{"a group", postgres.AssignmentFilter{GroupID: &g.ID}, "b:skriv group Alle"},
	} {
		if got := holders(c.filter); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
	first, more, err := f.rights.ListAssignments(ctx, postgres.AssignmentFilter{OrgID: org.ID, Limit: 2})
	if err != nil || len(first) != 2 || !more {
		t.Fatalf("first page: %d more=%v (%v)", len(first), more, err)
	}
	if got := holders(postgres.AssignmentFilter{After: first[1].Cursor}); got != "a:laes carl Jensen, b:skriv group Alle, b:skriv anna Jensen" {
		t.Errorf("after the first page: %q", got)
	}
	if _, _, err := f.rights.ListAssignments(ctx, postgres.AssignmentFilter{OrgID: org.ID, After: "nonsense"}); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("a bad cursor: %v", err)
	}
	var streamed []string
	if err := f.rights.EachAssignment(ctx, postgres.AssignmentFilter{OrgID: org.ID, UnitID: &f.other.ID}, func(v *postgres.AssignmentView) error {
		streamed = append(streamed, v.UserName+" "+v.SystemName+" "+v.ProviderName)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := "carl Jensen Sagssystem Testfirma 10000009|anna Jensen Sagssystem Testfirma 10000009"; strings.Join(streamed, "|") != want {
		t.Errorf("EachAssignment: got %q, want %q", strings.Join(streamed, "|"), want)
	}
	refs, err := f.rights.FindUsersByRefs(ctx, org.ID, []string{"ANNA@example.dk", bo.ID.String(), stranger.ID.String(), "nobody@example.dk"})
	if err != nil || len(refs) != 2 || refs["ANNA@example.dk"].ID != anna.ID || refs[bo.ID.String()].ID != bo.ID {
		t.Errorf("FindUsersByRefs: %v (%v), want Anna and Bo only", refs, err)
	}
}

func TestPassedOnAssignmentIsTheGranteesToRemove(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	ctx := context.Background()
	p := f.publish(t, "urn:dk:test:sag:laes", nil)
	// The provider gives the customer a power of attorney, and the customer
	// passes the privilege on to one of its users.
	var poaID uuid.UUID
	if err := f.db.SQL().QueryRow(`INSERT INTO powers_of_attorney (org_id, grantee_org_id, status, scope_kind, scope_value)
		VALUES ($1, $2, 'active', 'cvr', $3) RETURNING id`, f.provider.org.ID, f.customer.org.ID, f.provider.org.CVR).Scan(&poaID); err != nil {
		t.Fatal(err)
	}
	u := f.customer.user(t, "anna", "")
	a := &domain.Assignment{OrgID: f.customer.org.ID, PrivilegeID: p.ID, UserID: &u.ID, Scope: cvrScope(f.provider.org), ViaPoAID: &poaID}
	if err := f.rights.CreateAssignment(ctx, a); err != nil {
		t.Fatalf("pass on: %v", err)
	}
	v, err := f.rights.FindAssignment(ctx, f.customer.org.ID, a.ID)
	if err != nil || v.PoAGrantorName != f.provider.org.Name {
		t.Fatalf("passed-on assignment: %+v (%v), want the grantor named", v, err)
	}
	wantCode(t, "the grantor removing the grantee's passing on", f.rights.RemoveAssignment(ctx, f.actor, f.provider.org.ID, a.ID), domain.ENOTFOUND)
	if err := f.rights.RemoveAssignment(ctx, f.actor, f.customer.org.ID, a.ID); err != nil {
		t.Fatalf("the grantee removing it: %v", err)
	}
	if got := f.audits(t, f.customer.org, "assignment.removed"); got != 1 {
		t.Errorf("assignment.removed in the grantee's log: %d, want 1", got)
	}
}

// An administrator limited to a unit sees the assignments of the unit's
// users and groups: HolderUnitID keeps those, and not another unit's user's
// assignment scoped to the unit's P-number, which UnitID shows.
func TestHolderUnitKeepsTheUnitsHoldersOnly(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	ctx := context.Background()
	org := f.customer.org
	laes := f.publish(t, "urn:dk:test:a:laes", nil)
	anna, carl := f.customer.user(t, "anna", ""), f.customer.user(t, "carl", "")
	carl.ProductionUnitID = &f.other.ID
	if err := f.customer.users.UpdateUser(ctx, carl); err != nil {
		t.Fatal(err)
	}
	local := &domain.Group{OrgID: org.ID, Name: "Filialen", ProductionUnitID: &f.other.ID}
	all := &domain.Group{OrgID: org.ID, Name: "Alle"}
	for _, g := range []*domain.Group{local, all} {
		if err := f.groups.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	otherP := domain.Scope{Kind: domain.ScopeP, Value: f.other.PNumber}
	for _, n := range []postgres.NewAssignments{
		{UserIDs: []uuid.UUID{anna.ID}, Scope: otherP},        // anna is not of the unit
		{UserIDs: []uuid.UUID{carl.ID}, Scope: cvrScope(org)}, // carl is
		{GroupID: &local.ID, Scope: otherP},
		{GroupID: &all.ID, Scope: otherP}, // a group not restricted to the unit
	} {
		n.OrgID, n.PrivilegeID = org.ID, laes.ID
		if _, err := f.rights.CreateAssignments(ctx, f.actor, n); err != nil {
			t.Fatal(err)
		}
	}
	name := func(v *postgres.AssignmentView) string {
		if v.GroupName != "" {
			return "group " + v.GroupName
		}
		return v.UserName
	}
	list := func(filter postgres.AssignmentFilter) string {
		t.Helper()
		filter.OrgID = org.ID
		vs, _, err := f.rights.ListAssignments(ctx, filter)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for i := range vs {
			out = append(out, name(&vs[i]))
		}
		return strings.Join(out, ", ")
	}
	if got, want := list(postgres.AssignmentFilter{UnitID: &f.other.ID}), "group Alle, group Filialen, anna Jensen, carl Jensen"; got != want {
		t.Errorf("what touches the unit: got %q, want %q", got, want)
	}
	const within = "group Filialen, carl Jensen"
	if got := list(postgres.AssignmentFilter{HolderUnitID: &f.other.ID}); got != within {
		t.Errorf("held within the unit: got %q, want %q", got, within)
	}
	if got := list(postgres.AssignmentFilter{UnitID: &f.other.ID, HolderUnitID: &f.other.ID}); got != within {
		t.Errorf("the unit and held within it: got %q, want %q", got, within)
	}
	var streamed []string
	if err := f.rights.EachAssignment(ctx, postgres.AssignmentFilter{OrgID: org.ID, UnitID: &f.other.ID, HolderUnitID: &f.other.ID},
		func(v *postgres.AssignmentView) error {
			streamed = append(streamed, name(v))
			return nil
		}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(streamed, ", "); got != within {
		t.Errorf("EachAssignment held within the unit: got %q, want %q", got, within)
	}
	// The view names the unit a P-number scope is of.
	vs, _, err := f.rights.ListAssignments(ctx, postgres.AssignmentFilter{OrgID: org.ID, UserID: &anna.ID})
	if err != nil || len(vs) != 1 || vs[0].ScopeUnitID == nil || *vs[0].ScopeUnitID != f.other.ID {
		t.Errorf("anna's assignment: %+v (%v), want the scope's unit", vs, err)
	}
	if vs, _, err := f.rights.ListAssignments(ctx, postgres.AssignmentFilter{OrgID: org.ID, UserID: &carl.ID}); err != nil || len(vs) != 1 || vs[0].ScopeUnitID != nil {
		t.Errorf("carl's assignment for the whole CVR: %+v (%v), want no scope unit", vs, err)
	}
}

// Taken back from "who has which right", a privilege passed on from a power
// of attorney goes as from the power of attorney's page: the grantor's log
// says so too, and both chains hold.
func TestRemovingPassedOnAssignmentTellsTheGrantor(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	ctx := context.Background()
	p := f.publish(t, "urn:dk:test:sag:laes", nil)
	var poaID uuid.UUID
	if err := f.db.SQL().QueryRow(`INSERT INTO powers_of_attorney (org_id, grantee_org_id, status, scope_kind, scope_value)
		VALUES ($1, $2, 'active', 'cvr', $3) RETURNING id`, f.provider.org.ID, f.customer.org.ID, f.provider.org.CVR).Scan(&poaID); err != nil {
		t.Fatal(err)
	}
	u := f.customer.user(t, "anna", "")
	a := &domain.Assignment{OrgID: f.customer.org.ID, PrivilegeID: p.ID, UserID: &u.ID, Scope: cvrScope(f.provider.org), ViaPoAID: &poaID}
	if err := f.rights.CreateAssignment(ctx, a); err != nil {
		t.Fatalf("pass on: %v", err)
	}
	if err := f.rights.RemoveAssignment(ctx, f.actor, f.customer.org.ID, a.ID); err != nil {
		t.Fatalf("RemoveAssignment: %v", err)
	}
	if n := f.assignments(t); n != 0 {
		t.Errorf("after removing: %d assignments", n)
	}
	if n := f.audits(t, f.customer.org, "assignment.removed"); n != 1 {
		t.Errorf("assignment.removed in the grantee's log: %d, want 1", n)
	}
	if n := f.audits(t, f.provider.org, "poa.passed_on_removed"); n != 1 {
		t.Fatalf("poa.passed_on_removed in the grantor's log: %d, want 1", n)
	}
	var target, details string
	if err := f.db.SQL().QueryRow("SELECT target_id, details::text FROM audit_events WHERE org_id = $1 AND action = 'poa.passed_on_removed'",
		f.provider.org.ID).Scan(&target, &details); err != nil {
		t.Fatal(err)
	}
	if target != poaID.String() || !strings.Contains(details, a.ID.String()) {
		t.Errorf("the grantor's event: target %s details %s", target, details)
	}
	log := postgres.NewAuditLog(f.db)
	for _, org := range []*domain.Organisation{f.provider.org, f.customer.org} {
		if v, err := log.VerifyAudit(ctx, &org.ID); err != nil || v.BrokenAt != 0 {
			t.Errorf("%s's chain: %+v (%v)", org.Name, v, err)
		}
	}
	wantCode(t, "removing twice", f.rights.RemoveAssignment(ctx, f.actor, f.customer.org.ID, a.ID), domain.ENOTFOUND)
}
