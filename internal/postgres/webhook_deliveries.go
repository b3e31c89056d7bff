package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/erhverv/erhverv/internal/domain"
)

// claimQuery takes up to $1 due deliveries no one else holds and pushes
// their next_attempt_at forward by the lease ($2 seconds), all in one
// statement: SKIP LOCKED lets dispatchers of several replicas claim side
// by side, and the lease means a delivery claimed by a process that dies
// is due again once the lease runs out. The change itself is read from the
// audit chain, the same as the feed shows it.
const claimQuery = `
WITH due AS (
    SELECT d.id FROM webhook_deliveries d
    JOIN webhooks w ON w.id = d.webhook_id
    WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND w.active
    ORDER BY d.next_attempt_at
    LIMIT $1
    FOR UPDATE OF d SKIP LOCKED),
claimed AS (
    UPDATE webhook_deliveries d SET next_attempt_at = now() + make_interval(secs => $2)
    FROM due WHERE d.id = due.id
    RETURNING d.id, d.org_id, d.webhook_id, d.event_seq, d.attempts)
SELECT c.id, c.org_id, c.webhook_id, c.attempts, w.url, w.secret,
       e.seq, e.occurred_at, e.actor_label, e.action, e.target_type, e.target_id, e.details::text
FROM claimed c
JOIN webhooks w ON w.id = c.webhook_id
JOIN audit_events e ON e.chain_key = c.org_id AND e.seq = c.event_seq
ORDER BY c.org_id, e.seq`

// ClaimDeliveries hands the dispatcher up to limit due deliveries, each
// held for lease (which must outlast an attempt): until then no other
// dispatcher takes them. The secret is opened for signing.
func (w *Webhooks) ClaimDeliveries(ctx context.Context, limit int, lease time.Duration) ([]domain.OutgoingDelivery, error) {
	if w.db.pii == nil {
		return nil, fmt.Errorf("claim deliveries: no data key configured to open secrets")
	}
	rows, err := w.db.pool.Query(ctx, claimQuery, limit, lease.Seconds())
	if err != nil {
		return nil, pgError("claim deliveries", err)
	}
	var out []domain.OutgoingDelivery
	var d domain.OutgoingDelivery
	var attempts int
	var sealed []byte
	var r feedRow
	_, err = pgx.ForEachRow(rows, []any{&d.ID, &d.OrgID, &d.WebhookID, &attempts, &d.URL, &sealed,
		&r.seq, &r.occurredAt, &r.actor, &r.action, &r.targetType, &r.targetID, &r.details}, func() error {
		secret, err := w.db.pii.Open(sealed)
		if err != nil {
			return fmt.Errorf("open webhook %s secret: %w", d.WebhookID, err)
		}
		e, err := r.toDomain(d.OrgID)
		if err != nil {
			return err
		}
		c := d
		c.Secret, c.Attempt, c.Event = []byte(secret), attempts+1, e
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, pgError("claim deliveries", err)
	}
	return out, nil
}

// maxErrorLen bounds an error kept in the log.
const maxErrorLen = 500

// RecordAttempt logs an attempt of delivery id and moves the delivery on:
// delivered, due again after r.RetryIn, or failed. An attempt that lost
// its claim (its lease ran out and another dispatcher recorded this attempt
// first) or whose webhook was deleted meanwhile is dropped; it returns
// false then.
func (w *Webhooks) RecordAttempt(ctx context.Context, id uuid.UUID, r domain.DeliveryResult) (bool, error) {
	errText := r.Error
	if len(errText) > maxErrorLen {
		errText = errText[:maxErrorLen]
	}
	var code *int
	if r.StatusCode != 0 {
		code = &r.StatusCode
	}
	ms := int(r.Duration.Milliseconds())
	status := domain.DeliveryPending
	switch {
	case r.Delivered:
		status = domain.DeliveryDelivered
	case r.RetryIn <= 0:
		status = domain.DeliveryFailed
	}
	var recorded bool
	err := pgx.BeginFunc(ctx, w.db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE webhook_deliveries SET attempts = $2, status = $3,
			    next_attempt_at = CASE WHEN $3 = 'pending' THEN now() + make_interval(secs => $4) ELSE next_attempt_at END,
			    last_status_code = $5, last_error = $6, last_duration_ms = $7,
			    delivered_at = CASE WHEN $3 = 'delivered' THEN $8::timestamptz END
			WHERE id = $1 AND status = 'pending' AND attempts = $2 - 1`,
			id, r.Attempt, status, r.RetryIn.Seconds(), code, errText, ms, r.AttemptedAt.Add(r.Duration))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		recorded = true
		_, err = tx.Exec(ctx, `INSERT INTO webhook_delivery_attempts (delivery_id, attempt, attempted_at, duration_ms, status_code, error)
			VALUES ($1, $2, $3, $4, $5, $6)`, id, r.Attempt, r.AttemptedAt, ms, code, errText)
		return err
	})
	if err != nil {
		return false, pgError("record delivery attempt", err)
	}
	return recorded, nil
}

// PruneDeliveries deletes up to limit finished deliveries (and their
// attempts) created before cutoff, returning how many: the log is for
// looking into recent trouble, not an archive (the audit log is that).
func (w *Webhooks) PruneDeliveries(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	tag, err := w.db.pool.Exec(ctx, `
		DELETE FROM webhook_deliveries WHERE id IN (
		    SELECT id FROM webhook_deliveries WHERE status <> 'pending' AND created_at < $1 LIMIT $2)`, cutoff, limit)
	if err != nil {
		return 0, pgError("prune deliveries", err)
	}
	return tag.RowsAffected(), nil
}
