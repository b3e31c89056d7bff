package rights

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/erhverv/erhverv/internal/domain"
)

// interner shares the terms grants repeat: the members of a group hold the
// same group, privilege and scope terms instead of a copy each, which is most
// of a cached identity's memory. A term's key is everything in it, so a
// changed privilege or group gets a new term and nothing shared goes stale;
// terms are immutable and may be shared by any number of grants. The table
// is emptied when it grows past its bound: terms already handed out stay
// valid, later identities just share less until it fills again.
type interner struct {
	mu    sync.Mutex
	max   int
	terms map[string]*ast.Term
}

func newInterner(max int) *interner {
	return &interner{max: max, terms: make(map[string]*ast.Term)}
}

func (in *interner) get(key string, build func() *ast.Term) *ast.Term {
	in.mu.Lock()
	defer in.mu.Unlock()
	if t, ok := in.terms[key]; ok {
		return t
	}
	if len(in.terms) >= in.max {
		clear(in.terms)
	}
	t := build()
	in.terms[key] = t
	return t
}

func key(parts ...string) string { return strings.Join(parts, "\x00") }

func (in *interner) privilege(p *Privilege) *ast.Term {
	return in.get(key("p", p.URI, p.Status, p.MinLoA), func() *ast.Term {
		return ast.ObjectTerm(
			ast.Item(keyURI, ast.StringTerm(p.URI)),
			ast.Item(keyStatus, word(p.Status)),
			ast.Item(keyMinLoA, word(p.MinLoA)),
		)
	})
}

func (in *interner) scope(s domain.Scope, cvr string) *ast.Term {
	return in.get(key("s", s.Kind, s.Value, cvr), func() *ast.Term { return scopeTerm(s, cvr) })
}

func (in *interner) constraints(c map[string]string) *ast.Term {
	if len(c) == 0 {
		return emptyObject
	}
	parts := []string{"c"}
	for _, k := range slices.Sorted(maps.Keys(c)) {
		parts = append(parts, k, c[k])
	}
	return in.get(key(parts...), func() *ast.Term { return constraintsTerm(c) })
}

func (in *interner) group(g *GroupRef) *ast.Term {
	k := key("g", g.ID.String(), g.Name)
	if r := g.Restriction; r != nil {
		k = key(k, r.Kind, r.Value)
	}
	return in.get(k, func() *ast.Term {
		items := [][2]*ast.Term{
			ast.Item(keyID, uuidTerm(g.ID)),
			ast.Item(keyName, ast.StringTerm(g.Name)),
		}
		if r := g.Restriction; r != nil {
			items = append(items, ast.Item(keyRestriction, ast.ObjectTerm(
				ast.Item(keyKind, word(r.Kind)),
				ast.Item(keyValue, ast.StringTerm(r.Value)),
			)))
		}
		return ast.ObjectTerm(items...)
	})
}

func (in *interner) poa(p *PoARef) *ast.Term {
	return in.get(key("a", p.ID.String(), p.Status, bound(p.ValidFrom), bound(p.ValidTo)), func() *ast.Term {
		items := [][2]*ast.Term{
			ast.Item(keyID, uuidTerm(p.ID)),
			ast.Item(keyStatus, word(p.Status)),
		}
		return ast.ObjectTerm(appendWindow(items, p.ValidFrom, p.ValidTo)...)
	})
}

func bound(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}
