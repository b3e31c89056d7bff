package authz

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"
)

// testNow is the clock of the test engine and the "now" of the testdata.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// sharedEngine is created once: preparing the policy is the slow part.
var sharedEngine = sync.OnceValues(func() (*Engine, error) {
	return New(context.Background(), Options{Now: func() time.Time { return testNow }})
})

func testEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := sharedEngine()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

type replayCase struct {
	Name     string   `json:"name"`
	Input    Input    `json:"input"`
	Decision Decision `json:"decision"`
}

func loadCases(t testing.TB) []replayCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("got testdata files %v (%v), want some", files, err)
	}
	var cases []replayCase
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("read %s: %v", file, err)
		}
		var fileCases []replayCase
		if err := json.Unmarshal(b, &fileCases); err != nil {
			t.Fatalf("decode %s: %v", file, err)
		}
		for _, c := range fileCases {
			c.Name = strings.TrimSuffix(filepath.Base(file), ".json") + "/" + c.Name
			cases = append(cases, c)
		}
	}
	return cases
}

// TestReplay replays the input/decision pairs of testdata through the embedded
// policy, the same way the server asks.
func TestReplay(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	for _, c := range loadCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			got, err := e.Decide(t.Context(), c.Input)
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if !reflect.DeepEqual(got, c.Decision) {
				t.Errorf("got %+v, want %+v", got, c.Decision)
			}
		})
	}
}

// TestReplayCoversEveryCode keeps the testdata honest: every reason code the
// policy can give appears in at least one replayed decision.
func TestReplayCoversEveryCode(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, c := range loadCases(t) {
		for _, code := range c.Decision.Codes() {
			seen[code] = true
		}
	}
	for _, code := range []string{
		CodeRoleGrantsAction, CodeSubjectInactive, CodeUnknownAction, CodeTenantIsolation,
		CodeNoRole, CodeRoleNotYetValid, CodeRoleExpired, CodeUnitScope, CodeOwnRequest,
		CodeUserAdminCannotApprove, CodeOnlyOrgAdminGrantsRoles, CodeLastOrgAdmin,
	} {
		if !seen[code] {
			t.Errorf("no testdata case gives %s", code)
		}
	}
}

// TestValueMatchesJSON holds the hand-built AST input equal to what the JSON
// encoding of the same Input would give the policy.
func TestValueMatchesJSON(t *testing.T) {
	t.Parallel()
	yes := true
	inputs := []Input{
		{},
		{
			Subject: Subject{UserID: "u", OrgID: "o", Status: StatusActive, Roles: []RoleGrant{
				{Role: RoleUserAdmin, OrgID: "o", UnitID: "p",
					ValidFrom: time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("CET", 3600)), ValidTo: testNow},
				{Role: RoleOrgAdmin, OrgID: "o"},
			}},
			Action: ActionAdminRoleRemove,
			Resource: Resource{Type: "admin_role", OrgID: "o", ID: "i", UnitID: "p", OwnerID: "w",
				RequesterID: "r", RequestKind: RequestKindAdminRole, Role: RoleOrgAdmin, IsActiveOrgAdmin: &yes},
			Context: Context{Now: testNow, ActiveOrgAdmins: 3},
		},
	}
	for _, c := range loadCases(t) {
		inputs = append(inputs, c.Input)
	}
	for i, in := range inputs {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatalf("input %d: marshal: %v", i, err)
		}
		var doc any
		if err := util.UnmarshalJSON(b, &doc); err != nil {
			t.Fatalf("input %d: unmarshal: %v", i, err)
		}
		want, err := ast.InterfaceToValue(doc)
		if err != nil {
			t.Fatalf("input %d: to value: %v", i, err)
		}
		if got := in.value(testEngine(t).words); got.Compare(want) != 0 {
			t.Errorf("input %d: got %v, want %v", i, got, want)
		}
	}
}

// TestActionsMatchCatalogue keeps the Action constants and the catalogue equal.
func TestActionsMatchCatalogue(t *testing.T) {
	t.Parallel()
	docs, err := loadFS(policyFS())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	catalogue, ok := lookup(docs.data, "erhverv", "catalogue", "actions").(map[string]any)
	if !ok {
		t.Fatalf("got no data.erhverv.catalogue.actions, want the action catalogue")
	}
	known := map[string]bool{}
	for _, a := range allActions {
		known[a] = true
		if _, ok := catalogue[a]; !ok {
			t.Errorf("constant %q is not in the catalogue", a)
		}
	}
	for a := range catalogue {
		if !known[a] {
			t.Errorf("catalogue action %q has no constant", a)
		}
	}
}

func TestDecideFillsNowFromTheClock(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	in := Input{
		Subject:  Subject{UserID: "u", OrgID: "o", Status: StatusActive, Roles: []RoleGrant{{Role: RoleUserAdmin, OrgID: "o", ValidTo: testNow.Add(time.Second)}}},
		Action:   ActionUserUpdate,
		Resource: Resource{Type: "user", OrgID: "o", ID: "v"},
	}
	got, err := e.Decide(t.Context(), in)
	if err != nil {
		t.Fatalf("Decide: %v", err)
	}
	if !got.Allow {
		t.Errorf("got %+v, want an allow by the role valid one second past the clock", got)
	}
}

func TestDecideIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	cases := loadCases(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				c := cases[(g*50+i)%len(cases)]
				got, err := e.Decide(context.Background(), c.Input)
				if err != nil {
					t.Errorf("%s: Decide: %v", c.Name, err)
					return
				}
				if got.Allow != c.Decision.Allow {
					t.Errorf("%s: got allow %v, want %v", c.Name, got.Allow, c.Decision.Allow)
				}
			}
		})
	}
	wg.Wait()
}

func TestDecideHonoursCancellation(t *testing.T) {
	t.Parallel()
	e := testEngine(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	got, err := e.Decide(ctx, loadCases(t)[0].Input)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %+v and error %v, want %v", got, err, context.Canceled)
	}
	if got.Allow {
		t.Errorf("got allow with error %v, want deny", err)
	}
}
