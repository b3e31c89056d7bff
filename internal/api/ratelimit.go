package api

import (
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"
)

// limiters hold each client's token bucket: RateLimit requests per second
// with a burst of one second's worth. The buckets are per replica, so N
// replicas behind a balancer allow up to N times the rate; the limit guards
// each replica's capacity rather than metering a contract.
type limiters struct {
	mu      sync.Mutex
	buckets map[uuid.UUID]*bucket
}

type bucket struct {
	limit int
	l     *rate.Limiter
}

func newLimiters() *limiters { return &limiters{buckets: map[uuid.UUID]*bucket{}} }

// allow takes one request from the client's bucket; when it is empty it
// returns false and how long to wait.
func (ls *limiters) allow(id uuid.UUID, perSecond int, now time.Time) (bool, time.Duration) {
	if perSecond < 1 {
		perSecond = 1
	}
	ls.mu.Lock()
	b := ls.buckets[id]
	if b == nil || b.limit != perSecond {
		b = &bucket{limit: perSecond, l: rate.NewLimiter(rate.Limit(perSecond), perSecond)}
		ls.buckets[id] = b
	}
	ls.mu.Unlock()
	r := b.l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// retryAfter is the Retry-After header for a wait: whole seconds, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(int(math.Max(1, math.Ceil(d.Seconds()))))
}
