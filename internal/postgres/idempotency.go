package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/erhverv/erhverv/internal/domain"
)

// IdempotencyWindow is how long a create's answer is kept for retries.
const IdempotencyWindow = 24 * time.Hour

// Errors of Idempotency.Begin, told apart by Key.
var (
	ErrIdempotencyReused = &domain.Error{Code: domain.ECONFLICT, Key: "idempotency.reused",
		Message: "This Idempotency-Key was used for a different request; use a new key for a new request."}
	ErrIdempotencyInUse = &domain.Error{Code: domain.ECONFLICT, Key: "idempotency.in_use",
		Message: "A request with this Idempotency-Key is still being answered; retry in a moment."}
)

// StoredResponse is the first answer to an idempotent request.
type StoredResponse struct {
	Status      int
	ContentType string
	Location    string
	ETag        string
	Body        []byte
}

type idempotencyRow struct {
	ClientID    uuid.UUID `gorm:"primaryKey"`
	Key         string    `gorm:"primaryKey"`
	Method      string
	Path        string
	RequestHash []byte
	Status      *int
	ContentType string
	Location    string
	ETag        string `gorm:"column:etag"`
	Body        []byte
	CreatedAt   time.Time
}

func (idempotencyRow) TableName() string { return "idempotency_keys" }

// Idempotency stores the answers of creates sent with an Idempotency-Key.
type Idempotency struct{ db *DB }

// NewIdempotency returns the store.
func NewIdempotency(db *DB) *Idempotency { return &Idempotency{db: db} }

// Begin claims key for a request. It returns the stored answer when the same
// request was answered before (replay it), nil when the request is new (answer
// it, then Finish or Abandon), ErrIdempotencyReused when the key came with
// another request, and ErrIdempotencyInUse while the first is being answered.
func (s *Idempotency) Begin(ctx context.Context, clientID uuid.UUID, key, method, path string, hash []byte) (*StoredResponse, error) {
	var stored *StoredResponse
	err := s.db.tx(ctx, func(tx *gorm.DB) error {
		now := s.db.Now().UTC()
		if err := tx.Exec("DELETE FROM idempotency_keys WHERE client_id = ? AND key = ? AND created_at < ?",
			clientID, key, now.Add(-IdempotencyWindow)).Error; err != nil {
			return pgError("expire idempotency key", err)
		}
		res := tx.Exec(`INSERT INTO idempotency_keys (client_id, key, method, path, request_hash, created_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, clientID, key, method, path, hash, now)
		if res.Error != nil {
			return pgError("claim idempotency key", res.Error)
		}
		if res.RowsAffected == 1 {
			return nil
		}
		var row idempotencyRow
		if err := tx.Take(&row, "client_id = ? AND key = ?", clientID, key).Error; err != nil {
			return pgError("read idempotency key", err)
		}
		switch {
		case row.Method != method || row.Path != path || !bytes.Equal(row.RequestHash, hash):
			return ErrIdempotencyReused
		case row.Status == nil:
			return ErrIdempotencyInUse
		}
		body, err := s.open(row.Body)
		if err != nil {
			return err
		}
		stored = &StoredResponse{Status: *row.Status, ContentType: row.ContentType, Location: row.Location, ETag: row.ETag, Body: body}
		return nil
	})
	return stored, err
}

// Finish stores the answer to replay for retries. The body is sealed with
// the data key: an answer may carry a one-time activation code.
func (s *Idempotency) Finish(ctx context.Context, clientID uuid.UUID, key string, r StoredResponse) error {
	body, err := s.seal(r.Body)
	if err != nil {
		return err
	}
	err = s.db.gorm.WithContext(ctx).Exec(`UPDATE idempotency_keys SET status = ?, content_type = ?, location = ?, etag = ?, body = ?
		WHERE client_id = ? AND key = ?`, r.Status, r.ContentType, r.Location, r.ETag, body, clientID, key).Error
	return pgError("store idempotent answer", err)
}

func (s *Idempotency) seal(body []byte) ([]byte, error) {
	if s.db.pii == nil {
		return nil, errors.New("idempotency: no data key to seal answers with")
	}
	return s.db.pii.Seal(string(body))
}

func (s *Idempotency) open(sealed []byte) ([]byte, error) {
	if s.db.pii == nil {
		return nil, errors.New("idempotency: no data key to open answers with")
	}
	plain, err := s.db.pii.Open(sealed)
	if err != nil {
		return nil, fmt.Errorf("open idempotent answer: %w", err)
	}
	return []byte(plain), nil
}

// Abandon frees the key after a failure the client may retry (a 5xx).
func (s *Idempotency) Abandon(ctx context.Context, clientID uuid.UUID, key string) error {
	err := s.db.gorm.WithContext(ctx).Exec("DELETE FROM idempotency_keys WHERE client_id = ? AND key = ? AND status IS NULL",
		clientID, key).Error
	return pgError("free idempotency key", err)
}

// SweepIdempotency deletes answers older than the window.
func (s *Idempotency) SweepIdempotency(ctx context.Context) (int64, error) {
	res := s.db.gorm.WithContext(ctx).Exec("DELETE FROM idempotency_keys WHERE created_at < ?", s.db.Now().UTC().Add(-IdempotencyWindow))
	return res.RowsAffected, pgError("sweep idempotency keys", res.Error)
}
