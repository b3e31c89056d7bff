package policy

import (
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestFSHoldsEveryPolicy keeps the embed list in step with the directory: every
// module and data file is embedded, and no test is.
func TestFSHoldsEveryPolicy(t *testing.T) {
	t.Parallel()

	want := files(t, os.DirFS("."), true)
	got := files(t, FS, false)
	for _, name := range want {
		if !slices.Contains(got, name) {
			t.Errorf("FS lacks %s; add it to the go:embed list", name)
		}
	}
	for _, name := range got {
		if !slices.Contains(want, name) {
			t.Errorf("FS holds %s, which is no policy or data file", name)
		}
	}
	if len(got) == 0 {
		t.Fatalf("got an empty FS, want the policies")
	}
}

// files lists the files of fsys, only the policies and data when onlyPolicies.
func files(t *testing.T, fsys fs.FS, onlyPolicies bool) []string {
	t.Helper()
	var names []string
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		policyFile := !strings.HasSuffix(name, "_test.rego") &&
			(strings.HasSuffix(name, ".rego") || strings.HasSuffix(name, ".json"))
		if policyFile || !onlyPolicies {
			names = append(names, name)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk: %v", err)
	}
	return names
}
