package postgres

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/erhverv/erhverv/internal/audit"
	"github.com/erhverv/erhverv/internal/domain"
)

type auditEventRow struct {
	ID         int64 `gorm:"->"` // generated always as identity: never written
	OrgID      *uuid.UUID
	ChainKey   uuid.UUID
	Seq        int64
	OccurredAt time.Time
	ActorID    *uuid.UUID
	ActorLabel string
	Action     string
	TargetType string
	TargetID   string
	Details    jsonb
	RequestID  string
	PrevHash   []byte
	Hash       []byte
}

func (auditEventRow) TableName() string { return "audit_events" }

type auditChainHeadRow struct {
	ChainKey  uuid.UUID
	Seq       int64
	Hash      []byte
	UpdatedAt time.Time
}

func (auditChainHeadRow) TableName() string { return "audit_chain_heads" }

// AuditLog implements domain.AuditLog.
type AuditLog struct{ db *DB }

var _ domain.AuditLog = (*AuditLog)(nil)

// NewAuditLog returns the audit log.
func NewAuditLog(db *DB) *AuditLog { return &AuditLog{db: db} }

// AppendAudit implements domain.AuditLog in a transaction of its own.
// Services that change data append inside their own transaction instead
// (appendAudit), so the change and its record commit together.
func (l *AuditLog) AppendAudit(ctx context.Context, e *domain.AuditEvent) error {
	return l.db.tx(ctx, func(tx *gorm.DB) error { return appendAudit(tx, l.db.Now(), e) })
}

// appendAudit adds e at the end of its chain. The chain head row is locked
// for the rest of the transaction, which serialises appends per chain.
func appendAudit(tx *gorm.DB, now time.Time, e *domain.AuditEvent) error {
	key := audit.ChainKey(e.OrgID)
	// Create the head on first use; ON CONFLICT keeps concurrent first
	// appends from failing, and the lock below orders them.
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&auditChainHeadRow{ChainKey: key, Seq: 0, Hash: audit.Genesis, UpdatedAt: now}).Error; err != nil {
		return pgError("audit chain head", err)
	}
	var head auditChainHeadRow
	if err := tx.Clauses(forUpdate).Take(&head, "chain_key = ?", key).Error; err != nil {
		return pgError("audit chain head", err)
	}
	if e.OccurredAt.IsZero() {
		e.OccurredAt = now
	}
	e.OccurredAt = audit.Truncate(e.OccurredAt)
	details, err := audit.CanonicalDetails(e.Details)
	if err != nil {
		return domain.Invalid("details", "audit.details", err.Error())
	}
	// Hash the details as jsonb will give them back (it rewrites numbers
	// such as 1e3 as 1000), or verification would recompute another hash.
	var stored string
	if err := tx.Raw("SELECT ?::jsonb::text", string(details)).Scan(&stored).Error; err != nil {
		return pgError("normalise audit details", err)
	}
	if details, err = audit.CanonicalDetails([]byte(stored)); err != nil {
		return err
	}
	e.Details, e.Seq, e.PrevHash = details, head.Seq+1, head.Hash
	if e.Hash, err = audit.Hash(e.PrevHash, e); err != nil {
		return err
	}
	row := &auditEventRow{OrgID: e.OrgID, ChainKey: key, Seq: e.Seq, OccurredAt: e.OccurredAt, ActorID: e.ActorID,
		ActorLabel: e.ActorLabel, Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID,
		Details: jsonb(details), RequestID: e.RequestID, PrevHash: e.PrevHash, Hash: e.Hash}
	if err := tx.Omit("ID").Create(row).Error; err != nil {
		return pgError("append audit event", err)
	}
	return pgError("advance audit chain head", tx.Model(&auditChainHeadRow{}).Where("chain_key = ?", key).
		Updates(map[string]any{"seq": e.Seq, "hash": e.Hash, "updated_at": now}).Error)
}

// VerifyAudit implements domain.AuditLog: it recomputes every hash of the
// chain in order, in batches, and reports the first event that does not fit.
func (l *AuditLog) VerifyAudit(ctx context.Context, orgID *uuid.UUID) (domain.AuditVerification, error) {
	key := audit.ChainKey(orgID)
	prev := audit.Genesis
	var v domain.AuditVerification
	var lastSeq int64
	// The head is read first: events appended while we verify lie beyond it
	// and are left for the next verification instead of looking like a break.
	var head auditChainHeadRow
	err := l.db.gorm.WithContext(ctx).Take(&head, "chain_key = ?", key).Error
	headMissing := errors.Is(err, gorm.ErrRecordNotFound)
	if err != nil && !headMissing {
		return v, pgError("verify audit chain", err)
	}
	for {
		var rows []auditEventRow
		err := l.db.gorm.WithContext(ctx).Where("chain_key = ? AND seq > ? AND seq <= ?", key, lastSeq, head.Seq).Order("seq").Limit(1000).Find(&rows).Error
		if err != nil {
			return v, pgError("verify audit chain", err)
		}
		for _, r := range rows {
			e := &domain.AuditEvent{OrgID: r.OrgID, Seq: r.Seq, OccurredAt: r.OccurredAt, ActorID: r.ActorID,
				ActorLabel: r.ActorLabel, Action: r.Action, TargetType: r.TargetType, TargetID: r.TargetID,
				Details: []byte(r.Details), RequestID: r.RequestID}
			want, err := audit.Hash(prev, e)
			if err != nil {
				return v, err
			}
			if r.Seq != lastSeq+1 || !bytes.Equal(r.PrevHash, prev) || !bytes.Equal(r.Hash, want) {
				v.BrokenAt = lastSeq + 1
				return v, nil
			}
			prev, lastSeq = r.Hash, r.Seq
			v.Events++
		}
		if len(rows) < 1000 {
			break
		}
	}
	// A chain cut short at its end leaves the head ahead of the last event;
	// events without a head are rows nobody appended through the chain.
	switch {
	case headMissing:
		var n int64
		if err := l.db.gorm.WithContext(ctx).Model(&auditEventRow{}).Where("chain_key = ?", key).Count(&n).Error; err != nil {
			return v, pgError("verify audit chain", err)
		}
		if n != 0 {
			v.BrokenAt = 1
			return v, nil
		}
	case head.Seq != lastSeq || !bytes.Equal(head.Hash, prev):
		v.BrokenAt = lastSeq + 1
		return v, nil
	}
	v.OK = true
	return v, nil
}
