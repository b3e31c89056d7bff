package audit_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/audit"
	"github.com/erhverv/erhverv/internal/domain"
)

func event() *domain.AuditEvent {
	org := uuid.MustParse("11111111-1111-1111-1111-111111111111")
	return &domain.AuditEvent{OrgID: &org, Seq: 1, OccurredAt: time.Date(2026, 1, 2, 3, 4, 5, 6789, time.UTC),
		Action: "user.create", TargetType: "user", TargetID: "x", Details: json.RawMessage(`{"b":1,"a":"x"}`)}
}

func TestHashIgnoresKeyOrderAndSubMicroseconds(t *testing.T) {
	t.Parallel()
	a, err := audit.Hash(audit.Genesis, event())
	if err != nil {
		t.Fatal(err)
	}
	e := event()
	e.Details = json.RawMessage(`{"a": "x", "b": 1}`) // as jsonb gives it back
	e.OccurredAt = e.OccurredAt.Truncate(time.Microsecond)
	b, err := audit.Hash(audit.Genesis, e)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("hash changed with key order or sub-microsecond time: got %x, want %x", b, a)
	}
}

func TestHashCoversEveryField(t *testing.T) {
	t.Parallel()
	base, _ := audit.Hash(audit.Genesis, event())
	changes := map[string]func(e *domain.AuditEvent){
		"seq":     func(e *domain.AuditEvent) { e.Seq = 2 },
		"action":  func(e *domain.AuditEvent) { e.Action = "user.delete" },
		"target":  func(e *domain.AuditEvent) { e.TargetID = "y" },
		"details": func(e *domain.AuditEvent) { e.Details = json.RawMessage(`{"a":"y","b":1}`) },
		"time":    func(e *domain.AuditEvent) { e.OccurredAt = e.OccurredAt.Add(time.Second) },
		"org":     func(e *domain.AuditEvent) { e.OrgID = nil },
		"actor":   func(e *domain.AuditEvent) { id := uuid.New(); e.ActorID = &id },
	}
	for name, change := range changes {
		e := event()
		change(e)
		got, err := audit.Hash(audit.Genesis, e)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if bytes.Equal(got, base) {
			t.Errorf("changing %s did not change the hash", name)
		}
	}
	other, _ := audit.Hash(bytes.Repeat([]byte{1}, 32), event())
	if bytes.Equal(other, base) {
		t.Errorf("changing the previous hash did not change the hash")
	}
}

func TestHashRejectsNonObjectDetails(t *testing.T) {
	t.Parallel()
	e := event()
	e.Details = json.RawMessage(`[1,2]`)
	if _, err := audit.Hash(audit.Genesis, e); err == nil {
		t.Errorf("got nil error for array details, want failure")
	}
}
