package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"gorm.io/gorm"

	"github.com/erhverv/erhverv/internal/domain"
)

type organisationRow struct {
	ID                  uuid.UUID `gorm:"type:uuid;default:gen_random_uuid()"`
	CVR                 string
	Name                string
	Status              string
	IsServiceProvider   bool
	AllowPrivateMitid   bool
	MandatoryUserFields pq.StringArray `gorm:"type:text[]"`
	NotificationEmail   *string
	NotifyOnRequests    bool
	ConnectedAt         *time.Time
	CreatedAt           time.Time `gorm:"default:now()"`
	UpdatedAt           time.Time `gorm:"default:now()"`
}

func (organisationRow) TableName() string { return "organisations" }

func (r *organisationRow) toDomain() *domain.Organisation {
	o := &domain.Organisation{
		ID: r.ID, CVR: r.CVR, Name: r.Name, Status: r.Status, IsServiceProvider: r.IsServiceProvider,
		Settings: domain.OrgSettings{
			AllowPrivateMitID:   r.AllowPrivateMitid,
			MandatoryUserFields: []string(r.MandatoryUserFields),
			NotifyOnRequests:    r.NotifyOnRequests,
		},
		ConnectedAt: r.ConnectedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
	if r.NotificationEmail != nil {
		o.Settings.NotificationEmail = *r.NotificationEmail
	}
	return o
}

func organisationFromDomain(o *domain.Organisation) *organisationRow {
	return &organisationRow{
		ID: o.ID, CVR: o.CVR, Name: o.Name, Status: o.Status, IsServiceProvider: o.IsServiceProvider,
		AllowPrivateMitid:   o.Settings.AllowPrivateMitID,
		MandatoryUserFields: pq.StringArray(nonNil(o.Settings.MandatoryUserFields)),
		NotificationEmail:   optString(o.Settings.NotificationEmail),
		NotifyOnRequests:    o.Settings.NotifyOnRequests,
		ConnectedAt:         o.ConnectedAt,
	}
}

type productionUnitRow struct {
	ID        uuid.UUID `gorm:"type:uuid;default:gen_random_uuid()"`
	OrgID     uuid.UUID
	PNumber   string
	Name      string
	Address   string
	Status    string
	CreatedAt time.Time `gorm:"default:now()"`
	UpdatedAt time.Time `gorm:"default:now()"`
}

func (productionUnitRow) TableName() string { return "production_units" }

func (r *productionUnitRow) toDomain() *domain.ProductionUnit {
	return &domain.ProductionUnit{ID: r.ID, OrgID: r.OrgID, PNumber: r.PNumber, Name: r.Name, Address: r.Address, Status: r.Status, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

type seNumberRow struct {
	ID        uuid.UUID `gorm:"type:uuid;default:gen_random_uuid()"`
	OrgID     uuid.UUID
	SeNumber  string
	Name      string
	Status    string
	CreatedAt time.Time `gorm:"default:now()"`
	UpdatedAt time.Time `gorm:"default:now()"`
}

func (seNumberRow) TableName() string { return "se_numbers" }

func (r *seNumberRow) toDomain() *domain.SENumber {
	return &domain.SENumber{ID: r.ID, OrgID: r.OrgID, SENumber: r.SeNumber, Name: r.Name, Status: r.Status, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// OrganisationService implements domain.OrganisationService.
type OrganisationService struct{ db *DB }

var _ domain.OrganisationService = (*OrganisationService)(nil)

// NewOrganisationService returns the organisation repository.
func NewOrganisationService(db *DB) *OrganisationService { return &OrganisationService{db: db} }

// CreateOrganisation implements domain.OrganisationService.
func (s *OrganisationService) CreateOrganisation(ctx context.Context, o *domain.Organisation) error {
	if o.Status == "" {
		o.Status = domain.OrgPending
	}
	if err := o.Validate(); err != nil {
		return err
	}
	row := organisationFromDomain(o)
	if err := s.db.tx(ctx, func(tx *gorm.DB) error {
		return tx.Create(row).Error
	}); err != nil {
		return pgError("create organisation", err)
	}
	*o = *row.toDomain()
	return nil
}

// FindOrganisationByID implements domain.OrganisationService.
func (s *OrganisationService) FindOrganisationByID(ctx context.Context, id uuid.UUID) (*domain.Organisation, error) {
	var row organisationRow
	if err := s.db.gorm.WithContext(ctx).Take(&row, "id = ?", id).Error; err != nil {
		return nil, pgError("find organisation", err)
	}
	return row.toDomain(), nil
}

// FindOrganisationByCVR implements domain.OrganisationService.
func (s *OrganisationService) FindOrganisationByCVR(ctx context.Context, cvr string) (*domain.Organisation, error) {
	var row organisationRow
	if err := s.db.gorm.WithContext(ctx).Take(&row, "cvr = ?", cvr).Error; err != nil {
		return nil, pgError("find organisation", err)
	}
	return row.toDomain(), nil
}

// UpdateOrganisationSettings implements domain.OrganisationService.
func (s *OrganisationService) UpdateOrganisationSettings(ctx context.Context, id uuid.UUID, st domain.OrgSettings) error {
	if err := st.Validate(); err != nil {
		return err
	}
	res := s.db.gorm.WithContext(ctx).Model(&organisationRow{}).Where("id = ?", id).Updates(map[string]any{
		"allow_private_mitid":   st.AllowPrivateMitID,
		"mandatory_user_fields": pq.StringArray(nonNil(st.MandatoryUserFields)),
		"notification_email":    optString(st.NotificationEmail),
		"notify_on_requests":    st.NotifyOnRequests,
	})
	if res.Error != nil {
		return pgError("update organisation settings", res.Error)
	}
	if res.RowsAffected == 0 {
		return &domain.Error{Code: domain.ENOTFOUND, Key: "org.not_found", Message: "The organisation does not exist."}
	}
	return nil
}

// CreateProductionUnit implements domain.OrganisationService.
func (s *OrganisationService) CreateProductionUnit(ctx context.Context, u *domain.ProductionUnit) error {
	if u.Status == "" {
		u.Status = "active"
	}
	if err := u.Validate(); err != nil {
		return err
	}
	row := &productionUnitRow{ID: u.ID, OrgID: u.OrgID, PNumber: u.PNumber, Name: u.Name, Address: u.Address, Status: u.Status}
	if err := s.db.gorm.WithContext(ctx).Create(row).Error; err != nil {
		return pgError("create production unit", err)
	}
	*u = *row.toDomain()
	return nil
}

// ListProductionUnits implements domain.OrganisationService.
func (s *OrganisationService) ListProductionUnits(ctx context.Context, orgID uuid.UUID) ([]*domain.ProductionUnit, error) {
	var rows []productionUnitRow
	if err := s.db.gorm.WithContext(ctx).Where("org_id = ?", orgID).Order("p_number").Find(&rows).Error; err != nil {
		return nil, pgError("list production units", err)
	}
	return mapRows(rows, (*productionUnitRow).toDomain), nil
}

// CreateSENumber implements domain.OrganisationService.
func (s *OrganisationService) CreateSENumber(ctx context.Context, se *domain.SENumber) error {
	if se.Status == "" {
		se.Status = "active"
	}
	if err := se.Validate(); err != nil {
		return err
	}
	row := &seNumberRow{ID: se.ID, OrgID: se.OrgID, SeNumber: se.SENumber, Name: se.Name, Status: se.Status}
	if err := s.db.gorm.WithContext(ctx).Create(row).Error; err != nil {
		return pgError("create SE-number", err)
	}
	*se = *row.toDomain()
	return nil
}

// ListSENumbers implements domain.OrganisationService.
func (s *OrganisationService) ListSENumbers(ctx context.Context, orgID uuid.UUID) ([]*domain.SENumber, error) {
	var rows []seNumberRow
	if err := s.db.gorm.WithContext(ctx).Where("org_id = ?", orgID).Order("se_number").Find(&rows).Error; err != nil {
		return nil, pgError("list SE-numbers", err)
	}
	return mapRows(rows, (*seNumberRow).toDomain), nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func derefString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
