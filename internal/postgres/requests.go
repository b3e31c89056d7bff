package postgres

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/erhverv/erhverv/internal/domain"
)

type rightsRequestRow struct {
	ID               uuid.UUID `gorm:"type:uuid;default:gen_random_uuid()"`
	OrgID            uuid.UUID
	RequesterID      uuid.UUID
	Kind             string
	PrivilegeID      *uuid.UUID
	Role             *string
	ProductionUnitID *uuid.UUID
	ScopeKind        *string
	ScopeValue       *string
	ConstraintValues jsonb
	Reason           string
	Status           string
	DecidedBy        *uuid.UUID
	DecidedAt        *time.Time
	DecisionComment  string
	ExpiresAt        time.Time
	CreatedAt        time.Time `gorm:"default:now()"`
	UpdatedAt        time.Time `gorm:"default:now()"`
}

func (rightsRequestRow) TableName() string { return "rights_requests" }

func (r *rightsRequestRow) toDomain() *domain.RightsRequest {
	d := &domain.RightsRequest{ID: r.ID, OrgID: r.OrgID, RequesterID: r.RequesterID, Kind: r.Kind, PrivilegeID: r.PrivilegeID,
		Role: derefString(r.Role), ProductionUnitID: r.ProductionUnitID, Reason: r.Reason, Status: r.Status, DecidedBy: r.DecidedBy,
		DecidedAt: r.DecidedAt, DecisionComment: r.DecisionComment, ExpiresAt: r.ExpiresAt, CreatedAt: r.CreatedAt}
	if r.ScopeKind != nil && r.ScopeValue != nil {
		d.Scope = &domain.Scope{Kind: *r.ScopeKind, Value: *r.ScopeValue}
	}
	if len(r.ConstraintValues) > 0 {
		_ = json.Unmarshal(r.ConstraintValues, &d.ConstraintValues) // a JSON object by constraint
	}
	return d
}

// requestAt is the request as of now: a pending request whose time has run
// out is expired, whether or not the periodic sweep has marked it yet.
func requestAt(r *rightsRequestRow, now time.Time) *domain.RightsRequest {
	d := r.toDomain()
	if d.Status == domain.RequestPending && !now.Before(d.ExpiresAt) {
		d.Status = domain.RequestExpired
	}
	return d
}

var errRequestNotFound = &domain.Error{Code: domain.ENOTFOUND, Key: "request.not_found", Message: "The request does not exist."}

// Who decides which requests: administrator roles only an organisation
// administrator decides; privileges a rights administrator too.
var (
	deciderRolesOfRole      = []string{domain.RoleOrgAdmin}
	deciderRolesOfPrivilege = []string{domain.RoleOrgAdmin, domain.RoleRightsAdmin}
)

// RequestAdminRole records a user's request for an administrator role,
// audits it and tells the organisation administrators (who decide it) by
// mail. A request open for the same role is a conflict.
func (a *Administration) RequestAdminRole(ctx context.Context, actor Actor, orgID uuid.UUID, role, reason, lang string) (*domain.RightsRequest, error) {
	req := &domain.RightsRequest{OrgID: orgID, RequesterID: actor.UserID, Kind: domain.RequestAdminRole, Role: role,
		Reason: strings.TrimSpace(reason), Status: domain.RequestPending}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	now := a.db.Now().UTC()
	row := &rightsRequestRow{OrgID: orgID, RequesterID: actor.UserID, Kind: req.Kind, Role: &req.Role, Reason: req.Reason,
		Status: domain.RequestPending, ExpiresAt: now.Add(domain.RequestLifetime)}
	err := a.db.tx(ctx, func(tx *gorm.DB) error {
		requester, err := lockRequesterTx(tx, orgID, actor.UserID)
		if err != nil {
			return err
		}
		var open int64
		if err := tx.Model(&rightsRequestRow{}).Where("org_id = ? AND requester_id = ? AND kind = ? AND role = ? AND status = ? AND expires_at > ?",
			orgID, actor.UserID, domain.RequestAdminRole, role, domain.RequestPending, now).Count(&open).Error; err != nil {
			return pgError("check open requests", err)
		}
		if open > 0 {
			return &domain.Error{Code: domain.ECONFLICT, Field: "role", Key: "request.open", Message: "You already have an open request for this role."}
		}
		if err := tx.Create(row).Error; err != nil {
			return pgError("create request", err)
		}
		if err := appendAudit(tx, now, actor.event(orgID, "rights_request.created", "rights_request", row.ID.String(),
			map[string]any{"kind": req.Kind, "role": role, "reason": req.Reason})); err != nil {
			return err
		}
		return a.notifyRequestCreated(ctx, tx, now, row, requester, map[string]string{"Role": role}, deciderRolesOfRole, lang)
	})
	if err != nil {
		return nil, err
	}
	return row.toDomain(), nil
}

// PrivilegeRequest is a user's request for a privilege: which, for which
// scope of the organisation (its CVR, or one of its P- or SE-numbers), with
// which constraint values (of the types the privilege declares), and why.
type PrivilegeRequest struct {
	PrivilegeID      uuid.UUID
	Scope            domain.Scope
	ConstraintValues map[string]string
	Reason           string
}

// RequestPrivilege records a user's request for a privilege from the
// catalogue. A privilege that needs no approval is granted at once: the
// assignment is made and the request recorded as approved, by no one. Any
// other waits for the organisation's rights administrators and
// organisation administrators, who are told by mail in the same
// transaction. EINVALID for a retired or unknown privilege, a scope not the
// organisation's own, constraint values the privilege does not declare or
// in the wrong format, or a short reason; ECONFLICT for an open request for
// the same privilege and scope, or a privilege the user holds already.
func (a *Administration) RequestPrivilege(ctx context.Context, actor Actor, orgID uuid.UUID, pr PrivilegeRequest, lang string) (*domain.RightsRequest, error) {
	pr.Reason = strings.TrimSpace(pr.Reason)
	pr.ConstraintValues = trimConstraints(pr.ConstraintValues)
	pid := pr.PrivilegeID
	req := &domain.RightsRequest{OrgID: orgID, RequesterID: actor.UserID, Kind: domain.RequestPrivilege, Reason: pr.Reason, Status: domain.RequestPending}
	if pid != uuid.Nil {
		req.PrivilegeID = &pid
	}
	// Every problem of the form at once: the checks against the catalogue
	// and the organisation add to these in the transaction.
	var pre domain.ValidationErrors
	pre.Add(req.Validate())
	scopeErr := pr.Scope.Validate()
	pre.Add(scopeErr)
	now := a.db.Now().UTC()
	cv, err := json.Marshal(nonNilMap(pr.ConstraintValues))
	if err != nil {
		return nil, err
	}
	row := &rightsRequestRow{OrgID: orgID, RequesterID: actor.UserID, Kind: domain.RequestPrivilege, PrivilegeID: &pid,
		ScopeKind: &pr.Scope.Kind, ScopeValue: &pr.Scope.Value, ConstraintValues: jsonb(cv), Reason: pr.Reason,
		Status: domain.RequestPending, ExpiresAt: now.Add(domain.RequestLifetime)}
	err = a.db.tx(ctx, func(tx *gorm.DB) error {
		requester, err := lockRequesterTx(tx, orgID, actor.UserID)
		if err != nil {
			return err
		}
		errs := slices.Clone(pre)
		var p privilegeRow
		if pid != uuid.Nil {
			if err := tx.Take(&p, "id = ?", pid).Error; err != nil {
				if err := collect(&errs, notFoundOr(err, domain.Invalid("privilege", "request.privilege", "Choose the privilege you request from the list."), "find privilege")); err != nil {
					return err
				}
			} else if p.Status != "active" {
				errs.Add(domain.Invalid("privilege", "privilege.retired", "The privilege is retired and can no longer be assigned."))
			} else {
				errs.Add(domain.ValidateConstraints(p.ConstraintTypes, pr.ConstraintValues))
			}
		}
		if scopeErr == nil {
			if err := collect(&errs, scopeOfOrgTx(tx, orgID, pr.Scope)); err != nil {
				return err
			}
		}
		if err := errs.Err(); err != nil {
			return err
		}
		var open int64
		if err := tx.Model(&rightsRequestRow{}).Where("org_id = ? AND requester_id = ? AND kind = ? AND privilege_id = ? AND scope_kind = ? AND scope_value = ? AND status = ? AND expires_at > ?",
			orgID, actor.UserID, domain.RequestPrivilege, pid, pr.Scope.Kind, pr.Scope.Value, domain.RequestPending, now).Count(&open).Error; err != nil {
			return pgError("check open requests", err)
		}
		if open > 0 {
			return &domain.Error{Code: domain.ECONFLICT, Field: "privilege", Key: "request.open_privilege",
				Message: "You already have an open request for this privilege and scope; wait for the decision."}
		}
		held, err := holdsPrivilegeTx(tx, orgID, actor.UserID, pid, pr.Scope, cv, now)
		if err != nil {
			return err
		}
		if held {
			return &domain.Error{Code: domain.ECONFLICT, Field: "privilege", Key: "request.already_held",
				Message: "You already hold this privilege for this scope."}
		}
		if !p.NeedsApproval {
			row.Status, row.DecidedAt = domain.RequestApproved, &now
		}
		if err := tx.Create(row).Error; err != nil {
			return pgError("create request", err)
		}
		d := map[string]any{"kind": domain.RequestPrivilege, "privilege_id": pid.String(), "privilege_uri": p.URI,
			"scope": pr.Scope.URI(), "constraint_values": nonNilMap(pr.ConstraintValues), "reason": pr.Reason}
		if err := appendAudit(tx, now, actor.event(orgID, "rights_request.created", "rights_request", row.ID.String(), d)); err != nil {
			return err
		}
		if p.NeedsApproval {
			return a.notifyRequestCreated(ctx, tx, now, row, requester, map[string]string{"Privilege": privilegeName(&p, lang)},
				deciderRolesOfPrivilege, lang)
		}
		// Granted at once: the privilege needs no approval.
		if err := appendAudit(tx, now, actor.event(orgID, "rights_request.approved", "rights_request", row.ID.String(),
			map[string]any{"requester_id": actor.UserID, "privilege_uri": p.URI, "automatic": true})); err != nil {
			return err
		}
		_, err = grantRequestedTx(tx, now, actor, row, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return row.toDomain(), nil
}

// grantRequestedTx makes the assignment a privilege request asks for,
// through the one validated path (insertAssignmentTx), and audits it.
// A requester who has come to hold the privilege meanwhile (an administrator
// assigned it) keeps that assignment: the approval adds no second one.
func grantRequestedTx(tx *gorm.DB, now time.Time, actor Actor, row *rightsRequestRow, grantedBy *uuid.UUID) (*domain.Assignment, error) {
	d := row.toDomain()
	requester := row.RequesterID
	cv, err := json.Marshal(nonNilMap(d.ConstraintValues))
	if err != nil {
		return nil, err
	}
	if held, err := holdsPrivilegeTx(tx, row.OrgID, requester, *row.PrivilegeID, *d.Scope, cv, now); err != nil || held {
		return nil, err
	}
	as := &domain.Assignment{OrgID: row.OrgID, PrivilegeID: *row.PrivilegeID, UserID: &requester, Scope: *d.Scope,
		ConstraintValues: d.ConstraintValues, GrantedBy: grantedBy}
	if err := insertAssignmentTx(tx, as); err != nil {
		return nil, err
	}
	return as, appendAudit(tx, now, actor.event(row.OrgID, "assignment.created", "assignment", as.ID.String(),
		map[string]any{"user_id": requester, "privilege_id": as.PrivilegeID.String(), "scope": as.Scope.URI(),
			"constraint_values": nonNilMap(as.ConstraintValues), "request_id": row.ID.String()}))
}

// holdsPrivilegeTx reports whether the user already holds the privilege
// directly, for exactly this scope and these constraint values, now or later.
func holdsPrivilegeTx(tx *gorm.DB, orgID, userID, privilegeID uuid.UUID, scope domain.Scope, constraintsJSON []byte, now time.Time) (bool, error) {
	var held int64
	if err := tx.Model(&assignmentRow{}).Where("org_id = ? AND user_id = ? AND privilege_id = ? AND scope_kind = ? AND scope_value = ? AND constraint_values = CAST(? AS jsonb) AND via_poa_id IS NULL AND (valid_to IS NULL OR valid_to > ?)",
		orgID, userID, privilegeID, scope.Kind, scope.Value, string(constraintsJSON), now).Count(&held).Error; err != nil {
		return false, pgError("check held privilege", err)
	}
	return held > 0, nil
}

// lockRequesterTx locks the requesting user's row, so that two requests of
// the same person are checked for duplicates one after the other, and
// checks the person is an active user of the organisation.
func lockRequesterTx(tx *gorm.DB, orgID, userID uuid.UUID) (*userRow, error) {
	var u userRow
	if err := tx.Clauses(forUpdate).Take(&u, "org_id = ? AND id = ?", orgID, userID).Error; err != nil {
		return nil, notFoundOr(err, errUserNotFound, "find requester")
	}
	if u.Status != domain.UserActive {
		return nil, &domain.Error{Code: domain.EFORBIDDEN, Key: "request.requester_inactive", Message: "Only an active user can make a request."}
	}
	return &u, nil
}

// notifyRequestCreated mails the people who decide a new request (active
// users with a valid, organisation-wide role in roles, never the requester)
// and, when the organisation asks for it, its notification address.
func (a *Administration) notifyRequestCreated(ctx context.Context, tx *gorm.DB, now time.Time, row *rightsRequestRow, requester *userRow,
	what map[string]string, roles []string, lang string) error {
	var org organisationRow
	if err := tx.Take(&org, "id = ?", row.OrgID).Error; err != nil {
		return pgError("find organisation", err)
	}
	deciders, err := roleHoldersTx(tx, row.OrgID, roles, now, &row.RequesterID)
	if err != nil {
		return err
	}
	data := func(name string) map[string]string {
		d := map[string]string{"OrgName": org.Name, "RequesterName": fullName(requester), "Reason": row.Reason,
			"Link": a.portalURL + "/requests"}
		if name != "" {
			d["UserName"] = name
		}
		for k, v := range what {
			d[k] = v
		}
		return d
	}
	orgID := row.OrgID
	for _, u := range deciders {
		if err := enqueue(ctx, tx, a.onboard.notify, domain.Notification{Template: "request_created", Lang: lang, To: u.Email,
			OrgID: &orgID, Data: data(fullName(&u))}); err != nil {
			return err
		}
	}
	if org.NotifyOnRequests && derefString(org.NotificationEmail) != "" {
		return enqueue(ctx, tx, a.onboard.notify, domain.Notification{Template: "request_created", Lang: lang,
			To: *org.NotificationEmail, OrgID: &orgID, Data: data("")})
	}
	return nil
}

// roleHoldersTx lists the active users of the organisation holding one of
// roles, organisation-wide and valid at now, each once; except, when set,
// is left out.
func roleHoldersTx(tx *gorm.DB, orgID uuid.UUID, roles []string, now time.Time, except *uuid.UUID) ([]userRow, error) {
	q := tx.Model(&userRow{}).Where("users.org_id = ? AND users.status = ? AND users.email <> ''", orgID, domain.UserActive).
		Where(`EXISTS (SELECT 1 FROM admin_roles r WHERE r.org_id = users.org_id AND r.user_id = users.id AND r.role IN ?
			AND r.production_unit_id IS NULL AND (r.valid_from IS NULL OR r.valid_from <= ?) AND (r.valid_to IS NULL OR r.valid_to > ?))`,
			roles, now, now)
	if except != nil {
		q = q.Where("users.id <> ?", *except)
	}
	var out []userRow
	if err := q.Order("users.last_name, users.first_name").Find(&out).Error; err != nil {
		return nil, pgError("find administrators", err)
	}
	return out, nil
}

func fullName(u *userRow) string { return strings.TrimSpace(u.FirstName + " " + u.LastName) }

// privilegeName is the privilege's name in lang.
func privilegeName(p *privilegeRow, lang string) string {
	if lang == "en" {
		return p.NameEn
	}
	return p.NameDa
}

// trimConstraints drops empty values (a form's unfilled fields): an empty
// value is no constraint.
func trimConstraints(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if v = strings.TrimSpace(v); v != "" {
			out[k] = v
		}
	}
	return out
}

// FindRequest returns one of the organisation's requests, as of now.
func (a *Administration) FindRequest(ctx context.Context, orgID, id uuid.UUID) (*domain.RightsRequest, error) {
	var row rightsRequestRow
	if err := a.db.gorm.WithContext(ctx).Take(&row, "org_id = ? AND id = ?", orgID, id).Error; err != nil {
		return nil, notFoundOr(err, errRequestNotFound, "find request")
	}
	return requestAt(&row, a.db.Now()), nil
}

// ListRequests lists the organisation's requests in a status (all when
// empty), newest first; requester limits them to one user's. A pending
// request past its time is expired here, swept or not: it never shows as
// pending.
func (a *Administration) ListRequests(ctx context.Context, orgID uuid.UUID, status string, requester *uuid.UUID, limit int) ([]*domain.RightsRequest, error) {
	now := a.db.Now().UTC()
	q := a.db.gorm.WithContext(ctx).Where("org_id = ?", orgID)
	switch status {
	case "":
	case domain.RequestPending:
		q = q.Where("status = ? AND expires_at > ?", status, now)
	case domain.RequestExpired:
		q = q.Where("(status = ? OR (status = ? AND expires_at <= ?))", status, domain.RequestPending, now)
	default:
		q = q.Where("status = ?", status)
	}
	if requester != nil {
		q = q.Where("requester_id = ?", *requester)
	}
	var rows []rightsRequestRow
	if err := q.Order("created_at DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, pgError("list requests", err)
	}
	out := make([]*domain.RightsRequest, len(rows))
	for i := range rows {
		out[i] = requestAt(&rows[i], now)
	}
	return out, nil
}

// DecideRequest approves or rejects a pending request with a comment. An
// approved administrator role request assigns the role, an approved
// privilege request the privilege (through the one validated path for
// assignments), in the same transaction. The requester is told by mail. No
// one decides their own request (the database refuses it too).
func (a *Administration) DecideRequest(ctx context.Context, actor Actor, orgID, id uuid.UUID, approve bool, comment, lang string) error {
	comment = strings.TrimSpace(comment)
	if len([]rune(comment)) > 2000 {
		return domain.Invalid("comment", "request.comment", "A comment has at most 2000 characters.")
	}
	if !approve && comment == "" {
		return domain.Invalid("comment", "request.comment_required", "Say why the request is rejected, so the requester knows.")
	}
	return a.db.tx(ctx, func(tx *gorm.DB) error {
		var row rightsRequestRow
		if err := tx.Clauses(forUpdate).Take(&row, "org_id = ? AND id = ?", orgID, id).Error; err != nil {
			return notFoundOr(err, errRequestNotFound, "find request")
		}
		now := a.db.Now().UTC()
		if row.Status != domain.RequestPending || !now.Before(row.ExpiresAt) {
			return &domain.Error{Code: domain.ECONFLICT, Key: "request.not_pending", Message: "The request has already been decided or has expired."}
		}
		if row.RequesterID == actor.UserID {
			return &domain.Error{Code: domain.EFORBIDDEN, Key: "request.own", Message: "No one decides their own request."}
		}
		status := domain.RequestRejected
		if approve {
			status = domain.RequestApproved
		}
		decider := actor.UserID
		if err := tx.Model(&rightsRequestRow{}).Where("id = ?", id).Updates(map[string]any{
			"status": status, "decided_by": decider, "decided_at": now, "decision_comment": comment,
		}).Error; err != nil {
			return pgError("decide request", err)
		}
		d := map[string]any{"requester_id": row.RequesterID, "comment": comment}
		if row.Kind == domain.RequestAdminRole {
			d["role"] = derefString(row.Role)
		} else {
			d["privilege_id"] = row.PrivilegeID.String()
		}
		if err := appendAudit(tx, now, actor.event(orgID, "rights_request."+status, "rights_request", id.String(), d)); err != nil {
			return err
		}
		if approve {
			// Only a user still with the organisation gets the role or privilege.
			var requester userRow
			if err := tx.Clauses(forUpdate).Take(&requester, "org_id = ? AND id = ?", orgID, row.RequesterID).Error; err != nil {
				return notFoundOr(err, errUserNotFound, "find requester")
			}
			if requester.Status != domain.UserActive && requester.Status != domain.UserPending {
				return &domain.Error{Code: domain.ECONFLICT, Key: "request.requester_gone",
					Message: "The requester is no longer an active user; reject the request instead."}
			}
		}
		switch {
		case approve && row.Kind == domain.RequestAdminRole:
			// One who holds the role already keeps it, and the request is
			// simply approved.
			var held int64
			if err := tx.Model(&adminRoleRow{}).Where("org_id = ? AND user_id = ? AND role = ? AND production_unit_id IS NULL",
				orgID, row.RequesterID, derefString(row.Role)).Count(&held).Error; err != nil {
				return pgError("check held role", err)
			}
			if held > 0 {
				break
			}
			r := &domain.AdminRole{OrgID: orgID, UserID: row.RequesterID, Role: derefString(row.Role), GrantedBy: &decider}
			if err := assignRoleTx(tx, r); err != nil {
				return err
			}
			if err := appendAudit(tx, now, actor.event(orgID, "admin_role.assigned", "admin_role", r.ID.String(),
				map[string]any{"user_id": r.UserID, "after": roleDetails(r), "request_id": id.String()})); err != nil {
				return err
			}
		case approve && row.Kind == domain.RequestPrivilege:
			if _, err := grantRequestedTx(tx, now, actor, &row, &decider); err != nil {
				return err
			}
		}
		return a.notifyDecision(ctx, tx, actor, &row, approve, comment, lang)
	})
}

// requestWhat is the mail fields naming what a request is for: its Role, or
// its Privilege by name in lang.
func requestWhat(tx *gorm.DB, row *rightsRequestRow, lang string) (map[string]string, error) {
	if row.Kind == domain.RequestAdminRole {
		return map[string]string{"Role": derefString(row.Role)}, nil
	}
	var p privilegeRow
	if err := tx.Take(&p, "id = ?", row.PrivilegeID).Error; err != nil {
		return nil, pgError("find privilege", err)
	}
	return map[string]string{"Privilege": privilegeName(&p, lang)}, nil
}

func (a *Administration) notifyDecision(ctx context.Context, tx *gorm.DB, actor Actor, row *rightsRequestRow, approved bool, comment, lang string) error {
	decision := "rejected"
	if approved {
		decision = "approved"
	}
	data, err := requestWhat(tx, row, lang)
	if err != nil {
		return err
	}
	data["Decision"], data["ActorName"], data["Link"] = decision, actor.Label, a.portalURL
	if comment != "" {
		data["Comment"] = comment
	}
	return a.notifyUser(ctx, tx, "request_decided", lang, row.OrgID, row.RequesterID, data)
}

// forUpdateSkipLocked locks the selected rows, passing over those another
// transaction holds.
var forUpdateSkipLocked = clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"}

// expireBatch is how many requests one sweep marks at most; the next sweep
// takes the rest.
const expireBatch = 500

// ExpireRequests marks the pending requests whose time has run out as
// expired, audits each in its organisation's log and tells each requester
// by mail (in lang), all in one transaction. Rows another sweep holds are
// skipped, so any number of processes may sweep at once. It returns how
// many it marked.
func (a *Administration) ExpireRequests(ctx context.Context, lang string) (int, error) {
	var n int
	err := a.db.tx(ctx, func(tx *gorm.DB) error {
		now := a.db.Now().UTC()
		var rows []rightsRequestRow
		if err := tx.Clauses(forUpdateSkipLocked).Where("status = ? AND expires_at <= ?", domain.RequestPending, now).
			Order("expires_at").Limit(expireBatch).Find(&rows).Error; err != nil {
			return pgError("find expired requests", err)
		}
		for i := range rows {
			row := &rows[i]
			if err := tx.Model(&rightsRequestRow{}).Where("id = ?", row.ID).Update("status", domain.RequestExpired).Error; err != nil {
				return pgError("expire request", err)
			}
			orgID := row.OrgID
			if err := appendAudit(tx, now, &domain.AuditEvent{OrgID: &orgID, Action: "rights_request.expired", TargetType: "rights_request",
				TargetID: row.ID.String(), Details: details(map[string]any{"requester_id": row.RequesterID, "kind": row.Kind,
					"expires_at": row.ExpiresAt.UTC().Format(time.RFC3339)})}); err != nil {
				return err
			}
			data, err := requestWhat(tx, row, lang)
			if err != nil {
				return err
			}
			data["Link"] = a.portalURL
			if err := a.notifyUser(ctx, tx, "request_expired", lang, row.OrgID, row.RequesterID, data); err != nil {
				return err
			}
		}
		n = len(rows)
		return nil
	})
	return n, err
}
