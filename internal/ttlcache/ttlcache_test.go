package ttlcache

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestCacheLoadsOncePerTTL(t *testing.T) {
	now := time.Unix(1000, 0)
	loads := 0
	c := New(5*time.Second, func() time.Time { return now }, func(_ context.Context, k string) (int, error) {
		loads++
		if k == "bad" {
			return 0, errors.New("no such key")
		}
		return len(k) + loads, nil
	})
	ctx := context.Background()
	first, _ := c.Get(ctx, "abc")
	now = now.Add(4 * time.Second)
	if v, _ := c.Get(ctx, "abc"); v != first || loads != 1 {
		t.Fatalf("within the TTL: value %d, %d loads", v, loads)
	}
	now = now.Add(2 * time.Second)
	if v, _ := c.Get(ctx, "abc"); v == first || loads != 2 {
		t.Fatalf("past the TTL: value %d, %d loads", v, loads)
	}
	c.Drop("abc")
	if _, _ = c.Get(ctx, "abc"); loads != 3 {
		t.Fatalf("after Drop: %d loads", loads)
	}
	if _, err := c.Get(ctx, "bad"); err == nil {
		t.Fatal("a load error was swallowed")
	}
	if _, _ = c.Get(ctx, "bad"); loads != 5 {
		t.Fatalf("a failed load was cached: %d loads", loads)
	}
}

func TestEveryLetsOneEventThroughPerInterval(t *testing.T) {
	e := NewEvery[string](time.Minute)
	t0 := time.Unix(1000, 0)
	if !e.Due("a", t0) || e.Due("a", t0.Add(59*time.Second)) || !e.Due("b", t0) || !e.Due("a", t0.Add(time.Minute)) {
		t.Fatal("Every lets events through at the wrong times")
	}
}
