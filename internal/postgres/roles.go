package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/erhverv/erhverv/internal/domain"
)

type adminRoleRow struct {
	ID               uuid.UUID `gorm:"type:uuid;default:gen_random_uuid()"`
	OrgID            uuid.UUID
	UserID           uuid.UUID
	Role             string
	ProductionUnitID *uuid.UUID
	ValidFrom        *time.Time
	ValidTo          *time.Time
	GrantedBy        *uuid.UUID
	CreatedAt        time.Time `gorm:"default:now()"`
	UpdatedAt        time.Time `gorm:"default:now()"`
}

func (adminRoleRow) TableName() string { return "admin_roles" }

func (r *adminRoleRow) toDomain() *domain.AdminRole {
	return &domain.AdminRole{ID: r.ID, OrgID: r.OrgID, UserID: r.UserID, Role: r.Role, ProductionUnitID: r.ProductionUnitID,
		ValidFrom: r.ValidFrom, ValidTo: r.ValidTo, GrantedBy: r.GrantedBy, CreatedAt: r.CreatedAt}
}

// AdminRoleService implements domain.AdminRoleService.
type AdminRoleService struct{ db *DB }

var _ domain.AdminRoleService = (*AdminRoleService)(nil)

// NewAdminRoleService returns the administrator role repository.
func NewAdminRoleService(db *DB) *AdminRoleService { return &AdminRoleService{db: db} }

// AssignAdminRole implements domain.AdminRoleService.
func (s *AdminRoleService) AssignAdminRole(ctx context.Context, r *domain.AdminRole) error {
	if err := r.Validate(); err != nil {
		return err
	}
	return assignRoleTx(s.db.gorm.WithContext(ctx), r)
}

// assignRoleTx stores a validated role assignment inside tx.
func assignRoleTx(tx *gorm.DB, r *domain.AdminRole) error {
	row := &adminRoleRow{ID: r.ID, OrgID: r.OrgID, UserID: r.UserID, Role: r.Role, ProductionUnitID: r.ProductionUnitID,
		ValidFrom: r.ValidFrom, ValidTo: r.ValidTo, GrantedBy: r.GrantedBy}
	if err := tx.Create(row).Error; err != nil {
		return pgError("assign admin role", err)
	}
	*r = *row.toDomain()
	return nil
}

// RemoveAdminRole implements domain.AdminRoleService. The organisation's
// active organisation administrators are locked while it counts them, so two
// administrators removing each other at once cannot both succeed.
func (s *AdminRoleService) RemoveAdminRole(ctx context.Context, orgID, id uuid.UUID) error {
	return s.db.tx(ctx, func(tx *gorm.DB) error {
		_, err := removeRoleTx(tx, orgID, id, s.db.Now())
		return err
	})
}

// removeRoleTx removes a role assignment inside tx and returns it.
func removeRoleTx(tx *gorm.DB, orgID, id uuid.UUID, now time.Time) (*domain.AdminRole, error) {
	var row adminRoleRow
	err := tx.Take(&row, "org_id = ? AND id = ?", orgID, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, &domain.Error{Code: domain.ENOTFOUND, Key: "role.not_found", Message: "The role assignment does not exist."}
	}
	if err != nil {
		return nil, pgError("remove admin role", err)
	}
	if row.Role == domain.RoleOrgAdmin {
		if err := refuseLastOrgAdmin(tx, orgID, now, func(r *adminRoleRow) bool { return r.ID == id }); err != nil {
			return nil, err
		}
	}
	if err := tx.Delete(&adminRoleRow{}, "id = ?", id).Error; err != nil {
		return nil, pgError("remove admin role", err)
	}
	return row.toDomain(), nil
}

// ErrLastOrgAdmin is returned when a change would leave an organisation
// without an active organisation administrator.
var ErrLastOrgAdmin = &domain.Error{Code: domain.ECONFLICT, Key: "role.last_org_admin",
	Message: "This is the organisation's last active organisation administrator; appoint another one first."}

// ListAdminRolesOfUser implements domain.AdminRoleService.
func (s *AdminRoleService) ListAdminRolesOfUser(ctx context.Context, orgID, userID uuid.UUID) ([]*domain.AdminRole, error) {
	var rows []adminRoleRow
	if err := s.db.gorm.WithContext(ctx).Where("org_id = ? AND user_id = ?", orgID, userID).Order("role, created_at").Find(&rows).Error; err != nil {
		return nil, pgError("list admin roles", err)
	}
	return mapRows(rows, (*adminRoleRow).toDomain), nil
}

// CountActiveOrgAdmins implements domain.AdminRoleService.
func (s *AdminRoleService) CountActiveOrgAdmins(ctx context.Context, orgID uuid.UUID, t time.Time) (int, error) {
	return countActiveOrgAdmins(s.db.gorm.WithContext(ctx), orgID, t, false)
}

// refuseLastOrgAdmin returns ErrLastOrgAdmin when the organisation
// administrator roles in force that leaving selects are all that is left.
// It locks those roles until the transaction ends.
func refuseLastOrgAdmin(tx *gorm.DB, orgID uuid.UUID, t time.Time, leaving func(*adminRoleRow) bool) error {
	roles, err := activeOrgAdminRoles(tx, orgID, t, true)
	if err != nil {
		return err
	}
	remaining, affected := map[uuid.UUID]bool{}, false
	for i := range roles {
		if leaving(&roles[i]) {
			affected = true
			continue
		}
		remaining[roles[i].UserID] = true
	}
	if affected && len(remaining) == 0 {
		return ErrLastOrgAdmin
	}
	return nil
}

func countActiveOrgAdmins(tx *gorm.DB, orgID uuid.UUID, t time.Time, lock bool) (int, error) {
	roles, err := activeOrgAdminRoles(tx, orgID, t, lock)
	users := map[uuid.UUID]bool{}
	for _, r := range roles {
		users[r.UserID] = true
	}
	return len(users), err
}

// activeOrgAdminRoles lists the organisation administrator roles in force at
// t held by active users.
func activeOrgAdminRoles(tx *gorm.DB, orgID uuid.UUID, t time.Time, lock bool) ([]adminRoleRow, error) {
	q := tx.Model(&adminRoleRow{}).Select("admin_roles.*").
		Joins("JOIN users u ON u.id = admin_roles.user_id").
		Where("admin_roles.org_id = ? AND admin_roles.role = ? AND u.status = ?", orgID, domain.RoleOrgAdmin, domain.UserActive).
		Where("(admin_roles.valid_from IS NULL OR admin_roles.valid_from <= ?) AND (admin_roles.valid_to IS NULL OR admin_roles.valid_to > ?)", t, t)
	if lock {
		q = q.Clauses(forUpdate)
	}
	var rows []adminRoleRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, pgError("count organisation administrators", err)
	}
	return rows, nil
}
