package rights

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/rego"
)

// Targets on the 2-core development machine (docs/PERFORMANCE.md): a decision
// from a warm cache at p99 <= 100 µs; the effective grants of an identity
// with 50 grants, warm cache, <= 1 ms.
//
// Each runs with one cached identity and with 1,000 (about 70 MB of cache,
// a server's heap): Go's collector runs as often as the heap doubles, so the
// tiny heap of the first makes it run some 60 times a second and its pauses
// and assists set the p99. Both are reported.

// cacheSizes are the sub-benchmarks: identities in the cache.
var cacheSizes = []int{1, 1000}

func benchService(b *testing.B, cached int) (*Service, *Identity) {
	b.Helper()
	ids := make([]*Identity, cached)
	for i := range ids {
		ids[i] = fiftyGrants()
	}
	s := NewServiceWithOptions(testPolicy(b), newFakeStore(ids...), Options{CacheUnlistened: true, MaxIdentities: cached})
	for _, id := range ids {
		if _, err := s.identity(context.Background(), id.UserID); err != nil {
			b.Fatal(err)
		}
	}
	runtime.GC()
	return s, ids[0]
}

// reportPercentiles reports p50 and p99 of the per-operation durations.
func reportPercentiles(b *testing.B, d []time.Duration) {
	b.Helper()
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	at := func(p float64) float64 { return float64(d[int(p*float64(len(d)-1))].Nanoseconds()) }
	b.ReportMetric(at(0.50), "p50-ns")
	b.ReportMetric(at(0.99), "p99-ns")
}

// BenchmarkDecide: one question about a privilege the identity holds three
// grants of (one allows), at a P-number of its CVR, from a warm cache.
func BenchmarkDecide(b *testing.B) {
	for _, cached := range cacheSizes {
		b.Run(fmt.Sprintf("cached=%d", cached), func(b *testing.B) {
			s, id := benchService(b, cached)
			q := Question{UserID: id.UserID, Privilege: uriMoms, Level: "substantial",
				Scope: &unitScope, Constraints: map[string]string{typeKLE: "25.02.01"}, Now: testNow}
			ctx := context.Background()
			durations := make([]time.Duration, 0, 1<<16)
			b.ReportAllocs()
			for b.Loop() {
				start := time.Now()
				d, err := s.Decide(ctx, q)
				durations = append(durations, time.Since(start))
				if err != nil || !d.Allow {
					b.Fatalf("got %+v, %v, want an allow", d, err)
				}
			}
			reportPercentiles(b, durations)
		})
	}
}

// BenchmarkDecideDeny: denials. "explained": the same identity asked about
// the privilege at another company's CVR, so every grant explains its
// failure; "no grant": asked about a privilege it holds no grant of.
func BenchmarkDecideDeny(b *testing.B) {
	s, id := benchService(b, 1)
	for _, tt := range []struct {
		name string
		q    Question
	}{
		{"explained", Question{UserID: id.UserID, Privilege: uriMoms, Level: "substantial", Scope: ptr(cvrScope(thirdCVR)), Now: testNow}},
		{"no grant", Question{UserID: id.UserID, Privilege: uriCase, Level: "substantial", Now: testNow}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			ctx := context.Background()
			durations := make([]time.Duration, 0, 1<<16)
			b.ReportAllocs()
			for b.Loop() {
				start := time.Now()
				d, err := s.Decide(ctx, tt.q)
				durations = append(durations, time.Since(start))
				if err != nil || d.Allow {
					b.Fatalf("got %+v, %v, want a denial", d, err)
				}
			}
			reportPercentiles(b, durations)
		})
	}
}

// BenchmarkDecideParallel: BenchmarkDecide from concurrent goroutines.
func BenchmarkDecideParallel(b *testing.B) {
	s, id := benchService(b, 1)
	q := Question{UserID: id.UserID, Privilege: uriMoms, Level: "substantial", Scope: &unitScope, Now: testNow}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if d, err := s.Decide(context.Background(), q); err != nil || !d.Allow {
				b.Errorf("got %+v, %v, want an allow", d, err)
				return
			}
		}
	})
}

// BenchmarkEffective50: every grant of an identity with 50 grants, with the
// policy's verdict on each, from a warm cache.
func BenchmarkEffective50(b *testing.B) {
	for _, cached := range cacheSizes {
		b.Run(fmt.Sprintf("cached=%d", cached), func(b *testing.B) {
			s, id := benchService(b, cached)
			ctx := context.Background()
			durations := make([]time.Duration, 0, 1<<14)
			b.ReportAllocs()
			for b.Loop() {
				start := time.Now()
				got, err := s.Effective(ctx, id.UserID, "substantial", testNow)
				durations = append(durations, time.Since(start))
				if err != nil || len(got) != 50 {
					b.Fatalf("got %d grants, %v, want 50", len(got), err)
				}
			}
			reportPercentiles(b, durations)
		})
	}
}

// BenchmarkEvalFloor is OPA evaluating a trivial prepared query with the
// same input as BenchmarkDecide: the fixed cost of one evaluation on the
// machine at hand, the scale against which to read BenchmarkDecide.
func BenchmarkEvalFloor(b *testing.B) {
	s, id := benchService(b, 1)
	query, err := rego.New(rego.Query("true")).PrepareForEval(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	e, err := s.identity(context.Background(), id.UserID)
	if err != nil {
		b.Fatal(err)
	}
	privilege, grants := e.question(uriMoms)
	input := rego.EvalParsedInput(questionInput(testNow, "substantial", e.status, privilege,
		scopeTerm(unitScope, orgCVR), emptyObject, grants))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := query.Eval(ctx, input); err != nil {
			b.Fatal(err)
		}
	}
}
