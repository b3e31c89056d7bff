package postgres

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
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

// How long activation links stay valid.
const (
	FirstAdminLinkValidity = 60 * 24 * time.Hour
	ActivationLinkValidity = 30 * 24 * time.Hour
)

// Notifier enqueues an email in the caller's transaction (internal/jobs).
type Notifier interface {
	NotifyTx(ctx context.Context, tx *sql.Tx, n domain.Notification) error
}

// Onboarding turns people into administrators and users: connecting an
// organisation with its first administrator, issuing activation links and
// codes, and activating a business identity. Each change, its audit events
// and its email commit together or not at all.
type Onboarding struct {
	db     *DB
	notify Notifier
	// Link makes the activation URL a person receives from the link's secret.
	link func(secret string) string
}

// NewOnboarding returns the onboarding service. link turns a secret into the
// address mailed to the person.
func NewOnboarding(db *DB, notify Notifier, link func(secret string) string) *Onboarding {
	return &Onboarding{db: db, notify: notify, link: link}
}

type activationTokenRow struct {
	ID        uuid.UUID `gorm:"type:uuid;default:gen_random_uuid()"`
	OrgID     uuid.UUID
	UserID    uuid.UUID
	Kind      string
	TokenHash []byte
	ExpiresAt time.Time
	UsedAt    *time.Time
	CreatedAt time.Time `gorm:"default:now()"`
	UpdatedAt time.Time `gorm:"default:now()"`
}

func (activationTokenRow) TableName() string { return "activation_tokens" }

// Activation token kinds (the activation_tokens.kind column).
const (
	tokenEmailLink      = "email_link"
	tokenFirstAdminLink = "first_admin_link"
	tokenCode           = "code"
)

// Representative is the management representative connecting a company:
// a person logged in with private MitID, not (yet) a business identity.
type Representative struct {
	Name    string
	Issuer  string
	Subject string
}

// ConnectRequest is everything the connect flow collected.
type ConnectRequest struct {
	Org            domain.Organisation
	Units          []domain.ProductionUnit
	FirstAdmin     domain.User
	Representative Representative
	Lang           string // of the email to the first administrator
	RequestID      string
}

// Issued is an activation that was just created: the link's expiry and,
// for a person without CPR, the one-time code to hand over in person.
type Issued struct {
	UserID    uuid.UUID
	ExpiresAt time.Time
	Code      string // empty when the person activates by CPR
}

var errAlreadyConnected = &domain.Error{Code: domain.ECONFLICT, Key: "connect.already_connected",
	Message: "This company is already connected. Ask its organisation administrator for access."}

// ConnectOrganisation creates the organisation with its production units,
// its first organisation administrator (pending) and that person's
// activation, audits it and mails the link, in one transaction.
func (s *Onboarding) ConnectOrganisation(ctx context.Context, req ConnectRequest) (*domain.Organisation, Issued, error) {
	now := s.db.Now().UTC()
	org := req.Org
	org.ID, org.Status, org.ConnectedAt = uuid.New(), domain.OrgActive, &now
	admin := req.FirstAdmin
	admin.ID, admin.OrgID, admin.Status = uuid.New(), org.ID, domain.UserPending

	var errs domain.ValidationErrors
	errs.Add(org.Validate())
	errs.Add(admin.Validate())
	// The connect form asks the first administrator only for a phone
	// number; the organisation's other mandatory fields apply from the next
	// user on (the administrator completes their own data in the portal).
	askable := slices.DeleteFunc(slices.Clone(org.Settings.MandatoryUserFields), func(f string) bool { return f != "phone" })
	errs.Add(mandatoryFields(&domain.OrgSettings{MandatoryUserFields: askable}, &admin))
	if err := errs.Err(); err != nil {
		return nil, Issued{}, err
	}
	if req.Representative.Subject == "" {
		return nil, Issued{}, domain.Invalid("representative", "connect.representative", "The representative's login is missing; log in again.")
	}
	var issued Issued
	err := s.db.tx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Table("organisations").Where("cvr = ?", org.CVR).Count(&n).Error; err != nil {
			return pgError("check organisation", err)
		}
		if n > 0 {
			return errAlreadyConnected
		}
		if err := tx.Create(organisationFromDomain(&org)).Error; err != nil {
			return pgError("create organisation", err)
		}
		for _, u := range req.Units {
			row := &productionUnitRow{OrgID: org.ID, PNumber: u.PNumber, Name: u.Name, Address: u.Address, Status: "active"}
			if err := tx.Create(row).Error; err != nil {
				return pgError("create production unit", err)
			}
		}
		userRow, err := (&UserService{db: s.db}).fromDomain(&admin)
		if err != nil {
			return err
		}
		userRow.Version = 1
		if err := tx.Create(userRow).Error; err != nil {
			return pgError("create first administrator", err)
		}
		role := &adminRoleRow{OrgID: org.ID, UserID: admin.ID, Role: domain.RoleOrgAdmin}
		if err := tx.Create(role).Error; err != nil {
			return pgError("assign organisation administrator", err)
		}
		actor := "representative " + req.Representative.Name
		events := []domain.AuditEvent{
			{Action: "organisation.connected", TargetType: "organisation", TargetID: org.ID.String(),
				Details: details(map[string]any{"cvr": org.CVR, "name": org.Name, "representative_subject": req.Representative.Subject,
					"production_units": len(req.Units), "allow_private_mitid": org.Settings.AllowPrivateMitID,
					"mandatory_user_fields": nonNil(org.Settings.MandatoryUserFields)})},
			{Action: "user.created", TargetType: "user", TargetID: admin.ID.String(),
				Details: details(map[string]any{"name": admin.FullName(), "email": admin.Email, "identified_by": identifiedBy(&admin)})},
			{Action: "admin_role.assigned", TargetType: "admin_role", TargetID: role.ID.String(),
				Details: details(map[string]any{"user_id": admin.ID, "role": domain.RoleOrgAdmin})},
		}
		for i := range events {
			e := &events[i]
			e.OrgID, e.ActorLabel, e.RequestID = &org.ID, actor, req.RequestID
			if err := appendAudit(tx, now, e); err != nil {
				return err
			}
		}
		issued, err = s.issue(ctx, tx, now, issueSpec{
			org: &org, user: &admin, kind: tokenFirstAdminLink, validity: FirstAdminLinkValidity,
			template: "first_admin", lang: req.Lang, actorLabel: actor, requestID: req.RequestID,
			data: map[string]string{"RepresentativeName": req.Representative.Name},
		})
		return err
	})
	if err != nil {
		return nil, Issued{}, err
	}
	return &org, issued, nil
}

// mandatoryFields checks the organisation's mandatory user fields that a
// person can be asked for when being created.
func mandatoryFields(st *domain.OrgSettings, u *domain.User) error {
	var errs domain.ValidationErrors
	for _, f := range st.MandatoryUserFields {
		switch f {
		case "phone":
			if u.Phone == "" {
				errs.Add(domain.Invalid("phone", "user.phone_required", "The organisation requires a phone number."))
			}
		case "production_unit":
			if u.ProductionUnitID == nil {
				errs.Add(domain.Invalid("production_unit", "user.production_unit_required", "The organisation requires a production unit."))
			}
		case "employee_number", "department":
			if strings.TrimSpace(u.ExtraFields[f]) == "" {
				errs.Add(domain.Invalid(f, "user."+f+"_required", "The organisation requires this field."))
			}
		}
	}
	return errs.Err()
}

func identifiedBy(u *domain.User) string {
	if u.CPR != "" || u.HasCPR {
		return "cpr"
	}
	return "birth_date"
}

func details(m map[string]any) json.RawMessage {
	b, _ := json.Marshal(m)
	return b
}

type issueSpec struct {
	org        *domain.Organisation
	user       *domain.User
	kind       string
	validity   time.Duration
	template   string
	lang       string
	actorID    *uuid.UUID
	actorLabel string
	requestID  string
	data       map[string]string
}

// issue creates a link token (and a code for a person without CPR), audits
// it and enqueues the email with the link, inside tx.
func (s *Onboarding) issue(ctx context.Context, tx *gorm.DB, now time.Time, sp issueSpec) (Issued, error) {
	if s.db.pii == nil {
		return Issued{}, errors.New("issue activation: no data key configured")
	}
	expires := now.Add(sp.validity)
	secret, err := randomSecret()
	if err != nil {
		return Issued{}, err
	}
	link := &activationTokenRow{OrgID: sp.org.ID, UserID: sp.user.ID, Kind: sp.kind, TokenHash: s.db.pii.Hash("link:" + secret), ExpiresAt: expires}
	if err := tx.Create(link).Error; err != nil {
		return Issued{}, pgError("create activation link", err)
	}
	issued := Issued{UserID: sp.user.ID, ExpiresAt: expires}
	withCode := sp.user.CPR == "" && !sp.user.HasCPR
	if withCode {
		code, err := randomCode()
		if err != nil {
			return Issued{}, err
		}
		row := &activationTokenRow{OrgID: sp.org.ID, UserID: sp.user.ID, Kind: tokenCode, TokenHash: s.db.pii.Hash("code:" + normalizeCode(code)), ExpiresAt: expires}
		if err := tx.Create(row).Error; err != nil {
			return Issued{}, pgError("create activation code", err)
		}
		issued.Code = code
	}
	e := &domain.AuditEvent{OrgID: &sp.org.ID, ActorID: sp.actorID, ActorLabel: sp.actorLabel, Action: "activation.issued",
		TargetType: "user", TargetID: sp.user.ID.String(), RequestID: sp.requestID,
		Details: details(map[string]any{"kind": sp.kind, "with_code": withCode, "expires_at": expires.Format(time.RFC3339)})}
	if err := appendAudit(tx, now, e); err != nil {
		return Issued{}, err
	}
	// The mail shows the expiry in the reader's language and time zone.
	data := map[string]string{"OrgName": sp.org.Name, "ExpiresAt": expires.Format(time.RFC3339)}
	if sp.template == "activation" {
		data["UserName"] = sp.user.FullName()
	}
	if withCode {
		data["NeedsCode"] = "true"
	}
	for k, v := range sp.data {
		data[k] = v
	}
	err = enqueue(ctx, tx, s.notify, domain.Notification{
		Template: sp.template, Lang: sp.lang, To: sp.user.Email, OrgID: &sp.org.ID,
		Data: data, Secrets: map[string]string{"Link": s.link(secret)},
	})
	if err != nil {
		return Issued{}, fmt.Errorf("enqueue activation email: %w", err)
	}
	return issued, nil
}

// IssueActivation sends a user a new activation link (and, for a person
// without CPR, a new code), ending any earlier unused ones.
func (s *Onboarding) IssueActivation(ctx context.Context, orgID, userID uuid.UUID, actorID *uuid.UUID, lang, requestID string) (Issued, error) {
	var issued Issued
	err := s.db.tx(ctx, func(tx *gorm.DB) error {
		var orgRow organisationRow
		if err := tx.Take(&orgRow, "id = ?", orgID).Error; err != nil {
			return notFoundOr(err, errUserNotFound, "find organisation")
		}
		var u userRow
		if err := tx.Clauses(forUpdate).Take(&u, "org_id = ? AND id = ?", orgID, userID).Error; err != nil {
			return notFoundOr(err, errUserNotFound, "find user")
		}
		if u.Status != domain.UserPending {
			return &domain.Error{Code: domain.ECONFLICT, Key: "activation.not_pending", Message: "Only a user waiting for activation can be sent an activation link."}
		}
		if err := tx.Exec("DELETE FROM activation_tokens WHERE user_id = ? AND used_at IS NULL", userID).Error; err != nil {
			return pgError("end earlier activation links", err)
		}
		var err error
		issued, err = s.issue(ctx, tx, s.db.Now().UTC(), issueSpec{
			org: orgRow.toDomain(), user: u.toDomain(), kind: tokenEmailLink, validity: ActivationLinkValidity,
			template: "activation", lang: lang, actorID: actorID, requestID: requestID,
		})
		return err
	})
	return issued, err
}

// ActivationInfo is what the activation page shows about a link.
type ActivationInfo struct {
	OrgID     uuid.UUID
	OrgName   string
	UserID    uuid.UUID
	UserName  string
	ExpiresAt time.Time
	NeedsCode bool // the user has no CPR: the one-time code proves who they are
}

var (
	errLinkUnknown = &domain.Error{Code: domain.ENOTFOUND, Key: "activation.not_found",
		Message: "This activation link is not valid. Check that you opened the whole link from the email, or ask your administrator to send a new one."}
	errLinkUsed = &domain.Error{Code: domain.ECONFLICT, Key: "activation.used",
		Message: "This activation link has already been used. Log in instead, or ask your administrator for a new link."}
	errLinkExpired = &domain.Error{Code: domain.ECONFLICT, Key: "activation.expired",
		Message: "This activation link has expired. Ask your administrator to send a new one."}
)

// FindActivation looks up the link with this secret.
func (s *Onboarding) FindActivation(ctx context.Context, secret string) (*ActivationInfo, error) {
	var info *ActivationInfo
	err := s.db.tx(ctx, func(tx *gorm.DB) error {
		var err error
		_, info, err = s.loadLink(tx, secret, false)
		return err
	})
	return info, err
}

func (s *Onboarding) loadLink(tx *gorm.DB, secret string, lock bool) (*activationTokenRow, *ActivationInfo, error) {
	if s.db.pii == nil || secret == "" || len(secret) > 100 {
		return nil, nil, errLinkUnknown
	}
	// A new chain per query: a gorm chain reused keeps its conditions.
	q := func() *gorm.DB {
		if lock {
			return tx.Clauses(forUpdate)
		}
		return tx.Session(&gorm.Session{})
	}
	var tok activationTokenRow
	err := q().Take(&tok, "token_hash = ? AND kind IN ?", s.db.pii.Hash("link:"+secret), []string{tokenEmailLink, tokenFirstAdminLink}).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, errLinkUnknown
	}
	if err != nil {
		return nil, nil, pgError("find activation link", err)
	}
	if tok.UsedAt != nil {
		return nil, nil, errLinkUsed
	}
	if !s.db.Now().Before(tok.ExpiresAt) {
		return nil, nil, errLinkExpired
	}
	var u userRow
	if err := q().Take(&u, "org_id = ? AND id = ?", tok.OrgID, tok.UserID).Error; err != nil {
		return nil, nil, notFoundOr(err, errLinkUnknown, "find user of activation")
	}
	if u.Status != domain.UserPending {
		return nil, nil, errLinkUsed
	}
	var org organisationRow
	if err := tx.Take(&org, "id = ?", tok.OrgID).Error; err != nil {
		return nil, nil, notFoundOr(err, errLinkUnknown, "find organisation of activation")
	}
	return &tok, &ActivationInfo{OrgID: org.ID, OrgName: org.Name, UserID: u.ID, UserName: strings.TrimSpace(u.FirstName + " " + u.LastName),
		ExpiresAt: tok.ExpiresAt, NeedsCode: len(u.CprHmac) == 0}, nil
}

// ActivateRequest is a logged-in person redeeming an activation link.
type ActivateRequest struct {
	Secret    string
	Issuer    string // the broker's issuer and the person's subject there
	Subject   string
	CPRHash   []byte // the keyed hash of the CPR the broker gave; nil if none
	BirthDate string // YYYY-MM-DD from the broker, when given
	Code      string // the one-time code, for a user without CPR
	RequestID string
}

// Errors of Activate that the activation page explains.
var (
	ErrActivationNoCPR = &domain.Error{Code: domain.EFORBIDDEN, Key: "activation.no_cpr",
		Message: "Your MitID login did not include a CPR number, which this activation needs. Log in again with your private MitID."}
	ErrActivationCPRMismatch = &domain.Error{Code: domain.EFORBIDDEN, Key: "activation.cpr_mismatch",
		Message: "The person who logged in is not the person this user was created for. Log in with your own MitID, or ask your administrator to check the CPR number."}
	ErrActivationCodeRequired = &domain.Error{Code: domain.EINVALID, Field: "code", Key: "activation.code_required",
		Message: "Enter the activation code your administrator gave you."}
	ErrActivationCodeWrong = &domain.Error{Code: domain.EINVALID, Field: "code", Key: "activation.code_wrong",
		Message: "The activation code is not correct. Check it with your administrator; it is 10 letters and digits."}
	ErrActivationBirthDate = &domain.Error{Code: domain.EFORBIDDEN, Key: "activation.birth_date_mismatch",
		Message: "Your date of birth from MitID does not match the one this user was created with. Ask your administrator to check it."}
	ErrActivationLinked = &domain.Error{Code: domain.ECONFLICT, Key: "activation.already_linked",
		Message: "You already have a business identity in this organisation. Log in to use it, or ask your administrator to delete the extra user."}
)

// Activate links the person to the business identity of the link and
// makes it active, after checking that it is the right person: the CPR
// must match, or (for a user without CPR) the one-time code. The link and
// code are used up. A refused attempt changes nothing but the audit log.
func (s *Onboarding) Activate(ctx context.Context, req ActivateRequest) (*domain.User, error) {
	if req.Issuer == "" || req.Subject == "" {
		return nil, domain.Invalid("subject", "activation.login", "Log in with MitID before activating.")
	}
	var user *domain.User
	var refused error
	var refusedInfo *ActivationInfo
	err := s.db.tx(ctx, func(tx *gorm.DB) error {
		tok, info, err := s.loadLink(tx, req.Secret, true)
		if err != nil {
			return err
		}
		var u userRow
		if err := tx.Clauses(forUpdate).Take(&u, "id = ?", info.UserID).Error; err != nil {
			return pgError("lock user", err)
		}
		now := s.db.Now().UTC()
		var codeRow *activationTokenRow
		if len(u.CprHmac) > 0 {
			switch {
			case len(req.CPRHash) == 0:
				refused = ErrActivationNoCPR
			case subtle.ConstantTimeCompare(u.CprHmac, req.CPRHash) != 1:
				refused = ErrActivationCPRMismatch
			}
		} else {
			code := normalizeCode(req.Code)
			var c activationTokenRow
			err := tx.Clauses(forUpdate).Take(&c, "user_id = ? AND kind = ? AND used_at IS NULL AND expires_at > ?", u.ID, tokenCode, now).Error
			switch {
			case code == "":
				refused = ErrActivationCodeRequired
			case errors.Is(err, gorm.ErrRecordNotFound):
				refused = ErrActivationCodeWrong
			case err != nil:
				return pgError("find activation code", err)
			case subtle.ConstantTimeCompare(c.TokenHash, s.db.pii.Hash("code:"+code)) != 1:
				refused = ErrActivationCodeWrong
			case req.BirthDate != "" && u.BirthDate != nil && u.BirthDate.Format(time.DateOnly) != req.BirthDate:
				refused = ErrActivationBirthDate
			default:
				codeRow = &c
			}
		}
		if refused != nil {
			refusedInfo = info
			return refused
		}
		used := []uuid.UUID{tok.ID}
		if codeRow != nil {
			used = append(used, codeRow.ID)
		}
		if err := tx.Model(&activationTokenRow{}).Where("id IN ?", used).Update("used_at", now).Error; err != nil {
			return pgError("use activation link", err)
		}
		link := &personLinkRow{OrgID: u.OrgID, UserID: u.ID, BrokerIssuer: req.Issuer, BrokerSubject: req.Subject}
		if err := tx.Create(link).Error; err != nil {
			if domain.ErrorCode(pgError("", err)) == domain.ECONFLICT {
				return ErrActivationLinked
			}
			return pgError("link person", err)
		}
		res := tx.Model(&userRow{}).Where("id = ? AND status = ?", u.ID, domain.UserPending).
			Updates(map[string]any{"status": domain.UserActive, "activated_at": now, "version": gorm.Expr("version + 1")})
		if res.Error != nil {
			return pgError("activate user", res.Error)
		}
		if err := tx.Take(&u, "id = ?", u.ID).Error; err != nil {
			return pgError("reload user", err)
		}
		e := &domain.AuditEvent{OrgID: &u.OrgID, ActorID: &u.ID, ActorLabel: u.FirstName + " " + u.LastName, Action: "user.activated",
			TargetType: "user", TargetID: u.ID.String(), RequestID: req.RequestID,
			Details: details(map[string]any{"proved_by": map[bool]string{true: "code", false: "cpr"}[codeRow != nil], "link_kind": tok.Kind})}
		if err := appendAudit(tx, now, e); err != nil {
			return err
		}
		user = u.toDomain()
		return nil
	})
	if refused != nil && errors.Is(err, refused) {
		// The refusal is audited on its own, since the transaction above
		// rolled back; it names the reason, never the CPR or the code.
		_ = s.auditRefusal(ctx, refusedInfo, req, refused)
	}
	if err != nil {
		return nil, err
	}
	return user, nil
}

func (s *Onboarding) auditRefusal(ctx context.Context, info *ActivationInfo, req ActivateRequest, reason error) error {
	return s.db.tx(ctx, func(tx *gorm.DB) error {
		return appendAudit(tx, s.db.Now().UTC(), &domain.AuditEvent{OrgID: &info.OrgID, ActorLabel: "person " + req.Subject,
			Action: "activation.refused", TargetType: "user", TargetID: info.UserID.String(), RequestID: req.RequestID,
			Details: details(map[string]any{"reason": domain.ErrorKey(reason)})})
	})
}

func notFoundOr(err error, notFound error, op string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return notFound
	}
	return pgError(op, err)
}

func randomSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// codeAlphabet leaves out letters and digits that are easily confused when
// a code is read aloud or copied by hand (0/O, 1/I/L).
const codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// randomCode is 10 characters (about 50 bits), shown as ABCDE-FGHJK.
func randomCode() (string, error) {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	out := make([]byte, 0, 11)
	for i, v := range b {
		if i == 5 {
			out = append(out, '-')
		}
		// 256 is not a multiple of 31; the bias (8 of 256) is harmless for a
		// single-use code that also needs the link.
		out = append(out, codeAlphabet[int(v)%len(codeAlphabet)])
	}
	return string(out), nil
}

func normalizeCode(code string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, strings.TrimSpace(code))
}

// ExpiringActivation is an unused activation link that runs out soon.
type ExpiringActivation struct {
	UserID    uuid.UUID
	UserName  string
	ExpiresAt time.Time
}

// ExpiringActivations lists the organisation's unused activation links
// that expire within the given time, soonest first.
func (s *Onboarding) ExpiringActivations(ctx context.Context, orgID uuid.UUID, within time.Duration, limit int) ([]ExpiringActivation, error) {
	now := s.db.Now()
	var rows []struct {
		UserID              uuid.UUID
		FirstName, LastName string
		ExpiresAt           time.Time
	}
	err := s.db.gorm.WithContext(ctx).Table("activation_tokens t").
		Select("t.user_id, u.first_name, u.last_name, t.expires_at").
		Joins("JOIN users u ON u.id = t.user_id").
		Where("t.org_id = ? AND t.used_at IS NULL AND t.kind <> ? AND t.expires_at > ? AND t.expires_at <= ? AND u.status = ?",
			orgID, tokenCode, now, now.Add(within), domain.UserPending).
		Order("t.expires_at").Limit(limit).Scan(&rows).Error
	if err != nil {
		return nil, pgError("expiring activations", err)
	}
	out := make([]ExpiringActivation, len(rows))
	for i, r := range rows {
		out[i] = ExpiringActivation{UserID: r.UserID, UserName: strings.TrimSpace(r.FirstName + " " + r.LastName), ExpiresAt: r.ExpiresAt}
	}
	return out, nil
}
