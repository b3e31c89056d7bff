package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/dbtest"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// fixture is an organisation with a unit, as most tests need.
type fixture struct {
	db    *postgres.DB
	orgs  *postgres.OrganisationService
	users *postgres.UserService
	roles *postgres.AdminRoleService
	org   *domain.Organisation
	unit  *domain.ProductionUnit
}

func newFixture(t *testing.T, cvr, pnum string) *fixture {
	t.Helper()
	db := dbtest.New(t)
	return fixtureOn(t, db, cvr, pnum)
}

func fixtureOn(t *testing.T, db *postgres.DB, cvr, pnum string) *fixture {
	t.Helper()
	f := &fixture{db: db, orgs: postgres.NewOrganisationService(db), users: postgres.NewUserService(db), roles: postgres.NewAdminRoleService(db)}
	ctx := context.Background()
	f.org = &domain.Organisation{CVR: cvr, Name: "Testfirma " + cvr}
	if err := f.orgs.CreateOrganisation(ctx, f.org); err != nil {
		t.Fatalf("CreateOrganisation: %v", err)
	}
	f.unit = &domain.ProductionUnit{OrgID: f.org.ID, PNumber: pnum, Name: "Hovedkontor"}
	if err := f.orgs.CreateProductionUnit(ctx, f.unit); err != nil {
		t.Fatalf("CreateProductionUnit: %v", err)
	}
	return f
}

func (f *fixture) user(t *testing.T, first, cpr string) *domain.User {
	t.Helper()
	u := &domain.User{OrgID: f.org.ID, FirstName: first, LastName: "Jensen", Email: first + "@example.dk", CPR: cpr, Status: domain.UserActive}
	if cpr == "" {
		u.BirthDate = time.Date(1985, 5, 17, 0, 0, 0, 0, time.UTC)
	}
	if err := f.users.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("CreateUser(%s): %v", first, err)
	}
	return u
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := domain.ErrorCode(err); got != code {
		t.Errorf("%s: got code %q (%v), want %q", what, got, err, code)
	}
}

func TestMigrateDownToZeroAndUpAgain(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := context.Background()
	m, err := postgres.NewMigrator(db.SQL())
	if err != nil {
		t.Fatal(err)
	}
	if cur, _ := m.Current(ctx); cur != m.Latest() {
		t.Fatalf("fresh database: got version %d, want %d", cur, m.Latest())
	}
	if _, err := m.Down(ctx, 0); err != nil {
		t.Fatalf("Down(0): %v", err)
	}
	if cur, _ := m.Current(ctx); cur != 0 {
		t.Fatalf("after Down(0): got version %d, want 0", cur)
	}
	var tables int
	if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'goose_db_version'").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("after Down(0): got %d tables left, want 0", tables)
	}
	applied, err := m.Up(ctx)
	if err != nil {
		t.Fatalf("Up again: %v", err)
	}
	if int64(len(applied)) != m.Latest() {
		t.Errorf("Up again: applied %d migrations, want %d", len(applied), m.Latest())
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := context.Background()
	m, err := postgres.NewMigrator(db.SQL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, "INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)", m.Latest()+1); err != nil {
		t.Fatal(err)
	}
	_, err = m.Up(ctx)
	if err == nil {
		t.Fatalf("Up on a newer schema: got nil error, want a refusal")
	}
	if !errors.Is(err, postgres.ErrSchemaNewer) {
		t.Errorf("Up on a newer schema: got %v, want ErrSchemaNewer", err)
	}
}

func TestDatabaseRejectsBadIdentifiers(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "10000009", "1000000001")
	ctx := context.Background()
	// Straight SQL, past Go's validation: the constraints must hold alone.
	cases := []struct {
		name, sql string
		args      []any
	}{
		{"cvr check digit", "INSERT INTO organisations (cvr, name) VALUES ('10000008', 'x')", nil},
		{"cvr letters", "INSERT INTO organisations (cvr, name) VALUES ('1000000a', 'x')", nil},
		{"p-number length", "INSERT INTO production_units (org_id, p_number, name) VALUES ($1, '123456789', 'x')", []any{f.org.ID}},
		{"se-number length", "INSERT INTO se_numbers (org_id, se_number, name) VALUES ($1, '1234567', 'x')", []any{f.org.ID}},
		{"impossible birth date", "INSERT INTO users (org_id, first_name, last_name, email, birth_date) VALUES ($1, 'a', 'b', 'a@b.dk', '1990-02-30')", []any{f.org.ID}},
		{"bad email", "INSERT INTO users (org_id, first_name, last_name, email, birth_date) VALUES ($1, 'a', 'b', 'not-an-email', '1990-02-01')", []any{f.org.ID}},
		{"short reason", "INSERT INTO rights_requests (org_id, requester_id, kind, role, reason, expires_at) SELECT org_id, id, 'admin_role', 'user_admin', 'too short', now() + interval '1 day' FROM users LIMIT 1", nil},
	}
	f.user(t, "anna", "")
	for _, c := range cases {
		if _, err := f.db.SQL().ExecContext(ctx, c.sql, c.args...); err == nil {
			t.Errorf("%s: the database accepted it, want a constraint violation", c.name)
		}
	}
}

func TestCreateOrganisationErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "10000009", "1000000001")
	ctx := context.Background()
	err := f.orgs.CreateOrganisation(ctx, &domain.Organisation{CVR: "10000009", Name: "Igen"})
	wantCode(t, "duplicate CVR", err, domain.ECONFLICT)
	err = f.orgs.CreateOrganisation(ctx, &domain.Organisation{CVR: "10000008", Name: "Forkert"})
	wantCode(t, "bad check digit", err, domain.EINVALID)
	err = f.orgs.CreateProductionUnit(ctx, &domain.ProductionUnit{OrgID: f.org.ID, PNumber: "1000000001", Name: "Dublet"})
	wantCode(t, "duplicate P-number", err, domain.ECONFLICT)
}

func TestUsersAreIsolatedByOrganisation(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	a := fixtureOn(t, db, "10000009", "1000000001")
	b := fixtureOn(t, db, "10000017", "1000000002")
	ctx := context.Background()
	ua := a.user(t, "anna", "0101901234")

	if _, err := b.users.FindUserByID(ctx, b.org.ID, ua.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("B reading A's user: got %v, want not found", err)
	}
	page, _, err := b.users.FindUsers(ctx, domain.UserFilter{OrgID: b.org.ID, Query: ua.ID.String()})
	if err != nil || len(page) != 0 {
		t.Errorf("B searching A's user by UUID: got %d rows (%v), want 0", len(page), err)
	}
	// A user cannot be tied to another organisation's production unit.
	u := &domain.User{OrgID: a.org.ID, FirstName: "x", LastName: "y", Email: "x@y.dk", BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), ProductionUnitID: &b.unit.ID}
	wantCode(t, "user in another org's unit", a.users.CreateUser(ctx, u), domain.ENOTFOUND)
	// Nor hold a role scoped to one.
	err = a.roles.AssignAdminRole(ctx, &domain.AdminRole{OrgID: a.org.ID, UserID: ua.ID, Role: domain.RoleUserAdmin, ProductionUnitID: &b.unit.ID})
	wantCode(t, "role scoped to another org's unit", err, domain.ENOTFOUND)
	// Nor a role in an organisation the user does not belong to.
	err = b.roles.AssignAdminRole(ctx, &domain.AdminRole{OrgID: b.org.ID, UserID: ua.ID, Role: domain.RoleUserAdmin})
	wantCode(t, "role in another org", err, domain.ENOTFOUND)
}

func TestUserCPRIsProtectedAndMatches(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "10000009", "1000000001")
	ctx := context.Background()
	u := f.user(t, "anna", "0101901234")
	if !u.HasCPR || u.CPR != "" {
		t.Errorf("created user: got HasCPR=%v CPR=%q, want true and empty", u.HasCPR, u.CPR)
	}
	if got := u.BirthDate.Format(time.DateOnly); got != "1990-01-01" {
		t.Errorf("birth date from CPR: got %s, want 1990-01-01", got)
	}
	var clear int
	if err := f.db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM users WHERE position('0101901234'::bytea in cpr_ciphertext) > 0 OR encode(cpr_hmac, 'escape') LIKE '%0101901234%'").Scan(&clear); err != nil {
		t.Fatal(err)
	}
	if clear != 0 {
		t.Errorf("the CPR number is stored in clear")
	}
	ok, err := f.users.MatchCPR(ctx, f.org.ID, u.ID, "0101901234")
	if err != nil || !ok {
		t.Errorf("MatchCPR with the right CPR: got %v, %v; want true", ok, err)
	}
	ok, err = f.users.MatchCPR(ctx, f.org.ID, u.ID, "0101901235")
	if err != nil || ok {
		t.Errorf("MatchCPR with another CPR: got %v, %v; want false", ok, err)
	}
	dup := &domain.User{OrgID: f.org.ID, FirstName: "Anna", LastName: "Igen", Email: "a2@example.dk", CPR: "0101901234"}
	wantCode(t, "same person twice", f.users.CreateUser(ctx, dup), domain.ECONFLICT)
}

func TestUpdateUserOptimisticLocking(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "10000009", "1000000001")
	ctx := context.Background()
	u := f.user(t, "bo", "")
	first, second := *u, *u
	first.Phone = "+4511223344"
	if err := f.users.UpdateUser(ctx, &first); err != nil {
		t.Fatalf("first update: %v", err)
	}
	second.LastName = "Larsen"
	wantCode(t, "stale update", f.users.UpdateUser(ctx, &second), domain.ECONFLICT)
	got, err := f.users.FindUserByID(ctx, f.org.ID, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Phone != "+4511223344" || got.LastName != "Jensen" || got.Version != 2 {
		t.Errorf("after one good and one stale update: got phone %q, last name %q, version %d; want +4511223344, Jensen, 2", got.Phone, got.LastName, got.Version)
	}
}

func TestUserLifecycle(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "10000009", "1000000001")
	ctx := context.Background()
	u := &domain.User{OrgID: f.org.ID, FirstName: "Carl", LastName: "Holm", Email: "carl@example.dk", CPR: "0202802345"}
	if err := f.users.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if u.Status != domain.UserPending {
		t.Fatalf("new user: got status %q, want pending", u.Status)
	}
	wantCode(t, "pending → deactivated", f.users.SetUserStatus(ctx, f.org.ID, u.ID, 1, domain.UserDeactivated), domain.EINVALID)
	if err := f.users.SetUserStatus(ctx, f.org.ID, u.ID, 1, domain.UserActive); err != nil {
		t.Fatalf("activate: %v", err)
	}
	wantCode(t, "stale version", f.users.SetUserStatus(ctx, f.org.ID, u.ID, 1, domain.UserDeactivated), domain.ECONFLICT)
	if err := f.users.SetUserStatus(ctx, f.org.ID, u.ID, 2, domain.UserDeleted); err != nil {
		t.Fatalf("delete: %v", err)
	}
	got, err := f.users.FindUserByID(ctx, f.org.ID, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != domain.UserDeleted || got.Email != "" || got.HasCPR {
		t.Errorf("deleted user: got status %q, email %q, HasCPR %v; want deleted with personal data erased", got.Status, got.Email, got.HasCPR)
	}
}

func TestFindUsersKeysetPagination(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "10000009", "1000000001")
	ctx := context.Background()
	for _, n := range []string{"ea", "eb", "ec", "ed", "ee"} {
		f.user(t, n, "")
	}
	var seen []string
	var after *domain.UserCursor
	for pages := 0; pages < 10; pages++ {
		page, more, err := f.users.FindUsers(ctx, domain.UserFilter{OrgID: f.org.ID, Limit: 2, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page {
			seen = append(seen, u.FirstName)
		}
		if !more {
			break
		}
		last := page[len(page)-1]
		after = &domain.UserCursor{LastName: last.LastName, FirstName: last.FirstName, ID: last.ID}
	}
	if got, want := len(seen), 5; got != want {
		t.Fatalf("paged through %d users, want %d: %v", got, want, seen)
	}
	for i, want := range []string{"ea", "eb", "ec", "ed", "ee"} {
		if seen[i] != want {
			t.Errorf("position %d: got %s, want %s", i, seen[i], want)
		}
	}
	page, _, err := f.users.FindUsers(ctx, domain.UserFilter{OrgID: f.org.ID, Query: "EC@example"})
	if err != nil || len(page) != 1 || page[0].FirstName != "ec" {
		t.Errorf("search by email: got %d rows (%v), want ec", len(page), err)
	}
}

func TestLastOrgAdminCannotBeRemoved(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "10000009", "1000000001")
	ctx := context.Background()
	a, b := f.user(t, "a", ""), f.user(t, "b", "")
	ra := &domain.AdminRole{OrgID: f.org.ID, UserID: a.ID, Role: domain.RoleOrgAdmin}
	rb := &domain.AdminRole{OrgID: f.org.ID, UserID: b.ID, Role: domain.RoleOrgAdmin}
	for _, r := range []*domain.AdminRole{ra, rb} {
		if err := f.roles.AssignAdminRole(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := f.roles.CountActiveOrgAdmins(ctx, f.org.ID, time.Now()); err != nil || n != 2 {
		t.Fatalf("CountActiveOrgAdmins: got %d, %v; want 2", n, err)
	}
	if err := f.roles.RemoveAdminRole(ctx, f.org.ID, ra.ID); err != nil {
		t.Fatalf("remove one of two: %v", err)
	}
	wantCode(t, "remove the last", f.roles.RemoveAdminRole(ctx, f.org.ID, rb.ID), domain.ECONFLICT)
	if n, _ := f.roles.CountActiveOrgAdmins(ctx, f.org.ID, time.Now()); n != 1 {
		t.Errorf("after refusing: got %d organisation administrators, want 1", n)
	}
	wantCode(t, "duplicate role", f.roles.AssignAdminRole(ctx, &domain.AdminRole{OrgID: f.org.ID, UserID: b.ID, Role: domain.RoleOrgAdmin}), domain.ECONFLICT)
	// An expired role does not count.
	past := time.Now().Add(-48 * time.Hour)
	ended := time.Now().Add(-24 * time.Hour)
	if err := f.roles.AssignAdminRole(ctx, &domain.AdminRole{OrgID: f.org.ID, UserID: a.ID, Role: domain.RoleOrgAdmin, ValidFrom: &past, ValidTo: &ended}); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.roles.CountActiveOrgAdmins(ctx, f.org.ID, time.Now()); n != 1 {
		t.Errorf("with an expired role: got %d organisation administrators, want 1", n)
	}
}

func TestGroupsWithMembersOfOtherOrganisations(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	a := fixtureOn(t, db, "10000009", "1000000001")
	b := fixtureOn(t, db, "10000017", "1000000002")
	ctx := context.Background()
	groups := postgres.NewGroupService(db)
	g := &domain.Group{OrgID: a.org.ID, Name: "Bogholderi"}
	if err := groups.CreateGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "same name, other case", groups.CreateGroup(ctx, &domain.Group{OrgID: a.org.ID, Name: "bogholderi"}), domain.ECONFLICT)
	outsider := b.user(t, "revisor", "")
	if err := groups.AddGroupMember(ctx, &domain.GroupMember{OrgID: a.org.ID, GroupID: g.ID, UserID: outsider.ID, MemberOrgID: b.org.ID}); err != nil {
		t.Fatalf("add a member of another organisation: %v", err)
	}
	second := b.user(t, "kollega", "")
	// The member's organisation must be the user's own.
	wantCode(t, "member with a wrong org", groups.AddGroupMember(ctx, &domain.GroupMember{OrgID: a.org.ID, GroupID: g.ID, UserID: second.ID, MemberOrgID: a.org.ID}), domain.ENOTFOUND)
	// B cannot put members into A's group.
	wantCode(t, "B adding to A's group", groups.AddGroupMember(ctx, &domain.GroupMember{OrgID: b.org.ID, GroupID: g.ID, UserID: second.ID, MemberOrgID: b.org.ID}), domain.ENOTFOUND)
	members, err := groups.ListGroupMembers(ctx, a.org.ID, g.ID)
	if err != nil || len(members) != 1 || members[0].MemberOrgID != b.org.ID {
		t.Errorf("members: got %d (%v), want the one from B", len(members), err)
	}
	if _, err := groups.FindGroupByID(ctx, b.org.ID, g.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("B reading A's group: got %v, want not found", err)
	}
}

func TestPrivilegesAndAssignments(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	provider := fixtureOn(t, db, "10000009", "1000000001")
	customer := fixtureOn(t, db, "10000017", "1000000002")
	ctx := context.Background()
	rights := postgres.NewRightsService(db)
	sys := &domain.ITSystem{OrgID: provider.org.ID, Name: "Sagssystem"}
	if err := rights.CreateITSystem(ctx, sys); err != nil {
		t.Fatal(err)
	}
	p := &domain.Privilege{OrgID: provider.org.ID, ITSystemID: sys.ID, URI: "urn:dk:test:sag:laes", NameDA: "Læs sager", NameEN: "Read cases",
		ConstraintTypes: []string{"urn:dk:kombit:KLE"}, MinLoA: domain.LoASubstantial, GroupAssignable: false}
	if err := rights.PublishPrivilege(ctx, p); err != nil {
		t.Fatal(err)
	}
	dup := *p
	dup.ID = uuid.Nil
	wantCode(t, "duplicate URI", rights.PublishPrivilege(ctx, &dup), domain.ECONFLICT)
	wrongSys := &domain.Privilege{OrgID: customer.org.ID, ITSystemID: sys.ID, URI: "urn:dk:test:x", NameDA: "x", NameEN: "x", MinLoA: "low"}
	wantCode(t, "privilege on another provider's system", rights.PublishPrivilege(ctx, wrongSys), domain.ENOTFOUND)

	u := customer.user(t, "dorte", "")
	a := &domain.Assignment{OrgID: customer.org.ID, PrivilegeID: p.ID, UserID: &u.ID, Scope: domain.Scope{Kind: domain.ScopeCVR, Value: customer.org.CVR},
		ConstraintValues: map[string]string{"urn:dk:kombit:KLE": "25.*"}}
	if err := rights.CreateAssignment(ctx, a); err != nil {
		t.Fatalf("CreateAssignment: %v", err)
	}
	bad := *a
	bad.ID, bad.ConstraintValues = uuid.Nil, map[string]string{"urn:dk:other": "x"}
	wantCode(t, "undeclared constraint type", rights.CreateAssignment(ctx, &bad), domain.EINVALID)

	g := &domain.Group{OrgID: customer.org.ID, Name: "Alle"}
	if err := postgres.NewGroupService(db).CreateGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	viaGroup := &domain.Assignment{OrgID: customer.org.ID, PrivilegeID: p.ID, GroupID: &g.ID, Scope: domain.Scope{Kind: domain.ScopeCVR, Value: customer.org.CVR}}
	wantCode(t, "group assignment of a user-only privilege", rights.CreateAssignment(ctx, viaGroup), domain.EINVALID)
	other := &domain.Assignment{OrgID: provider.org.ID, PrivilegeID: p.ID, UserID: &u.ID, Scope: domain.Scope{Kind: domain.ScopeCVR, Value: provider.org.CVR}}
	wantCode(t, "assignment to another org's user", rights.CreateAssignment(ctx, other), domain.ENOTFOUND)

	list, err := rights.ListAssignmentsOfUser(ctx, customer.org.ID, u.ID)
	if err != nil || len(list) != 1 || list[0].ConstraintValues["urn:dk:kombit:KLE"] != "25.*" {
		t.Errorf("ListAssignmentsOfUser: got %d (%v), want the one with KLE 25.*", len(list), err)
	}
}

func TestAuditChainVerifiesAndDetectsTampering(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "10000009", "1000000001")
	ctx := context.Background()
	log := postgres.NewAuditLog(f.db)
	for i := 0; i < 5; i++ {
		e := &domain.AuditEvent{OrgID: &f.org.ID, Action: "user.update", TargetType: "user", TargetID: "t", Details: json.RawMessage(`{"field":"phone","n":` + string(rune('0'+i)) + `}`)}
		if err := log.AppendAudit(ctx, e); err != nil {
			t.Fatalf("AppendAudit %d: %v", i, err)
		}
		if e.Seq != int64(i+1) {
			t.Errorf("event %d: got seq %d, want %d", i, e.Seq, i+1)
		}
	}
	if err := log.AppendAudit(ctx, &domain.AuditEvent{Action: "login.failed"}); err != nil {
		t.Fatalf("platform event: %v", err)
	}
	v, err := log.VerifyAudit(ctx, &f.org.ID)
	if err != nil || !v.OK || v.Events != 5 {
		t.Fatalf("VerifyAudit: got %+v, %v; want OK with 5 events", v, err)
	}
	if _, err := f.db.SQL().ExecContext(ctx, "UPDATE audit_events SET action = 'user.delete' WHERE seq = 3"); err == nil {
		t.Fatalf("UPDATE of an audit event succeeded; the log must be append-only")
	}
	// Someone with the power to switch off the trigger changes history.
	for _, stmt := range []string{
		"ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
		`UPDATE audit_events SET details = '{"field":"email","n":2}' WHERE org_id = '` + f.org.ID.String() + `' AND seq = 3`,
		"ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only",
	} {
		if _, err := f.db.SQL().ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	v, err = log.VerifyAudit(ctx, &f.org.ID)
	if err != nil || v.OK || v.BrokenAt != 3 {
		t.Errorf("VerifyAudit after tampering: got %+v, %v; want broken at 3", v, err)
	}
}

func TestLastOrgAdminCannotBeDeactivatedOrDeleted(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "10000009", "1000000001")
	ctx := context.Background()
	a, b := f.user(t, "a", ""), f.user(t, "b", "")
	for _, u := range []*domain.User{a, b} {
		if err := f.roles.AssignAdminRole(ctx, &domain.AdminRole{OrgID: f.org.ID, UserID: u.ID, Role: domain.RoleOrgAdmin}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.users.SetUserStatus(ctx, f.org.ID, a.ID, a.Version, domain.UserDeactivated); err != nil {
		t.Fatalf("deactivate one of two organisation administrators: %v", err)
	}
	wantCode(t, "deactivate the last", f.users.SetUserStatus(ctx, f.org.ID, b.ID, b.Version, domain.UserDeactivated), domain.ECONFLICT)
	wantCode(t, "delete the last", f.users.SetUserStatus(ctx, f.org.ID, b.ID, b.Version, domain.UserDeleted), domain.ECONFLICT)
	// The deactivated administrator's role no longer counts, so removing it
	// is allowed even though one organisation administrator remains.
	roles, err := f.roles.ListAdminRolesOfUser(ctx, f.org.ID, a.ID)
	if err != nil || len(roles) != 1 {
		t.Fatalf("roles of a: got %d, %v", len(roles), err)
	}
	if err := f.roles.RemoveAdminRole(ctx, f.org.ID, roles[0].ID); err != nil {
		t.Errorf("remove a deactivated user's role: got %v, want nil", err)
	}
}

func TestDeletedUserCanBeHiredAgain(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "10000009", "1000000001")
	ctx := context.Background()
	u := f.user(t, "gert", "0101901234")
	if err := f.users.LinkPerson(ctx, &domain.PersonLink{OrgID: f.org.ID, UserID: u.ID, BrokerIssuer: "https://broker", BrokerSubject: "p1"}); err != nil {
		t.Fatal(err)
	}
	if err := f.users.SetUserStatus(ctx, f.org.ID, u.ID, u.Version, domain.UserDeleted); err != nil {
		t.Fatal(err)
	}
	got, err := f.users.FindUserByID(ctx, f.org.ID, u.ID)
	if err != nil || !got.BirthDate.IsZero() || got.HasCPR {
		t.Errorf("deleted user: got birth date %v, HasCPR %v (%v); want both erased", got.BirthDate, got.HasCPR, err)
	}
	again := f.user(t, "gert", "0101901234")
	if err := f.users.LinkPerson(ctx, &domain.PersonLink{OrgID: f.org.ID, UserID: again.ID, BrokerIssuer: "https://broker", BrokerSubject: "p1"}); err != nil {
		t.Errorf("link the same person to the new identity: got %v, want nil", err)
	}
}

func TestAuditChainSurvivesJSONBNumberRewriting(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "10000009", "1000000001")
	ctx := context.Background()
	log := postgres.NewAuditLog(f.db)
	for _, details := range []string{`{"n":1e3}`, `{"n":-0}`, `{"n":1e-7,"s":"x"}`} {
		if err := log.AppendAudit(ctx, &domain.AuditEvent{OrgID: &f.org.ID, Action: "test.numbers", Details: json.RawMessage(details)}); err != nil {
			t.Fatalf("append %s: %v", details, err)
		}
	}
	v, err := log.VerifyAudit(ctx, &f.org.ID)
	if err != nil || !v.OK || v.Events != 3 {
		t.Errorf("VerifyAudit: got %+v, %v; want OK with 3 events", v, err)
	}
	if _, err := f.db.SQL().ExecContext(ctx, "TRUNCATE audit_events"); err == nil {
		t.Errorf("TRUNCATE audit_events succeeded; the log must be append-only")
	}
}
