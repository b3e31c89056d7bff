package rights

// SKELETON: the runtime helper replaces this file with the real service.

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/authz"
)

// Policy is the prepared rights policy (policy/rights).
type Policy struct{}

// NewPolicy loads and prepares the rights policy, with the same options
// (extra policy directory) as the admin engine.
func NewPolicy(ctx context.Context, opts authz.Options) (*Policy, error) { return &Policy{}, nil }

// Service answers rights questions from cached identities.
type Service struct {
	policy *Policy
	store  Store
}

// NewService returns the runtime rights service.
func NewService(policy *Policy, store Store) *Service { return &Service{policy: policy, store: store} }

var errTodo = errors.New("rights: not implemented yet")

// Decide answers q.
func (s *Service) Decide(ctx context.Context, q Question) (Decision, error) {
	return Decision{}, errTodo
}

// Effective lists every grant of the identity with the policy's verdict at
// now (zero: now). An empty level judges no assurance level.
func (s *Service) Effective(ctx context.Context, userID uuid.UUID, level string, now time.Time) ([]Effective, error) {
	return nil, errTodo
}
