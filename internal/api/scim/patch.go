package scim

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	filter "github.com/scim2/filter-parser/v2"
)

// patchRequest is a PATCH body (RFC 7644 §3.5.2).
type patchRequest struct {
	Schemas    []string  `json:"schemas"`
	Operations []patchOp `json:"Operations"`
}

type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path"`
	Value json.RawMessage `json:"value"`
}

// check refuses a body that is no PatchOp message. Operation names are
// case-insensitive: Entra ID writes "Replace".
func (r *patchRequest) check() error {
	if !hasSchema(r.Schemas, schemaPatchOp) {
		return invalidSyntax("A PATCH body is a " + schemaPatchOp + " message.")
	}
	if len(r.Operations) == 0 {
		return invalidSyntax("The PATCH has no Operations.")
	}
	for i, o := range r.Operations {
		if op := strings.ToLower(o.Op); op != "add" && op != "remove" && op != "replace" {
			return invalidSyntax(fmt.Sprintf("Operations[%d]: op must be add, remove or replace.", i))
		}
	}
	return nil
}

// value decodes the operation's value; hasValue is false when it is
// missing or null.
func (o patchOp) value() (v any, hasValue bool, err error) {
	if len(o.Value) == 0 || string(o.Value) == "null" {
		return nil, false, nil
	}
	if err := json.Unmarshal(o.Value, &v); err != nil {
		return nil, false, invalidSyntax("An operation's value is not valid JSON.")
	}
	return v, true, nil
}

// eachTarget calls fn with every (path, value) an operation names: its
// path, or, without one, each attribute of its value object, where an
// extension's object stands for each of its attributes.
func (o patchOp) eachTarget(extensions []string, fn func(path string, value any, hasValue bool) error) error {
	v, hasValue, err := o.value()
	if err != nil {
		return err
	}
	if o.Path != "" {
		return fn(o.Path, v, hasValue)
	}
	if strings.EqualFold(o.Op, "remove") {
		return noTarget("A remove operation needs a path.")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return invalidValue("An operation without a path takes an object of attributes as its value.")
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if i := slices.IndexFunc(extensions, func(urn string) bool { return strings.EqualFold(urn, k) }); i >= 0 {
			sub, ok := obj[k].(map[string]any)
			if !ok {
				return invalidValue(k + " takes an object of its attributes.")
			}
			for _, k2 := range slices.Sorted(maps.Keys(sub)) {
				if err := fn(extensions[i]+":"+k2, sub[k2], true); err != nil {
					return err
				}
			}
			continue
		}
		if err := fn(k, obj[k], true); err != nil {
			return err
		}
	}
	return nil
}

// document is a resource in its JSON form, which PATCH operations change
// in place before it is read back as a PUT body.
type document struct {
	root       map[string]any
	core       string
	attrs      []attribute
	extensions map[string][]attribute
}

func (d *document) apply(o patchOp) error {
	op := strings.ToLower(o.Op)
	return o.eachTarget(slices.Collect(maps.Keys(d.extensions)), func(path string, value any, hasValue bool) error {
		return d.applyPath(op, path, value, hasValue)
	})
}

// target is what a path names: the attribute, in its container, with the
// value filter and the sub-attribute, if any. nil means nothing to do:
// the attribute is read-only or not stored.
type target struct {
	container map[string]any
	attr      *attribute
	sub       *attribute
	filter    filter.Expression
}

func resolve(raw string, containerOf func(uri string) (map[string]any, []attribute, bool)) (*target, error) {
	p, err := filter.ParsePath([]byte(raw))
	if err != nil {
		return nil, invalidPath(fmt.Sprintf("%q is not a valid attribute path.", raw))
	}
	container, attrs, ok := containerOf(p.AttributePath.URI())
	if !ok {
		return nil, invalidPath(fmt.Sprintf("%s is not a schema of this resource.", p.AttributePath.URI()))
	}
	t := &target{container: container, attr: findAttr(attrs, p.AttributePath.AttributeName), filter: p.ValueExpression}
	if t.attr == nil {
		return nil, invalidPath(fmt.Sprintf("%s is not an attribute of this resource.", p.AttributePath.AttributeName))
	}
	if t.attr.Mutability == "readOnly" {
		return nil, nil
	}
	subName := p.AttributePath.SubAttributeName()
	if subName == "" {
		subName = p.SubAttributeName()
	}
	if subName != "" {
		if t.sub = findAttr(t.attr.SubAttributes, subName); t.sub == nil {
			return nil, invalidPath(fmt.Sprintf("%s has no sub-attribute %s.", t.attr.Name, subName))
		}
		if t.sub.Mutability == "readOnly" {
			return nil, nil
		}
	}
	if t.filter != nil && !t.attr.MultiValued {
		return nil, invalidPath(t.attr.Name + " has no values to filter.")
	}
	return t, nil
}

func (d *document) applyPath(op, raw string, value any, hasValue bool) error {
	t, err := resolve(raw, func(uri string) (map[string]any, []attribute, bool) {
		if uri == "" || strings.EqualFold(uri, d.core) {
			return d.root, d.attrs, true
		}
		for urn, attrs := range d.extensions {
			if strings.EqualFold(uri, urn) {
				m, _ := d.root[urn].(map[string]any)
				if m == nil && op != "remove" {
					m = map[string]any{}
					d.root[urn] = m
				}
				return m, attrs, true
			}
		}
		return nil, nil, false
	})
	if err != nil || t == nil || t.container == nil {
		return err
	}
	if op != "remove" && !hasValue {
		return invalidValue(fmt.Sprintf("The %s operation on %s needs a value.", op, raw))
	}
	switch {
	case t.filter != nil:
		return t.applyFiltered(op, value)
	case t.sub != nil:
		t.applySub(op, value)
		return nil
	}
	return t.applyWhole(op, value, hasValue)
}

func (t *target) applyWhole(op string, value any, hasValue bool) error {
	a, key := t.attr, t.attr.Name
	switch {
	case op == "remove" && a.MultiValued && hasValue:
		// Entra ID removes values by listing them.
		drop := asList(value)
		t.container[key] = slices.DeleteFunc(asList(t.container[key]), func(el any) bool { return containsValue(drop, el) })
	case op == "remove":
		deleteField(t.container, key)
	case a.MultiValued && op == "replace":
		t.container[key] = asList(value)
	case a.MultiValued:
		list := asList(t.container[key])
		for _, v := range asList(value) {
			if !containsValue(list, v) {
				list = append(list, v)
			}
		}
		t.container[key] = list
	case a.Type == "complex":
		obj, ok := value.(map[string]any)
		if !ok {
			return invalidValue(a.Name + " takes an object.")
		}
		cur, _ := t.container[key].(map[string]any)
		if cur == nil {
			cur = map[string]any{}
		}
		mergeInto(cur, obj, a.SubAttributes)
		setField(t.container, key, cur)
	default:
		setField(t.container, key, value)
	}
	return nil
}

func (t *target) applySub(op string, value any) {
	a, key, sub := t.attr, t.attr.Name, t.sub.Name
	if a.MultiValued {
		list := asList(t.container[key])
		if len(list) == 0 && op != "remove" {
			list = []any{map[string]any{sub: value}}
		}
		for _, el := range list {
			if obj, ok := el.(map[string]any); ok {
				setOrDeleteField(obj, sub, op, value)
			}
		}
		t.container[key] = list
		return
	}
	cur, _ := t.container[key].(map[string]any)
	if cur == nil {
		if op == "remove" {
			return
		}
		cur = map[string]any{}
	}
	setOrDeleteField(cur, sub, op, value)
	setField(t.container, key, cur)
}

// applyFiltered changes the values that match the filter. An add or
// replace that matches none, with a filter of equalities such as
// [type eq "work"], adds a value with them (as Entra ID expects).
func (t *target) applyFiltered(op string, value any) error {
	a, key := t.attr, t.attr.Name
	var kept []any
	matched := false
	for _, el := range asList(t.container[key]) {
		obj, _ := el.(map[string]any)
		ok, err := matchElement(obj, t.filter, a.SubAttributes)
		if err != nil {
			return invalidPath(fmt.Sprintf("The filter of %s: %v.", a.Name, err))
		}
		if !ok {
			kept = append(kept, el)
			continue
		}
		matched = true
		if op == "remove" && t.sub == nil {
			continue
		}
		if err := t.changeValue(obj, op, value); err != nil {
			return err
		}
		kept = append(kept, obj)
	}
	if !matched && op != "remove" {
		obj, ok := equalities(t.filter, a.SubAttributes)
		if !ok {
			return noTarget(fmt.Sprintf("No value of %s matches the filter.", a.Name))
		}
		if err := t.changeValue(obj, op, value); err != nil {
			return err
		}
		kept = append(kept, obj)
	}
	t.container[key] = kept
	return nil
}

func (t *target) changeValue(obj map[string]any, op string, value any) error {
	if t.sub != nil {
		setOrDeleteField(obj, t.sub.Name, op, value)
		return nil
	}
	v, ok := value.(map[string]any)
	if !ok {
		return invalidValue(t.attr.Name + " values are objects.")
	}
	mergeInto(obj, v, t.attr.SubAttributes)
	return nil
}

// matchElement evaluates a value filter on one value of a multi-valued
// attribute.
func matchElement(obj map[string]any, e filter.Expression, subs []attribute) (bool, error) {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		l, err := matchElement(obj, e.Left, subs)
		if err != nil {
			return false, err
		}
		r, err := matchElement(obj, e.Right, subs)
		if e.Operator == filter.AND {
			return l && r, err
		}
		return l || r, err
	case *filter.NotExpression:
		x, err := matchElement(obj, e.Expression, subs)
		return !x, err
	case *filter.AttributeExpression:
		s := findAttr(subs, e.AttributePath.AttributeName)
		if s == nil || e.AttributePath.SubAttribute != nil || e.AttributePath.URIPrefix != nil {
			return false, fmt.Errorf("%s is not a sub-attribute", e.AttributePath)
		}
		have := field(obj, s.Name)
		if s.Type == "boolean" {
			b, _ := boolOf(have)
			have = b
		}
		return compareValue(have, strings.ToLower(string(e.Operator)), e.CompareValue, s.CaseExact)
	}
	return false, fmt.Errorf("the filter is too complex")
}

// equalities returns the sub-attributes a filter of eq comparisons joined
// by and fixes, as a new value.
func equalities(e filter.Expression, subs []attribute) (map[string]any, bool) {
	switch e := e.(type) {
	case *filter.AttributeExpression:
		if s := findAttr(subs, e.AttributePath.AttributeName); s != nil && strings.EqualFold(string(e.Operator), "eq") {
			return map[string]any{s.Name: e.CompareValue}, true
		}
	case *filter.LogicalExpression:
		l, lok := equalities(e.Left, subs)
		r, rok := equalities(e.Right, subs)
		if e.Operator == filter.AND && lok && rok {
			for k, v := range r {
				l[k] = v
			}
			return l, true
		}
	}
	return nil, false
}

func asList(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	}
	return []any{v}
}

// containsValue reports whether list has a value equal to el (for
// complex values: with the same "value" sub-attribute).
func containsValue(list []any, el any) bool {
	key := func(v any) any {
		if obj, ok := v.(map[string]any); ok {
			v = field(obj, "value")
		}
		if s, ok := v.(string); ok {
			return strings.ToLower(s)
		}
		return v
	}
	k := key(el)
	return slices.ContainsFunc(list, func(v any) bool { return key(v) == k })
}

// field reads an attribute without regard to the case of its name.
func field(obj map[string]any, name string) any {
	for k, v := range obj {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

func deleteField(obj map[string]any, name string) {
	for k := range obj {
		if strings.EqualFold(k, name) {
			delete(obj, k)
		}
	}
}

func setField(obj map[string]any, name string, v any) {
	deleteField(obj, name)
	obj[name] = v
}

func setOrDeleteField(obj map[string]any, name, op string, v any) {
	if op == "remove" {
		deleteField(obj, name)
	} else {
		setField(obj, name, v)
	}
}

// mergeInto sets the writable sub-attributes of src in dst.
func mergeInto(dst, src map[string]any, subs []attribute) {
	for k, v := range src {
		if s := findAttr(subs, k); s != nil && s.Mutability != "readOnly" {
			setField(dst, s.Name, v)
		}
	}
}
