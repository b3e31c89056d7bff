package rights

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
)

// Shared fixtures: an organisation with a P-number and an SE-number, another
// organisation, and a clock.
const (
	orgCVR   = "11111114"
	otherCVR = "22222228"
	thirdCVR = "33333358"
	unitP    = "1000000001"
	otherP   = "1000000002" // of otherCVR
	secondP  = "1000000003" // a second unit of orgCVR
	unitSE   = "30000001"
	uriMoms  = "urn:dk:skat:moms:indberet"
	uriCase  = "urn:dk:kombit:sag:laes"
	typeKLE  = domain.ConstraintKLE
)

var (
	testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	past    = testNow.AddDate(0, -2, 0)
	soon    = testNow.AddDate(0, 1, 0)
	later   = testNow.AddDate(0, 2, 0)

	unitScope = domain.Scope{Kind: domain.ScopeP, Value: unitP}
)

func ptr[T any](v T) *T { return &v }

var (
	sharedPolicyOnce sync.Once
	sharedPolicy     *Policy
	sharedPolicyErr  error
)

// testPolicy is the embedded policy, prepared once for the package's tests.
func testPolicy(t testing.TB) *Policy {
	t.Helper()
	sharedPolicyOnce.Do(func() { sharedPolicy, sharedPolicyErr = NewPolicy(context.Background(), authz.Options{}) })
	if sharedPolicyErr != nil {
		t.Fatalf("NewPolicy: %v", sharedPolicyErr)
	}
	return sharedPolicy
}

func privilege(uri string) Privilege {
	return Privilege{ID: uuid.NewSHA1(uuid.NameSpaceURL, []byte(uri)), URI: uri, NameDA: uri, NameEN: uri,
		Status: "active", MinLoA: domain.LoASubstantial}
}

func cvrScope(cvr string) domain.Scope { return domain.Scope{Kind: domain.ScopeCVR, Value: cvr} }

// direct is a grant of uri to the whole own CVR.
func direct(id, uri string) Grant {
	return Grant{ID: id, Source: SourceDirect, Privilege: privilege(uri), Scope: cvrScope(orgCVR), ScopeCVR: orgCVR}
}

func viaGroup(id, uri string, restriction *domain.Scope) Grant {
	g := direct(id, uri)
	g.Source = SourceGroup
	g.Group = &GroupRef{ID: uuid.NewSHA1(uuid.NameSpaceOID, []byte(id)), Name: "Group " + id, Restriction: restriction}
	return g
}

func viaPoA(id, uri, status string, from, to *time.Time) Grant {
	g := direct(id, uri)
	g.Source = SourcePoA
	g.Scope, g.ScopeCVR = cvrScope(otherCVR), otherCVR
	g.PoA = &PoARef{ID: uuid.NewSHA1(uuid.NameSpaceX500, []byte(id)), Status: status, GrantorName: "Other A/S",
		GrantorCVR: otherCVR, ValidFrom: from, ValidTo: to}
	return g
}

func identity(status string, grants ...Grant) *Identity {
	return &Identity{UserID: uuid.New(), OrgID: uuid.New(), OrgCVR: orgCVR, Status: status, Grants: grants}
}

// fakeStore is a Store in memory that counts its loads.
type fakeStore struct {
	mu         sync.Mutex
	identities map[uuid.UUID]*Identity
	scopes     map[domain.Scope]string
	loads      map[uuid.UUID]int
	scopeLoads int
	// block, when set, is waited on by every load (to hold loads in flight).
	block chan struct{}
	err   error
}

func newFakeStore(ids ...*Identity) *fakeStore {
	s := &fakeStore{identities: map[uuid.UUID]*Identity{}, loads: map[uuid.UUID]int{}, scopes: map[domain.Scope]string{
		{Kind: domain.ScopeP, Value: unitP}:   orgCVR,
		{Kind: domain.ScopeSE, Value: unitSE}: orgCVR,
		{Kind: domain.ScopeP, Value: otherP}:  otherCVR,
		{Kind: domain.ScopeP, Value: secondP}: orgCVR,
	}}
	for _, id := range ids {
		s.identities[id.UserID] = id
	}
	return s
}

func (s *fakeStore) LoadIdentity(ctx context.Context, user uuid.UUID) (*Identity, error) {
	s.mu.Lock()
	block := s.block
	s.loads[user]++
	s.mu.Unlock()
	if block != nil {
		<-block
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	id, ok := s.identities[user]
	if !ok {
		return nil, domain.Errorf(domain.ENOTFOUND, "No such user.")
	}
	c := *id
	c.Grants = append([]Grant(nil), id.Grants...)
	for i := range c.Grants {
		c.Grants[i].Constraints = maps.Clone(c.Grants[i].Constraints)
	}
	return &c, nil
}

func (s *fakeStore) ScopeCVR(ctx context.Context, scope domain.Scope) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scopeLoads++
	cvr, ok := s.scopes[scope]
	if !ok {
		return "", domain.Errorf(domain.ENOTFOUND, "No such unit.")
	}
	return cvr, nil
}

func (s *fakeStore) set(id *Identity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.identities[id.UserID] = id
}

func (s *fakeStore) loadsOf(user uuid.UUID) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loads[user]
}

// fiftyGrants is an identity with 50 grants of 48 privileges: the asked
// privilege uriMoms has three (an expired direct one, one through a group
// that allows, one through an ended power of attorney), the others are
// direct grants with and without constraints and windows.
func fiftyGrants() *Identity {
	grants := []Grant{
		func() Grant { g := direct("moms-old", uriMoms); g.ValidTo = &past; return g }(),
		viaGroup("moms-group", uriMoms, nil),
		viaPoA("moms-poa", uriMoms, "ended", nil, nil),
	}
	for i := range 47 {
		g := direct(fmt.Sprintf("g%02d", i), fmt.Sprintf("urn:dk:test:system%d:privilege%d", i%5, i))
		switch i % 4 {
		case 1:
			g.Constraints = map[string]string{typeKLE: "25.*"}
		case 2:
			g.ValidFrom, g.ValidTo = &past, &later
		case 3:
			g = viaGroup(g.ID, g.Privilege.URI, &domain.Scope{Kind: domain.ScopeP, Value: unitP})
		}
		grants = append(grants, g)
	}
	return identity("active", grants...)
}
