package api

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/google/uuid"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/erhverv/erhverv/internal/authz"
)

// PolicyQuery is the API policy's one entry point (policy/api).
const PolicyQuery = "data.erhverv.api.decision"

// Policy answers "may this client do this action on this resource?" with
// the Rego policy in policy/api, prepared once. Its answers depend only on
// the input (no clock), so they are memoised per distinct input: the API's
// hot paths ask the same few questions again and again.
type Policy struct {
	query rego.PreparedEvalQuery
	mu    sync.RWMutex
	memo  map[string]authz.Decision
}

// maxMemo bounds the memo; past it, the memo starts again empty.
const maxMemo = 50_000

// NewPolicy loads and prepares the API policy the way every policy of the
// platform is loaded (embedded, opts.ExtraDir on top).
func NewPolicy(ctx context.Context, opts authz.Options) (*Policy, error) {
	c, err := authz.Compile(opts)
	if err != nil {
		return nil, err
	}
	if !c.Defines(PolicyQuery) {
		return nil, fmt.Errorf("api: no rule defines %s in modules %v", PolicyQuery, c.Modules)
	}
	q, err := rego.New(rego.Query(PolicyQuery), rego.Compiler(c.Compiler), rego.Store(c.Store)).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("api: prepare %s: %w", PolicyQuery, err)
	}
	return &Policy{query: q, memo: map[string]authz.Decision{}}, nil
}

// Resource is what an action is on: the organisation owning it and, for
// questions about privileges, the organisation providing them.
type Resource struct {
	OrgID         uuid.UUID
	ProviderOrgID uuid.UUID
}

// Decide evaluates the policy for client doing action on res. An error
// comes with a denying decision.
func (p *Policy) Decide(ctx context.Context, client *Client, action string, res Resource) (authz.Decision, error) {
	key := memoKey(client, action, res)
	p.mu.RLock()
	d, ok := p.memo[key]
	p.mu.RUnlock()
	if ok {
		return d, nil
	}
	resource := map[string]any{"org_id": orgString(res.OrgID)}
	if res.ProviderOrgID != uuid.Nil {
		resource["provider_org_id"] = res.ProviderOrgID.String()
	}
	scopes := make([]any, len(client.Scopes))
	for i, s := range client.Scopes {
		scopes[i] = s
	}
	input := map[string]any{
		"client":   map[string]any{"id": client.ID.String(), "org_id": orgString(client.OrgID), "scopes": scopes},
		"action":   action,
		"resource": resource,
	}
	rs, err := p.query.Eval(ctx, rego.EvalInput(input))
	if err != nil {
		return authz.Decision{}, fmt.Errorf("api policy: %w", err)
	}
	d, err = decisionFrom(rs)
	if err != nil {
		return authz.Decision{}, err
	}
	p.mu.Lock()
	if len(p.memo) >= maxMemo {
		p.memo = map[string]authz.Decision{}
	}
	p.memo[key] = d
	p.mu.Unlock()
	return d, nil
}

func orgString(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}

func memoKey(c *Client, action string, res Resource) string {
	var b strings.Builder
	b.WriteString(c.OrgID.String())
	b.WriteByte('|')
	b.WriteString(strings.Join(c.Scopes, " "))
	b.WriteByte('|')
	b.WriteString(action)
	b.WriteByte('|')
	b.WriteString(res.OrgID.String())
	b.WriteByte('|')
	b.WriteString(res.ProviderOrgID.String())
	return b.String()
}

func decisionFrom(rs rego.ResultSet) (authz.Decision, error) {
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return authz.Decision{}, authz.ErrNoDecision
	}
	obj, ok := rs[0].Expressions[0].Value.(map[string]any)
	if !ok {
		return authz.Decision{}, authz.ErrNoDecision
	}
	allow, _ := obj["allow"].(bool)
	d := authz.Decision{Allow: allow}
	reasons, _ := obj["reasons"].([]any)
	for _, r := range reasons {
		m, _ := r.(map[string]any)
		code, _ := m["code"].(string)
		msg, _ := m["message"].(string)
		d.Reasons = append(d.Reasons, authz.Reason{Code: code, Message: msg})
	}
	return d, nil
}
