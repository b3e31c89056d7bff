package postgres

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"gorm.io/gorm"
)

// SigningKey is one key that signs the API's access tokens.
type SigningKey struct {
	KID        string
	Private    *ecdsa.PrivateKey
	ActiveFrom time.Time
	// RetireAfter, when set, is when the key leaves the JWKS: after the
	// last token it signed has expired.
	RetireAfter *time.Time
}

type signingKeyRow struct {
	KID         string `gorm:"column:kid;primaryKey"`
	Algorithm   string
	PrivateKey  []byte
	PublicJWK   string `gorm:"type:jsonb"`
	ActiveFrom  time.Time
	RetireAfter *time.Time
	CreatedAt   time.Time
}

func (signingKeyRow) TableName() string { return "token_signing_keys" }

// SigningKeys stores the token signing keys, the private halves sealed with
// the data key, so every replica signs and verifies with the same keys.
type SigningKeys struct{ db *DB }

// NewSigningKeys returns the key store; db needs a data key.
func NewSigningKeys(db *DB) *SigningKeys { return &SigningKeys{db: db} }

// Published returns every key not yet retired at now, oldest first: the
// keys a verifier may meet, including one published ahead of its use.
func (s *SigningKeys) Published(ctx context.Context, now time.Time) ([]SigningKey, error) {
	if s.db.pii == nil {
		return nil, errors.New("signing keys: no data key to open them with")
	}
	var rows []signingKeyRow
	if err := s.db.gorm.WithContext(ctx).Where("retire_after IS NULL OR retire_after > ?", now).
		Order("active_from, kid").Find(&rows).Error; err != nil {
		return nil, pgError("list signing keys", err)
	}
	keys := make([]SigningKey, 0, len(rows))
	for _, r := range rows {
		plain, err := s.db.pii.Open(r.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("open signing key %s: %w", r.KID, err)
		}
		der, err := base64.StdEncoding.DecodeString(plain)
		if err != nil {
			return nil, fmt.Errorf("decode signing key %s: %w", r.KID, err)
		}
		k, err := x509.ParseECPrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("parse signing key %s: %w", r.KID, err)
		}
		keys = append(keys, SigningKey{KID: r.KID, Private: k, ActiveFrom: r.ActiveFrom, RetireAfter: r.RetireAfter})
	}
	return keys, nil
}

// EnsureKey creates a key that signs from now when no key is signing yet, so
// a new installation needs no step. Replicas starting together create one
// key between them (an advisory lock serialises them).
func (s *SigningKeys) EnsureKey(ctx context.Context) error {
	return s.db.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtext('erhverv_signing_keys'))").Error; err != nil {
			return pgError("lock signing keys", err)
		}
		now := s.db.Now().UTC()
		var n int64
		if err := tx.Model(&signingKeyRow{}).Where("active_from <= ? AND (retire_after IS NULL OR retire_after > ?)", now, now).
			Count(&n).Error; err != nil {
			return pgError("count signing keys", err)
		}
		if n > 0 {
			return nil
		}
		_, err := s.createTx(tx, now)
		return err
	})
}

// Rotate publishes a new key now that starts signing after publishAhead (so
// every verifier's cached JWKS has it first), and retires the keys it
// replaces once the last token they sign has expired. Returns the new key's id.
func (s *SigningKeys) Rotate(ctx context.Context, publishAhead, tokenLifetime time.Duration) (string, error) {
	var kid string
	err := s.db.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtext('erhverv_signing_keys'))").Error; err != nil {
			return pgError("lock signing keys", err)
		}
		activeFrom := s.db.Now().UTC().Add(publishAhead)
		retire := activeFrom.Add(tokenLifetime)
		if err := tx.Exec("UPDATE token_signing_keys SET retire_after = ? WHERE retire_after IS NULL AND active_from < ?",
			retire, activeFrom).Error; err != nil {
			return pgError("retire signing keys", err)
		}
		var err error
		kid, err = s.createTx(tx, activeFrom)
		if err != nil {
			return err
		}
		return tx.Exec("SELECT pg_notify('erhverv_signing_keys', ?)", kid).Error
	})
	return kid, err
}

func (s *SigningKeys) createTx(tx *gorm.DB, activeFrom time.Time) (string, error) {
	if s.db.pii == nil {
		return "", errors.New("signing keys: no data key to seal them with")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", fmt.Errorf("generate signing key: %w", err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", fmt.Errorf("encode signing key: %w", err)
	}
	sealed, err := s.db.pii.Seal(base64.StdEncoding.EncodeToString(der))
	if err != nil {
		return "", fmt.Errorf("seal signing key: %w", err)
	}
	kidBytes := make([]byte, 12)
	_, _ = rand.Read(kidBytes)
	kid := base64.RawURLEncoding.EncodeToString(kidBytes)
	pub, err := json.Marshal(jose.JSONWebKey{Key: &key.PublicKey, KeyID: kid, Algorithm: "ES256", Use: "sig"})
	if err != nil {
		return "", fmt.Errorf("encode public key: %w", err)
	}
	row := &signingKeyRow{KID: kid, Algorithm: "ES256", PrivateKey: sealed, PublicJWK: string(pub), ActiveFrom: activeFrom}
	if err := tx.Create(row).Error; err != nil {
		return "", pgError("store signing key", err)
	}
	return kid, nil
}
