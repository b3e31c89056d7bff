package jobs

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/webhook"
)

// hookBundle is an organisation with a webhook registry and a way to make
// audited changes, on a database of its own.
type hookBundle struct {
	*bundle
	hooks *postgres.Webhooks
	admin *postgres.Administration
	feed  *postgres.ChangeFeed
	actor postgres.Actor
}

func setupHooks(t *testing.T) *hookBundle {
	t.Helper()
	b := setup(t)
	hooks := postgres.NewWebhooks(b.db)
	hooks.AllowHTTP = true // httptest receivers speak http
	return &hookBundle{bundle: b, hooks: hooks, admin: postgres.NewAdministration(b.db, nil, "https://erhverv.test/portal"),
		feed: postgres.NewChangeFeed(b.db), actor: postgres.Actor{UserID: uuid.New(), Label: "Anne Admin", Address: "192.0.2.7"}}
}

func (b *hookBundle) org(t *testing.T, cvr string) *domain.Organisation {
	t.Helper()
	o := &domain.Organisation{CVR: cvr, Name: "Firma " + cvr}
	if err := postgres.NewOrganisationService(b.db).CreateOrganisation(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	return o
}

func (b *hookBundle) group(t *testing.T, org *domain.Organisation, name string) *domain.Group {
	t.Helper()
	g := &domain.Group{OrgID: org.ID, Name: name}
	if err := b.admin.CreateGroup(context.Background(), b.actor, g); err != nil {
		t.Fatal(err)
	}
	return g
}

func (b *hookBundle) subscribe(t *testing.T, org *domain.Organisation, url string) (*domain.Webhook, string) {
	t.Helper()
	h, secret, err := b.hooks.Create(context.Background(), b.actor, org.ID, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h, secret
}

// dispatch starts a worker that only delivers webhooks, tuned for tests:
// frequent polls and retries in milliseconds.
func (b *hookBundle) dispatch(t *testing.T, cfg WebhookConfig) *Worker {
	t.Helper()
	if cfg.Poll == 0 {
		cfg.Poll = 50 * time.Millisecond
	}
	if cfg.Backoff == nil {
		cfg.Backoff = func(int) time.Duration { return 10 * time.Millisecond }
	}
	logger := slog.New(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w, err := StartWorker(context.Background(), b.db.Pool(), b.protector, nil, logger, WithWebhooks(b.hooks, cfg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return w
}

// delivery waits until the webhook's delivery of seq is no longer pending.
func (b *hookBundle) delivery(t *testing.T, org *domain.Organisation, h *domain.Webhook, done func(domain.WebhookDelivery) bool) domain.WebhookDelivery {
	t.Helper()
	var got domain.WebhookDelivery
	waitFor(t, "the delivery's outcome", func() bool {
		ds, _, err := b.hooks.ListDeliveries(context.Background(), org.ID, h.ID, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 1 && done(ds[0]) {
			got = ds[0]
			return true
		}
		return false
	})
	return got
}

// waitFor polls cond: a generous bound on the dispatcher, not a timing
// assertion.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// receiver records what it is sent and answers with answer(n) for the
// n-th request (from 1).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(n int, w http.ResponseWriter)
}

type received struct {
	header http.Header
	body   []byte
	at     time.Time
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter)) *receiver {
	t.Helper()
	r := &receiver{answer: answer}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{header: req.Header.Clone(), body: body, at: time.Now()})
		n := len(r.got)
		r.mu.Unlock()
		if r.answer != nil {
			r.answer(n, w)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func TestWebhookDeliveryIsSignedAndIsTheFeedItem(t *testing.T) {
	t.Parallel()
	b := setupHooks(t)
	org := b.org(t, "10000009")
	rcv := newReceiver(t, nil)
	h, secret := b.subscribe(t, org, rcv.URL+"/erhverv")
	b.dispatch(t, WebhookConfig{AllowPrivateNetworks: true})
	g := b.group(t, org, "Bogholderi")

	waitFor(t, "the delivery", func() bool { return len(rcv.requests()) > 0 })
	req := rcv.requests()[0]
	if err := webhook.Verify([]byte(secret), req.header.Get(webhook.HeaderSignature), req.body, time.Now(), webhook.DefaultTolerance); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if err := webhook.Verify([]byte("whsec_wrong"), req.header.Get(webhook.HeaderSignature), req.body, time.Now(), webhook.DefaultTolerance); err == nil {
		t.Error("Verify with another secret: got nil, want an error")
	}
	events, _, err := b.feed.Read(context.Background(), org.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var item []byte
	for _, e := range events {
		if e.SubjectID == g.ID.String() {
			item, _ = json.Marshal(webhook.NewEvent(e))
		}
	}
	if string(req.body) != string(item) {
		t.Errorf("body:\ngot  %s\nwant the feed's item %s", req.body, item)
	}
	var ev webhook.Event
	if err := json.Unmarshal(req.body, &ev); err != nil || ev.Type != "group.created" || ev.OrgID != org.ID.String() {
		t.Errorf("event: %+v, %v", ev, err)
	}
	if _, ok := ev.Data["address"]; ok {
		t.Error("the body carries the actor's IP address")
	}
	if req.header.Get(webhook.HeaderEventID) != ev.ID || req.header.Get(webhook.HeaderEventType) != "group.created" ||
		req.header.Get("Content-Type") != "application/json" {
		t.Errorf("headers: %v", req.header)
	}
	d := b.delivery(t, org, h, func(d domain.WebhookDelivery) bool { return d.Status != domain.DeliveryPending })
	if d.Status != domain.DeliveryDelivered || d.Attempts != 1 || req.header.Get(webhook.HeaderDeliveryID) != d.ID.String() {
		t.Errorf("delivery: %+v (delivery id header %q)", d, req.header.Get(webhook.HeaderDeliveryID))
	}
}

// A change reaches the subscriber on the database's notification, without
// waiting for the poll (an hour here).
func TestWebhookIsSentOnTheNotification(t *testing.T) {
	t.Parallel()
	b := setupHooks(t)
	org := b.org(t, "10000009")
	rcv := newReceiver(t, nil)
	b.subscribe(t, org, rcv.URL)
	w := b.dispatch(t, WebhookConfig{AllowPrivateNetworks: true, Poll: time.Hour})
	select {
	case <-w.dispatcher.listening:
	case <-time.After(30 * time.Second):
		t.Fatal("the dispatcher never listened")
	}
	b.group(t, org, "Bogholderi")
	waitFor(t, "the delivery", func() bool { return len(rcv.requests()) == 1 })
}

func TestWebhookRetriesUntilTheReceiverAnswers(t *testing.T) {
	t.Parallel()
	b := setupHooks(t)
	org := b.org(t, "10000009")
	rcv := newReceiver(t, func(n int, w http.ResponseWriter) {
		if n <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	h, secret := b.subscribe(t, org, rcv.URL)
	b.dispatch(t, WebhookConfig{AllowPrivateNetworks: true})
	b.group(t, org, "Bogholderi")

	d := b.delivery(t, org, h, func(d domain.WebhookDelivery) bool { return d.Status != domain.DeliveryPending })
	if d.Status != domain.DeliveryDelivered || d.Attempts != 3 || len(d.Log) != 3 {
		t.Fatalf("delivery: got %s after %d attempts (%d logged), want delivered after 3", d.Status, d.Attempts, len(d.Log))
	}
	for i, want := range []int{503, 503, 200} {
		l := d.Log[i]
		if l.Attempt != i+1 || l.StatusCode == nil || *l.StatusCode != want {
			t.Errorf("attempt %d: got %+v, want status %d", i+1, l, want)
		}
	}
	if !strings.Contains(d.Log[0].Error, "503") || d.Log[2].Error != "" {
		t.Errorf("errors: %q, %q", d.Log[0].Error, d.Log[2].Error)
	}
	reqs := rcv.requests()
	for i, r := range reqs {
		// Each attempt is signed afresh, and every one verifies.
		if err := webhook.Verify([]byte(secret), r.header.Get(webhook.HeaderSignature), r.body, time.Now(), webhook.DefaultTolerance); err != nil {
			t.Errorf("request %d: %v", i+1, err)
		}
		if r.header.Get(webhook.HeaderDeliveryID) != d.ID.String() {
			t.Errorf("request %d: delivery id %q, want %s", i+1, r.header.Get(webhook.HeaderDeliveryID), d.ID)
		}
	}
}

func TestWebhookGivesUpAfterTheLastAttempt(t *testing.T) {
	t.Parallel()
	b := setupHooks(t)
	org := b.org(t, "10000009")
	rcv := newReceiver(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusInternalServerError) })
	h, _ := b.subscribe(t, org, rcv.URL)
	b.dispatch(t, WebhookConfig{AllowPrivateNetworks: true, MaxAttempts: 2})
	b.group(t, org, "Bogholderi")
	d := b.delivery(t, org, h, func(d domain.WebhookDelivery) bool { return d.Status != domain.DeliveryPending })
	if d.Status != domain.DeliveryFailed || d.Attempts != 2 || d.NextAttemptAt != nil {
		t.Errorf("delivery: got %s after %d attempts, want failed after 2", d.Status, d.Attempts)
	}
}

// A change that rolls back sends nothing, and another organisation's
// changes never reach this organisation's webhook.
func TestWebhooksSendOnlyCommittedChangesOfTheirOrganisation(t *testing.T) {
	t.Parallel()
	b := setupHooks(t)
	orgA, orgB := b.org(t, "10000009"), b.org(t, "10000017")
	rcvA, rcvB := newReceiver(t, nil), newReceiver(t, nil)
	hA, _ := b.subscribe(t, orgA, rcvA.URL)
	b.subscribe(t, orgB, rcvB.URL)
	b.dispatch(t, WebhookConfig{AllowPrivateNetworks: true})

	ctx := context.Background()
	tx, err := b.db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	hash := make([]byte, 32)
	_, _ = rand.Read(hash)
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_events (org_id, chain_key, seq, occurred_at, action, target_type, target_id, prev_hash, hash)
		VALUES ($1, $1, 1000, now(), 'user.created', 'user', 'rolled-back', $2, $2)`, orgA.ID, hash); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	gA := b.group(t, orgA, "A's gruppe")
	gB := b.group(t, orgB, "B's gruppe")

	waitFor(t, "both deliveries", func() bool { return len(rcvA.requests()) > 0 && len(rcvB.requests()) > 0 })
	b.delivery(t, orgA, hA, func(d domain.WebhookDelivery) bool { return d.Status == domain.DeliveryDelivered })
	for name, c := range map[string]struct {
		rcv   *receiver
		org   *domain.Organisation
		group *domain.Group
	}{"A": {rcvA, orgA, gA}, "B": {rcvB, orgB, gB}} {
		reqs := c.rcv.requests()
		if len(reqs) != 1 {
			t.Errorf("%s received %d requests, want 1", name, len(reqs))
		}
		for _, r := range reqs {
			var ev webhook.Event
			if err := json.Unmarshal(r.body, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.OrgID != c.org.ID.String() || ev.SubjectID != c.group.ID.String() {
				t.Errorf("%s received %s %s of org %s, want only its own group", name, ev.Type, ev.SubjectID, ev.OrgID)
			}
		}
	}
	// Nothing else is on its way: the only delivery of A's webhook is done.
	ds, _, err := b.hooks.ListDeliveries(ctx, orgA.ID, hA.ID, 0, 10)
	if err != nil || len(ds) != 1 {
		t.Errorf("A's deliveries: got %d, %v; want 1", len(ds), err)
	}
}

func TestWebhookToAnInternalAddressIsRefused(t *testing.T) {
	t.Parallel()
	b := setupHooks(t)
	org := b.org(t, "10000009")
	rcv := newReceiver(t, nil)
	h, _ := b.subscribe(t, org, rcv.URL) // 127.0.0.1
	b.dispatch(t, WebhookConfig{MaxAttempts: 1})
	b.group(t, org, "Bogholderi")
	d := b.delivery(t, org, h, func(d domain.WebhookDelivery) bool { return d.Status != domain.DeliveryPending })
	if d.Status != domain.DeliveryFailed || len(d.Log) != 1 || d.Log[0].StatusCode != nil || !strings.Contains(d.Log[0].Error, "not a public address") {
		t.Errorf("delivery: %+v %+v, want refused", d, d.Log)
	}
	if n := len(rcv.requests()); n != 0 {
		t.Errorf("the receiver got %d requests, want none", n)
	}
	if strings.Contains(d.Log[0].Error, rcv.URL) {
		t.Errorf("error %q repeats the URL", d.Log[0].Error)
	}
}

func TestWebhookRedirectsAreNotFollowed(t *testing.T) {
	t.Parallel()
	b := setupHooks(t)
	org := b.org(t, "10000009")
	target := newReceiver(t, nil)
	rcv := newReceiver(t, func(_ int, w http.ResponseWriter) {
		w.Header().Set("Location", target.URL)
		w.WriteHeader(http.StatusTemporaryRedirect)
	})
	h, _ := b.subscribe(t, org, rcv.URL)
	b.dispatch(t, WebhookConfig{AllowPrivateNetworks: true, MaxAttempts: 1})
	b.group(t, org, "Bogholderi")
	d := b.delivery(t, org, h, func(d domain.WebhookDelivery) bool { return d.Status != domain.DeliveryPending })
	if d.Status != domain.DeliveryFailed || d.LastStatusCode == nil || *d.LastStatusCode != 307 || !strings.Contains(d.LastError, "redirect") {
		t.Errorf("delivery: %+v", d)
	}
	if n := len(target.requests()); n != 0 {
		t.Errorf("the redirect's target got %d requests, want none", n)
	}
}

// Two dispatchers (two replicas) share the work: every change is sent
// once.
func TestWebhookDispatchersShareTheWork(t *testing.T) {
	t.Parallel()
	b := setupHooks(t)
	org := b.org(t, "10000009")
	rcv := newReceiver(t, nil)
	h, _ := b.subscribe(t, org, rcv.URL)
	b.dispatch(t, WebhookConfig{AllowPrivateNetworks: true})
	b.dispatch(t, WebhookConfig{AllowPrivateNetworks: true})
	const changes = 20
	for i := range changes {
		b.group(t, org, fmt.Sprint("Gruppe ", i))
	}
	waitFor(t, "every delivery", func() bool { return len(rcv.requests()) >= changes })
	seen := map[string]int{}
	for _, r := range rcv.requests() {
		seen[r.header.Get(webhook.HeaderEventID)]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("event %s sent %d times, want once", id, n)
		}
	}
	if len(seen) != changes {
		t.Errorf("got %d distinct events, want %d", len(seen), changes)
	}
	waitFor(t, "every delivery recorded", func() bool {
		ds, _, err := b.hooks.ListDeliveries(context.Background(), org.ID, h.ID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.Status != domain.DeliveryDelivered {
				return false
			}
			if d.Attempts != 1 {
				t.Errorf("delivery %d: %d attempts, want 1", d.EventSeq, d.Attempts)
			}
		}
		return len(ds) == changes
	})
}

func TestPublicAddr(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"93.184.216.34": true, "2a00:1450:4001:82a::200e": true, "8.8.8.8": true,
		"127.0.0.1": false, "::1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, "0.0.0.0": false, "::": false, "fc00::1": false, "fe80::1": false,
		"100.64.0.1": false, "::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false, "224.0.0.1": false,
		"255.255.255.255": false, "198.18.0.1": false, "64:ff9b::7f00:1": false, "2002:7f00:1::": false,
	} {
		if got := publicAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("publicAddr(%s): got %v, want %v", addr, got, want)
		}
	}
	if err := refuseNonPublic("tcp", "[::1]:443", nil); err == nil {
		t.Error("refuseNonPublic([::1]:443): got nil, want a refusal")
	}
	if err := refuseNonPublic("tcp", "93.184.216.34:443", nil); err != nil {
		t.Errorf("refuseNonPublic(public): %v", err)
	}
}

func TestWebhookBackoffSpreadsTwelveAttemptsOverADay(t *testing.T) {
	t.Parallel()
	var lo, hi time.Duration
	for n := 1; n < WebhookMaxAttempts; n++ {
		base := min(10*time.Second*time.Duration(pow3(n-1)), 5*time.Hour)
		for range 50 {
			d := WebhookBackoff(n)
			if d < base*8/10 || d > base*12/10 {
				t.Fatalf("WebhookBackoff(%d): got %v, want within 20%% of %v", n, d, base)
			}
		}
		lo, hi = lo+base*8/10, hi+base*12/10
	}
	if lo < 16*time.Hour || hi > 32*time.Hour {
		t.Errorf("the retries span %v to %v, want about a day", lo, hi)
	}
}

func pow3(n int) int64 {
	p := int64(1)
	for range n {
		p *= 3
	}
	return p
}
