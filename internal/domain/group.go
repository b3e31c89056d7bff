package domain

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Group is a user group of an organisation, optionally restricted to one
// P-number or SE-number. Privileges assigned to it reach every member.
type Group struct {
	ID               uuid.UUID
	OrgID            uuid.UUID
	Name             string
	Description      string
	ProductionUnitID *uuid.UUID
	SENumberID       *uuid.UUID
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Validate checks a group before it is stored.
func (g *Group) Validate() error {
	var errs ValidationErrors
	if n := len([]rune(strings.TrimSpace(g.Name))); n < 1 || n > 100 {
		errs = append(errs, Invalid("name", "group.name", "A group's name must have 1 to 100 characters."))
	}
	if len([]rune(g.Description)) > 1000 {
		errs = append(errs, Invalid("description", "group.description", "A group's description has at most 1000 characters."))
	}
	if g.ProductionUnitID != nil && g.SENumberID != nil {
		errs = append(errs, Invalid("production_unit", "group.one_unit", "A group is restricted to a P-number or an SE-number, not both."))
	}
	return errs.Err()
}

// GroupMember is a membership; the member may belong to another organisation.
type GroupMember struct {
	ID          uuid.UUID
	OrgID       uuid.UUID // the group's organisation
	GroupID     uuid.UUID
	UserID      uuid.UUID
	MemberOrgID uuid.UUID
	AddedBy     *uuid.UUID
	CreatedAt   time.Time
}

// GroupService stores user groups and their members.
type GroupService interface {
	// CreateGroup stores a group. EINVALID, ECONFLICT for a name in use.
	CreateGroup(ctx context.Context, g *Group) error
	// FindGroupByID returns ENOTFOUND, also for another organisation's group.
	FindGroupByID(ctx context.Context, orgID, id uuid.UUID) (*Group, error)
	// ListGroups lists an organisation's groups by name.
	ListGroups(ctx context.Context, orgID uuid.UUID) ([]*Group, error)
	// AddGroupMember adds a member. ENOTFOUND for an unknown group or user,
	// ECONFLICT when already a member.
	AddGroupMember(ctx context.Context, m *GroupMember) error
	// ListGroupMembers lists a group's members.
	ListGroupMembers(ctx context.Context, orgID, groupID uuid.UUID) ([]*GroupMember, error)
}
