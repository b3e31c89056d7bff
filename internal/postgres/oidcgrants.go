package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"

	"github.com/erhverv/erhverv/internal/domain"
)

// OIDCGrant is one login at a service: the authorization request as the
// provider parsed it, the login that answered it, its code and the tokens
// issued from it. See migration 00015.
type OIDCGrant struct {
	ID             uuid.UUID
	ClientID       uuid.UUID
	Request        json.RawMessage // the provider's own encoding of the request
	RequiredLevel  string          // domain.LoA*
	UserID         *uuid.UUID
	OrgID          *uuid.UUID
	Level          string
	AMR            []string
	AuthTime       *time.Time
	CompletedAt    *time.Time
	CodeExchanged  *time.Time
	TokensExpireAt *time.Time
	RevokedAt      *time.Time
	CreatedAt      time.Time
	ExpiresAt      time.Time
}

type oidcGrantRow struct {
	ID              uuid.UUID `gorm:"primaryKey"`
	ClientID        uuid.UUID
	Request         string `gorm:"type:jsonb"`
	RequiredLevel   string
	UserID          *uuid.UUID
	OrgID           *uuid.UUID
	Level           *string
	AMR             pq.StringArray `gorm:"column:amr;type:text[]"`
	AuthTime        *time.Time
	CompletedAt     *time.Time
	CodeHash        []byte
	CodeExchangedAt *time.Time
	TokensExpireAt  *time.Time
	RevokedAt       *time.Time
	CreatedAt       time.Time
	ExpiresAt       time.Time
}

func (oidcGrantRow) TableName() string { return "oidc_grants" }

func (r *oidcGrantRow) toGrant() *OIDCGrant {
	g := &OIDCGrant{ID: r.ID, ClientID: r.ClientID, Request: json.RawMessage(r.Request), RequiredLevel: r.RequiredLevel,
		UserID: r.UserID, OrgID: r.OrgID, AMR: []string(r.AMR), AuthTime: r.AuthTime, CompletedAt: r.CompletedAt,
		CodeExchanged: r.CodeExchangedAt, TokensExpireAt: r.TokensExpireAt, RevokedAt: r.RevokedAt,
		CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt}
	if r.Level != nil {
		g.Level = *r.Level
	}
	return g
}

// OIDCGrants stores the logins at services, so any replica can continue a
// login another started and answer for a token another issued.
type OIDCGrants struct{ db *DB }

// NewOIDCGrants returns the store.
func NewOIDCGrants(db *DB) *OIDCGrants { return &OIDCGrants{db: db} }

var errGrantNotFound = &domain.Error{Code: domain.ENOTFOUND, Key: "oidc.grant_not_found", Message: "The login request does not exist or has expired."}

// ErrCodeReplayed is returned for a code presented a second time; the
// tokens issued for its first use are revoked (RFC 6749, section 4.1.2).
var ErrCodeReplayed = errors.New("authorization code used before")

// HashCode is how a code is stored and looked up.
func HashCode(code string) []byte {
	h := sha256.Sum256([]byte(code))
	return h[:]
}

// Create stores a new authorization request that may be answered until
// expires.
func (s *OIDCGrants) Create(ctx context.Context, id, clientID uuid.UUID, request []byte, requiredLevel string, expires time.Time) error {
	row := &oidcGrantRow{ID: id, ClientID: clientID, Request: string(request), RequiredLevel: requiredLevel,
		CreatedAt: s.db.Now().UTC(), ExpiresAt: expires}
	return pgError("create oidc grant", s.db.gorm.WithContext(ctx).Omit("amr").Create(row).Error)
}

// Find returns a grant that has not expired; ENOTFOUND otherwise.
func (s *OIDCGrants) Find(ctx context.Context, id uuid.UUID) (*OIDCGrant, error) {
	var row oidcGrantRow
	if err := s.db.gorm.WithContext(ctx).Take(&row, "id = ? AND expires_at > ?", id, s.db.Now().UTC()).Error; err != nil {
		return nil, notFoundOr(err, errGrantNotFound, "find oidc grant")
	}
	return row.toGrant(), nil
}

// OIDCLogin is the login that answers an authorization request.
type OIDCLogin struct {
	UserID   uuid.UUID
	OrgID    uuid.UUID
	Level    string // domain.LoA*
	AMR      []string
	AuthTime time.Time
}

// Complete records the login that answers the request and the hash of the
// code issued for it, in one statement; the code must be exchanged before
// codeExpires. A request is answered once; a second answer (another tab, a
// replayed form) is ECONFLICT.
func (s *OIDCGrants) Complete(ctx context.Context, id uuid.UUID, l OIDCLogin, code string, codeExpires time.Time) error {
	now := s.db.Now().UTC()
	res := s.db.gorm.WithContext(ctx).Exec(`UPDATE oidc_grants SET user_id = ?, org_id = ?, level = ?, amr = ?, auth_time = ?,
		completed_at = ?, code_hash = ?, expires_at = ?
		WHERE id = ? AND completed_at IS NULL AND expires_at > ?`,
		l.UserID, l.OrgID, l.Level, pq.StringArray(l.AMR), l.AuthTime, now, HashCode(code), codeExpires, id, now)
	if res.Error != nil {
		return pgError("complete oidc grant", res.Error)
	}
	if res.RowsAffected == 0 {
		return &domain.Error{Code: domain.ECONFLICT, Key: "oidc.grant_answered", Message: "The login request was answered already or has expired."}
	}
	return nil
}

// ExchangeCode claims a code once: the grant is returned the first time,
// and kept until its tokens expire. An unknown or expired code is
// ENOTFOUND; a code used before is ErrCodeReplayed, and the tokens issued
// for it are revoked.
func (s *OIDCGrants) ExchangeCode(ctx context.Context, code string, tokensExpire time.Time) (*OIDCGrant, error) {
	hash := HashCode(code)
	now := s.db.Now().UTC()
	var rows []oidcGrantRow
	err := s.db.gorm.WithContext(ctx).Raw(`UPDATE oidc_grants SET code_exchanged_at = ?, tokens_expire_at = ?, expires_at = ?
		WHERE code_hash = ? AND code_exchanged_at IS NULL AND expires_at > ? AND revoked_at IS NULL
		RETURNING *`, now, tokensExpire, tokensExpire, hash, now).Scan(&rows).Error
	if err != nil {
		return nil, pgError("exchange oidc code", err)
	}
	if len(rows) == 1 {
		return rows[0].toGrant(), nil
	}
	res := s.db.gorm.WithContext(ctx).Exec(`UPDATE oidc_grants SET revoked_at = ?
		WHERE code_hash = ? AND code_exchanged_at IS NOT NULL AND revoked_at IS NULL`, now, hash)
	if res.Error != nil {
		return nil, pgError("revoke replayed oidc code", res.Error)
	}
	if res.RowsAffected > 0 {
		return nil, ErrCodeReplayed
	}
	return nil, errGrantNotFound
}

// FindByCode returns the grant a code was issued for, exchanged or not,
// unless it has expired or been revoked; ENOTFOUND otherwise.
func (s *OIDCGrants) FindByCode(ctx context.Context, code string) (*OIDCGrant, error) {
	var row oidcGrantRow
	err := s.db.gorm.WithContext(ctx).Take(&row, "code_hash = ? AND expires_at > ? AND revoked_at IS NULL",
		HashCode(code), s.db.Now().UTC()).Error
	if err != nil {
		return nil, notFoundOr(err, errGrantNotFound, "find oidc code")
	}
	return row.toGrant(), nil
}

// LiveToken returns the grant behind an access token when its tokens are
// still good: exchanged, not expired and not revoked. ENOTFOUND otherwise.
func (s *OIDCGrants) LiveToken(ctx context.Context, id uuid.UUID) (*OIDCGrant, error) {
	var row oidcGrantRow
	err := s.db.gorm.WithContext(ctx).Take(&row, `id = ? AND code_exchanged_at IS NOT NULL AND revoked_at IS NULL AND tokens_expire_at > ?`,
		id, s.db.Now().UTC()).Error
	if err != nil {
		return nil, notFoundOr(err, errGrantNotFound, "find oidc token")
	}
	return row.toGrant(), nil
}

// Delete forgets a request that was cancelled or refused.
func (s *OIDCGrants) Delete(ctx context.Context, id uuid.UUID) error {
	return pgError("delete oidc grant", s.db.gorm.WithContext(ctx).Exec("DELETE FROM oidc_grants WHERE id = ?", id).Error)
}

// Revoke ends the tokens of one grant (token revocation by its client).
func (s *OIDCGrants) Revoke(ctx context.Context, id, clientID uuid.UUID) error {
	return pgError("revoke oidc grant", s.db.gorm.WithContext(ctx).Exec(
		"UPDATE oidc_grants SET revoked_at = ? WHERE id = ? AND client_id = ? AND revoked_at IS NULL", s.db.Now().UTC(), id, clientID).Error)
}

// RevokeUserAtClient ends the tokens one client received for one user
// (RP-initiated logout).
func (s *OIDCGrants) RevokeUserAtClient(ctx context.Context, userID, clientID uuid.UUID) error {
	return pgError("revoke oidc grants", s.db.gorm.WithContext(ctx).Exec(
		"UPDATE oidc_grants SET revoked_at = ? WHERE user_id = ? AND client_id = ? AND revoked_at IS NULL", s.db.Now().UTC(), userID, clientID).Error)
}

// Sweep deletes grants past their expiry; it returns how many.
func (s *OIDCGrants) Sweep(ctx context.Context) (int64, error) {
	res := s.db.gorm.WithContext(ctx).Exec("DELETE FROM oidc_grants WHERE expires_at < ?", s.db.Now().UTC())
	return res.RowsAffected, pgError("sweep oidc grants", res.Error)
}

// LoginIdentity is a business identity as a login to a service needs it:
// the user, the organisation and the user's P- and SE-numbers.
type LoginIdentity struct {
	UserID          uuid.UUID
	FirstName       string
	LastName        string
	Email           string
	Anonymous       bool
	Status          string
	SessionsEndedAt *time.Time
	OrgID           uuid.UUID
	CVR             string
	OrgName         string
	OrgStatus       string
	PNumber         string
	SENumber        string
}

// Usable reports whether the identity may log in now: an active user of an
// active organisation.
func (l *LoginIdentity) Usable() bool {
	return l.Status == domain.UserActive && l.OrgStatus == domain.OrgActive
}

// LoginStillValid reports whether a login at loggedInAt outlives the last
// time an administrator ended the user's sessions.
func (l *LoginIdentity) LoginStillValid(loggedInAt time.Time) bool {
	return domain.LoginOutlives(loggedInAt, l.SessionsEndedAt)
}

const loginIdentitySelect = `SELECT u.id AS user_id, u.first_name, u.last_name, u.email, u.anonymous, u.status, u.sessions_ended_at,
	o.id AS org_id, o.cvr, o.name AS org_name, o.status AS org_status,
	coalesce(pu.p_number, '') AS p_number, coalesce(se.se_number, '') AS se_number
	FROM users u JOIN organisations o ON o.id = u.org_id
	LEFT JOIN production_units pu ON pu.id = u.production_unit_id
	LEFT JOIN se_numbers se ON se.id = u.se_number_id `

// LoginIdentitiesOfPerson lists every business identity linked to the
// broker's person, usable or not, by organisation name.
func (s *OIDCGrants) LoginIdentitiesOfPerson(ctx context.Context, issuer, subject string) ([]LoginIdentity, error) {
	var out []LoginIdentity
	err := s.db.gorm.WithContext(ctx).Raw(loginIdentitySelect+
		`JOIN person_links l ON l.user_id = u.id WHERE l.broker_issuer = ? AND l.broker_subject = ? AND u.status <> 'deleted'
		ORDER BY lower(o.name), o.cvr`, issuer, subject).Scan(&out).Error
	return out, pgError("list login identities", err)
}

// LoginIdentity returns one user's identity; ENOTFOUND.
func (s *OIDCGrants) LoginIdentity(ctx context.Context, userID uuid.UUID) (*LoginIdentity, error) {
	var out []LoginIdentity
	if err := s.db.gorm.WithContext(ctx).Raw(loginIdentitySelect+"WHERE u.id = ?", userID).Scan(&out).Error; err != nil {
		return nil, pgError("find login identity", err)
	}
	if len(out) == 0 {
		return nil, errUserNotFound
	}
	return &out[0], nil
}

// TouchLastLogin records that the client logged someone in at.
func (s *OIDCGrants) TouchLastLogin(ctx context.Context, clientID uuid.UUID, at time.Time) error {
	return pgError("touch oidc client", s.db.gorm.WithContext(ctx).Exec(
		"UPDATE oidc_clients SET last_login_at = ? WHERE id = ? AND (last_login_at IS NULL OR last_login_at < ?)", at, clientID, at).Error)
}
