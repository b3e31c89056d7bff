package rights

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
)

// codes returns [grant, code] pairs, the shape the cases are written in.
func pairs(reasons []Reason) [][2]string {
	out := make([][2]string, len(reasons))
	for i, r := range reasons {
		out[i] = [2]string{r.Grant, r.Code}
	}
	return out
}

// TestDecisionsThroughTheEngine replays questions through the service, its
// Go-built input and the embedded policy: the same rules as the Rego tests,
// seen from the Go side.
func TestDecisionsThroughTheEngine(t *testing.T) {
	t.Parallel()
	p := unitScope
	otherUnit := domain.Scope{Kind: domain.ScopeP, Value: otherP}
	secondUnit := domain.Scope{Kind: domain.ScopeP, Value: secondP}
	se := domain.Scope{Kind: domain.ScopeSE, Value: unitSE}
	other := cvrScope(otherCVR)
	high := func(g Grant) Grant { g.Privilege.MinLoA = domain.LoAHigh; return g }
	retired := func(g Grant) Grant { g.Privilege.Status = "retired"; return g }
	scoped := func(g Grant, s domain.Scope, cvr string) Grant { g.Scope, g.ScopeCVR = s, cvr; return g }
	constrained := func(g Grant, c map[string]string) Grant { g.Constraints = c; return g }
	person := func(g Grant) Grant { g.Source = SourcePoAPerson; return g }

	tests := []struct {
		name      string
		status    string
		grants    []Grant
		q         Question
		wantAllow bool
		want      [][2]string
	}{
		{name: "direct grant", grants: []Grant{direct("a", uriMoms)},
			wantAllow: true, want: [][2]string{{"a", CodeGrantDirect}}},
		{name: "expired grant", grants: []Grant{window(direct("a", uriMoms), &past, &testNow)},
			want: [][2]string{{"a", CodeGrantExpired}}},
		{name: "grant not valid yet", grants: []Grant{window(direct("a", uriMoms), &soon, nil)},
			want: [][2]string{{"a", CodeGrantNotYetValid}}},
		{name: "grant inside its window", grants: []Grant{window(direct("a", uriMoms), &testNow, &soon)},
			wantAllow: true, want: [][2]string{{"a", CodeGrantDirect}}},
		{name: "deactivated user", status: "deactivated", grants: []Grant{direct("a", uriMoms)},
			want: [][2]string{{"", CodeIdentityNotActive}}},
		{name: "level too low", grants: []Grant{high(direct("a", uriMoms))},
			want: [][2]string{{"a", CodeLevelTooLow}}},
		{name: "level high enough", grants: []Grant{high(direct("a", uriMoms))}, q: Question{Level: domain.LoAHigh},
			wantAllow: true, want: [][2]string{{"a", CodeGrantDirect}}},
		{name: "retired privilege", grants: []Grant{retired(direct("a", uriMoms))},
			want: [][2]string{{"a", CodePrivilegeRetired}}},
		{name: "no grant of the privilege", grants: []Grant{direct("a", uriCase)},
			want: [][2]string{{"", CodeGrantNone}}},
		{name: "active power of attorney", grants: []Grant{viaPoA("a", uriMoms, "active", &past, &later)}, q: Question{Scope: &other},
			wantAllow: true, want: [][2]string{{"a", CodeGrantPoA}}},
		{name: "power of attorney naming the user", grants: []Grant{person(viaPoA("a", uriMoms, "active", nil, nil))}, q: Question{Scope: &other},
			wantAllow: true, want: [][2]string{{"a", CodeGrantPoAPerson}}},
		{name: "ended power of attorney", grants: []Grant{viaPoA("a", uriMoms, "ended", nil, nil)}, q: Question{Scope: &other},
			want: [][2]string{{"a", CodePoAEnded}}},
		{name: "expired power of attorney", grants: []Grant{viaPoA("a", uriMoms, "active", nil, &past)}, q: Question{Scope: &other},
			want: [][2]string{{"a", CodePoAExpired}}},
		{name: "power of attorney not valid yet", grants: []Grant{viaPoA("a", uriMoms, "active", &soon, nil)}, q: Question{Scope: &other},
			want: [][2]string{{"a", CodePoANotYetValid}}},
		{name: "power of attorney only offered", grants: []Grant{viaPoA("a", uriMoms, "offered", nil, nil)}, q: Question{Scope: &other},
			want: [][2]string{{"a", CodePoANotActive}}},
		{name: "constraint prefix matches", grants: []Grant{constrained(direct("a", uriMoms), map[string]string{typeKLE: "25.*"})},
			q:         Question{Constraints: map[string]string{typeKLE: "25.02.01"}},
			wantAllow: true, want: [][2]string{{"a", CodeGrantDirect}}},
		{name: "constraint mismatch", grants: []Grant{constrained(direct("a", uriMoms), map[string]string{typeKLE: "25.*"})},
			q:    Question{Constraints: map[string]string{typeKLE: "26.01"}},
			want: [][2]string{{"a", CodeConstraintMismatch}}},
		{name: "constraint missing", grants: []Grant{constrained(direct("a", uriMoms), map[string]string{typeKLE: "25.*"})},
			want: [][2]string{{"a", CodeConstraintMissing}}},
		{name: "unconstrained type is free", grants: []Grant{direct("a", uriMoms)},
			q:         Question{Constraints: map[string]string{typeKLE: "99"}},
			wantAllow: true, want: [][2]string{{"a", CodeGrantDirect}}},
		{name: "group restricted to the asked unit", grants: []Grant{viaGroup("a", uriMoms, &unitScope)}, q: Question{Scope: &p},
			wantAllow: true, want: [][2]string{{"a", CodeGrantGroup}}},
		{name: "group restricted, asked for the CVR", grants: []Grant{viaGroup("a", uriMoms, &unitScope)},
			want: [][2]string{{"a", CodeGroupRestricted}}},
		{name: "group restricted, asked for another unit", grants: []Grant{viaGroup("a", uriMoms, &unitScope)}, q: Question{Scope: &otherUnit},
			want: [][2]string{{"a", CodeScopeMismatch}, {"a", CodeGroupRestricted}}},
		{name: "group restricted, asked for another unit of the CVR", grants: []Grant{viaGroup("a", uriMoms, &unitScope)}, q: Question{Scope: &secondUnit},
			want: [][2]string{{"a", CodeGroupRestricted}}},
		{name: "CVR grant covers its P-number", grants: []Grant{direct("a", uriMoms)}, q: Question{Scope: &p},
			wantAllow: true, want: [][2]string{{"a", CodeGrantDirect}}},
		{name: "CVR grant covers its SE-number", grants: []Grant{direct("a", uriMoms)}, q: Question{Scope: &se},
			wantAllow: true, want: [][2]string{{"a", CodeGrantDirect}}},
		{name: "P grant does not cover the CVR", grants: []Grant{scoped(direct("a", uriMoms), p, orgCVR)},
			want: [][2]string{{"a", CodeScopeMismatch}}},
		{name: "P grant covers its P-number", grants: []Grant{scoped(direct("a", uriMoms), p, orgCVR)}, q: Question{Scope: &p},
			wantAllow: true, want: [][2]string{{"a", CodeGrantDirect}}},
		{name: "CVR grant does not cover another CVR", grants: []Grant{direct("a", uriMoms)}, q: Question{Scope: &other},
			want: [][2]string{{"a", CodeScopeMismatch}}},
		{name: "CVR grant does not cover another CVR's unit", grants: []Grant{direct("a", uriMoms)}, q: Question{Scope: &otherUnit},
			want: [][2]string{{"a", CodeScopeMismatch}}},
		{name: "one grant fails, another allows",
			grants:    []Grant{window(direct("a", uriMoms), nil, &past), viaGroup("b", uriMoms, nil), direct("c", uriCase)},
			wantAllow: true, want: [][2]string{{"b", CodeGrantGroup}}},
		{name: "every failing grant explains itself",
			grants: []Grant{window(direct("a", uriMoms), nil, &past), viaPoA("b", uriMoms, "ended", nil, nil)},
			want:   [][2]string{{"a", CodeGrantExpired}, {"b", CodePoAEnded}, {"b", CodeScopeMismatch}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status := tt.status
			if status == "" {
				status = "active"
			}
			id := identity(status, tt.grants...)
			s := NewServiceWithOptions(testPolicy(t), newFakeStore(id), Options{CacheUnlistened: true})
			q := tt.q
			q.UserID, q.Privilege, q.Now = id.UserID, uriMoms, testNow
			if q.Level == "" {
				q.Level = domain.LoASubstantial
			}
			got, err := s.Decide(context.Background(), q)
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if got.Allow != tt.wantAllow || !slices.Equal(pairs(got.Reasons), tt.want) {
				t.Errorf("got allow %v, reasons %v; want allow %v, reasons %v", got.Allow, pairs(got.Reasons), tt.wantAllow, tt.want)
			}
			for _, r := range got.Reasons {
				if r.Message == "" {
					t.Errorf("reason %s has no message", r.Code)
				}
			}
		})
	}
}

func TestEffectiveThroughTheEngine(t *testing.T) {
	t.Parallel()
	highPriv := direct("high", uriCase)
	highPriv.Privilege.MinLoA = domain.LoAHigh
	expired := direct("expired", uriMoms)
	expired.ValidTo = &past
	id := identity("active", direct("direct", uriMoms), expired, highPriv,
		viaGroup("restricted", uriMoms, &unitScope), viaPoA("ended", uriMoms, "ended", nil, nil))
	s := NewServiceWithOptions(testPolicy(t), newFakeStore(id), Options{CacheUnlistened: true})

	type verdict struct {
		grant    string
		inEffect bool
		codes    string
	}
	flatten := func(es []Effective) []verdict {
		out := make([]verdict, len(es))
		for i, e := range es {
			var codes []string
			for _, r := range e.Reasons {
				codes = append(codes, r.Code)
				if r.Grant != e.Grant.ID {
					t.Errorf("reason %s of %s names grant %q", r.Code, e.Grant.ID, r.Grant)
				}
			}
			out[i] = verdict{e.Grant.ID, e.InEffect, fmtCodes(codes)}
		}
		return out
	}
	tests := []struct {
		level string
		want  []verdict
	}{
		{"", []verdict{{"direct", true, "grant.direct"}, {"expired", false, "grant.expired"}, {"high", true, "grant.direct"},
			{"restricted", true, "grant.group"}, {"ended", false, "poa.ended"}}},
		{domain.LoASubstantial, []verdict{{"direct", true, "grant.direct"}, {"expired", false, "grant.expired"}, {"high", false, "level.too_low"},
			{"restricted", true, "grant.group"}, {"ended", false, "poa.ended"}}},
	}
	for _, tt := range tests {
		got, err := s.Effective(context.Background(), id.UserID, tt.level, testNow)
		if err != nil {
			t.Fatalf("Effective(%q): %v", tt.level, err)
		}
		if g := flatten(got); !slices.Equal(g, tt.want) {
			t.Errorf("Effective(%q): got %v, want %v", tt.level, g, tt.want)
		}
	}
}

func fmtCodes(codes []string) string {
	out := ""
	for i, c := range codes {
		if i > 0 {
			out += ","
		}
		out += c
	}
	return out
}

// TestGrantTermShape pins the input shape the policy documents: open bounds
// are absent, times are nanoseconds, group and PoA only when present.
func TestGrantTermShape(t *testing.T) {
	t.Parallel()
	g := viaPoA("a", uriMoms, "active", &past, nil)
	g.Constraints = map[string]string{typeKLE: "25.*"}
	got := grantTerm(&g, newInterner(10))
	want := ast.MustParseTerm(`{
		"id": "a", "source": "poa",
		"privilege": {"uri": "urn:dk:skat:moms:indberet", "status": "active", "min_loa": "substantial"},
		"scope": {"kind": "cvr", "value": "22222228", "cvr": "22222228"},
		"constraints": {"urn:dk:kombit:KLE": "25.*"},
		"poa": {"id": "` + g.PoA.ID.String() + `", "status": "active", "valid_from": ` + ast.IntNumberTerm(int(past.UnixNano())).String() + `}
	}`)
	if !got.Equal(want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestNanosClampsFarDates(t *testing.T) {
	t.Parallel()
	if got, want := nanos(time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)), ast.IntNumberTerm(math.MaxInt64); !got.Equal(want) {
		t.Errorf("year 9999: got %v, want %v", got, want)
	}
	if got, want := nanos(time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)), ast.IntNumberTerm(math.MinInt64); !got.Equal(want) {
		t.Errorf("year 1000: got %v, want %v", got, want)
	}
}

func TestNewPolicyFailsWithoutItsEntryPoints(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "rights"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A module of the same path replaces the embedded one, taking the
	// decision away.
	err := os.WriteFile(filepath.Join(dir, "rights", "decision.rego"), []byte("package erhverv.rights\n\nnothing := true\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewPolicy(context.Background(), authz.Options{ExtraDir: dir}); err == nil {
		t.Errorf("got no error, want one about the missing %s", DecisionQuery)
	}
}
