package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/erhverv/erhverv/internal/domain"
)

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
	granter := actor.userRef()
	var out []*domain.Assignment
	err := s.db.tx(ctx, func(tx *gorm.DB) error {
		uri, err := s.assignmentProblemsTx(tx, n, users)
		if err != nil {
			return err
		}
		holders := make([]*domain.Assignment, 0, max(len(users), 1))
		if n.GroupID != nil {
			holders = append(holders, n.template(granter))
		}
		for i := range users {
			a := n.template(granter)
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
