package postgres

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/lib/pq"
	"gorm.io/gorm"

	"github.com/erhverv/erhverv/internal/domain"
)

// WebhookSecretPrefix starts every webhook secret, so people and secret
// scanners recognise one (and tell it from an API client's "erh_").
const WebhookSecretPrefix = "whsec_"

type webhookRow struct {
	ID             uuid.UUID `gorm:"primaryKey"`
	OrgID          uuid.UUID
	URL            string
	Secret         []byte
	EventTypes     pq.StringArray `gorm:"type:text[]"`
	Active         bool
	CreatedByLabel string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (webhookRow) TableName() string { return "webhooks" }

func (r *webhookRow) toDomain() *domain.Webhook {
	types := []string(r.EventTypes)
	if types == nil {
		types = []string{}
	}
	return &domain.Webhook{ID: r.ID, OrgID: r.OrgID, URL: r.URL, EventTypes: types, Active: r.Active,
		CreatedByLabel: r.CreatedByLabel, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// Webhooks is the registry of the organisations' webhooks and their
// deliveries. Deliveries are enqueued by the database itself, in the
// transaction of the change (migration 00013's trigger on audit_events);
// this type manages subscriptions, shows the delivery log and hands due
// deliveries to the dispatcher (webhook_deliveries.go).
type Webhooks struct {
	db *DB
	// AllowHTTP accepts http:// URLs besides https://, for development
	// against a local receiver. Set it before first use.
	AllowHTTP bool
}

// NewWebhooks returns the registry; it accepts https URLs only.
func NewWebhooks(db *DB) *Webhooks { return &Webhooks{db: db} }

var errWebhookNotFound = &domain.Error{Code: domain.ENOTFOUND, Key: "webhook.not_found", Message: "The webhook does not exist."}

// Create subscribes url to the organisation's changes of eventTypes (all
// when empty) and returns the webhook with its signing secret, which is
// never readable again: the platform keeps it sealed with the data key.
// EINVALID with field errors ("url", "event_types"); ECONFLICT when the
// organisation has domain.MaxWebhooksPerOrg webhooks already.
func (w *Webhooks) Create(ctx context.Context, actor Actor, orgID uuid.UUID, url string, eventTypes []string) (*domain.Webhook, string, error) {
	url = strings.TrimSpace(url)
	var errs domain.ValidationErrors
	errs.Add(domain.ValidateWebhookURL("url", url, w.AllowHTTP))
	types, err := domain.ValidateWebhookEventTypes("event_types", eventTypes)
	errs.Add(err)
	if err := errs.Err(); err != nil {
		return nil, "", err
	}
	if w.db.pii == nil {
		return nil, "", errors.New("create webhook: no data key configured to seal the secret")
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	secret := WebhookSecretPrefix + base64.RawURLEncoding.EncodeToString(b)
	sealed, err := w.db.pii.Seal(secret)
	if err != nil {
		return nil, "", err
	}
	row := &webhookRow{ID: uuid.New(), OrgID: orgID, URL: url, Secret: sealed, EventTypes: pq.StringArray(types),
		Active: true, CreatedByLabel: actor.Label}
	err = w.db.tx(ctx, func(tx *gorm.DB) error {
		// Serialise creates per organisation so the cap holds.
		if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtextextended('webhooks:' || ?::text, 0))", orgID).Error; err != nil {
			return pgError("lock webhooks", err)
		}
		var n int64
		if err := tx.Model(&webhookRow{}).Where("org_id = ?", orgID).Count(&n).Error; err != nil {
			return pgError("count webhooks", err)
		}
		if n >= domain.MaxWebhooksPerOrg {
			return &domain.Error{Code: domain.ECONFLICT, Key: "webhook.too_many",
				Message: "The organisation has 20 webhooks already; delete one it no longer needs first."}
		}
		if err := tx.Create(row).Error; err != nil {
			return pgError("create webhook", err)
		}
		return appendAudit(tx, w.db.Now().UTC(), actor.event(orgID, "webhook.created", "webhook", row.ID.String(),
			map[string]any{"after": map[string]any{"url": row.URL, "event_types": types}}))
	})
	if err != nil {
		return nil, "", err
	}
	// Read back for the database's timestamps.
	hook, err := w.Find(ctx, orgID, row.ID)
	if err != nil {
		return nil, "", err
	}
	return hook, secret, nil
}

// List returns the organisation's webhooks, oldest first (there are at
// most domain.MaxWebhooksPerOrg).
func (w *Webhooks) List(ctx context.Context, orgID uuid.UUID) ([]*domain.Webhook, error) {
	var rows []webhookRow
	if err := w.db.gorm.WithContext(ctx).Where("org_id = ?", orgID).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, pgError("list webhooks", err)
	}
	return mapRows(rows, (*webhookRow).toDomain), nil
}

// Find returns one of the organisation's webhooks; ENOTFOUND for an
// unknown one and for another organisation's.
func (w *Webhooks) Find(ctx context.Context, orgID, id uuid.UUID) (*domain.Webhook, error) {
	var row webhookRow
	if err := w.db.gorm.WithContext(ctx).Take(&row, "org_id = ? AND id = ?", orgID, id).Error; err != nil {
		return nil, notFoundOr(err, errWebhookNotFound, "find webhook")
	}
	return row.toDomain(), nil
}

// Delete removes a webhook with its delivery log: nothing more is sent to
// it, not even deliveries still pending. The audit log keeps that it was
// there. ENOTFOUND.
func (w *Webhooks) Delete(ctx context.Context, actor Actor, orgID, id uuid.UUID) error {
	return w.db.tx(ctx, func(tx *gorm.DB) error {
		var row webhookRow
		if err := tx.Clauses(forUpdate).Take(&row, "org_id = ? AND id = ?", orgID, id).Error; err != nil {
			return notFoundOr(err, errWebhookNotFound, "find webhook")
		}
		if err := tx.Delete(&webhookRow{}, "org_id = ? AND id = ?", orgID, id).Error; err != nil {
			return pgError("delete webhook", err)
		}
		types := []string(row.EventTypes)
		if types == nil {
			types = []string{}
		}
		return appendAudit(tx, w.db.Now().UTC(), actor.event(orgID, "webhook.deleted", "webhook", id.String(),
			map[string]any{"before": map[string]any{"url": row.URL, "event_types": types}}))
	})
}

// Page sizes of the delivery log.
const (
	DefaultDeliveryLimit = 50
	MaxDeliveryLimit     = 200
)

// ListDeliveries returns a page of a webhook's deliveries, newest change
// first, each with every attempt; before is the cursor (0 for the newest
// page: the event seq of the last delivery of the previous page), and next
// is the cursor of the following page, 0 when there is none. ENOTFOUND for
// another organisation's webhook.
func (w *Webhooks) ListDeliveries(ctx context.Context, orgID, webhookID uuid.UUID, before int64, limit int) ([]domain.WebhookDelivery, int64, error) {
	switch {
	case limit <= 0:
		limit = DefaultDeliveryLimit
	case limit > MaxDeliveryLimit:
		limit = MaxDeliveryLimit
	}
	if before < 0 {
		return nil, 0, domain.Invalid("cursor", "webhook.cursor", "The cursor is not valid.")
	}
	if _, err := w.Find(ctx, orgID, webhookID); err != nil {
		return nil, 0, err
	}
	rows, err := w.db.pool.Query(ctx, `
		SELECT id, event_seq, event_type, status, attempts, next_attempt_at, last_status_code, last_error,
		       last_duration_ms, delivered_at, created_at
		FROM webhook_deliveries
		WHERE org_id = $1 AND webhook_id = $2 AND ($3 = 0 OR event_seq < $3)
		ORDER BY event_seq DESC
		LIMIT $4`, orgID, webhookID, before, limit+1)
	if err != nil {
		return nil, 0, pgError("list deliveries", err)
	}
	var out []domain.WebhookDelivery
	var d domain.WebhookDelivery
	var next time.Time
	_, err = pgx.ForEachRow(rows, []any{&d.ID, &d.EventSeq, &d.EventType, &d.Status, &d.Attempts, &next,
		&d.LastStatusCode, &d.LastError, &d.LastDurationMS, &d.DeliveredAt, &d.CreatedAt}, func() error {
		c := d // pgx may reuse what the pointers point at: copy them
		c.LastStatusCode, c.LastDurationMS, c.DeliveredAt = clonePtr(d.LastStatusCode), clonePtr(d.LastDurationMS), clonePtr(d.DeliveredAt)
		c.WebhookID, c.EventID = webhookID, domain.ChangeEventID(orgID, d.EventSeq)
		if c.Status == domain.DeliveryPending {
			at := next
			c.NextAttemptAt = &at
		}
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, 0, pgError("list deliveries", err)
	}
	var cursor int64
	if len(out) > limit {
		out = out[:limit]
		cursor = out[limit-1].EventSeq
	}
	if err := w.attachAttempts(ctx, out); err != nil {
		return nil, 0, err
	}
	return out, cursor, nil
}

// attachAttempts loads the attempts of ds in one query.
func (w *Webhooks) attachAttempts(ctx context.Context, ds []domain.WebhookDelivery) error {
	if len(ds) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(ds))
	at := make(map[uuid.UUID]int, len(ds))
	for i, d := range ds {
		ids[i], at[d.ID] = d.ID, i
	}
	rows, err := w.db.pool.Query(ctx, `
		SELECT delivery_id, attempt, attempted_at, duration_ms, status_code, error
		FROM webhook_delivery_attempts WHERE delivery_id = ANY($1) ORDER BY delivery_id, attempt`, ids)
	if err != nil {
		return pgError("list delivery attempts", err)
	}
	var id uuid.UUID
	var a domain.WebhookAttempt
	_, err = pgx.ForEachRow(rows, []any{&id, &a.Attempt, &a.AttemptedAt, &a.DurationMS, &a.StatusCode, &a.Error}, func() error {
		c := a
		c.StatusCode = clonePtr(a.StatusCode)
		ds[at[id]].Log = append(ds[at[id]].Log, c)
		return nil
	})
	return pgError("list delivery attempts", err)
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
