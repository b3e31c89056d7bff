package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/dbtest"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// requestFixture is an organisation with a requester, its deciders and
// others who must not decide, and a catalogue of privileges published by a
// service provider.
type requestFixture struct {
	*fixture
	admin    *postgres.Administration
	notify   *recordingNotifier
	provider *fixture
	lars     *domain.User // employee, the requester
	sofie    *domain.User // rights administrator
	mette    *domain.User // organisation administrator
	jonas    *domain.User // user administrator
	// needsApproval has a KLE constraint; immediate needs no approval;
	// retired is retired.
	needsApproval, immediate, retired uuid.UUID
}

const testKLE = "urn:dk:kombit:KLE"

func newRequestFixture(t *testing.T) *requestFixture {
	t.Helper()
	db := dbtest.New(t)
	n := &recordingNotifier{}
	ob := postgres.NewOnboarding(db, n, func(s string) string { return "https://erhverv.test/activate?token=" + s })
	f := &requestFixture{fixture: fixtureOn(t, db, "91234564", "1012345671"), admin: postgres.NewAdministration(db, ob, "https://erhverv.test/portal"),
		notify: n, provider: fixtureOn(t, db, "93847261", "1023456781")}
	f.lars, f.sofie, f.mette, f.jonas = f.user(t, "lars", ""), f.user(t, "sofie", ""), f.user(t, "mette", ""), f.user(t, "jonas", "")
	f.role(t, f.sofie, domain.RoleRightsAdmin, nil, nil)
	f.role(t, f.mette, domain.RoleOrgAdmin, nil, nil)
	f.role(t, f.jonas, domain.RoleUserAdmin, nil, nil)
	f.needsApproval, f.immediate, f.retired = catalogue(t, db, f.provider.org.ID)
	return f
}

func (f *requestFixture) role(t *testing.T, u *domain.User, role string, from, to *time.Time) {
	t.Helper()
	if err := f.roles.AssignAdminRole(context.Background(), &domain.AdminRole{OrgID: f.org.ID, UserID: u.ID, Role: role, ValidFrom: from, ValidTo: to}); err != nil {
		t.Fatal(err)
	}
}

// catalogue publishes three privileges of provider straight into the
// tables: one that needs approval and has a KLE constraint, one that does
// not need approval, and a retired one.
func catalogue(t *testing.T, db *postgres.DB, provider uuid.UUID) (needsApproval, immediate, retired uuid.UUID) {
	t.Helper()
	var system uuid.UUID
	if err := db.SQL().QueryRow("INSERT INTO it_systems (org_id, name) VALUES ($1, 'Moms') RETURNING id", provider).Scan(&system); err != nil {
		t.Fatal(err)
	}
	ids := make([]uuid.UUID, 3)
	for i, p := range []struct {
		uri, types, status string
		approval           bool
	}{
		{"urn:dk:test:loen", "{" + testKLE + "}", "active", true},
		{"urn:dk:test:laes", "{}", "active", false},
		{"urn:dk:test:gammel", "{}", "retired", true},
	} {
		if err := db.SQL().QueryRow(`INSERT INTO privileges (org_id, it_system_id, uri, name_da, name_en, constraint_types, needs_approval, status)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, provider, system, p.uri, "DA "+p.uri, "EN "+p.uri, p.types, p.approval, p.status).Scan(&ids[i]); err != nil {
			t.Fatal(err)
		}
	}
	return ids[0], ids[1], ids[2]
}

func (f *requestFixture) actor(u *domain.User) postgres.Actor {
	return postgres.Actor{UserID: u.ID, Label: u.FullName(), RequestID: "req-test"}
}

func (f *requestFixture) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.SQL().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// mailsTo lists the notifications to address, by template.
func (n *recordingNotifier) to(address string) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, m := range n.sent {
		if m.To == address {
			out = append(out, m.Template)
		}
	}
	return out
}

func (n *recordingNotifier) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.sent)
}

func (f *requestFixture) kle(value string) postgres.PrivilegeRequest {
	return postgres.PrivilegeRequest{PrivilegeID: f.needsApproval, Scope: domain.Scope{Kind: domain.ScopeP, Value: f.unit.PNumber},
		ConstraintValues: map[string]string{testKLE: value}, Reason: "Jeg skal administrere løn i København"}
}

func TestPrivilegeRequestIsDecidedByARightsAdministrator(t *testing.T) {
	t.Parallel()
	f := newRequestFixture(t)
	ctx := context.Background()
	// Deciders who do not count: one deactivated, one whose role has ended,
	// one limited to a unit.
	gone := f.user(t, "karen", "")
	f.role(t, gone, domain.RoleRightsAdmin, nil, nil)
	if err := f.users.SetUserStatus(ctx, f.org.ID, gone.ID, gone.Version, domain.UserDeactivated); err != nil {
		t.Fatal(err)
	}
	past, yesterday := time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	expired := f.user(t, "rasmus", "")
	f.role(t, expired, domain.RoleRightsAdmin, &past, &yesterday)
	unitOnly := f.user(t, "peter", "")
	if err := f.roles.AssignAdminRole(ctx, &domain.AdminRole{OrgID: f.org.ID, UserID: unitOnly.ID, Role: domain.RoleRightsAdmin, ProductionUnitID: &f.unit.ID}); err != nil {
		t.Fatal(err)
	}

	req, err := f.admin.RequestPrivilege(ctx, f.actor(f.lars), f.org.ID, f.kle("25.*"), "da")
	if err != nil {
		t.Fatalf("RequestPrivilege: %v", err)
	}
	if req.Status != domain.RequestPending || req.Scope == nil || *req.Scope != (domain.Scope{Kind: domain.ScopeP, Value: f.unit.PNumber}) ||
		req.ConstraintValues[testKLE] != "25.*" {
		t.Fatalf("request: got %+v", req)
	}
	// The deciders are told, in the same transaction: the rights and the
	// organisation administrator; no one else.
	for _, u := range []*domain.User{f.sofie, f.mette} {
		if got := f.notify.to(u.Email); !slices.Equal(got, []string{"request_created"}) {
			t.Errorf("mails to %s: got %v, want [request_created]", u.FirstName, got)
		}
	}
	for _, u := range []*domain.User{f.lars, f.jonas, gone, expired, unitOnly} {
		if got := f.notify.to(u.Email); len(got) != 0 {
			t.Errorf("mails to %s: got %v, want none", u.FirstName, got)
		}
	}
	if m := f.notify.last(t); m.Data["Privilege"] != "DA urn:dk:test:loen" || m.Data["RequesterName"] != "lars Jensen" || m.Data["Link"] != "https://erhverv.test/portal/requests" {
		t.Errorf("request_created data: %+v", m.Data)
	}
	// A second open request for the same privilege and scope is a conflict.
	_, err = f.admin.RequestPrivilege(ctx, f.actor(f.lars), f.org.ID, f.kle("25.*"), "da")
	wantCode(t, "duplicate open request", err, domain.ECONFLICT)

	// No one decides their own request; nothing changes.
	wantCode(t, "own request", f.admin.DecideRequest(ctx, f.actor(f.lars), f.org.ID, req.ID, true, "", "da"), domain.EFORBIDDEN)
	if n := f.count(t, "SELECT count(*) FROM privilege_assignments"); n != 0 {
		t.Fatalf("after a refused decision: %d assignments, want 0", n)
	}
	// Another organisation's administrator does not find it.
	other := fixtureOn(t, f.db, "95001238", "1034567891")
	wantCode(t, "another organisation", f.admin.DecideRequest(ctx, f.actor(f.sofie), other.org.ID, req.ID, true, "", "da"), domain.ENOTFOUND)

	// Sofie approves: the assignment is made as requested, the requester told.
	if err := f.admin.DecideRequest(ctx, f.actor(f.sofie), f.org.ID, req.ID, true, "Fint", "en"); err != nil {
		t.Fatalf("approve: %v", err)
	}
	got, err := f.admin.FindRequest(ctx, f.org.ID, req.ID)
	if err != nil || got.Status != domain.RequestApproved || got.DecidedBy == nil || *got.DecidedBy != f.sofie.ID {
		t.Fatalf("after approval: %+v %v", got, err)
	}
	var scopeKind, scopeValue, kle string
	var grantedBy uuid.UUID
	if err := f.db.SQL().QueryRow(`SELECT scope_kind, scope_value, constraint_values->>$2, granted_by FROM privilege_assignments
		WHERE user_id = $1 AND privilege_id = $3`, f.lars.ID, testKLE, f.needsApproval).Scan(&scopeKind, &scopeValue, &kle, &grantedBy); err != nil {
		t.Fatalf("the assignment: %v", err)
	}
	if scopeKind != domain.ScopeP || scopeValue != f.unit.PNumber || kle != "25.*" || grantedBy != f.sofie.ID {
		t.Errorf("assignment: got %s %s %s by %s", scopeKind, scopeValue, kle, grantedBy)
	}
	m := f.notify.last(t)
	if m.Template != "request_decided" || m.To != f.lars.Email || m.Data["Privilege"] != "EN urn:dk:test:loen" || m.Data["Decision"] != "approved" || m.Data["Role"] != "" {
		t.Errorf("decision mail: %+v", m)
	}
	for action, want := range map[string]int{"rights_request.created": 1, "rights_request.approved": 1, "assignment.created": 1} {
		if n := f.count(t, "SELECT count(*) FROM audit_events WHERE org_id = $1 AND action = $2", f.org.ID, action); n != want {
			t.Errorf("%s events: got %d, want %d", action, n, want)
		}
	}
	// Deciding again is a conflict.
	wantCode(t, "second decision", f.admin.DecideRequest(ctx, f.actor(f.mette), f.org.ID, req.ID, false, "Nej", "da"), domain.ECONFLICT)
}

func TestPrivilegeRequestRefusalsStoreNothing(t *testing.T) {
	t.Parallel()
	f := newRequestFixture(t)
	ctx := context.Background()
	other := fixtureOn(t, f.db, "95001238", "1034567891")
	cases := []struct {
		name  string
		req   postgres.PrivilegeRequest
		code  string
		field string
	}{
		{"short reason", postgres.PrivilegeRequest{PrivilegeID: f.immediate, Scope: domain.Scope{Kind: domain.ScopeCVR, Value: f.org.CVR}, Reason: "fordi"}, domain.EINVALID, "reason"},
		{"no privilege", postgres.PrivilegeRequest{Scope: domain.Scope{Kind: domain.ScopeCVR, Value: f.org.CVR}, Reason: "Jeg skal bruge det"}, domain.EINVALID, "privilege"},
		{"unknown privilege", postgres.PrivilegeRequest{PrivilegeID: uuid.New(), Scope: domain.Scope{Kind: domain.ScopeCVR, Value: f.org.CVR}, Reason: "Jeg skal bruge det"}, domain.EINVALID, "privilege"},
		{"retired privilege", postgres.PrivilegeRequest{PrivilegeID: f.retired, Scope: domain.Scope{Kind: domain.ScopeCVR, Value: f.org.CVR}, Reason: "Jeg skal bruge det"}, domain.EINVALID, "privilege"},
		{"another organisation's scope", postgres.PrivilegeRequest{PrivilegeID: f.immediate, Scope: domain.Scope{Kind: domain.ScopeP, Value: other.unit.PNumber}, Reason: "Jeg skal bruge det"}, domain.EINVALID, "scope"},
		{"malformed scope", postgres.PrivilegeRequest{PrivilegeID: f.immediate, Scope: domain.Scope{Kind: domain.ScopeP, Value: "12"}, Reason: "Jeg skal bruge det"}, domain.EINVALID, "scope"},
		{"undeclared constraint", postgres.PrivilegeRequest{PrivilegeID: f.immediate, Scope: domain.Scope{Kind: domain.ScopeCVR, Value: f.org.CVR},
			ConstraintValues: map[string]string{testKLE: "25"}, Reason: "Jeg skal bruge det"}, domain.EINVALID, "constraint:" + testKLE},
		{"malformed KLE", f.kle("25.x"), domain.EINVALID, "constraint:" + testKLE},
	}
	for _, c := range cases {
		_, err := f.admin.RequestPrivilege(ctx, f.actor(f.lars), f.org.ID, c.req, "da")
		wantCode(t, c.name, err, c.code)
		if got := domain.ErrorField(err); got != c.field {
			t.Errorf("%s: field %q, want %q", c.name, got, c.field)
		}
	}
	if n := f.count(t, "SELECT count(*) FROM rights_requests"); n != 0 {
		t.Errorf("refused requests stored: %d", n)
	}
	if n := f.count(t, "SELECT count(*) FROM audit_events WHERE action LIKE 'rights_request.%'"); n != 0 || f.notify.count() != 0 {
		t.Errorf("refused requests audited (%d) or mailed (%d)", n, f.notify.count())
	}
	// An inactive requester cannot ask.
	if err := f.users.SetUserStatus(ctx, f.org.ID, f.lars.ID, f.lars.Version, domain.UserDeactivated); err != nil {
		t.Fatal(err)
	}
	_, err := f.admin.RequestPrivilege(ctx, f.actor(f.lars), f.org.ID, f.kle("25"), "da")
	wantCode(t, "deactivated requester", err, domain.EFORBIDDEN)
}

func TestPrivilegeWithoutApprovalIsGrantedAtOnce(t *testing.T) {
	t.Parallel()
	f := newRequestFixture(t)
	ctx := context.Background()
	pr := postgres.PrivilegeRequest{PrivilegeID: f.immediate, Scope: domain.Scope{Kind: domain.ScopeCVR, Value: f.org.CVR}, Reason: "Jeg skal læse momsen"}
	req, err := f.admin.RequestPrivilege(ctx, f.actor(f.lars), f.org.ID, pr, "da")
	if err != nil {
		t.Fatal(err)
	}
	if req.Status != domain.RequestApproved || req.DecidedBy != nil || req.DecidedAt == nil {
		t.Errorf("request: got status %s decided by %v at %v, want approved by no one", req.Status, req.DecidedBy, req.DecidedAt)
	}
	if n := f.count(t, "SELECT count(*) FROM privilege_assignments WHERE user_id = $1 AND privilege_id = $2 AND granted_by IS NULL", f.lars.ID, f.immediate); n != 1 {
		t.Errorf("assignments: got %d, want 1", n)
	}
	if f.notify.count() != 0 {
		t.Errorf("mails: got %d, want none (no one has anything to decide)", f.notify.count())
	}
	// Holding it, asking again is a conflict.
	_, err = f.admin.RequestPrivilege(ctx, f.actor(f.lars), f.org.ID, pr, "da")
	wantCode(t, "already held", err, domain.ECONFLICT)
}

func TestApprovingARequestForARetiredPrivilegeChangesNothing(t *testing.T) {
	t.Parallel()
	f := newRequestFixture(t)
	ctx := context.Background()
	req, err := f.admin.RequestPrivilege(ctx, f.actor(f.lars), f.org.ID, f.kle("25.02"), "da")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.SQL().Exec("UPDATE privileges SET status = 'retired' WHERE id = $1", f.needsApproval); err != nil {
		t.Fatal(err)
	}
	mails := f.notify.count()
	wantCode(t, "approve retired", f.admin.DecideRequest(ctx, f.actor(f.sofie), f.org.ID, req.ID, true, "", "da"), domain.EINVALID)
	got, _ := f.admin.FindRequest(ctx, f.org.ID, req.ID)
	if got.Status != domain.RequestPending || f.count(t, "SELECT count(*) FROM privilege_assignments") != 0 || f.notify.count() != mails {
		t.Errorf("after a failed approval: status %s, assignments %d, mails %d (was %d)", got.Status,
			f.count(t, "SELECT count(*) FROM privilege_assignments"), f.notify.count(), mails)
	}
	// Rejecting still works, with a comment.
	wantCode(t, "reject without comment", f.admin.DecideRequest(ctx, f.actor(f.sofie), f.org.ID, req.ID, false, " ", "da"), domain.EINVALID)
	if err := f.admin.DecideRequest(ctx, f.actor(f.sofie), f.org.ID, req.ID, false, "Rettigheden er udgået", "da"); err != nil {
		t.Fatal(err)
	}
	if m := f.notify.last(t); m.Template != "request_decided" || m.Data["Decision"] != "rejected" || m.Data["Comment"] != "Rettigheden er udgået" {
		t.Errorf("rejection mail: %+v", m)
	}
}

func TestAdminRoleRequestsTellTheOrganisationAdministrators(t *testing.T) {
	t.Parallel()
	f := newRequestFixture(t)
	ctx := context.Background()
	req, err := f.admin.RequestAdminRole(ctx, f.actor(f.lars), f.org.ID, domain.RoleUserAdmin, "Jeg skal oprette kolleger", "da")
	if err != nil {
		t.Fatal(err)
	}
	// Only organisation administrators decide role requests.
	if got := f.notify.to(f.mette.Email); !slices.Equal(got, []string{"request_created"}) {
		t.Errorf("mails to the organisation administrator: %v", got)
	}
	if got := f.notify.to(f.sofie.Email); len(got) != 0 {
		t.Errorf("mails to the rights administrator: %v, want none", got)
	}
	if err := f.admin.DecideRequest(ctx, f.actor(f.mette), f.org.ID, req.ID, true, "", "da"); err != nil {
		t.Fatal(err)
	}
	roles, _ := f.roles.ListAdminRolesOfUser(ctx, f.org.ID, f.lars.ID)
	if len(roles) != 1 || roles[0].Role != domain.RoleUserAdmin {
		t.Errorf("roles after approval: %+v", roles)
	}
}

func TestRequestsExpireAfterThirtyDays(t *testing.T) {
	t.Parallel()
	f := newRequestFixture(t)
	ctx := context.Background()
	start := time.Now()
	f.db.Now = func() time.Time { return start }
	old, err := f.admin.RequestPrivilege(ctx, f.actor(f.lars), f.org.ID, f.kle("25"), "da")
	if err != nil {
		t.Fatal(err)
	}
	f.db.Now = func() time.Time { return start.Add(20 * 24 * time.Hour) }
	fresh, err := f.admin.RequestAdminRole(ctx, f.actor(f.lars), f.org.ID, domain.RoleRightsAdmin, "Jeg vil gerne hjælpe", "da")
	if err != nil {
		t.Fatal(err)
	}
	// 31 days on: the old request is expired on every read path before
	// any sweep, and cannot be decided.
	f.db.Now = func() time.Time { return start.Add(31 * 24 * time.Hour) }
	pending, err := f.admin.ListRequests(ctx, f.org.ID, domain.RequestPending, nil, 10)
	if err != nil || len(pending) != 1 || pending[0].ID != fresh.ID {
		t.Fatalf("pending after 31 days: %v %v, want only the fresh one", pending, err)
	}
	if got, _ := f.admin.FindRequest(ctx, f.org.ID, old.ID); got.Status != domain.RequestExpired {
		t.Errorf("old request: got %s, want expired before the sweep", got.Status)
	}
	mine, _ := f.admin.ListRequests(ctx, f.org.ID, "", &f.lars.ID, 10)
	for _, r := range mine {
		if r.ID == old.ID && r.Status != domain.RequestExpired {
			t.Errorf("own list shows the old request as %s", r.Status)
		}
	}
	expiredList, _ := f.admin.ListRequests(ctx, f.org.ID, domain.RequestExpired, nil, 10)
	if len(expiredList) != 1 || expiredList[0].ID != old.ID {
		t.Errorf("expired list: %v", expiredList)
	}
	wantCode(t, "decide an expired request", f.admin.DecideRequest(ctx, f.actor(f.sofie), f.org.ID, old.ID, true, "", "da"), domain.ECONFLICT)
	// A new request for the same privilege and scope is allowed again.
	if _, err := f.admin.RequestPrivilege(ctx, f.actor(f.lars), f.org.ID, f.kle("25"), "da"); err != nil {
		t.Errorf("asking again after expiry: %v", err)
	}

	// The sweep marks it, audits it and tells the requester, once.
	before := f.notify.count()
	n, err := f.admin.ExpireRequests(ctx, "da")
	if err != nil || n != 1 {
		t.Fatalf("ExpireRequests: %d %v, want 1", n, err)
	}
	var status string
	if err := f.db.SQL().QueryRow("SELECT status FROM rights_requests WHERE id = $1", old.ID).Scan(&status); err != nil || status != domain.RequestExpired {
		t.Errorf("stored status: %q %v", status, err)
	}
	if f.notify.count() != before+1 {
		t.Fatalf("mails from the sweep: %d, want 1", f.notify.count()-before)
	}
	if m := f.notify.last(t); m.Template != "request_expired" || m.To != f.lars.Email || m.Data["Privilege"] != "DA urn:dk:test:loen" {
		t.Errorf("expiry mail: %+v", m)
	}
	if n := f.count(t, "SELECT count(*) FROM audit_events WHERE org_id = $1 AND action = 'rights_request.expired' AND actor_id IS NULL", f.org.ID); n != 1 {
		t.Errorf("rights_request.expired events: %d, want 1", n)
	}
	if n, err := f.admin.ExpireRequests(ctx, "da"); err != nil || n != 0 {
		t.Errorf("second sweep: %d %v, want 0", n, err)
	}
	if got, _ := f.admin.FindRequest(ctx, f.org.ID, fresh.ID); got.Status != domain.RequestPending {
		t.Errorf("fresh request after the sweep: %s, want pending", got.Status)
	}
}

// An administrator may assign the privilege while the request waits; the
// approval then adds no second, identical assignment.
func TestApprovingAPrivilegeAlreadyAssignedMeanwhileAddsNoSecond(t *testing.T) {
	t.Parallel()
	f := newRequestFixture(t)
	ctx := context.Background()
	req, err := f.admin.RequestPrivilege(ctx, f.actor(f.lars), f.org.ID, f.kle("25.02.*"), "da")
	if err != nil {
		t.Fatal(err)
	}
	meanwhile := &domain.Assignment{OrgID: f.org.ID, PrivilegeID: f.needsApproval, UserID: &f.lars.ID,
		Scope: domain.Scope{Kind: domain.ScopeP, Value: f.unit.PNumber}, ConstraintValues: map[string]string{testKLE: "25.02.*"}}
	if err := postgres.NewRightsService(f.db).CreateAssignment(ctx, meanwhile); err != nil {
		t.Fatal(err)
	}
	if err := f.admin.DecideRequest(ctx, f.actor(f.sofie), f.org.ID, req.ID, true, "", "da"); err != nil {
		t.Fatalf("approve: %v", err)
	}
	if n := f.count(t, "SELECT count(*) FROM privilege_assignments WHERE user_id = $1 AND privilege_id = $2", f.lars.ID, f.needsApproval); n != 1 {
		t.Errorf("assignments of the privilege after the approval: got %d, want 1", n)
	}
	got, err := f.admin.FindRequest(ctx, f.org.ID, req.ID)
	if err != nil || got.Status != domain.RequestApproved {
		t.Errorf("request after approval: %+v, %v; want approved", got, err)
	}
}
