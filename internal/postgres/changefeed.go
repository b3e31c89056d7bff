package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/erhverv/erhverv/internal/audit"
	"github.com/erhverv/erhverv/internal/domain"
)

// ChangeFeed is the organisation's change feed for integrators: a
// read-only projection of its audit chain. Every change to users, groups,
// administrator roles, assignments, rights requests and powers of attorney
// is audited in its own transaction, and appends to a chain are serialised
// by the chain head's row lock until commit, so the chain's seq is gapless
// and in commit order: whatever a reader sees up to some seq will never
// grow an earlier event later. That makes "the last seq I handled" a
// complete cursor, with nothing kept per reader.
type ChangeFeed struct{ db *DB }

// NewChangeFeed returns the feed.
func NewChangeFeed(db *DB) *ChangeFeed { return &ChangeFeed{db: db} }

// Page sizes of the feed.
const (
	DefaultFeedLimit = 100
	MaxFeedLimit     = 1000
	// feedScanWindow bounds how many audit events one Read looks at: a
	// long run of events the feed leaves out (logins, exports) is crossed
	// over several reads instead of one long query; next still advances.
	feedScanWindow = 10000
)

// feedQuery reads, in one statement (so one snapshot), up to $3 feed events
// after seq $2 within the scan window, and the last seq of the window that
// exists. The LEFT JOIN keeps the one row carrying that seq when no event
// of the window belongs to the feed. erhverv_feed_action (migration 00013)
// is the one definition of which actions belong to the feed.
const feedQuery = `
WITH top AS (
    SELECT max(seq) AS seq FROM audit_events
    WHERE chain_key = $1 AND seq > $2 AND seq <= $2 + $4)
SELECT top.seq, h.seq, coalesce(h.occurred_at, 'epoch'), coalesce(h.actor_label, ''), coalesce(h.action, ''),
       coalesce(h.target_type, ''), coalesce(h.target_id, ''), coalesce(h.details::text, '{}')
FROM top LEFT JOIN LATERAL (
    SELECT seq, occurred_at, actor_label, action, target_type, target_id, details
    FROM audit_events
    WHERE chain_key = $1 AND seq > $2 AND seq <= $2 + $4 AND erhverv_feed_action(action)
    ORDER BY seq
    LIMIT $3) h ON true
ORDER BY h.seq`

// Read returns up to limit changes of the organisation after seq after, in
// order, and the cursor to read on from: the last seq it looked at, which
// is past events the feed leaves out, so a page of only logins still
// advances. A cursor beyond the chain's end returns nothing and itself.
// limit <= 0 means DefaultFeedLimit; more than MaxFeedLimit is cut down.
// EINVALID for a negative cursor.
func (f *ChangeFeed) Read(ctx context.Context, orgID uuid.UUID, after int64, limit int) ([]domain.ChangeEvent, int64, error) {
	if after < 0 {
		return nil, after, domain.Invalid("after", "feed.cursor", "The cursor is a sequence number of 0 or more.")
	}
	switch {
	case limit <= 0:
		limit = DefaultFeedLimit
	case limit > MaxFeedLimit:
		limit = MaxFeedLimit
	}
	if after > math.MaxInt64-feedScanWindow {
		return nil, after, nil // no chain gets this long; and after + window must not overflow
	}
	rows, err := f.db.pool.Query(ctx, feedQuery, audit.ChainKey(&orgID), after, limit, feedScanWindow)
	if err != nil {
		return nil, after, pgError("read change feed", err)
	}
	next := after
	var events []domain.ChangeEvent
	var top, seq *int64
	var r feedRow
	_, err = pgx.ForEachRow(rows, []any{&top, &seq, &r.occurredAt, &r.actor, &r.action, &r.targetType, &r.targetID, &r.details}, func() error {
		if top != nil {
			next = *top
		}
		if seq == nil {
			return nil
		}
		r.seq = *seq
		e, err := r.toDomain(orgID)
		if err != nil {
			return err
		}
		events = append(events, e)
		return nil
	})
	if err != nil {
		return nil, after, pgError("read change feed", err)
	}
	if len(events) == limit {
		// There may be more within the window: resume right after the last.
		next = events[len(events)-1].Seq
	}
	return events, next, nil
}

// feedRow is an audit event's columns the feed shows.
type feedRow struct {
	seq                                 int64
	occurredAt                          time.Time
	actor, action, targetType, targetID string
	details                             string
}

func (r *feedRow) toDomain(orgID uuid.UUID) (domain.ChangeEvent, error) {
	data, err := feedData(r.details)
	if err != nil {
		return domain.ChangeEvent{}, fmt.Errorf("change %d: %w", r.seq, err)
	}
	return domain.ChangeEvent{Seq: r.seq, ID: domain.ChangeEventID(orgID, r.seq), OrgID: orgID, Type: r.action,
		OccurredAt: r.occurredAt.UTC(), SubjectType: r.targetType, SubjectID: r.targetID, Actor: r.actor, Data: data}, nil
}

// feedData is an event's audit details as they may leave the platform.
// Numbers stay exactly as stored (json.Number).
func feedData(details string) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(details))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("audit details: %w", err)
	}
	if m == nil {
		m = map[string]any{}
	}
	scrub(m)
	return m, nil
}

// cprLike matches a CPR number as it is written (DDMMYY-SSSS). Bare ten
// digits are left alone: P-numbers have ten digits too.
var cprLike = regexp.MustCompile(`^\d{6}-\d{4}$`)

// scrub removes, at any depth, what the audit log keeps for the platform's
// own eyes: the client's IP address (the key "address", which Actor.event
// adds) and anything CPR-like (a key naming a CPR number, a value written
// like one). Audit details never hold a CPR number by design; this is the
// second line of defence for data leaving to third parties.
func scrub(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			lk := strings.ToLower(k)
			if lk == "address" || lk == "ip" || lk == "client_ip" || strings.Contains(lk, "cpr") || cprValue(val) {
				delete(x, k)
				continue
			}
			x[k] = scrub(val)
		}
		return x
	case []any:
		out := x[:0]
		for _, val := range x {
			if !cprValue(val) {
				out = append(out, scrub(val))
			}
		}
		return out
	}
	return v
}

func cprValue(v any) bool {
	s, ok := v.(string)
	return ok && cprLike.MatchString(strings.TrimSpace(s))
}
