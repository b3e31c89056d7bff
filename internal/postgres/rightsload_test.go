package postgres_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/dbtest"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/rights"
)

// rightsWorld: a provider publishes three privileges; customer A has an
// employee (dorte) with direct grants, grants through A's unit-restricted
// group and through organisation B's group, a privilege passed on from C's
// power of attorney, and privileges from C's power of attorney naming her.
type rightsWorld struct {
	db                   *postgres.DB
	provider, a, b, c    *fixture
	aSE                  string
	dorte, colleague     *domain.User
	read, write, vat     uuid.UUID
	aGroup, bGroup       uuid.UUID
	directCVR, directP   uuid.UUID
	viaAGroup, viaBGroup uuid.UUID
	passedOn             uuid.UUID
	poaToA, poaToDorte   uuid.UUID
}

const (
	rlRead  = "urn:dk:test:sag:laes"
	rlWrite = "urn:dk:test:sag:skriv"
	rlVAT   = "urn:dk:test:moms:indberet"
)

// exec runs SQL for a fixture and returns the id of the row it inserts, if any.
func rlExec(t *testing.T, db *postgres.DB, q string, args ...any) uuid.UUID {
	t.Helper()
	var id uuid.UUID
	if strings.Contains(q, "RETURNING id") {
		if err := db.SQL().QueryRow(q, args...).Scan(&id); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return id
	}
	if _, err := db.SQL().Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return id
}

func newRightsWorld(t *testing.T, db *postgres.DB) *rightsWorld {
	t.Helper()
	ctx := context.Background()
	w := &rightsWorld{db: db,
		provider: fixtureOn(t, db, "10000009", "1000000001"), a: fixtureOn(t, db, "10000017", "1000000002"),
		b: fixtureOn(t, db, "10000025", "1000000003"), c: fixtureOn(t, db, "10000033", "1000000004"), aSE: "30000001"}
	if err := w.a.orgs.CreateSENumber(ctx, &domain.SENumber{OrgID: w.a.org.ID, SENumber: w.aSE, Name: "Løn"}); err != nil {
		t.Fatal(err)
	}
	w.dorte, w.colleague = w.a.user(t, "dorte", ""), w.a.user(t, "karen", "")
	sys := rlExec(t, db, `INSERT INTO it_systems (org_id, name) VALUES ($1, 'Sagssystem') RETURNING id`, w.provider.org.ID)
	privilege := func(uri, loa string) uuid.UUID {
		return rlExec(t, db, `INSERT INTO privileges (org_id, it_system_id, uri, name_da, name_en, min_loa, constraint_types)
			VALUES ($1, $2, $3, $3, $3, $4, '{urn:dk:kombit:KLE}') RETURNING id`, w.provider.org.ID, sys, uri, loa)
	}
	w.read, w.write, w.vat = privilege(rlRead, "substantial"), privilege(rlWrite, "high"), privilege(rlVAT, "low")

	assign := func(org *fixture, priv uuid.UUID, user, group *uuid.UUID, kind, value, constraints string, poa *uuid.UUID, to *time.Time) uuid.UUID {
		return rlExec(t, db, `INSERT INTO privilege_assignments (org_id, privilege_id, user_id, group_id, scope_kind, scope_value,
			constraint_values, via_poa_id, valid_to) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			org.org.ID, priv, user, group, kind, value, constraints, poa, to)
	}
	later := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Microsecond)
	w.directCVR = assign(w.a, w.read, &w.dorte.ID, nil, "cvr", w.a.org.CVR, `{"urn:dk:kombit:KLE": "25.*"}`, nil, &later)
	w.directP = assign(w.a, w.write, &w.dorte.ID, nil, "p", w.a.unit.PNumber, `{}`, nil, nil)
	assign(w.a, w.read, &w.colleague.ID, nil, "cvr", w.a.org.CVR, `{}`, nil, nil) // someone else's

	w.aGroup = rlExec(t, db, `INSERT INTO user_groups (org_id, name, production_unit_id) VALUES ($1, 'Bogholderi', $2) RETURNING id`,
		w.a.org.ID, w.a.unit.ID)
	rlExec(t, db, `INSERT INTO group_members (org_id, group_id, user_id, member_org_id) VALUES ($1, $2, $3, $1)`, w.a.org.ID, w.aGroup, w.dorte.ID)
	w.viaAGroup = assign(w.a, w.vat, nil, &w.aGroup, "cvr", w.a.org.CVR, `{}`, nil, nil)

	// B's group has a member of A: her grants from it are for B's CVR.
	w.bGroup = rlExec(t, db, `INSERT INTO user_groups (org_id, name) VALUES ($1, 'Revision') RETURNING id`, w.b.org.ID)
	rlExec(t, db, `INSERT INTO group_members (org_id, group_id, user_id, member_org_id) VALUES ($1, $2, $3, $4)`,
		w.b.org.ID, w.bGroup, w.dorte.ID, w.a.org.ID)
	w.viaBGroup = assign(w.b, w.read, nil, &w.bGroup, "se", "30000002", `{}`, nil, nil) // an SE-number nobody registered

	// C grants A a power of attorney; A passes the VAT privilege on to dorte.
	w.poaToA = rlExec(t, db, `INSERT INTO powers_of_attorney (org_id, grantee_org_id, status, scope_kind, scope_value, valid_to)
		VALUES ($1, $2, 'active', 'cvr', $3, $4) RETURNING id`, w.c.org.ID, w.a.org.ID, w.c.org.CVR, later)
	rlExec(t, db, `INSERT INTO poa_privileges (poa_id, org_id, privilege_id) VALUES ($1, $2, $3)`, w.poaToA, w.c.org.ID, w.vat)
	w.passedOn = assign(w.a, w.vat, &w.dorte.ID, nil, "cvr", w.c.org.CVR, `{}`, &w.poaToA, nil)

	// C also names dorte in a power of attorney of its own P-number.
	w.poaToDorte = rlExec(t, db, `INSERT INTO powers_of_attorney (org_id, grantee_org_id, grantee_user_id, status, scope_kind, scope_value)
		VALUES ($1, $2, $3, 'active', 'p', $4) RETURNING id`, w.c.org.ID, w.a.org.ID, w.dorte.ID, w.c.unit.PNumber)
	rlExec(t, db, `INSERT INTO poa_privileges (poa_id, org_id, privilege_id, constraint_values) VALUES ($1, $2, $3, '{"urn:dk:kombit:KLE": "26.*"}')`,
		w.poaToDorte, w.c.org.ID, w.write)
	// Powers of attorney that give her nothing: one only offered, one that
	// ended long ago.
	offered := rlExec(t, db, `INSERT INTO powers_of_attorney (org_id, grantee_org_id, grantee_user_id, status, scope_value)
		VALUES ($1, $2, $3, 'offered', $4) RETURNING id`, w.c.org.ID, w.a.org.ID, w.dorte.ID, w.c.org.CVR)
	ended := rlExec(t, db, `INSERT INTO powers_of_attorney (org_id, grantee_org_id, grantee_user_id, status, scope_value, ended_at)
		VALUES ($1, $2, $3, 'ended', $4, now() - interval '1 year') RETURNING id`, w.c.org.ID, w.a.org.ID, w.dorte.ID, w.c.org.CVR)
	for _, poa := range []uuid.UUID{offered, ended} {
		rlExec(t, db, `INSERT INTO poa_privileges (poa_id, org_id, privilege_id) VALUES ($1, $2, $3)`, poa, w.c.org.ID, w.read)
	}
	return w
}

// grantLine summarises a grant for comparison.
func grantLine(g rights.Grant) string {
	line := fmt.Sprintf("%s %s %s/%s/%s by %q", g.Source, g.Privilege.URI, g.Scope.Kind, g.Scope.Value, g.ScopeCVR, g.GrantorName)
	if len(g.Constraints) > 0 {
		line += fmt.Sprintf(" %v", g.Constraints)
	}
	if g.ValidTo != nil {
		line += " until set"
	}
	if g.Group != nil {
		line += fmt.Sprintf(" group %q of %q", g.Group.Name, g.Group.OrgName)
		if r := g.Group.Restriction; r != nil {
			line += fmt.Sprintf(" restricted %s/%s", r.Kind, r.Value)
		}
	}
	if p := g.PoA; p != nil {
		line += fmt.Sprintf(" poa %s from %q %s", p.Status, p.GrantorName, p.GrantorCVR)
		if p.ValidTo != nil {
			line += " until set"
		}
	}
	return line
}

func TestRightsStoreLoadsEveryWayOfHolding(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	w := newRightsWorld(t, db)
	store := postgres.NewRightsStore(db)
	ctx := context.Background()

	id, err := store.LoadIdentity(ctx, w.dorte.ID)
	if err != nil {
		t.Fatalf("LoadIdentity: %v", err)
	}
	if id.UserID != w.dorte.ID || id.OrgID != w.a.org.ID || id.OrgCVR != w.a.org.CVR || id.Status != domain.UserActive {
		t.Errorf("identity: got %+v, want dorte of A, active", id)
	}
	a, b, c := w.a.org, w.b.org, w.c.org
	// By source (assigned to her, through groups, naming her), then URI.
	want := []string{
		fmt.Sprintf(`poa %s cvr/%s/%s by %q poa active from %q %s until set`, rlVAT, c.CVR, c.CVR, a.Name, c.Name, c.CVR),
		fmt.Sprintf(`direct %s cvr/%s/%s by %q map[urn:dk:kombit:KLE:25.*] until set`, rlRead, a.CVR, a.CVR, a.Name),
		fmt.Sprintf(`direct %s p/%s/%s by %q`, rlWrite, w.a.unit.PNumber, a.CVR, a.Name),
		fmt.Sprintf(`group %s cvr/%s/%s by %q group "Bogholderi" of %q restricted p/%s`, rlVAT, a.CVR, a.CVR, a.Name, a.Name, w.a.unit.PNumber),
		fmt.Sprintf(`group %s se/30000002/ by %q group "Revision" of %q`, rlRead, b.Name, b.Name),
		fmt.Sprintf(`poa_person %s p/%s/%s by %q map[urn:dk:kombit:KLE:26.*] poa active from %q %s`, rlWrite, w.c.unit.PNumber, c.CVR, c.Name, c.Name, c.CVR),
	}
	var got []string
	for _, g := range id.Grants {
		got = append(got, grantLine(g))
	}
	if !slices.Equal(got, want) {
		t.Errorf("grants:\ngot  %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	ids := map[string]uuid.UUID{}
	for _, g := range id.Grants {
		ids[g.ID] = g.Privilege.ID
		if g.Privilege.ITSystemName != "Sagssystem" || g.Privilege.ProviderName != w.provider.org.Name || g.Privilege.ITSystemID == uuid.Nil {
			t.Errorf("grant %s: got system %q of %q, want Sagssystem of the provider", g.ID, g.Privilege.ITSystemName, g.Privilege.ProviderName)
		}
	}
	for _, assignment := range []uuid.UUID{w.directCVR, w.directP, w.viaAGroup, w.viaBGroup, w.passedOn} {
		if _, ok := ids[assignment.String()]; !ok {
			t.Errorf("assignment %s: missing from the grants %v", assignment, slices.Collect(maps.Keys(ids)))
		}
	}
	if _, ok := ids["poa:"+w.poaToDorte.String()+":"+w.write.String()]; !ok {
		t.Errorf("the power of attorney naming dorte: missing from the grants %v", slices.Collect(maps.Keys(ids)))
	}

	_, err = store.LoadIdentity(ctx, uuid.New())
	wantCode(t, "LoadIdentity of nobody", err, domain.ENOTFOUND)

	for _, tt := range []struct {
		scope    domain.Scope
		want     string
		wantCode string
	}{
		{domain.Scope{Kind: domain.ScopeP, Value: w.a.unit.PNumber}, a.CVR, ""},
		{domain.Scope{Kind: domain.ScopeSE, Value: w.aSE}, a.CVR, ""},
		{domain.Scope{Kind: domain.ScopeCVR, Value: b.CVR}, b.CVR, ""},
		{domain.Scope{Kind: domain.ScopeP, Value: "1999999999"}, "", domain.ENOTFOUND},
		{domain.Scope{Kind: domain.ScopeSE, Value: "39999999"}, "", domain.ENOTFOUND},
	} {
		got, err := store.ScopeCVR(ctx, tt.scope)
		if got != tt.want || domain.ErrorCode(err) != tt.wantCode {
			t.Errorf("ScopeCVR(%v): got %q, %v; want %q, code %q", tt.scope, got, err, tt.want, tt.wantCode)
		}
	}
}

// An ended power of attorney naming the user stays among her grants for a
// while, so the policy can say why it no longer counts.
func TestRightsStoreShowsARecentlyEndedPowerOfAttorney(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	w := newRightsWorld(t, db)
	rlExec(t, db, `UPDATE powers_of_attorney SET status = 'ended', ended_at = now() WHERE id = $1`, w.poaToDorte)
	svc := rights.NewService(rlPolicy(t), postgres.NewRightsStore(db))
	got, err := svc.Effective(context.Background(), w.dorte.ID, domain.LoAHigh, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range got {
		if e.Grant.Source == rights.SourcePoAPerson {
			found = true
			if e.InEffect || len(e.Reasons) != 1 || e.Reasons[0].Code != rights.CodePoAEnded {
				t.Errorf("ended power of attorney: got in effect %v, reasons %+v; want %s", e.InEffect, e.Reasons, rights.CodePoAEnded)
			}
		} else if !e.InEffect {
			t.Errorf("grant %s: got not in effect (%+v), want in effect", e.Grant.ID, e.Reasons)
		}
	}
	if !found {
		t.Errorf("got no grant of the ended power of attorney, want one")
	}
}

// The loader's queries use the indexes on the user, never a scan of the
// assignments, memberships or powers of attorney, once those tables hold more
// than a handful of rows.
func TestRightsStoreQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	w := newRightsWorld(t, db)
	rlExec(t, db, `INSERT INTO users (org_id, first_name, last_name, email, birth_date, status, activated_at)
		SELECT $1, 'Bruger', 'Nr' || n, 'bruger' || n || '@example.dk', DATE '1980-01-01', 'active', now()
		FROM generate_series(1, 3000) n`, w.a.org.ID)
	rlExec(t, db, `INSERT INTO privilege_assignments (org_id, privilege_id, user_id, scope_value)
		SELECT org_id, $2, id, $3 FROM users WHERE org_id = $1`, w.a.org.ID, w.read, w.a.org.CVR)
	rlExec(t, db, `INSERT INTO group_members (org_id, group_id, user_id, member_org_id)
		SELECT org_id, $2, id, org_id FROM users WHERE org_id = $1 AND id <> $3`, w.a.org.ID, w.aGroup, w.dorte.ID)
	rlExec(t, db, `INSERT INTO powers_of_attorney (org_id, grantee_org_id, grantee_user_id, status, scope_value)
		SELECT $2, org_id, id, 'active', $3 FROM users WHERE org_id = $1`, w.a.org.ID, w.c.org.ID, w.c.org.CVR)
	rlExec(t, db, "ANALYZE")

	plan, err := postgres.NewRightsStore(db).ExplainLoadIdentity(context.Background(), w.dorte.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, index := range []string{"privilege_assignments_user_idx", "group_members_user_idx", "powers_of_attorney_grantee_user_idx"} {
		if !strings.Contains(plan, index) {
			t.Errorf("the plan does not use %s:\n%s", index, plan)
		}
	}
	for _, table := range []string{"privilege_assignments", "group_members", "powers_of_attorney", "users"} {
		if strings.Contains(plan, "Seq Scan on "+table+" ") {
			t.Errorf("the plan scans %s:\n%s", table, plan)
		}
	}
}

var rlPolicy = func() func(testing.TB) *rights.Policy {
	once := sync.OnceValues(func() (*rights.Policy, error) { return rights.NewPolicy(context.Background(), authz.Options{}) })
	return func(t testing.TB) *rights.Policy {
		t.Helper()
		p, err := once()
		if err != nil {
			t.Fatalf("NewPolicy: %v", err)
		}
		return p
	}
}()

// TestRightsNotifications: each change that reaches a grant signals exactly
// what it concerns; other changes signal nothing.
func TestRightsNotifications(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	w := newRightsWorld(t, db)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := db.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	listener := conn.Hijack()
	defer listener.Close(context.Background())
	if _, err := listener.Exec(ctx, "LISTEN "+rights.Channel); err != nil {
		t.Fatal(err)
	}
	u := func(id uuid.UUID) string { return "u:" + id.String() }
	steps := []struct {
		name string
		sql  string
		args []any
		want []string
	}{
		{"a new user and a renamed one", `WITH n AS (INSERT INTO users (org_id, first_name, last_name, email, birth_date)
			VALUES ($1, 'Ny', 'Bruger', 'ny@example.dk', DATE '1990-01-01') RETURNING id)
			UPDATE users SET last_name = 'Hansen' WHERE id = $2`, []any{w.a.org.ID, w.dorte.ID}, nil},
		{"a deactivated user", `UPDATE users SET status = 'deactivated', deactivated_at = now() WHERE id = $1`, []any{w.dorte.ID},
			[]string{u(w.dorte.ID)}},
		{"a status set to what it was", `UPDATE users SET status = 'deactivated' WHERE id = $1`, []any{w.dorte.ID}, nil},
		{"a removed assignment", `DELETE FROM privilege_assignments WHERE id = $1`, []any{w.directCVR}, []string{u(w.dorte.ID)}},
		{"a group's restriction lifted", `UPDATE user_groups SET production_unit_id = NULL WHERE id = $1`, []any{w.aGroup},
			[]string{"g:" + w.aGroup.String()}},
		{"a group's description", `UPDATE user_groups SET description = 'x' WHERE id = $1`, []any{w.aGroup}, nil},
		{"an assignment to a group", `INSERT INTO privilege_assignments (org_id, privilege_id, group_id, scope_value) VALUES ($1, $2, $3, $4)`,
			[]any{w.b.org.ID, w.vat, w.bGroup, w.b.org.CVR}, []string{"g:" + w.bGroup.String()}},
		{"a member leaves a group", `DELETE FROM group_members WHERE group_id = $1 AND user_id = $2`, []any{w.bGroup, w.dorte.ID},
			[]string{u(w.dorte.ID)}},
		{"a retired privilege", `UPDATE privileges SET status = 'retired' WHERE id = $1`, []any{w.write}, []string{"p:" + w.write.String()}},
		{"a privilege's description", `UPDATE privileges SET description_en = 'x' WHERE id = $1`, []any{w.write}, nil},
		{"an ended power of attorney", `UPDATE powers_of_attorney SET status = 'ended', ended_at = now() WHERE id = $1`, []any{w.poaToA},
			[]string{"a:" + w.poaToA.String()}},
		{"a privilege taken off a power of attorney naming a person", `DELETE FROM poa_privileges WHERE poa_id = $1`, []any{w.poaToDorte},
			[]string{"a:" + w.poaToDorte.String(), u(w.dorte.ID)}},
		{"a renamed IT system", `UPDATE it_systems SET name = 'Sager' WHERE org_id = $1`, []any{w.provider.org.ID},
			[]string{"p:" + w.read.String(), "p:" + w.vat.String(), "p:" + w.write.String()}},
		{"a renamed organisation", `UPDATE organisations SET name = 'Nyt navn' WHERE id = $1`, []any{w.c.org.ID}, []string{"*"}},
		{"an organisation's settings", `UPDATE organisations SET allow_private_mitid = true WHERE id = $1`, []any{w.c.org.ID}, nil},
		{"a deleted user", `DELETE FROM users WHERE id = $1`, []any{w.colleague.ID}, []string{u(w.colleague.ID)}},
	}
	for i, step := range steps {
		if _, err := db.SQL().ExecContext(ctx, step.sql, step.args...); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		// A marker sent after the change ends what the change signalled.
		marker := fmt.Sprintf("marker:%d", i)
		if _, err := db.SQL().ExecContext(ctx, "SELECT pg_notify($1, $2)", rights.Channel, marker); err != nil {
			t.Fatal(err)
		}
		var got []string
		for {
			n, err := listener.WaitForNotification(ctx)
			if err != nil {
				t.Fatalf("%s: waiting for notifications: %v", step.name, err)
			}
			if n.Payload == marker {
				break
			}
			got = append(got, n.Payload)
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(step.want))
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", step.name, got, want)
		}
	}
}

type countingStore struct {
	rights.Store
	loads atomic.Int64
}

func (s *countingStore) LoadIdentity(ctx context.Context, user uuid.UUID) (*rights.Identity, error) {
	s.loads.Add(1)
	return s.Store.LoadIdentity(ctx, user)
}

// replica is one server's rights service: its own pool, cache and listener.
type replica struct {
	svc   *rights.Service
	store *countingStore
}

func newReplica(t *testing.T, url string) replica {
	t.Helper()
	db, err := postgres.Open(context.Background(), url, nil, postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	store := &countingStore{Store: postgres.NewRightsStore(db)}
	svc := rights.NewService(rlPolicy(t), store)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Listen(ctx, db.Pool()) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Listen: %v", err)
		}
	})
	select {
	case <-svc.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the listener did not start")
	}
	return replica{svc: svc, store: store}
}

// eventually polls cond until it holds or a deadline passes; the caller then
// asserts the final state.
func eventually(cond func() bool) {
	deadline := time.Now().Add(5 * time.Second)
	for !cond() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRightsChangesReachEveryReplica: two services, as on two servers, each
// with its own cache and listener. A change committed through SQL (as any
// replica or an operator would make it) reaches both caches, also after the
// listeners lost their connections.
func TestRightsChangesReachEveryReplica(t *testing.T) {
	t.Parallel()
	url := dbtest.NewURL(t)
	setup, err := postgres.Open(context.Background(), url, nil, postgres.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = setup.Close() })
	w := newRightsWorld(t, setup)
	one, two := newReplica(t, url), newReplica(t, url)
	ctx := context.Background()
	q := rights.Question{UserID: w.dorte.ID, Privilege: rlRead, Level: domain.LoASubstantial,
		Constraints: map[string]string{testKLE: "25.02"}}
	decide := func(r replica) rights.Decision {
		t.Helper()
		d, err := r.svc.Decide(ctx, q)
		if err != nil {
			t.Fatalf("Decide: %v", err)
		}
		return d
	}
	for _, r := range []replica{one, two} {
		for range 2 {
			if d := decide(r); !d.Allow {
				t.Fatalf("before: got %+v, want an allow", d)
			}
		}
		if got := r.store.loads.Load(); got != 1 {
			t.Errorf("two decisions: got %d loads, want 1 (the second from the cache)", got)
		}
	}

	rlExec(t, setup, `DELETE FROM privilege_assignments WHERE id = $1`, w.directCVR)
	for i, r := range []replica{one, two} {
		eventually(func() bool { return !decide(r).Allow })
		if d := decide(r); d.Allow {
			t.Errorf("replica %d after the removal: got %+v, want a denial", i+1, d)
		}
	}

	// Cut both listeners off, then change something while they reconnect:
	// whatever they cached before must not outlive the gap.
	q.Privilege, q.Scope = rlVAT, &domain.Scope{Kind: domain.ScopeP, Value: w.a.unit.PNumber}
	for _, r := range []replica{one, two} {
		if d := decide(r); !d.Allow {
			t.Fatalf("before the cut: got %+v, want an allow", d)
		}
	}
	rlExec(t, setup, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query = 'LISTEN '||$1`, rights.Channel)
	rlExec(t, setup, `UPDATE users SET status = 'deactivated', deactivated_at = now() WHERE id = $1`, w.dorte.ID)
	for i, r := range []replica{one, two} {
		eventually(func() bool { return !decide(r).Allow })
		d := decide(r)
		if d.Allow || len(d.Reasons) != 1 || d.Reasons[0].Code != rights.CodeIdentityNotActive {
			t.Errorf("replica %d after the cut: got %+v, want a denial with %s", i+1, d, rights.CodeIdentityNotActive)
		}
		eventually(r.svc.Listening)
		if !r.svc.Listening() {
			t.Errorf("replica %d: got no listener back after the cut", i+1)
		}
	}
}
