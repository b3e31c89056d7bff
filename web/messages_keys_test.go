package web

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// usedKey finds message keys written as literals where pages and handlers
// ask for a text: t("key"), T(lang, "key") and web.T(x, "key").
var usedKey = regexp.MustCompile(`(?:\bt\(|\bT\([^,()]+,\s*)"([a-z_]+(?:\.[a-z_0-9]+)+)"\)`)

// TestEveryUsedKeyHasATranslation reads the page templates and the portal's
// handlers and fails for a literal key the catalogue lacks, which would
// otherwise show the bare key on a page.
func TestEveryUsedKeyHasATranslation(t *testing.T) {
	t.Parallel()
	var files []string
	for _, pattern := range []string{"pages/*.templ", "layout/*.templ", "../internal/portal/*.go"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d source files to check: %v", len(files), files)
	}
	checked := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range usedKey.FindAllStringSubmatch(string(b), -1) {
			checked++
			for _, lang := range []string{LangDanish, LangEnglish} {
				if _, ok := messages[lang][m[1]]; !ok {
					t.Errorf("%s uses %q, which the %q catalogue lacks", f, m[1], lang)
				}
			}
		}
	}
	if checked < 100 {
		t.Errorf("checked only %d keys; the pattern no longer finds how keys are written", checked)
	}
}
