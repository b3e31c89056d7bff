package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/dbtest"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

func newWebhook(t *testing.T, w *postgres.Webhooks, f *feedFixture, url string, types ...string) (*domain.Webhook, string) {
	t.Helper()
	h, secret, err := w.Create(context.Background(), f.actor, f.org.ID, url, types)
	if err != nil {
		t.Fatalf("Create(%s): %v", url, err)
	}
	return h, secret
}

func TestWebhookCreateSealsTheSecretAndAudits(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	f := newFeedFixture(t, db, "10000009", "1000000001")
	w := postgres.NewWebhooks(db)
	ctx := context.Background()
	h, secret := newWebhook(t, w, f, " https://hooks.example.dk/erhverv ", "user.", "group.created", "user.")
	if !strings.HasPrefix(secret, postgres.WebhookSecretPrefix) || len(secret) != len(postgres.WebhookSecretPrefix)+43 {
		t.Errorf("secret: got %q, want whsec_ and 43 characters of base64url", secret)
	}
	if h.URL != "https://hooks.example.dk/erhverv" || fmt.Sprint(h.EventTypes) != "[user. group.created]" || !h.Active ||
		h.CreatedByLabel != "Anne Admin" || h.OrgID != f.org.ID || h.CreatedAt.IsZero() {
		t.Errorf("webhook: got %+v", h)
	}
	var stored []byte
	if err := db.SQL().QueryRowContext(ctx, "SELECT secret FROM webhooks WHERE id = $1", h.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored, []byte(secret[len(postgres.WebhookSecretPrefix):])) {
		t.Error("the secret is stored in clear, want it sealed")
	}
	var action string
	if err := db.SQL().QueryRowContext(ctx, "SELECT action FROM audit_events WHERE chain_key = $1 AND target_id = $2",
		f.org.ID, h.ID.String()).Scan(&action); err != nil || action != "webhook.created" {
		t.Errorf("audit: got %q, %v; want webhook.created", action, err)
	}
	all, err := w.List(ctx, f.org.ID)
	if err != nil || len(all) != 1 || all[0].ID != h.ID {
		t.Errorf("List: got %v, %v; want the webhook", all, err)
	}
}

func TestWebhookCreateValidates(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	f := newFeedFixture(t, db, "10000009", "1000000001")
	strict, dev := postgres.NewWebhooks(db), postgres.NewWebhooks(db)
	dev.AllowHTTP = true
	cases := []struct {
		name  string
		w     *postgres.Webhooks
		url   string
		types []string
		field string // "" when accepted
	}{
		{"https", strict, "https://example.dk/hook?x=1", nil, ""},
		{"http refused", strict, "http://example.dk/hook", nil, "url"},
		{"http in development", dev, "http://127.0.0.1:8080/hook", nil, ""},
		{"empty", strict, "", nil, "url"},
		{"relative", strict, "/hook", nil, "url"},
		{"other scheme", dev, "ftp://example.dk/hook", nil, "url"},
		{"credentials", strict, "https://user:pw@example.dk/hook", nil, "url"},
		{"fragment", strict, "https://example.dk/hook#x", nil, "url"},
		{"too long", strict, "https://example.dk/" + strings.Repeat("a", 2048), nil, "url"},
		{"longest", strict, "https://example.dk/" + strings.Repeat("a", 2048-len("https://example.dk/")), nil, ""},
		{"unknown family", strict, "https://example.dk/hook", []string{"session."}, "event_types"},
		{"export is not a change", strict, "https://example.dk/hook", []string{"users.exported"}, "event_types"},
		{"bad characters", strict, "https://example.dk/hook", []string{"user.CREATED"}, "event_types"},
		{"one action", strict, "https://example.dk/hook", []string{"assignment.created", "poa."}, ""},
	}
	for _, c := range cases {
		_, _, err := c.w.Create(context.Background(), f.actor, f.org.ID, c.url, c.types)
		var e *domain.Error
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%s: got %v, want it accepted", c.name, err)
		case c.field != "" && (domain.ErrorCode(err) != domain.EINVALID || !asError(err, &e) || e.Field != c.field):
			t.Errorf("%s: got %v, want invalid %s", c.name, err, c.field)
		}
	}
	if _, _, err := strict.Create(context.Background(), f.actor, uuid.New(), "https://example.dk/hook", nil); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("an unknown organisation: got %v, want not found", err)
	}
}

func asError(err error, target **domain.Error) bool {
	if e, ok := err.(*domain.Error); ok {
		*target = e
		return true
	}
	if v, ok := err.(domain.ValidationErrors); ok && len(v) > 0 {
		*target = v[0]
		return true
	}
	return false
}

func TestWebhooksPerOrganisationAreCapped(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	f := newFeedFixture(t, db, "10000009", "1000000001")
	w := postgres.NewWebhooks(db)
	for i := range domain.MaxWebhooksPerOrg {
		newWebhook(t, w, f, fmt.Sprintf("https://example.dk/hook/%d", i))
	}
	_, _, err := w.Create(context.Background(), f.actor, f.org.ID, "https://example.dk/one-too-many", nil)
	wantCode(t, "the 21st webhook", err, domain.ECONFLICT)
}

func TestWebhooksAreTenantScoped(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	a := newFeedFixture(t, db, "10000009", "1000000001")
	b := newFeedFixture(t, db, "10000017", "1000000002")
	w := postgres.NewWebhooks(db)
	ctx := context.Background()
	hb, _ := newWebhook(t, w, b, "https://b.example.dk/hook")
	if _, err := w.Find(ctx, a.org.ID, hb.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("A finds B's webhook: got %v, want not found", err)
	}
	if _, _, err := w.ListDeliveries(ctx, a.org.ID, hb.ID, 0, 10); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("A lists B's deliveries: got %v, want not found", err)
	}
	wantCode(t, "A deletes B's webhook", w.Delete(ctx, a.actor, a.org.ID, hb.ID), domain.ENOTFOUND)
	if list, _ := w.List(ctx, a.org.ID); len(list) != 0 {
		t.Errorf("A's list: got %d webhooks, want none", len(list))
	}
	// B's changes are delivered to B's webhook only; A's changes to none.
	a.group(t, "A's gruppe")
	b.group(t, "B's gruppe")
	ds, _, err := w.ListDeliveries(ctx, b.org.ID, hb.ID, 0, 10)
	if err != nil || len(ds) != 1 || ds[0].EventType != "group.created" {
		t.Fatalf("B's deliveries: got %+v, %v; want B's group", ds, err)
	}
	if err := w.Delete(ctx, b.actor, b.org.ID, hb.ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := w.Find(ctx, b.org.ID, hb.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("after Delete: got %v, want not found", err)
	}
	var n int
	if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM webhook_deliveries WHERE webhook_id = $1", hb.ID).Scan(&n); err != nil || n != 0 {
		t.Errorf("deliveries after Delete: %d, %v; want none", n, err)
	}
}

func TestWebhookDeliveriesAreEnqueuedWithTheChange(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	f := newFeedFixture(t, db, "10000009", "1000000001")
	w := postgres.NewWebhooks(db)
	ctx := context.Background()
	all, _ := newWebhook(t, w, f, "https://all.example.dk/hook")
	users, _ := newWebhook(t, w, f, "https://users.example.dk/hook", "user.")
	updates, _ := newWebhook(t, w, f, "https://updates.example.dk/hook", "group.updated")

	g := f.group(t, "Gruppe")
	g.Description = "ny"
	if err := f.admin.UpdateGroup(ctx, f.actor, g); err != nil {
		t.Fatal(err)
	}
	f.noise(t, "session.started")
	count := func(h *domain.Webhook) []string {
		ds, _, err := w.ListDeliveries(ctx, f.org.ID, h.ID, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range ds {
			out = append(out, d.EventType+"/"+d.Status)
		}
		return out
	}
	if got := count(all); fmt.Sprint(got) != "[group.updated/pending group.created/pending]" {
		t.Errorf("all changes: got %v", got)
	}
	if got := count(users); len(got) != 0 {
		t.Errorf("user changes only: got %v, want none", got)
	}
	if got := count(updates); fmt.Sprint(got) != "[group.updated/pending]" {
		t.Errorf("group updates only: got %v", got)
	}

	// A change that rolls back leaves no delivery behind.
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	hash := make([]byte, 32)
	_, _ = rand.Read(hash)
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_events (org_id, chain_key, seq, occurred_at, action, prev_hash, hash)
		VALUES ($1, $1, 1000, now(), 'user.created', $2, $2)`, f.org.ID, hash); err != nil {
		t.Fatal(err)
	}
	var inTx int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM webhook_deliveries WHERE event_seq = 1000").Scan(&inTx); err != nil || inTx != 2 {
		t.Errorf("inside the change's transaction: %d deliveries, %v; want 2 (all, users)", inTx, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got := count(users); len(got) != 0 {
		t.Errorf("after the rollback: got %v, want no delivery", got)
	}
}

func TestWebhookDeliveryClaimAndRecord(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	f := newFeedFixture(t, db, "10000009", "1000000001")
	w := postgres.NewWebhooks(db)
	ctx := context.Background()
	h, secret := newWebhook(t, w, f, "https://example.dk/hook", "group.")
	g := f.group(t, "Gruppe")

	claimed, err := w.ClaimDeliveries(ctx, 10, time.Minute)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("ClaimDeliveries: got %d, %v; want 1", len(claimed), err)
	}
	d := claimed[0]
	if d.WebhookID != h.ID || d.URL != h.URL || string(d.Secret) != secret || d.Attempt != 1 ||
		d.Event.Type != "group.created" || d.Event.SubjectID != g.ID.String() || d.Event.OrgID != f.org.ID {
		t.Errorf("claimed: got %+v", d)
	}
	if again, err := w.ClaimDeliveries(ctx, 10, time.Minute); err != nil || len(again) != 0 {
		t.Errorf("a second claim within the lease: got %d, %v; want none", len(again), err)
	}
	start := time.Now()
	ok, err := w.RecordAttempt(ctx, d.ID, domain.DeliveryResult{Attempt: 1, AttemptedAt: start, Duration: 12 * time.Millisecond,
		StatusCode: 500, Error: "HTTP 500", RetryIn: time.Millisecond})
	if err != nil || !ok {
		t.Fatalf("RecordAttempt 1: %v, %v", ok, err)
	}
	if ok, _ := w.RecordAttempt(ctx, d.ID, domain.DeliveryResult{Attempt: 1, AttemptedAt: start, StatusCode: 200, Delivered: true}); ok {
		t.Error("recording attempt 1 twice: got recorded, want dropped")
	}
	var retry []domain.OutgoingDelivery
	for range 200 { // the retry is due a millisecond later
		if retry, err = w.ClaimDeliveries(ctx, 10, time.Minute); err != nil || len(retry) > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if len(retry) != 1 || retry[0].Attempt != 2 {
		t.Fatalf("the retry: got %+v, %v; want attempt 2", retry, err)
	}
	if ok, err := w.RecordAttempt(ctx, d.ID, domain.DeliveryResult{Attempt: 2, AttemptedAt: time.Now(), Duration: 3 * time.Millisecond,
		StatusCode: 204, Delivered: true}); err != nil || !ok {
		t.Fatalf("RecordAttempt 2: %v, %v", ok, err)
	}
	ds, next, err := w.ListDeliveries(ctx, f.org.ID, h.ID, 0, 10)
	if err != nil || len(ds) != 1 || next != 0 {
		t.Fatalf("ListDeliveries: %d, next %d, %v", len(ds), next, err)
	}
	got := ds[0]
	if got.Status != domain.DeliveryDelivered || got.Attempts != 2 || got.DeliveredAt == nil || got.NextAttemptAt != nil ||
		got.LastStatusCode == nil || *got.LastStatusCode != 204 || got.EventID != d.Event.ID || len(got.Log) != 2 {
		t.Fatalf("delivery: got %+v", got)
	}
	if l := got.Log[0]; l.Attempt != 1 || l.StatusCode == nil || *l.StatusCode != 500 || l.Error != "HTTP 500" || l.DurationMS != 12 {
		t.Errorf("attempt 1: got %+v", l)
	}
	if l := got.Log[1]; l.Attempt != 2 || l.StatusCode == nil || *l.StatusCode != 204 || l.Error != "" {
		t.Errorf("attempt 2: got %+v", l)
	}
	if n, err := w.PruneDeliveries(ctx, time.Now().Add(time.Hour), 100); err != nil || n != 1 {
		t.Errorf("PruneDeliveries: got %d, %v; want 1", n, err)
	}
}

func TestWebhookDeliveriesPageNewestFirst(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	f := newFeedFixture(t, db, "10000009", "1000000001")
	w := postgres.NewWebhooks(db)
	ctx := context.Background()
	h, _ := newWebhook(t, w, f, "https://example.dk/hook")
	for i := range 5 {
		f.group(t, fmt.Sprint("Gruppe ", i))
	}
	var seqs []int64
	var before int64
	for range 10 {
		ds, next, err := w.ListDeliveries(ctx, f.org.ID, h.ID, before, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			seqs = append(seqs, d.EventSeq)
		}
		if next == 0 {
			break
		}
		before = next
	}
	if len(seqs) != 5 {
		t.Fatalf("pages: got %v, want 5 deliveries", seqs)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] >= seqs[i-1] {
			t.Errorf("order: %v, want newest first", seqs)
		}
	}
}
