package api

import (
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/gin-gonic/gin"

	"github.com/erhverv/erhverv/internal/server"
	"github.com/erhverv/erhverv/web/pages"
)

// referencePage fetches the reference page from a server that mounts only
// it, as cmd/erhverv would, in lang.
func referencePage(t *testing.T, lang string) (*http.Response, *goquery.Document) {
	t.Helper()
	base, _ := url.Parse("https://erhverv.example")
	a := &API{opts: Options{BaseURL: base}, log: slog.New(slog.DiscardHandler)}
	srv := server.New(server.Options{Logger: slog.New(slog.DiscardHandler)}, func(r *gin.Engine) { a.mountReference(r) })
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, ReferencePath+"?lang="+lang, nil)
	srv.Handler().ServeHTTP(rec, req)
	doc, err := goquery.NewDocumentFromReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rec.Result(), doc
}

func TestReferenceShowsEveryOperationAndProblem(t *testing.T) {
	t.Parallel()
	resp, page := referencePage(t, "en")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET %s: got %d %s, want an HTML page", ReferencePath, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	doc, err := Document()
	if err != nil {
		t.Fatal(err)
	}
	// Every documented operation is on the page, in its tag's section.
	ops := 0
	for path, item := range refObject(doc["paths"]) {
		for _, method := range refMethods {
			op := refObject(refObject(item)[method])
			if op == nil {
				continue
			}
			ops++
			tag := "other"
			if tags := refList(op["tags"]); len(tags) > 0 {
				tag = refString(tags[0])
			}
			id := "operation-op-" + refSlug(refString(op["operationId"]))
			sel := page.Find(`[data-testid="tag-tag-` + refSlug(tag) + `"] [data-testid="` + id + `"]`)
			if sel.Length() != 1 {
				t.Errorf("%s %s (tag %s): got %d elements %s in the tag's section, want 1", method, path, tag, sel.Length(), id)
				continue
			}
			if got, want := strings.TrimSpace(sel.Find(`[data-testid="operation-path"]`).Text()), "/api/v1"+path; got != want {
				t.Errorf("%s: path: got %q, want %q", id, got, want)
			}
			if got, want := strings.TrimSpace(sel.Find(`[data-testid="operation-method"]`).Text()), strings.ToUpper(method); got != want {
				t.Errorf("%s: method: got %q, want %q", id, got, want)
			}
		}
	}
	if ops == 0 {
		t.Fatal("the document has no operations")
	}
	// Each problem code the API answers with has its anchor, and the type
	// URI of its problem documents leads there.
	a := &API{opts: Options{BaseURL: &url.URL{Scheme: "https", Host: "erhverv.example"}}}
	for _, code := range slices.Sorted(maps.Keys(problemTitles)) {
		typ, err := url.Parse(a.problemType(code))
		if err != nil || typ.Path != ReferencePath || typ.Fragment != "problem-"+code {
			t.Errorf("problem type of %s: got %q, want %s#problem-%s", code, a.problemType(code), ReferencePath, code)
		}
		anchor := page.Find(`[id="problem-` + code + `"]`)
		if anchor.Length() != 1 || !strings.Contains(anchor.Next().Text(), ".") {
			t.Errorf("anchor #problem-%s: got %d with explanation %q, want one explained", code, anchor.Length(), anchor.Next().Text())
		}
	}
	if got := page.Find(`dt[id^="problem-"]`).Length(); got != len(problemCodes) {
		t.Errorf("problem codes explained: got %d, want %d", got, len(problemCodes))
	}
	// The guide: the token endpoint, every scope, and the document itself.
	if got := page.Find(`[data-testid="apiref-token"]`).Text(); !strings.Contains(got, "https://erhverv.example/oauth2/token") {
		t.Errorf("token section lacks the token endpoint: %q", got)
	}
	if got := page.Find(`[data-testid="apiref-scopes"] tbody tr`).Length(); got != 9 {
		t.Errorf("scopes explained: got %d, want 9", got)
	}
	if href, _ := page.Find(`[data-testid="openapi-link"]`).Attr("href"); href != "/api/v1/openapi.json" {
		t.Errorf("OpenAPI link: got %q", href)
	}
	// Nothing comes from another origin, and there is no login chrome.
	page.Find("[src], [href]").Each(func(_ int, s *goquery.Selection) {
		for _, attr := range []string{"src", "href"} {
			if v, ok := s.Attr(attr); ok && !strings.HasPrefix(v, "/") && !strings.HasPrefix(v, "#") && !strings.HasPrefix(v, "?") {
				t.Errorf("%s=%q leaves the origin", attr, v)
			}
		}
	})
	if page.Find(`[data-testid="header-user"], nav.nav`).Length() != 0 {
		t.Error("the public page shows the signed-in chrome")
	}
}

func TestReferenceSpeaksDanishAndEnglish(t *testing.T) {
	t.Parallel()
	for lang, want := range map[string]string{"da": "Sådan får klienten et token", "en": "How the client gets a token"} {
		_, page := referencePage(t, lang)
		if got := strings.TrimSpace(page.Find("#token").Text()); got != want {
			t.Errorf("%s: token heading: got %q, want %q", lang, got, want)
		}
		if got, _ := page.Find("html").Attr("lang"); got != lang {
			t.Errorf("%s: html lang: got %q", lang, got)
		}
	}
}

func TestReferenceSchemasResolveReferences(t *testing.T) {
	t.Parallel()
	doc := map[string]any{
		"servers":  []any{map[string]any{"url": "/api/v1"}},
		"security": []any{map[string]any{"bearer": []any{}}},
		"paths": map[string]any{
			"/things/{id}": map[string]any{
				"parameters": []any{map[string]any{"$ref": "#/components/parameters/ID"}},
				"patch": map[string]any{
					"tags": []any{"things"}, "operationId": "updateThing", "security": []any{map[string]any{"bearer": []any{"things:write"}}},
					"parameters": []any{map[string]any{"name": "If-Match", "in": "header", "required": true, "schema": map[string]any{"type": "string"}}},
					"requestBody": map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{
						"schema": map[string]any{"allOf": []any{map[string]any{"$ref": "#/components/schemas/Base"},
							map[string]any{"properties": map[string]any{"note": map[string]any{"type": []any{"string", "null"}, "maxLength": float64(200)}}}}}}}},
					"responses": map[string]any{
						"200": map[string]any{"description": "The thing.", "headers": map[string]any{"ETag": map[string]any{}},
							"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Thing"}}}},
						"404": map[string]any{"$ref": "#/components/responses/NotFound"},
					},
				},
			},
		},
		"components": map[string]any{
			"parameters": map[string]any{"ID": map[string]any{"name": "id", "in": "path", "required": true,
				"schema": map[string]any{"type": "string", "format": "uuid"}}},
			"responses": map[string]any{"NotFound": map[string]any{"description": "Not here.",
				"content": map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}}}},
			"schemas": map[string]any{
				"Base": map[string]any{"type": "object", "required": []any{"name"},
					"properties": map[string]any{"name": map[string]any{"type": "string", "minLength": float64(1)}}},
				"Thing": map[string]any{"type": "object", "properties": map[string]any{
					"kind":  map[string]any{"type": "string", "enum": []any{"a", "b"}},
					"parts": map[string]any{"type": "array", "items": map[string]any{"$ref": "#/components/schemas/Thing"}},
				}},
				"Problem": map[string]any{"type": "object"},
			},
		},
	}
	tags := refDoc{root: doc}.tags("en")
	if len(tags) != 1 || len(tags[0].Operations) != 1 {
		t.Fatalf("tags: got %+v, want one tag with one operation", tags)
	}
	op := tags[0].Operations[0]
	if op.Anchor != "op-updateThing" || op.Path != "/api/v1/things/{id}" || op.Method != "PATCH" || !slices.Equal(op.Scopes, []string{"things:write"}) {
		t.Errorf("operation: got %s %s %s %v", op.Anchor, op.Method, op.Path, op.Scopes)
	}
	if got := paramLine(op.Parameters); got != "id path string (uuid) true; If-Match header string true" {
		t.Errorf("parameters: got %q", got)
	}
	if got := tree(*op.Body.Schema); got != "object{name:string*[characters at least: 1], note:string | null[characters at most: 200]}" {
		t.Errorf("body: got %q", got)
	}
	if len(op.Responses) != 2 || op.Responses[0].Status != "200" || !slices.Equal(op.Responses[0].Headers, []string{"ETag"}) {
		t.Fatalf("responses: got %+v", op.Responses)
	}
	if got := tree(*op.Responses[0].Schema); got != "Thing{kind:string[one of: a, b], parts:array<Thing ↑>}" {
		t.Errorf("200: got %q", got)
	}
	if r := op.Responses[1]; !r.Problem || r.Schema != nil || r.Description != "Not here." {
		t.Errorf("404: got %+v, want a problem linking to the errors section", r)
	}
}

func paramLine(ps []pages.APIParameter) string {
	var parts []string
	for _, p := range ps {
		req := "false"
		if p.Required {
			req = "true"
		}
		parts = append(parts, strings.Join([]string{p.Name, p.In, p.Type, req}, " "))
	}
	return strings.Join(parts, "; ")
}

// tree writes a schema node compactly: type, * when required, [notes],
// {children}.
func tree(n pages.SchemaNode) string {
	s := n.Type
	if n.Name != "" {
		s = n.Name + ":" + s
	}
	if n.Required {
		s += "*"
	}
	if len(n.Notes) > 0 {
		s += "[" + strings.Join(n.Notes, "; ") + "]"
	}
	if len(n.Children) > 0 {
		var kids []string
		for _, c := range n.Children {
			kids = append(kids, tree(c))
		}
		s += "{" + strings.Join(kids, ", ") + "}"
	}
	return s
}
