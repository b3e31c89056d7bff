package postgres

// SKELETON: the runtime helper replaces this file.

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/rights"
)

// RightsStore loads identities' grants for the rights service.
type RightsStore struct{ db *DB }

var _ rights.Store = (*RightsStore)(nil)

// NewRightsStore returns the store.
func NewRightsStore(db *DB) *RightsStore { return &RightsStore{db: db} }

// LoadIdentity implements rights.Store.
func (s *RightsStore) LoadIdentity(ctx context.Context, userID uuid.UUID) (*rights.Identity, error) {
	return nil, errors.New("todo")
}

// ScopeCVR implements rights.Store.
func (s *RightsStore) ScopeCVR(ctx context.Context, scope domain.Scope) (string, error) {
	return "", errors.New("todo")
}
