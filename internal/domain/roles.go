package domain

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Administrator roles. Every active business identity is implicitly a plain
// user of its own organisation; only these three are assigned.
const (
	RoleOrgAdmin    = "org_admin"
	RoleUserAdmin   = "user_admin"
	RoleRightsAdmin = "rights_admin"
)

// AdminRoles lists the assignable roles, most powerful first.
var AdminRoles = []string{RoleOrgAdmin, RoleUserAdmin, RoleRightsAdmin}

// AdminRole assigns an administrator role to a user, optionally limited to
// one production unit and to the period [ValidFrom, ValidTo).
type AdminRole struct {
	ID               uuid.UUID
	OrgID            uuid.UUID
	UserID           uuid.UUID
	Role             string
	ProductionUnitID *uuid.UUID
	ValidFrom        *time.Time
	ValidTo          *time.Time
	GrantedBy        *uuid.UUID
	CreatedAt        time.Time
}

// Validate checks an assignment before it is stored.
func (r *AdminRole) Validate() error {
	var errs ValidationErrors
	if !slices.Contains(AdminRoles, r.Role) {
		errs = append(errs, Invalid("role", "role.unknown", "Choose one of the administrator roles: organisation, user or rights administrator."))
	}
	if r.Role == RoleOrgAdmin && r.ProductionUnitID != nil {
		errs = append(errs, Invalid("production_unit", "role.org_admin_unit", "An organisation administrator administers the whole organisation and cannot be limited to one production unit."))
	}
	errs.Add(ValidatePeriod(r.ValidFrom, r.ValidTo))
	return errs.Err()
}

// ActiveAt reports whether the role is in force at t.
func (r *AdminRole) ActiveAt(t time.Time) bool { return InPeriod(t, r.ValidFrom, r.ValidTo) }

// ValidatePeriod checks that an optional end lies after an optional start.
func ValidatePeriod(from, to *time.Time) error {
	if from != nil && to != nil && !to.After(*from) {
		return Invalid("valid_to", "period.order", "The end date must be after the start date.")
	}
	return nil
}

// InPeriod reports whether from <= t < to, each bound optional.
func InPeriod(t time.Time, from, to *time.Time) bool {
	return (from == nil || !t.Before(*from)) && (to == nil || t.Before(*to))
}

// AdminRoleService stores administrator role assignments.
type AdminRoleService interface {
	// AssignAdminRole stores an assignment. EINVALID, ENOTFOUND for an unknown
	// user or unit of the organisation, ECONFLICT when the user holds that
	// role for that unit already.
	AssignAdminRole(ctx context.Context, r *AdminRole) error
	// RemoveAdminRole deletes an assignment. ENOTFOUND; ECONFLICT when it is
	// the last active organisation administrator's.
	RemoveAdminRole(ctx context.Context, orgID, id uuid.UUID) error
	// ListAdminRolesOfUser lists a user's assignments, expired ones too.
	ListAdminRolesOfUser(ctx context.Context, orgID, userID uuid.UUID) ([]*AdminRole, error)
	// CountActiveOrgAdmins counts active users holding a role of
	// organisation administrator in force at t.
	CountActiveOrgAdmins(ctx context.Context, orgID uuid.UUID, t time.Time) (int, error)
}
