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

// Powers of attorney. Organisation A (org_id, the grantor) lets organisation
// B (grantee_org_id), or one named person in B, use a set of privileges
// within one of A's scopes. The lifecycle:
//
//	A offers      → offered → B accepts → active
//	                        → B rejects → rejected
//	B asks        → requested → A grants  → active (B asked for it: its
//	                                        acceptance is given in advance)
//	                          → A rejects → rejected
//	either party ends a requested, offered or active one → ended; everything
//	B passed on from it goes in the same transaction.
//
// Every step is audited in both organisations' logs; the other side's
// administrators are told by mail.

type poaRow struct {
	ID              uuid.UUID `gorm:"type:uuid;default:gen_random_uuid()"`
	OrgID           uuid.UUID
	GranteeOrgID    uuid.UUID
	GranteeUserID   *uuid.UUID
	Status          string
	ScopeKind       string
	ScopeValue      string
	ValidFrom       *time.Time
	ValidTo         *time.Time
	RequestedBy     *uuid.UUID
	GrantedBy       *uuid.UUID
	AcceptedBy      *uuid.UUID
	EndedBy         *uuid.UUID
	EndedAt         *time.Time
	Reason          string
	DecidedBy       *uuid.UUID
	DecidedAt       *time.Time
	DecisionComment string
	CreatedAt       time.Time `gorm:"default:now()"`
	UpdatedAt       time.Time `gorm:"default:now()"`
}

func (poaRow) TableName() string { return "powers_of_attorney" }

func (r *poaRow) toDomain() *domain.PowerOfAttorney {
	return &domain.PowerOfAttorney{ID: r.ID, OrgID: r.OrgID, GranteeOrgID: r.GranteeOrgID, GranteeUserID: r.GranteeUserID,
		Status: r.Status, Scope: domain.Scope{Kind: r.ScopeKind, Value: r.ScopeValue}, ValidFrom: r.ValidFrom, ValidTo: r.ValidTo,
		RequestedBy: r.RequestedBy, GrantedBy: r.GrantedBy, AcceptedBy: r.AcceptedBy, EndedBy: r.EndedBy, EndedAt: r.EndedAt,
		Reason: r.Reason, DecidedBy: r.DecidedBy, DecidedAt: r.DecidedAt, DecisionComment: r.DecisionComment, CreatedAt: r.CreatedAt}
}

type poaPrivilegeRow struct {
	PoaID            uuid.UUID `gorm:"column:poa_id"`
	OrgID            uuid.UUID
	PrivilegeID      uuid.UUID
	ConstraintValues jsonb
	CreatedAt        time.Time `gorm:"default:now()"`
	UpdatedAt        time.Time `gorm:"default:now()"`
}

func (poaPrivilegeRow) TableName() string { return "poa_privileges" }

func (r *poaPrivilegeRow) values() map[string]string {
	m := map[string]string{}
	_ = json.Unmarshal(r.ConstraintValues, &m) // a JSON object by constraint
	return m
}

// PoAService runs the lifecycle of powers of attorney between organisations.
type PoAService struct {
	db       *DB
	notifier Notifier
}

// NewPoAService returns the service; notifier may be nil (no mail).
func NewPoAService(db *DB, notifier Notifier) *PoAService {
	return &PoAService{db: db, notifier: notifier}
}

// PoAMail says how the mails of a change are written: in Lang, linking to
// Link + "/" + the power of attorney's id (Link is the absolute address of
// the portal's powers of attorney page). Without a Link no mail is sent.
type PoAMail struct {
	Lang string
	Link string
}

// PoAOffer is what organisation A's administrator fills in to grant
// organisation B a power of attorney.
type PoAOffer struct {
	GranteeCVR   string
	GranteeEmail string // optional: the one person of B it is for
	Privileges   []domain.PoAPrivilege
	Scope        domain.Scope // A's CVR, or one of A's P- or SE-numbers
	ValidFrom    *time.Time
	ValidTo      *time.Time
	// Invalid are problems the caller found in input it could not parse
	// (a malformed date): the offer is refused with them and every other
	// problem found, so a form shows them all at once.
	Invalid domain.ValidationErrors
}

// PoAAsk is what organisation B's administrator fills in to ask
// organisation A for a power of attorney.
type PoAAsk struct {
	GrantorCVR string
	Privileges []domain.PoAPrivilege
	Reason     string
}

var (
	errPoANotFound = &domain.Error{Code: domain.ENOTFOUND, Key: "poa.not_found", Message: "The power of attorney does not exist."}
	errPoAClosed   = &domain.Error{Code: domain.ECONFLICT, Key: "poa.closed", Message: "The power of attorney has been answered or ended already."}
)

// Offer grants organisation B (by CVR), or one person of B (by email), the
// chosen privileges within one of A's scopes: the power of attorney is
// offered until B's administrators accept or reject it. EINVALID for an
// unknown organisation or person, A itself, a privilege that is retired or
// unknown, constraint values it does not declare, a scope not A's own, or
// an end that is not after now and the start.
func (s *PoAService) Offer(ctx context.Context, actor Actor, orgID uuid.UUID, o PoAOffer, m PoAMail) (*domain.PowerOfAttorney, error) {
	o.GranteeCVR, o.GranteeEmail = strings.TrimSpace(o.GranteeCVR), strings.TrimSpace(o.GranteeEmail)
	errs := slices.Clone(o.Invalid)
	cvrErr := domain.ValidateCVR("grantee_cvr", o.GranteeCVR)
	errs.Add(cvrErr)
	if o.GranteeEmail != "" {
		errs.Add(domain.ValidateEmail("grantee_email", o.GranteeEmail))
	}
	scopeErr := o.Scope.Validate()
	errs.Add(scopeErr)
	now := s.db.Now().UTC()
	errs.Add(validatePoAPeriod(o.ValidFrom, o.ValidTo, now))
	if len(o.Privileges) == 0 {
		errs.Add(domain.Invalid("privileges", "poa.privileges", "Choose at least one privilege."))
	}
	var out *domain.PowerOfAttorney
	err := s.db.tx(ctx, func(tx *gorm.DB) error {
		grantor, err := poaOrgTx(tx, orgID)
		if err != nil {
			return err
		}
		var grantee *organisationRow
		if cvrErr == nil {
			grantee, err = partyByCVRTx(tx, "grantee_cvr", o.GranteeCVR, orgID)
			if err := collect(&errs, err); err != nil {
				return err
			}
		}
		var person *userRow
		if grantee != nil && o.GranteeEmail != "" {
			var u userRow
			err := tx.Take(&u, "org_id = ? AND lower(email) = lower(?) AND status IN ?", grantee.ID, o.GranteeEmail,
				[]string{domain.UserActive, domain.UserPending}).Error
			if err == nil {
				person = &u
			} else if err := collect(&errs, notFoundOr(err, domain.Invalid("grantee_email", "poa.person",
				"The organisation has no active user with this email; check the address or leave it empty to grant the whole organisation."), "find person")); err != nil {
				return err
			}
		}
		if scopeErr == nil {
			if err := collect(&errs, scopeOfOrgTx(tx, orgID, o.Scope)); err != nil {
				return err
			}
		}
		var privs []privilegeRow
		if len(o.Privileges) > 0 {
			privs, err = poaPrivilegesTx(tx, o.Privileges)
			if err := collect(&errs, err); err != nil {
				return err
			}
		}
		if err := errs.Err(); err != nil {
			return err
		}
		granter := actor.UserID
		row := &poaRow{OrgID: orgID, GranteeOrgID: grantee.ID, Status: domain.PoAOffered, ScopeKind: o.Scope.Kind,
			ScopeValue: o.Scope.Value, ValidFrom: o.ValidFrom, ValidTo: o.ValidTo, GrantedBy: &granter}
		if person != nil {
			row.GranteeUserID = &person.ID
		}
		if err := s.createTx(tx, row, o.Privileges); err != nil {
			return err
		}
		d := map[string]any{"grantor_cvr": grantor.CVR, "grantee_cvr": grantee.CVR, "scope": o.Scope.URI(),
			"privileges": poaPrivilegeURIs(privs), "valid_from": timeDetail(o.ValidFrom), "valid_to": timeDetail(o.ValidTo)}
		if person != nil {
			d["grantee_user_id"] = person.ID.String()
		}
		if err := auditBothTx(tx, now, actor, grantor, grantee, grantor, "poa.offered", row.ID, d); err != nil {
			return err
		}
		data := map[string]string{"OtherName": grantor.Name, "OtherCVR": grantor.CVR, "Privileges": privilegeNames(privs, m.Lang)}
		if person != nil {
			data["PersonName"] = fullName(person)
		}
		if err := s.notifyAdminsTx(ctx, tx, now, grantee, []string{domain.RoleOrgAdmin}, "poa_offered", m, row.ID, data); err != nil {
			return err
		}
		out = row.toDomain()
		out.Privileges = o.Privileges
		return nil
	})
	return out, err
}

// Ask records organisation B's request to organisation A (by CVR) for a
// power of attorney with the chosen privileges, for A's whole CVR (A may
// narrow it when granting), and a reason. A's organisation and rights
// administrators are told. EINVALID as for Offer, and for a short reason.
func (s *PoAService) Ask(ctx context.Context, actor Actor, orgID uuid.UUID, a PoAAsk, m PoAMail) (*domain.PowerOfAttorney, error) {
	a.GrantorCVR, a.Reason = strings.TrimSpace(a.GrantorCVR), strings.TrimSpace(a.Reason)
	var errs domain.ValidationErrors
	cvrErr := domain.ValidateCVR("grantor_cvr", a.GrantorCVR)
	errs.Add(cvrErr)
	if n := len([]rune(a.Reason)); n < 10 || n > 2000 {
		errs.Add(domain.Invalid("reason", "poa.reason", "Explain what you need the power of attorney for in at least 10 characters (at most 2000)."))
	}
	if len(a.Privileges) == 0 {
		errs.Add(domain.Invalid("privileges", "poa.privileges", "Choose at least one privilege."))
	}
	now := s.db.Now().UTC()
	var out *domain.PowerOfAttorney
	err := s.db.tx(ctx, func(tx *gorm.DB) error {
		grantee, err := poaOrgTx(tx, orgID)
		if err != nil {
			return err
		}
		var grantor *organisationRow
		if cvrErr == nil {
			grantor, err = partyByCVRTx(tx, "grantor_cvr", a.GrantorCVR, orgID)
			if err := collect(&errs, err); err != nil {
				return err
			}
		}
		var privs []privilegeRow
		if len(a.Privileges) > 0 {
			privs, err = poaPrivilegesTx(tx, a.Privileges)
			if err := collect(&errs, err); err != nil {
				return err
			}
		}
		if err := errs.Err(); err != nil {
			return err
		}
		asker := actor.UserID
		row := &poaRow{OrgID: grantor.ID, GranteeOrgID: orgID, Status: domain.PoARequested, ScopeKind: domain.ScopeCVR,
			ScopeValue: grantor.CVR, RequestedBy: &asker, Reason: a.Reason}
		if err := s.createTx(tx, row, a.Privileges); err != nil {
			return err
		}
		d := map[string]any{"grantor_cvr": grantor.CVR, "grantee_cvr": grantee.CVR, "privileges": poaPrivilegeURIs(privs), "reason": a.Reason}
		if err := auditBothTx(tx, now, actor, grantor, grantee, grantee, "poa.requested", row.ID, d); err != nil {
			return err
		}
		data := map[string]string{"OtherName": grantee.Name, "OtherCVR": grantee.CVR, "Privileges": privilegeNames(privs, m.Lang), "Reason": a.Reason}
		if err := s.notifyAdminsTx(ctx, tx, now, grantor, []string{domain.RoleOrgAdmin, domain.RoleRightsAdmin}, "poa_requested", m, row.ID, data); err != nil {
			return err
		}
		out = row.toDomain()
		out.Privileges = a.Privileges
		return nil
	})
	return out, err
}

// Accept makes an offered power of attorney active; only the grantee
// accepts. ENOTFOUND when orgID is no party; EFORBIDDEN for the grantor;
// ECONFLICT when it is no longer offered or its period has run out.
func (s *PoAService) Accept(ctx context.Context, actor Actor, orgID, id uuid.UUID, m PoAMail) error {
	return s.db.tx(ctx, func(tx *gorm.DB) error {
		now := s.db.Now().UTC()
		row, grantor, grantee, err := lockPoATx(tx, orgID, id)
		if err != nil {
			return err
		}
		if orgID != row.GranteeOrgID {
			return &domain.Error{Code: domain.EFORBIDDEN, Key: "poa.accept_grantee", Message: "Only the organisation it is offered to accepts a power of attorney."}
		}
		if row.Status != domain.PoAOffered {
			return errPoAClosed
		}
		if row.ValidTo != nil && !now.Before(*row.ValidTo) {
			return &domain.Error{Code: domain.ECONFLICT, Key: "poa.lapsed", Message: "The power of attorney's period has run out; ask for a new one."}
		}
		accepter := actor.UserID
		if err := tx.Model(&poaRow{}).Where("id = ?", id).Updates(map[string]any{"status": domain.PoAActive, "accepted_by": accepter}).Error; err != nil {
			return pgError("accept power of attorney", err)
		}
		if err := auditBothTx(tx, now, actor, grantor, grantee, grantee, "poa.accepted", id, map[string]any{}); err != nil {
			return err
		}
		return s.notifyAdminsTx(ctx, tx, now, grantor, []string{domain.RoleOrgAdmin, domain.RoleRightsAdmin}, "poa_answered", m, id,
			map[string]string{"OtherName": grantee.Name, "Decision": "accepted", "ActorName": actor.Label})
	})
}

// Reject answers no, with a comment the other side sees: the grantee to an
// offer, the grantor to a request. ENOTFOUND when orgID is no party;
// EFORBIDDEN for the party who made the offer or request (it ends it
// instead); ECONFLICT when it is answered already; EINVALID without a
// comment.
func (s *PoAService) Reject(ctx context.Context, actor Actor, orgID, id uuid.UUID, comment string, m PoAMail) error {
	comment = strings.TrimSpace(comment)
	if comment == "" {
		return domain.Invalid("comment", "poa.comment_required", "Say why you reject it, so the other organisation knows.")
	}
	if len([]rune(comment)) > 2000 {
		return domain.Invalid("comment", "poa.comment", "A comment has at most 2000 characters.")
	}
	return s.db.tx(ctx, func(tx *gorm.DB) error {
		now := s.db.Now().UTC()
		row, grantor, grantee, err := lockPoATx(tx, orgID, id)
		if err != nil {
			return err
		}
		acting, other := grantee, grantor
		switch {
		case row.Status == domain.PoAOffered && orgID == row.GranteeOrgID:
		case row.Status == domain.PoARequested && orgID == row.OrgID:
			acting, other = grantor, grantee
		case row.Status == domain.PoAOffered || row.Status == domain.PoARequested:
			return &domain.Error{Code: domain.EFORBIDDEN, Key: "poa.reject_own",
				Message: "The other organisation answers this; end it instead if you no longer want it."}
		default:
			return errPoAClosed
		}
		decider := actor.UserID
		if err := tx.Model(&poaRow{}).Where("id = ?", id).Updates(map[string]any{"status": domain.PoARejected,
			"decided_by": decider, "decided_at": now, "decision_comment": comment}).Error; err != nil {
			return pgError("reject power of attorney", err)
		}
		if err := auditBothTx(tx, now, actor, grantor, grantee, acting, "poa.rejected", id,
			map[string]any{"was": row.Status, "comment": comment}); err != nil {
			return err
		}
		return s.notifyAdminsTx(ctx, tx, now, other, []string{domain.RoleOrgAdmin, domain.RoleRightsAdmin}, "poa_answered", m, id,
			map[string]string{"OtherName": acting.Name, "Decision": "rejected", "ActorName": actor.Label, "Comment": comment})
	})
}

// GrantRequested grants what organisation B asked for, within the scope A
// chooses (its whole CVR, or one of its P- or SE-numbers) and until validTo
// (nil: until ended). It becomes active at once: B's asking was its
// acceptance. ENOTFOUND when orgID is no party; EFORBIDDEN for the grantee;
// ECONFLICT when it is no longer requested; EINVALID for a scope not A's or
// an end not in the future.
func (s *PoAService) GrantRequested(ctx context.Context, actor Actor, orgID, id uuid.UUID, scope domain.Scope, validTo *time.Time, m PoAMail) error {
	now := s.db.Now().UTC()
	var errs domain.ValidationErrors
	errs.Add(scope.Validate())
	errs.Add(validatePoAPeriod(nil, validTo, now))
	if err := errs.Err(); err != nil {
		return err
	}
	return s.db.tx(ctx, func(tx *gorm.DB) error {
		row, grantor, grantee, err := lockPoATx(tx, orgID, id)
		if err != nil {
			return err
		}
		if orgID != row.OrgID {
			return &domain.Error{Code: domain.EFORBIDDEN, Key: "poa.grant_grantor", Message: "Only the organisation asked grants a requested power of attorney."}
		}
		if row.Status != domain.PoARequested {
			return errPoAClosed
		}
		if err := scopeOfOrgTx(tx, orgID, scope); err != nil {
			return err
		}
		granter := actor.UserID
		if err := tx.Model(&poaRow{}).Where("id = ?", id).Updates(map[string]any{"status": domain.PoAActive, "granted_by": granter,
			"scope_kind": scope.Kind, "scope_value": scope.Value, "valid_to": validTo}).Error; err != nil {
			return pgError("grant power of attorney", err)
		}
		if err := auditBothTx(tx, now, actor, grantor, grantee, grantor, "poa.granted", id,
			map[string]any{"scope": scope.URI(), "valid_to": timeDetail(validTo)}); err != nil {
			return err
		}
		return s.notifyAdminsTx(ctx, tx, now, grantee, []string{domain.RoleOrgAdmin, domain.RoleRightsAdmin}, "poa_answered", m, id,
			map[string]string{"OtherName": grantor.Name, "Decision": "granted", "ActorName": actor.Label})
	})
}

// End ends a requested, offered or active power of attorney; either party
// may. Everything the grantee passed on from it is removed in the same
// transaction, each removal audited in the grantee's log. It returns how
// many assignments went. ENOTFOUND when orgID is no party; ECONFLICT when
// it is rejected or ended already.
func (s *PoAService) End(ctx context.Context, actor Actor, orgID, id uuid.UUID, m PoAMail) (int, error) {
	var removed int
	err := s.db.tx(ctx, func(tx *gorm.DB) error {
		now := s.db.Now().UTC()
		row, grantor, grantee, err := lockPoATx(tx, orgID, id)
		if err != nil {
			return err
		}
		if !row.toDomain().Open() {
			return errPoAClosed
		}
		ender := actor.UserID
		if err := tx.Model(&poaRow{}).Where("id = ?", id).Updates(map[string]any{"status": domain.PoAEnded, "ended_by": ender, "ended_at": now}).Error; err != nil {
			return pgError("end power of attorney", err)
		}
		var passed []assignmentRow
		if err := tx.Clauses(forUpdate).Where("org_id = ? AND via_poa_id = ?", grantee.ID, id).Order("created_at, id").Find(&passed).Error; err != nil {
			return pgError("find passed-on assignments", err)
		}
		acting := grantor
		if orgID == grantee.ID {
			acting = grantee
		}
		for _, as := range passed {
			if err := tx.Delete(&assignmentRow{}, "id = ?", as.ID).Error; err != nil {
				return pgError("remove passed-on assignment", err)
			}
			e := auditFor(actor, grantee, acting, "assignment.removed", "assignment", as.ID.String(), map[string]any{
				"user_id": uuidString(as.UserID), "privilege_id": as.PrivilegeID.String(), "via_poa_id": id.String(), "because": "poa.ended"})
			if err := appendAudit(tx, now, e); err != nil {
				return err
			}
		}
		removed = len(passed)
		if err := auditBothTx(tx, now, actor, grantor, grantee, acting, "poa.ended", id,
			map[string]any{"was": row.Status, "assignments_removed": removed}); err != nil {
			return err
		}
		other := grantee
		if acting == grantee {
			other = grantor
		}
		return s.notifyAdminsTx(ctx, tx, now, other, []string{domain.RoleOrgAdmin, domain.RoleRightsAdmin}, "poa_ended", m, id,
			map[string]string{"OtherName": acting.Name, "ActorName": actor.Label})
	})
	return removed, err
}

// PassOn gives one of the grantee's own users a privilege of an active
// power of attorney, within it: a privilege it carries, a scope within its
// scope (a CVR-wide one allows the grantor's CVR or any of its P- and
// SE-numbers, a P- or SE-number only itself), constraint values within its
// own (domain.ConstraintsWithin) and a period within its period (the
// power of attorney's bounds when none are given). The assignment is stored
// through the one validated path (insertAssignmentTx) and audited in both
// logs. ENOTFOUND when orgID is no party; EFORBIDDEN for the grantor;
// ECONFLICT when it is not active or the user has the same already;
// EINVALID for anything beyond what was granted, and for a power of
// attorney that names one person (who holds it directly).
//
// invalid are problems the caller found in input it could not parse (a
// malformed date): the passing on is refused with them and every other
// problem found.
func (s *PoAService) PassOn(ctx context.Context, actor Actor, orgID, id uuid.UUID, as *domain.Assignment, invalid domain.ValidationErrors) error {
	as.ConstraintValues = trimConstraints(as.ConstraintValues)
	pre := slices.Clone(invalid)
	if as.UserID == nil && !slices.ContainsFunc(pre, func(e *domain.Error) bool { return e.Field == "user" }) {
		pre.Add(domain.Invalid("user", "poa.pass_user", "Choose the user to pass the privilege on to."))
	}
	scopeErr := as.Scope.Validate()
	pre.Add(scopeErr)
	pre.Add(domain.ValidatePeriod(as.ValidFrom, as.ValidTo))
	return s.db.tx(ctx, func(tx *gorm.DB) error {
		now := s.db.Now().UTC()
		row, grantor, grantee, err := lockPoATx(tx, orgID, id)
		if err != nil {
			return err
		}
		if orgID != row.GranteeOrgID {
			return &domain.Error{Code: domain.EFORBIDDEN, Key: "poa.pass_grantee", Message: "Only the organisation that received the power of attorney passes it on."}
		}
		poa := row.toDomain()
		if poa.Status != domain.PoAActive || (poa.ValidTo != nil && !now.Before(*poa.ValidTo)) {
			return &domain.Error{Code: domain.ECONFLICT, Key: "poa.not_active", Message: "Only an active power of attorney can be passed on."}
		}
		if poa.NamesPerson() {
			return domain.Invalid("", "poa.named_person", "This power of attorney names one person, who holds it directly; it cannot be passed on.")
		}
		errs := pre
		var u userRow
		if as.UserID != nil {
			if err := tx.Take(&u, "org_id = ? AND id = ? AND status IN ?", orgID, *as.UserID, []string{domain.UserActive, domain.UserPending}).Error; err != nil {
				if err := collect(&errs, notFoundOr(err, domain.Invalid("user", "poa.pass_user", "Choose an active user of your own organisation."), "find user")); err != nil {
					return err
				}
			}
		}
		var pp poaPrivilegeRow
		if err := tx.Take(&pp, "poa_id = ? AND privilege_id = ?", id, as.PrivilegeID).Error; err != nil {
			if err := collect(&errs, notFoundOr(err, domain.Invalid("privilege", "poa.pass_privilege", "Choose one of the privileges the power of attorney carries."), "find privilege")); err != nil {
				return err
			}
		} else {
			errs.Add(constraintsWithinPoA(pp.values(), as.ConstraintValues))
		}
		grantorsOwn := scopeErr == nil && scopeOfOrgTx(tx, grantor.ID, as.Scope) == nil
		if scopeErr == nil && !poa.ScopeCovers(as.Scope, grantorsOwn) {
			errs.Add(domain.Invalid("scope", "poa.scope_outside", fmt.Sprintf(
				"The scope must lie within the power of attorney's (%s %s): choose it or, for a CVR, one of that organisation's P- or SE-numbers.",
				strings.ToUpper(poa.Scope.Kind), poa.Scope.Value)))
		}
		if as.ValidFrom == nil {
			as.ValidFrom = poa.ValidFrom
		}
		if as.ValidTo == nil {
			as.ValidTo = poa.ValidTo
		}
		if poa.ValidFrom != nil && as.ValidFrom != nil && as.ValidFrom.Before(*poa.ValidFrom) {
			errs.Add(domain.Invalid("valid_from", "poa.period_outside_from", "The start must not be before the power of attorney's start."))
		}
		if poa.ValidTo != nil && as.ValidTo != nil && as.ValidTo.After(*poa.ValidTo) {
			errs.Add(domain.Invalid("valid_to", "poa.period_outside_to", "The end must not be after the power of attorney's end."))
		}
		if err := errs.Err(); err != nil {
			return err
		}
		cv, err := json.Marshal(nonNilMap(as.ConstraintValues))
		if err != nil {
			return err
		}
		var dup int64
		if err := tx.Model(&assignmentRow{}).Where("org_id = ? AND user_id = ? AND privilege_id = ? AND via_poa_id = ? AND scope_kind = ? AND scope_value = ? AND constraint_values = CAST(? AS jsonb)",
			orgID, *as.UserID, as.PrivilegeID, id, as.Scope.Kind, as.Scope.Value, string(cv)).Count(&dup).Error; err != nil {
			return pgError("check passed-on assignments", err)
		}
		if dup > 0 {
			return &domain.Error{Code: domain.ECONFLICT, Field: "user", Key: "poa.pass_exists", Message: "The user has this privilege from the power of attorney already."}
		}
		granter := actor.UserID
		as.ID, as.OrgID, as.GroupID, as.ViaPoAID, as.GrantedBy = uuid.Nil, orgID, nil, &id, &granter
		if err := insertAssignmentTx(tx, as); err != nil {
			return err
		}
		d := map[string]any{"user_id": as.UserID.String(), "privilege_id": as.PrivilegeID.String(), "scope": as.Scope.URI(),
			"constraint_values": nonNilMap(as.ConstraintValues), "valid_from": timeDetail(as.ValidFrom), "valid_to": timeDetail(as.ValidTo),
			"via_poa_id": id.String()}
		if err := appendAudit(tx, now, actor.event(orgID, "assignment.created", "assignment", as.ID.String(), d)); err != nil {
			return err
		}
		// The grantor learns that its power of attorney was passed on, and
		// to which business identity (by UUID, not by name).
		return appendAudit(tx, now, auditFor(actor, grantor, grantee, "poa.passed_on", "poa", id.String(),
			map[string]any{"user_id": as.UserID.String(), "privilege_id": as.PrivilegeID.String(), "assignment_id": as.ID.String()}))
	})
}

// RemovePassedOn takes back an assignment the grantee passed on from the
// power of attorney. ENOTFOUND when orgID is not the grantee or the
// assignment is not one of the power of attorney's.
func (s *PoAService) RemovePassedOn(ctx context.Context, actor Actor, orgID, id, assignmentID uuid.UUID) error {
	return s.db.tx(ctx, func(tx *gorm.DB) error {
		return removePassedOnTx(tx, s.db.Now().UTC(), actor, orgID, id, assignmentID)
	})
}

// removePassedOnTx takes back an assignment the grantee orgID passed on
// from power of attorney id, in tx: the grantee's log records the removal
// (as every removal of an assignment), the grantor's that its power of
// attorney is passed on to one less. Whichever page it is removed from,
// it goes this way (RightsService.RemoveAssignment too).
func removePassedOnTx(tx *gorm.DB, now time.Time, actor Actor, orgID, id, assignmentID uuid.UUID) error {
	_, grantor, grantee, err := lockPoATx(tx, orgID, id)
	if err != nil {
		return err
	}
	var as assignmentRow
	if err := tx.Clauses(forUpdate).Take(&as, "org_id = ? AND via_poa_id = ? AND id = ?", orgID, id, assignmentID).Error; err != nil {
		return notFoundOr(err, &domain.Error{Code: domain.ENOTFOUND, Key: "poa.assignment_not_found", Message: "The passed-on privilege does not exist."}, "find assignment")
	}
	if err := removeAssignmentTx(tx, now, actor, &as); err != nil {
		return err
	}
	return appendAudit(tx, now, auditFor(actor, grantor, grantee, "poa.passed_on_removed", "poa", id.String(),
		map[string]any{"user_id": uuidString(as.UserID), "privilege_id": as.PrivilegeID.String(), "assignment_id": assignmentID.String()}))
}

// PoAParty is one side of a power of attorney.
type PoAParty struct {
	ID   uuid.UUID
	CVR  string
	Name string
}

// PoAPrivilegeView is a privilege a power of attorney carries.
type PoAPrivilegeView struct {
	Privilege        *domain.Privilege
	ConstraintValues map[string]string
}

// PoAView is a power of attorney as the portal shows it: its parties by
// name, the named person, its privileges and the people who acted on it.
type PoAView struct {
	*domain.PowerOfAttorney
	Grantor, Grantee PoAParty
	PersonName       string // the named person of the grantee, if any
	PersonEmail      string
	Privileges       []PoAPrivilegeView
	// People are the names of those who requested, granted, accepted,
	// rejected or ended it, by id.
	People   map[uuid.UUID]string
	PassedOn int // assignments the grantee passed on from it
}

// FindPoA returns a power of attorney orgID is a party to; any other is
// ENOTFOUND, exactly as one that does not exist.
func (s *PoAService) FindPoA(ctx context.Context, orgID, id uuid.UUID) (*PoAView, error) {
	var row poaRow
	if err := s.db.gorm.WithContext(ctx).Take(&row, "id = ? AND (org_id = ? OR grantee_org_id = ?)", id, orgID, orgID).Error; err != nil {
		return nil, notFoundOr(err, errPoANotFound, "find power of attorney")
	}
	views, err := s.views(ctx, []poaRow{row})
	if err != nil {
		return nil, err
	}
	return views[0], nil
}

// ListPoAs lists the powers of attorney orgID has given or received (or
// asked for, or been asked for), newest first.
func (s *PoAService) ListPoAs(ctx context.Context, orgID uuid.UUID) ([]*PoAView, error) {
	var rows []poaRow
	if err := s.db.gorm.WithContext(ctx).Where("org_id = ? OR grantee_org_id = ?", orgID, orgID).
		Order("created_at DESC, id").Limit(500).Find(&rows).Error; err != nil {
		return nil, pgError("list powers of attorney", err)
	}
	return s.views(ctx, rows)
}

// views adds the parties, privileges, people and counts to rows.
func (s *PoAService) views(ctx context.Context, rows []poaRow) ([]*PoAView, error) {
	db := s.db.gorm.WithContext(ctx)
	ids := make([]uuid.UUID, len(rows))
	orgIDs, userIDs := map[uuid.UUID]bool{}, map[uuid.UUID]bool{}
	for i, r := range rows {
		ids[i] = r.ID
		orgIDs[r.OrgID], orgIDs[r.GranteeOrgID] = true, true
		for _, u := range []*uuid.UUID{r.GranteeUserID, r.RequestedBy, r.GrantedBy, r.AcceptedBy, r.EndedBy, r.DecidedBy} {
			if u != nil {
				userIDs[*u] = true
			}
		}
	}
	if len(rows) == 0 {
		return nil, nil
	}
	var orgs []organisationRow
	if err := db.Where("id IN ?", slices.Collect(maps.Keys(orgIDs))).Find(&orgs).Error; err != nil {
		return nil, pgError("find parties", err)
	}
	party := map[uuid.UUID]PoAParty{}
	for _, o := range orgs {
		party[o.ID] = PoAParty{ID: o.ID, CVR: o.CVR, Name: o.Name}
	}
	users := map[uuid.UUID]userRow{}
	if len(userIDs) > 0 {
		var us []userRow
		if err := db.Where("id IN ?", slices.Collect(maps.Keys(userIDs))).Find(&us).Error; err != nil {
			return nil, pgError("find people", err)
		}
		for _, u := range us {
			users[u.ID] = u
		}
	}
	privs := map[uuid.UUID][]PoAPrivilegeView{}
	passed := map[uuid.UUID]int{}
	if len(ids) > 0 {
		var pps []poaPrivilegeRow
		if err := db.Where("poa_id IN ?", ids).Find(&pps).Error; err != nil {
			return nil, pgError("find privileges of powers of attorney", err)
		}
		pids := make([]uuid.UUID, len(pps))
		for i, pp := range pps {
			pids[i] = pp.PrivilegeID
		}
		var prs []privilegeRow
		if len(pids) > 0 {
			if err := db.Where("id IN ?", pids).Find(&prs).Error; err != nil {
				return nil, pgError("find privileges", err)
			}
		}
		byID := map[uuid.UUID]*domain.Privilege{}
		for i := range prs {
			byID[prs[i].ID] = prs[i].toDomain()
		}
		for _, pp := range pps {
			if p := byID[pp.PrivilegeID]; p != nil {
				privs[pp.PoaID] = append(privs[pp.PoaID], PoAPrivilegeView{Privilege: p, ConstraintValues: pp.values()})
			}
		}
		var counts []struct {
			ViaPoaID uuid.UUID
			N        int
		}
		if err := db.Model(&assignmentRow{}).Select("via_poa_id, count(*) AS n").Where("via_poa_id IN ?", ids).
			Group("via_poa_id").Scan(&counts).Error; err != nil {
			return nil, pgError("count passed-on assignments", err)
		}
		for _, c := range counts {
			passed[c.ViaPoaID] = c.N
		}
	}
	out := make([]*PoAView, len(rows))
	for i := range rows {
		r := &rows[i]
		v := &PoAView{PowerOfAttorney: r.toDomain(), Grantor: party[r.OrgID], Grantee: party[r.GranteeOrgID],
			Privileges: privs[r.ID], People: map[uuid.UUID]string{}, PassedOn: passed[r.ID]}
		slices.SortFunc(v.Privileges, func(a, b PoAPrivilegeView) int { return strings.Compare(a.Privilege.URI, b.Privilege.URI) })
		for _, p := range v.Privileges {
			v.PowerOfAttorney.Privileges = append(v.PowerOfAttorney.Privileges, domain.PoAPrivilege{PrivilegeID: p.Privilege.ID, ConstraintValues: p.ConstraintValues})
		}
		for _, id := range []*uuid.UUID{r.RequestedBy, r.GrantedBy, r.AcceptedBy, r.EndedBy, r.DecidedBy} {
			if id != nil {
				if u, ok := users[*id]; ok {
					v.People[*id] = fullName(&u)
				}
			}
		}
		if r.GranteeUserID != nil {
			if u, ok := users[*r.GranteeUserID]; ok {
				v.PersonName, v.PersonEmail = fullName(&u), u.Email
			}
		}
		out[i] = v
	}
	return out, nil
}

// PassedOnView is an assignment the grantee passed on from a power of
// attorney, with the user's name.
type PassedOnView struct {
	Assignment *domain.Assignment
	UserName   string
}

// ListPassedOn lists what the grantee passed on from the power of
// attorney. The grantor sees none of it (ENOTFOUND for anyone else).
func (s *PoAService) ListPassedOn(ctx context.Context, orgID, id uuid.UUID) ([]PassedOnView, error) {
	db := s.db.gorm.WithContext(ctx)
	var n int64
	if err := db.Model(&poaRow{}).Where("id = ? AND grantee_org_id = ?", id, orgID).Count(&n).Error; err != nil {
		return nil, pgError("find power of attorney", err)
	}
	if n == 0 {
		return nil, errPoANotFound
	}
	var rows []assignmentRow
	if err := db.Where("org_id = ? AND via_poa_id = ?", orgID, id).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, pgError("list passed-on assignments", err)
	}
	names := map[uuid.UUID]string{}
	var uids []uuid.UUID
	for _, r := range rows {
		if r.UserID != nil {
			uids = append(uids, *r.UserID)
		}
	}
	if len(uids) > 0 {
		var us []userRow
		if err := db.Where("org_id = ? AND id IN ?", orgID, uids).Find(&us).Error; err != nil {
			return nil, pgError("find users", err)
		}
		for _, u := range us {
			names[u.ID] = fullName(&u)
		}
	}
	out := make([]PassedOnView, len(rows))
	for i := range rows {
		a := rows[i].toDomain()
		out[i] = PassedOnView{Assignment: a}
		if a.UserID != nil {
			out[i].UserName = names[*a.UserID]
		}
	}
	return out, nil
}

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
