package rights

import (
	"sync"

	"github.com/google/uuid"
	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/erhverv/erhverv/internal/domain"
)

// entry is one cached identity with its policy input made ready: the terms
// are built once here and shared, read-only, by every decision afterwards.
type entry struct {
	identity *Identity
	status   *ast.Term // input.identity
	ownScope *ast.Term // the identity's own CVR, the scope of a question without one
	// byURI holds, for each privilege URI held, the URI's term and its
	// grants as an input.grants array, so a decision passes the policy only
	// the grants of the privilege asked about; all holds every grant, in
	// Identity.Grants order.
	byURI map[string]uriGrants
	all   *ast.Term

	// What the identity's grants come through, for the reverse indexes.
	groups, privileges, poas []uuid.UUID
}

func newEntry(id *Identity, terms *interner) *entry {
	e := &entry{
		identity: id,
		status:   identityTerm(id),
		ownScope: scopeTerm(domain.Scope{Kind: domain.ScopeCVR, Value: id.OrgCVR}, id.OrgCVR),
		byURI:    make(map[string]uriGrants),
	}
	all := make([]*ast.Term, len(id.Grants))
	uris := make(map[string][]*ast.Term)
	seen := make(map[uuid.UUID]bool)
	add := func(list *[]uuid.UUID, id uuid.UUID) {
		if id != uuid.Nil && !seen[id] {
			seen[id] = true
			*list = append(*list, id)
		}
	}
	for i := range id.Grants {
		g := &id.Grants[i]
		all[i] = grantTerm(g, terms)
		uris[g.Privilege.URI] = append(uris[g.Privilege.URI], all[i])
		add(&e.privileges, g.Privilege.ID)
		if g.Group != nil {
			add(&e.groups, g.Group.ID)
		}
		if g.PoA != nil {
			add(&e.poas, g.PoA.ID)
		}
	}
	e.all = ast.ArrayTerm(all...)
	for uri, terms := range uris {
		e.byURI[uri] = uriGrants{uri: ast.StringTerm(uri), grants: ast.ArrayTerm(terms...)}
	}
	return e
}

type uriGrants struct{ uri, grants *ast.Term }

// question returns input.privilege and input.grants for a question about uri.
func (e *entry) question(uri string) (privilege, grants *ast.Term) {
	if g, ok := e.byURI[uri]; ok {
		return g.uri, g.grants
	}
	return ast.StringTerm(uri), emptyArray
}

// cache holds identities by user id, bounded in size, with reverse indexes
// from groups, privileges and powers of attorney to the users whose cached
// grants come through them, so that one notification drops exactly the
// entries it concerns.
//
// Every invalidation bumps epoch; an identity loaded from the store is kept
// only when no invalidation happened since its load began (it may have read
// the state just before the change). The cache holds nothing while disabled:
// without a listener, nothing would tell it about changes.
type cache struct {
	mu      sync.RWMutex
	max     int
	enabled bool
	always  bool // Options.CacheUnlistened
	epoch   uint64
	entries map[uuid.UUID]*entry
	byGroup map[uuid.UUID]map[uuid.UUID]struct{}
	byPriv  map[uuid.UUID]map[uuid.UUID]struct{}
	byPoA   map[uuid.UUID]map[uuid.UUID]struct{}
	// scopes holds questions' input.scope terms, the CVR number a P- or
	// SE-number belongs to looked up.
	scopes map[domain.Scope]*ast.Term
}

func newCache(max int, always bool) *cache {
	c := &cache{max: max, enabled: always, always: always}
	c.reset()
	return c
}

func (c *cache) reset() {
	c.entries = make(map[uuid.UUID]*entry)
	c.byGroup = make(map[uuid.UUID]map[uuid.UUID]struct{})
	c.byPriv = make(map[uuid.UUID]map[uuid.UUID]struct{})
	c.byPoA = make(map[uuid.UUID]map[uuid.UUID]struct{})
	c.scopes = make(map[domain.Scope]*ast.Term)
}

// get returns the cached entry of user, or nil, and the epoch to pass to
// put after loading it.
func (c *cache) get(user uuid.UUID) (*entry, uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.entries[user], c.epoch
}

// put keeps e unless an invalidation happened since epoch or the cache is
// disabled. When full, it drops an arbitrary entry: Go's map iteration starts
// at a random place, which makes this a cheap random eviction.
func (c *cache) put(e *entry, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.enabled || epoch != c.epoch {
		return
	}
	user := e.identity.UserID
	if old, ok := c.entries[user]; ok {
		c.unindex(user, old)
	} else if c.max > 0 && len(c.entries) >= c.max {
		for victim, ve := range c.entries {
			c.unindex(victim, ve)
			delete(c.entries, victim)
			break
		}
	}
	c.entries[user] = e
	index(c.byGroup, e.groups, user)
	index(c.byPriv, e.privileges, user)
	index(c.byPoA, e.poas, user)
}

func index(idx map[uuid.UUID]map[uuid.UUID]struct{}, keys []uuid.UUID, user uuid.UUID) {
	for _, k := range keys {
		users := idx[k]
		if users == nil {
			users = make(map[uuid.UUID]struct{})
			idx[k] = users
		}
		users[user] = struct{}{}
	}
}

func (c *cache) unindex(user uuid.UUID, e *entry) {
	for _, idx := range []struct {
		m    map[uuid.UUID]map[uuid.UUID]struct{}
		keys []uuid.UUID
	}{{c.byGroup, e.groups}, {c.byPriv, e.privileges}, {c.byPoA, e.poas}} {
		for _, k := range idx.keys {
			delete(idx.m[k], user)
			if len(idx.m[k]) == 0 {
				delete(idx.m, k)
			}
		}
	}
}

// dropUser forgets one user.
func (c *cache) dropUser(user uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	c.drop(user)
}

func (c *cache) drop(user uuid.UUID) {
	if e, ok := c.entries[user]; ok {
		c.unindex(user, e)
		delete(c.entries, user)
	}
}

// dropBy forgets every user indexed under key in one of the reverse indexes.
func (c *cache) dropBy(which func(*cache) map[uuid.UUID]map[uuid.UUID]struct{}, key uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	users := which(c)[key]
	for user := range users {
		c.drop(user) // drop edits users through unindex; ranging over a map being edited is safe in Go
	}
}

func groupIndex(c *cache) map[uuid.UUID]map[uuid.UUID]struct{}     { return c.byGroup }
func privilegeIndex(c *cache) map[uuid.UUID]map[uuid.UUID]struct{} { return c.byPriv }
func poaIndex(c *cache) map[uuid.UUID]map[uuid.UUID]struct{}       { return c.byPoA }

// flush forgets everything.
func (c *cache) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	c.reset()
}

// setEnabled turns caching on or off; either way the cache starts empty,
// since changes may have gone unnoticed while it was off.
func (c *cache) setEnabled(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	c.enabled = on || c.always
	c.reset()
}

func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

func (c *cache) scope(s domain.Scope) *ast.Term {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.scopes[s]
}

// putScope keeps a scope's term. A unit's CVR number changes so rarely (a
// unit moved or renumbered flushes the whole cache) that a plain size cap
// will do.
func (c *cache) putScope(s domain.Scope, t *ast.Term, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.enabled || epoch != c.epoch {
		return
	}
	if c.max > 0 && len(c.scopes) >= c.max {
		clear(c.scopes)
	}
	c.scopes[s] = t
}

func (c *cache) currentEpoch() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.epoch
}
