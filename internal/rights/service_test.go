package rights

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
)

func question(id *Identity) Question {
	return Question{UserID: id.UserID, Privilege: uriMoms, Level: domain.LoASubstantial, Now: testNow}
}

func cachedService(t *testing.T, store *fakeStore, opts Options) *Service {
	t.Helper()
	opts.CacheUnlistened = true
	return NewServiceWithOptions(testPolicy(t), store, opts)
}

func mustDecide(t *testing.T, s *Service, q Question) Decision {
	t.Helper()
	d, err := s.Decide(context.Background(), q)
	if err != nil {
		t.Fatalf("Decide: %v", err)
	}
	return d
}

func TestCacheHitAndMiss(t *testing.T) {
	t.Parallel()
	id := identity("active", direct("a", uriMoms))
	store := newFakeStore(id)
	s := cachedService(t, store, Options{})
	for range 3 {
		if d := mustDecide(t, s, question(id)); !d.Allow {
			t.Fatalf("got %+v, want an allow", d)
		}
	}
	if got := store.loadsOf(id.UserID); got != 1 {
		t.Errorf("three decisions: got %d loads, want 1", got)
	}
	if _, err := s.Effective(context.Background(), id.UserID, "", testNow); err != nil {
		t.Fatal(err)
	}
	if got := store.loadsOf(id.UserID); got != 1 {
		t.Errorf("after Effective: got %d loads, want 1 (the same cached identity)", got)
	}
}

// Without a listener nothing would invalidate the cache, so a plain service
// loads on every question.
func TestNoCacheWithoutListener(t *testing.T) {
	t.Parallel()
	id := identity("active", direct("a", uriMoms))
	store := newFakeStore(id)
	s := NewService(testPolicy(t), store)
	mustDecide(t, s, question(id))
	mustDecide(t, s, question(id))
	if got := store.loadsOf(id.UserID); got != 2 {
		t.Errorf("got %d loads, want 2", got)
	}
	if s.Listening() {
		t.Errorf("got Listening() true without Listen")
	}
}

func TestInvalidateUserSeesTheChange(t *testing.T) {
	t.Parallel()
	id := identity("active", direct("a", uriMoms))
	store := newFakeStore(id)
	s := cachedService(t, store, Options{})
	if d := mustDecide(t, s, question(id)); !d.Allow {
		t.Fatalf("before: got %+v, want an allow", d)
	}
	removed := *id
	removed.Grants = nil
	store.set(&removed)
	if d := mustDecide(t, s, question(id)); !d.Allow {
		t.Fatalf("cached: got %+v, want the cached allow", d)
	}
	s.Invalidate(id.UserID)
	if d := mustDecide(t, s, question(id)); d.Allow || d.Reasons[0].Code != CodeGrantNone {
		t.Errorf("after Invalidate: got %+v, want a denial with %s", d, CodeGrantNone)
	}
}

// Reverse indexes drop exactly the identities holding grants through the
// changed group, privilege or power of attorney.
func TestInvalidateThroughReverseIndexes(t *testing.T) {
	t.Parallel()
	group := viaGroup("g", uriMoms, nil)
	poa := viaPoA("p", uriCase, "active", nil, nil)
	member := identity("active", group)
	holder := identity("active", poa)
	bystander := identity("active", direct("d", "urn:dk:test:other"))
	tests := []struct {
		name       string
		invalidate func(*Service)
		dropped    []*Identity
	}{
		{"group", func(s *Service) { s.InvalidateGroup(group.Group.ID) }, []*Identity{member}},
		{"privilege", func(s *Service) { s.InvalidatePrivilege(group.Privilege.ID) }, []*Identity{member}},
		{"power of attorney", func(s *Service) { s.InvalidatePoA(poa.PoA.ID) }, []*Identity{holder}},
		{"payload g:", func(s *Service) { s.apply("g:" + group.Group.ID.String()) }, []*Identity{member}},
		{"payload p:", func(s *Service) { s.apply("p:" + poa.Privilege.ID.String()) }, []*Identity{holder}},
		{"payload a:", func(s *Service) { s.apply("a:" + poa.PoA.ID.String()) }, []*Identity{holder}},
		{"payload u:", func(s *Service) { s.apply("u:" + bystander.UserID.String()) }, []*Identity{bystander}},
		{"payload *", func(s *Service) { s.apply("*") }, []*Identity{member, holder, bystander}},
		{"unreadable payload", func(s *Service) { s.apply("u:not-a-uuid") }, []*Identity{member, holder, bystander}},
		{"unknown kind", func(s *Service) { s.apply("x:" + uuid.NewString()) }, []*Identity{member, holder, bystander}},
		{"Flush", func(s *Service) { s.Flush() }, []*Identity{member, holder, bystander}},
		{"an unrelated group", func(s *Service) { s.InvalidateGroup(uuid.New()) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := newFakeStore(member, holder, bystander)
			s := cachedService(t, store, Options{})
			all := []*Identity{member, holder, bystander}
			for _, id := range all {
				mustDecide(t, s, question(id))
			}
			tt.invalidate(s)
			for _, id := range all {
				mustDecide(t, s, question(id))
			}
			for _, id := range all {
				want := 1
				for _, d := range tt.dropped {
					if d == id {
						want = 2
					}
				}
				if got := store.loadsOf(id.UserID); got != want {
					t.Errorf("identity with grant %s: got %d loads, want %d", id.Grants[0].ID, got, want)
				}
			}
		})
	}
}

// Concurrent misses of one identity share one load.
func TestConcurrentMissesShareOneLoad(t *testing.T) {
	t.Parallel()
	id := identity("active", direct("a", uriMoms))
	store := newFakeStore(id)
	store.block = make(chan struct{})
	s := cachedService(t, store, Options{})
	var wg, started sync.WaitGroup
	for range 8 {
		started.Add(1)
		wg.Go(func() {
			started.Done()
			if d, err := s.Decide(context.Background(), question(id)); err != nil || !d.Allow {
				t.Errorf("got %+v, %v, want an allow", d, err)
			}
		})
	}
	// Let every goroutine reach the load while the first one blocks in it:
	// without sharing, each would start a load of its own.
	started.Wait()
	for store.loadsOf(id.UserID) == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(store.block)
	wg.Wait()
	if got := store.loadsOf(id.UserID); got != 1 {
		t.Errorf("got %d loads, want 1", got)
	}
}

// A load that began before an invalidation may hold the old state: it is
// used by its caller but not cached.
func TestLoadOverlappingAnInvalidationIsNotCached(t *testing.T) {
	t.Parallel()
	id := identity("active", direct("a", uriMoms))
	store := newFakeStore(id)
	block := make(chan struct{})
	store.block = block
	s := cachedService(t, store, Options{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		mustDecide(t, s, question(id))
	}()
	for store.loadsOf(id.UserID) == 0 {
		time.Sleep(time.Millisecond)
	}
	s.Invalidate(id.UserID)
	store.mu.Lock()
	store.block = nil
	store.mu.Unlock()
	close(block)
	<-done
	mustDecide(t, s, question(id))
	if got := store.loadsOf(id.UserID); got != 2 {
		t.Errorf("got %d loads, want 2 (the overlapping load must not be cached)", got)
	}
}

func TestCacheIsBounded(t *testing.T) {
	t.Parallel()
	ids := []*Identity{identity("active"), identity("active"), identity("active"), identity("active")}
	s := cachedService(t, newFakeStore(ids...), Options{MaxIdentities: 2})
	for _, id := range ids {
		mustDecide(t, s, question(id))
	}
	if got := s.cache.len(); got != 2 {
		t.Errorf("got %d cached identities, want 2", got)
	}
}

func TestUnknownUser(t *testing.T) {
	t.Parallel()
	s := cachedService(t, newFakeStore(), Options{})
	d, err := s.Decide(context.Background(), Question{UserID: uuid.New(), Privilege: uriMoms, Level: domain.LoALow})
	if err != nil || d.Allow || len(d.Reasons) != 1 || d.Reasons[0].Code != CodeIdentityUnknown {
		t.Errorf("Decide: got %+v, %v, want a denial with %s", d, err, CodeIdentityUnknown)
	}
	_, err = s.Effective(context.Background(), uuid.New(), "", time.Time{})
	if code := domain.ErrorCode(err); code != domain.ENOTFOUND {
		t.Errorf("Effective: got %v (%s), want %s", err, code, domain.ENOTFOUND)
	}
}

func TestStoreErrorDenies(t *testing.T) {
	t.Parallel()
	id := identity("active", direct("a", uriMoms))
	store := newFakeStore(id)
	store.err = errors.New("connection refused")
	s := cachedService(t, store, Options{})
	d, err := s.Decide(context.Background(), question(id))
	if err == nil || d.Allow {
		t.Errorf("got %+v, %v, want an error and a denial", d, err)
	}
}

func TestInvalidQuestions(t *testing.T) {
	t.Parallel()
	id := identity("active", direct("a", uriMoms))
	s := cachedService(t, newFakeStore(id), Options{})
	bad := func(change func(*Question)) Question {
		q := question(id)
		change(&q)
		return q
	}
	tests := map[string]Question{
		"no privilege":     bad(func(q *Question) { q.Privilege = "" }),
		"no user":          bad(func(q *Question) { q.UserID = uuid.Nil }),
		"no level":         bad(func(q *Question) { q.Level = "" }),
		"unknown level":    bad(func(q *Question) { q.Level = "medium" }),
		"bad CVR":          bad(func(q *Question) { q.Scope = &domain.Scope{Kind: domain.ScopeCVR, Value: "12345678"} }),
		"bad P-number":     bad(func(q *Question) { q.Scope = &domain.Scope{Kind: domain.ScopeP, Value: "123"} }),
		"unknown kind":     bad(func(q *Question) { q.Scope = &domain.Scope{Kind: "cpr", Value: "0101701234"} }),
		"empty constraint": bad(func(q *Question) { q.Constraints = map[string]string{typeKLE: ""} }),
	}
	for name, q := range tests {
		d, err := s.Decide(context.Background(), q)
		if code := domain.ErrorCode(err); code != domain.EINVALID || d.Allow {
			t.Errorf("%s: got %+v, %v, want a denial with %s", name, d, err, domain.EINVALID)
		}
	}
	if _, err := s.Effective(context.Background(), id.UserID, "medium", testNow); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("Effective at level medium: got %v, want %s", err, domain.EINVALID)
	}
}

// A question without a scope is about the user's own CVR; a P-number's CVR is
// looked up once and cached; an unknown P-number belongs to no CVR.
func TestQuestionScopes(t *testing.T) {
	t.Parallel()
	id := identity("active", direct("a", uriMoms))
	store := newFakeStore(id)
	s := cachedService(t, store, Options{})
	q := question(id)
	if d := mustDecide(t, s, q); !d.Allow {
		t.Errorf("no scope: got %+v, want an allow", d)
	}
	q.Scope = &unitScope
	for range 2 {
		if d := mustDecide(t, s, q); !d.Allow {
			t.Errorf("own P-number: got %+v, want an allow", d)
		}
	}
	store.mu.Lock()
	lookups := store.scopeLoads
	store.mu.Unlock()
	if lookups != 1 {
		t.Errorf("two questions at one P-number: got %d look-ups, want 1", lookups)
	}
	q.Scope = &domain.Scope{Kind: domain.ScopeP, Value: "1999999999"}
	if d := mustDecide(t, s, q); d.Allow || d.Reasons[0].Code != CodeScopeMismatch {
		t.Errorf("unknown P-number: got %+v, want a denial with %s", d, CodeScopeMismatch)
	}
}

func TestDefaultClock(t *testing.T) {
	t.Parallel()
	id := identity("active", window(direct("a", uriMoms), &past, &soon))
	clock := testNow
	s := cachedService(t, newFakeStore(id), Options{Now: func() time.Time { return clock }})
	q := question(id)
	q.Now = time.Time{}
	if d := mustDecide(t, s, q); !d.Allow {
		t.Errorf("inside the window: got %+v, want an allow", d)
	}
	clock = later
	if d := mustDecide(t, s, q); d.Allow {
		t.Errorf("after the window: got %+v, want a denial", d)
	}
}

func window(g Grant, from, to *time.Time) Grant {
	g.ValidFrom, g.ValidTo = from, to
	return g
}
