package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/erhverv/erhverv/internal/domain"
)

type groupRow struct {
	ID               uuid.UUID `gorm:"type:uuid;default:gen_random_uuid()"`
	OrgID            uuid.UUID
	Name             string
	Description      string
	ProductionUnitID *uuid.UUID
	SeNumberID       *uuid.UUID
	CreatedAt        time.Time `gorm:"default:now()"`
	UpdatedAt        time.Time `gorm:"default:now()"`
}

func (groupRow) TableName() string { return "user_groups" }

func (r *groupRow) toDomain() *domain.Group {
	return &domain.Group{ID: r.ID, OrgID: r.OrgID, Name: r.Name, Description: r.Description,
		ProductionUnitID: r.ProductionUnitID, SENumberID: r.SeNumberID, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

type groupMemberRow struct {
	ID          uuid.UUID `gorm:"type:uuid;default:gen_random_uuid()"`
	OrgID       uuid.UUID
	GroupID     uuid.UUID
	UserID      uuid.UUID
	MemberOrgID uuid.UUID
	AddedBy     *uuid.UUID
	CreatedAt   time.Time `gorm:"default:now()"`
	UpdatedAt   time.Time `gorm:"default:now()"`
}

func (groupMemberRow) TableName() string { return "group_members" }

// GroupService implements domain.GroupService.
type GroupService struct{ db *DB }

var _ domain.GroupService = (*GroupService)(nil)

// NewGroupService returns the user group repository.
func NewGroupService(db *DB) *GroupService { return &GroupService{db: db} }

// CreateGroup implements domain.GroupService.
func (s *GroupService) CreateGroup(ctx context.Context, g *domain.Group) error {
	if err := g.Validate(); err != nil {
		return err
	}
	row := &groupRow{ID: g.ID, OrgID: g.OrgID, Name: g.Name, Description: g.Description, ProductionUnitID: g.ProductionUnitID, SeNumberID: g.SENumberID}
	if err := s.db.gorm.WithContext(ctx).Create(row).Error; err != nil {
		return pgError("create group", err)
	}
	*g = *row.toDomain()
	return nil
}

// FindGroupByID implements domain.GroupService.
func (s *GroupService) FindGroupByID(ctx context.Context, orgID, id uuid.UUID) (*domain.Group, error) {
	var row groupRow
	err := s.db.gorm.WithContext(ctx).Take(&row, "org_id = ? AND id = ?", orgID, id).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, &domain.Error{Code: domain.ENOTFOUND, Key: "group.not_found", Message: "The group does not exist."}
	}
	if err != nil {
		return nil, pgError("find group", err)
	}
	return row.toDomain(), nil
}

// ListGroups implements domain.GroupService.
func (s *GroupService) ListGroups(ctx context.Context, orgID uuid.UUID) ([]*domain.Group, error) {
	var rows []groupRow
	if err := s.db.gorm.WithContext(ctx).Where("org_id = ?", orgID).Order("lower(name)").Find(&rows).Error; err != nil {
		return nil, pgError("list groups", err)
	}
	return mapRows(rows, (*groupRow).toDomain), nil
}

// AddGroupMember implements domain.GroupService.
func (s *GroupService) AddGroupMember(ctx context.Context, m *domain.GroupMember) error {
	row := &groupMemberRow{ID: m.ID, OrgID: m.OrgID, GroupID: m.GroupID, UserID: m.UserID, MemberOrgID: m.MemberOrgID, AddedBy: m.AddedBy}
	if err := s.db.gorm.WithContext(ctx).Create(row).Error; err != nil {
		return pgError("add group member", err)
	}
	m.ID, m.CreatedAt = row.ID, row.CreatedAt
	return nil
}

// ListGroupMembers implements domain.GroupService.
func (s *GroupService) ListGroupMembers(ctx context.Context, orgID, groupID uuid.UUID) ([]*domain.GroupMember, error) {
	var rows []groupMemberRow
	if err := s.db.gorm.WithContext(ctx).Where("org_id = ? AND group_id = ?", orgID, groupID).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, pgError("list group members", err)
	}
	out := make([]*domain.GroupMember, len(rows))
	for i, r := range rows {
		out[i] = &domain.GroupMember{ID: r.ID, OrgID: r.OrgID, GroupID: r.GroupID, UserID: r.UserID, MemberOrgID: r.MemberOrgID, AddedBy: r.AddedBy, CreatedAt: r.CreatedAt}
	}
	return out, nil
}
