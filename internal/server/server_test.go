package server_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/erhverv/erhverv/internal/portal"
	"github.com/erhverv/erhverv/internal/server"
)

func newServer(ready map[string]server.ReadyCheck) http.Handler {
	s := server.New(server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "test", Ready: ready},
		publicPortal.Mount,
		func(r *gin.Engine) { r.GET("/boom", func(*gin.Context) { panic("boom") }) })
	return s.Handler()
}

func do(t *testing.T, h http.Handler, method, path string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	t.Parallel()
	h := newServer(nil)
	for _, path := range []string{"/", "/no-such-page", "/healthz"} {
		rec := do(t, h, http.MethodGet, path, nil)
		for header, want := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"X-Frame-Options":        "DENY",
			"Referrer-Policy":        "strict-origin-when-cross-origin",
		} {
			if got := rec.Header().Get(header); got != want {
				t.Errorf("GET %s: %s: got %q, want %q", path, header, got, want)
			}
		}
		csp := rec.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: CSP: got %q, want self-only scripts and nothing unsafe", path, csp)
		}
		if rec.Header().Get(server.RequestIDHeader) == "" {
			t.Errorf("GET %s: no %s header", path, server.RequestIDHeader)
		}
	}
}

func TestNotFoundIsAPage(t *testing.T) {
	t.Parallel()
	rec := do(t, newServer(nil), http.MethodGet, "/no-such-page", nil)
	if rec.Code != http.StatusNotFound {
		t.Fatalf("status: got %d, want 404", rec.Code)
	}
	if body := rec.Body.String(); !strings.Contains(body, `lang="da"`) || !strings.Contains(body, "<main") {
		t.Errorf("404 body: want a Danish page with a main landmark, got %.200s", body)
	}
	rec = do(t, newServer(nil), http.MethodGet, "/no-such-page?lang=en", nil)
	if !strings.Contains(rec.Body.String(), `lang="en"`) {
		t.Errorf("404 with ?lang=en: want an English page")
	}
	if c := rec.Header().Get("Set-Cookie"); !strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Lax") {
		t.Errorf("language cookie: got %q, want HttpOnly and SameSite=Lax", c)
	}
}

func TestPanicBecomes500AndServerLives(t *testing.T) {
	t.Parallel()
	h := newServer(nil)
	rec := do(t, h, http.MethodGet, "/boom", nil)
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("panic: got %d, want 500", rec.Code)
	}
	if strings.Contains(rec.Body.String(), "boom") {
		t.Errorf("the 500 body leaks the panic value: %q", rec.Body.String())
	}
	if rec := do(t, h, http.MethodGet, "/healthz", nil); rec.Code != http.StatusOK {
		t.Errorf("after a panic: /healthz got %d, want 200", rec.Code)
	}
}

func TestReadyzReportsFailingChecks(t *testing.T) {
	t.Parallel()
	h := newServer(map[string]server.ReadyCheck{
		"database": func(context.Context) error { return nil },
		"schema":   func(context.Context) error { return errors.New("schema version 3, want 5") },
	})
	rec := do(t, h, http.MethodGet, "/readyz", nil)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status: got %d, want 503", rec.Code)
	}
	if body := rec.Body.String(); !strings.Contains(body, `"schema":"failed"`) || !strings.Contains(body, `"database":"ok"`) {
		t.Errorf("body: got %s, want each check's result", body)
	}
	if strings.Contains(rec.Body.String(), "want 5") {
		t.Errorf("body: got %s, want no error details in the unauthenticated probe", rec.Body.String())
	}
}

func TestCrossOriginStateChangeIsRefused(t *testing.T) {
	t.Parallel()
	h := newServer(nil)
	rec := do(t, h, http.MethodPost, "/", http.Header{"Sec-Fetch-Site": {"cross-site"}})
	if rec.Code != http.StatusForbidden {
		t.Errorf("cross-site POST: got %d, want 403", rec.Code)
	}
	rec = do(t, h, http.MethodPost, "/", http.Header{"Sec-Fetch-Site": {"same-origin"}})
	if rec.Code == http.StatusForbidden {
		t.Errorf("same-origin POST: got 403, want it to reach the router")
	}
}

func TestRequestIDIsKeptWhenWellFormed(t *testing.T) {
	t.Parallel()
	h := newServer(nil)
	rec := do(t, h, http.MethodGet, "/healthz", http.Header{server.RequestIDHeader: {"abc-123"}})
	if got := rec.Header().Get(server.RequestIDHeader); got != "abc-123" {
		t.Errorf("request id: got %q, want abc-123", got)
	}
	rec = do(t, h, http.MethodGet, "/healthz", http.Header{server.RequestIDHeader: {"<script>"}})
	if got := rec.Header().Get(server.RequestIDHeader); got == "<script>" || got == "" {
		t.Errorf("malformed request id: got %q, want a fresh one", got)
	}
}

// publicPortal is the portal without sessions: its public pages only.
var publicPortal = func() *portal.Portal {
	p, err := portal.New(portal.Options{})
	if err != nil {
		panic(err)
	}
	return p
}()
