package authz

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/open-policy-agent/opa/v1/rego"
)

// benchInput is a typical portal question: a unit-scoped user administrator,
// holding a second time-bounded role, edits a user of its unit.
func benchInput() Input {
	in := userAdminInput(ActionUserUpdate)
	in.Subject.Roles = []RoleGrant{
		{Role: RoleUserAdmin, OrgID: "o", UnitID: "p"},
		{Role: RoleRightsAdmin, OrgID: "o", ValidFrom: testNow.AddDate(0, -1, 0), ValidTo: testNow.AddDate(0, 1, 0)},
	}
	in.Resource.UnitID = "p"
	return in
}

// BenchmarkDecide measures one decision on the prepared query.
// Target: 50 µs/op or less on a 2-core machine.
func BenchmarkDecide(b *testing.B) {
	e := testEngine(b)
	in := benchInput()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		d, err := e.Decide(ctx, in)
		if err != nil || !d.Allow {
			b.Fatalf("got %+v, %v, want an allow", d, err)
		}
	}
}

// BenchmarkDecideParallel measures decisions from concurrent goroutines.
func BenchmarkDecideParallel(b *testing.B) {
	e := testEngine(b)
	in := benchInput()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.Decide(context.Background(), in); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkDecideJSONInput is the baseline Decide avoids: the same
// evaluation with the input passed as a Go value that OPA converts through
// its JSON round trip.
func BenchmarkDecideJSONInput(b *testing.B) {
	e := testEngine(b)
	in := benchInput()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		var doc any
		raw, err := json.Marshal(in)
		if err == nil {
			err = json.Unmarshal(raw, &doc)
		}
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.query.Eval(ctx, rego.EvalInput(doc)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvalFloor is the cost of evaluating a trivial prepared query with
// the same input: OPA's fixed cost per evaluation on the machine at hand, the
// scale against which to read BenchmarkDecide.
func BenchmarkEvalFloor(b *testing.B) {
	e := testEngine(b)
	query, err := rego.New(rego.Query("true")).PrepareForEval(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	in := benchInput()
	input := rego.EvalParsedInput(in.value(e.words))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := query.Eval(ctx, input); err != nil {
			b.Fatal(err)
		}
	}
}
