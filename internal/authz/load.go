package authz

import (
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/loader"
)

// documents are the modules and data the engine evaluates. Modules are keyed by
// their path relative to the policy root, such as "admin/roles.rego", so that a
// file of an extra directory can replace the embedded file of the same path.
type documents struct {
	modules map[string]*ast.Module
	data    map[string]any
}

// loadFS loads the policies and data of fsys, leaving Rego tests out. A data
// file's directory is its path under data, as for `opa test`.
func loadFS(fsys fs.FS) (documents, error) {
	res, err := loader.NewFileLoader().
		WithFS(fsys).
		WithRegoVersion(ast.RegoV1).
		Filtered([]string{"."}, skipTests)
	if err != nil {
		return documents{}, err
	}
	return fromResult(res, ".")
}

// loadDir loads an extra directory (a plain directory or an unpacked bundle)
// with the same conventions as loadFS.
func loadDir(dir string) (documents, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return documents{}, err
	}
	if !info.IsDir() {
		return documents{}, fmt.Errorf("%s is not a directory", dir)
	}
	res, err := loader.NewFileLoader().
		WithRegoVersion(ast.RegoV1).
		Filtered([]string{dir}, skipTests)
	if err != nil {
		return documents{}, err
	}
	return fromResult(res, dir)
}

func fromResult(res *loader.Result, root string) (documents, error) {
	docs := documents{modules: make(map[string]*ast.Module, len(res.Modules)), data: res.Documents}
	// The loader keys modules by their path without leading or trailing slashes.
	root = loader.CleanPath(filepath.Clean(root))
	for name, file := range res.Modules {
		rel, err := filepath.Rel(root, name)
		if err != nil {
			return documents{}, fmt.Errorf("module %s: %w", name, err)
		}
		docs.modules[filepath.ToSlash(rel)] = file.Parsed
	}
	return docs, nil
}

// overlay puts extra on top of base: a module of the same relative path
// replaces the base module, any other module is added, and data is merged with
// extra winning wherever both define a value (objects merge, all else replaces).
func overlay(base, extra documents) documents {
	out := documents{modules: maps.Clone(base.modules), data: base.data}
	maps.Copy(out.modules, extra.modules)
	out.data = mergeData(base.data, extra.data)
	return out
}

func mergeData(base, extra map[string]any) map[string]any {
	out := maps.Clone(base)
	if out == nil {
		out = make(map[string]any, len(extra))
	}
	for k, v := range extra {
		bm, bok := out[k].(map[string]any)
		em, eok := v.(map[string]any)
		if bok && eok {
			out[k] = mergeData(bm, em)
			continue
		}
		out[k] = v
	}
	return out
}

// moduleNames returns the module paths in order, for stable errors.
func (d documents) moduleNames() []string {
	return slices.Sorted(maps.Keys(d.modules))
}

func skipTests(_ string, info fs.FileInfo, _ int) bool {
	return !info.IsDir() && strings.HasSuffix(info.Name(), "_test.rego")
}
