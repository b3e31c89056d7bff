package api

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/pages"
)

// refDoc reads an OpenAPI 3.1 document (as decoded JSON) for the reference
// page: operations grouped by tag, and schemas with their local $refs
// resolved into trees a person can read.
type refDoc struct{ root map[string]any }

// refMethods are the operations' methods in the order the page lists them.
var refMethods = []string{"get", "post", "put", "patch", "delete", "head", "options"}

// refMaxDepth stops a schema tree that would otherwise grow without bound.
const refMaxDepth = 8

// refObject, refList and refString read decoded JSON: the zero value when
// v is something else.
func refObject(v any) map[string]any { m, _ := v.(map[string]any); return m }
func refList(v any) []any            { l, _ := v.([]any); return l }
func refString(v any) string         { s, _ := v.(string); return s }

// serverPath is the path of the document's first server ("/api/v1").
func (d refDoc) serverPath() string {
	for _, s := range refList(d.root["servers"]) {
		if u := refString(refObject(s)["url"]); u != "" {
			return strings.TrimSuffix(u, "/")
		}
	}
	return "/api/v1"
}

// resolve follows local $refs ("#/components/schemas/User") to the object
// they name; name is the last reference's name, "" when v was inline.
func (d refDoc) resolve(v any) (obj map[string]any, name string) {
	obj = refObject(v)
	for range 10 { // a chain of references longer than this is a loop
		ref := refString(obj["$ref"])
		if ref == "" {
			return obj, name
		}
		target := any(d.root)
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
			target = refObject(target)[part]
		}
		obj, name = refObject(target), ref[strings.LastIndex(ref, "/")+1:]
	}
	return obj, name
}

// tags groups every operation by its first tag, in the order of the
// document's tags list; tags it does not list follow, by name.
func (d refDoc) tags(lang string) []pages.APITag {
	byName := map[string]*pages.APITag{}
	var order []string
	add := func(name, description string) *pages.APITag {
		if t, ok := byName[name]; ok {
			return t
		}
		t := &pages.APITag{Name: name, Anchor: "tag-" + refSlug(name), Description: description}
		byName[name] = t
		order = append(order, name)
		return t
	}
	for _, t := range refList(d.root["tags"]) {
		add(refString(refObject(t)["name"]), refString(refObject(t)["description"]))
	}
	paths := refObject(d.root["paths"])
	for _, path := range slices.Sorted(maps.Keys(paths)) {
		item, _ := d.resolve(paths[path])
		for _, method := range refMethods {
			op := refObject(item[method])
			if op == nil {
				continue
			}
			tag := "other"
			if tags := refList(op["tags"]); len(tags) > 0 {
				tag = refString(tags[0])
			}
			t := add(tag, "")
			t.Operations = append(t.Operations, d.operation(lang, d.serverPath()+path, method, item, op))
		}
	}
	var out []pages.APITag
	for _, name := range order {
		if t := byName[name]; len(t.Operations) > 0 {
			out = append(out, *t)
		}
	}
	return out
}

var refSlugUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)

func refSlug(s string) string { return strings.Trim(refSlugUnsafe.ReplaceAllString(s, "-"), "-") }

// operation is one operation for the page: its parameters (the path's and
// its own), body, responses and the scopes its security asks for.
func (d refDoc) operation(lang, path, method string, item, op map[string]any) pages.APIOperation {
	o := pages.APIOperation{Method: strings.ToUpper(method), Path: path, Summary: refString(op["summary"]),
		Description: refString(op["description"]), Deprecated: op["deprecated"] == true}
	o.Anchor = "op-" + refSlug(refString(op["operationId"]))
	if o.Anchor == "op-" {
		o.Anchor = "op-" + refSlug(method+"-"+path)
	}
	security, ok := op["security"]
	if !ok {
		security = d.root["security"]
	}
	for _, req := range refList(security) {
		for _, scopes := range refObject(req) {
			for _, s := range refList(scopes) {
				if !slices.Contains(o.Scopes, refString(s)) {
					o.Scopes = append(o.Scopes, refString(s))
				}
			}
		}
	}
	o.Parameters = d.parameters(lang, refList(item["parameters"]), refList(op["parameters"]))
	if body, _ := d.resolve(op["requestBody"]); body != nil {
		ct, media := refContent(body)
		o.Body = &pages.APIBody{ContentType: ct, Required: body["required"] == true}
		if schema, ok := media["schema"]; ok {
			n := d.schema(lang, "", schema, false, 0, nil)
			o.Body.Schema = &n
		}
	}
	responses := refObject(op["responses"])
	for _, status := range slices.Sorted(maps.Keys(responses)) {
		r, _ := d.resolve(responses[status])
		ct, media := refContent(r)
		resp := pages.APIResponse{Status: status, Description: refString(r["description"]), ContentType: ct,
			Headers: slices.Sorted(maps.Keys(refObject(r["headers"])))}
		_, schemaName := d.resolve(media["schema"])
		resp.Problem = ct == "application/problem+json" || schemaName == "Problem"
		if schema, ok := media["schema"]; ok && !resp.Problem {
			n := d.schema(lang, "", schema, false, 0, nil)
			resp.Schema = &n
		}
		o.Responses = append(o.Responses, resp)
	}
	return o
}

// refContent is a body's or response's media type: JSON when offered, else
// the first by name.
func refContent(v map[string]any) (string, map[string]any) {
	content := refObject(v["content"])
	if len(content) == 0 {
		return "", nil
	}
	for _, ct := range []string{"application/json", "application/problem+json", "application/scim+json"} {
		if m, ok := content[ct]; ok {
			return ct, refObject(m)
		}
	}
	ct := slices.Sorted(maps.Keys(content))[0]
	return ct, refObject(content[ct])
}

// parameters merges the path's parameters with the operation's, which win
// on the same name and location; path parameters first, then by location
// and name.
func (d refDoc) parameters(lang string, pathLevel, opLevel []any) []pages.APIParameter {
	byKey := map[string]pages.APIParameter{}
	for _, list := range [][]any{pathLevel, opLevel} {
		for _, raw := range list {
			p, _ := d.resolve(raw)
			name, in := refString(p["name"]), refString(p["in"])
			if name == "" {
				continue
			}
			n := d.schema(lang, name, p["schema"], false, 0, nil)
			byKey[in+"\x00"+name] = pages.APIParameter{Name: name, In: in, Type: n.Type, Required: p["required"] == true,
				Description: strings.TrimSpace(refString(p["description"]) + " " + strings.Join(n.Notes, "; "))}
		}
	}
	rank := map[string]int{"path": 0, "query": 1, "header": 2, "cookie": 3}
	return slices.SortedFunc(maps.Values(byKey), func(a, b pages.APIParameter) int {
		if rank[a.In] != rank[b.In] {
			return rank[a.In] - rank[b.In]
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// schema writes one schema as a node: its type in JSON Schema's words
// (named schemas by name, arrays as array<...>, maps as map<string, ...>),
// its constraints as notes, and the fields of an object within. seen holds
// the named schemas being written, so a recursive one stops.
func (d refDoc) schema(lang, name string, raw any, required bool, depth int, seen []string) pages.SchemaNode {
	s, ref := d.resolve(raw)
	// OpenAPI 3.1 lets a $ref carry its own description, which says more
	// about the field than the referenced schema's.
	n := pages.SchemaNode{Name: name, Required: required, Description: refString(refObject(raw)["description"])}
	if n.Description == "" {
		n.Description = refString(s["description"])
	}
	if ref != "" && slices.Contains(seen, ref) || depth > refMaxDepth {
		n.Type = strings.TrimSpace(ref + " ↑")
		return n
	}
	if ref != "" {
		seen = append(slices.Clip(seen), ref)
	}
	s = d.mergeAllOf(s)
	n.Notes = refNotes(lang, s)
	types := refTypes(s)
	switch {
	case s["oneOf"] != nil || s["anyOf"] != nil:
		key := "oneOf"
		if s["oneOf"] == nil {
			key = "anyOf"
		}
		n.Type = key
		for _, v := range refList(s[key]) {
			n.Children = append(n.Children, d.schema(lang, "", v, false, depth+1, seen))
		}
	case slices.Contains(types, "array"):
		item := d.schema(lang, "", s["items"], false, depth+1, seen)
		n.Type = "array<" + item.Type + ">"
		n.Notes = append(n.Notes, item.Notes...)
		n.Children = item.Children
	case slices.Contains(types, "object") || s["properties"] != nil:
		n.Type = "object"
		req := refList(s["required"])
		props := refObject(s["properties"])
		for _, p := range slices.Sorted(maps.Keys(props)) {
			n.Children = append(n.Children, d.schema(lang, p, props[p], slices.Contains(req, any(p)), depth+1, seen))
		}
		if extra := refObject(s["additionalProperties"]); extra != nil && len(props) == 0 {
			val := d.schema(lang, "", extra, false, depth+1, seen)
			n.Type, n.Children = "map<string, "+val.Type+">", val.Children
		}
	case len(types) > 0:
		n.Type = types[0]
		if f := refString(s["format"]); f != "" {
			n.Type += " (" + f + ")"
		}
	default:
		n.Type = "any"
	}
	if ref != "" && (n.Type == "object" || strings.HasPrefix(n.Type, "oneOf") || strings.HasPrefix(n.Type, "anyOf")) {
		n.Type = ref
	}
	if len(types) > 1 && slices.Contains(types, "null") {
		n.Type += " | null"
	}
	return n
}

// mergeAllOf folds allOf's schemas into one: their properties, required
// fields and type, with s's own taking precedence.
func (d refDoc) mergeAllOf(s map[string]any) map[string]any {
	all := refList(s["allOf"])
	if len(all) == 0 {
		return s
	}
	out := map[string]any{}
	props := map[string]any{}
	var req []any
	own := maps.Clone(s)
	delete(own, "allOf")
	for _, part := range append(slices.Clone(all), any(own)) {
		p, _ := d.resolve(part)
		p = d.mergeAllOf(p)
		for k, v := range p {
			if k != "allOf" && k != "properties" && k != "required" {
				out[k] = v
			}
		}
		maps.Copy(props, refObject(p["properties"]))
		req = append(req, refList(p["required"])...)
	}
	if len(props) > 0 {
		out["properties"], out["type"] = props, "object"
	}
	out["required"] = req
	return out
}

// refTypes is a schema's type: one name, or 3.1's list (["string", "null"]).
func refTypes(s map[string]any) []string {
	if t := refString(s["type"]); t != "" {
		return []string{t}
	}
	var out []string
	for _, t := range refList(s["type"]) {
		if refString(t) == "null" {
			continue
		}
		out = append(out, refString(t))
	}
	if slices.Contains(refList(s["type"]), any("null")) {
		out = append(out, "null")
	}
	return out
}

// refNotes are a schema's constraints worth knowing when writing a value.
func refNotes(lang string, s map[string]any) []string {
	var out []string
	note := func(key string, v any) {
		if v != nil {
			out = append(out, web.T(lang, "apiref.schema."+key)+" "+refValue(v))
		}
	}
	if enum := refList(s["enum"]); len(enum) > 0 {
		vals := make([]string, len(enum))
		for i, v := range enum {
			vals[i] = refValue(v)
		}
		out = append(out, web.T(lang, "apiref.schema.enum")+" "+strings.Join(vals, ", "))
	}
	note("const", s["const"])
	note("default", s["default"])
	note("minimum", s["minimum"])
	note("maximum", s["maximum"])
	note("min_length", s["minLength"])
	note("max_length", s["maxLength"])
	note("min_items", s["minItems"])
	note("max_items", s["maxItems"])
	note("pattern", s["pattern"])
	for _, flag := range [][2]string{{"readOnly", "read_only"}, {"writeOnly", "write_only"}, {"deprecated", "deprecated"}} {
		if s[flag[0]] == true {
			out = append(out, web.T(lang, "apiref.schema."+flag[1]))
		}
	}
	return out
}

// refValue writes a value from the document as JSON, strings bare.
func refValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if f, ok := v.(float64); ok && f == float64(int64(f)) {
		return fmt.Sprint(int64(f))
	}
	b, _ := json.Marshal(v)
	return string(b)
}
