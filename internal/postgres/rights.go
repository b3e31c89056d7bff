package postgres

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"gorm.io/gorm"
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

// CreateAssignment implements domain.RightsService (unaudited: the seed's).
func (s *RightsService) CreateAssignment(ctx context.Context, a *domain.Assignment) error {
	return s.db.tx(ctx, func(tx *gorm.DB) error { return insertAssignmentTx(tx, a) })
}

// insertAssignmentTx validates an assignment against its privilege and its
// organisation, and stores it. Every way a privilege comes to be assigned
// (the portal, an approved request, a power of attorney passed on) goes
// through it. The privilege must be active (and its IT system too), assignable
// to groups when given to one, and the constraint values of its declared
// types and formats. The holder must be a living user or a group of the
// organisation. The scope must be the organisation's own CVR, P-number or
// SE-number, and a group restricted to a P- or SE-number takes only that one,
// except for an assignment passed on from a power of attorney (ViaPoAID),
// whose scope the caller has checked against the power of attorney.
func insertAssignmentTx(tx *gorm.DB, a *domain.Assignment) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if err := checkGrantTx(tx, a); err != nil {
		return err
	}
	if err := checkHolderTx(tx, a); err != nil {
		return err
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

// checkGrantTx checks what an assignment gives against its privilege and
// the organisation: every problem at once, so a form can show them all.
func checkGrantTx(tx *gorm.DB, a *domain.Assignment) error {
	var p struct {
		Row          privilegeRow `gorm:"embedded"`
		SystemStatus string
	}
	err := tx.Table("privileges p").Select("p.*, s.status AS system_status").Joins("JOIN it_systems s ON s.id = p.it_system_id").
		Where("p.id = ?", a.PrivilegeID).Take(&p).Error
	if err != nil {
		return notFoundOr(err, errPrivilegeNotFound, "create assignment")
	}
	var errs domain.ValidationErrors
	if p.Row.Status != statusActive || p.SystemStatus != statusActive {
		errs = append(errs, domain.Invalid("privilege", "privilege.retired", "The privilege is retired and can no longer be assigned."))
	}
	if a.GroupID != nil && !p.Row.GroupAssignable {
		errs = append(errs, domain.Invalid("group", "privilege.not_group_assignable", "This privilege cannot be assigned through a group; assign it to users."))
	}
	errs.Add(domain.ValidateConstraints(p.Row.ConstraintTypes, a.ConstraintValues))
	if err := a.Scope.Validate(); err != nil {
		errs.Add(err)
	} else if a.ViaPoAID == nil {
		if err := scopeOfOrgTx(tx, a.OrgID, a.Scope); err != nil {
			if domain.ErrorCode(err) == domain.EINTERNAL {
				return err
			}
			errs.Add(err)
		} else if a.GroupID != nil {
			if err := groupRestrictionTx(tx, a.OrgID, *a.GroupID, a.Scope); err != nil {
				if domain.ErrorCode(err) == domain.EINTERNAL {
					return err
				}
				errs.Add(err)
			}
		}
	}
	return errs.Err()
}

// checkHolderTx checks that the holder is a living user or a group of the
// assignment's organisation.
func checkHolderTx(tx *gorm.DB, a *domain.Assignment) error {
	var n int64
	if a.UserID != nil {
		if err := tx.Model(&userRow{}).Where("org_id = ? AND id = ? AND status <> ?", a.OrgID, *a.UserID, domain.UserDeleted).Count(&n).Error; err != nil {
			return pgError("check holder", err)
		}
		if n == 0 {
			return &domain.Error{Code: domain.ENOTFOUND, Field: "user", Key: "user.not_found", Message: "The user does not belong to the organisation."}
		}
		return nil
	}
	if err := tx.Model(&groupRow{}).Where("org_id = ? AND id = ?", a.OrgID, *a.GroupID).Count(&n).Error; err != nil {
		return pgError("check holder", err)
	}
	if n == 0 {
		return &domain.Error{Code: domain.ENOTFOUND, Field: "group", Key: "group.not_found", Message: "The group does not belong to the organisation."}
	}
	return nil
}

// groupRestrictionTx checks that a group restricted to a P-number or an
// SE-number gets privileges for that unit only.
func groupRestrictionTx(tx *gorm.DB, orgID, groupID uuid.UUID, scope domain.Scope) error {
	var g struct {
		PNumber  *string
		SENumber *string `gorm:"column:se_number"`
	}
	err := tx.Table("user_groups g").Select("pu.p_number, se.se_number").
		Joins("LEFT JOIN production_units pu ON pu.id = g.production_unit_id").
		Joins("LEFT JOIN se_numbers se ON se.id = g.se_number_id").
		Where("g.org_id = ? AND g.id = ?", orgID, groupID).Take(&g).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil // checkHolderTx says so
	}
	if err != nil {
		return pgError("check group restriction", err)
	}
	switch {
	case g.PNumber != nil && (scope.Kind != domain.ScopeP || scope.Value != *g.PNumber):
		return domain.Invalid("scope", "assignment.group_restricted_p",
			fmt.Sprintf("The group is restricted to P-number %s; choose that P-number as the scope.", *g.PNumber))
	case g.SENumber != nil && (scope.Kind != domain.ScopeSE || scope.Value != *g.SENumber):
		return domain.Invalid("scope", "assignment.group_restricted_se",
			fmt.Sprintf("The group is restricted to SE-number %s; choose that SE-number as the scope.", *g.SENumber))
	}
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

// ----- IT systems -----

func validateSystem(sys *domain.ITSystem) error {
	var errs domain.ValidationErrors
	errs.Add(sys.Validate())
	if len([]rune(sys.Description)) > maxDescription {
		errs = append(errs, domain.Invalid("description", "itsystem.description", "A description has at most 2000 characters."))
	}
	if sys.Status != statusActive && sys.Status != statusRetired {
		errs = append(errs, domain.Invalid("status", "itsystem.status", "An IT system is active or retired."))
	}
	return errs.Err()
}

func systemDetails(s *domain.ITSystem) map[string]any {
	return map[string]any{"name": s.Name, "description": s.Description, "status": s.Status}
}

// RegisterITSystem stores a new, active IT system of the service provider
// sys.OrgID and audits it. EINVALID; ECONFLICT for a name the provider uses.
func (s *RightsService) RegisterITSystem(ctx context.Context, actor Actor, sys *domain.ITSystem) error {
	sys.Name, sys.Description, sys.Status = strings.TrimSpace(sys.Name), strings.TrimSpace(sys.Description), statusActive
	if err := validateSystem(sys); err != nil {
		return err
	}
	return s.db.tx(ctx, func(tx *gorm.DB) error {
		row := &itSystemRow{OrgID: sys.OrgID, Name: sys.Name, Description: sys.Description, Status: sys.Status}
		if err := tx.Create(row).Error; err != nil {
			return pgError("create IT system", err)
		}
		*sys = *row.toDomain()
		return appendAudit(tx, s.db.Now().UTC(), actor.event(sys.OrgID, "itsystem.created", "itsystem", sys.ID.String(),
			map[string]any{"after": systemDetails(sys)}))
	})
}

// UpdateITSystem changes the name, description and status of one of the
// provider's own systems (sys.OrgID, sys.ID) and audits before and after.
// Retiring a system retires its active privileges with it: nothing of a
// retired system can be assigned. ENOTFOUND for another organisation's system.
func (s *RightsService) UpdateITSystem(ctx context.Context, actor Actor, sys *domain.ITSystem) error {
	sys.Name, sys.Description = strings.TrimSpace(sys.Name), strings.TrimSpace(sys.Description)
	if err := validateSystem(sys); err != nil {
		return err
	}
	return s.db.tx(ctx, func(tx *gorm.DB) error {
		var old itSystemRow
		if err := tx.Clauses(forUpdate).Take(&old, "org_id = ? AND id = ?", sys.OrgID, sys.ID).Error; err != nil {
			return notFoundOr(err, errSystemNotFound, "find IT system")
		}
		if err := tx.Model(&itSystemRow{}).Where("id = ?", sys.ID).
			Updates(map[string]any{"name": sys.Name, "description": sys.Description, "status": sys.Status}).Error; err != nil {
			return pgError("update IT system", err)
		}
		d := map[string]any{"before": systemDetails(old.toDomain()), "after": systemDetails(sys)}
		if sys.Status == statusRetired && old.Status != statusRetired {
			res := tx.Model(&privilegeRow{}).Where("it_system_id = ? AND status = ?", sys.ID, statusActive).Update("status", statusRetired)
			if res.Error != nil {
				return pgError("retire privileges", res.Error)
			}
			d["privileges_retired"] = res.RowsAffected
		}
		sys.CreatedAt = old.CreatedAt
		return appendAudit(tx, s.db.Now().UTC(), actor.event(sys.OrgID, "itsystem.updated", "itsystem", sys.ID.String(), d))
	})
}

// FindITSystem returns one of the organisation's own IT systems; ENOTFOUND
// for an unknown one and for another organisation's.
func (s *RightsService) FindITSystem(ctx context.Context, orgID, id uuid.UUID) (*domain.ITSystem, error) {
	var row itSystemRow
	if err := s.db.gorm.WithContext(ctx).Take(&row, "org_id = ? AND id = ?", orgID, id).Error; err != nil {
		return nil, notFoundOr(err, errSystemNotFound, "find IT system")
	}
	return row.toDomain(), nil
}

// ITSystemSummary is an IT system with the number of its privileges.
type ITSystemSummary struct {
	System           *domain.ITSystem
	Privileges       int
	ActivePrivileges int
}

// ListITSystems lists the organisation's own IT systems by name.
func (s *RightsService) ListITSystems(ctx context.Context, orgID uuid.UUID) ([]ITSystemSummary, error) {
	var rows []struct {
		Row              itSystemRow `gorm:"embedded"`
		Privileges       int
		ActivePrivileges int
	}
	err := s.db.gorm.WithContext(ctx).Table("it_systems s").
		Select("s.*, count(p.id) AS privileges, count(p.id) FILTER (WHERE p.status = 'active') AS active_privileges").
		Joins("LEFT JOIN privileges p ON p.it_system_id = s.id").Where("s.org_id = ?", orgID).
		Group("s.id").Order("lower(s.name), s.id").Scan(&rows).Error
	if err != nil {
		return nil, pgError("list IT systems", err)
	}
	out := make([]ITSystemSummary, len(rows))
	for i := range rows {
		out[i] = ITSystemSummary{System: rows[i].Row.toDomain(), Privileges: rows[i].Privileges, ActivePrivileges: rows[i].ActivePrivileges}
	}
	return out, nil
}

// ----- privileges -----

func privilegeFromDomain(p *domain.Privilege) *privilegeRow {
	return &privilegeRow{ID: p.ID, OrgID: p.OrgID, ItSystemID: p.ITSystemID, URI: p.URI, NameDa: p.NameDA, NameEn: p.NameEN,
		DescriptionDa: p.DescriptionDA, DescriptionEn: p.DescriptionEN, ConstraintTypes: pq.StringArray(nonNil(p.ConstraintTypes)),
		MinLoa: p.MinLoA, GroupAssignable: p.GroupAssignable, NeedsApproval: p.NeedsApproval, Status: p.Status}
}

// normalizePrivilege trims the texts and removes empty and repeated
// constraint types, keeping their order.
func normalizePrivilege(p *domain.Privilege) {
	p.URI, p.NameDA, p.NameEN = strings.TrimSpace(p.URI), strings.TrimSpace(p.NameDA), strings.TrimSpace(p.NameEN)
	p.DescriptionDA, p.DescriptionEN = strings.TrimSpace(p.DescriptionDA), strings.TrimSpace(p.DescriptionEN)
	var types []string
	for _, t := range p.ConstraintTypes {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(types, t) {
			types = append(types, t)
		}
	}
	p.ConstraintTypes = types
}

func validatePrivilege(p *domain.Privilege) error {
	var errs domain.ValidationErrors
	errs.Add(p.Validate())
	if len([]rune(p.DescriptionDA)) > maxDescription {
		errs = append(errs, domain.Invalid("description_da", "privilege.description", "A description has at most 2000 characters."))
	}
	if len([]rune(p.DescriptionEN)) > maxDescription {
		errs = append(errs, domain.Invalid("description_en", "privilege.description", "A description has at most 2000 characters."))
	}
	if len(p.ConstraintTypes) > 10 {
		errs = append(errs, domain.Invalid("constraint_types", "privilege.constraint_count", "A privilege has at most 10 constraint types."))
	}
	if p.Status != statusActive && p.Status != statusRetired {
		errs = append(errs, domain.Invalid("status", "privilege.status", "A privilege is active or retired."))
	}
	return errs.Err()
}

func privilegeDetails(p *domain.Privilege) map[string]any {
	return map[string]any{"uri": p.URI, "it_system_id": p.ITSystemID.String(), "name_da": p.NameDA, "name_en": p.NameEN,
		"description_da": p.DescriptionDA, "description_en": p.DescriptionEN, "constraint_types": nonNil(p.ConstraintTypes),
		"min_loa": p.MinLoA, "group_assignable": p.GroupAssignable, "needs_approval": p.NeedsApproval, "status": p.Status}
}

// activeSystemTx locks one of the provider's own systems and checks that
// privileges may be published for it.
func activeSystemTx(tx *gorm.DB, orgID, id uuid.UUID) error {
	var sys itSystemRow
	if err := tx.Clauses(forShare).Take(&sys, "org_id = ? AND id = ?", orgID, id).Error; err != nil {
		return notFoundOr(err, errSystemNotFound, "find IT system")
	}
	if sys.Status != statusActive {
		return domain.Invalid("status", "itsystem.retired", "The IT system is retired; make it active again before its privileges can be active.")
	}
	return nil
}

// PublishOwnPrivilege publishes an active privilege for one of the
// provider's own IT systems (p.OrgID, p.ITSystemID) and audits it.
// EINVALID; ENOTFOUND for another organisation's system; ECONFLICT for a URI
// already published by anyone (a URI is global).
func (s *RightsService) PublishOwnPrivilege(ctx context.Context, actor Actor, p *domain.Privilege) error {
	normalizePrivilege(p)
	p.ID, p.Status = uuid.Nil, statusActive
	if err := validatePrivilege(p); err != nil {
		return err
	}
	return s.db.tx(ctx, func(tx *gorm.DB) error {
		if err := activeSystemTx(tx, p.OrgID, p.ITSystemID); err != nil {
			return err
		}
		row := privilegeFromDomain(p)
		if err := tx.Create(row).Error; err != nil {
			return pgError("publish privilege", err)
		}
		*p = *row.toDomain()
		return appendAudit(tx, s.db.Now().UTC(), actor.event(p.OrgID, "privilege.published", "privilege", p.ID.String(),
			map[string]any{"after": privilegeDetails(p)}))
	})
}

// UpdatePrivilege changes one of the provider's own privileges (p.OrgID,
// p.ID): names, descriptions, constraint types, minimum level, whether it is
// group-assignable or needs approval, and its status. The URI and the IT
// system never change once published. Refused (EINVALID) with nothing
// changed: a different URI; a constraint type removed while assignments or
// powers of attorney use it; group-assignable turned off while groups hold
// the privilege; making it active in a retired IT system. ENOTFOUND for
// another organisation's privilege.
func (s *RightsService) UpdatePrivilege(ctx context.Context, actor Actor, p *domain.Privilege) error {
	normalizePrivilege(p)
	return s.db.tx(ctx, func(tx *gorm.DB) error {
		var old privilegeRow
		if err := tx.Clauses(forUpdate).Take(&old, "org_id = ? AND id = ?", p.OrgID, p.ID).Error; err != nil {
			return notFoundOr(err, errPrivilegeNotFound, "find privilege")
		}
		var errs domain.ValidationErrors
		if p.URI != "" && p.URI != old.URI {
			errs = append(errs, domain.Invalid("uri", "privilege.uri_immutable",
				"A published privilege keeps its identifier; publish a new privilege for a new identifier."))
		}
		p.URI, p.ITSystemID, p.CreatedAt = old.URI, old.ItSystemID, old.CreatedAt
		errs.Add(validatePrivilege(p))
		for _, t := range old.ConstraintTypes {
			if slices.Contains(p.ConstraintTypes, t) {
				continue
			}
			var n int64
			if err := tx.Raw(`SELECT (SELECT count(*) FROM privilege_assignments WHERE privilege_id = ? AND jsonb_exists(constraint_values, ?)) +
				(SELECT count(*) FROM poa_privileges WHERE privilege_id = ? AND jsonb_exists(constraint_values, ?))`, p.ID, t, p.ID, t).Scan(&n).Error; err != nil {
				return pgError("check constraint use", err)
			}
			if n > 0 {
				errs = append(errs, domain.Invalid("constraint_types", "privilege.constraint_in_use",
					fmt.Sprintf("Constraint type %s is used by %d assignments; keep it, or have those assignments removed first.", t, n)))
			}
		}
		if old.GroupAssignable && !p.GroupAssignable {
			var n int64
			if err := tx.Model(&assignmentRow{}).Where("privilege_id = ? AND group_id IS NOT NULL", p.ID).Count(&n).Error; err != nil {
				return pgError("check group use", err)
			}
			if n > 0 {
				errs = append(errs, domain.Invalid("group_assignable", "privilege.group_in_use",
					fmt.Sprintf("%d user groups hold this privilege; it stays group-assignable until they no longer do.", n)))
			}
		}
		if len(errs) == 0 && p.Status == statusActive {
			errs.Add(activeSystemTx(tx, p.OrgID, p.ITSystemID))
		}
		if err := errs.Err(); err != nil {
			return err
		}
		row := privilegeFromDomain(p)
		if err := tx.Model(&privilegeRow{}).Where("id = ?", p.ID).Updates(map[string]any{
			"name_da": row.NameDa, "name_en": row.NameEn, "description_da": row.DescriptionDa, "description_en": row.DescriptionEn,
			"constraint_types": row.ConstraintTypes, "min_loa": row.MinLoa, "group_assignable": row.GroupAssignable,
			"needs_approval": row.NeedsApproval, "status": row.Status,
		}).Error; err != nil {
			return pgError("update privilege", err)
		}
		before, after := privilegeDetails(old.toDomain()), privilegeDetails(p)
		for k, v := range before {
			if fmt.Sprint(v) == fmt.Sprint(after[k]) {
				delete(before, k)
				delete(after, k)
			}
		}
		return appendAudit(tx, s.db.Now().UTC(), actor.event(p.OrgID, "privilege.updated", "privilege", p.ID.String(),
			map[string]any{"uri": p.URI, "before": before, "after": after}))
	})
}

// FindOwnPrivilege returns one of the provider's own privileges; ENOTFOUND
// for an unknown one and for another organisation's.
func (s *RightsService) FindOwnPrivilege(ctx context.Context, orgID, id uuid.UUID) (*domain.Privilege, error) {
	var row privilegeRow
	if err := s.db.gorm.WithContext(ctx).Take(&row, "org_id = ? AND id = ?", orgID, id).Error; err != nil {
		return nil, notFoundOr(err, errPrivilegeNotFound, "find privilege")
	}
	return row.toDomain(), nil
}

// ListPrivilegesOfSystem lists the privileges of one of the provider's own
// systems by URI (none for another organisation's system).
func (s *RightsService) ListPrivilegesOfSystem(ctx context.Context, orgID, systemID uuid.UUID) ([]*domain.Privilege, error) {
	var rows []privilegeRow
	if err := s.db.gorm.WithContext(ctx).Where("org_id = ? AND it_system_id = ?", orgID, systemID).Order("uri").Find(&rows).Error; err != nil {
		return nil, pgError("list privileges", err)
	}
	return mapRows(rows, (*privilegeRow).toDomain), nil
}

// ----- the catalogue -----

// Statuses a catalogue search may ask for.
const (
	CatalogueActive  = "active"
	CatalogueRetired = "retired"
	CatalogueAll     = "all"
)

// PrivilegeFilter selects privileges of the catalogue, every provider's.
type PrivilegeFilter struct {
	// Query matches the URI, the Danish or English name or the IT system's
	// name, anywhere in them, ignoring case.
	Query      string
	SystemID   *uuid.UUID
	ProviderID *uuid.UUID
	// Status is CatalogueActive (also when empty), CatalogueRetired or
	// CatalogueAll.
	Status string
	// GroupAssignable, when true, keeps only privileges a group may hold.
	GroupAssignable bool
	// HeldIn keeps only privileges assigned in this organisation.
	HeldIn *uuid.UUID
	// After continues a listing after the privilege with this URI.
	After string
	// Limit is the page size: 50 when zero, at most 500.
	Limit int
}

// CatalogueEntry is a privilege with the names of its system and provider.
type CatalogueEntry struct {
	Privilege    *domain.Privilege
	SystemName   string
	SystemStatus string
	ProviderName string
	ProviderCVR  string
}

type catalogueRow struct {
	Row          privilegeRow `gorm:"embedded"`
	SystemName   string
	SystemStatus string
	ProviderName string
	ProviderCvr  string
}

func (r *catalogueRow) toEntry() CatalogueEntry {
	return CatalogueEntry{Privilege: r.Row.toDomain(), SystemName: r.SystemName, SystemStatus: r.SystemStatus,
		ProviderName: r.ProviderName, ProviderCVR: r.ProviderCvr}
}

func (s *RightsService) catalogue(ctx context.Context) *gorm.DB {
	return s.db.gorm.WithContext(ctx).Table("privileges p").
		Select("p.*, s.name AS system_name, s.status AS system_status, o.name AS provider_name, o.cvr AS provider_cvr").
		Joins("JOIN it_systems s ON s.id = p.it_system_id").Joins("JOIN organisations o ON o.id = p.org_id")
}

// SearchPrivileges returns a page of the catalogue by URI, and whether more
// follow (continue with After set to the last URI). EINVALID for an unknown
// status.
func (s *RightsService) SearchPrivileges(ctx context.Context, f PrivilegeFilter) ([]CatalogueEntry, bool, error) {
	q := s.catalogue(ctx)
	switch f.Status {
	case "", CatalogueActive:
		q = q.Where("p.status = ? AND s.status = ?", statusActive, statusActive)
	case CatalogueRetired:
		q = q.Where("(p.status = ? OR s.status = ?)", statusRetired, statusRetired)
	case CatalogueAll:
	default:
		return nil, false, domain.Invalid("status", "privilege.filter_status", "Choose active, retired or all privileges.")
	}
	if term := strings.ToLower(strings.TrimSpace(f.Query)); term != "" {
		like := "%" + escapeLike(term) + "%"
		q = q.Where("(lower(p.uri) LIKE ? OR lower(p.name_da) LIKE ? OR lower(p.name_en) LIKE ? OR lower(s.name) LIKE ?)", like, like, like, like)
	}
	if f.SystemID != nil {
		q = q.Where("p.it_system_id = ?", *f.SystemID)
	}
	if f.ProviderID != nil {
		q = q.Where("p.org_id = ?", *f.ProviderID)
	}
	if f.GroupAssignable {
		q = q.Where("p.group_assignable")
	}
	if f.HeldIn != nil {
		q = q.Where("EXISTS (SELECT 1 FROM privilege_assignments a WHERE a.org_id = ? AND a.privilege_id = p.id)", *f.HeldIn)
	}
	if f.After != "" {
		q = q.Where("p.uri > ?", f.After)
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	var rows []catalogueRow
	if err := q.Order("p.uri").Limit(limit + 1).Scan(&rows).Error; err != nil {
		return nil, false, pgError("search privileges", err)
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	return mapRows(rows, (*catalogueRow).toEntry), more, nil
}

// FindCatalogueEntry returns any published privilege of the catalogue
// (every organisation may read it); ENOTFOUND.
func (s *RightsService) FindCatalogueEntry(ctx context.Context, id uuid.UUID) (*CatalogueEntry, error) {
	var rows []catalogueRow
	if err := s.catalogue(ctx).Where("p.id = ?", id).Limit(1).Scan(&rows).Error; err != nil {
		return nil, pgError("find privilege", err)
	}
	if len(rows) == 0 {
		return nil, errPrivilegeNotFound
	}
	e := rows[0].toEntry()
	return &e, nil
}

// CatalogueSystem is an IT system as the catalogue's filters name it.
type CatalogueSystem struct {
	ID           uuid.UUID
	Name         string
	ProviderID   uuid.UUID
	ProviderName string
}

// ListCatalogueSystems lists every IT system that has published privileges,
// by provider and name.
func (s *RightsService) ListCatalogueSystems(ctx context.Context) ([]CatalogueSystem, error) {
	var rows []CatalogueSystem
	err := s.db.gorm.WithContext(ctx).Table("it_systems s").
		Select("s.id, s.name, s.org_id AS provider_id, o.name AS provider_name").
		Joins("JOIN organisations o ON o.id = s.org_id").
		Where("EXISTS (SELECT 1 FROM privileges p WHERE p.it_system_id = s.id)").
		Order("lower(o.name), lower(s.name), s.id").Scan(&rows).Error
	if err != nil {
		return nil, pgError("list IT systems", err)
	}
	return rows, nil
}

// ----- assignments -----

// NewAssignments gives one privilege at once to several users, or to one
// group, with one scope, one set of constraint values and one period.
type NewAssignments struct {
	OrgID            uuid.UUID
	PrivilegeID      uuid.UUID
	UserIDs          []uuid.UUID
	GroupID          *uuid.UUID
	Scope            domain.Scope
	ConstraintValues map[string]string
	ValidFrom        *time.Time
	ValidTo          *time.Time
}

// MaxAssignmentsAtOnce bounds the users of one CreateAssignments.
const MaxAssignmentsAtOnce = 500

// UserFieldPrefix starts the field of an error about one user of a
// CreateAssignments: "user:<uuid>", so a form can name the person.
const UserFieldPrefix = "user:"

// CreateAssignments gives the privilege to every user of n (or to its group)
// in one transaction with one audit event per assignment: all or nothing.
// Every problem is reported at once (domain.ValidationErrors): those of the
// grant itself (retired privilege, group-assignable, constraint values,
// scope outside the organisation or the group's restriction, period) under
// their fields, and those of single users under "user:<uuid>" — not a
// living user of the organisation (ENOTFOUND), or already holding the
// privilege for this scope (ECONFLICT). An end date that has passed is
// refused too. Nothing is stored unless everything is right.
func (s *RightsService) CreateAssignments(ctx context.Context, actor Actor, n NewAssignments) ([]*domain.Assignment, error) {
	users := distinctUsers(n.UserIDs)
	granter := actor.UserID
	var out []*domain.Assignment
	err := s.db.tx(ctx, func(tx *gorm.DB) error {
		uri, err := s.assignmentProblemsTx(tx, n, users)
		if err != nil {
			return err
		}
		holders := make([]*domain.Assignment, 0, max(len(users), 1))
		if n.GroupID != nil {
			holders = append(holders, n.template(&granter))
		}
		for i := range users {
			a := n.template(&granter)
			a.GroupID, a.UserID = nil, &users[i]
			holders = append(holders, a)
		}
		t := s.db.Now().UTC()
		for _, a := range holders {
			if err := insertAssignmentTx(tx, a); err != nil {
				return err
			}
			if err := appendAudit(tx, t, actor.event(a.OrgID, "assignment.created", "assignment", a.ID.String(), assignmentDetails(a, uri))); err != nil {
				return err
			}
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CheckAssignments reports what CreateAssignments would refuse in n,
// changing nothing: a form can show every problem even while some of its
// other fields are still wrong.
func (s *RightsService) CheckAssignments(ctx context.Context, n NewAssignments) error {
	return s.db.tx(ctx, func(tx *gorm.DB) error {
		_, err := s.assignmentProblemsTx(tx, n, distinctUsers(n.UserIDs))
		return err
	})
}

func distinctUsers(ids []uuid.UUID) []uuid.UUID {
	var users []uuid.UUID
	for _, id := range ids {
		if !slices.Contains(users, id) {
			users = append(users, id)
		}
	}
	return users
}

func (n NewAssignments) template(grantedBy *uuid.UUID) *domain.Assignment {
	return &domain.Assignment{OrgID: n.OrgID, PrivilegeID: n.PrivilegeID, GroupID: n.GroupID, Scope: n.Scope,
		ConstraintValues: n.ConstraintValues, ValidFrom: n.ValidFrom, ValidTo: n.ValidTo, GrantedBy: grantedBy}
}

// assignmentProblemsTx returns the privilege's URI and every problem of n.
func (s *RightsService) assignmentProblemsTx(tx *gorm.DB, n NewAssignments, users []uuid.UUID) (string, error) {
	var errs domain.ValidationErrors
	switch {
	case len(users) == 0 && n.GroupID == nil:
		errs = append(errs, domain.Invalid("users", "assignment.holder", "Choose at least one user, or a group."))
	case len(users) > 0 && n.GroupID != nil:
		errs = append(errs, domain.Invalid("users", "assignment.holder_both", "Assign to users or to a group, not both at once."))
	case len(users) > MaxAssignmentsAtOnce:
		errs = append(errs, domain.Invalid("users", "assignment.too_many", fmt.Sprintf("Assign to at most %d users at once.", MaxAssignmentsAtOnce)))
	}
	now := s.db.Now()
	if n.ValidTo != nil && !n.ValidTo.After(now) {
		errs = append(errs, domain.Invalid("valid_to", "assignment.ended", "The end date has passed; choose a later one, or none."))
	}
	errs.Add(domain.ValidatePeriod(n.ValidFrom, n.ValidTo))
	var uri string
	if err := tx.Model(&privilegeRow{}).Select("uri").Where("id = ?", n.PrivilegeID).Take(&uri).Error; err != nil {
		return "", notFoundOr(err, errPrivilegeNotFound, "find privilege")
	}
	if err := checkGrantTx(tx, n.template(nil)); err != nil {
		if domain.ErrorCode(err) == domain.EINTERNAL {
			return "", err
		}
		errs.Add(err)
	}
	holderErrs, err := s.holderProblemsTx(tx, n, users, now)
	if err != nil {
		return "", err
	}
	errs = append(errs, holderErrs...)
	return uri, errs.Err()
}

// holderProblemsTx finds the users of n that are not living users of the
// organisation, and the holders that already hold the privilege for the
// scope with the same constraint values (an assignment not yet ended).
func (s *RightsService) holderProblemsTx(tx *gorm.DB, n NewAssignments, users []uuid.UUID, now time.Time) (domain.ValidationErrors, error) {
	var errs domain.ValidationErrors
	cv, err := json.Marshal(nonNilMap(n.ConstraintValues))
	if err != nil {
		return nil, err
	}
	existing := tx.Model(&assignmentRow{}).Where("org_id = ? AND privilege_id = ? AND scope_kind = ? AND scope_value = ? AND via_poa_id IS NULL AND constraint_values = ?::jsonb AND (valid_to IS NULL OR valid_to > ?)",
		n.OrgID, n.PrivilegeID, n.Scope.Kind, n.Scope.Value, string(cv), now)
	if n.GroupID != nil {
		var c int64
		if err := existing.Where("group_id = ?", *n.GroupID).Count(&c).Error; err != nil {
			return nil, pgError("check assignments", err)
		}
		if c > 0 {
			errs = append(errs, &domain.Error{Code: domain.ECONFLICT, Field: "group", Key: "assignment.exists_group",
				Message: "The group already holds this privilege for this scope."})
		}
		return errs, nil
	}
	if len(users) == 0 {
		return nil, nil
	}
	var found []struct {
		ID                  uuid.UUID
		FirstName, LastName string
	}
	if err := tx.Model(&userRow{}).Select("id, first_name, last_name").Where("org_id = ? AND id IN ? AND status <> ?", n.OrgID, users, domain.UserDeleted).
		Scan(&found).Error; err != nil {
		return nil, pgError("find users", err)
	}
	names := map[uuid.UUID]string{}
	for _, u := range found {
		names[u.ID] = strings.TrimSpace(u.FirstName + " " + u.LastName)
	}
	var holding []uuid.UUID
	if err := existing.Where("user_id IN ?", users).Distinct().Pluck("user_id", &holding).Error; err != nil {
		return nil, pgError("check assignments", err)
	}
	for _, id := range users {
		name, ok := names[id]
		switch {
		case !ok:
			errs = append(errs, &domain.Error{Code: domain.ENOTFOUND, Field: UserFieldPrefix + id.String(), Key: "assignment.user_unknown",
				Message: id.String() + " is not a user of the organisation."})
		case slices.Contains(holding, id):
			errs = append(errs, &domain.Error{Code: domain.ECONFLICT, Field: UserFieldPrefix + id.String(), Key: "assignment.exists",
				Message: name + " already holds this privilege for this scope."})
		}
	}
	return errs, nil
}

func assignmentDetails(a *domain.Assignment, uri string) map[string]any {
	d := map[string]any{"privilege_id": a.PrivilegeID.String(), "privilege_uri": uri, "scope": a.Scope.Kind + ":" + a.Scope.Value,
		"constraints": nonNilMap(a.ConstraintValues)}
	if a.UserID != nil {
		d["user_id"] = a.UserID.String()
	}
	if a.GroupID != nil {
		d["group_id"] = a.GroupID.String()
	}
	if a.ValidFrom != nil {
		d["valid_from"] = a.ValidFrom.UTC().Format(time.RFC3339)
	}
	if a.ValidTo != nil {
		d["valid_to"] = a.ValidTo.UTC().Format(time.RFC3339)
	}
	if a.ViaPoAID != nil {
		d["via_poa_id"] = a.ViaPoAID.String()
	}
	return d
}

// RemoveAssignment removes an assignment of the organisation and audits
// it. The organisation is the assignment's holder's: for a privilege passed
// on from a power of attorney that is the grantee, who may take it back,
// and that is taken back exactly as PoAService.RemovePassedOn does it, so
// the grantor's log records it too. ENOTFOUND for an unknown assignment and
// for another organisation's.
func (s *RightsService) RemoveAssignment(ctx context.Context, actor Actor, orgID, id uuid.UUID) error {
	return s.db.tx(ctx, func(tx *gorm.DB) error {
		now := s.db.Now().UTC()
		// Read unlocked first whether it was passed on from a power of
		// attorney: such an assignment is locked after its power of
		// attorney, as the power of attorney's own steps lock them (its
		// via_poa_id never changes).
		var found assignmentRow
		if err := tx.Take(&found, "org_id = ? AND id = ?", orgID, id).Error; err != nil {
			return notFoundOr(err, errAssignmentNotFound, "find assignment")
		}
		if found.ViaPoaID != nil {
			return removePassedOnTx(tx, now, actor, orgID, *found.ViaPoaID, id)
		}
		var row assignmentRow
		if err := tx.Clauses(forUpdate).Take(&row, "org_id = ? AND id = ?", orgID, id).Error; err != nil {
			return notFoundOr(err, errAssignmentNotFound, "find assignment")
		}
		return removeAssignmentTx(tx, now, actor, &row)
	})
}

// removeAssignmentTx deletes the locked assignment row and records
// assignment.removed, with what the assignment was, in its organisation's
// log: every removal of an assignment is audited so.
func removeAssignmentTx(tx *gorm.DB, now time.Time, actor Actor, row *assignmentRow) error {
	var uri string
	if err := tx.Model(&privilegeRow{}).Select("uri").Where("id = ?", row.PrivilegeID).Take(&uri).Error; err != nil {
		return pgError("find privilege", err)
	}
	if err := tx.Delete(&assignmentRow{}, "id = ?", row.ID).Error; err != nil {
		return pgError("remove assignment", err)
	}
	return appendAudit(tx, now, actor.event(row.OrgID, "assignment.removed", "assignment", row.ID.String(), assignmentDetails(row.toDomain(), uri)))
}

// FindUsersByRefs finds the organisation's living users by UUID or email
// (any case), as an administrator writes them one per line; the map is by
// the reference as given, and a reference without a user is absent.
func (s *RightsService) FindUsersByRefs(ctx context.Context, orgID uuid.UUID, refs []string) (map[string]*domain.User, error) {
	byID := map[uuid.UUID][]string{}
	byEmail := map[string][]string{}
	var ids []uuid.UUID
	var emails []string
	for _, r := range refs {
		if id, err := uuid.Parse(r); err == nil {
			byID[id] = append(byID[id], r)
			ids = append(ids, id)
		} else {
			e := strings.ToLower(r)
			byEmail[e] = append(byEmail[e], r)
			emails = append(emails, e)
		}
	}
	out := map[string]*domain.User{}
	if len(ids) == 0 && len(emails) == 0 {
		return out, nil
	}
	if ids == nil {
		ids = []uuid.UUID{uuid.Nil}
	}
	if emails == nil {
		emails = []string{""}
	}
	var rows []userRow
	if err := s.db.gorm.WithContext(ctx).Where("org_id = ? AND status <> ? AND (id IN ? OR lower(email) IN ?)", orgID, domain.UserDeleted, ids, emails).
		Find(&rows).Error; err != nil {
		return nil, pgError("find users", err)
	}
	for i := range rows {
		u := rows[i].toDomain()
		for _, r := range append(byID[u.ID], byEmail[strings.ToLower(u.Email)]...) {
			out[r] = u
		}
	}
	return out, nil
}

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
