package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/erhverv/erhverv/internal/domain"
)

// createTx stores a new power of attorney with its privileges.
func (s *PoAService) createTx(tx *gorm.DB, row *poaRow, privs []domain.PoAPrivilege) error {
	if err := tx.Create(row).Error; err != nil {
		return pgError("create power of attorney", err)
	}
	for _, p := range privs {
		cv, err := json.Marshal(nonNilMap(trimConstraints(p.ConstraintValues)))
		if err != nil {
			return err
		}
		if err := tx.Create(&poaPrivilegeRow{PoaID: row.ID, OrgID: row.OrgID, PrivilegeID: p.PrivilegeID, ConstraintValues: jsonb(cv)}).Error; err != nil {
			return pgError("add privilege to power of attorney", err)
		}
	}
	return nil
}

// lockPoATx locks a power of attorney orgID is a party to and returns it
// with both parties. Any other is ENOTFOUND.
func lockPoATx(tx *gorm.DB, orgID, id uuid.UUID) (*poaRow, *organisationRow, *organisationRow, error) {
	var row poaRow
	if err := tx.Clauses(forUpdate).Take(&row, "id = ? AND (org_id = ? OR grantee_org_id = ?)", id, orgID, orgID).Error; err != nil {
		return nil, nil, nil, notFoundOr(err, errPoANotFound, "find power of attorney")
	}
	var grantor, grantee organisationRow
	if err := tx.Take(&grantor, "id = ?", row.OrgID).Error; err != nil {
		return nil, nil, nil, pgError("find grantor", err)
	}
	if err := tx.Take(&grantee, "id = ?", row.GranteeOrgID).Error; err != nil {
		return nil, nil, nil, pgError("find grantee", err)
	}
	return &row, &grantor, &grantee, nil
}

func poaOrgTx(tx *gorm.DB, orgID uuid.UUID) (*organisationRow, error) {
	var org organisationRow
	if err := tx.Take(&org, "id = ?", orgID).Error; err != nil {
		return nil, notFoundOr(err, &domain.Error{Code: domain.ENOTFOUND, Key: "org.not_found", Message: "The organisation does not exist."}, "find organisation")
	}
	return &org, nil
}

// partyByCVRTx finds the other party of a power of attorney: a connected
// organisation on the platform, not self. Errors name field.
func partyByCVRTx(tx *gorm.DB, field, cvr string, self uuid.UUID) (*organisationRow, error) {
	var org organisationRow
	if err := tx.Take(&org, "cvr = ? AND status = ?", cvr, domain.OrgActive).Error; err != nil {
		return nil, notFoundOr(err, domain.Invalid(field, "poa.org_unknown",
			"No organisation with this CVR number is connected to the platform; check the number."), "find organisation")
	}
	if org.ID == self {
		return nil, domain.Invalid(field, "poa.self", "An organisation cannot grant a power of attorney to itself; give the other organisation's CVR number.")
	}
	return &org, nil
}

// poaPrivilegesTx checks the privileges of a new power of attorney: each
// once, from the catalogue, active, with constraint values of the types it
// declares. Errors about a constraint value name its form field
// (domain.PoAConstraintField).
func poaPrivilegesTx(tx *gorm.DB, privs []domain.PoAPrivilege) ([]privilegeRow, error) {
	ids := make([]uuid.UUID, 0, len(privs))
	for _, p := range privs {
		if slices.Contains(ids, p.PrivilegeID) {
			return nil, domain.Invalid("privileges", "poa.privilege_twice", "Choose each privilege once.")
		}
		ids = append(ids, p.PrivilegeID)
	}
	var rows []privilegeRow
	if err := tx.Where("id IN ?", ids).Order("uri").Find(&rows).Error; err != nil {
		return nil, pgError("find privileges", err)
	}
	byID := map[uuid.UUID]*privilegeRow{}
	for i := range rows {
		byID[rows[i].ID] = &rows[i]
	}
	var errs domain.ValidationErrors
	for _, p := range privs {
		row := byID[p.PrivilegeID]
		switch {
		case row == nil:
			errs.Add(domain.Invalid("privileges", "poa.privilege_unknown", "Choose the privileges from the list."))
			continue
		case row.Status != "active":
			errs.Add(domain.Invalid("privileges", "privilege.retired", fmt.Sprintf("%s is retired and can no longer be granted.", row.NameEn)))
			continue
		}
		var ve domain.ValidationErrors
		if errors.As(domain.ValidateConstraints(row.ConstraintTypes, trimConstraints(p.ConstraintValues)), &ve) {
			for _, e := range ve {
				c := *e
				c.Field = domain.PoAConstraintField(p.PrivilegeID, strings.TrimPrefix(e.Field, "constraint:"))
				errs = append(errs, &c)
			}
		}
	}
	return rows, errs.Err()
}

// collect adds err to errs when it is about the input (a domain error) and
// returns any other (a failure) for the caller to return.
func collect(errs *domain.ValidationErrors, err error) error {
	var de *domain.Error
	if err == nil || errors.As(err, &de) {
		errs.Add(err)
		return nil
	}
	return err
}

// constraintsWithinPoA reports, per constraint type, where passed-on values
// go beyond the power of attorney's.
func constraintsWithinPoA(outer, inner map[string]string) error {
	var errs domain.ValidationErrors
	types := slices.Sorted(maps.Keys(outer))
	for _, typ := range types {
		if !domain.ConstraintsWithin(map[string]string{typ: outer[typ]}, inner) {
			errs.Add(domain.Invalid("constraint:"+typ, "poa.constraint_outside", fmt.Sprintf(
				"The power of attorney allows %s only within %q: give a value within it.", typ, outer[typ])))
		}
	}
	return errs.Err()
}

func validatePoAPeriod(from, to *time.Time, now time.Time) error {
	var errs domain.ValidationErrors
	errs.Add(domain.ValidatePeriod(from, to))
	if to != nil && !to.After(now) {
		errs.Add(domain.Invalid("valid_to", "poa.ends_in_past", "The end date must be in the future."))
	}
	return errs.Err()
}

func timeDetail(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func poaPrivilegeURIs(rows []privilegeRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.URI
	}
	return out
}

func privilegeNames(rows []privilegeRow, lang string) string {
	out := make([]string, len(rows))
	for i := range rows {
		out[i] = privilegeName(&rows[i], lang)
	}
	return strings.Join(out, ", ")
}

// auditFor is an event in org's log about a change made by actor, a
// business identity of actorOrg: for another organisation's log the actor
// is named with their organisation and has no id there.
func auditFor(actor Actor, org, actorOrg *organisationRow, action, targetType, targetID string, d map[string]any) *domain.AuditEvent {
	e := actor.event(org.ID, action, targetType, targetID, d)
	if org.ID != actorOrg.ID {
		e.ActorID = nil
		e.ActorLabel = actor.Label + " (" + actorOrg.Name + ")"
	}
	return e
}

// auditBothTx records a step of power of attorney id in both parties'
// logs; acting is the party the actor acts for.
func auditBothTx(tx *gorm.DB, now time.Time, actor Actor, grantor, grantee, acting *organisationRow, action string, id uuid.UUID, d map[string]any) error {
	d["grantor_cvr"], d["grantee_cvr"] = grantor.CVR, grantee.CVR
	for _, org := range []*organisationRow{grantor, grantee} {
		if err := appendAudit(tx, now, auditFor(actor, org, acting, action, "poa", id.String(), maps.Clone(d))); err != nil {
			return err
		}
	}
	return nil
}

// notifyAdminsTx mails the administrators of org holding one of roles about
// power of attorney id, in tx. No notifier or no link: no mail.
func (s *PoAService) notifyAdminsTx(ctx context.Context, tx *gorm.DB, now time.Time, org *organisationRow, roles []string,
	template string, m PoAMail, id uuid.UUID, data map[string]string) error {
	if s.notifier == nil || m.Link == "" {
		return nil
	}
	lang := m.Lang
	if lang != "en" {
		lang = "da"
	}
	admins, err := roleHoldersTx(tx, org.ID, roles, now, nil)
	if err != nil {
		return err
	}
	orgID := org.ID
	for _, u := range admins {
		d := maps.Clone(data)
		d["OrgName"], d["UserName"], d["Link"] = org.Name, fullName(&u), m.Link+"/"+id.String()
		if err := enqueue(ctx, tx, s.notifier, domain.Notification{Template: template, Lang: lang, To: u.Email, OrgID: &orgID, Data: d}); err != nil {
			return err
		}
	}
	return nil
}
