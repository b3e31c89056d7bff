package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"gorm.io/gorm"

	"github.com/erhverv/erhverv/internal/domain"
)

type itSystemRow struct {
	ID          uuid.UUID `gorm:"type:uuid;default:gen_random_uuid()"`
	OrgID       uuid.UUID
	Name        string
	Description string
	Status      string
	CreatedAt   time.Time `gorm:"default:now()"`
	UpdatedAt   time.Time `gorm:"default:now()"`
}

func (itSystemRow) TableName() string { return "it_systems" }

type privilegeRow struct {
	ID              uuid.UUID `gorm:"type:uuid;default:gen_random_uuid()"`
	OrgID           uuid.UUID
	ItSystemID      uuid.UUID
	URI             string `gorm:"column:uri"`
	NameDa          string
	NameEn          string
	DescriptionDa   string
	DescriptionEn   string
	ConstraintTypes pq.StringArray `gorm:"type:text[]"`
	MinLoa          string
	GroupAssignable bool
	NeedsApproval   bool
	Status          string
	CreatedAt       time.Time `gorm:"default:now()"`
	UpdatedAt       time.Time `gorm:"default:now()"`
}

func (privilegeRow) TableName() string { return "privileges" }

func (r *privilegeRow) toDomain() *domain.Privilege {
	return &domain.Privilege{ID: r.ID, OrgID: r.OrgID, ITSystemID: r.ItSystemID, URI: r.URI, NameDA: r.NameDa, NameEN: r.NameEn,
		DescriptionDA: r.DescriptionDa, DescriptionEN: r.DescriptionEn, ConstraintTypes: []string(r.ConstraintTypes),
		MinLoA: r.MinLoa, GroupAssignable: r.GroupAssignable, NeedsApproval: r.NeedsApproval, Status: r.Status,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

type assignmentRow struct {
	ID               uuid.UUID `gorm:"type:uuid;default:gen_random_uuid()"`
	OrgID            uuid.UUID
	PrivilegeID      uuid.UUID
	UserID           *uuid.UUID
	GroupID          *uuid.UUID
	ScopeKind        string
	ScopeValue       string
	ConstraintValues jsonb
	ValidFrom        *time.Time
	ValidTo          *time.Time
	GrantedBy        *uuid.UUID
	ViaPoaID         *uuid.UUID `gorm:"column:via_poa_id"`
	CreatedAt        time.Time  `gorm:"default:now()"`
	UpdatedAt        time.Time  `gorm:"default:now()"`
}

func (assignmentRow) TableName() string { return "privilege_assignments" }

func (r *assignmentRow) toDomain() *domain.Assignment {
	a := &domain.Assignment{ID: r.ID, OrgID: r.OrgID, PrivilegeID: r.PrivilegeID, UserID: r.UserID, GroupID: r.GroupID,
		Scope: domain.Scope{Kind: r.ScopeKind, Value: r.ScopeValue}, ValidFrom: r.ValidFrom, ValidTo: r.ValidTo,
		GrantedBy: r.GrantedBy, ViaPoAID: r.ViaPoaID, CreatedAt: r.CreatedAt}
	_ = json.Unmarshal(r.ConstraintValues, &a.ConstraintValues) // a JSON object by constraint
	return a
}

// RightsService implements domain.RightsService.
type RightsService struct{ db *DB }

var _ domain.RightsService = (*RightsService)(nil)

// NewRightsService returns the catalogue and assignment repository.
func NewRightsService(db *DB) *RightsService { return &RightsService{db: db} }

// CreateITSystem implements domain.RightsService.
func (s *RightsService) CreateITSystem(ctx context.Context, sys *domain.ITSystem) error {
	if sys.Status == "" {
		sys.Status = "active"
	}
	if err := sys.Validate(); err != nil {
		return err
	}
	row := &itSystemRow{ID: sys.ID, OrgID: sys.OrgID, Name: sys.Name, Description: sys.Description, Status: sys.Status}
	if err := s.db.gorm.WithContext(ctx).Create(row).Error; err != nil {
		return pgError("create IT system", err)
	}
	sys.ID, sys.CreatedAt = row.ID, row.CreatedAt
	return nil
}

// PublishPrivilege implements domain.RightsService.
func (s *RightsService) PublishPrivilege(ctx context.Context, p *domain.Privilege) error {
	if p.Status == "" {
		p.Status = "active"
	}
	if err := p.Validate(); err != nil {
		return err
	}
	row := &privilegeRow{ID: p.ID, OrgID: p.OrgID, ItSystemID: p.ITSystemID, URI: p.URI, NameDa: p.NameDA, NameEn: p.NameEN,
		DescriptionDa: p.DescriptionDA, DescriptionEn: p.DescriptionEN, ConstraintTypes: pq.StringArray(nonNil(p.ConstraintTypes)),
		MinLoa: p.MinLoA, GroupAssignable: p.GroupAssignable, NeedsApproval: p.NeedsApproval, Status: p.Status}
	if err := s.db.gorm.WithContext(ctx).Create(row).Error; err != nil {
		return pgError("publish privilege", err)
	}
	*p = *row.toDomain()
	return nil
}

var errPrivilegeNotFound = &domain.Error{Code: domain.ENOTFOUND, Field: "privilege", Key: "privilege.not_found", Message: "The privilege does not exist."}

// FindPrivilegeByURI implements domain.RightsService.
func (s *RightsService) FindPrivilegeByURI(ctx context.Context, uri string) (*domain.Privilege, error) {
	var row privilegeRow
	err := s.db.gorm.WithContext(ctx).Take(&row, "uri = ?", uri).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errPrivilegeNotFound
	}
	if err != nil {
		return nil, pgError("find privilege", err)
	}
	return row.toDomain(), nil
}

// ListPrivileges implements domain.RightsService.
func (s *RightsService) ListPrivileges(ctx context.Context) ([]*domain.Privilege, error) {
	var rows []privilegeRow
	if err := s.db.gorm.WithContext(ctx).Order("uri").Find(&rows).Error; err != nil {
		return nil, pgError("list privileges", err)
	}
	return mapRows(rows, (*privilegeRow).toDomain), nil
}

// CreateAssignment implements domain.RightsService.
func (s *RightsService) CreateAssignment(ctx context.Context, a *domain.Assignment) error {
	return s.db.tx(ctx, func(tx *gorm.DB) error { return insertAssignmentTx(tx, a) })
}

// insertAssignmentTx validates an assignment against its privilege and its
// organisation, and stores it. Every way a privilege comes to be assigned
// (the portal, an approved request, a power of attorney passed on) goes
// through it. The privilege must be active, assignable to groups when given
// to one, and the constraint values of its declared types and formats. The
// scope must be the organisation's own CVR, P-number or SE-number, except for
// an assignment passed on from a power of attorney (ViaPoAID), whose scope
// the caller has checked against the power of attorney.
func insertAssignmentTx(tx *gorm.DB, a *domain.Assignment) error {
	if err := a.Validate(); err != nil {
		return err
	}
	var p privilegeRow
	err := tx.Take(&p, "id = ?", a.PrivilegeID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return errPrivilegeNotFound
	}
	if err != nil {
		return pgError("create assignment", err)
	}
	if p.Status != "active" {
		return domain.Invalid("privilege", "privilege.retired", "The privilege is retired and can no longer be assigned.")
	}
	if a.GroupID != nil && !p.GroupAssignable {
		return domain.Invalid("group", "privilege.not_group_assignable", "This privilege cannot be assigned through a group; assign it to users.")
	}
	if err := domain.ValidateConstraints(p.ConstraintTypes, a.ConstraintValues); err != nil {
		return err
	}
	if a.ViaPoAID == nil {
		if err := scopeOfOrgTx(tx, a.OrgID, a.Scope); err != nil {
			return err
		}
	}
	cv, err := json.Marshal(nonNilMap(a.ConstraintValues))
	if err != nil {
		return err
	}
	row := &assignmentRow{ID: a.ID, OrgID: a.OrgID, PrivilegeID: a.PrivilegeID, UserID: a.UserID, GroupID: a.GroupID,
		ScopeKind: a.Scope.Kind, ScopeValue: a.Scope.Value, ConstraintValues: jsonb(cv), ValidFrom: a.ValidFrom,
		ValidTo: a.ValidTo, GrantedBy: a.GrantedBy, ViaPoaID: a.ViaPoAID}
	if err := tx.Create(row).Error; err != nil {
		return pgError("create assignment", err)
	}
	*a = *row.toDomain()
	return nil
}

// scopeOfOrgTx checks that a scope belongs to the organisation: its own CVR
// number, or one of its P-numbers or SE-numbers.
func scopeOfOrgTx(tx *gorm.DB, orgID uuid.UUID, scope domain.Scope) error {
	var q string
	switch scope.Kind {
	case domain.ScopeCVR:
		q = "SELECT count(*) FROM organisations WHERE id = ? AND cvr = ?"
	case domain.ScopeP:
		q = "SELECT count(*) FROM production_units WHERE org_id = ? AND p_number = ?"
	case domain.ScopeSE:
		q = "SELECT count(*) FROM se_numbers WHERE org_id = ? AND se_number = ?"
	default:
		return scope.Validate()
	}
	var n int64
	if err := tx.Raw(q, orgID, scope.Value).Scan(&n).Error; err != nil {
		return pgError("check scope", err)
	}
	if n == 0 {
		return domain.Invalid("scope", "assignment.scope_outside",
			fmt.Sprintf("%s is not the organisation's own CVR number, P-number or SE-number; choose one of its own.", scope.Value))
	}
	return nil
}

// ListAssignmentsOfUser implements domain.RightsService.
func (s *RightsService) ListAssignmentsOfUser(ctx context.Context, orgID, userID uuid.UUID) ([]*domain.Assignment, error) {
	var rows []assignmentRow
	if err := s.db.gorm.WithContext(ctx).Where("org_id = ? AND user_id = ?", orgID, userID).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, pgError("list assignments", err)
	}
	return mapRows(rows, (*assignmentRow).toDomain), nil
}
