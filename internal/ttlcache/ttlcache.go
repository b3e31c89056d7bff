// Package ttlcache keeps rows a hot path reads on every request (API and
// OIDC clients) for a few seconds, so a busy client costs no query per
// request while a change (a revocation) still reaches every replica within
// the TTL; and it spaces out bookkeeping writes (a client's "last used").
package ttlcache

import (
	"context"
	"sync"
	"time"
)

// maxEntries bounds a cache; past it the cache starts again. Clients are
// few, so this is a guard, not a policy.
const maxEntries = 10_000

// Cache holds values loaded by key for TTL.
type Cache[K comparable, V any] struct {
	ttl  time.Duration
	now  func() time.Time
	load func(context.Context, K) (V, error)

	mu      sync.RWMutex
	entries map[K]entry[V]
}

type entry[V any] struct {
	value V
	at    time.Time
}

// New returns a cache that loads a missing or stale key with load.
func New[K comparable, V any](ttl time.Duration, now func() time.Time, load func(context.Context, K) (V, error)) *Cache[K, V] {
	return &Cache[K, V]{ttl: ttl, now: now, load: load, entries: map[K]entry[V]{}}
}

// Get returns key's value, loading it when it is missing or older than the
// TTL. A load error is returned and nothing is cached.
func (c *Cache[K, V]) Get(ctx context.Context, key K) (V, error) {
	now := c.now()
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if ok && now.Sub(e.at) < c.ttl {
		return e.value, nil
	}
	v, err := c.load(ctx, key)
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if len(c.entries) >= maxEntries {
		c.entries = map[K]entry[V]{}
	}
	c.entries[key] = entry[V]{value: v, at: now}
	c.mu.Unlock()
	return v, nil
}

// Drop forgets key, so a change made here takes effect here at once.
func (c *Cache[K, V]) Drop(key K) {
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
}

// Every lets an event through at most once per interval per key.
type Every[K comparable] struct {
	interval time.Duration

	mu   sync.Mutex
	last map[K]time.Time
}

// NewEvery returns a limiter of one event per key per interval.
func NewEvery[K comparable](interval time.Duration) *Every[K] {
	return &Every[K]{interval: interval, last: map[K]time.Time{}}
}

// Due reports whether key's event may happen at now, and if so counts it.
func (e *Every[K]) Due(key K, now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if last, seen := e.last[key]; seen && now.Sub(last) < e.interval {
		return false
	}
	if len(e.last) >= maxEntries {
		e.last = map[K]time.Time{}
	}
	e.last[key] = now
	return true
}
