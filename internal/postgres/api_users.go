package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/erhverv/erhverv/internal/domain"
)

// The lists the integrators' API pages through by keyset (a page never
// repeats or skips a row when rows are added between requests), and the one
// membership a member endpoint names.

// GroupCursor is the position after which the next page of groups starts:
// the last group's name (compared case-insensitively, as groups are sorted)
// and id.
type GroupCursor struct {
	Name string
	ID   uuid.UUID
}

// GroupFilter selects one page of an organisation's groups, sorted by name.
type GroupFilter struct {
	OrgID uuid.UUID
	Query string // part of the name, case-insensitive
	After *GroupCursor
	Limit int // 1..500, default 50
}

// PageGroups returns one page of the organisation's groups by name and
// whether more follow. The user_groups_org_name_key index serves the order.
func (s *GroupService) PageGroups(ctx context.Context, f GroupFilter) ([]*domain.Group, bool, error) {
	limit := apiPageLimit(f.Limit)
	q := s.db.gorm.WithContext(ctx).Where("org_id = ?", f.OrgID)
	if term := strings.TrimSpace(f.Query); term != "" {
		q = q.Where("lower(name) LIKE ?", "%"+escapeLike(strings.ToLower(term))+"%")
	}
	if f.After != nil {
		// lower() on both sides: the database lowers the cursor's name as it
		// lowered the rows it sorted.
		q = q.Where("(lower(name), id) > (lower(?), ?)", f.After.Name, f.After.ID)
	}
	var rows []groupRow
	if err := q.Order("lower(name), id").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, false, pgError("page groups", err)
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	return mapRows(rows, (*groupRow).toDomain), more, nil
}

// GroupMembership is one member of a group as the API shows it. The member
// may belong to another organisation; another organisation's anonymous
// user has Name and Email withheld.
type GroupMembership struct {
	ID          uuid.UUID // the membership's own id (RemoveGroupMember takes it)
	GroupID     uuid.UUID
	UserID      uuid.UUID
	MemberOrgID uuid.UUID
	OrgCVR      string
	Name        string
	Email       string
	External    bool
	Anonymous   bool
	AddedAt     time.Time
}

// MemberCursor is the position after which the next page of members
// starts. Members are paged in the order they were added, so the cursor
// carries nothing about the person (an anonymous member's name must not
// travel in a URL).
type MemberCursor struct {
	AddedAt time.Time
	UserID  uuid.UUID
}

// MemberFilter selects one page of a group's members.
type MemberFilter struct {
	OrgID   uuid.UUID // the group's organisation
	GroupID uuid.UUID
	After   *MemberCursor
	Limit   int // 1..500, default 50
}

type membershipScan struct {
	ID, GroupID, UserID, MemberOrgID uuid.UUID
	FirstName, LastName, Email       string
	Anonymous                        bool
	Cvr                              string
	CreatedAt                        time.Time
}

func (r *membershipScan) toMembership(orgID uuid.UUID) *GroupMembership {
	m := &GroupMembership{ID: r.ID, GroupID: r.GroupID, UserID: r.UserID, MemberOrgID: r.MemberOrgID, OrgCVR: r.Cvr,
		Name: strings.TrimSpace(r.FirstName + " " + r.LastName), Email: r.Email, External: r.MemberOrgID != orgID, AddedAt: r.CreatedAt}
	if m.External && r.Anonymous {
		m.Name, m.Email, m.Anonymous = "", "", true
	}
	return m
}

// membershipQuery selects the living members of the organisation's group.
func (s *GroupService) membershipQuery(ctx context.Context, orgID, groupID uuid.UUID) *gorm.DB {
	return s.db.gorm.WithContext(ctx).Table("group_members m").
		Select("m.id, m.group_id, m.user_id, m.member_org_id, m.created_at, u.first_name, u.last_name, u.email, u.anonymous, o.cvr").
		Joins("JOIN users u ON u.id = m.user_id").Joins("JOIN organisations o ON o.id = m.member_org_id").
		Where("m.org_id = ? AND m.group_id = ? AND u.status <> ?", orgID, groupID, domain.UserDeleted)
}

// PageGroupMembers returns one page of a group's members (deleted users
// left out) in the order they were added, and whether more follow. An
// unknown group, or another organisation's, has no members.
func (s *GroupService) PageGroupMembers(ctx context.Context, f MemberFilter) ([]*GroupMembership, bool, error) {
	limit := apiPageLimit(f.Limit)
	q := s.membershipQuery(ctx, f.OrgID, f.GroupID)
	if f.After != nil {
		q = q.Where("(m.created_at, m.user_id) > (?, ?)", f.After.AddedAt, f.After.UserID)
	}
	var rows []membershipScan
	if err := q.Order("m.created_at, m.user_id").Limit(limit + 1).Scan(&rows).Error; err != nil {
		return nil, false, pgError("page group members", err)
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	out := make([]*GroupMembership, len(rows))
	for i := range rows {
		out[i] = rows[i].toMembership(f.OrgID)
	}
	return out, more, nil
}

var errMembershipNotFound = &domain.Error{Code: domain.ENOTFOUND, Key: "group.member_not_found", Message: "The user is not a member of the group."}

// FindGroupMembership returns the user's membership of the organisation's
// group: ENOTFOUND when the user is not a member (or is deleted), and for
// another organisation's group.
func (s *GroupService) FindGroupMembership(ctx context.Context, orgID, groupID, userID uuid.UUID) (*GroupMembership, error) {
	var rows []membershipScan
	if err := s.membershipQuery(ctx, orgID, groupID).Where("m.user_id = ?", userID).Limit(1).Scan(&rows).Error; err != nil {
		return nil, pgError("find group membership", err)
	}
	if len(rows) == 0 {
		return nil, errMembershipNotFound
	}
	return rows[0].toMembership(orgID), nil
}

// apiPageLimit is a page size within 1..500, 50 when none is given.
func apiPageLimit(n int) int {
	if n <= 0 || n > 500 {
		return 50
	}
	return n
}
