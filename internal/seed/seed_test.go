package seed_test

import (
	"context"
	"strings"
	"testing"

	"github.com/erhverv/erhverv/internal/dbtest"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/seed"
)

// tables whose row counts (and content digests) must not move on a second run.
var tables = []string{"organisations", "production_units", "se_numbers", "users", "person_links", "admin_roles",
	"user_groups", "group_members", "it_systems", "privileges", "privilege_assignments", "powers_of_attorney", "poa_privileges", "audit_events"}

func snapshot(t *testing.T, db *postgres.DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tbl := range tables {
		var digest string
		// md5 of every row's text, in a fixed order: any changed value shows.
		q := "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM " + tbl + " t"
		if tbl == "users" {
			// the sealed CPR uses a random nonce per write; compare everything else
			q = "SELECT count(*) || ':' || coalesce(md5(string_agg((t.id, t.org_id, t.first_name, t.email, t.status, t.version, t.cpr_hmac, t.updated_at)::text, '|' ORDER BY t.id)), '') FROM users t"
		}
		if err := db.SQL().QueryRowContext(context.Background(), q).Scan(&digest); err != nil {
			t.Fatalf("snapshot %s: %v", tbl, err)
		}
		out[tbl] = digest
	}
	return out
}

func TestDemoSeedIsIdempotent(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := context.Background()
	first, err := seed.Demo(ctx, db, "")
	if err != nil {
		t.Fatalf("first run: %v", err)
	}
	if !strings.Contains(first, "objects created") {
		t.Errorf("first run report: got %q, want it to say objects were created", first)
	}
	before := snapshot(t, db)
	second, err := seed.Demo(ctx, db, "")
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	if !strings.Contains(second, "nothing changed") {
		t.Errorf("second run report: got %q, want it to say nothing changed", second)
	}
	after := snapshot(t, db)
	for _, tbl := range tables {
		if before[tbl] != after[tbl] {
			t.Errorf("table %s changed on the second run: got %s, want %s", tbl, after[tbl], before[tbl])
		}
	}
}

func TestDemoSeedContent(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := context.Background()
	if _, err := seed.Demo(ctx, db, ""); err != nil {
		t.Fatal(err)
	}
	nordlys := seed.ID("org:" + seed.CVRNordlys)
	var statuses []string
	rows, err := db.SQL().QueryContext(ctx, "SELECT DISTINCT status FROM users WHERE org_id = $1 ORDER BY 1", nordlys)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		statuses = append(statuses, s)
	}
	rows.Close()
	if got, want := strings.Join(statuses, ","), "active,deactivated,deleted,pending"; got != want {
		t.Errorf("Nordlys user statuses: got %s, want %s", got, want)
	}
	roles := postgres.NewAdminRoleService(db)
	for _, role := range domain.AdminRoles {
		var n int
		if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM admin_roles WHERE org_id = $1 AND role = $2", nordlys, role).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Errorf("Nordlys has no %s", role)
		}
	}
	if n, err := roles.CountActiveOrgAdmins(ctx, nordlys, db.Now()); err != nil || n != 1 {
		t.Errorf("Nordlys active organisation administrators: got %d (%v), want 1 (the other one has expired)", n, err)
	}
	ids, err := postgres.NewUserService(db).FindIdentitiesOfPerson(ctx, seed.BrokerIssuer, "demo-mette")
	if err != nil || len(ids) != 2 {
		t.Errorf("demo-mette's business identities: got %d (%v), want 2", len(ids), err)
	}
	for _, org := range []string{seed.CVRNordlys, seed.CVRSkattefar, seed.CVRHavbryg} {
		id := seed.ID("org:" + org)
		v, err := postgres.NewAuditLog(db).VerifyAudit(ctx, &id)
		if err != nil || !v.OK || v.Events == 0 {
			t.Errorf("audit chain of %s: got %+v (%v), want OK with events", org, v, err)
		}
	}
}
