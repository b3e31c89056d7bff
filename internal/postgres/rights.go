package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"gorm.io/gorm/clause"

	"github.com/erhverv/erhverv/internal/domain"
)

// forShare keeps the selected rows from changing until the transaction ends.
var forShare = clause.Locking{Strength: "SHARE"}

// Statuses of IT systems and privileges.
const (
	statusActive  = "active"
	statusRetired = "retired"
)

// maxDescription is the longest description of an IT system or privilege.
const maxDescription = 2000

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

func (r *itSystemRow) toDomain() *domain.ITSystem {
	return &domain.ITSystem{ID: r.ID, OrgID: r.OrgID, Name: r.Name, Description: r.Description, Status: r.Status, CreatedAt: r.CreatedAt}
}

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

// RightsService implements domain.RightsService: the catalogue of IT systems
// and privileges the service providers publish, and the assignments of
// privileges to users and groups. The methods that take an Actor are the
// portal's: each makes its change and its audit event in one transaction.
type RightsService struct{ db *DB }

var _ domain.RightsService = (*RightsService)(nil)

// NewRightsService returns the catalogue and assignment repository.
func NewRightsService(db *DB) *RightsService { return &RightsService{db: db} }

var (
	errPrivilegeNotFound  = &domain.Error{Code: domain.ENOTFOUND, Field: "privilege", Key: "privilege.not_found", Message: "The privilege does not exist."}
	errSystemNotFound     = &domain.Error{Code: domain.ENOTFOUND, Field: "it_system", Key: "itsystem.not_found", Message: "The IT system does not exist."}
	errAssignmentNotFound = &domain.Error{Code: domain.ENOTFOUND, Key: "assignment.not_found", Message: "The assignment does not exist."}
)

// CreateITSystem implements domain.RightsService (unaudited: the seed's).
func (s *RightsService) CreateITSystem(ctx context.Context, sys *domain.ITSystem) error {
	if sys.Status == "" {
		sys.Status = statusActive
	}
	if err := validateSystem(sys); err != nil {
		return err
	}
	row := &itSystemRow{ID: sys.ID, OrgID: sys.OrgID, Name: sys.Name, Description: sys.Description, Status: sys.Status}
	if err := s.db.gorm.WithContext(ctx).Create(row).Error; err != nil {
		return pgError("create IT system", err)
	}
	sys.ID, sys.CreatedAt = row.ID, row.CreatedAt
	return nil
}

// PublishPrivilege implements domain.RightsService (unaudited: the seed's).
func (s *RightsService) PublishPrivilege(ctx context.Context, p *domain.Privilege) error {
	if p.Status == "" {
		p.Status = statusActive
	}
	if err := validatePrivilege(p); err != nil {
		return err
	}
	row := privilegeFromDomain(p)
	if err := s.db.gorm.WithContext(ctx).Create(row).Error; err != nil {
		return pgError("publish privilege", err)
	}
	*p = *row.toDomain()
	return nil
}

// FindPrivilegeByURI implements domain.RightsService.
func (s *RightsService) FindPrivilegeByURI(ctx context.Context, uri string) (*domain.Privilege, error) {
	var row privilegeRow
	err := s.db.gorm.WithContext(ctx).Take(&row, "uri = ?", uri).Error
	if err != nil {
		return nil, notFoundOr(err, errPrivilegeNotFound, "find privilege")
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
