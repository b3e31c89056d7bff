package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erhverv/erhverv/internal/mitidsim"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func TestLoadSettingsDefaults(t *testing.T) {
	t.Parallel()
	s, err := loadSettings(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := settings{
		Addr:      "127.0.0.1:8090",
		Issuer:    "http://127.0.0.1:8090",
		StorePath: ".data/mitid-sim/identities.json",
		Client: mitidsim.Client{
			ID:                     "erhverv",
			Secret:                 "erhverv-dev-secret",
			RedirectURIs:           []string{"http://127.0.0.1:8080/login/callback", "http://localhost:8080/login/callback"},
			PostLogoutRedirectURIs: []string{"http://127.0.0.1:8080/", "http://localhost:8080/"},
			Profile:                "oiosaml",
		},
	}
	if s.Addr != want.Addr || s.Issuer != want.Issuer || s.StorePath != want.StorePath ||
		s.Client.ID != want.Client.ID || s.Client.Secret != want.Client.Secret || s.Client.Profile != want.Client.Profile ||
		!slices.Equal(s.Client.RedirectURIs, want.Client.RedirectURIs) ||
		!slices.Equal(s.Client.PostLogoutRedirectURIs, want.Client.PostLogoutRedirectURIs) {
		t.Errorf("defaults: got %+v, want %+v", s, want)
	}
}

func TestLoadSettingsFromEnv(t *testing.T) {
	t.Parallel()
	s, err := loadSettings(env(map[string]string{
		"MITID_SIM_ADDR":                      "0.0.0.0:9000",
		"MITID_SIM_ISSUER":                    "https://mitid-sim.example",
		"MITID_SIM_STORE":                     "/tmp/ids.json",
		"MITID_SIM_CLIENT_ID":                 "portal",
		"MITID_SIM_CLIENT_SECRET":             "",
		"MITID_SIM_REDIRECT_URIS":             " https://portal.example/cb , https://portal.example/cb2,",
		"MITID_SIM_POST_LOGOUT_REDIRECT_URIS": "https://portal.example/",
		"MITID_SIM_PROFILE":                   "idura",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr != "0.0.0.0:9000" || s.Issuer != "https://mitid-sim.example" || s.StorePath != "/tmp/ids.json" ||
		s.Client.ID != "portal" || s.Client.Secret != "" || s.Client.Profile != "idura" ||
		!slices.Equal(s.Client.RedirectURIs, []string{"https://portal.example/cb", "https://portal.example/cb2"}) ||
		!slices.Equal(s.Client.PostLogoutRedirectURIs, []string{"https://portal.example/"}) {
		t.Errorf("got %+v", s)
	}
	if s, _ := loadSettings(env(map[string]string{"MITID_SIM_ADDR": "127.0.0.1:9999"})); s.Issuer != "http://127.0.0.1:9999" {
		t.Errorf("issuer default: got %s, want http:// and the address", s.Issuer)
	}
}

func TestBadSettingsExit2(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"MITID_SIM_ADDR":                      "no-port",
		"MITID_SIM_ISSUER":                    "http://127.0.0.1:8090/path",
		"MITID_SIM_PROFILE":                   "nets",
		"MITID_SIM_REDIRECT_URIS":             "/relative",
		"MITID_SIM_POST_LOGOUT_REDIRECT_URIS": "ftp://x/",
	}
	for name, value := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			code := run(t.Context(), env(map[string]string{name: value}), &stderr)
			if code != 2 {
				t.Errorf("exit: got %d, want 2", code)
			}
			out := stderr.String()
			if strings.Count(out, "\n") != 1 || !strings.Contains(out, name) {
				t.Errorf("stderr: got %q, want one line naming %s", out, name)
			}
		})
	}
}

// TestServe starts the simulator on a free port, checks health and
// discovery, and shuts it down by ending the context.
func TestServe(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	s, err := loadSettings(env(map[string]string{
		"MITID_SIM_ADDR":   ln.Addr().String(),
		"MITID_SIM_ISSUER": issuer,
		"MITID_SIM_STORE":  filepath.Join(t.TempDir(), "ids.json"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	var logs safeBuffer
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, s, slog.New(slog.NewJSONHandler(&logs, nil))) }()

	var resp *http.Response
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err = http.Get(issuer + "/healthz"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz: got %d, want 200", resp.StatusCode)
	}
	resp, err = http.Get(issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var d struct{ Issuer string }
	if err := json.Unmarshal(body, &d); err != nil || d.Issuer != issuer {
		t.Errorf("discovery issuer: got %q (%v), want %s", d.Issuer, err, issuer)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: got %v, want a clean shutdown", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop after the context ended")
	}
	out := logs.String()
	if !strings.Contains(out, `"msg":"mitid-sim started"`) || !strings.Contains(out, `"msg":"mitid-sim stopping"`) {
		t.Errorf("logs: want start and stop lines; got %s", out)
	}
	if strings.Contains(out, "erhverv-dev-secret") {
		t.Error("logs contain the client secret")
	}
}

// safeBuffer is a log destination written from several goroutines.
type safeBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *safeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
