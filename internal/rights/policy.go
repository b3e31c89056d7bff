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

// Reason codes (policy/rights/reasons.rego). The policy gives all but
// CodeIdentityUnknown, which the service gives for a user that does not exist.
const (
	// A grant allows, by how the identity holds it.
	CodeGrantDirect    = "grant.direct"
	CodeGrantGroup     = "grant.group"
	CodeGrantPoA       = "grant.poa"
	CodeGrantPoAPerson = "grant.poa_person"

	// Denials about the identity or the question as a whole.
	CodeIdentityUnknown   = "identity.unknown"
	CodeIdentityNotActive = "identity.not_active"
	CodeGrantNone         = "grant.none"

	// Why one grant does not allow.
	CodeGrantSource        = "grant.source"
	CodeGrantMalformed     = "grant.malformed"
	CodePrivilegeRetired   = "privilege.retired"
	CodeLevelTooLow        = "level.too_low"
	CodeGrantNotYetValid   = "grant.not_yet_valid"
	CodeGrantExpired       = "grant.expired"
	CodePoANotActive       = "poa.not_active"
	CodePoAEnded           = "poa.ended"
	CodePoANotYetValid     = "poa.not_yet_valid"
	CodePoAExpired         = "poa.expired"
	CodeScopeMismatch      = "scope.mismatch"
	CodeGroupRestricted    = "group.restricted"
	CodeConstraintMissing  = "constraint.missing"
	CodeConstraintMismatch = "constraint.mismatch"
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

// verdict is the policy's word on one grant.
type verdict struct {
	judged   bool
	inEffect bool
	reasons  []Reason
}

// verdicts evaluates the effective grants; the result is indexed like
// input.grants.
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
	allow, ok := authz.ObjectValue[ast.Boolean](obj, keyAllow)
	if !ok {
		return nil, fmt.Errorf("%w: allow is not a boolean", errMalformed)
	}
	reasons, err := reasonsOf(obj)
	if err != nil {
		return nil, err
	}
	return Decision{Allow: bool(allow), Reasons: reasons}, nil
}

// verdictsFromTerm reads {"in_effect": {index: reason}, "not_in_effect":
// {index: [reasons]}} into verdicts by grant index. The reasons of grants in
// effect name no grant; Effective names it.
func verdictsFromTerm(t *ast.Term, _ *rego.EvalContext) (any, error) {
	obj, ok := t.Value.(ast.Object)
	if !ok {
		return nil, fmt.Errorf("%w: effective is %v, not an object", errMalformed, ast.ValueName(t.Value))
	}
	in, okIn := authz.ObjectValue[ast.Object](obj, keyInEffect)
	out, okOut := authz.ObjectValue[ast.Object](obj, keyNotInEffect)
	if !okIn || !okOut {
		return nil, fmt.Errorf("%w: effective lacks in_effect or not_in_effect", errMalformed)
	}
	verdicts := make([]verdict, in.Len()+out.Len())
	at := func(k *ast.Term) (*verdict, error) {
		n, ok := k.Value.(ast.Number)
		i, isInt := n.Int()
		if !ok || !isInt || i < 0 || i >= len(verdicts) || verdicts[i].judged {
			return nil, fmt.Errorf("%w: effective has a bad or repeated grant index %v", errMalformed, k)
		}
		verdicts[i].judged = true
		return &verdicts[i], nil
	}
	err := in.Iter(func(k, v *ast.Term) error {
		r, ok := v.Value.(ast.Object)
		if !ok {
			return fmt.Errorf("%w: reason of grant %v is not an object", errMalformed, k)
		}
		reason, err := reasonOf(r)
		if err != nil {
			return err
		}
		vd, err := at(k)
		if err != nil {
			return err
		}
		vd.inEffect, vd.reasons = true, []Reason{reason}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = out.Iter(func(k, v *ast.Term) error {
		arr, ok := v.Value.(*ast.Array)
		if !ok {
			return fmt.Errorf("%w: reasons of grant %v are not an array", errMalformed, k)
		}
		reasons, err := reasonList(arr)
		if err != nil {
			return err
		}
		vd, err := at(k)
		if err != nil {
			return err
		}
		vd.reasons = reasons
		return nil
	})
	if err != nil {
		return nil, err
	}
	return verdicts, nil
}

var (
	keyAllow   = ast.StringTerm("allow")
	keyReasons = ast.StringTerm("reasons")
	keyCode    = ast.StringTerm("code")
	keyMessage = ast.StringTerm("message")

	keyInEffect    = ast.StringTerm("in_effect")
	keyNotInEffect = ast.StringTerm("not_in_effect")
)

func reasonsOf(obj ast.Object) ([]Reason, error) {
	arr, ok := authz.ObjectValue[*ast.Array](obj, keyReasons)
	if !ok {
		return nil, fmt.Errorf("%w: reasons is not an array", errMalformed)
	}
	return reasonList(arr)
}

func reasonList(arr *ast.Array) ([]Reason, error) {
	out := make([]Reason, 0, arr.Len())
	for i := range arr.Len() {
		r, ok := arr.Elem(i).Value.(ast.Object)
		if !ok {
			return nil, fmt.Errorf("%w: reason %d is not an object", errMalformed, i)
		}
		reason, err := reasonOf(r)
		if err != nil {
			return nil, err
		}
		out = append(out, reason)
	}
	return out, nil
}

func reasonOf(r ast.Object) (Reason, error) {
	code, okCode := authz.ObjectValue[ast.String](r, keyCode)
	message, okMessage := authz.ObjectValue[ast.String](r, keyMessage)
	if !okCode || !okMessage || code == "" {
		return Reason{}, fmt.Errorf("%w: a reason lacks a code or a message", errMalformed)
	}
	reason := Reason{Code: string(code), Message: string(message)}
	if g, ok := authz.ObjectValue[ast.String](r, keyGrant); ok {
		reason.Grant = string(g)
	}
	return reason, nil
}
