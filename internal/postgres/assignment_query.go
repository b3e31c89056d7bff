package postgres

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/erhverv/erhverv/internal/domain"
)

// AssignmentFilter selects assignments of one organisation for "who has
// which right". Every query is confined to OrgID.
type AssignmentFilter struct {
	OrgID       uuid.UUID
	PrivilegeID *uuid.UUID
	// UnitID keeps what touches the production unit, whoever holds it:
	// assignments scoped to the unit's P-number (held by any user or group
	// of the organisation), those held by users tied to the unit, and those
	// held by groups restricted to it. It is a filter for those who may see
	// the whole organisation's assignments, never a limit to a unit.
	UnitID *uuid.UUID
	// HolderUnitID keeps only assignments whose holder is within the
	// production unit: users tied to the unit and groups restricted to it,
	// whatever the scope. It is what an administrator limited to the unit
	// may see.
	HolderUnitID *uuid.UUID
	// User matches the holding user's name or email (anywhere, any case),
	// or is the user's UUID.
	User    string
	UserID  *uuid.UUID
	GroupID *uuid.UUID
	// After continues a listing after the assignment whose Cursor it is.
	After string
	// Limit is the page size of ListAssignments: 50 when zero, at most 500.
	Limit int
}

// AssignmentView is an assignment with what the list shows of it.
type AssignmentView struct {
	Assignment      *domain.Assignment
	PrivilegeURI    string
	PrivilegeNameDA string
	PrivilegeNameEN string
	PrivilegeStatus string
	SystemName      string
	ProviderName    string
	// The holding user's (empty for a group).
	UserName   string
	UserEmail  string
	UserStatus string
	UserUnitID *uuid.UUID
	// The holding group's (empty for a user).
	GroupName   string
	GroupUnitID *uuid.UUID
	// ScopeUnitID is the organisation's production unit whose P-number the
	// scope names (nil for a CVR or SE scope, and for a P-number that is
	// not one of the organisation's units).
	ScopeUnitID *uuid.UUID
	// GrantedByName is who assigned it, when known.
	GrantedByName string
	// PoAGrantorName is the organisation whose power of attorney it was
	// passed on from.
	PoAGrantorName string
	// Cursor continues a listing after this assignment.
	Cursor string
}

type assignmentViewRow struct {
	Row             assignmentRow `gorm:"embedded"`
	PrivilegeURI    string        `gorm:"column:privilege_uri"`
	PrivilegeNameDa string
	PrivilegeNameEn string
	PrivilegeStatus string
	SystemName      string
	ProviderName    string
	UserFirstName   *string
	UserLastName    *string
	UserEmail       *string
	UserStatus      *string
	UserUnitID      *uuid.UUID
	GroupName       *string
	GroupUnitID     *uuid.UUID
	ScopeUnitID     *uuid.UUID
	GrantedByName   *string
	PoaGrantorName  *string `gorm:"column:poa_grantor_name"`
	HolderKey       string
}

func (r *assignmentViewRow) toView() AssignmentView {
	v := AssignmentView{Assignment: r.Row.toDomain(), PrivilegeURI: r.PrivilegeURI, PrivilegeNameDA: r.PrivilegeNameDa,
		PrivilegeNameEN: r.PrivilegeNameEn, PrivilegeStatus: r.PrivilegeStatus, SystemName: r.SystemName, ProviderName: r.ProviderName,
		UserName: strings.TrimSpace(derefString(r.UserFirstName) + " " + derefString(r.UserLastName)), UserEmail: derefString(r.UserEmail),
		UserStatus: derefString(r.UserStatus), UserUnitID: r.UserUnitID, GroupName: derefString(r.GroupName), GroupUnitID: r.GroupUnitID, ScopeUnitID: r.ScopeUnitID,
		GrantedByName: strings.TrimSpace(derefString(r.GrantedByName)), PoAGrantorName: derefString(r.PoaGrantorName)}
	b, _ := json.Marshal([]string{r.PrivilegeURI, r.HolderKey, r.Row.ID.String()})
	v.Cursor = base64.RawURLEncoding.EncodeToString(b)
	return v
}

// holderKey sorts the holders of one privilege by name: users by last and
// first name, groups by name.
const holderKey = "lower(coalesce(u.last_name || ' ' || u.first_name, g.name, ''))"

func (s *RightsService) assignmentQuery(ctx context.Context, f AssignmentFilter) (*gorm.DB, error) {
	if f.OrgID == uuid.Nil {
		return nil, domain.Invalid("org", "assignment.org", "Choose the organisation.")
	}
	q := s.db.gorm.WithContext(ctx).Table("privilege_assignments a").
		Select(`a.*, p.uri AS privilege_uri, p.name_da AS privilege_name_da, p.name_en AS privilege_name_en, p.status AS privilege_status,
			s.name AS system_name, po.name AS provider_name,
			u.first_name AS user_first_name, u.last_name AS user_last_name, u.email AS user_email, u.status AS user_status,
			u.production_unit_id AS user_unit_id, g.name AS group_name, g.production_unit_id AS group_unit_id, su.id AS scope_unit_id,
			gb.first_name || ' ' || gb.last_name AS granted_by_name, gorg.name AS poa_grantor_name, `+holderKey+` AS holder_key`).
		Joins("JOIN privileges p ON p.id = a.privilege_id").
		Joins("JOIN it_systems s ON s.id = p.it_system_id").
		Joins("JOIN organisations po ON po.id = p.org_id").
		Joins("LEFT JOIN users u ON u.id = a.user_id").
		Joins("LEFT JOIN user_groups g ON g.id = a.group_id").
		Joins("LEFT JOIN production_units su ON a.scope_kind = 'p' AND su.org_id = a.org_id AND su.p_number = a.scope_value").
		Joins("LEFT JOIN users gb ON gb.id = a.granted_by").
		Joins("LEFT JOIN powers_of_attorney poa ON poa.id = a.via_poa_id").
		Joins("LEFT JOIN organisations gorg ON gorg.id = poa.org_id").
		Where("a.org_id = ? AND (u.id IS NULL OR u.status <> ?)", f.OrgID, domain.UserDeleted)
	if f.PrivilegeID != nil {
		q = q.Where("a.privilege_id = ?", *f.PrivilegeID)
	}
	if f.UnitID != nil {
		q = q.Where(`((a.scope_kind = 'p' AND a.scope_value = (SELECT pu.p_number FROM production_units pu WHERE pu.org_id = ? AND pu.id = ?))
			OR u.production_unit_id = ? OR g.production_unit_id = ?)`, f.OrgID, *f.UnitID, *f.UnitID, *f.UnitID)
	}
	if f.HolderUnitID != nil {
		q = q.Where("(u.production_unit_id = ? OR g.production_unit_id = ?)", *f.HolderUnitID, *f.HolderUnitID)
	}
	if term := strings.TrimSpace(f.User); term != "" {
		if id, err := uuid.Parse(term); err == nil {
			q = q.Where("a.user_id = ?", id)
		} else {
			like := "%" + escapeLike(strings.ToLower(term)) + "%"
			q = q.Where("(lower(u.first_name || ' ' || u.last_name) LIKE ? OR lower(u.email) LIKE ?)", like, like)
		}
	}
	if f.UserID != nil {
		q = q.Where("a.user_id = ?", *f.UserID)
	}
	if f.GroupID != nil {
		q = q.Where("a.group_id = ?", *f.GroupID)
	}
	return q, nil
}

// ListAssignments returns a page of the organisation's assignments matching
// f, by privilege URI and then holder name, and whether more follow
// (continue with After set to the last one's Cursor). EINVALID for a
// malformed cursor or a filter without an organisation.
func (s *RightsService) ListAssignments(ctx context.Context, f AssignmentFilter) ([]AssignmentView, bool, error) {
	q, err := s.assignmentQuery(ctx, f)
	if err != nil {
		return nil, false, err
	}
	if f.After != "" {
		var cur []string
		b, err := base64.RawURLEncoding.DecodeString(f.After)
		if err == nil {
			err = json.Unmarshal(b, &cur)
		}
		if err != nil || len(cur) != 3 {
			return nil, false, domain.Invalid("after", "assignment.cursor", "The page position is not valid.")
		}
		id, err := uuid.Parse(cur[2])
		if err != nil {
			return nil, false, domain.Invalid("after", "assignment.cursor", "The page position is not valid.")
		}
		q = q.Where("(p.uri, "+holderKey+", a.id) > (?, ?, ?)", cur[0], cur[1], id)
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	var rows []assignmentViewRow
	if err := q.Order("p.uri, holder_key, a.id").Limit(limit + 1).Scan(&rows).Error; err != nil {
		return nil, false, pgError("list assignments", err)
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	return mapRows(rows, (*assignmentViewRow).toView), more, nil
}

// EachAssignment calls fn with every assignment matching f (After and Limit
// ignored) in the order of ListAssignments, reading them through one cursor
// so an export of any size needs constant memory. An error from fn stops
// the iteration and is returned as it is.
func (s *RightsService) EachAssignment(ctx context.Context, f AssignmentFilter, fn func(*AssignmentView) error) error {
	q, err := s.assignmentQuery(ctx, f)
	if err != nil {
		return err
	}
	rows, err := q.Order("p.uri, holder_key, a.id").Rows()
	if err != nil {
		return pgError("export assignments", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r assignmentViewRow
		if err := s.db.gorm.ScanRows(rows, &r); err != nil {
			return pgError("export assignments", err)
		}
		v := r.toView()
		if err := fn(&v); err != nil {
			return err
		}
	}
	return pgError("export assignments", rows.Err())
}

// FindAssignment returns one assignment of the organisation with its names;
// ENOTFOUND for an unknown one and for another organisation's.
func (s *RightsService) FindAssignment(ctx context.Context, orgID, id uuid.UUID) (*AssignmentView, error) {
	q, err := s.assignmentQuery(ctx, AssignmentFilter{OrgID: orgID})
	if err != nil {
		return nil, err
	}
	var rows []assignmentViewRow
	if err := q.Where("a.id = ?", id).Limit(1).Scan(&rows).Error; err != nil {
		return nil, pgError("find assignment", err)
	}
	if len(rows) == 0 {
		return nil, errAssignmentNotFound
	}
	v := rows[0].toView()
	return &v, nil
}
