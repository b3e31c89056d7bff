package postgres

import (
	"context"
	"encoding/json"
	"fmt"
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
