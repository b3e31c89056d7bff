package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/dbtest"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// feedFixture is an organisation whose changes the tests make through the
// same services as the portal, so the feed is read from real audit events.
type feedFixture struct {
	*fixture
	admin *postgres.Administration
	audit *postgres.AuditLog
	feed  *postgres.ChangeFeed
	actor postgres.Actor
}

func newFeedFixture(t *testing.T, db *postgres.DB, cvr, pnum string) *feedFixture {
	t.Helper()
	f := fixtureOn(t, db, cvr, pnum)
	return &feedFixture{fixture: f, admin: postgres.NewAdministration(db, nil, "https://erhverv.test/portal"),
		audit: postgres.NewAuditLog(db), feed: postgres.NewChangeFeed(db),
		actor: postgres.Actor{UserID: uuid.New(), Label: "Anne Admin", RequestID: "req-1", Address: "192.0.2.7"}}
}

func (f *feedFixture) group(t *testing.T, name string) *domain.Group {
	t.Helper()
	g := &domain.Group{OrgID: f.org.ID, Name: name}
	if err := f.admin.CreateGroup(context.Background(), f.actor, g); err != nil {
		t.Fatalf("CreateGroup(%s): %v", name, err)
	}
	return g
}

// noise appends an audited action the feed leaves out (a login, an export).
func (f *feedFixture) noise(t *testing.T, action string) {
	t.Helper()
	e := &domain.AuditEvent{OrgID: &f.org.ID, ActorLabel: "Anne Admin", Action: action, TargetType: "user",
		TargetID: uuid.NewString(), Details: json.RawMessage(`{"address":"192.0.2.7"}`)}
	if err := f.audit.AppendAudit(context.Background(), e); err != nil {
		t.Fatalf("AppendAudit(%s): %v", action, err)
	}
}

// readAll pages through the feed from after with limit, returning every
// event and the final cursor.
func (f *feedFixture) readAll(t *testing.T, after int64, limit int) ([]domain.ChangeEvent, int64) {
	t.Helper()
	var all []domain.ChangeEvent
	for range 1000 {
		events, next, err := f.feed.Read(context.Background(), f.org.ID, after, limit)
		if err != nil {
			t.Fatalf("Read(after %d): %v", after, err)
		}
		if next < after {
			t.Fatalf("Read(after %d): next %d went backwards", after, next)
		}
		all = append(all, events...)
		if next == after {
			return all, next
		}
		after = next
	}
	t.Fatal("the feed never came to an end")
	return nil, 0
}

func TestChangeFeedIsOrderedFilteredAndResumable(t *testing.T) {
	t.Parallel()
	f := newFeedFixture(t, dbtest.New(t), "10000009", "1000000001")
	ctx := context.Background()
	var want []string
	f.noise(t, "session.started")
	for i := range 5 {
		g := f.group(t, fmt.Sprintf("Gruppe %d", i))
		want = append(want, "group.created:"+g.ID.String())
		f.noise(t, "users.exported")
		if i%2 == 0 {
			g.Description = "ændret"
			if err := f.admin.UpdateGroup(ctx, f.actor, g); err != nil {
				t.Fatal(err)
			}
			want = append(want, "group.updated:"+g.ID.String())
		}
	}
	f.noise(t, "session.ended")

	for _, limit := range []int{1, 2, 3, 100} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			t.Parallel()
			events, _ := f.readAll(t, 0, limit)
			var got []string
			for i, e := range events {
				got = append(got, e.Type+":"+e.SubjectID)
				if i > 0 && e.Seq <= events[i-1].Seq {
					t.Errorf("event %d: seq %d after %d, want increasing", i, e.Seq, events[i-1].Seq)
				}
				if e.ID != domain.ChangeEventID(f.org.ID, e.Seq) || e.OrgID != f.org.ID {
					t.Errorf("event %d: id %q org %s, want %q", i, e.ID, e.OrgID, domain.ChangeEventID(f.org.ID, e.Seq))
				}
				if _, ok := e.Data["address"]; ok {
					t.Errorf("event %d (%s): data carries the client's address: %v", i, e.Type, e.Data)
				}
				if e.Actor != "Anne Admin" || e.SubjectType != "group" || e.OccurredAt.IsZero() {
					t.Errorf("event %d: actor %q subject type %q occurred %v", i, e.Actor, e.SubjectType, e.OccurredAt)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("events:\ngot  %v\nwant %v", got, want)
			}
		})
	}

	// Resuming from the middle gives the rest, and nothing twice.
	first, next, err := f.feed.Read(ctx, f.org.ID, 0, 3)
	if err != nil || len(first) != 3 {
		t.Fatalf("first page: %d events, %v", len(first), err)
	}
	if next != first[2].Seq {
		t.Errorf("a full page: next %d, want the last event's seq %d", next, first[2].Seq)
	}
	rest, _ := f.readAll(t, next, 100)
	if len(first)+len(rest) != len(want) {
		t.Errorf("resumed: got %d + %d events, want %d in all", len(first), len(rest), len(want))
	}
}

func TestChangeFeedCursorCrossesFilteredEventsAndStopsAtTheHead(t *testing.T) {
	t.Parallel()
	f := newFeedFixture(t, dbtest.New(t), "10000009", "1000000001")
	ctx := context.Background()
	// The organisation has its creation events already; start from its head.
	_, head := f.readAll(t, 0, 100)
	for range 4 {
		f.noise(t, "session.started")
	}
	events, next, err := f.feed.Read(ctx, f.org.ID, head, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 0 || next != head+4 {
		t.Errorf("a window of logins only: got %d events, next %d; want none and next %d", len(events), next, head+4)
	}
	events, again, err := f.feed.Read(ctx, f.org.ID, next+1000, 10)
	if err != nil || len(events) != 0 || again != next+1000 {
		t.Errorf("a cursor beyond the head: got %d events, next %d, %v; want none and next %d", len(events), again, err, next+1000)
	}
	g := f.group(t, "Efter hovedet")
	events, _, err = f.feed.Read(ctx, f.org.ID, next, 10)
	if err != nil || len(events) != 1 || events[0].SubjectID != g.ID.String() || events[0].Seq != next+1 {
		t.Errorf("after the head: got %+v, %v; want the new group at seq %d", events, err, next+1)
	}
	if events, last, err := f.feed.Read(ctx, f.org.ID, math.MaxInt64, 10); err != nil || len(events) != 0 || last != math.MaxInt64 {
		t.Errorf("the largest cursor: got %d events, next %d, %v; want none and itself", len(events), last, err)
	}
	if _, _, err := f.feed.Read(ctx, f.org.ID, -1, 10); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("a negative cursor: got %v, want invalid", err)
	}
}

func TestChangeFeedIsolatesOrganisations(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	a := newFeedFixture(t, db, "10000009", "1000000001")
	b := newFeedFixture(t, db, "10000017", "1000000002")
	a.group(t, "A's gruppe")
	gb := b.group(t, "B's gruppe")
	events, _ := a.readAll(t, 0, 100)
	for _, e := range events {
		if e.OrgID != a.org.ID || e.SubjectID == gb.ID.String() {
			t.Errorf("A's feed shows %s %s of org %s", e.Type, e.SubjectID, e.OrgID)
		}
	}
	if len(events) == 0 {
		t.Error("A's feed is empty, want A's group")
	}
}

func TestChangeFeedScrubsAddressesAndCPRNumbers(t *testing.T) {
	t.Parallel()
	f := newFeedFixture(t, dbtest.New(t), "10000009", "1000000001")
	e := &domain.AuditEvent{OrgID: &f.org.ID, ActorLabel: "Anne Admin", Action: "user.updated", TargetType: "user", TargetID: "u1",
		Details: json.RawMessage(`{"address":"192.0.2.7","before":{"cpr":"(changed)","first_name":"Jens","note":"010190-1234"},` +
			`"after":{"first_name":"Jens Peter","p_number":"1003388394","list":["070761-4285","ok"],"count":1e3}}`)}
	if err := f.audit.AppendAudit(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	events, _ := f.readAll(t, e.Seq-1, 1)
	if len(events) == 0 {
		t.Fatal("no event")
	}
	got, _ := json.Marshal(events[0].Data)
	want := `{"after":{"count":1000,"first_name":"Jens Peter","list":["ok"],"p_number":"1003388394"},"before":{"first_name":"Jens"}}`
	if string(got) != want {
		t.Errorf("data:\ngot  %s\nwant %s", got, want)
	}
}

// Writers change users of one organisation at the same time as a reader
// pages through the feed: the reader sees every change exactly once, in
// order, because seq order is commit order.
func TestChangeFeedUnderConcurrentChanges(t *testing.T) {
	t.Parallel()
	f := newFeedFixture(t, dbtest.New(t), "10000009", "1000000001")
	ctx := context.Background()
	const writers, changes = 4, 15
	users := make([]*domain.User, writers)
	for i := range users {
		users[i] = f.user(t, fmt.Sprintf("Skribent%d", i), "")
	}
	_, start := f.readAll(t, 0, 100)

	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, writers)
	for _, u := range users {
		wg.Go(func() {
			for j := range changes {
				u.FirstName = fmt.Sprintf("Navn%d", j)
				if err := f.admin.UpdateUser(ctx, f.actor, u); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()

	seen := map[int64]bool{}
	var order []int64
	after := start
	read := func() {
		events, next, err := f.feed.Read(ctx, f.org.ID, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if seen[e.Seq] {
				t.Errorf("seq %d seen twice", e.Seq)
			}
			seen[e.Seq] = true
			order = append(order, e.Seq)
		}
		after = next
	}
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			read()
		}
	}
	for range 1000 { // drain what was committed after the last read
		before := after
		read()
		if after == before {
			break
		}
	}
	close(errs)
	for err := range errs {
		t.Fatalf("writer: %v", err)
	}
	if len(seen) != writers*changes {
		t.Errorf("the reader saw %d changes, want %d", len(seen), writers*changes)
	}
	for i := 1; i < len(order); i++ {
		if order[i] != order[i-1]+1 {
			t.Errorf("seq %d followed by %d: want no gaps (only user changes were made)", order[i-1], order[i])
		}
	}
}
