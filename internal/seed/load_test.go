package seed_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/dbtest"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/rights"
	"github.com/erhverv/erhverv/internal/seed"
)

// TestLoad seeds a small load-test data set and checks the counts, the API
// client, and that the runtime rights service answers every question the
// load generator can ask as the plan expects: the generator counts any other
// answer as a failure.
func TestLoad(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := context.Background()
	opts := seed.LoadOptions{Users: 120, Assignments: 500, Groups: 10, RateLimit: 5000}
	sum, err := seed.Load(ctx, db, opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !sum.Inserted {
		t.Errorf("first Load: Inserted is false, want true")
	}
	plan := sum.Plan
	for _, c := range []struct {
		what      string
		got, want int
	}{
		{"active users", sum.Users, 120},
		{"groups", sum.Groups, 10},
		{"memberships", sum.Memberships, 240},
		{"privileges", sum.Privileges, seed.LoadPrivileges},
		{"group assignments", sum.GroupAssignments, 20},
		{"direct assignments", sum.DirectAssignments, 480},
		{"assignments", sum.Assignments(), 500},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %d, want %d", c.what, c.got, c.want)
		}
	}

	client := sum.Client
	if client == nil || client.OrgID != plan.ProviderID() || client.RateLimit != 5000 || !slices.Equal(client.Scopes, domain.APIScopes) {
		t.Fatalf("client: got %+v, want the provider's with every scope and rate limit 5000", client)
	}
	stored, err := postgres.NewAPIClients(db).FindForAuth(ctx, client.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sum.Secret, postgres.SecretPrefix) || !bytes.Equal(stored.SecretHash, postgres.HashSecret(sum.Secret)) {
		t.Errorf("secret %q does not match the stored hash", sum.Secret)
	}

	policy, err := rights.NewPolicy(ctx, authz.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The data never changes behind the service's back in this test.
	svc := rights.NewServiceWithOptions(policy, postgres.NewRightsStore(db), rights.Options{CacheUnlistened: true})
	codes := map[string]int{}
	allows := 0
	for i := range plan.Users {
		for k := range seed.LoadPrivileges {
			for _, atUnit := range []bool{false, true} {
				q := rights.Question{UserID: plan.UserID(i), Privilege: plan.PrivilegeURI(k), Level: seed.LoadLevel}
				if atUnit {
					q.Scope = &domain.Scope{Kind: domain.ScopeP, Value: plan.UnitPNumber(plan.UserUnit(i))}
				}
				if plan.PrivilegeConstrained(k) {
					q.Constraints = map[string]string{domain.ConstraintKLE: seed.LoadKLE}
				}
				d, err := svc.Decide(ctx, q)
				if err != nil {
					t.Fatalf("user %d, privilege %d, at unit %t: %v", i, k, atUnit, err)
				}
				if want := plan.Expect(i, k, atUnit); d.Allow != want {
					t.Errorf("user %d, privilege %d, at unit %t: got allow %t (%+v), want %t", i, k, atUnit, d.Allow, d.Reasons, want)
				}
				if d.Allow {
					allows++
				}
				for _, r := range d.Reasons {
					codes[r.Code]++
				}
			}
		}
	}
	// The data set exercises every way of holding and of failing to hold.
	for _, code := range []string{rights.CodeGrantDirect, rights.CodeGrantGroup, rights.CodeGrantNone, rights.CodeLevelTooLow,
		rights.CodeGrantExpired, rights.CodeScopeMismatch, rights.CodeGroupRestricted} {
		if codes[code] == 0 {
			t.Errorf("no decision gave reason %s; reasons given: %v", code, codes)
		}
	}
	if allows == 0 {
		t.Errorf("no question allowed")
	}

	again, err := seed.Load(ctx, db, opts)
	if err != nil {
		t.Fatalf("second Load: %v", err)
	}
	if again.Inserted || again.Assignments() != 500 || again.Users != 120 {
		t.Errorf("second Load: got inserted %t, %d users, %d assignments; want nothing inserted, 120 and 500",
			again.Inserted, again.Users, again.Assignments())
	}
	if again.Client.ID == client.ID {
		t.Errorf("second Load: got the same client %s, want a new one", client.ID)
	}

	opts.Users = 121
	if _, err := seed.Load(ctx, db, opts); !errors.Is(err, seed.ErrLoadMismatch) {
		t.Errorf("Load of another size: got %v, want ErrLoadMismatch", err)
	}
}

func TestNewLoadPlan(t *testing.T) {
	t.Parallel()
	plan, err := seed.NewLoadPlan(seed.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Users != 50_000 || plan.Assignments != 250_000 || plan.Groups != 50 {
		t.Errorf("defaults: got %+v, want 50,000 users, 250,000 assignments, 50 groups", plan)
	}
	direct := 0
	for i := range plan.Users {
		n := plan.DirectCount(i)
		seen := map[int]bool{}
		for j := range n {
			seen[plan.DirectPrivilege(i, j)] = true
		}
		if len(seen) != n {
			t.Fatalf("user %d holds %d direct assignments of %d privileges: a privilege twice", i, n, len(seen))
		}
		if g := plan.UserGroups(i); g[0] == g[1] {
			t.Fatalf("user %d: in group %d twice", i, g[0])
		}
		direct += n
	}
	if direct != plan.DirectAssignments() {
		t.Errorf("direct assignments: got %d, want %d", direct, plan.DirectAssignments())
	}
	for _, c := range []struct {
		name string
		opts seed.LoadOptions
		want string
	}{
		{"negative users", seed.LoadOptions{Users: -1}, "want at least 1"},
		{"one group", seed.LoadOptions{Groups: 1}, "want at least 2"},
		{"fewer assignments than groups need", seed.LoadOptions{Users: 10, Groups: 10, Assignments: 19}, "two for each group"},
		{"too many for the users", seed.LoadOptions{Users: 10, Groups: 2, Assignments: 165}, "at most 16 a user"},
	} {
		if _, err := seed.NewLoadPlan(c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error saying %q", c.name, err, c.want)
		}
	}
}
