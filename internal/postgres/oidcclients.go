package postgres

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/lib/pq"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/erhverv/erhverv/internal/domain"
)

// OIDCSecretPrefix starts every OIDC client secret, so secret scanners and
// people recognise one in a paste (and tell it from an API client's).
const OIDCSecretPrefix = "erhsp_"

type oidcClientRow struct {
	ID                     uuid.UUID `gorm:"primaryKey"`
	OrgID                  uuid.UUID
	ITSystemID             uuid.UUID `gorm:"column:it_system_id"`
	Name                   string
	RedirectURIs           pq.StringArray `gorm:"column:redirect_uris;type:text[]"`
	PostLogoutRedirectURIs pq.StringArray `gorm:"column:post_logout_redirect_uris;type:text[]"`
	AuthMethod             string
	SecretHash             []byte
	PublicJWK              *string `gorm:"column:public_jwk;type:jsonb"`
	MinLevel               string
	ClaimStyle             string
	CreatedBy              *uuid.UUID
	CreatedByLabel         string
	RevokedAt              *time.Time
	RevokedByLabel         string
	LastLoginAt            *time.Time
	CreatedAt              time.Time
	UpdatedAt              time.Time
	// ITSystemName and OrgName are read with a join, never written.
	ITSystemName string `gorm:"column:it_system_name;->"`
	OrgName      string `gorm:"column:org_name;->"`
}

func (oidcClientRow) TableName() string { return "oidc_clients" }

func (r *oidcClientRow) toDomain(withCredentials bool) *domain.OIDCClient {
	c := &domain.OIDCClient{ID: r.ID, OrgID: r.OrgID, ITSystemID: r.ITSystemID, ITSystemName: r.ITSystemName, OrgName: r.OrgName, Name: r.Name,
		RedirectURIs: slices.Clone([]string(r.RedirectURIs)), PostLogoutRedirectURIs: slices.Clone([]string(r.PostLogoutRedirectURIs)),
		AuthMethod: r.AuthMethod, MinLevel: r.MinLevel, ClaimStyle: r.ClaimStyle, CreatedByLabel: r.CreatedByLabel,
		CreatedAt: r.CreatedAt, RevokedAt: r.RevokedAt, RevokedByLabel: r.RevokedByLabel, LastLoginAt: r.LastLoginAt}
	if withCredentials {
		c.SecretHash = r.SecretHash
		if r.PublicJWK != nil {
			c.PublicJWK = []byte(*r.PublicJWK)
		}
	}
	return c
}

// OIDCClients is the registry of the OIDC clients service providers
// register for their IT systems.
type OIDCClients struct{ db *DB }

// NewOIDCClients returns the registry.
func NewOIDCClients(db *DB) *OIDCClients { return &OIDCClients{db: db} }

// NewOIDCClient is what a service provider's administrator registers.
type NewOIDCClient struct {
	OrgID                  uuid.UUID
	ITSystemID             uuid.UUID
	Name                   string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	AuthMethod             string
	// PublicJWK is the JSON of the client's public key, for private_key_jwt.
	PublicJWK  string
	MinLevel   string // domain.LoA*; "" means substantial
	ClaimStyle string // domain.ClaimStyle*; "" means OIOSAML 3
}

func (n *NewOIDCClient) validate() error {
	var errs domain.ValidationErrors
	n.Name = strings.TrimSpace(n.Name)
	if l := len([]rune(n.Name)); l < 1 || l > 100 {
		errs.Add(domain.Invalid("name", "oidc_client.name", "Give the client a name of 1 to 100 characters, such as the environment it is for (production, test)."))
	}
	if n.ITSystemID == uuid.Nil {
		errs.Add(domain.Invalid("it_system", "oidc_client.it_system", "Choose the IT system the client logs people in to."))
	}
	n.RedirectURIs = cleanURIs(n.RedirectURIs)
	n.PostLogoutRedirectURIs = cleanURIs(n.PostLogoutRedirectURIs)
	switch {
	case len(n.RedirectURIs) == 0:
		errs.Add(domain.Invalid("redirect_uris", "oidc_client.redirect_uris_required", "Give at least one redirect URI: the address in the service that receives the login."))
	case len(n.RedirectURIs) > 10:
		errs.Add(domain.Invalid("redirect_uris", "oidc_client.redirect_uris_many", "Give at most 10 redirect URIs."))
	}
	for _, u := range n.RedirectURIs {
		if err := domain.ValidateRedirectURI("redirect_uris", u); err != nil {
			errs.Add(err)
			break
		}
	}
	if len(n.PostLogoutRedirectURIs) > 10 {
		errs.Add(domain.Invalid("post_logout_redirect_uris", "oidc_client.post_logout_many", "Give at most 10 addresses to return to after logout."))
	}
	for _, u := range n.PostLogoutRedirectURIs {
		if err := domain.ValidateRedirectURI("post_logout_redirect_uris", u); err != nil {
			errs.Add(domain.Invalid("post_logout_redirect_uris", "oidc_client.post_logout_uri",
				"Each address to return to after logout must be an absolute https address without a fragment (http only for localhost)."))
			break
		}
	}
	switch n.AuthMethod {
	case domain.OIDCAuthSecretBasic, domain.OIDCAuthNone:
		if strings.TrimSpace(n.PublicJWK) != "" {
			errs.Add(domain.Invalid("public_jwk", "oidc_client.jwk_unused", "Only a client using private_key_jwt has a public key: leave the key empty or choose private_key_jwt."))
		}
	case domain.OIDCAuthPrivateKeyJWT:
		if strings.TrimSpace(n.PublicJWK) == "" {
			errs.Add(domain.Invalid("public_jwk", "oidc_client.jwk_required", "Paste the public key (JWK) the service signs its client assertions with."))
		} else if _, err := ParseClientJWK(n.PublicJWK); err != nil {
			errs.Add(err)
		}
	default:
		errs.Add(domain.Invalid("auth_method", "oidc_client.auth_method", "Choose how the service authenticates: a secret (client_secret_basic), a signed assertion (private_key_jwt) or none (a public client with PKCE)."))
	}
	if n.MinLevel == "" {
		n.MinLevel = domain.LoASubstantial
	}
	if domain.LoARank(n.MinLevel) == 0 {
		errs.Add(domain.Invalid("min_level", "oidc_client.min_level", "The minimum assurance level is low, substantial or high."))
	}
	if n.ClaimStyle == "" {
		n.ClaimStyle = domain.ClaimStyleOIOSAML3
	}
	if n.ClaimStyle != domain.ClaimStyleOIOSAML3 && n.ClaimStyle != domain.ClaimStyleShort {
		errs.Add(domain.Invalid("claim_style", "oidc_client.claim_style", "Choose the claim names: OIOSAML 3 or short."))
	}
	return errs.Err()
}

// cleanURIs trims each URI, drops empty lines and repeats, keeping order.
func cleanURIs(in []string) []string {
	out := make([]string, 0, len(in))
	for _, u := range in {
		u = strings.TrimSpace(u)
		if u != "" && !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

var errOIDCClientNotFound = &domain.Error{Code: domain.ENOTFOUND, Key: "oidc_client.not_found", Message: "The OIDC client does not exist."}

// Register stores a new client for one of the organisation's own IT systems
// and returns it with its secret (for client_secret_basic; "" otherwise),
// which is never readable again. EINVALID with field errors, also for an IT
// system the organisation does not own or has retired.
func (s *OIDCClients) Register(ctx context.Context, actor Actor, n NewOIDCClient) (*domain.OIDCClient, string, error) {
	if err := n.validate(); err != nil {
		return nil, "", err
	}
	row := &oidcClientRow{ID: uuid.New(), OrgID: n.OrgID, ITSystemID: n.ITSystemID, Name: n.Name,
		RedirectURIs: pq.StringArray(n.RedirectURIs), PostLogoutRedirectURIs: pq.StringArray(n.PostLogoutRedirectURIs),
		AuthMethod: n.AuthMethod, MinLevel: n.MinLevel, ClaimStyle: n.ClaimStyle, CreatedByLabel: actor.Label, CreatedBy: actor.userRef()}
	var secret string
	switch n.AuthMethod {
	case domain.OIDCAuthSecretBasic:
		b := make([]byte, 32)
		_, _ = rand.Read(b) // never fails (crypto/rand)
		secret = OIDCSecretPrefix + base64.RawURLEncoding.EncodeToString(b)
		row.SecretHash = HashSecret(secret)
	case domain.OIDCAuthPrivateKeyJWT:
		jwk := strings.TrimSpace(n.PublicJWK)
		row.PublicJWK = &jwk
	}
	err := s.db.tx(ctx, func(tx *gorm.DB) error {
		var system struct {
			Name   string
			Status string
		}
		res := tx.Raw("SELECT name, status FROM it_systems WHERE org_id = ? AND id = ?", n.OrgID, n.ITSystemID).Scan(&system)
		if res.Error != nil {
			return pgError("find it system", res.Error)
		}
		if res.RowsAffected == 0 || system.Status != "active" {
			return domain.Invalid("it_system", "oidc_client.it_system", "Choose one of your organisation's active IT systems.")
		}
		row.ITSystemName = system.Name
		if err := tx.Omit("it_system_name", "org_name").Create(row).Error; err != nil {
			return pgError("create oidc client", err)
		}
		return appendAudit(tx, s.db.Now().UTC(), actor.event(n.OrgID, "oidc_client.created", "oidc_client", row.ID.String(),
			map[string]any{"after": map[string]any{"name": row.Name, "it_system": system.Name, "redirect_uris": n.RedirectURIs,
				"post_logout_redirect_uris": n.PostLogoutRedirectURIs, "auth_method": row.AuthMethod,
				"min_level": row.MinLevel, "claim_style": row.ClaimStyle}}))
	})
	if err != nil {
		return nil, "", err
	}
	return row.toDomain(false), secret, nil
}

func (s *OIDCClients) query(ctx context.Context) *gorm.DB {
	return s.db.gorm.WithContext(ctx).Table("oidc_clients c").
		Select("c.*, s.name AS it_system_name, o.name AS org_name").
		Joins("JOIN it_systems s ON s.id = c.it_system_id").Joins("JOIN organisations o ON o.id = c.org_id")
}

// List returns the organisation's clients, newest first, revoked ones too.
func (s *OIDCClients) List(ctx context.Context, orgID uuid.UUID) ([]*domain.OIDCClient, error) {
	var rows []oidcClientRow
	if err := s.query(ctx).Where("c.org_id = ?", orgID).Order("c.created_at DESC, c.id").Find(&rows).Error; err != nil {
		return nil, pgError("list oidc clients", err)
	}
	out := make([]*domain.OIDCClient, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain(false)
	}
	return out, nil
}

// Find returns one of the organisation's clients; ENOTFOUND for another's.
func (s *OIDCClients) Find(ctx context.Context, orgID, id uuid.UUID) (*domain.OIDCClient, error) {
	var row oidcClientRow
	if err := s.query(ctx).Where("c.org_id = ? AND c.id = ?", orgID, id).Take(&row).Error; err != nil {
		return nil, notFoundOr(err, errOIDCClientNotFound, "find oidc client")
	}
	return row.toDomain(false), nil
}

// Revoke stops a client for good: it logs no one in from then on, and its
// tokens are refused. ENOTFOUND; ECONFLICT when it is revoked already.
func (s *OIDCClients) Revoke(ctx context.Context, actor Actor, orgID, id uuid.UUID) error {
	return s.db.tx(ctx, func(tx *gorm.DB) error {
		var row oidcClientRow
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Omit("it_system_name", "org_name").
			Take(&row, "org_id = ? AND id = ?", orgID, id).Error; err != nil {
			return notFoundOr(err, errOIDCClientNotFound, "find oidc client")
		}
		if row.RevokedAt != nil {
			return &domain.Error{Code: domain.ECONFLICT, Key: "oidc_client.revoked", Message: "The OIDC client is revoked already."}
		}
		now := s.db.Now().UTC()
		if err := tx.Table("oidc_clients").Where("id = ?", id).
			Updates(map[string]any{"revoked_at": now, "revoked_by_label": actor.Label}).Error; err != nil {
			return pgError("revoke oidc client", err)
		}
		if err := tx.Exec("UPDATE oidc_grants SET revoked_at = ? WHERE client_id = ? AND revoked_at IS NULL", now, id).Error; err != nil {
			return pgError("revoke oidc client's tokens", err)
		}
		return appendAudit(tx, now, actor.event(orgID, "oidc_client.revoked", "oidc_client", id.String(),
			map[string]any{"before": map[string]any{"name": row.Name}}))
	})
}

// FindForLogin returns any organisation's client with its credentials, for
// the provider's endpoints. ENOTFOUND.
func (s *OIDCClients) FindForLogin(ctx context.Context, id uuid.UUID) (*domain.OIDCClient, error) {
	var row oidcClientRow
	if err := s.query(ctx).Where("c.id = ?", id).Take(&row).Error; err != nil {
		return nil, notFoundOr(err, errOIDCClientNotFound, "find oidc client")
	}
	return row.toDomain(true), nil
}

// UseAssertionJTI records a client assertion's jti; ECONFLICT when the same
// client used it before (a replayed assertion). Expired jtis are swept.
func (s *OIDCClients) UseAssertionJTI(ctx context.Context, clientID uuid.UUID, jti string, expires time.Time) error {
	return s.db.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM oidc_assertion_jtis WHERE client_id = ? AND expires_at < ?", clientID, s.db.Now().UTC()).Error; err != nil {
			return pgError("sweep assertion ids", err)
		}
		res := tx.Exec("INSERT INTO oidc_assertion_jtis (client_id, jti, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", clientID, jti, expires)
		if res.Error != nil {
			return pgError("record assertion id", res.Error)
		}
		if res.RowsAffected == 0 {
			return &domain.Error{Code: domain.ECONFLICT, Key: "oidc_client.assertion_replayed", Message: "The client assertion was used before."}
		}
		return nil
	})
}
