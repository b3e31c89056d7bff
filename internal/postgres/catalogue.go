package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"gorm.io/gorm"

	"github.com/erhverv/erhverv/internal/domain"
)

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
