package rights

import (
	"maps"
	"math"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/erhverv/erhverv/internal/domain"
)

// The policy's input is built directly as OPA values: a grant's term is made
// once, when its identity is cached, and every decision after that only wraps
// the question around the cached terms. Shared terms are never mutated.
var (
	keyCVR         = ast.StringTerm("cvr")
	keyConstraints = ast.StringTerm("constraints")
	keyGrant       = ast.StringTerm("grant")
	keyGrants      = ast.StringTerm("grants")
	keyGroup       = ast.StringTerm("group")
	keyID          = ast.StringTerm("id")
	keyIdentity    = ast.StringTerm("identity")
	keyKind        = ast.StringTerm("kind")
	keyLevel       = ast.StringTerm("level")
	keyMinLoA      = ast.StringTerm("min_loa")
	keyName        = ast.StringTerm("name")
	keyNow         = ast.StringTerm("now")
	keyPoA         = ast.StringTerm("poa")
	keyPrivilege   = ast.StringTerm("privilege")
	keyRestriction = ast.StringTerm("restriction")
	keyScope       = ast.StringTerm("scope")
	keySource      = ast.StringTerm("source")
	keyStatus      = ast.StringTerm("status")
	keyURI         = ast.StringTerm("uri")
	keyValidFrom   = ast.StringTerm("valid_from")
	keyValidTo     = ast.StringTerm("valid_to")
	keyValue       = ast.StringTerm("value")

	emptyObject = ast.ObjectTerm()
	emptyArray  = ast.ArrayTerm()
)

// words are the strings inputs repeat (sources, statuses, levels, scope
// kinds): one shared term each instead of two allocations per use.
var words = func() map[string]*ast.Term {
	m := map[string]*ast.Term{}
	for _, w := range []string{
		SourceDirect, SourceGroup, SourcePoA, SourcePoAPerson,
		"active", "retired", "pending", "deactivated", "deleted", "requested", "offered", "rejected", "ended",
		domain.LoALow, domain.LoASubstantial, domain.LoAHigh,
		domain.ScopeCVR, domain.ScopeP, domain.ScopeSE,
	} {
		m[w] = ast.StringTerm(w)
	}
	return m
}()

func word(s string) *ast.Term {
	if t, ok := words[s]; ok {
		return t
	}
	return ast.StringTerm(s)
}

// nanos is t in nanoseconds since the Unix epoch, clamped to the int64 range
// (UnixNano is undefined outside roughly 1678–2262; a far-future end date
// must stay in the future).
func nanos(t time.Time) *ast.Term {
	switch {
	case t.After(maxNanoTime):
		return ast.IntNumberTerm(math.MaxInt64)
	case t.Before(minNanoTime):
		return ast.IntNumberTerm(math.MinInt64)
	}
	return ast.IntNumberTerm(int(t.UnixNano()))
}

var (
	maxNanoTime = time.Unix(0, math.MaxInt64)
	minNanoTime = time.Unix(0, math.MinInt64)
)

func uuidTerm(id uuid.UUID) *ast.Term { return ast.StringTerm(id.String()) }

// identityTerm is input.identity.
func identityTerm(id *Identity) *ast.Term {
	return ast.ObjectTerm(ast.Item(keyStatus, word(id.Status)))
}

// scopeTerm is a scope with the CVR number it belongs to.
func scopeTerm(s domain.Scope, cvr string) *ast.Term {
	return ast.ObjectTerm(
		ast.Item(keyKind, word(s.Kind)),
		ast.Item(keyValue, ast.StringTerm(s.Value)),
		ast.Item(keyCVR, ast.StringTerm(cvr)),
	)
}

// constraintsTerm is a {type: value} object; keys sorted so equal maps give
// equal terms.
func constraintsTerm(c map[string]string) *ast.Term {
	if len(c) == 0 {
		return emptyObject
	}
	items := make([][2]*ast.Term, 0, len(c))
	for _, k := range slices.Sorted(maps.Keys(c)) {
		items = append(items, ast.Item(ast.StringTerm(k), ast.StringTerm(c[k])))
	}
	return ast.ObjectTerm(items...)
}

// grantTerm is one element of input.grants. Its parts that many grants
// repeat (the privilege, the scope, the group, the power of attorney, the
// constraint values) come from terms, shared across grants and identities.
func grantTerm(g *Grant, terms *interner) *ast.Term {
	items := make([][2]*ast.Term, 0, 10)
	items = append(items,
		ast.Item(keyID, ast.StringTerm(g.ID)),
		ast.Item(keySource, word(g.Source)),
		ast.Item(keyPrivilege, terms.privilege(&g.Privilege)),
		ast.Item(keyScope, terms.scope(g.Scope, g.ScopeCVR)),
		ast.Item(keyConstraints, terms.constraints(g.Constraints)),
	)
	items = appendWindow(items, g.ValidFrom, g.ValidTo)
	if g.Group != nil {
		items = append(items, ast.Item(keyGroup, terms.group(g.Group)))
	}
	if g.PoA != nil {
		items = append(items, ast.Item(keyPoA, terms.poa(g.PoA)))
	}
	return ast.ObjectTerm(items...)
}

// appendWindow adds the bounds that are set; an absent bound is open.
func appendWindow(items [][2]*ast.Term, from, to *time.Time) [][2]*ast.Term {
	if from != nil {
		items = append(items, ast.Item(keyValidFrom, nanos(*from)))
	}
	if to != nil {
		items = append(items, ast.Item(keyValidTo, nanos(*to)))
	}
	return items
}

// questionInput is the input of a decision.
func questionInput(now time.Time, level string, identity, privilege, scope, constraints, grants *ast.Term) ast.Value {
	return ast.NewObject(
		ast.Item(keyNow, nanos(now)),
		ast.Item(keyLevel, word(level)),
		ast.Item(keyIdentity, identity),
		ast.Item(keyPrivilege, privilege),
		ast.Item(keyScope, scope),
		ast.Item(keyConstraints, constraints),
		ast.Item(keyGrants, grants),
	)
}

// effectiveInput is the input of the effective grants; level "" judges none.
func effectiveInput(now time.Time, level string, identity, grants *ast.Term) ast.Value {
	items := [][2]*ast.Term{
		ast.Item(keyNow, nanos(now)),
		ast.Item(keyIdentity, identity),
		ast.Item(keyGrants, grants),
	}
	if level != "" {
		items = append(items, ast.Item(keyLevel, word(level)))
	}
	return ast.NewObject(items...)
}
