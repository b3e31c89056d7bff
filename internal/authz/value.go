package authz

import (
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// Keys of the input document, shared by every input: terms are never mutated.
var (
	keyAction           = ast.StringTerm("action")
	keyActiveOrgAdmins  = ast.StringTerm("active_org_admins")
	keyContext          = ast.StringTerm("context")
	keyID               = ast.StringTerm("id")
	keyIsActiveOrgAdmin = ast.StringTerm("is_active_org_admin")
	keyNow              = ast.StringTerm("now")
	keyOrgID            = ast.StringTerm("org_id")
	keyOwnerID          = ast.StringTerm("owner_id")
	keyRequestKind      = ast.StringTerm("request_kind")
	keyRequesterID      = ast.StringTerm("requester_id")
	keyResource         = ast.StringTerm("resource")
	keyRole             = ast.StringTerm("role")
	keyRoles            = ast.StringTerm("roles")
	keyStatus           = ast.StringTerm("status")
	keySubject          = ast.StringTerm("subject")
	keyType             = ast.StringTerm("type")
	keyUnitID           = ast.StringTerm("unit_id")
	keyUserID           = ast.StringTerm("user_id")
	keyValidFrom        = ast.StringTerm("valid_from")
	keyValidTo          = ast.StringTerm("valid_to")
)

// vocabulary holds ready terms for the strings inputs repeat (actions, roles,
// statuses, request kinds, resource types), sparing two allocations each. It is
// built once from the loaded catalogue and only read afterwards.
type vocabulary map[string]*ast.Term

func newVocabulary(data map[string]any) vocabulary {
	words := []string{
		StatusActive, RequestKindPrivilege, RequestKindAdminRole,
		"org", "unit", "user", "admin_role", "group", "itsystem", "privilege",
		"assignment", "rights_request", "poa", "audit", "api_client",
	}
	for _, section := range []string{"actions", "roles"} {
		m, _ := lookup(data, "erhverv", "catalogue", section).(map[string]any)
		for w := range m {
			words = append(words, w)
		}
	}
	v := make(vocabulary, len(words))
	for _, w := range words {
		v[w] = ast.StringTerm(w)
	}
	return v
}

// term returns the term of s, shared when s is in the vocabulary.
func (v vocabulary) term(s string) *ast.Term {
	if t, ok := v[s]; ok {
		return t
	}
	return ast.StringTerm(s)
}

// lookup follows path through nested JSON objects; nil when any step is missing.
func lookup(doc any, path ...string) any {
	for _, p := range path {
		m, ok := doc.(map[string]any)
		if !ok {
			return nil
		}
		doc = m[p]
	}
	return doc
}

// value builds the policy input as an AST value directly, the same value the
// JSON encoding of in would give (TestValueMatchesJSON holds them equal), but
// without encoding to JSON and decoding it again on every decision.
func (in *Input) value(v vocabulary) ast.Value {
	return ast.NewObject(
		ast.Item(keySubject, ast.NewTerm(in.Subject.value(v))),
		ast.Item(keyAction, v.term(in.Action)),
		ast.Item(keyResource, ast.NewTerm(in.Resource.value(v))),
		ast.Item(keyContext, ast.NewTerm(in.Context.value())),
	)
}

func (s *Subject) value(v vocabulary) ast.Value {
	roles := ast.NullTerm()
	if s.Roles != nil {
		terms := make([]*ast.Term, len(s.Roles))
		for i := range s.Roles {
			terms[i] = ast.NewTerm(s.Roles[i].value(v))
		}
		roles = ast.ArrayTerm(terms...)
	}
	return ast.NewObject(
		ast.Item(keyUserID, ast.StringTerm(s.UserID)),
		ast.Item(keyOrgID, ast.StringTerm(s.OrgID)),
		ast.Item(keyStatus, v.term(s.Status)),
		ast.Item(keyRoles, roles),
	)
}

func (r *RoleGrant) value(v vocabulary) ast.Value {
	var buf [5][2]*ast.Term
	items := append(buf[:0],
		ast.Item(keyRole, v.term(r.Role)),
		ast.Item(keyOrgID, ast.StringTerm(r.OrgID)),
	)
	items = appendString(items, keyUnitID, r.UnitID)
	items = appendTime(items, keyValidFrom, r.ValidFrom)
	items = appendTime(items, keyValidTo, r.ValidTo)
	return ast.NewObject(items...)
}

func (r *Resource) value(v vocabulary) ast.Value {
	var buf [9][2]*ast.Term
	items := append(buf[:0],
		ast.Item(keyType, v.term(r.Type)),
		ast.Item(keyOrgID, ast.StringTerm(r.OrgID)),
	)
	items = appendString(items, keyID, r.ID)
	items = appendString(items, keyUnitID, r.UnitID)
	items = appendString(items, keyOwnerID, r.OwnerID)
	items = appendString(items, keyRequesterID, r.RequesterID)
	if r.RequestKind != "" {
		items = append(items, ast.Item(keyRequestKind, v.term(r.RequestKind)))
	}
	if r.Role != "" {
		items = append(items, ast.Item(keyRole, v.term(r.Role)))
	}
	if r.IsActiveOrgAdmin != nil {
		items = append(items, ast.Item(keyIsActiveOrgAdmin, ast.InternedTerm(*r.IsActiveOrgAdmin)))
	}
	return ast.NewObject(items...)
}

func (c *Context) value() ast.Value {
	return ast.NewObject(
		ast.Item(keyNow, ast.StringTerm(c.Now.Format(time.RFC3339Nano))),
		ast.Item(keyActiveOrgAdmins, ast.InternedTerm(c.ActiveOrgAdmins)),
	)
}

// appendString adds an optional string the way omitempty encodes it: absent when empty.
func appendString(items [][2]*ast.Term, key *ast.Term, s string) [][2]*ast.Term {
	if s == "" {
		return items
	}
	return append(items, ast.Item(key, ast.StringTerm(s)))
}

// appendTime adds an optional time the way omitzero encodes it: absent when zero.
func appendTime(items [][2]*ast.Term, key *ast.Term, t time.Time) [][2]*ast.Term {
	if t.IsZero() {
		return items
	}
	return append(items, ast.Item(key, ast.StringTerm(t.Format(time.RFC3339Nano))))
}
