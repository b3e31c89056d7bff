package rights

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// Targets on the 2-core development machine (docs/PERFORMANCE.md): a decision
// from a warm cache at p99 <= 100 µs; the effective grants of an identity
// with 50 grants, warm cache, <= 1 ms.

func benchService(b *testing.B) (*Service, *Identity) {
	b.Helper()
	id := fiftyGrants()
	s := NewServiceWithOptions(testPolicy(b), newFakeStore(id), Options{CacheUnlistened: true})
	return s, id
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
	s, id := benchService(b)
	q := Question{UserID: id.UserID, Privilege: uriMoms, Level: "substantial",
		Scope: &unitScope, Constraints: map[string]string{typeKLE: "25.02.01"}, Now: testNow}
	ctx := context.Background()
	if d, err := s.Decide(ctx, q); err != nil || !d.Allow {
		b.Fatalf("warm-up: got %+v, %v, want an allow", d, err)
	}
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
}

// BenchmarkDecideDeny: the same identity asked about the privilege at another
// company's CVR, so every grant explains its failure.
func BenchmarkDecideDeny(b *testing.B) {
	s, id := benchService(b)
	q := Question{UserID: id.UserID, Privilege: uriMoms, Level: "substantial",
		Scope: ptr(cvrScope(thirdCVR)), Now: testNow}
	ctx := context.Background()
	durations := make([]time.Duration, 0, 1<<16)
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		d, err := s.Decide(ctx, q)
		durations = append(durations, time.Since(start))
		if err != nil || d.Allow {
			b.Fatalf("got %+v, %v, want a denial", d, err)
		}
	}
	reportPercentiles(b, durations)
}

// BenchmarkDecideParallel: BenchmarkDecide from concurrent goroutines.
func BenchmarkDecideParallel(b *testing.B) {
	s, id := benchService(b)
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
	s, id := benchService(b)
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
}

// BenchmarkEvalFloor is OPA evaluating a trivial prepared query with the
// same input as BenchmarkDecide: the fixed cost of one evaluation on the
// machine at hand, the scale against which to read BenchmarkDecide.
func BenchmarkEvalFloor(b *testing.B) {
	s, id := benchService(b)
	query, err := rego.New(rego.Query("true")).PrepareForEval(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	e, err := s.identity(context.Background(), id.UserID)
	if err != nil {
		b.Fatal(err)
	}
	input := rego.EvalParsedInput(questionInput(testNow, "substantial", e.status, ast.StringTerm(uriMoms),
		scopeTerm(unitScope, orgCVR), emptyObject, e.grantsOf(uriMoms)))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := query.Eval(ctx, input); err != nil {
			b.Fatal(err)
		}
	}
}
