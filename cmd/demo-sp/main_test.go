package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// required is the smallest valid environment.
var required = map[string]string{"DEMO_SP_CLIENT_ID": "demo", "DEMO_SP_CLIENT_SECRET": "s3cret"}

func with(extra map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range required {
		m[k] = v
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestLoadSettingsDefaults(t *testing.T) {
	t.Parallel()
	s, err := loadSettings(env(required))
	if err != nil {
		t.Fatal(err)
	}
	want := settings{
		Addr:         "127.0.0.1:8070",
		Issuer:       "http://127.0.0.1:8080",
		ClientID:     "demo",
		ClientSecret: "s3cret",
		BaseURL:      "http://127.0.0.1:8070",
	}
	if s != want {
		t.Errorf("defaults: got %+v, want %+v", s, want)
	}
	if s.RedirectURL() != "http://127.0.0.1:8070/callback" || s.PostLogoutURL() != "http://127.0.0.1:8070/" {
		t.Errorf("URLs: got %s and %s", s.RedirectURL(), s.PostLogoutURL())
	}
}

func TestLoadSettingsFromEnv(t *testing.T) {
	t.Parallel()
	s, err := loadSettings(env(with(map[string]string{
		"DEMO_SP_ADDR":          "0.0.0.0:9000",
		"DEMO_SP_ISSUER":        "https://erhverv.example",
		"DEMO_SP_CLIENT_SECRET": " spaces kept ",
		"DEMO_SP_BASE_URL":      "https://demo.example/sp/",
	})))
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr != "0.0.0.0:9000" || s.Issuer != "https://erhverv.example" || s.ClientSecret != " spaces kept " ||
		s.RedirectURL() != "https://demo.example/sp/callback" || s.PostLogoutURL() != "https://demo.example/sp/" {
		t.Errorf("got %+v", s)
	}
	if s, _ := loadSettings(env(with(map[string]string{"DEMO_SP_ADDR": "127.0.0.1:9999"}))); s.BaseURL != "http://127.0.0.1:9999" {
		t.Errorf("base URL default: got %s, want http:// and the address", s.BaseURL)
	}
}

func TestBadSettingsExit2(t *testing.T) {
	t.Parallel()
	cases := map[string]map[string]string{
		"DEMO_SP_ADDR":          with(map[string]string{"DEMO_SP_ADDR": "no-port"}),
		"DEMO_SP_ISSUER":        with(map[string]string{"DEMO_SP_ISSUER": "ftp://erhverv.example"}),
		"DEMO_SP_BASE_URL":      with(map[string]string{"DEMO_SP_BASE_URL": "http://demo.example/?x=1"}),
		"DEMO_SP_CLIENT_ID":     {"DEMO_SP_CLIENT_SECRET": "s3cret", "DEMO_SP_CLIENT_ID": "  "},
		"DEMO_SP_CLIENT_SECRET": {"DEMO_SP_CLIENT_ID": "demo"},
	}
	for name, vars := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			if code := run(t.Context(), env(vars), &stderr); code != 2 {
				t.Errorf("exit: got %d, want 2", code)
			}
			out := stderr.String()
			if strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "demo-sp: "+name+": ") {
				t.Errorf("stderr: got %q, want one line naming %s", out, name)
			}
		})
	}
}

// TestServe starts the service with the platform down: it must start
// anyway, answer health checks and stop cleanly.
func TestServe(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := loadSettings(env(with(map[string]string{"DEMO_SP_ADDR": ln.Addr().String(), "DEMO_SP_ISSUER": unreachable(t)})))
	if err != nil {
		t.Fatal(err)
	}
	var logs safeBuffer
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, s, slog.New(slog.NewTextHandler(&logs, nil))) }()

	resp, err := http.Get(s.BaseURL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("healthz: got %d, want 200", resp.StatusCode)
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
	for _, want := range []string{"demo-sp started", "path=/healthz status=200", "demo-sp stopping"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs: want %q; got %s", want, out)
		}
	}
	if strings.Contains(out, "s3cret") {
		t.Error("logs contain the client secret")
	}
}
