package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/erhverv/erhverv/internal/mitidsim"
)

const substantialACR = "https://data.gov.dk/concept/core/nsis/loa/Substantial"

// simLoginPage asks the simulator for a login at Substantial and returns
// its login page, as a browser following the redirects gets it.
func simLoginPage(t *testing.T) ([]byte, *url.URL, string) {
	t.Helper()
	sim, _ := mitidsim.NewTestServer(t, mitidsim.Client{ID: "svc", Secret: "s", RedirectURIs: []string{"http://127.0.0.1:1/cb"}})
	q := url.Values{"client_id": {"svc"}, "redirect_uri": {"http://127.0.0.1:1/cb"}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"state-123"}, "acr_values": {substantialACR}}
	resp, err := http.Get(sim.Issuer() + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/login" {
		t.Fatalf("the simulator answered %d at %s, want its login page", resp.StatusCode, resp.Request.URL)
	}
	return page, resp.Request.URL, sim.Issuer()
}

// TestParseSimLoginPage fills the simulator's real login page: a person it
// offers at the level asked logs in; one below the level, an authenticator
// below it, and someone or something the page does not offer are refused.
func TestParseSimLoginPage(t *testing.T) {
	t.Parallel()
	page, pageURL, issuer := simLoginPage(t)
	cases := []struct {
		name, subject, authenticator, wantErr string
	}{
		{"a demo person with the app", "demo-lars", "code_app", ""},
		{"a demo person with a chip", "demo-henrik", "chip", ""},
		{"an identity below the level", "demo-low", "code_app", "cannot log in here"},
		{"an authenticator below the level", "demo-lars", "password", "below the level"},
		{"no such person", "demo-nobody", "code_app", `no identity "demo-nobody"`},
		{"no such authenticator", "demo-lars", "fingerprint", `no authenticator "fingerprint"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			form, err := parseSimLoginPage(page, pageURL, c.subject, c.authenticator)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got error %v, want one saying %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := issuer + "/login"; form.action != want {
				t.Errorf("action %q, want %q", form.action, want)
			}
			if got, want := form.values.Get("id"), pageURL.Query().Get("id"); got == "" || got != want {
				t.Errorf("id %q, want the request's %q", got, want)
			}
			if form.values.Get("subject") != c.subject || form.values.Get("authenticator") != c.authenticator {
				t.Errorf("form %v, want subject %s and authenticator %s", form.values, c.subject, c.authenticator)
			}
		})
	}
}

func TestParseSimLoginPageRefusals(t *testing.T) {
	t.Parallel()
	u, _ := url.Parse("http://sim.example/login?id=1")
	cases := []struct{ name, page, wantErr string }{
		{"an error message", `<form method="post" action="/login"><input type="hidden" name="id" value="1">
			<button name="subject" value="demo-lars">Log ind</button></form>
			<p class="error" data-testid="login-error">Login mislykkedes.</p>`, `"Login mislykkedes."`},
		{"no login form", `<p data-testid="message">Login-forespørgslen findes ikke</p>`, "no login form"},
		{"no request id", `<form method="post" action="/login"><select name="authenticator"><option value="code_app">App</option></select>
			<button name="subject" value="demo-lars">Log ind</button></form>`, "no request id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseSimLoginPage([]byte(c.page), u, "demo-lars", "code_app")
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("got error %v, want one saying %q", err, c.wantErr)
			}
		})
	}
}

func TestPageMessage(t *testing.T) {
	t.Parallel()
	cases := []struct{ contentType, body, want string }{
		{"text/plain; charset=utf-8", "The requested redirect_uri is missing.\nMore.", ": The requested redirect_uri is missing."},
		{"text/plain", strings.Repeat("æ", 130), ": " + strings.Repeat("æ", 120) + "…"},
		{"text/html; charset=utf-8", `<p class="error" data-testid="login-error">Identiteten er &quot;spærret&quot;</p>`, `: Identiteten er "spærret"`},
		{"text/html", "<p>Fejl</p>", ""},
		{"text/plain", "", ""},
	}
	for _, c := range cases {
		if got := pageMessage(c.contentType, []byte(c.body)); got != c.want {
			t.Errorf("pageMessage(%q, %q) = %q, want %q", c.contentType, c.body, got, c.want)
		}
	}
}

func TestCheckAnswer(t *testing.T) {
	t.Parallel()
	const iss = "http://127.0.0.1:8080"
	cases := []struct{ name, location, wantErr string }{
		{"the answer", "http://sp/cb?code=c1&state=s1&iss=" + url.QueryEscape(iss), ""},
		{"an error", "http://sp/cb?error=access_denied&error_description=no&state=s1&iss=" + url.QueryEscape(iss), "access_denied"},
		{"another state", "http://sp/cb?code=c1&state=s2&iss=" + url.QueryEscape(iss), "state"},
		{"no iss", "http://sp/cb?code=c1&state=s1", "iss"},
		{"another iss", "http://sp/cb?code=c1&state=s1&iss=http://evil", "iss"},
		{"no code", "http://sp/cb?state=s1&iss=" + url.QueryEscape(iss), "no code"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			u, _ := url.Parse(c.location)
			code, err := checkAnswer(u, "s1", iss)
			if c.wantErr == "" {
				if err != nil || code != "c1" {
					t.Fatalf("got %q, %v; want c1", code, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("got error %v, want one saying %q", err, c.wantErr)
			}
		})
	}
}

func TestLoginStats(t *testing.T) {
	t.Parallel()
	s := newLoginStats(10)
	t0 := time.Now()
	// 100 logins started 10 ms apart, taking 1..100 ms; every tenth fails.
	for i := range 100 {
		r := loginResult{start: t0.Add(time.Duration(i) * 10 * time.Millisecond), total: time.Duration(i+1) * time.Millisecond}
		r.steps[stepAuthorize] = r.total / 2
		r.steps[stepToken] = time.Millisecond
		switch {
		case i%10 == 9 && i < 50:
			r.err = failAt(stepToken, "status 500")
		case i%10 == 9:
			r.err = failAt(stepSimPage, "no identity")
		}
		s.add(r)
	}
	sum := s.summary()
	if sum.Logins != 100 || sum.Succeeded != 90 || sum.Failed != 10 {
		t.Fatalf("logins %d, succeeded %d, failed %d; want 100, 90, 10", sum.Logins, sum.Succeeded, sum.Failed)
	}
	// Nearest rank over the 90 that succeeded (1..99 ms without 10, 20, ...,
	// nine a decade): p50 is the 45th (49 ms), p90 the 81st (89 ms), p99 the
	// 90th (99 ms).
	if sum.P50 != 49 || sum.P90 != 89 || sum.P99 != 99 || sum.Max != 99 {
		t.Errorf("p50/p90/p99/max %v/%v/%v/%v, want 49/89/99/99", sum.P50, sum.P90, sum.P99, sum.Max)
	}
	// Started: 99 intervals over 990 ms.
	if sum.Started < 99.9 || sum.Started > 100.1 {
		t.Errorf("started %.2f/s, want 100", sum.Started)
	}
	failed := map[string]int{}
	for _, st := range sum.Steps {
		failed[st.Step] = st.Failed
	}
	if failed["token"] != 5 || failed["sim login page"] != 5 || failed["authorize"] != 0 {
		t.Errorf("failures by step %v, want token 5 and sim login page 5", failed)
	}
	if got := sum.failureList(); !strings.Contains(got, "sim login page ×5 (no identity)") || !strings.Contains(got, "token ×5") {
		t.Errorf("failure list %q", got)
	}
	if sum.holds(time.Second) {
		t.Error("a step with failures holds")
	}
}

func TestLoginSummaryHolds(t *testing.T) {
	t.Parallel()
	ok := loginSummary{Asked: 100, Logins: 3000, Succeeded: 3000, Started: 99.5, P99: 400}
	cases := []struct {
		name string
		sum  loginSummary
		want bool
	}{
		{"every login in time", ok, true},
		{"p99 over the limit", func() loginSummary { s := ok; s.P99 = 1200; return s }(), false},
		{"started short of the rate", func() loginSummary { s := ok; s.Started = 90; return s }(), false},
		{"one failure", func() loginSummary { s := ok; s.Failed, s.Succeeded = 1, 2999; return s }(), false},
	}
	for _, c := range cases {
		if got := c.sum.holds(time.Second); got != c.want {
			t.Errorf("%s: holds %v, want %v", c.name, got, c.want)
		}
	}
}

// fakePlatform stands in for the platform around the real simulator: the
// authorization endpoint, a login step that sends a browser without a
// session to MitID, a callback that exchanges the simulator's code, and a
// token endpoint that checks the client, the code and PKCE and signs an ID
// token. Its faults make logins fail at known steps.
type fakePlatform struct {
	t      *testing.T
	url    string
	sim    *mitidsim.Server
	key    *ecdsa.PrivateKey
	broker oauth2.Config

	mu       sync.Mutex
	requests map[string]url.Values // authorization requests by id
	codes    map[string]url.Values // and by code once answered

	tokenCalls atomic.Int64
	// failTokenEvery makes every n-th token request fail; wrongIss sends
	// another iss to the service; wrongNonce signs another nonce.
	failTokenEvery       int64
	wrongIss, wrongNonce bool
}

const (
	fakeClientID = "svc-client"
	fakeSecret   = "svc-secret"
	fakeRedirect = "http://127.0.0.1:1/callback"
)

func newFakePlatform(t *testing.T) *fakePlatform {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakePlatform{t: t, key: key, requests: map[string]url.Values{}, codes: map[string]url.Values{}}
	ts := httptest.NewServer(f)
	t.Cleanup(ts.Close)
	f.url = ts.URL
	f.sim, _ = mitidsim.NewTestServer(t, mitidsim.Client{ID: "platform", Secret: "p", RedirectURIs: []string{f.url + "/login/callback"}})
	f.broker = oauth2.Config{ClientID: "platform", ClientSecret: "p", RedirectURL: f.url + "/login/callback", Scopes: []string{"openid"},
		Endpoint: oauth2.Endpoint{AuthURL: f.sim.Issuer() + "/authorize", TokenURL: f.sim.Issuer() + "/oauth/token"}}
	return f
}

func (f *fakePlatform) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/readyz":
	case "/.well-known/openid-configuration":
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": f.url, "authorization_endpoint": f.url + "/oauth2/authorize",
			"token_endpoint": f.url + "/oauth2/token", "jwks_uri": f.url + "/oauth2/jwks.json",
			"id_token_signing_alg_values_supported": []string{"ES256"}})
	case "/oauth2/jwks.json":
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &f.key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	case "/oauth2/authorize":
		q := r.URL.Query()
		if q.Get("client_id") != fakeClientID || q.Get("redirect_uri") != fakeRedirect || q.Get("code_challenge_method") != "S256" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		id := randomToken()
		f.mu.Lock()
		f.requests[id] = q
		f.mu.Unlock()
		http.Redirect(w, r, "/sso/login?id="+id, http.StatusFound)
	case "/sso/login":
		f.loginStep(w, r)
	case "/login/callback":
		tok, err := f.broker.Exchange(r.Context(), r.URL.Query().Get("code"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		raw, _ := tok.Extra("id_token").(string)
		parsed, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
		var claims jwt.Claims
		if err == nil {
			err = parsed.UnsafeClaimsWithoutVerification(&claims)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "who", Value: claims.Subject, Path: "/"})
		http.Redirect(w, r, "/sso/login?id="+r.URL.Query().Get("state"), http.StatusFound)
	case "/oauth2/token":
		f.token(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakePlatform) loginStep(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	f.mu.Lock()
	q, ok := f.requests[id]
	f.mu.Unlock()
	if !ok {
		http.Error(w, "unknown request", http.StatusBadRequest)
		return
	}
	who, err := r.Cookie("who")
	if err != nil {
		http.Redirect(w, r, f.broker.AuthCodeURL(id, oauth2.SetAuthURLParam("acr_values", substantialACR)), http.StatusFound)
		return
	}
	code := randomToken()
	q.Set("subject", who.Value)
	f.mu.Lock()
	delete(f.requests, id)
	f.codes[code] = q
	f.mu.Unlock()
	iss := f.url
	if f.wrongIss {
		iss = "http://elsewhere"
	}
	answer := url.Values{"code": {code}, "state": {q.Get("state")}, "iss": {iss}}
	http.Redirect(w, r, fakeRedirect+"?"+answer.Encode(), http.StatusSeeOther)
}

func (f *fakePlatform) token(w http.ResponseWriter, r *http.Request) {
	id, secret, _ := r.BasicAuth()
	if id != fakeClientID || secret != fakeSecret {
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		return
	}
	if n := f.tokenCalls.Add(1); f.failTokenEvery > 0 && n%f.failTokenEvery == 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"error":"server_error"}`)
		return
	}
	code := r.PostFormValue("code")
	f.mu.Lock()
	q, ok := f.codes[code]
	delete(f.codes, code)
	f.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
	if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != q.Get("code_challenge") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"invalid_grant"}`)
		return
	}
	sub, _ := demoUserID(q.Get("subject"))
	nonce := q.Get("nonce")
	if f.wrongNonce {
		nonce = "another"
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: f.key, KeyID: "k1"}}, nil)
	if err != nil {
		f.t.Error(err)
		return
	}
	now := time.Now()
	raw, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: f.url, Subject: sub, Audience: jwt.Audience{fakeClientID},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(5 * time.Minute))}).
		Claims(map[string]any{"nonce": nonce}).Serialize()
	if err != nil {
		f.t.Error(err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 300, "id_token": raw})
}

func (f *fakePlatform) driver(t *testing.T) *loginDriver {
	t.Helper()
	d, err := newLoginDriver(context.Background(), loginConfig{issuer: f.url, clientID: fakeClientID, clientSecret: fakeSecret,
		redirectURI: fakeRedirect, scopes: []string{"openid"}, authenticator: "code_app", timeout: 10 * time.Second}, http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestLoginDriver logs in through the real simulator and a stand-in
// platform: every step is reached and timed; a fault at the platform
// fails the login at the step where a service would notice it.
func TestLoginDriver(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		fault    func(*fakePlatform)
		subject  string
		wantStep step // numSteps: the login succeeds
		wantErr  string
	}{
		{"a complete login", func(*fakePlatform) {}, "demo-lars", numSteps, ""},
		{"another iss", func(f *fakePlatform) { f.wrongIss = true }, "demo-lars", stepRedirect, "iss"},
		{"another nonce", func(f *fakePlatform) { f.wrongNonce = true }, "demo-lars", stepIDToken, "nonce"},
		{"the token endpoint fails", func(f *fakePlatform) { f.failTokenEvery = 1 }, "demo-lars", stepToken, "status 500, server_error"},
		{"a person the simulator refuses at the level", func(*fakePlatform) {}, "demo-low", stepSimPage, "cannot log in here"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFakePlatform(t)
			c.fault(f)
			r := f.driver(t).login(context.Background(), c.subject)
			if c.wantStep == numSteps {
				if r.err != nil {
					t.Fatalf("login failed: %v", r.err)
				}
				for st := range stepOther {
					if r.steps[st] <= 0 {
						t.Errorf("step %s was not timed", st)
					}
				}
				return
			}
			if r.err == nil {
				t.Fatal("the login succeeded")
			}
			if got := r.failedStep(); got != c.wantStep || !strings.Contains(r.err.Error(), c.wantErr) {
				t.Fatalf("failed at %s (%v), want %s saying %q", got, r.err, c.wantStep, c.wantErr)
			}
		})
	}
}

// TestLoginDriverSubject: an ID token for someone else than the person
// who logged in fails at the ID token.
func TestLoginDriverSubject(t *testing.T) {
	t.Parallel()
	f := newFakePlatform(t)
	d := f.driver(t)
	tok := func(sub, nonce string) *oauth2.Token {
		signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: f.key, KeyID: "k1"}}, nil)
		raw, _ := jwt.Signed(signer).Claims(jwt.Claims{Issuer: f.url, Subject: sub, Audience: jwt.Audience{fakeClientID},
			Expiry: jwt.NewNumericDate(time.Now().Add(time.Minute))}).Claims(map[string]any{"nonce": nonce}).Serialize()
		return (&oauth2.Token{AccessToken: "at"}).WithExtra(map[string]any{"id_token": raw})
	}
	lars, _ := demoUserID("demo-lars")
	if err := d.checkIDToken(context.Background(), tok(lars, "n"), "n", "demo-lars"); err != nil {
		t.Fatalf("Lars's token: %v", err)
	}
	if err := d.checkIDToken(context.Background(), tok(lars, "n"), "n", "demo-jonas"); err == nil || !strings.Contains(err.Error(), "sub") {
		t.Errorf("Lars's token for Jonas's login: got %v, want a sub error", err)
	}
	if err := d.checkIDToken(context.Background(), tok(lars, "n"), "m", "demo-lars"); err == nil {
		t.Error("another nonce passed")
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.key = other // signed with a key the JWKS read at the start does not hold
	if err := d.checkIDToken(context.Background(), tok(lars, "n"), "n", "demo-lars"); err == nil {
		t.Error("a token signed with another key passed")
	}
}

// TestPacer starts logins at the rate asked and counts the token
// endpoint's failures at the token step.
func TestPacer(t *testing.T) {
	t.Parallel()
	f := newFakePlatform(t)
	f.failTokenEvery = 4
	p := &pacer{d: f.driver(t), persons: []string{"demo-lars", "demo-jonas", "demo-sofie"}, maxOpen: 100}
	sum := p.attack(context.Background(), 40, time.Second).summary()
	if sum.Logins != 40 {
		t.Fatalf("%d logins, want 40", sum.Logins)
	}
	if sum.Failed != 10 || sum.Succeeded != 30 {
		t.Errorf("succeeded %d, failed %d; want 30 and 10 (every fourth token)", sum.Succeeded, sum.Failed)
	}
	for _, st := range sum.Steps {
		if st.Failed > 0 && st.Step != "token" {
			t.Errorf("failures at %s: %s", st.Step, st.Example)
		}
	}
	if sum.Started < 38 || sum.Started > 42 {
		t.Errorf("started %.1f/s, want about 40", sum.Started)
	}
}

// TestPacerLimit: with one login open at most and a platform that holds
// each login, the logins due meanwhile fail as not started.
func TestPacerLimit(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		http.Error(w, "late", http.StatusServiceUnavailable)
	}))
	t.Cleanup(slow.Close)
	iss, _ := url.Parse(slow.URL)
	d := &loginDriver{cfg: loginConfig{issuer: slow.URL, clientID: "c", redirectURI: fakeRedirect, timeout: 5 * time.Second},
		issuer: iss, transport: http.DefaultTransport,
		oauth: oauth2.Config{ClientID: "c", RedirectURL: fakeRedirect, Endpoint: oauth2.Endpoint{AuthURL: slow.URL + "/oauth2/authorize"}}}
	p := &pacer{d: d, persons: []string{"demo-lars"}, maxOpen: 1}
	go func() { time.Sleep(400 * time.Millisecond); close(release) }()
	s := p.attack(context.Background(), 10, 300*time.Millisecond)
	if s.logins != 3 || s.failures[stepNotStarted] != 2 || s.failures[stepAuthorize] != 1 {
		t.Errorf("logins %d, not started %d, failed at authorize %d; want 3, 2, 1", s.logins, s.failures[stepNotStarted], s.failures[stepAuthorize])
	}
}
