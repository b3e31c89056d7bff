package domain

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Organisation statuses.
const (
	OrgPending   = "pending" // being connected by a management representative
	OrgActive    = "active"
	OrgSuspended = "suspended"
	OrgClosed    = "closed"
)

// Extra user fields an organisation may make mandatory.
var MandatoryUserFieldNames = []string{"phone", "production_unit", "se_number", "employee_number", "department"}

// Organisation is a company, identified by its CVR number.
type Organisation struct {
	ID                uuid.UUID
	CVR               string
	Name              string
	Status            string
	IsServiceProvider bool
	Settings          OrgSettings
	ConnectedAt       *time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// OrgSettings are the choices an organisation administrator makes.
type OrgSettings struct {
	AllowPrivateMitID   bool
	MandatoryUserFields []string
	NotificationEmail   string
	NotifyOnRequests    bool
}

// Validate checks an organisation before it is stored.
func (o *Organisation) Validate() error {
	var errs ValidationErrors
	errs.Add(ValidateCVR("cvr", o.CVR))
	if n := len([]rune(strings.TrimSpace(o.Name))); n < 1 || n > 200 {
		errs = append(errs, Invalid("name", "org.name", "The organisation's name must have 1 to 200 characters."))
	}
	switch o.Status {
	case OrgPending, OrgActive, OrgSuspended, OrgClosed:
	default:
		errs = append(errs, Invalid("status", "org.status", "Unknown organisation status."))
	}
	errs.Add(o.Settings.Validate())
	return errs.Err()
}

// Validate checks the settings an organisation administrator chooses.
func (s OrgSettings) Validate() error {
	var errs ValidationErrors
	for _, f := range s.MandatoryUserFields {
		if !slices.Contains(MandatoryUserFieldNames, f) {
			errs = append(errs, Invalid("mandatory_user_fields", "org.mandatory_field", "Unknown user field "+f+"."))
		}
	}
	if s.NotificationEmail != "" {
		errs.Add(ValidateEmail("notification_email", s.NotificationEmail))
	}
	return errs.Err()
}

// ProductionUnit is a P-number of an organisation.
type ProductionUnit struct {
	ID        uuid.UUID
	OrgID     uuid.UUID
	PNumber   string
	Name      string
	Address   string
	Status    string // active, closed
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Validate checks a production unit before it is stored.
func (u *ProductionUnit) Validate() error {
	var errs ValidationErrors
	errs.Add(ValidatePNumber("p_number", u.PNumber))
	if n := len([]rune(strings.TrimSpace(u.Name))); n < 1 || n > 200 {
		errs = append(errs, Invalid("name", "unit.name", "The production unit's name must have 1 to 200 characters."))
	}
	return errs.Err()
}

// SENumber is an SE-number of an organisation.
type SENumber struct {
	ID        uuid.UUID
	OrgID     uuid.UUID
	SENumber  string
	Name      string
	Status    string // active, closed
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Validate checks an SE-number before it is stored.
func (s *SENumber) Validate() error {
	var errs ValidationErrors
	errs.Add(ValidateSENumber("se_number", s.SENumber))
	if n := len([]rune(strings.TrimSpace(s.Name))); n < 1 || n > 200 {
		errs = append(errs, Invalid("name", "se.name", "The SE-number's name must have 1 to 200 characters."))
	}
	return errs.Err()
}

// OrganisationService stores organisations and their units.
type OrganisationService interface {
	// CreateOrganisation stores a new organisation. EINVALID for bad fields,
	// ECONFLICT when the CVR number is already connected.
	CreateOrganisation(ctx context.Context, o *Organisation) error
	// FindOrganisationByID returns ENOTFOUND when there is none.
	FindOrganisationByID(ctx context.Context, id uuid.UUID) (*Organisation, error)
	// FindOrganisationByCVR returns ENOTFOUND when there is none.
	FindOrganisationByCVR(ctx context.Context, cvr string) (*Organisation, error)
	// UpdateOrganisationSettings replaces the settings. EINVALID, ENOTFOUND.
	UpdateOrganisationSettings(ctx context.Context, id uuid.UUID, s OrgSettings) error
	// CreateProductionUnit stores a P-number. EINVALID, ECONFLICT when the
	// P-number belongs to any organisation already.
	CreateProductionUnit(ctx context.Context, u *ProductionUnit) error
	// ListProductionUnits lists an organisation's units by P-number.
	ListProductionUnits(ctx context.Context, orgID uuid.UUID) ([]*ProductionUnit, error)
	// CreateSENumber stores an SE-number. EINVALID, ECONFLICT.
	CreateSENumber(ctx context.Context, s *SENumber) error
	// ListSENumbers lists an organisation's SE-numbers.
	ListSENumbers(ctx context.Context, orgID uuid.UUID) ([]*SENumber, error)
}
