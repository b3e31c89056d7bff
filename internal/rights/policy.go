package rights

import (
	"context"
	"errors"
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/erhverv/erhverv/internal/authz"
)

// The rights policy's two entry points (policy/rights).
const (
	DecisionQuery  = "data.erhverv.rights.decision"
	EffectiveQuery = "data.erhverv.rights.effective"
)

// Reason codes. The policy gives all but CodeIdentityUnknown, which the
// service gives for a user that does not exist.
const (
	CodeGrantDirect     = "grant.direct"
	CodeGrantGroup      = "grant.group"
	CodeGrantPoA        = "grant.poa"
	CodeGrantPoAPerson  = "grant.poa_person"
	CodeGrantNone       = "grant.none"
	CodeGrantNotYet     = "grant.not_yet_valid"
	CodeGrantExpired    = "grant.expired"
	CodeIdentityUnknown = "identity.unknown"
	CodeIdentityInact   = "identity.not_active"
	CodeLevelTooLow     = "level.too_low"
	CodePrivRetired     = "privilege.retired"
	CodeScopeMismatch   = "scope.mismatch"
	CodeGroupRestricted = "group.restricted"
	CodeConstraintMiss  = "constraint.missing"
	CodeConstraintMatch = "constraint.mismatch"
	CodePoANotActive    = "poa.not_active"
	CodePoAEnded        = "poa.ended"
	CodePoANotYet       = "poa.not_yet_valid"
	CodePoAExpired      = "poa.expired"
)

// Policy is the prepared rights policy: both queries are prepared once, at
// start-up, and only evaluated afterwards. A Policy is safe for concurrent use.
type Policy struct {
	decision  rego.PreparedEvalQuery
	effective rego.PreparedEvalQuery
}

// NewPolicy loads and prepares the rights policy with the same loading as the
// admin engine (embedded policies, opts.ExtraDir on top), so an operator's
// directory may replace or extend policy/rights too. It fails when a policy
// does not compile or an entry point is missing.
func NewPolicy(ctx context.Context, opts authz.Options) (*Policy, error) {
	c, err := authz.Compile(opts)
	if err != nil {
		return nil, err
	}
	p := &Policy{}
	for _, q := range []struct {
		query    string
		generate func(*ast.Term, *rego.EvalContext) (any, error)
		into     *rego.PreparedEvalQuery
	}{
		{DecisionQuery, decisionFromTerm, &p.decision},
		{EffectiveQuery, verdictsFromTerm, &p.effective},
	} {
		if !c.Defines(q.query) {
			return nil, fmt.Errorf("rights: no rule defines %s in modules %v", q.query, c.Modules)
		}
		*q.into, err = rego.New(
			rego.Query(q.query),
			rego.Compiler(c.Compiler),
			rego.Store(c.Store),
			rego.GenerateJSON(q.generate),
		).PrepareForEval(ctx)
		if err != nil {
			return nil, fmt.Errorf("rights: prepare %s: %w", q.query, err)
		}
	}
	return p, nil
}

// ErrNoDecision means the policy gave no answer; the service then denies.
var ErrNoDecision = errors.New("rights: policy produced no decision")

var errMalformed = errors.New("rights: malformed policy result")

func (p *Policy) decide(ctx context.Context, input ast.Value) (Decision, error) {
	rs, err := p.decision.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return Decision{}, fmt.Errorf("rights: evaluate decision: %w", err)
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

// verdict is the policy's word on one grant, in input order.
type verdict struct {
	grant    string
	inEffect bool
	reasons  []Reason
}

func (p *Policy) verdicts(ctx context.Context, input ast.Value) ([]verdict, error) {
	rs, err := p.effective.Eval(ctx, rego.EvalParsedInput(input))
	if err != nil {
		return nil, fmt.Errorf("rights: evaluate effective grants: %w", err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, ErrNoDecision
	}
	v, ok := rs[0].Expressions[0].Value.([]verdict)
	if !ok {
		return nil, errMalformed
	}
	return v, nil
}

// decisionFromTerm reads the decision straight from its AST, sparing the
// conversion to generic Go maps that OPA would otherwise make.
func decisionFromTerm(t *ast.Term, _ *rego.EvalContext) (any, error) {
	obj, ok := t.Value.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("%w: decision is %v, not an object", errMalformed, ast.ValueName(t.Value))
	}
	allow, ok := valueOf[ast.Boolean](obj, keyAllow)
	if !ok {
		return nil, fmt.Errorf("%w: allow is not a boolean", errMalformed)
	}
	reasons, err := reasonsOf(obj)
	if err != nil {
		return nil, err
	}
	return Decision{Allow: bool(allow), Reasons: reasons}, nil
}

func verdictsFromTerm(t *ast.Term, _ *rego.EvalContext) (any, error) {
	arr, ok := t.Value.(*ast.Array)
	if !ok {
		return nil, fmt.Errorf("%w: effective is %v, not an array", errMalformed, ast.ValueName(t.Value))
	}
	out := make([]verdict, arr.Len())
	for i := range arr.Len() {
		obj, ok := arr.Elem(i).Value.(ast.Object)
		if !ok {
			return nil, fmt.Errorf("%w: verdict %d is not an object", errMalformed, i)
		}
		grant, okGrant := valueOf[ast.String](obj, keyGrant)
		inEffect, okEffect := valueOf[ast.Boolean](obj, keyInEffect)
		if !okGrant || !okEffect {
			return nil, fmt.Errorf("%w: verdict %d lacks grant or in_effect", errMalformed, i)
		}
		reasons, err := reasonsOf(obj)
		if err != nil {
			return nil, err
		}
		out[i] = verdict{grant: string(grant), inEffect: bool(inEffect), reasons: reasons}
	}
	return out, nil
}

var (
	keyAllow   = ast.StringTerm("allow")
	keyReasons = ast.StringTerm("reasons")
	keyCode    = ast.StringTerm("code")
	keyMessage = ast.StringTerm("message")
)

func reasonsOf(obj ast.Object) ([]Reason, error) {
	arr, ok := valueOf[*ast.Array](obj, keyReasons)
	if !ok {
		return nil, fmt.Errorf("%w: reasons is not an array", errMalformed)
	}
	out := make([]Reason, 0, arr.Len())
	for i := range arr.Len() {
		r, ok := arr.Elem(i).Value.(ast.Object)
		if !ok {
			return nil, fmt.Errorf("%w: reason %d is not an object", errMalformed, i)
		}
		code, okCode := valueOf[ast.String](r, keyCode)
		message, okMessage := valueOf[ast.String](r, keyMessage)
		if !okCode || !okMessage || code == "" {
			return nil, fmt.Errorf("%w: reason %d lacks a code or a message", errMalformed, i)
		}
		reason := Reason{Code: string(code), Message: string(message)}
		if g, ok := valueOf[ast.String](r, keyGrant); ok {
			reason.Grant = string(g)
		}
		out = append(out, reason)
	}
	return out, nil
}

func valueOf[V ast.Value](obj ast.Object, key *ast.Term) (V, bool) {
	var zero V
	t := obj.Get(key)
	if t == nil {
		return zero, false
	}
	v, ok := t.Value.(V)
	return v, ok
}
