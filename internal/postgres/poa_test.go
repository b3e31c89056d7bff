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

// poaFixture: organisation A grants, B receives, C is a stranger; each has
// an organisation administrator, A a rights administrator, B an employee.
type poaFixture struct {
	db                  *postgres.DB
	svc                 *postgres.PoAService
	notify              *recordingNotifier
	a, b, c             *fixture
	aSE                 *domain.SENumber
	aUnit2              *domain.ProductionUnit
	aAdmin, aRights     *domain.User
	bAdmin, bEmployee   *domain.User
	cAdmin              *domain.User
	loen, laes, retired uuid.UUID
	mail                postgres.PoAMail
}

func newPoAFixture(t *testing.T) *poaFixture {
	t.Helper()
	db := dbtest.New(t)
	n := &recordingNotifier{}
	f := &poaFixture{db: db, svc: postgres.NewPoAService(db, n), notify: n,
		a: fixtureOn(t, db, "91234564", "1012345671"), b: fixtureOn(t, db, "95001238", "1034567891"), c: fixtureOn(t, db, "93847261", "1023456781"),
		mail: postgres.PoAMail{Lang: "da", Link: "https://erhverv.test/portal/poa"}}
	ctx := context.Background()
	// Connected organisations: only those can be parties.
	if _, err := db.SQL().Exec("UPDATE organisations SET status = 'active', connected_at = now()"); err != nil {
		t.Fatal(err)
	}
	f.aUnit2 = &domain.ProductionUnit{OrgID: f.a.org.ID, PNumber: "1012345672", Name: "Aarhus"}
	if err := f.a.orgs.CreateProductionUnit(ctx, f.aUnit2); err != nil {
		t.Fatal(err)
	}
	f.aSE = &domain.SENumber{OrgID: f.a.org.ID, SENumber: "31234567", Name: "Løn"}
	if err := f.a.orgs.CreateSENumber(ctx, f.aSE); err != nil {
		t.Fatal(err)
	}
	f.aAdmin, f.aRights = f.a.user(t, "mette", ""), f.a.user(t, "sofie", "")
	f.bAdmin, f.bEmployee = f.b.user(t, "anders", ""), f.b.user(t, "bo", "")
	f.cAdmin = f.c.user(t, "henrik", "")
	for _, r := range []struct {
		fx   *fixture
		u    *domain.User
		role string
	}{{f.a, f.aAdmin, domain.RoleOrgAdmin}, {f.a, f.aRights, domain.RoleRightsAdmin}, {f.b, f.bAdmin, domain.RoleOrgAdmin}, {f.c, f.cAdmin, domain.RoleOrgAdmin}} {
		if err := r.fx.roles.AssignAdminRole(ctx, &domain.AdminRole{OrgID: r.fx.org.ID, UserID: r.u.ID, Role: r.role}); err != nil {
			t.Fatal(err)
		}
	}
	f.loen, f.laes, f.retired = catalogue(t, db, f.c.org.ID)
	return f
}

func act(u *domain.User) postgres.Actor {
	return postgres.Actor{UserID: u.ID, Label: u.FullName(), RequestID: "req-poa"}
}

func (f *poaFixture) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.SQL().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *poaFixture) audits(t *testing.T, org *domain.Organisation, action string) int {
	t.Helper()
	return f.count(t, "SELECT count(*) FROM audit_events WHERE org_id = $1 AND action = $2", org.ID, action)
}

// offer is A's usual offer to B: both active privileges, the KLE one
// bounded to 25.*, for A's whole CVR, for a year.
func (f *poaFixture) offer(t *testing.T) *domain.PowerOfAttorney {
	t.Helper()
	to := time.Now().Add(365 * 24 * time.Hour)
	poa, err := f.svc.Offer(context.Background(), act(f.aAdmin), f.a.org.ID, postgres.PoAOffer{GranteeCVR: f.b.org.CVR,
		Privileges: []domain.PoAPrivilege{{PrivilegeID: f.loen, ConstraintValues: map[string]string{testKLE: "25.*"}}, {PrivilegeID: f.laes}},
		Scope:      domain.Scope{Kind: domain.ScopeCVR, Value: f.a.org.CVR}, ValidTo: &to}, f.mail)
	if err != nil {
		t.Fatalf("Offer: %v", err)
	}
	return poa
}

// pass is a valid passing on of the KLE privilege to B's employee.
func (f *poaFixture) pass(mod func(a *domain.Assignment)) *domain.Assignment {
	u := f.bEmployee.ID
	a := &domain.Assignment{UserID: &u, PrivilegeID: f.loen, Scope: domain.Scope{Kind: domain.ScopeP, Value: f.a.unit.PNumber},
		ConstraintValues: map[string]string{testKLE: "25.02"}}
	if mod != nil {
		mod(a)
	}
	return a
}

func TestPowerOfAttorneyOfferAcceptPassOnAndEnd(t *testing.T) {
	t.Parallel()
	f := newPoAFixture(t)
	ctx := context.Background()
	poa := f.offer(t)
	if poa.Status != domain.PoAOffered {
		t.Fatalf("status after offer: %s", poa.Status)
	}
	if got := f.notify.to(f.bAdmin.Email); !slices.Equal(got, []string{"poa_offered"}) {
		t.Errorf("mails to B's administrator: %v", got)
	}
	if m := f.notify.last(t); m.Data["OtherName"] != f.a.org.Name || m.Data["Link"] != "https://erhverv.test/portal/poa/"+poa.ID.String() {
		t.Errorf("offer mail data: %+v", m.Data)
	}
	for _, org := range []*domain.Organisation{f.a.org, f.b.org} {
		if n := f.audits(t, org, "poa.offered"); n != 1 {
			t.Errorf("poa.offered in %s's log: %d, want 1", org.Name, n)
		}
	}
	// B's log names the actor with A's name, not as one of B's users.
	var label string
	var actorID *uuid.UUID
	if err := f.db.SQL().QueryRow("SELECT actor_label, actor_id FROM audit_events WHERE org_id = $1 AND action = 'poa.offered'", f.b.org.ID).Scan(&label, &actorID); err != nil {
		t.Fatal(err)
	}
	if label != "mette Jensen ("+f.a.org.Name+")" || actorID != nil {
		t.Errorf("B's log actor: %q %v", label, actorID)
	}

	// Not active yet: nothing can be passed on.
	wantCode(t, "pass on an offer", f.svc.PassOn(ctx, act(f.bAdmin), f.b.org.ID, poa.ID, f.pass(nil), nil), domain.ECONFLICT)
	// Only B accepts; C does not even find it.
	_, err := f.svc.FindPoA(ctx, f.c.org.ID, poa.ID)
	wantCode(t, "third organisation finds", err, domain.ENOTFOUND)
	wantCode(t, "third organisation accepts", f.svc.Accept(ctx, act(f.cAdmin), f.c.org.ID, poa.ID, f.mail), domain.ENOTFOUND)
	wantCode(t, "grantor accepts", f.svc.Accept(ctx, act(f.aAdmin), f.a.org.ID, poa.ID, f.mail), domain.EFORBIDDEN)
	if err := f.svc.Accept(ctx, act(f.bAdmin), f.b.org.ID, poa.ID, f.mail); err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if got := f.notify.to(f.aRights.Email); !slices.Equal(got, []string{"poa_answered"}) {
		t.Errorf("mails to A's rights administrator: %v", got)
	}
	wantCode(t, "accept twice", f.svc.Accept(ctx, act(f.bAdmin), f.b.org.ID, poa.ID, f.mail), domain.ECONFLICT)

	// Passing on beyond what was granted is refused with the reason, and
	// nothing is stored.
	cUser := f.cAdmin.ID
	refusals := []struct {
		name, code, field string
		orgID             uuid.UUID
		actor             *domain.User
		a                 *domain.Assignment
	}{
		{"KLE outside", domain.EINVALID, "constraint:" + testKLE, f.b.org.ID, f.bAdmin, f.pass(func(a *domain.Assignment) { a.ConstraintValues[testKLE] = "26.01" })},
		{"KLE left out", domain.EINVALID, "constraint:" + testKLE, f.b.org.ID, f.bAdmin, f.pass(func(a *domain.Assignment) { a.ConstraintValues = nil })},
		{"B's own scope", domain.EINVALID, "scope", f.b.org.ID, f.bAdmin, f.pass(func(a *domain.Assignment) { a.Scope = domain.Scope{Kind: domain.ScopeCVR, Value: f.b.org.CVR} })},
		{"C's unit", domain.EINVALID, "scope", f.b.org.ID, f.bAdmin, f.pass(func(a *domain.Assignment) { a.Scope = domain.Scope{Kind: domain.ScopeP, Value: f.c.unit.PNumber} })},
		{"privilege not carried", domain.EINVALID, "privilege", f.b.org.ID, f.bAdmin, f.pass(func(a *domain.Assignment) { a.PrivilegeID = f.retired })},
		{"past its end", domain.EINVALID, "valid_to", f.b.org.ID, f.bAdmin, f.pass(func(a *domain.Assignment) {
			to := time.Now().Add(2 * 365 * 24 * time.Hour)
			a.ValidTo = &to
		})},
		{"another organisation's user", domain.EINVALID, "user", f.b.org.ID, f.bAdmin, f.pass(func(a *domain.Assignment) { a.UserID = &cUser })},
		{"the grantor passes on", domain.EFORBIDDEN, "", f.a.org.ID, f.aAdmin, f.pass(nil)},
		{"a stranger passes on", domain.ENOTFOUND, "", f.c.org.ID, f.cAdmin, f.pass(nil)},
	}
	for _, r := range refusals {
		err := f.svc.PassOn(ctx, act(r.actor), r.orgID, poa.ID, r.a, nil)
		wantCode(t, r.name, err, r.code)
		if r.field != "" && !slices.ContainsFunc(fieldsOf(err), func(s string) bool { return s == r.field }) {
			t.Errorf("%s: fields %v, want %q", r.name, fieldsOf(err), r.field)
		}
	}
	if n := f.count(t, "SELECT count(*) FROM privilege_assignments"); n != 0 {
		t.Fatalf("refused passing on stored %d assignments", n)
	}

	// Within it: the KLE narrowed, a P-number of A, the period defaulting
	// to the power of attorney's; and the other privilege for A's SE-number.
	ok := f.pass(nil)
	if err := f.svc.PassOn(ctx, act(f.bAdmin), f.b.org.ID, poa.ID, ok, nil); err != nil {
		t.Fatalf("PassOn: %v", err)
	}
	if ok.ValidTo == nil || ok.ViaPoAID == nil || *ok.ViaPoAID != poa.ID || ok.OrgID != f.b.org.ID {
		t.Errorf("passed-on assignment: %+v", ok)
	}
	if err := f.svc.PassOn(ctx, act(f.bAdmin), f.b.org.ID, poa.ID, f.pass(func(a *domain.Assignment) {
		a.PrivilegeID, a.ConstraintValues, a.Scope = f.laes, nil, domain.Scope{Kind: domain.ScopeSE, Value: f.aSE.SENumber}
	}), nil); err != nil {
		t.Fatalf("PassOn for the SE-number: %v", err)
	}
	wantCode(t, "the same again", f.svc.PassOn(ctx, act(f.bAdmin), f.b.org.ID, poa.ID, f.pass(nil), nil), domain.ECONFLICT)
	if n := f.audits(t, f.b.org, "assignment.created"); n != 2 {
		t.Errorf("assignment.created in B's log: %d, want 2", n)
	}
	if n := f.audits(t, f.a.org, "poa.passed_on"); n != 2 {
		t.Errorf("poa.passed_on in A's log: %d, want 2", n)
	}
	passed, err := f.svc.ListPassedOn(ctx, f.b.org.ID, poa.ID)
	if err != nil || len(passed) != 2 || passed[0].UserName != "bo Jensen" {
		t.Errorf("ListPassedOn: %+v %v", passed, err)
	}
	_, err = f.svc.ListPassedOn(ctx, f.a.org.ID, poa.ID)
	wantCode(t, "the grantor lists what B passed on", err, domain.ENOTFOUND)
	view, err := f.svc.FindPoA(ctx, f.a.org.ID, poa.ID)
	if err != nil || view.PassedOn != 2 || len(view.Privileges) != 2 || view.Grantee.CVR != f.b.org.CVR || view.People[f.bAdmin.ID] != "anders Jensen" {
		t.Errorf("A's view: %+v %v", view, err)
	}

	// A stranger cannot end it; A ends it and everything passed on goes,
	// audited in B's log, told to B.
	_, err = f.svc.End(ctx, act(f.cAdmin), f.c.org.ID, poa.ID, f.mail)
	wantCode(t, "a stranger ends", err, domain.ENOTFOUND)
	removed, err := f.svc.End(ctx, act(f.aRights), f.a.org.ID, poa.ID, f.mail)
	if err != nil || removed != 2 {
		t.Fatalf("End: %d %v, want 2 removed", removed, err)
	}
	if n := f.count(t, "SELECT count(*) FROM privilege_assignments WHERE via_poa_id = $1", poa.ID); n != 0 {
		t.Errorf("assignments left after the end: %d", n)
	}
	if n := f.audits(t, f.b.org, "assignment.removed"); n != 2 {
		t.Errorf("assignment.removed in B's log: %d, want 2", n)
	}
	for _, org := range []*domain.Organisation{f.a.org, f.b.org} {
		if n := f.audits(t, org, "poa.ended"); n != 1 {
			t.Errorf("poa.ended in %s's log: %d, want 1", org.Name, n)
		}
	}
	view, _ = f.svc.FindPoA(ctx, f.b.org.ID, poa.ID)
	if view.Status != domain.PoAEnded || view.EndedBy == nil || *view.EndedBy != f.aRights.ID || view.EndedAt == nil {
		t.Errorf("after the end: %+v", view.PowerOfAttorney)
	}
	if got := f.notify.to(f.bAdmin.Email); got[len(got)-1] != "poa_ended" {
		t.Errorf("mails to B after the end: %v", got)
	}
	_, err = f.svc.End(ctx, act(f.bAdmin), f.b.org.ID, poa.ID, f.mail)
	wantCode(t, "end twice", err, domain.ECONFLICT)
	wantCode(t, "pass on after the end", f.svc.PassOn(ctx, act(f.bAdmin), f.b.org.ID, poa.ID, f.pass(nil), nil), domain.ECONFLICT)
}

func fieldsOf(err error) []string {
	var out []string
	var ve domain.ValidationErrors
	if e, ok := err.(domain.ValidationErrors); ok {
		ve = e
	} else if f := domain.ErrorField(err); f != "" {
		return []string{f}
	}
	for _, e := range ve {
		out = append(out, e.Field)
	}
	return out
}

func TestPowerOfAttorneyAskedForGrantedOrRejected(t *testing.T) {
	t.Parallel()
	f := newPoAFixture(t)
	ctx := context.Background()
	ask := postgres.PoAAsk{GrantorCVR: f.a.org.CVR, Privileges: []domain.PoAPrivilege{{PrivilegeID: f.laes}}, Reason: "Vi fører jeres regnskab"}

	short := ask
	short.Reason = "regnskab"
	_, err := f.svc.Ask(ctx, act(f.bAdmin), f.b.org.ID, short, f.mail)
	wantCode(t, "short reason", err, domain.EINVALID)
	self := ask
	self.GrantorCVR = f.b.org.CVR
	_, err = f.svc.Ask(ctx, act(f.bAdmin), f.b.org.ID, self, f.mail)
	wantCode(t, "ask oneself", err, domain.EINVALID)
	if n := f.count(t, "SELECT count(*) FROM powers_of_attorney"); n != 0 {
		t.Fatalf("refused asks stored: %d", n)
	}

	poa, err := f.svc.Ask(ctx, act(f.bAdmin), f.b.org.ID, ask, f.mail)
	if err != nil || poa.Status != domain.PoARequested || poa.OrgID != f.a.org.ID || poa.GranteeOrgID != f.b.org.ID {
		t.Fatalf("Ask: %+v %v", poa, err)
	}
	for _, u := range []*domain.User{f.aAdmin, f.aRights} {
		if got := f.notify.to(u.Email); !slices.Equal(got, []string{"poa_requested"}) {
			t.Errorf("mails to %s: %v", u.FirstName, got)
		}
	}
	wantCode(t, "B grants its own request", f.svc.GrantRequested(ctx, act(f.bAdmin), f.b.org.ID, poa.ID,
		domain.Scope{Kind: domain.ScopeCVR, Value: f.a.org.CVR}, nil, f.mail), domain.EFORBIDDEN)
	wantCode(t, "B rejects its own request", f.svc.Reject(ctx, act(f.bAdmin), f.b.org.ID, poa.ID, "Fortrudt", f.mail), domain.EFORBIDDEN)
	wantCode(t, "A grants for B's unit", f.svc.GrantRequested(ctx, act(f.aRights), f.a.org.ID, poa.ID,
		domain.Scope{Kind: domain.ScopeP, Value: f.b.unit.PNumber}, nil, f.mail), domain.EINVALID)
	past := time.Now().Add(-time.Hour)
	wantCode(t, "A grants until the past", f.svc.GrantRequested(ctx, act(f.aRights), f.a.org.ID, poa.ID,
		domain.Scope{Kind: domain.ScopeCVR, Value: f.a.org.CVR}, &past, f.mail), domain.EINVALID)
	// A narrows it to one P-number when granting: active at once.
	if err := f.svc.GrantRequested(ctx, act(f.aRights), f.a.org.ID, poa.ID, domain.Scope{Kind: domain.ScopeP, Value: f.aUnit2.PNumber}, nil, f.mail); err != nil {
		t.Fatalf("GrantRequested: %v", err)
	}
	view, _ := f.svc.FindPoA(ctx, f.b.org.ID, poa.ID)
	if view.Status != domain.PoAActive || view.Scope.Value != f.aUnit2.PNumber || view.GrantedBy == nil || *view.GrantedBy != f.aRights.ID {
		t.Errorf("after granting: %+v", view.PowerOfAttorney)
	}
	if m := f.notify.last(t); m.Template != "poa_answered" || m.Data["Decision"] != "granted" || m.To != f.bAdmin.Email {
		t.Errorf("grant mail: %+v", m)
	}
	// A P-number power of attorney passes on for that P-number only.
	laes := func(scope domain.Scope) *domain.Assignment {
		return f.pass(func(a *domain.Assignment) { a.PrivilegeID, a.ConstraintValues, a.Scope = f.laes, nil, scope })
	}
	wantCode(t, "A's CVR under a P-number one", f.svc.PassOn(ctx, act(f.bAdmin), f.b.org.ID, poa.ID,
		laes(domain.Scope{Kind: domain.ScopeCVR, Value: f.a.org.CVR}), nil), domain.EINVALID)
	wantCode(t, "A's other P-number", f.svc.PassOn(ctx, act(f.bAdmin), f.b.org.ID, poa.ID,
		laes(domain.Scope{Kind: domain.ScopeP, Value: f.a.unit.PNumber}), nil), domain.EINVALID)
	if err := f.svc.PassOn(ctx, act(f.bAdmin), f.b.org.ID, poa.ID, laes(domain.Scope{Kind: domain.ScopeP, Value: f.aUnit2.PNumber}), nil); err != nil {
		t.Errorf("pass on for the P-number: %v", err)
	}
	// B ends it from its side.
	if removed, err := f.svc.End(ctx, act(f.bAdmin), f.b.org.ID, poa.ID, f.mail); err != nil || removed != 1 {
		t.Errorf("B ends: %d %v", removed, err)
	}
	if got := f.notify.to(f.aAdmin.Email); got[len(got)-1] != "poa_ended" {
		t.Errorf("mails to A after B ended it: %v", got)
	}

	// Another request, rejected: a comment is needed.
	again, err := f.svc.Ask(ctx, act(f.bAdmin), f.b.org.ID, ask, f.mail)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "reject without comment", f.svc.Reject(ctx, act(f.aAdmin), f.a.org.ID, again.ID, "  ", f.mail), domain.EINVALID)
	if err := f.svc.Reject(ctx, act(f.aAdmin), f.a.org.ID, again.ID, "Ikke nu", f.mail); err != nil {
		t.Fatal(err)
	}
	view, _ = f.svc.FindPoA(ctx, f.b.org.ID, again.ID)
	if view.Status != domain.PoARejected || view.DecisionComment != "Ikke nu" || view.DecidedBy == nil || *view.DecidedBy != f.aAdmin.ID {
		t.Errorf("after rejecting: %+v", view.PowerOfAttorney)
	}
	wantCode(t, "grant a rejected one", f.svc.GrantRequested(ctx, act(f.aAdmin), f.a.org.ID, again.ID,
		domain.Scope{Kind: domain.ScopeCVR, Value: f.a.org.CVR}, nil, f.mail), domain.ECONFLICT)
	for _, org := range []*domain.Organisation{f.a.org, f.b.org} {
		for action, want := range map[string]int{"poa.requested": 2, "poa.granted": 1, "poa.rejected": 1, "poa.ended": 1} {
			if n := f.audits(t, org, action); n != want {
				t.Errorf("%s in %s's log: %d, want %d", action, org.Name, n, want)
			}
		}
	}
}

func TestPowerOfAttorneyForANamedPersonIsNotPassedOn(t *testing.T) {
	t.Parallel()
	f := newPoAFixture(t)
	ctx := context.Background()
	o := postgres.PoAOffer{GranteeCVR: f.b.org.CVR, GranteeEmail: "nobody@example.dk", Privileges: []domain.PoAPrivilege{{PrivilegeID: f.laes}},
		Scope: domain.Scope{Kind: domain.ScopeCVR, Value: f.a.org.CVR}}
	_, err := f.svc.Offer(ctx, act(f.aAdmin), f.a.org.ID, o, f.mail)
	wantCode(t, "unknown person", err, domain.EINVALID)
	if domain.ErrorField(err) != "grantee_email" {
		t.Errorf("unknown person: field %q", domain.ErrorField(err))
	}
	o.GranteeEmail = f.c.org.CVR + "@example.dk" // not B's
	_, err = f.svc.Offer(ctx, act(f.aAdmin), f.a.org.ID, o, f.mail)
	wantCode(t, "a person of another organisation", err, domain.EINVALID)
	o.GranteeEmail = f.cAdmin.Email
	_, err = f.svc.Offer(ctx, act(f.aAdmin), f.a.org.ID, o, f.mail)
	wantCode(t, "C's administrator as B's person", err, domain.EINVALID)

	o.GranteeEmail = "BO@example.dk" // case does not matter
	poa, err := f.svc.Offer(ctx, act(f.aAdmin), f.a.org.ID, o, f.mail)
	if err != nil || poa.GranteeUserID == nil || *poa.GranteeUserID != f.bEmployee.ID {
		t.Fatalf("Offer to a person: %+v %v", poa, err)
	}
	if m := f.notify.last(t); m.Data["PersonName"] != "bo Jensen" {
		t.Errorf("offer mail names the person: %+v", m.Data)
	}
	if err := f.svc.Accept(ctx, act(f.bAdmin), f.b.org.ID, poa.ID, f.mail); err != nil {
		t.Fatal(err)
	}
	err = f.svc.PassOn(ctx, act(f.bAdmin), f.b.org.ID, poa.ID, f.pass(func(a *domain.Assignment) { a.PrivilegeID, a.ConstraintValues = f.laes, nil }), nil)
	if domain.ErrorKey(err) != "poa.named_person" {
		t.Errorf("pass on a named person's power of attorney: %v, want poa.named_person", err)
	}
}

func TestPowerOfAttorneyOfferRefusalsStoreNothing(t *testing.T) {
	t.Parallel()
	f := newPoAFixture(t)
	ctx := context.Background()
	base := func() postgres.PoAOffer {
		return postgres.PoAOffer{GranteeCVR: f.b.org.CVR, Privileges: []domain.PoAPrivilege{{PrivilegeID: f.laes}}, Scope: domain.Scope{Kind: domain.ScopeCVR, Value: f.a.org.CVR}}
	}
	past, from := time.Now().Add(-time.Hour), time.Now().Add(48*time.Hour)
	cases := []struct {
		name, field string
		mod         func(o *postgres.PoAOffer)
	}{
		{"itself", "grantee_cvr", func(o *postgres.PoAOffer) { o.GranteeCVR = f.a.org.CVR }},
		{"unconnected organisation", "grantee_cvr", func(o *postgres.PoAOffer) { o.GranteeCVR = "30264878" }},
		{"bad CVR", "grantee_cvr", func(o *postgres.PoAOffer) { o.GranteeCVR = "12345678" }},
		{"no privileges", "privileges", func(o *postgres.PoAOffer) { o.Privileges = nil }},
		{"retired privilege", "privileges", func(o *postgres.PoAOffer) { o.Privileges = []domain.PoAPrivilege{{PrivilegeID: f.retired}} }},
		{"unknown privilege", "privileges", func(o *postgres.PoAOffer) { o.Privileges = []domain.PoAPrivilege{{PrivilegeID: uuid.New()}} }},
		{"undeclared constraint", domain.PoAConstraintField(f.laes, testKLE), func(o *postgres.PoAOffer) {
			o.Privileges = []domain.PoAPrivilege{{PrivilegeID: f.laes, ConstraintValues: map[string]string{testKLE: "25"}}}
		}},
		{"malformed KLE", domain.PoAConstraintField(f.loen, testKLE), func(o *postgres.PoAOffer) {
			o.Privileges = []domain.PoAPrivilege{{PrivilegeID: f.loen, ConstraintValues: map[string]string{testKLE: "femogtyve"}}}
		}},
		{"B's scope", "scope", func(o *postgres.PoAOffer) { o.Scope = domain.Scope{Kind: domain.ScopeCVR, Value: f.b.org.CVR} }},
		{"ends in the past", "valid_to", func(o *postgres.PoAOffer) { o.ValidTo = &past }},
		{"ends before it starts", "valid_to", func(o *postgres.PoAOffer) { to := from.Add(-time.Hour); o.ValidFrom, o.ValidTo = &from, &to }},
	}
	for _, c := range cases {
		o := base()
		c.mod(&o)
		_, err := f.svc.Offer(ctx, act(f.aAdmin), f.a.org.ID, o, f.mail)
		wantCode(t, c.name, err, domain.EINVALID)
		if !slices.Contains(fieldsOf(err), c.field) {
			t.Errorf("%s: fields %v, want %q", c.name, fieldsOf(err), c.field)
		}
	}
	if n := f.count(t, "SELECT count(*) FROM powers_of_attorney"); n != 0 || f.notify.count() != 0 {
		t.Errorf("refused offers stored %d, mailed %d", n, f.notify.count())
	}
	if n := f.count(t, "SELECT count(*) FROM audit_events WHERE action LIKE 'poa.%'"); n != 0 {
		t.Errorf("refused offers audited: %d", n)
	}
}

func TestPowersOfAttorneyAreSeenOnlyByTheirParties(t *testing.T) {
	t.Parallel()
	f := newPoAFixture(t)
	ctx := context.Background()
	poa := f.offer(t)
	for _, c := range []struct {
		org  *domain.Organisation
		want int
	}{{f.a.org, 1}, {f.b.org, 1}, {f.c.org, 0}} {
		list, err := f.svc.ListPoAs(ctx, c.org.ID)
		if err != nil || len(list) != c.want {
			t.Errorf("%s lists %d (%v), want %d", c.org.Name, len(list), err, c.want)
		}
	}
	wantCode(t, "a stranger rejects", f.svc.Reject(ctx, act(f.cAdmin), f.c.org.ID, poa.ID, "Nej", f.mail), domain.ENOTFOUND)
	wantCode(t, "the grantor rejects its own offer", f.svc.Reject(ctx, act(f.aAdmin), f.a.org.ID, poa.ID, "Nej", f.mail), domain.EFORBIDDEN)
	// B rejects the offer, with a comment A is told.
	if err := f.svc.Reject(ctx, act(f.bAdmin), f.b.org.ID, poa.ID, "Vi har ikke brug for den", f.mail); err != nil {
		t.Fatal(err)
	}
	if m := f.notify.last(t); m.Template != "poa_answered" || m.Data["Decision"] != "rejected" || m.Data["Comment"] != "Vi har ikke brug for den" {
		t.Errorf("rejection mail: %+v", m)
	}
	wantCode(t, "accept a rejected offer", f.svc.Accept(ctx, act(f.bAdmin), f.b.org.ID, poa.ID, f.mail), domain.ECONFLICT)
	_, err := f.svc.End(ctx, act(f.aAdmin), f.a.org.ID, poa.ID, f.mail)
	wantCode(t, "end a rejected offer", err, domain.ECONFLICT)
}

func TestAnOfferWhosePeriodRanOutCannotBeAccepted(t *testing.T) {
	t.Parallel()
	f := newPoAFixture(t)
	ctx := context.Background()
	poa := f.offer(t)
	f.db.Now = func() time.Time { return time.Now().Add(400 * 24 * time.Hour) }
	wantCode(t, "accept after its end", f.svc.Accept(ctx, act(f.bAdmin), f.b.org.ID, poa.ID, f.mail), domain.ECONFLICT)
}
