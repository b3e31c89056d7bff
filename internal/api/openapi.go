package api

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"sort"

	"github.com/gin-gonic/gin"
)

//go:embed openapi/*.json
var fragments embed.FS

// Document returns the OpenAPI 3.1 document: core.json with every other
// fragment's paths and components merged in. A path, operation or component
// defined twice is an error, so two areas never silently overwrite each other.
func Document() (map[string]any, error) {
	doc, err := readFragment("openapi/core.json")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(fragments, "openapi/*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, name := range names {
		if name == "openapi/core.json" {
			continue
		}
		frag, err := readFragment(name)
		if err != nil {
			return nil, err
		}
		for key := range frag {
			if key != "paths" && key != "components" {
				return nil, fmt.Errorf("openapi: %s: only paths and components belong in a fragment, not %q", name, key)
			}
		}
		if err := mergeInto(doc, "paths", frag["paths"], name); err != nil {
			return nil, err
		}
		comps, _ := frag["components"].(map[string]any)
		docComps, _ := doc["components"].(map[string]any)
		for section, v := range comps {
			if err := mergeInto(docComps, section, v, name); err != nil {
				return nil, err
			}
		}
	}
	return doc, nil
}

// DocumentJSON is Document, encoded.
func DocumentJSON() ([]byte, error) {
	doc, err := Document()
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(doc, "", "  ")
}

func readFragment(name string) (map[string]any, error) {
	b, err := fragments.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("openapi: %s: %w", name, err)
	}
	return m, nil
}

// mergeInto merges the object v into dst[key], refusing duplicates.
func mergeInto(dst map[string]any, key string, v any, from string) error {
	if v == nil {
		return nil
	}
	src, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("openapi: %s: %s must be an object", from, key)
	}
	target, _ := dst[key].(map[string]any)
	if target == nil {
		target = map[string]any{}
		dst[key] = target
	}
	for name, item := range src {
		if existing, dup := target[name]; dup {
			// Two fragments may add different methods of one path.
			a, okA := existing.(map[string]any)
			b, okB := item.(map[string]any)
			if key != "paths" || !okA || !okB {
				return fmt.Errorf("openapi: %s: %s %q is defined twice", from, key, name)
			}
			for method, op := range b {
				if _, dup := a[method]; dup {
					return fmt.Errorf("openapi: %s: %s %s is defined twice", from, method, name)
				}
				a[method] = op
			}
			continue
		}
		target[name] = item
	}
	return nil
}

func (a *API) openapi(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/json", a.doc)
}
