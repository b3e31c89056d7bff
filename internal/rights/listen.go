package rights

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Channel is the PostgreSQL notification channel the database's triggers
// (migration 00010) signal on every change that affects grants. Payloads:
//
//	u:<user id>       the user's grants, memberships or status changed
//	g:<group id>      a group's grants or restriction changed
//	p:<privilege id>  a privilege's status, level, URI or names changed
//	a:<poa id>        a power of attorney or its privileges changed
//	*                 something many identities show changed (names of
//	                  organisations and IT systems, units): drop everything
const Channel = "erhverv_rights"

// Backoff between attempts to reconnect the listener.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 10 * time.Second
)

// Listen keeps a LISTEN on Channel open on a connection of its own, taken out
// of pool, and drops cached identities as notifications arrive. It blocks
// until ctx is done, then returns nil. A lost connection is reopened with
// backoff; while it is down the service caches nothing, and each (re)connect
// starts from an empty cache, since notifications may have been missed.
// Call it once per Service, in its own goroutine.
func (s *Service) Listen(ctx context.Context, pool *pgxpool.Pool) error {
	backoff := minBackoff
	for {
		connected, err := s.listenOnce(ctx, pool)
		s.cache.setEnabled(false)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			backoff = minBackoff
		}
		s.log.Warn("rights: cache listener lost its connection; reconnecting", "error", err, "in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// Ready is closed once Listen first listens: from then on every committed
// change reaches the cache.
func (s *Service) Ready() <-chan struct{} { return s.ready }

// Listening reports whether a listener is connected, that is whether the
// cache is in use.
func (s *Service) Listening() bool {
	s.cache.mu.RLock()
	defer s.cache.mu.RUnlock()
	return s.cache.enabled
}

// listenOnce listens until the connection fails or ctx is done; connected
// says whether it got as far as listening.
func (s *Service) listenOnce(ctx context.Context, pool *pgxpool.Pool) (connected bool, err error) {
	pc, err := pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	// The connection leaves the pool for good: a LISTEN must not be handed
	// to another caller, and it is closed, never returned.
	conn := pc.Hijack()
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+Channel); err != nil {
		return false, err
	}
	// Listening now; what was cached before may have missed changes.
	s.cache.setEnabled(true)
	s.readyOnce.Do(func() { close(s.ready) })
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		s.apply(n.Payload)
	}
}

// apply drops what one notification concerns. A payload it cannot read
// drops everything: better a cold cache than a stale one.
func (s *Service) apply(payload string) {
	kind, rest, _ := strings.Cut(payload, ":")
	id, err := uuid.Parse(rest)
	switch {
	case payload == "*":
		s.Flush()
	case err != nil:
		s.log.Warn("rights: unreadable cache notification; flushing", "payload", payload)
		s.Flush()
	case kind == "u":
		s.Invalidate(id)
	case kind == "g":
		s.InvalidateGroup(id)
	case kind == "p":
		s.InvalidatePrivilege(id)
	case kind == "a":
		s.InvalidatePoA(id)
	default:
		s.log.Warn("rights: unknown cache notification; flushing", "payload", payload)
		s.Flush()
	}
}
