package seed_test

import (
	"os"
	"strings"
	"testing"

	"github.com/erhverv/erhverv/internal/seed"
)

// TestMakefileStartsTheDemoServiceWithItsClient: `make run` hands the demo
// service the client the seed registers; the two must not drift apart.
func TestMakefileStartsTheDemoServiceWithItsClient(t *testing.T) {
	raw, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	mk := string(raw)
	for _, want := range []string{
		"DEMO_SP_CLIENT_ID := " + seed.DemoServiceClientID.String(),
		"DEMO_SP_CLIENT_SECRET := " + seed.DemoServiceSecret,
	} {
		if !strings.Contains(mk, want) {
			t.Errorf("the Makefile lacks %q", want)
		}
	}
}
