package scim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	filter "github.com/scim2/filter-parser/v2"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// fieldSpec is what a filterable attribute compares: a stored field of a
// kind ('s' string, 'b' boolean, 'u' id, 't' dateTime), or, for an
// attribute that has the same value on every resource (emails.type is
// "work"), that constant.
type fieldSpec struct {
	field    string
	kind     byte
	constant any
}

// userFilterFields are the filterable User attributes by lower-case path.
var userFilterFields = map[string]fieldSpec{
	"id":                 {field: postgres.SCIMFieldID, kind: 'u'},
	"externalid":         {field: postgres.SCIMFieldExternalID, kind: 's'},
	"username":           {field: postgres.SCIMFieldEmail, kind: 's'},
	"emails":             {field: postgres.SCIMFieldEmail, kind: 's'},
	"emails.value":       {field: postgres.SCIMFieldEmail, kind: 's'},
	"emails.type":        {constant: "work"},
	"emails.primary":     {constant: true},
	"name.givenname":     {field: postgres.SCIMFieldFirstName, kind: 's'},
	"name.familyname":    {field: postgres.SCIMFieldLastName, kind: 's'},
	"name.formatted":     {field: postgres.SCIMFieldFullName, kind: 's'},
	"displayname":        {field: postgres.SCIMFieldFullName, kind: 's'},
	"phonenumbers":       {field: postgres.SCIMFieldPhone, kind: 's'},
	"phonenumbers.value": {field: postgres.SCIMFieldPhone, kind: 's'},
	"active":             {field: postgres.SCIMFieldStatus, kind: 'b'},
	"meta.created":       {field: postgres.SCIMFieldCreated, kind: 't'},
	"meta.lastmodified":  {field: postgres.SCIMFieldModified, kind: 't'},
	strings.ToLower(schemaEnterprise) + ":employeenumber": {field: postgres.SCIMFieldEmployeeNumber, kind: 's'},
	strings.ToLower(schemaEnterprise) + ":department":     {field: postgres.SCIMFieldDepartment, kind: 's'},
}

// groupFilterFields are the filterable Group attributes by lower-case path.
var groupFilterFields = map[string]fieldSpec{
	"id":                {field: postgres.SCIMFieldID, kind: 'u'},
	"externalid":        {field: postgres.SCIMFieldExternalID, kind: 's'},
	"displayname":       {field: postgres.SCIMFieldGroupName, kind: 's'},
	"members":           {field: postgres.SCIMFieldMember, kind: 'u'},
	"members.value":     {field: postgres.SCIMFieldMember, kind: 'u'},
	"meta.created":      {field: postgres.SCIMFieldCreated, kind: 't'},
	"meta.lastmodified": {field: postgres.SCIMFieldModified, kind: 't'},
}

// operators are the comparisons each kind of attribute allows.
var operators = map[byte]string{'s': "eq ne co sw ew gt ge lt le pr", 'b': "eq ne pr", 'u': "eq ne pr", 't': "eq ne gt ge lt le pr"}

// parseFilter parses a filter parameter and translates it to stored
// fields; an empty filter is nil. Every failure is 400 invalidFilter.
func parseFilter(raw string, fields map[string]fieldSpec, core string) (*postgres.SCIMFilter, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	e, err := filter.ParseFilter([]byte(raw))
	if err != nil {
		return nil, invalidFilter(`The filter does not parse; write it as RFC 7644 §3.4.2.2 describes, e.g. userName eq "jens@example.dk".`)
	}
	return translator{fields: fields, core: core}.expr(e, "")
}

type translator struct {
	fields map[string]fieldSpec
	core   string
}

// attrKey is the lower-case path of an attribute, without the core
// schema's URN.
func attrKey(p filter.AttributePath, core string) string {
	name := p.AttributeName
	if sub := p.SubAttributeName(); sub != "" {
		name += "." + sub
	}
	if uri := p.URI(); uri != "" && !strings.EqualFold(uri, core) {
		name = uri + ":" + name
	}
	return strings.ToLower(name)
}

func (t translator) expr(e filter.Expression, parent string) (*postgres.SCIMFilter, error) {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		l, err := t.expr(e.Left, parent)
		if err != nil {
			return nil, err
		}
		r, err := t.expr(e.Right, parent)
		if err != nil {
			return nil, err
		}
		return &postgres.SCIMFilter{Op: strings.ToLower(string(e.Operator)), Sub: []*postgres.SCIMFilter{l, r}}, nil
	case *filter.NotExpression:
		x, err := t.expr(e.Expression, parent)
		if err != nil {
			return nil, err
		}
		return &postgres.SCIMFilter{Op: "not", Sub: []*postgres.SCIMFilter{x}}, nil
	case *filter.ValuePath:
		if parent != "" {
			return nil, invalidFilter("A value filter cannot be nested in another.")
		}
		return t.expr(e.ValueFilter, attrKey(e.AttributePath, t.core))
	case *filter.AttributeExpression:
		return t.compare(e, parent)
	}
	return nil, invalidFilter("The filter has an expression this service does not support.")
}

func (t translator) compare(e *filter.AttributeExpression, parent string) (*postgres.SCIMFilter, error) {
	key := attrKey(e.AttributePath, t.core)
	if parent != "" {
		key = parent + "." + key
	}
	spec, ok := t.fields[key]
	if !ok {
		return nil, invalidFilter(fmt.Sprintf("The filter compares %s, which is not an attribute one can filter on here.", e.AttributePath))
	}
	op := strings.ToLower(string(e.Operator))
	if spec.constant != nil {
		ok, err := compareValue(spec.constant, op, e.CompareValue, false)
		if err != nil {
			return nil, invalidFilter(fmt.Sprintf("%s: %v", e.AttributePath, err))
		}
		return &postgres.SCIMFilter{Op: map[bool]string{true: "true", false: "false"}[ok]}, nil
	}
	if !slices.Contains(strings.Fields(operators[spec.kind]), op) {
		return nil, invalidFilter(fmt.Sprintf("%s cannot be compared with %s.", e.AttributePath, op))
	}
	f := &postgres.SCIMFilter{Op: op, Field: spec.field}
	if op == "pr" {
		return f, nil
	}
	s, isString := e.CompareValue.(string)
	switch spec.kind {
	case 'b': // active: pending and active users are active
		v, err := boolOf(e.CompareValue)
		if err != nil {
			return nil, invalidFilter(fmt.Sprintf("%s is compared with true or false.", e.AttributePath))
		}
		status := func(s string) *postgres.SCIMFilter {
			return &postgres.SCIMFilter{Op: "eq", Field: spec.field, Value: s}
		}
		if v == (op == "eq") {
			return &postgres.SCIMFilter{Op: "or", Sub: []*postgres.SCIMFilter{status(domain.UserPending), status(domain.UserActive)}}, nil
		}
		return status(domain.UserDeactivated), nil
	case 'u':
		if !isString {
			return nil, invalidFilter(fmt.Sprintf("%s is compared with a string.", e.AttributePath))
		}
		id, err := uuid.Parse(s)
		if err != nil {
			id = uuid.Nil // no resource has it
		}
		f.Value = id
	case 't':
		ts, err := time.Parse(time.RFC3339, s)
		if !isString || err != nil {
			return nil, invalidFilter(fmt.Sprintf("%s is compared with a date and time such as 2026-01-31T12:00:00Z.", e.AttributePath))
		}
		f.Value = ts
	default:
		if !isString {
			return nil, invalidFilter(fmt.Sprintf("%s is compared with a string.", e.AttributePath))
		}
		f.Value = s
	}
	return f, nil
}

// boolOf accepts a boolean, or "true" or "false" in any case.
func boolOf(v any) (bool, error) {
	switch v := v.(type) {
	case bool:
		return v, nil
	case string:
		switch strings.ToLower(v) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, fmt.Errorf("%v is not a boolean", v)
}

// compareValue evaluates "have op want" in memory: strings compare
// without regard to case unless caseExact, booleans with eq and ne.
func compareValue(have any, op string, want any, caseExact bool) (bool, error) {
	if op == "pr" {
		s, isString := have.(string)
		return have != nil && (!isString || s != ""), nil
	}
	if hb, ok := have.(bool); ok {
		wb, err := boolOf(want)
		if err != nil || (op != "eq" && op != "ne") {
			return false, fmt.Errorf("compare a boolean with eq or ne and true or false")
		}
		return (hb == wb) == (op == "eq"), nil
	}
	ws, ok := want.(string)
	if !ok {
		return false, fmt.Errorf("compare with a string")
	}
	hs, _ := have.(string)
	if !caseExact {
		hs, ws = strings.ToLower(hs), strings.ToLower(ws)
	}
	switch op {
	case "eq":
		return hs == ws, nil
	case "ne":
		return hs != ws, nil
	case "co":
		return strings.Contains(hs, ws), nil
	case "sw":
		return strings.HasPrefix(hs, ws), nil
	case "ew":
		return strings.HasSuffix(hs, ws), nil
	case "gt":
		return hs > ws, nil
	case "ge":
		return hs >= ws, nil
	case "lt":
		return hs < ws, nil
	case "le":
		return hs <= ws, nil
	}
	return false, fmt.Errorf("unknown operator %s", op)
}
