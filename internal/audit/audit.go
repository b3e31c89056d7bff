// Package audit defines how an audit event is hashed into its organisation's
// chain. Each event's hash covers the previous event's hash and the event's
// canonical form, so changing, removing or reordering any stored event
// breaks every hash after it. Storage and verification over the database
// live in the postgres package; this package is pure so the rule has one home.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
)

// Genesis is the prev_hash of the first event of every chain.
var Genesis = make([]byte, sha256.Size)

// PlatformChain is the chain key of events that concern no organisation.
var PlatformChain = uuid.Nil

// ChainKey is the chain an event belongs to.
func ChainKey(orgID *uuid.UUID) uuid.UUID {
	if orgID == nil {
		return PlatformChain
	}
	return *orgID
}

// canonicalEvent fixes the field order and formats of the hashed form.
type canonicalEvent struct {
	Chain      string          `json:"chain"`
	Seq        int64           `json:"seq"`
	OccurredAt string          `json:"occurred_at"`
	ActorID    string          `json:"actor_id"`
	ActorLabel string          `json:"actor_label"`
	Action     string          `json:"action"`
	TargetType string          `json:"target_type"`
	TargetID   string          `json:"target_id"`
	Details    json.RawMessage `json:"details"`
	RequestID  string          `json:"request_id"`
}

// Truncate gives a time the precision PostgreSQL stores (microseconds, UTC),
// so the hash computed before storing equals the one recomputed after.
func Truncate(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// CanonicalDetails re-encodes a JSON object with sorted keys and no spaces,
// the form in which details are hashed. jsonb reorders keys, so both sides
// must hash this form, not the bytes they happen to hold.
func CanonicalDetails(raw []byte) (json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return json.RawMessage("{}"), nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("audit details must be a JSON object: %w", err)
	}
	if v == nil {
		v = map[string]any{}
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Hash returns SHA-256(prev || canonical(e)).
func Hash(prev []byte, e *domain.AuditEvent) ([]byte, error) {
	details, err := CanonicalDetails(e.Details)
	if err != nil {
		return nil, err
	}
	c := canonicalEvent{
		Chain: ChainKey(e.OrgID).String(), Seq: e.Seq,
		OccurredAt: Truncate(e.OccurredAt).Format(time.RFC3339Nano),
		ActorLabel: e.ActorLabel, Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID,
		Details: details, RequestID: e.RequestID,
	}
	if e.ActorID != nil {
		c.ActorID = e.ActorID.String()
	}
	body, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write(prev)
	h.Write(body)
	return h.Sum(nil), nil
}
