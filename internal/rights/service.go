package rights

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/open-policy-agent/opa/v1/ast"
	"golang.org/x/sync/singleflight"

	"github.com/erhverv/erhverv/internal/domain"
)

// DefaultMaxIdentities bounds the cache when Options.MaxIdentities is 0. A
// cached grant takes 1–1.5 KB (its policy term and its Go value; the parts
// grants share, such as privileges, scopes and groups, are held once), so
// 5,000 identities of 20 grants each take 100–150 MB.
const DefaultMaxIdentities = 5_000

// internedTerms bounds the table of shared grant parts.
const internedTerms = 50_000

// Options tune a Service.
type Options struct {
	// MaxIdentities bounds how many identities the cache holds.
	MaxIdentities int
	// CacheUnlistened caches identities even while no Listen is connected.
	// Only for stores whose facts never change behind the service's back
	// (tests, benchmarks): otherwise a cache nobody invalidates goes stale.
	CacheUnlistened bool
	// Now is the clock for questions without a moment; time.Now when nil.
	Now func() time.Time
	// Logger reports the listener's connection trouble; slog.Default when nil.
	Logger *slog.Logger
}

// Service answers rights questions from cached identities. Identities are
// loaded through the Store on a miss (concurrent misses of one identity share
// one load) and cached only while Listen keeps a LISTEN connection open, so
// the cache is never older than the last notification that reached it.
// Without Listen every question loads its identity: correct, only slower.
// A Service is safe for concurrent use.
type Service struct {
	policy *Policy
	store  Store
	now    func() time.Time
	log    *slog.Logger
	cache  *cache
	terms  *interner
	loads  singleflight.Group

	readyOnce sync.Once
	ready     chan struct{}
}

// NewService returns the runtime rights service with the default options.
func NewService(policy *Policy, store Store) *Service {
	return NewServiceWithOptions(policy, store, Options{})
}

// NewServiceWithOptions returns the runtime rights service.
func NewServiceWithOptions(policy *Policy, store Store, opts Options) *Service {
	if opts.MaxIdentities <= 0 {
		opts.MaxIdentities = DefaultMaxIdentities
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{
		policy: policy, store: store, now: opts.Now, log: opts.Logger,
		cache: newCache(opts.MaxIdentities, opts.CacheUnlistened),
		terms: newInterner(internedTerms),
		ready: make(chan struct{}),
	}
}

// Decide answers q. Invalid questions are domain EINVALID errors. A user that
// does not exist is no error: the decision denies with CodeIdentityUnknown,
// so a service provider asking about a stale UUID gets an explained "no".
// Any error comes with a denying Decision.
func (s *Service) Decide(ctx context.Context, q Question) (Decision, error) {
	if err := q.validate(); err != nil {
		return Decision{}, err
	}
	e, err := s.identity(ctx, q.UserID)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return Decision{Reasons: []Reason{{Code: CodeIdentityUnknown, Message: "There is no such user."}}}, nil
	}
	if err != nil {
		return Decision{}, fmt.Errorf("rights: decide %s: %w", q.Privilege, err)
	}
	scope := e.ownScope
	if q.Scope != nil {
		if scope, err = s.scopeTerm(ctx, *q.Scope); err != nil {
			return Decision{}, fmt.Errorf("rights: decide %s: %w", q.Privilege, err)
		}
	}
	now := q.Now
	if now.IsZero() {
		now = s.now()
	}
	// Go passes only the grants of the asked privilege (an index, not a
	// judgement): the policy checks every grant it is given in full.
	privilege, grants := e.question(q.Privilege)
	input := questionInput(now, q.Level, e.status, privilege, scope, constraintsTerm(q.Constraints), grants)
	d, err := s.policy.decide(ctx, input)
	if err != nil {
		return Decision{}, err
	}
	return d, nil
}

// Effective lists every grant of the identity with the policy's verdict at
// now (zero: now), in the store's order. An empty level judges no assurance
// level. A user that does not exist is a domain ENOTFOUND error; a bad level
// EINVALID. The grants are shared with the cache: treat them as read-only.
func (s *Service) Effective(ctx context.Context, userID uuid.UUID, level string, now time.Time) ([]Effective, error) {
	if level != "" && domain.LoARank(level) == 0 {
		return nil, invalidLevel()
	}
	e, err := s.identity(ctx, userID)
	if err != nil {
		return nil, err
	}
	if now.IsZero() {
		now = s.now()
	}
	verdicts, err := s.policy.verdicts(ctx, effectiveInput(now, level, e.status, e.all))
	if err != nil {
		return nil, err
	}
	grants := e.identity.Grants
	if len(verdicts) != len(grants) {
		return nil, fmt.Errorf("%w: %d verdicts for %d grants", errMalformed, len(verdicts), len(grants))
	}
	out := make([]Effective, len(grants))
	for i := range grants {
		if !verdicts[i].judged {
			return nil, fmt.Errorf("%w: no verdict on grant %q", errMalformed, grants[i].ID)
		}
		if verdicts[i].inEffect {
			verdicts[i].reasons[0].Grant = grants[i].ID
		}
		out[i] = Effective{Grant: grants[i], InEffect: verdicts[i].inEffect, Reasons: verdicts[i].reasons}
	}
	return out, nil
}

// Invalidate drops one user's cached identity.
func (s *Service) Invalidate(userID uuid.UUID) { s.cache.dropUser(userID) }

// InvalidateGroup drops every cached identity holding grants through the group.
func (s *Service) InvalidateGroup(groupID uuid.UUID) { s.cache.dropBy(groupIndex, groupID) }

// InvalidatePrivilege drops every cached identity holding the privilege.
func (s *Service) InvalidatePrivilege(privilegeID uuid.UUID) {
	s.cache.dropBy(privilegeIndex, privilegeID)
}

// InvalidatePoA drops every cached identity holding grants through the power
// of attorney.
func (s *Service) InvalidatePoA(poaID uuid.UUID) { s.cache.dropBy(poaIndex, poaID) }

// Flush drops everything cached.
func (s *Service) Flush() { s.cache.flush() }

// identity returns the cached entry of user, loading it on a miss. Concurrent
// misses share one load; the load's key carries the cache epoch, so a caller
// arriving after an invalidation never joins a load begun before it.
func (s *Service) identity(ctx context.Context, user uuid.UUID) (*entry, error) {
	e, epoch := s.cache.get(user)
	if e != nil {
		return e, nil
	}
	key := fmt.Sprintf("%s/%d", user, epoch)
	// The shared load outlives a caller that gives up, for the others.
	loadCtx := context.WithoutCancel(ctx)
	ch := s.loads.DoChan(key, func() (any, error) {
		id, err := s.store.LoadIdentity(loadCtx, user)
		if err != nil {
			return nil, err
		}
		if id == nil {
			return nil, errNilIdentity
		}
		e := newEntry(id, s.terms)
		s.cache.put(e, epoch)
		return e, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*entry), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// scopeTerm is input.scope for a question's scope, with the CVR number it
// belongs to. An unknown P- or SE-number belongs to no CVR: only a grant of
// exactly that number can cover it (and that answer is not cached: the unit
// may be registered any moment).
func (s *Service) scopeTerm(ctx context.Context, scope domain.Scope) (*ast.Term, error) {
	if t := s.cache.scope(scope); t != nil {
		return t, nil
	}
	epoch := s.cache.currentEpoch()
	if scope.Kind == domain.ScopeCVR {
		t := scopeTerm(scope, scope.Value)
		s.cache.putScope(scope, t, epoch)
		return t, nil
	}
	cvr, err := s.store.ScopeCVR(ctx, scope)
	switch domain.ErrorCode(err) {
	case "":
		t := scopeTerm(scope, cvr)
		s.cache.putScope(scope, t, epoch)
		return t, nil
	case domain.ENOTFOUND:
		return scopeTerm(scope, ""), nil
	}
	return nil, err
}

var errNilIdentity = errors.New("rights: the store returned no identity and no error")

// validate checks a question before anything is loaded.
func (q *Question) validate() error {
	var errs domain.ValidationErrors
	if q.UserID == uuid.Nil {
		errs = append(errs, domain.Invalid("user", "rights.user", "Name the user asked about."))
	}
	if q.Privilege == "" {
		errs = append(errs, domain.Invalid("privilege", "rights.privilege", "Name the privilege asked about."))
	}
	if domain.LoARank(q.Level) == 0 {
		errs = append(errs, invalidLevel())
	}
	if q.Scope != nil {
		errs.Add(q.Scope.Validate())
	}
	for typ, v := range q.Constraints {
		if typ == "" || v == "" {
			errs = append(errs, domain.Invalid("constraints", "rights.constraint", "A constraint needs a type and a value."))
			break
		}
	}
	return errs.Err()
}

func invalidLevel() *domain.Error {
	return domain.Invalid("level", "rights.level", "The assurance level is low, substantial or high.")
}
