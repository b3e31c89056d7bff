package main

import (
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// newTestSP makes a service for the issuer at http://127.0.0.1:8070.
func newTestSP(t *testing.T, issuer string) *SP {
	t.Helper()
	sp, _ := newTestSPAt(t, issuer, "http://127.0.0.1:8070")
	return sp
}

// newTestSPAt makes a service for the issuer at baseURL, and returns what
// it logs.
func newTestSPAt(t *testing.T, issuer, baseURL string) (*SP, *safeBuffer) {
	t.Helper()
	logs := &safeBuffer{}
	sp, err := newSP(settings{
		Addr:         "127.0.0.1:8070",
		Issuer:       issuer,
		ClientID:     "demo-client",
		ClientSecret: "demo-secret",
		BaseURL:      baseURL,
	}, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return sp, logs
}

// unreachable is an issuer URL on a port where nothing listens.
func unreachable(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func get(t *testing.T, h http.Handler, target string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestHomeLoggedOut(t *testing.T) {
	t.Parallel()
	sp := newTestSP(t, unreachable(t))
	rec := get(t, sp.Handler(), "/")
	if rec.Code != http.StatusOK {
		t.Fatalf("status: got %d, want 200", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{
		"Log ind med MitID Erhverv",
		`href="/login" data-testid="login"`,
		`href="/login?acr=substantial" data-testid="login-substantial"`,
		`href="/login?prompt=login" data-testid="relogin"`,
		"Log ind (betydelig sikring)",
		"http://127.0.0.1:8070/callback",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("home page: want %q in it; got %s", want, body)
		}
	}
	h := rec.Header()
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "form-action 'self' http://127.0.0.1:") {
		t.Errorf("CSP: got %q", csp)
	}
	if h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("headers: got Cache-Control %q, Referrer-Policy %q", h.Get("Cache-Control"), h.Get("Referrer-Policy"))
	}

	css := get(t, sp.Handler(), "/style.css")
	if css.Code != http.StatusOK || !strings.HasPrefix(css.Header().Get("Content-Type"), "text/css") {
		t.Errorf("style.css: got %d %q, want 200 text/css", css.Code, css.Header().Get("Content-Type"))
	}
	if nf := get(t, sp.Handler(), "/nowhere"); nf.Code != http.StatusNotFound || !strings.Contains(nf.Body.String(), "Siden findes ikke") {
		t.Errorf("unknown page: got %d, want the 404 page", nf.Code)
	}
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	rec := get(t, newTestSP(t, unreachable(t)).Handler(), "/healthz")
	if rec.Code != http.StatusOK || rec.Body.String() != "ok" {
		t.Errorf("healthz: got %d %q, want 200 ok", rec.Code, rec.Body.String())
	}
}

func TestLoginIssuerUnreachable(t *testing.T) {
	t.Parallel()
	sp := newTestSP(t, unreachable(t))
	rec := get(t, sp.Handler(), "/login?acr=substantial")
	if rec.Code != http.StatusBadGateway {
		t.Fatalf("status: got %d, want 502", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{"Platformen er ikke tilgængelig", `href="/login?acr=substantial" data-testid="retry"`, "Prøv igen"} {
		if !strings.Contains(body, want) {
			t.Errorf("body: want %q in it; got %s", want, body)
		}
	}
	if len(rec.Result().Cookies()) != 0 {
		t.Errorf("cookies: got %v, want none before a login starts", rec.Result().Cookies())
	}
	if sp.platform != nil {
		t.Error("a failed discovery was kept")
	}
}

func TestLoginBadParameters(t *testing.T) {
	t.Parallel()
	sp := newTestSP(t, unreachable(t))
	for _, target := range []string{"/login?acr=extreme", "/login?prompt=none"} {
		if rec := get(t, sp.Handler(), target); rec.Code != http.StatusBadRequest {
			t.Errorf("%s: got %d, want 400", target, rec.Code)
		}
	}
}

func TestCallbackProviderError(t *testing.T) {
	t.Parallel()
	sp := newTestSP(t, unreachable(t))
	cases := []struct {
		query  string
		status int
	}{
		{"?error=access_denied&error_description=Brugeren+afbr%C3%B8d+<b>login</b>&state=x", http.StatusForbidden},
		{"?error=invalid_request&error_description=bad+acr_values", http.StatusBadRequest},
	}
	for _, tc := range cases {
		rec := get(t, sp.Handler(), "/callback"+tc.query)
		if rec.Code != tc.status {
			t.Errorf("%s: status got %d, want %d", tc.query, rec.Code, tc.status)
		}
		body := rec.Body.String()
		if !strings.Contains(body, `data-testid="provider-error"`) || !strings.Contains(body, `href="/" data-testid="home"`) {
			t.Errorf("%s: want the provider's error and a link home; got %s", tc.query, body)
		}
	}
	body := get(t, sp.Handler(), "/callback"+cases[0].query).Body.String()
	if !strings.Contains(body, "access_denied") || !strings.Contains(body, "Brugeren afbrød &lt;b&gt;login&lt;/b&gt;") {
		t.Errorf("error and description, escaped: got %s", body)
	}
}

func TestLogoutWithoutSession(t *testing.T) {
	t.Parallel()
	sp := newTestSP(t, unreachable(t))
	rec := httptest.NewRecorder()
	sp.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/logout", nil))
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/" {
		t.Errorf("logout: got %d to %q, want 303 to /", rec.Code, rec.Header().Get("Location"))
	}
	// A link cannot log anybody out: GET /logout is not a route.
	if rec := get(t, sp.Handler(), "/logout"); rec.Code != http.StatusNotFound {
		t.Errorf("GET /logout: got %d, want 404", rec.Code)
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

var _ io.Writer = (*safeBuffer)(nil)
