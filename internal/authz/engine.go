package authz

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"

	"github.com/erhverv/erhverv/policy"
)

// DecisionQuery is the policy's one entry point for administrator decisions.
const DecisionQuery = "data.erhverv.admin.decision"

// Options configure an Engine.
type Options struct {
	// ExtraDir optionally names a directory of extra or replacement policies
	// and data (a plain directory or an unpacked OPA bundle) loaded on top of
	// the embedded ones. A module with the same relative path as an embedded
	// one (admin/roles.rego) replaces it; other modules are added. Its data is
	// merged over the catalogue: objects merge, other values replace.
	ExtraDir string

	// Now is the clock for inputs without Context.Now; time.Now when nil.
	Now func() time.Time
}

// Engine evaluates administrator decisions. It is created once at start-up:
// New loads, compiles and prepares the policy, and Decide only evaluates it.
// An Engine is safe for concurrent use.
type Engine struct {
	query rego.PreparedEvalQuery
	words vocabulary
	now   func() time.Time
}

// Compiled is the embedded policies and data with those of
// Options.ExtraDir on top, compiled: what every engine of the platform (this
// one, the runtime rights policy) prepares its queries from, so they all load
// the policy directory the same way.
type Compiled struct {
	// Compiler holds every module, compiled.
	Compiler *ast.Compiler
	// Store holds the data documents, read as AST values so evaluations
	// never convert them from Go values.
	Store storage.Store
	// Data is the same data as plain JSON values.
	Data map[string]any
	// Modules lists the modules' paths relative to the policy root, sorted.
	Modules []string
}

// Compile loads the embedded policies and data, and those of opts.ExtraDir on
// top, and compiles them. It fails when a policy does not parse or compile.
func Compile(opts Options) (*Compiled, error) {
	docs, err := loadFS(policy.FS)
	if err != nil {
		return nil, fmt.Errorf("authz: load embedded policy: %w", err)
	}
	if opts.ExtraDir != "" {
		extra, err := loadDir(opts.ExtraDir)
		if err != nil {
			return nil, fmt.Errorf("authz: load extra policy directory %s: %w", opts.ExtraDir, err)
		}
		docs = overlay(docs, extra)
	}

	compiler := ast.NewCompiler()
	if compiler.Compile(docs.modules); compiler.Failed() {
		return nil, fmt.Errorf("authz: compile policy (%d modules): %w", len(docs.modules), compiler.Errors)
	}
	store := inmem.NewFromObjectWithOpts(docs.data, inmem.OptReturnASTValuesOnRead(true))
	return &Compiled{Compiler: compiler, Store: store, Data: docs.data, Modules: docs.moduleNames()}, nil
}

// Defines reports whether some rule defines query (a reference such as
// data.erhverv.admin.decision).
func (c *Compiled) Defines(query string) bool {
	ref, err := ast.ParseRef(query)
	return err == nil && len(c.Compiler.GetRulesExact(ref)) > 0
}

// New loads the embedded policies and data, and those of opts.ExtraDir on top,
// compiles them and prepares the decision query. It fails when a policy does not
// parse or compile, or when no rule defines the decision.
func New(ctx context.Context, opts Options) (*Engine, error) {
	c, err := Compile(opts)
	if err != nil {
		return nil, err
	}
	if !c.Defines(DecisionQuery) {
		return nil, fmt.Errorf("authz: no rule defines %s in modules %v", DecisionQuery, c.Modules)
	}

	query, err := rego.New(
		rego.Query(DecisionQuery),
		rego.Compiler(c.Compiler),
		rego.Store(c.Store),
		rego.GenerateJSON(decisionFromTerm),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("authz: prepare %s: %w", DecisionQuery, err)
	}

	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Engine{query: query, words: newVocabulary(c.Data), now: now}, nil
}

// Decide asks whether in.Subject may do in.Action on in.Resource. An error
// always comes with a denying Decision: callers that ignore it still deny.
func (e *Engine) Decide(ctx context.Context, in Input) (Decision, error) {
	if err := ctx.Err(); err != nil {
		return Decision{}, fmt.Errorf("authz: decide %s: %w", in.Action, err)
	}
	if in.Context.Now.IsZero() {
		in.Context.Now = e.now()
	}
	rs, err := e.query.Eval(ctx, rego.EvalParsedInput(in.value(e.words)))
	if err != nil {
		return Decision{}, fmt.Errorf("authz: evaluate %s: %w", in.Action, err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return Decision{}, ErrNoDecision
	}
	d, ok := rs[0].Expressions[0].Value.(Decision)
	if !ok {
		return Decision{}, errMalformed
	}
	return d, nil
}

var errMalformed = errors.New("authz: malformed decision")

var (
	keyAllow   = ast.StringTerm("allow")
	keyReasons = ast.StringTerm("reasons")
	keyCode    = ast.StringTerm("code")
	keyMessage = ast.StringTerm("message")
)

// decisionFromTerm reads the decision straight from its AST, sparing the
// conversion to generic Go maps that OPA would otherwise make.
func decisionFromTerm(t *ast.Term, _ *rego.EvalContext) (any, error) {
	obj, ok := t.Value.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("%w: %v is not an object", errMalformed, ast.ValueName(t.Value))
	}
	allow, ok := ObjectValue[ast.Boolean](obj, keyAllow)
	if !ok {
		return nil, fmt.Errorf("%w: allow is not a boolean", errMalformed)
	}
	reasons, ok := ObjectValue[*ast.Array](obj, keyReasons)
	if !ok {
		return nil, fmt.Errorf("%w: reasons is not an array", errMalformed)
	}
	d := Decision{Allow: bool(allow), Reasons: make([]Reason, 0, reasons.Len())}
	for i := range reasons.Len() {
		r, ok := reasons.Elem(i).Value.(ast.Object)
		if !ok {
			return nil, fmt.Errorf("%w: reason %d is not an object", errMalformed, i)
		}
		code, okCode := ObjectValue[ast.String](r, keyCode)
		message, okMessage := ObjectValue[ast.String](r, keyMessage)
		if !okCode || !okMessage || code == "" {
			return nil, fmt.Errorf("%w: reason %d lacks a code or a message", errMalformed, i)
		}
		d.Reasons = append(d.Reasons, Reason{Code: string(code), Message: string(message)})
	}
	return d, nil
}

// ObjectValue reads obj[key] as an OPA value of type V: how both decisions'
// results are read straight from their AST.
func ObjectValue[V ast.Value](obj ast.Object, key *ast.Term) (V, bool) {
	var zero V
	t := obj.Get(key)
	if t == nil {
		return zero, false
	}
	v, ok := t.Value.(V)
	return v, ok
}
