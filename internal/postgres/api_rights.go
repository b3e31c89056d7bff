package postgres

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The lookups below serve the integrators' API (internal/api), which decides
// whom a client may ask about before it asks the rights service: a client
// may ask about the users of its own organisation, and a service provider's
// client about anyone's privileges of its own IT systems. Both facts never
// change once written (a user stays in its organisation, a privilege keeps
// its URI and IT system), so the API caches what these return. They read
// with pgx directly: they are on the path of every uncached decision.

// OrgOfUser returns the organisation a user belongs to and the user's
// status (deleted users included); ENOTFOUND for an unknown user.
func (s *RightsService) OrgOfUser(ctx context.Context, userID uuid.UUID) (org uuid.UUID, status string, err error) {
	err = s.db.pool.QueryRow(ctx, `SELECT org_id, status FROM users WHERE id = $1`, userID).Scan(&org, &status)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, "", errUserNotFound
	}
	if err != nil {
		return uuid.Nil, "", pgError("find user's organisation", err)
	}
	return org, status, nil
}

// PrivilegeProviders returns, by URI, the service provider (the organisation
// owning the IT system) of each privilege of uris that is published, retired
// or not; URIs of no privilege are absent from the map.
func (s *RightsService) PrivilegeProviders(ctx context.Context, uris []string) (map[string]uuid.UUID, error) {
	out := make(map[string]uuid.UUID, len(uris))
	if len(uris) == 0 {
		return out, nil
	}
	rows, err := s.db.pool.Query(ctx, `SELECT uri, org_id FROM privileges WHERE uri = ANY($1)`, uris)
	if err != nil {
		return nil, pgError("find privileges' providers", err)
	}
	defer rows.Close()
	for rows.Next() {
		var uri string
		var org uuid.UUID
		if err := rows.Scan(&uri, &org); err != nil {
			return nil, pgError("find privileges' providers", err)
		}
		out[uri] = org
	}
	return out, pgError("find privileges' providers", rows.Err())
}
