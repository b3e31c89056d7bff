package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/dbtest"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// auditFixture is two organisations with events in both chains and in the
// platform chain.
type auditFixture struct {
	log      *postgres.AuditLog
	a, b     *fixture
	anna     uuid.UUID
	start    time.Time
	eventsOf map[uuid.UUID]int
}

func newAuditFixture(t *testing.T) *auditFixture {
	t.Helper()
	db := dbtest.New(t)
	f := &auditFixture{log: postgres.NewAuditLog(db), a: fixtureOn(t, db, "10000009", "1000000001"),
		b: fixtureOn(t, db, "10000017", "1000000002"), anna: uuid.New(),
		start: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), eventsOf: map[uuid.UUID]int{}}
	ctx := context.Background()
	appendAt := func(org *uuid.UUID, hours int, e domain.AuditEvent) {
		t.Helper()
		e.OrgID, e.OccurredAt = org, f.start.Add(time.Duration(hours)*time.Hour)
		if err := f.log.AppendAudit(ctx, &e); err != nil {
			t.Fatalf("AppendAudit %s: %v", e.Action, err)
		}
	}
	a, b := &f.a.org.ID, &f.b.org.ID
	// seq 1..6 in a, one hour apart.
	appendAt(a, 0, domain.AuditEvent{ActorID: &f.anna, ActorLabel: "Anna Jensen", Action: "user.created", TargetType: "user", TargetID: "u-1"})
	appendAt(a, 1, domain.AuditEvent{ActorID: &f.anna, ActorLabel: "Anna Jensen", Action: "user.updated", TargetType: "user", TargetID: "u-1",
		Details: json.RawMessage(`{"field":"phone"}`)})
	appendAt(a, 2, domain.AuditEvent{ActorLabel: "Bo 100%_sikker", Action: "admin_role.assigned", TargetType: "admin_role", TargetID: "r-1"})
	appendAt(a, 3, domain.AuditEvent{ActorLabel: "Bo Hansen", Action: "adminxrole.assigned", TargetType: "admin_role", TargetID: "r-2"})
	appendAt(a, 4, domain.AuditEvent{ActorLabel: "seed", Action: "session.started", TargetType: "user", TargetID: "u-2"})
	appendAt(a, 5, domain.AuditEvent{ActorID: &f.anna, ActorLabel: "Anna Jensen", Action: "user.deactivated", TargetType: "user", TargetID: "u-2"})
	// The other organisation uses the same actor, action and target names.
	appendAt(b, 0, domain.AuditEvent{ActorID: &f.anna, ActorLabel: "Anna Jensen", Action: "user.created", TargetType: "user", TargetID: "u-1"})
	appendAt(b, 1, domain.AuditEvent{ActorID: &f.anna, ActorLabel: "Anna Jensen", Action: "user.updated", TargetType: "user", TargetID: "u-1"})
	appendAt(nil, 0, domain.AuditEvent{ActorLabel: "Anna Jensen", Action: "login.failed", TargetType: "user", TargetID: "u-1"})
	return f
}

func seqs(events []*domain.AuditEvent) []int64 {
	out := make([]int64, len(events))
	for i, e := range events {
		out[i] = e.Seq
	}
	return out
}

func TestListAuditEventsFilters(t *testing.T) {
	t.Parallel()
	f := newAuditFixture(t)
	ctx := context.Background()
	at := func(h int) *time.Time { t := f.start.Add(time.Duration(h) * time.Hour); return &t }
	org := f.a.org.ID
	cases := []struct {
		name   string
		filter postgres.AuditFilter
		want   []int64
	}{
		{"everything, newest first", postgres.AuditFilter{OrgID: org}, []int64{6, 5, 4, 3, 2, 1}},
		{"actor label, any case", postgres.AuditFilter{OrgID: org, Actor: "anna JENSEN"}, []int64{6, 2, 1}},
		{"actor label part", postgres.AuditFilter{OrgID: org, Actor: "jens"}, []int64{6, 2, 1}},
		{"actor id", postgres.AuditFilter{OrgID: org, Actor: f.anna.String()}, []int64{6, 2, 1}},
		{"actor % and _ are literal", postgres.AuditFilter{OrgID: org, Actor: "100%_"}, []int64{3}},
		{"actor % alone matches no wildcard", postgres.AuditFilter{OrgID: org, Actor: "%"}, []int64{3}},
		{"target id", postgres.AuditFilter{OrgID: org, Target: "u-2"}, []int64{6, 5}},
		{"target type", postgres.AuditFilter{OrgID: org, Target: "Admin_Role"}, []int64{4, 3}},
		{"action prefix", postgres.AuditFilter{OrgID: org, Action: "user."}, []int64{6, 2, 1}},
		{"action prefix _ is literal", postgres.AuditFilter{OrgID: org, Action: "admin_role."}, []int64{3}},
		{"whole action", postgres.AuditFilter{OrgID: org, Action: "user.updated"}, []int64{2}},
		{"from inclusive", postgres.AuditFilter{OrgID: org, From: at(4)}, []int64{6, 5}},
		{"to exclusive", postgres.AuditFilter{OrgID: org, To: at(2)}, []int64{2, 1}},
		{"from and to", postgres.AuditFilter{OrgID: org, From: at(1), To: at(3)}, []int64{3, 2}},
		{"combined", postgres.AuditFilter{OrgID: org, Actor: "anna", Action: "user.", Target: "u-1"}, []int64{2, 1}},
		{"nothing matches", postgres.AuditFilter{OrgID: org, Actor: "nobody"}, []int64{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, more, err := f.log.ListAuditEvents(ctx, c.filter)
			if err != nil {
				t.Fatalf("ListAuditEvents: %v", err)
			}
			if !slices.Equal(seqs(got), c.want) || more {
				t.Errorf("got seqs %v (more %v), want %v (more false)", seqs(got), more, c.want)
			}
			for _, e := range got {
				if e.OrgID == nil || *e.OrgID != org {
					t.Errorf("event %d: got organisation %v, want %s", e.Seq, e.OrgID, org)
				}
			}
		})
	}
}

func TestListAuditEventsPagesByKeyset(t *testing.T) {
	t.Parallel()
	f := newAuditFixture(t)
	ctx := context.Background()
	var pages [][]int64
	filter := postgres.AuditFilter{OrgID: f.a.org.ID, Limit: 4}
	for {
		got, more, err := f.log.ListAuditEvents(ctx, filter)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, seqs(got))
		if !more {
			break
		}
		if len(pages) > 3 {
			t.Fatalf("pages never end: %v", pages)
		}
		filter.BeforeSeq = got[len(got)-1].Seq
	}
	if len(pages) != 2 || !slices.Equal(pages[0], []int64{6, 5, 4, 3}) || !slices.Equal(pages[1], []int64{2, 1}) {
		t.Errorf("got pages %v, want [[6 5 4 3] [2 1]]", pages)
	}
	// A keyset filter keeps the other filters.
	got, more, err := f.log.ListAuditEvents(ctx, postgres.AuditFilter{OrgID: f.a.org.ID, Action: "user.", BeforeSeq: 6, Limit: 1})
	if err != nil || !slices.Equal(seqs(got), []int64{2}) || !more {
		t.Errorf("user. before 6, limit 1: got %v (more %v, %v), want [2] with more", seqs(got), more, err)
	}
}

func TestAuditQueriesStayInTheirOrganisation(t *testing.T) {
	t.Parallel()
	f := newAuditFixture(t)
	ctx := context.Background()
	got, _, err := f.log.ListAuditEvents(ctx, postgres.AuditFilter{OrgID: f.b.org.ID, Actor: "anna"})
	if err != nil || !slices.Equal(seqs(got), []int64{2, 1}) {
		t.Fatalf("organisation b: got %v (%v), want its own [2 1]", seqs(got), err)
	}
	for _, e := range got {
		if *e.OrgID != f.b.org.ID || len(e.Hash) != 32 {
			t.Errorf("event %d: got organisation %s and a %d-byte hash, want %s and 32", e.Seq, e.OrgID, len(e.Hash), f.b.org.ID)
		}
	}
	// The platform chain (and with it a zero organisation) is never listed.
	_, _, err = f.log.ListAuditEvents(ctx, postgres.AuditFilter{})
	wantCode(t, "list without an organisation", err, domain.EINVALID)
	err = f.log.EachAuditEvent(ctx, postgres.AuditFilter{Action: "login."}, func(*domain.AuditEvent) error { return nil })
	wantCode(t, "export without an organisation", err, domain.EINVALID)
	// An organisation unknown to the log sees nothing.
	got, more, err := f.log.ListAuditEvents(ctx, postgres.AuditFilter{OrgID: uuid.New()})
	if err != nil || len(got) != 0 || more {
		t.Errorf("unknown organisation: got %v (more %v, %v), want nothing", seqs(got), more, err)
	}
}

func TestEachAuditEventStreamsOldestFirst(t *testing.T) {
	t.Parallel()
	f := newAuditFixture(t)
	ctx := context.Background()
	var got []*domain.AuditEvent
	// Limit and BeforeSeq belong to the listing: an export has everything.
	err := f.log.EachAuditEvent(ctx, postgres.AuditFilter{OrgID: f.a.org.ID, Actor: "anna", Limit: 1, BeforeSeq: 2},
		func(e *domain.AuditEvent) error { got = append(got, e); return nil })
	if err != nil || !slices.Equal(seqs(got), []int64{1, 2, 6}) {
		t.Fatalf("EachAuditEvent: got %v (%v), want [1 2 6]", seqs(got), err)
	}
	var details map[string]string
	if err := json.Unmarshal(got[1].Details, &details); err != nil || details["field"] != "phone" {
		t.Errorf("details: got %s (%v), want the phone change", got[1].Details, err)
	}
	stop := errors.New("stop")
	n := 0
	err = f.log.EachAuditEvent(ctx, postgres.AuditFilter{OrgID: f.a.org.ID}, func(*domain.AuditEvent) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("fn error: got %v after %d calls, want stop after 1", err, n)
	}
}

func TestAuditChainsListsEveryChain(t *testing.T) {
	t.Parallel()
	f := newAuditFixture(t)
	chains, err := f.log.AuditChains(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(chains) != 3 || chains[0].OrgID != nil || chains[1].CVR != "10000009" || chains[2].CVR != "10000017" ||
		*chains[1].OrgID != f.a.org.ID || chains[2].OrgName != f.b.org.Name {
		t.Errorf("got %+v, want the platform chain, then 10000009 and 10000017", chains)
	}
}
