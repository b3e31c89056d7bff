package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unique"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/rights"
)

// RightsStore loads identities' grants for the runtime rights service. It
// reads with pgx directly: a cache miss costs one round trip, the identity
// and all its grants sent together as a pipeline.
type RightsStore struct{ db *DB }

var _ rights.Store = (*RightsStore)(nil)

// NewRightsStore returns the store.
func NewRightsStore(db *DB) *RightsStore { return &RightsStore{db: db} }

// EndedPoAShown is how long a power of attorney that named a user stays
// among the user's grants after it ended, so that "why did I lose it?" has
// an answer (poa.ended). Privileges passed on from a power of attorney stay
// as long as their assignment does.
const EndedPoAShown = 30 * 24 * time.Hour

const loadUserSQL = `
SELECT u.id, u.org_id, o.cvr, u.status
FROM users u JOIN organisations o ON o.id = u.org_id
WHERE u.id = $1`

// loadGrantsSQL gathers what the user holds: assignments to the user
// (passed on from a power of attorney or not), assignments to the groups the
// user is a member of (groups of any organisation), and the privileges of
// powers of attorney that name the user. Each part uses an index on the user
// (privilege_assignments_user_idx, group_members_user_idx,
// powers_of_attorney_grantee_user_idx); the joins are by primary key.
const loadGrantsSQL = `
WITH held AS (
    SELECT a.id::text AS grant_id,
           CASE WHEN a.via_poa_id IS NULL THEN 'direct' ELSE 'poa' END AS source,
           a.privilege_id, a.scope_kind, a.scope_value, a.constraint_values,
           a.valid_from, a.valid_to, a.org_id AS grantor_id,
           NULL::uuid AS group_id, a.via_poa_id AS poa_id, 0 AS part
    FROM privilege_assignments a
    WHERE a.user_id = $1
  UNION ALL
    SELECT a.id::text, 'group', a.privilege_id, a.scope_kind, a.scope_value, a.constraint_values,
           a.valid_from, a.valid_to, a.org_id, a.group_id, a.via_poa_id, 1
    FROM group_members m
    JOIN privilege_assignments a ON a.group_id = m.group_id
    WHERE m.user_id = $1
  UNION ALL
    SELECT 'poa:' || poa.id || ':' || pp.privilege_id, 'poa_person', pp.privilege_id,
           poa.scope_kind, poa.scope_value, pp.constraint_values,
           NULL, NULL, poa.org_id, NULL, poa.id, 2
    FROM powers_of_attorney poa
    JOIN poa_privileges pp ON pp.poa_id = poa.id
    WHERE poa.grantee_user_id = $1
      AND (poa.status = 'active' OR (poa.status = 'ended' AND poa.ended_at > $2))
)
SELECT h.grant_id, h.source,
       p.id, p.uri, p.name_da, p.name_en, p.it_system_id, s.name, provider.name, p.status, p.min_loa,
       h.scope_kind, h.scope_value,
       CASE h.scope_kind
           WHEN 'cvr' THEN h.scope_value
           WHEN 'p' THEN (SELECT o.cvr FROM production_units pu JOIN organisations o ON o.id = pu.org_id
                          WHERE pu.p_number = h.scope_value)
           WHEN 'se' THEN (SELECT o.cvr FROM se_numbers sn JOIN organisations o ON o.id = sn.org_id
                           WHERE sn.se_number = h.scope_value)
       END,
       grantor.name, h.constraint_values, h.valid_from, h.valid_to,
       g.id, g.name, group_org.name,
       CASE WHEN gu.id IS NOT NULL THEN 'p' WHEN gs.id IS NOT NULL THEN 'se' END,
       COALESCE(gu.p_number, gs.se_number),
       poa.id, poa.status, poa_org.name, poa_org.cvr, poa.valid_from, poa.valid_to
FROM held h
JOIN privileges p ON p.id = h.privilege_id
JOIN it_systems s ON s.id = p.it_system_id
JOIN organisations provider ON provider.id = p.org_id
JOIN organisations grantor ON grantor.id = h.grantor_id
LEFT JOIN user_groups g ON g.id = h.group_id
LEFT JOIN organisations group_org ON group_org.id = g.org_id
LEFT JOIN production_units gu ON gu.id = g.production_unit_id
LEFT JOIN se_numbers gs ON gs.id = g.se_number_id
LEFT JOIN powers_of_attorney poa ON poa.id = h.poa_id
LEFT JOIN organisations poa_org ON poa_org.id = poa.org_id
WHERE h.poa_id IS NULL OR poa.id IS NOT NULL
ORDER BY h.part, p.uri, h.grant_id`

// LoadIdentity implements rights.Store: the user with every grant, in
// effect or not, ordered by source (direct and passed on, groups, powers of
// attorney naming the user), then privilege URI. ENOTFOUND for no such user.
func (s *RightsStore) LoadIdentity(ctx context.Context, userID uuid.UUID) (*rights.Identity, error) {
	batch := &pgx.Batch{}
	id := &rights.Identity{}
	var found bool
	batch.Queue(loadUserSQL, userID).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&id.UserID, &id.OrgID, &id.OrgCVR, &id.Status)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		found = err == nil
		return err
	})
	batch.Queue(loadGrantsSQL, userID, s.db.Now().Add(-EndedPoAShown)).Query(func(rows pgx.Rows) error {
		var err error
		id.Grants, err = pgx.CollectRows(rows, scanGrant)
		return err
	})
	if err := s.db.pool.SendBatch(ctx, batch).Close(); err != nil {
		return nil, fmt.Errorf("load rights of %s: %w", userID, err)
	}
	if !found {
		return nil, &domain.Error{Code: domain.ENOTFOUND, Key: "user.not_found", Message: "There is no such user."}
	}
	return id, nil
}

func scanGrant(row pgx.CollectableRow) (rights.Grant, error) {
	var (
		g                          rights.Grant
		scopeCVR, groupOrg         *string
		groupID, poaID             *uuid.UUID
		groupName, restrictionKind *string
		restrictionValue           *string
		poaStatus, poaGrantor      *string
		poaGrantorCVR              *string
		poaFrom, poaTo             *time.Time
		constraints                []byte
	)
	err := row.Scan(&g.ID, &g.Source,
		&g.Privilege.ID, &g.Privilege.URI, &g.Privilege.NameDA, &g.Privilege.NameEN, &g.Privilege.ITSystemID,
		&g.Privilege.ITSystemName, &g.Privilege.ProviderName, &g.Privilege.Status, &g.Privilege.MinLoA,
		&g.Scope.Kind, &g.Scope.Value, &scopeCVR,
		&g.GrantorName, &constraints, &g.ValidFrom, &g.ValidTo,
		&groupID, &groupName, &groupOrg, &restrictionKind, &restrictionValue,
		&poaID, &poaStatus, &poaGrantor, &poaGrantorCVR, &poaFrom, &poaTo)
	if err != nil {
		return g, err
	}
	if scopeCVR != nil {
		g.ScopeCVR = *scopeCVR
	}
	// The rights cache holds many grants of the same privileges, groups and
	// organisations: one copy of each repeated string will do.
	for _, p := range []*string{&g.Privilege.URI, &g.Privilege.NameDA, &g.Privilege.NameEN, &g.Privilege.ITSystemName,
		&g.Privilege.ProviderName, &g.Scope.Value, &g.ScopeCVR, &g.GrantorName, groupName, groupOrg, poaGrantor, poaGrantorCVR} {
		if p != nil {
			*p = unique.Make(*p).Value()
		}
	}
	if len(constraints) > 0 && string(constraints) != "{}" {
		if err := json.Unmarshal(constraints, &g.Constraints); err != nil {
			return g, fmt.Errorf("grant %s: constraint values: %w", g.ID, err)
		}
	}
	if groupID != nil {
		g.Group = &rights.GroupRef{ID: *groupID, Name: derefString(groupName), OrgName: derefString(groupOrg)}
		if restrictionKind != nil && restrictionValue != nil {
			g.Group.Restriction = &domain.Scope{Kind: *restrictionKind, Value: *restrictionValue}
		}
	}
	if poaID != nil {
		g.PoA = &rights.PoARef{ID: *poaID, Status: derefString(poaStatus), GrantorName: derefString(poaGrantor),
			GrantorCVR: derefString(poaGrantorCVR), ValidFrom: poaFrom, ValidTo: poaTo}
	}
	return g, nil
}

// ExplainLoadIdentity returns PostgreSQL's plan for loading userID's grants,
// for checking that the loader keeps to its indexes as the data grows.
func (s *RightsStore) ExplainLoadIdentity(ctx context.Context, userID uuid.UUID) (string, error) {
	rows, err := s.db.pool.Query(ctx, "EXPLAIN "+loadGrantsSQL, userID, s.db.Now().Add(-EndedPoAShown))
	if err != nil {
		return "", fmt.Errorf("explain the rights load: %w", err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", fmt.Errorf("explain the rights load: %w", err)
	}
	return strings.Join(lines, "\n"), nil
}

// ScopeCVR implements rights.Store: the CVR number a P- or SE-number belongs
// to (a CVR scope's own value). ENOTFOUND for a unit nobody registered.
func (s *RightsStore) ScopeCVR(ctx context.Context, scope domain.Scope) (string, error) {
	var query string
	switch scope.Kind {
	case domain.ScopeCVR:
		return scope.Value, nil
	case domain.ScopeP:
		query = `SELECT o.cvr FROM production_units pu JOIN organisations o ON o.id = pu.org_id WHERE pu.p_number = $1`
	case domain.ScopeSE:
		query = `SELECT o.cvr FROM se_numbers sn JOIN organisations o ON o.id = sn.org_id WHERE sn.se_number = $1`
	default:
		return "", domain.Invalid("scope", "scope.kind", "A scope is a CVR number, a P-number or an SE-number.")
	}
	var cvr string
	err := s.db.pool.QueryRow(ctx, query, scope.Value).Scan(&cvr)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", &domain.Error{Code: domain.ENOTFOUND, Key: "scope.not_found", Message: "No organisation has this P- or SE-number."}
	}
	if err != nil {
		return "", fmt.Errorf("scope %s %s: %w", scope.Kind, scope.Value, err)
	}
	return cvr, nil
}
