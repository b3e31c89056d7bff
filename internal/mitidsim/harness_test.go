package mitidsim_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/erhverv/erhverv/internal/mitidsim"
)

// The relying party in these tests is never contacted: the browser stops at
// the redirect to it and the test reads the code from the Location.
const (
	rpOrigin    = "http://rp.example"
	callbackURL = rpOrigin + "/callback"
	logoutURL   = rpOrigin + "/logged-out"
)

// Clients registered in every harness, one per profile and one public.
var testClients = []mitidsim.Client{
	{ID: "rp-oiosaml", Secret: "secret-oio", RedirectURIs: []string{callbackURL}, PostLogoutRedirectURIs: []string{logoutURL}, Profile: mitidsim.ProfileOIOSAML},
	{ID: "rp-sg", Secret: "secret-sg", RedirectURIs: []string{callbackURL}, PostLogoutRedirectURIs: []string{logoutURL}, Profile: mitidsim.ProfileSignaturgruppen},
	{ID: "rp-idura", Secret: "secret-idura", RedirectURIs: []string{callbackURL}, PostLogoutRedirectURIs: []string{logoutURL}, Profile: mitidsim.ProfileIdura},
	{ID: "rp-public", RedirectURIs: []string{callbackURL}, PostLogoutRedirectURIs: []string{logoutURL}, Profile: mitidsim.ProfileOIOSAML},
}

// harness is one simulator and a relying party's view of it.
type harness struct {
	t        *testing.T
	sim      *mitidsim.Server
	url      string // the issuer
	provider *gooidc.Provider
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	sim, ts := mitidsim.NewTestServer(t, testClients...)
	return newHarnessFor(t, sim, ts.URL)
}

func newHarnessFor(t *testing.T, sim *mitidsim.Server, issuer string) *harness {
	t.Helper()
	p, err := gooidc.NewProvider(t.Context(), issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &harness{t: t, sim: sim, url: issuer, provider: p}
}

// fakeClock is a settable clock for lifetimes.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newServer starts a simulator from cfg on a loopback listener, filling the
// issuer and the test clients.
func newServer(t *testing.T, cfg mitidsim.Config) (*mitidsim.Server, string) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	cfg.Issuer = "http://" + ts.Listener.Addr().String()
	if cfg.Clients == nil {
		cfg.Clients = testClients
	}
	sim, err := mitidsim.New(t.Context(), cfg)
	if err != nil {
		ts.Close()
		t.Fatalf("New: %v", err)
	}
	ts.Config.Handler = sim.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	return sim, ts.URL
}

func clientByID(t *testing.T, id string) mitidsim.Client {
	t.Helper()
	for _, c := range testClients {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no test client %s", id)
	return mitidsim.Client{}
}

// oauth is the client's oauth2 configuration; post selects
// client_secret_post instead of client_secret_basic.
func (h *harness) oauth(clientID string, post bool, scopes ...string) *oauth2.Config {
	c := clientByID(h.t, clientID)
	ep := h.provider.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInHeader
	if post || c.Secret == "" {
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID:     c.ID,
		ClientSecret: c.Secret,
		Endpoint:     ep,
		RedirectURL:  callbackURL,
		Scopes:       append([]string{gooidc.ScopeOpenID}, scopes...),
	}
}

// authz is one authorization request as the relying party made it.
type authz struct {
	URL, State, Nonce, Verifier string
}

func randomString(t *testing.T) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// authorize builds an authorization URL with state, nonce and PKCE (S256).
func (h *harness) authorize(cfg *oauth2.Config, opts ...oauth2.AuthCodeOption) authz {
	a := authz{State: randomString(h.t), Nonce: randomString(h.t), Verifier: oauth2.GenerateVerifier()}
	opts = append([]oauth2.AuthCodeOption{gooidc.Nonce(a.Nonce), oauth2.S256ChallengeOption(a.Verifier)}, opts...)
	a.URL = cfg.AuthCodeURL(a.State, opts...)
	return a
}

// browser follows redirects within the simulator and stops at the relying party.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), rpOrigin) {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
}

// page is a fetched page.
type page struct {
	Status int
	URL    *url.URL
	Header http.Header
	Body   string
}

func do(t *testing.T, hc *http.Client, req *http.Request) page {
	t.Helper()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{Status: resp.StatusCode, URL: resp.Request.URL, Header: resp.Header, Body: string(b)}
}

func get(t *testing.T, hc *http.Client, u string) page {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, hc, req)
}

func post(t *testing.T, hc *http.Client, u string, form url.Values) page {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, hc, req)
}

// openLogin follows the authorization URL to the login page and returns the
// page and the auth request id it carries.
func (h *harness) openLogin(hc *http.Client, a authz) (page, string) {
	h.t.Helper()
	p := get(h.t, hc, a.URL)
	if p.Status != http.StatusOK || p.URL.Path != "/login" {
		h.t.Fatalf("authorize: got status %d at %s, want 200 at /login; body: %s", p.Status, p.URL.Redacted(), p.Body)
	}
	id := p.URL.Query().Get("id")
	if id == "" || !strings.Contains(p.Body, `name="id" value="`+id+`"`) {
		h.t.Fatalf("login page: hidden id %q missing", id)
	}
	return p, id
}

// submitLogin posts the login form and returns where it led: the redirect
// to the relying party (status 302) or a refusal (status 400 page).
func (h *harness) submitLogin(hc *http.Client, id, subject, authenticator string) page {
	h.t.Helper()
	return post(h.t, hc, h.url+"/login", url.Values{"id": {id}, "subject": {subject}, "authenticator": {authenticator}})
}

// callback reads the parameters of the redirect to the relying party.
func callback(t *testing.T, p page) url.Values {
	t.Helper()
	loc := p.Header.Get("Location")
	if p.Status != http.StatusFound || !strings.HasPrefix(loc, callbackURL) {
		t.Fatalf("got status %d to %q, want 302 to %s; body: %s", p.Status, loc, callbackURL, p.Body)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// login runs the front channel for a and returns the code.
func (h *harness) login(a authz, subject, authenticator string) string {
	h.t.Helper()
	hc := browser(h.t)
	_, id := h.openLogin(hc, a)
	q := callback(h.t, h.submitLogin(hc, id, subject, authenticator))
	if got := q.Get("state"); got != a.State {
		h.t.Fatalf("state: got %q, want %q", got, a.State)
	}
	if q.Get("code") == "" {
		h.t.Fatalf("no code in callback: %v", q)
	}
	return q.Get("code")
}

// tokens is a verified token response.
type tokens struct {
	Token   *oauth2.Token
	RawID   string
	IDToken *gooidc.IDToken
	Claims  map[string]any
}

// exchange redeems the code and verifies the ID token and its nonce.
func (h *harness) exchange(cfg *oauth2.Config, a authz, code string) (tokens, error) {
	h.t.Helper()
	tok, err := cfg.Exchange(h.t.Context(), code, oauth2.VerifierOption(a.Verifier))
	if err != nil {
		return tokens{}, err
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		return tokens{}, errors.New("no id_token in the token response")
	}
	idt, err := h.provider.Verifier(&gooidc.Config{ClientID: cfg.ClientID}).Verify(h.t.Context(), raw)
	if err != nil {
		return tokens{}, err
	}
	if idt.Nonce != a.Nonce {
		h.t.Fatalf("nonce: got %q, want %q", idt.Nonce, a.Nonce)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return tokens{}, err
	}
	return tokens{Token: tok, RawID: raw, IDToken: idt, Claims: claims}, nil
}

// fullLogin is authorize, login and exchange, failing the test on any error.
func (h *harness) fullLogin(cfg *oauth2.Config, subject, authenticator string, opts ...oauth2.AuthCodeOption) tokens {
	h.t.Helper()
	a := h.authorize(cfg, opts...)
	code := h.login(a, subject, authenticator)
	tk, err := h.exchange(cfg, a, code)
	if err != nil {
		h.t.Fatalf("exchange: %v", err)
	}
	return tk
}

// userinfo fetches the userinfo endpoint with the access token.
func (h *harness) userinfo(accessToken string) (int, map[string]any) {
	h.t.Helper()
	var d struct {
		UserinfoEndpoint string `json:"userinfo_endpoint"`
	}
	if err := h.provider.Claims(&d); err != nil {
		h.t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(h.t.Context(), http.MethodGet, d.UserinfoEndpoint, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	p := do(h.t, http.DefaultClient, req)
	if p.Status != http.StatusOK {
		return p.Status, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(p.Body), &m); err != nil {
		h.t.Fatalf("userinfo: %v; body %s", err, p.Body)
	}
	return p.Status, m
}

func acr(v string) oauth2.AuthCodeOption { return oauth2.SetAuthURLParam("acr_values", v) }

const (
	loaLow         = "https://data.gov.dk/concept/core/nsis/loa/Low"
	loaSubstantial = "https://data.gov.dk/concept/core/nsis/loa/Substantial"
	loaHigh        = "https://data.gov.dk/concept/core/nsis/loa/High"
)
