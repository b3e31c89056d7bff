package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/webhook"
)

// DeliveryStore is what the webhook dispatcher needs of the database;
// postgres.Webhooks is one. The deliveries themselves are enqueued by the
// database in the transaction of each change (the outbox, migration 00013).
type DeliveryStore interface {
	// ClaimDeliveries hands out up to limit due deliveries, held for lease.
	ClaimDeliveries(ctx context.Context, limit int, lease time.Duration) ([]domain.OutgoingDelivery, error)
	// RecordAttempt logs an attempt and moves the delivery on; false when
	// the attempt had lost its claim and was dropped.
	RecordAttempt(ctx context.Context, id uuid.UUID, r domain.DeliveryResult) (bool, error)
	// PruneDeliveries deletes up to limit finished deliveries created
	// before cutoff.
	PruneDeliveries(ctx context.Context, cutoff time.Time, limit int) (int64, error)
}

// Webhook delivery defaults.
const (
	// WebhookChannel is the NOTIFY channel migration 00013's trigger
	// signals when a committed change has deliveries waiting.
	WebhookChannel = "erhverv_webhooks"
	// WebhookMaxAttempts is how often a delivery is tried: with
	// WebhookBackoff the last try comes about 23 hours after the first,
	// enough to ride out a subscriber's bad day.
	WebhookMaxAttempts = 12
	// WebhookTimeout bounds one attempt: connecting, TLS, sending and the
	// answer's headers and (first 64 KiB of) body.
	WebhookTimeout = 10 * time.Second
	// webhookPoll is how often due deliveries are looked for without a
	// notification: retries come due this way, and a lost notification
	// costs at most this long.
	webhookPoll = time.Second
	// webhookLease is how long a claimed delivery is held: longer than an
	// attempt, so only a dispatcher that died loses its claim.
	webhookLease = time.Minute
	// webhookConcurrency is how many deliveries one process sends at once.
	webhookConcurrency = 8
	// webhookRetention is how long finished deliveries stay in the log.
	webhookRetention = 30 * 24 * time.Hour
	// maxAnswer is how much of a subscriber's answer is read (and dropped)
	// so the connection can be reused.
	maxAnswer = 64 << 10
)

// WebhookBackoff is the wait after failed attempt n (from 1): 10 s, 30 s,
// 90 s, ... tripling up to 5 hours, each shortened or lengthened by up to
// 20% at random so that the retries of many deliveries to a subscriber
// that was down do not all arrive together when it comes back.
func WebhookBackoff(n int) time.Duration {
	d := min(10*time.Second*time.Duration(math.Pow(3, float64(max(n-1, 0)))), 5*time.Hour)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// WebhookConfig tunes delivery.
type WebhookConfig struct {
	// AllowPrivateNetworks lets deliveries go to loopback, private and
	// link-local addresses: for development and tests only. Otherwise a
	// webhook cannot be pointed at the platform's own network.
	AllowPrivateNetworks bool

	// For tests: zero values take the defaults above.
	Poll        time.Duration
	Backoff     func(attempt int) time.Duration
	MaxAttempts int
}

// WithWebhooks makes the worker deliver webhooks from store.
func WithWebhooks(store DeliveryStore, cfg WebhookConfig) Option {
	return func(o *workerOptions) { o.webhooks, o.webhookCfg = store, cfg }
}

// dispatcher sends due deliveries. Every `erhverv serve` runs one: claims
// use FOR UPDATE SKIP LOCKED and a lease, so replicas share the work and
// never send the same attempt twice (a crash mid-send means the delivery is
// sent again after the lease: subscribers deduplicate on the event id).
type dispatcher struct {
	store  DeliveryStore
	pool   *pgxpool.Pool
	client *http.Client
	logger *slog.Logger
	cfg    WebhookConfig
	sem    chan struct{}
	wake   chan struct{}
	sends  sync.WaitGroup
	// listening is closed once the first LISTEN is in place.
	listening  chan struct{}
	listenOnce sync.Once
}

func newDispatcher(store DeliveryStore, pool *pgxpool.Pool, cfg WebhookConfig, logger *slog.Logger) *dispatcher {
	if cfg.Poll <= 0 {
		cfg.Poll = webhookPoll
	}
	if cfg.Backoff == nil {
		cfg.Backoff = WebhookBackoff
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = WebhookMaxAttempts
	}
	return &dispatcher{store: store, pool: pool, client: newWebhookClient(cfg.AllowPrivateNetworks), logger: logger, cfg: cfg,
		sem: make(chan struct{}, webhookConcurrency), wake: make(chan struct{}, 1), listening: make(chan struct{})}
}

// run claims and sends deliveries until ctx is done; sends in flight then
// go on under sendCtx, which the caller cancels when it stops waiting.
func (d *dispatcher) run(ctx, sendCtx context.Context) {
	go d.listen(ctx)
	go d.pruneEveryHour(ctx)
	poll := time.NewTicker(d.cfg.Poll)
	defer poll.Stop()
	for {
		// Claim as long as there is room and work.
		for free := cap(d.sem) - len(d.sem); free > 0 && ctx.Err() == nil; free = cap(d.sem) - len(d.sem) {
			n := d.claim(ctx, sendCtx, free)
			if n < free {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-poll.C:
		}
	}
}

// claim takes up to n due deliveries and starts sending them.
func (d *dispatcher) claim(ctx, sendCtx context.Context, n int) int {
	due, err := d.store.ClaimDeliveries(ctx, n, webhookLease)
	if err != nil {
		if ctx.Err() == nil {
			d.logger.ErrorContext(ctx, "webhooks: claiming deliveries failed", "err", err)
		}
		return 0
	}
	for _, od := range due {
		d.sem <- struct{}{}
		d.sends.Go(func() {
			defer func() {
				<-d.sem
				d.poke() // room again: look for more at once
			}()
			d.send(sendCtx, od)
		})
	}
	return len(due)
}

func (d *dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// wait waits for the sends in flight.
func (d *dispatcher) wait() { d.sends.Wait() }

// send makes one attempt of od and records it.
func (d *dispatcher) send(ctx context.Context, od domain.OutgoingDelivery) {
	res := d.attempt(ctx, od)
	if ctx.Err() != nil {
		// Cut short by shutdown: not the subscriber's fault. The claim
		// runs out and the next dispatcher tries again.
		return
	}
	if !res.Delivered && od.Attempt < d.cfg.MaxAttempts {
		res.RetryIn = d.cfg.Backoff(od.Attempt)
	}
	attrs := []any{"delivery_id", od.ID, "webhook_id", od.WebhookID, "event_id", od.Event.ID, "attempt", od.Attempt,
		"status_code", res.StatusCode, "duration_ms", res.Duration.Milliseconds()}
	recorded, err := d.store.RecordAttempt(ctx, od.ID, res)
	switch {
	case err != nil:
		d.logger.ErrorContext(ctx, "webhooks: recording an attempt failed", append(attrs, "err", err)...)
	case !recorded:
		d.logger.WarnContext(ctx, "webhooks: attempt dropped, the delivery was taken over or deleted", attrs...)
	case res.Delivered:
		d.logger.InfoContext(ctx, "webhook delivered", attrs...)
	case res.RetryIn > 0:
		d.logger.WarnContext(ctx, "webhook not delivered, will retry", append(attrs, "err", res.Error, "retry_in", res.RetryIn.String())...)
	default:
		d.logger.ErrorContext(ctx, "webhook not delivered, giving up", append(attrs, "err", res.Error)...)
	}
}

// attempt POSTs the signed event to the webhook's URL.
func (d *dispatcher) attempt(ctx context.Context, od domain.OutgoingDelivery) domain.DeliveryResult {
	start := time.Now()
	res := domain.DeliveryResult{Attempt: od.Attempt, AttemptedAt: start.UTC()}
	body, err := json.Marshal(webhook.NewEvent(od.Event))
	if err != nil {
		res.Error = "encode event: " + err.Error()
		return res
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, od.URL, bytes.NewReader(body))
	if err != nil {
		res.Error = "bad URL: " + unwrapURLError(err)
		return res
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "erhverv-webhooks/1")
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(od.Secret, start, body))
	req.Header.Set(webhook.HeaderEventID, od.Event.ID)
	req.Header.Set(webhook.HeaderEventType, od.Event.Type)
	req.Header.Set(webhook.HeaderDeliveryID, od.ID.String())
	resp, err := d.client.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
		_ = resp.Body.Close()
	}
	res.Duration = time.Since(start)
	switch {
	case err != nil:
		res.Error = unwrapURLError(err)
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		res.StatusCode, res.Delivered = resp.StatusCode, true
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		res.StatusCode = resp.StatusCode
		res.Error = fmt.Sprintf("HTTP %d: redirects are not followed; register the final URL", resp.StatusCode)
	default:
		res.StatusCode = resp.StatusCode
		res.Error = fmt.Sprintf("HTTP %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return res
}

// unwrapURLError drops the URL net/http puts in front of an error: it may
// hold a token of the subscriber's and says nothing the log does not.
func unwrapURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return "timed out after " + WebhookTimeout.String()
		}
		return ue.Err.Error()
	}
	return err.Error()
}

// pruneEveryHour trims the delivery log at start and then hourly. Every
// replica does it; deleting what another already deleted is harmless.
func (d *dispatcher) pruneEveryHour(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		d.prune(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// prune trims the delivery log, a batch at a time.
func (d *dispatcher) prune(ctx context.Context) {
	cutoff := time.Now().Add(-webhookRetention)
	for range 100 {
		n, err := d.store.PruneDeliveries(ctx, cutoff, 1000)
		if err != nil {
			if ctx.Err() == nil {
				d.logger.ErrorContext(ctx, "webhooks: pruning the delivery log failed", "err", err)
			}
			return
		}
		if n < 1000 {
			return
		}
	}
}

// listen wakes the dispatcher on every notification of new deliveries, on
// a connection of its own, reconnecting with backoff. Without it delivery
// still happens, on the poll.
func (d *dispatcher) listen(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		listened, err := d.listenConn(ctx)
		if ctx.Err() != nil {
			return
		}
		if listened {
			backoff = 100 * time.Millisecond
		}
		d.logger.WarnContext(ctx, "webhooks: listener lost its connection; reconnecting", "err", err, "in", backoff.String())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

func (d *dispatcher) listenConn(ctx context.Context) (bool, error) {
	pc, err := d.pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	// The connection leaves the pool for good: a LISTEN must not be
	// handed to another caller.
	conn := pc.Hijack()
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+WebhookChannel); err != nil {
		return false, err
	}
	d.listenOnce.Do(func() { close(d.listening) })
	d.poke() // anything committed before we listened
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true, err
		}
		d.poke()
	}
}
