package api

import (
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

func TestOpenAPIDocumentIsValid31(t *testing.T) {
	t.Parallel()
	v := documentValidator(t)
	if ok, errs := v.ValidateDocument(); !ok {
		t.Fatalf("the merged document is not valid OpenAPI 3.1: %s", validationText(errs))
	}
	doc, err := Document()
	if err != nil {
		t.Fatal(err)
	}
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi %v, want 3.1.0", doc["openapi"])
	}
}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z_]+)`)

// TestRoutesAndDocumentAgree fails when a route under /api/v1 is not in the
// document or a documented operation has no route: the document cannot drift
// from the code in either direction.
func TestRoutesAndDocumentAgree(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	e.API.opts.Logger = slog.New(slog.DiscardHandler)
	e.API.Mount(r)
	var routes []string
	for _, rt := range r.Routes() {
		if path, ok := strings.CutPrefix(rt.Path, "/api/v1"); ok {
			routes = append(routes, rt.Method+" "+ginParam.ReplaceAllString(path, "{$1}"))
		}
	}
	doc, err := Document()
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, item := range doc["paths"].(map[string]any) {
		for method := range item.(map[string]any) {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options":
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	sort.Strings(routes)
	sort.Strings(documented)
	for _, r := range routes {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s is not in the OpenAPI document", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(routes, d) {
			t.Errorf("the OpenAPI document has %s, but no route serves it", d)
		}
	}
	if len(routes) == 0 {
		t.Fatal("no routes under /api/v1")
	}
}
