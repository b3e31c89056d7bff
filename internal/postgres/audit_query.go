package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/erhverv/erhverv/internal/audit"
	"github.com/erhverv/erhverv/internal/domain"
)

// Page sizes of ListAuditEvents.
const (
	DefaultAuditPageSize = 50
	MaxAuditPageSize     = 500
)

// AuditFilter selects events of one organisation's audit log. Every query
// is confined to OrgID; the platform chain (events of no organisation) is
// never reachable through it.
type AuditFilter struct {
	OrgID uuid.UUID
	// Actor matches the actor's label (case-insensitive, anywhere in it) or,
	// when it is a UUID, the actor's id.
	Actor string
	// Target matches the target's id exactly, or its type ("user"), or the
	// user an event is about (details.user_id: a role or membership of
	// that user).
	Target string
	// Action matches the start of the action, e.g. "user." or "user.created".
	Action string
	// From is inclusive and To exclusive, so a day is [midnight, next midnight).
	From, To *time.Time
	// BeforeSeq, when above zero, continues a listing after the event with
	// that seq (events come newest first). EachAuditEvent ignores it.
	BeforeSeq int64
	// Limit is the page size of ListAuditEvents: DefaultAuditPageSize when
	// zero, at most MaxAuditPageSize. EachAuditEvent ignores it.
	Limit int
}

// AuditChain is one hash chain of the log, for verifying every chain.
type AuditChain struct {
	// OrgID is nil for the platform chain.
	OrgID   *uuid.UUID
	CVR     string
	OrgName string
}

// ListAuditEvents returns a page of the organisation's events matching f,
// newest first, and whether more follow (continue with BeforeSeq set to the
// last event's Seq). Errors: EINVALID when f has no organisation.
func (l *AuditLog) ListAuditEvents(ctx context.Context, f AuditFilter) ([]*domain.AuditEvent, bool, error) {
	q, err := l.auditQuery(ctx, f)
	if err != nil {
		return nil, false, err
	}
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = DefaultAuditPageSize
	case limit > MaxAuditPageSize:
		limit = MaxAuditPageSize
	}
	if f.BeforeSeq > 0 {
		q = q.Where("seq < ?", f.BeforeSeq)
	}
	var rows []auditEventRow
	if err := q.Order("seq DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, false, pgError("list audit events", err)
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	return mapRows(rows, (*auditEventRow).toDomain), more, nil
}

// EachAuditEvent calls fn with every event of the organisation matching f,
// oldest first, reading them through one cursor so an export of any size
// needs constant memory. An error from fn stops the iteration and is
// returned as it is. Errors: EINVALID when f has no organisation.
func (l *AuditLog) EachAuditEvent(ctx context.Context, f AuditFilter, fn func(*domain.AuditEvent) error) error {
	q, err := l.auditQuery(ctx, f)
	if err != nil {
		return err
	}
	rows, err := q.Order("seq").Rows()
	if err != nil {
		return pgError("export audit events", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r auditEventRow
		if err := l.db.gorm.ScanRows(rows, &r); err != nil {
			return pgError("export audit events", err)
		}
		if err := fn(r.toDomain()); err != nil {
			return err
		}
	}
	return pgError("export audit events", rows.Err())
}

// AuditChains lists every chain that has events: the platform chain first,
// then the organisations' by CVR.
func (l *AuditLog) AuditChains(ctx context.Context) ([]AuditChain, error) {
	var rows []struct {
		ChainKey uuid.UUID
		CVR      *string
		Name     *string
	}
	// The heads list every chain appended to through appendAudit; events
	// written past it (without a head) are found by the union and reported
	// broken by VerifyAudit.
	err := l.db.gorm.WithContext(ctx).Raw(`
		SELECT k.chain_key, o.cvr, o.name
		FROM (SELECT chain_key FROM audit_chain_heads UNION SELECT DISTINCT chain_key FROM audit_events) k
		LEFT JOIN organisations o ON o.id = k.chain_key
		ORDER BY (k.chain_key = ?) DESC, o.cvr, k.chain_key`, audit.PlatformChain).Scan(&rows).Error
	if err != nil {
		return nil, pgError("list audit chains", err)
	}
	out := make([]AuditChain, 0, len(rows))
	for _, r := range rows {
		c := AuditChain{CVR: derefString(r.CVR), OrgName: derefString(r.Name)}
		if r.ChainKey != audit.PlatformChain {
			id := r.ChainKey
			c.OrgID = &id
		}
		out = append(out, c)
	}
	return out, nil
}

// auditQuery is the organisation's events matching f, unordered.
func (l *AuditLog) auditQuery(ctx context.Context, f AuditFilter) (*gorm.DB, error) {
	if f.OrgID == uuid.Nil {
		return nil, domain.Invalid("org_id", "audit.org_required", "An audit log query needs an organisation.")
	}
	// chain_key equals org_id for an organisation's events (a check
	// constraint); naming both keeps the platform chain out whatever the
	// planner does, and chain_key lets the (chain_key, seq) index order.
	q := l.db.gorm.WithContext(ctx).Model(&auditEventRow{}).Where("chain_key = ? AND org_id = ?", f.OrgID, f.OrgID)
	if s := strings.TrimSpace(f.Actor); s != "" {
		like := "%" + escapeLike(s) + "%"
		if id, err := uuid.Parse(s); err == nil {
			q = q.Where("(actor_id = ? OR actor_label ILIKE ?)", id, like)
		} else {
			q = q.Where("actor_label ILIKE ?", like)
		}
	}
	if s := strings.TrimSpace(f.Target); s != "" {
		q = q.Where("(target_id = ? OR target_type = ? OR details->>'user_id' = ?)", s, strings.ToLower(s), s)
	}
	if s := strings.TrimSpace(f.Action); s != "" {
		q = q.Where("action LIKE ?", escapeLike(strings.ToLower(s))+"%")
	}
	if f.From != nil {
		q = q.Where("occurred_at >= ?", *f.From)
	}
	if f.To != nil {
		q = q.Where("occurred_at < ?", *f.To)
	}
	if f.From != nil && f.To != nil && !f.From.Before(*f.To) {
		return nil, domain.Invalid("to", "audit.range", fmt.Sprintf("The end (%s) must come after the start (%s).",
			f.To.Format(time.RFC3339), f.From.Format(time.RFC3339)))
	}
	return q, nil
}

func (r *auditEventRow) toDomain() *domain.AuditEvent {
	return &domain.AuditEvent{OrgID: r.OrgID, Seq: r.Seq, OccurredAt: r.OccurredAt, ActorID: r.ActorID,
		ActorLabel: r.ActorLabel, Action: r.Action, TargetType: r.TargetType, TargetID: r.TargetID,
		Details: []byte(r.Details), RequestID: r.RequestID, PrevHash: r.PrevHash, Hash: r.Hash}
}
