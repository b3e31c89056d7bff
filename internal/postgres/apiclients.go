package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/lib/pq"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/erhverv/erhverv/internal/domain"
)

// SecretPrefix starts every API client secret, so secret scanners and people
// recognise one in a paste.
const SecretPrefix = "erh_"

type apiClientRow struct {
	ID             uuid.UUID `gorm:"primaryKey"`
	OrgID          uuid.UUID
	Name           string
	Scopes         pq.StringArray `gorm:"type:text[]"`
	AuthMethod     string
	SecretHash     []byte
	PublicJWK      *string `gorm:"type:jsonb"`
	RateLimit      int
	CreatedBy      *uuid.UUID
	CreatedByLabel string
	RevokedAt      *time.Time
	RevokedByLabel string
	LastUsedAt     *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (apiClientRow) TableName() string { return "api_clients" }

func (r *apiClientRow) toDomain(withCredentials bool) *domain.APIClient {
	c := &domain.APIClient{ID: r.ID, OrgID: r.OrgID, Name: r.Name, Scopes: []string(r.Scopes), AuthMethod: r.AuthMethod,
		RateLimit: r.RateLimit, CreatedByLabel: r.CreatedByLabel, CreatedAt: r.CreatedAt, RevokedAt: r.RevokedAt,
		RevokedByLabel: r.RevokedByLabel, LastUsedAt: r.LastUsedAt}
	if withCredentials {
		c.SecretHash = r.SecretHash
		if r.PublicJWK != nil {
			c.PublicJWK = []byte(*r.PublicJWK)
		}
	}
	return c
}

// APIClients is the registry of the integrators' API clients.
type APIClients struct{ db *DB }

// NewAPIClients returns the registry.
func NewAPIClients(db *DB) *APIClients { return &APIClients{db: db} }

// NewAPIClient is what an administrator registers.
type NewAPIClient struct {
	OrgID      uuid.UUID
	Name       string
	Scopes     []string
	AuthMethod string
	// PublicJWK is the JSON of the client's public key, for private_key_jwt.
	PublicJWK string
	// RateLimit is requests per second; 0 means domain.DefaultAPIRateLimit.
	RateLimit int
}

// HashSecret is how a client secret is stored and compared: the secret is 32
// random bytes, so a fast hash resists guessing as well as a slow one would,
// and keeps the token endpoint fast.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// ParseClientJWK parses a registered public key: an EC P-256/P-384 or RSA
// (2048 bits or more) public key, never a private one.
func ParseClientJWK(raw string) (*jose.JSONWebKey, error) {
	var k jose.JSONWebKey
	if err := json.Unmarshal([]byte(raw), &k); err != nil {
		return nil, domain.Invalid("public_jwk", "api_client.jwk_parse", "The public key is not a JSON Web Key: paste the JWK of the public key as JSON.")
	}
	if !k.Valid() {
		return nil, domain.Invalid("public_jwk", "api_client.jwk_parse", "The public key is not a valid JSON Web Key.")
	}
	if !k.IsPublic() {
		return nil, domain.Invalid("public_jwk", "api_client.jwk_private", "This is a private key: register only the public key, and keep the private key to yourself.")
	}
	switch k.Algorithm {
	case "", "ES256", "ES384", "RS256", "PS256":
	default:
		return nil, domain.Invalid("public_jwk", "api_client.jwk_alg", "The key's algorithm must be ES256, ES384, RS256 or PS256.")
	}
	if k.Use != "" && k.Use != "sig" {
		return nil, domain.Invalid("public_jwk", "api_client.jwk_use", "The key must be for signatures (\"use\": \"sig\").")
	}
	return &k, nil
}

func (n *NewAPIClient) validate() error {
	var errs domain.ValidationErrors
	n.Name = strings.TrimSpace(n.Name)
	if l := len([]rune(n.Name)); l < 1 || l > 100 {
		errs.Add(domain.Invalid("name", "api_client.name", "Give the client a name of 1 to 100 characters, such as the system that will use it."))
	}
	errs.Add(domain.ValidateAPIScopes("scopes", n.Scopes))
	switch n.AuthMethod {
	case domain.APIAuthSecret:
		if strings.TrimSpace(n.PublicJWK) != "" {
			errs.Add(domain.Invalid("public_jwk", "api_client.jwk_with_secret", "A client with a secret has no public key: leave the key empty or choose private_key_jwt."))
		}
	case domain.APIAuthPrivateKeyJWT:
		if strings.TrimSpace(n.PublicJWK) == "" {
			errs.Add(domain.Invalid("public_jwk", "api_client.jwk_required", "Paste the public key (JWK) the client signs its assertions with."))
		} else if _, err := ParseClientJWK(n.PublicJWK); err != nil {
			errs.Add(err)
		}
	default:
		errs.Add(domain.Invalid("auth_method", "api_client.auth_method", "Choose how the client authenticates: a secret or a signed assertion (private_key_jwt)."))
	}
	if n.RateLimit == 0 {
		n.RateLimit = domain.DefaultAPIRateLimit
	}
	if n.RateLimit < 1 || n.RateLimit > 100000 {
		errs.Add(domain.Invalid("rate_limit", "api_client.rate_limit", "The rate limit must be between 1 and 100000 requests per second."))
	}
	return errs.Err()
}

// Register stores a new client and returns it with its secret (for
// client_secret; "" otherwise), which is never readable again. EINVALID with
// field errors.
func (s *APIClients) Register(ctx context.Context, actor Actor, n NewAPIClient) (*domain.APIClient, string, error) {
	if err := n.validate(); err != nil {
		return nil, "", err
	}
	row := &apiClientRow{ID: uuid.New(), OrgID: n.OrgID, Name: n.Name, Scopes: pq.StringArray(dedupe(n.Scopes)),
		AuthMethod: n.AuthMethod, RateLimit: n.RateLimit, CreatedByLabel: actor.Label}
	if actor.UserID != uuid.Nil {
		id := actor.UserID
		row.CreatedBy = &id
	}
	var secret string
	if n.AuthMethod == domain.APIAuthSecret {
		b := make([]byte, 32)
		_, _ = rand.Read(b) // never fails (crypto/rand)
		secret = SecretPrefix + base64.RawURLEncoding.EncodeToString(b)
		row.SecretHash = HashSecret(secret)
	} else {
		jwk := strings.TrimSpace(n.PublicJWK)
		row.PublicJWK = &jwk
	}
	err := s.db.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(row).Error; err != nil {
			return pgError("create api client", err)
		}
		return appendAudit(tx, s.db.Now().UTC(), actor.event(n.OrgID, "api_client.created", "api_client", row.ID.String(),
			map[string]any{"after": map[string]any{"name": row.Name, "scopes": []string(row.Scopes), "auth_method": row.AuthMethod, "rate_limit": row.RateLimit}}))
	})
	if err != nil {
		return nil, "", err
	}
	return row.toDomain(false), secret, nil
}

func dedupe(xs []string) []string {
	out := make([]string, 0, len(xs))
	seen := map[string]bool{}
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

var errAPIClientNotFound = &domain.Error{Code: domain.ENOTFOUND, Key: "api_client.not_found", Message: "The API client does not exist."}

// List returns the organisation's clients, newest first, revoked ones too.
func (s *APIClients) List(ctx context.Context, orgID uuid.UUID) ([]*domain.APIClient, error) {
	var rows []apiClientRow
	if err := s.db.gorm.WithContext(ctx).Where("org_id = ?", orgID).Order("created_at DESC, id").Find(&rows).Error; err != nil {
		return nil, pgError("list api clients", err)
	}
	out := make([]*domain.APIClient, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain(false)
	}
	return out, nil
}

// Find returns one of the organisation's clients; ENOTFOUND for another's.
func (s *APIClients) Find(ctx context.Context, orgID, id uuid.UUID) (*domain.APIClient, error) {
	var row apiClientRow
	if err := s.db.gorm.WithContext(ctx).Take(&row, "org_id = ? AND id = ?", orgID, id).Error; err != nil {
		return nil, notFoundOr(err, errAPIClientNotFound, "find api client")
	}
	return row.toDomain(false), nil
}

// Revoke stops a client for good: its tokens are refused from then on.
// ENOTFOUND; ECONFLICT when it is revoked already.
func (s *APIClients) Revoke(ctx context.Context, actor Actor, orgID, id uuid.UUID) error {
	return s.db.tx(ctx, func(tx *gorm.DB) error {
		var row apiClientRow
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&row, "org_id = ? AND id = ?", orgID, id).Error; err != nil {
			return notFoundOr(err, errAPIClientNotFound, "find api client")
		}
		if row.RevokedAt != nil {
			return &domain.Error{Code: domain.ECONFLICT, Key: "api_client.revoked", Message: "The API client is revoked already."}
		}
		now := s.db.Now().UTC()
		if err := tx.Model(&row).Updates(map[string]any{"revoked_at": now, "revoked_by_label": actor.Label}).Error; err != nil {
			return pgError("revoke api client", err)
		}
		if err := tx.Exec("SELECT pg_notify('erhverv_api_clients', ?)", id.String()).Error; err != nil {
			return pgError("announce revocation", err)
		}
		return appendAudit(tx, now, actor.event(orgID, "api_client.revoked", "api_client", id.String(),
			map[string]any{"before": map[string]any{"name": row.Name}}))
	})
}

// FindForAuth returns any organisation's client with its credentials, for
// the token endpoint and the bearer check. ENOTFOUND.
func (s *APIClients) FindForAuth(ctx context.Context, id uuid.UUID) (*domain.APIClient, error) {
	var row apiClientRow
	if err := s.db.gorm.WithContext(ctx).Take(&row, "id = ?", id).Error; err != nil {
		return nil, notFoundOr(err, errAPIClientNotFound, "find api client")
	}
	return row.toDomain(true), nil
}

// TouchLastUsed records that the client was used at.
func (s *APIClients) TouchLastUsed(ctx context.Context, id uuid.UUID, at time.Time) error {
	err := s.db.gorm.WithContext(ctx).Exec(
		"UPDATE api_clients SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)", at, id, at).Error
	return pgError("touch api client", err)
}

// UseAssertionJTI records a client assertion's jti; ECONFLICT when the same
// client used it before (a replayed assertion). Expired jtis are swept.
func (s *APIClients) UseAssertionJTI(ctx context.Context, clientID uuid.UUID, jti string, expires time.Time) error {
	return s.db.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("DELETE FROM client_assertion_jtis WHERE client_id = ? AND expires_at < ?", clientID, s.db.Now().UTC()).Error; err != nil {
			return pgError("sweep assertion ids", err)
		}
		res := tx.Exec("INSERT INTO client_assertion_jtis (client_id, jti, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", clientID, jti, expires)
		if res.Error != nil {
			return pgError("record assertion id", res.Error)
		}
		if res.RowsAffected == 0 {
			return &domain.Error{Code: domain.ECONFLICT, Key: "api_client.assertion_replayed", Message: "The client assertion was used before."}
		}
		return nil
	})
}
