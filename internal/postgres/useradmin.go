package postgres

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"gorm.io/gorm"

	"github.com/erhverv/erhverv/internal/domain"
)

// Actor is who makes an administrative change: the business identity, the
// person's name, and where the request came from. Every audited change
// records it.
type Actor struct {
	UserID    uuid.UUID
	Label     string // the person's name as shown in the audit log
	RequestID string
	Address   string // the client's IP address
	// Client is set when the actor is an API client (UserID is then the
	// client's id): it is named in audit events but is no business
	// identity, so it is never stored where a user is referenced.
	Client bool
}

// userRef is the actor's business identity for columns that reference a
// user (granted_by, added_by): nil for an API client.
func (a Actor) userRef() *uuid.UUID {
	if a.Client || a.UserID == uuid.Nil {
		return nil
	}
	id := a.UserID
	return &id
}

func (a Actor) event(orgID uuid.UUID, action, targetType, targetID string, d map[string]any) *domain.AuditEvent {
	if a.Address != "" {
		d["address"] = a.Address
	}
	id := a.UserID
	return &domain.AuditEvent{OrgID: &orgID, ActorID: &id, ActorLabel: a.Label, Action: action,
		TargetType: targetType, TargetID: targetID, RequestID: a.RequestID, Details: details(d)}
}

// Administration is the portal's user and role administration: each change
// is made together with its audit event (and email) in one transaction.
type Administration struct {
	db        *DB
	users     *UserService
	onboard   *Onboarding
	validity  time.Duration
	portalURL string
}

// NewAdministration returns the administration service; onboard issues the
// activation links of new users (and sends mail through its notifier);
// portalURL is the portal's absolute address, for links in mails.
func NewAdministration(db *DB, onboard *Onboarding, portalURL string) *Administration {
	return &Administration{db: db, users: &UserService{db: db}, onboard: onboard, validity: ActivationLinkValidity, portalURL: portalURL}
}

// notifyUser mails a user of the organisation about a change, in tx: the
// template gets the organisation's and the user's names besides data. A
// deleted user (no address any more) is not mailed.
func (a *Administration) notifyUser(ctx context.Context, tx *gorm.DB, template, lang string, orgID, userID uuid.UUID, data map[string]string) error {
	var u userRow
	if err := tx.Take(&u, "org_id = ? AND id = ?", orgID, userID).Error; err != nil {
		return notFoundOr(err, errUserNotFound, "find user")
	}
	if u.Email == "" || u.Status == domain.UserDeleted {
		return nil
	}
	var org organisationRow
	if err := tx.Take(&org, "id = ?", orgID).Error; err != nil {
		return pgError("find organisation", err)
	}
	data["OrgName"], data["UserName"] = org.Name, strings.TrimSpace(u.FirstName+" "+u.LastName)
	return enqueue(ctx, tx, a.onboard.notify, domain.Notification{Template: template, Lang: lang, To: u.Email, OrgID: &orgID, Data: data})
}

// notifyRole tells the user about a role given or taken, in tx.
func (a *Administration) notifyRole(ctx context.Context, tx *gorm.DB, template string, actor Actor, orgID, userID uuid.UUID, role, lang string) error {
	return a.notifyUser(ctx, tx, template, lang, orgID, userID, map[string]string{"Role": role, "ActorName": actor.Label, "Link": a.portalURL})
}

// enqueue hands a notification to the notifier inside gorm's transaction
// tx, so the mail is sent only if the change commits.
func enqueue(ctx context.Context, tx *gorm.DB, notifier Notifier, n domain.Notification) error {
	sqlTx, ok := tx.Statement.ConnPool.(*sql.Tx)
	if !ok {
		return errors.New("enqueue " + n.Template + " mail: not inside a database/sql transaction")
	}
	return notifier.NotifyTx(ctx, sqlTx, n)
}

// CreateUser creates a pending user, sends the activation link (and, for a
// person without CPR, returns the one-time code to show the administrator)
// and audits it.
func (a *Administration) CreateUser(ctx context.Context, actor Actor, u *domain.User, lang string) (Issued, error) {
	return a.createUser(ctx, actor, u, lang, userExtras{})
}

// userExtras is what another front (SCIM) stores with a new user in the
// same transaction: its own check of the input, its own columns, and their
// part of the audit event.
type userExtras struct {
	check error
	store func(tx *gorm.DB, u *domain.User) error
	audit map[string]any
}

func (a *Administration) createUser(ctx context.Context, actor Actor, u *domain.User, lang string, extra userExtras) (Issued, error) {
	u.Status = domain.UserPending
	var errs domain.ValidationErrors
	errs.Add(u.Validate())
	errs.Add(extra.check)
	var org organisationRow
	if err := a.db.gorm.WithContext(ctx).Take(&org, "id = ?", u.OrgID).Error; err != nil {
		return Issued{}, notFoundOr(err, errUserNotFound, "find organisation")
	}
	errs.Add(mandatoryFields(&org.toDomain().Settings, u))
	if err := errs.Err(); err != nil {
		return Issued{}, err
	}
	var issued Issued
	err := a.db.tx(ctx, func(tx *gorm.DB) error {
		// One living user per email in an organisation: the unique index
		// users_org_email_key refuses a second, as a field error.
		ident := identifiedBy(u)
		if err := a.users.createTx(tx, u); err != nil {
			return err
		}
		u.HasCPR = ident == "cpr"
		if extra.store != nil {
			if err := extra.store(tx, u); err != nil {
				return err
			}
		}
		after := map[string]any{"name": u.FullName(), "email": u.Email, "phone": u.Phone, "identified_by": ident}
		for k, v := range extra.audit {
			after[k] = v
		}
		now := a.db.Now().UTC()
		if err := appendAudit(tx, now, actor.event(u.OrgID, "user.created", "user", u.ID.String(), map[string]any{"after": after})); err != nil {
			return err
		}
		var err error
		issued, err = a.onboard.issue(ctx, tx, now, issueSpec{
			org: org.toDomain(), user: u, kind: tokenEmailLink, validity: a.validity, template: "activation", lang: lang,
			actorID: &actor.UserID, actorLabel: actor.Label, requestID: actor.RequestID,
		})
		return err
	})
	return issued, err
}

// SetStatus deactivates, reactivates or deletes a user (optimistic locking
// on version; never the last organisation administrator) and audits it.
func (a *Administration) SetStatus(ctx context.Context, actor Actor, orgID, id uuid.UUID, version int, status string) error {
	return a.db.tx(ctx, func(tx *gorm.DB) error {
		old, err := a.users.setStatusTx(tx, orgID, id, version, status)
		if err != nil {
			return err
		}
		if status != domain.UserActive {
			// A user who may no longer log in keeps no service session either.
			if err := tx.Exec("UPDATE oidc_grants SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", a.db.Now().UTC(), id).Error; err != nil {
				return pgError("revoke the user's service tokens", err)
			}
		}
		action := map[string]string{domain.UserActive: "user.reactivated", domain.UserDeactivated: "user.deactivated", domain.UserDeleted: "user.deleted"}[status]
		return appendAudit(tx, a.db.Now().UTC(), actor.event(orgID, action, "user", id.String(),
			map[string]any{"before": map[string]any{"status": old}, "after": map[string]any{"status": status}}))
	})
}

// EndSessions ends every session of the user: a portal or service login
// from before now no longer counts (the person logs in with MitID again) and
// every token a service received for the user is refused. ENOTFOUND for
// another organisation's user.
func (a *Administration) EndSessions(ctx context.Context, actor Actor, orgID, id uuid.UUID) error {
	return a.db.tx(ctx, func(tx *gorm.DB) error {
		now := a.db.Now().UTC()
		res := tx.Exec("UPDATE users SET sessions_ended_at = ? WHERE org_id = ? AND id = ? AND status <> 'deleted'", now, orgID, id)
		if res.Error != nil {
			return pgError("end the user's sessions", res.Error)
		}
		if res.RowsAffected == 0 {
			return &domain.Error{Code: domain.ENOTFOUND, Key: "user.not_found", Message: "The user does not exist."}
		}
		var revoked int64
		r := tx.Exec("UPDATE oidc_grants SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND completed_at IS NOT NULL", now, id)
		if r.Error != nil {
			return pgError("revoke the user's service tokens", r.Error)
		}
		revoked = r.RowsAffected
		return appendAudit(tx, now, actor.event(orgID, "user.sessions_ended", "user", id.String(),
			map[string]any{"service_logins_revoked": revoked}))
	})
}

// AssignRole gives a user an administrator role, audits it and tells the
// user by mail.
func (a *Administration) AssignRole(ctx context.Context, actor Actor, r *domain.AdminRole, lang string) error {
	if err := r.Validate(); err != nil {
		return err
	}
	r.GrantedBy = actor.userRef()
	return a.db.tx(ctx, func(tx *gorm.DB) error {
		var u userRow
		if err := tx.Take(&u, "org_id = ? AND id = ? AND status <> ?", r.OrgID, r.UserID, domain.UserDeleted).Error; err != nil {
			return notFoundOr(err, errUserNotFound, "find user")
		}
		if err := assignRoleTx(tx, r); err != nil {
			return err
		}
		if err := appendAudit(tx, a.db.Now().UTC(), actor.event(r.OrgID, "admin_role.assigned", "admin_role", r.ID.String(),
			map[string]any{"user_id": r.UserID, "after": roleDetails(r)})); err != nil {
			return err
		}
		return a.notifyRole(ctx, tx, "admin_role_assigned", actor, r.OrgID, r.UserID, r.Role, lang)
	})
}

// RemoveRole removes an administrator role (never the last organisation
// administrator's), audits it and tells the user by mail.
func (a *Administration) RemoveRole(ctx context.Context, actor Actor, orgID, id uuid.UUID, lang string) error {
	return a.db.tx(ctx, func(tx *gorm.DB) error {
		r, err := removeRoleTx(tx, orgID, id, a.db.Now())
		if err != nil {
			return err
		}
		if err := appendAudit(tx, a.db.Now().UTC(), actor.event(orgID, "admin_role.removed", "admin_role", id.String(),
			map[string]any{"user_id": r.UserID, "before": roleDetails(r)})); err != nil {
			return err
		}
		return a.notifyRole(ctx, tx, "admin_role_removed", actor, orgID, r.UserID, r.Role, lang)
	})
}

func roleDetails(r *domain.AdminRole) map[string]any {
	d := map[string]any{"role": r.Role}
	if r.ProductionUnitID != nil {
		d["production_unit_id"] = r.ProductionUnitID.String()
	}
	if r.ValidFrom != nil {
		d["valid_from"] = r.ValidFrom.UTC().Format(time.RFC3339)
	}
	if r.ValidTo != nil {
		d["valid_to"] = r.ValidTo.UTC().Format(time.RFC3339)
	}
	return d
}

// ResendActivation sends a pending user a new activation link.
func (a *Administration) ResendActivation(ctx context.Context, actor Actor, orgID, id uuid.UUID, lang string) (Issued, error) {
	return a.onboard.IssueActivation(ctx, orgID, id, &actor.UserID, lang, actor.RequestID)
}

// UpdateSettings changes the organisation's settings and audits before and
// after.
func (a *Administration) UpdateSettings(ctx context.Context, actor Actor, orgID uuid.UUID, st domain.OrgSettings) error {
	if err := st.Validate(); err != nil {
		return err
	}
	return a.db.tx(ctx, func(tx *gorm.DB) error {
		var row organisationRow
		if err := tx.Clauses(forUpdate).Take(&row, "id = ?", orgID).Error; err != nil {
			return notFoundOr(err, &domain.Error{Code: domain.ENOTFOUND, Key: "org.not_found", Message: "The organisation does not exist."}, "find organisation")
		}
		before := row.toDomain().Settings
		if err := tx.Model(&organisationRow{}).Where("id = ?", orgID).Updates(map[string]any{
			"allow_private_mitid":   st.AllowPrivateMitID,
			"mandatory_user_fields": pq.StringArray(nonNil(st.MandatoryUserFields)),
			"notification_email":    optString(st.NotificationEmail),
			"notify_on_requests":    st.NotifyOnRequests,
		}).Error; err != nil {
			return pgError("update organisation settings", err)
		}
		return appendAudit(tx, a.db.Now().UTC(), actor.event(orgID, "organisation.settings_changed", "organisation", orgID.String(),
			map[string]any{"before": settingsDetails(before), "after": settingsDetails(st)}))
	})
}

func settingsDetails(st domain.OrgSettings) map[string]any {
	return map[string]any{"allow_private_mitid": st.AllowPrivateMitID, "mandatory_user_fields": nonNil(st.MandatoryUserFields),
		"notification_email": st.NotificationEmail, "notify_on_requests": st.NotifyOnRequests}
}

// UpdateUser changes a user's data (optimistic locking on u.Version; a CPR
// is only changed when a new one is given) and audits which fields changed,
// before and after. The CPR itself never enters the audit log.
func (a *Administration) UpdateUser(ctx context.Context, actor Actor, u *domain.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	var org organisationRow
	if err := a.db.gorm.WithContext(ctx).Take(&org, "id = ?", u.OrgID).Error; err != nil {
		return notFoundOr(err, errUserNotFound, "find organisation")
	}
	if err := mandatoryFields(&org.toDomain().Settings, u); err != nil {
		return err
	}
	row, err := a.users.fromDomain(u)
	if err != nil {
		return err
	}
	return a.db.tx(ctx, func(tx *gorm.DB) error {
		var old userRow
		if err := tx.Clauses(forUpdate).Take(&old, "org_id = ? AND id = ?", u.OrgID, u.ID).Error; err != nil {
			return notFoundOr(err, errUserNotFound, "find user")
		}
		if old.Status == domain.UserDeleted {
			return errUserNotFound
		}
		if old.Version != u.Version {
			return errStale
		}
		fields := map[string]any{
			"first_name": row.FirstName, "last_name": row.LastName, "email": row.Email, "phone": row.Phone,
			"birth_date": row.BirthDate, "production_unit_id": row.ProductionUnitID, "anonymous": row.Anonymous,
			"extra_fields": row.ExtraFields, "version": gorm.Expr("version + 1"),
		}
		if row.CprHmac != nil {
			fields["cpr_hmac"], fields["cpr_ciphertext"] = row.CprHmac, row.CprCiphertext
		}
		if err := tx.Model(&userRow{}).Where("id = ?", u.ID).Updates(fields).Error; err != nil {
			return pgError("update user", err)
		}
		before, after := map[string]any{}, map[string]any{}
		diff := func(name string, was, is any) {
			if was != is {
				before[name], after[name] = was, is
			}
		}
		diff("first_name", old.FirstName, row.FirstName)
		diff("last_name", old.LastName, row.LastName)
		diff("email", old.Email, row.Email)
		diff("phone", derefString(old.Phone), derefString(row.Phone))
		diff("anonymous", old.Anonymous, row.Anonymous)
		diff("extra_fields", string(old.ExtraFields), string(row.ExtraFields))
		diff("production_unit_id", uuidString(old.ProductionUnitID), uuidString(row.ProductionUnitID))
		if row.CprHmac != nil {
			before["cpr"], after["cpr"] = "(changed)", "(changed)"
		}
		u.Version = old.Version + 1
		return appendAudit(tx, a.db.Now().UTC(), actor.event(u.OrgID, "user.updated", "user", u.ID.String(),
			map[string]any{"before": before, "after": after}))
	})
}

func uuidString(id *uuid.UUID) string {
	if id == nil {
		return ""
	}
	return id.String()
}
