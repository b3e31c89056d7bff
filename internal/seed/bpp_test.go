package seed_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/bpp"
	"github.com/erhverv/erhverv/internal/dbtest"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/rights"
	"github.com/erhverv/erhverv/internal/seed"
)

// TestDemoPrivilegeProfilesParseBack writes the privileges of the demo
// people as OIO Basic Privilege Profile documents, one per IT system as a
// login to that system would carry them, parses each back, and finds the
// same privileges for the same scopes and constraints as the policy's
// verdict on the grants in effect.
func TestDemoPrivilegeProfilesParseBack(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := context.Background()
	if _, err := seed.Demo(ctx, db, ""); err != nil {
		t.Fatal(err)
	}
	policy, err := rights.NewPolicy(ctx, authz.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := rights.NewService(policy, postgres.NewRightsStore(db))

	documents := 0
	for _, person := range []string{"lars", "sofie", "peter", "anders"} {
		effective, err := svc.Effective(ctx, seed.ID("user:"+person), domain.LoAHigh, time.Now())
		if err != nil {
			t.Fatalf("%s: %v", person, err)
		}
		want := map[uuid.UUID]map[string]bool{} // system → triples in effect
		for _, e := range effective {
			if !e.InEffect {
				continue
			}
			sys := e.Grant.Privilege.ITSystemID
			if want[sys] == nil {
				want[sys] = map[string]bool{}
			}
			scope := e.Grant.Scope
			if g := e.Grant.Group; g != nil && g.Restriction != nil {
				scope = *g.Restriction
			}
			want[sys][triple(scope.URI(), e.Grant.Constraints, e.Grant.Privilege.URI)] = true
		}
		if len(want) == 0 {
			t.Errorf("%s holds no privilege in the demo data; the test would prove nothing", person)
		}
		for sys, triples := range want {
			doc := rights.Profile(effective, sys)
			xml, err := bpp.Marshal(doc)
			if err != nil {
				t.Fatalf("%s, system %s: marshal: %v", person, sys, err)
			}
			back, err := bpp.Parse(xml)
			if err != nil {
				t.Fatalf("%s, system %s: the document does not parse back: %v\n%s", person, sys, err, xml)
			}
			got := map[string]bool{}
			for _, g := range back.Groups {
				cs := map[string]string{}
				for _, c := range g.Constraints {
					cs[c.Name] = c.Value
				}
				for _, p := range g.Privileges {
					got[triple(g.Scope, cs, p)] = true
				}
			}
			if !maps.Equal(got, triples) {
				t.Errorf("%s, system %s: parsed back %v, want %v\n%s", person, sys, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(triples)), xml)
			}
			documents++
		}
	}
	if documents < 4 {
		t.Errorf("only %d documents were written; the demo data should give each person at least one", documents)
	}
}

func triple(scope string, constraints map[string]string, privilege string) string {
	var b strings.Builder
	b.WriteString(scope + " ")
	for _, k := range slices.Sorted(maps.Keys(constraints)) {
		b.WriteString(k + "=" + constraints[k] + " ")
	}
	return b.String() + privilege
}
