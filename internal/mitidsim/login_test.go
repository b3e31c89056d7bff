package mitidsim_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/erhverv/erhverv/internal/mitidsim"
)

func TestAssurance(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := h.oauth("rp-oiosaml", false)

	t.Run("page disables choices below the level", func(t *testing.T) {
		hh := *h
		hh.t = t
		p, _ := hh.openLogin(browser(t), hh.authorize(cfg, acr(loaSubstantial)))
		for _, want := range []string{
			`data-testid="identity-demo-low" disabled`,
			`<option value="password" disabled>`,
			`data-level="Substantial"`,
		} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("login page: want %s", want)
			}
		}
		for _, notWant := range []string{`data-testid="identity-demo-lars" disabled`, `<option value="code_app" disabled`} {
			if strings.Contains(p.Body, notWant) {
				t.Errorf("login page: got %s, want it enabled", notWant)
			}
		}
	})

	t.Run("password refused at Substantial, then code_app accepted", func(t *testing.T) {
		hh := *h
		hh.t = t
		a := hh.authorize(cfg, acr(loaSubstantial))
		hc := browser(t)
		_, id := hh.openLogin(hc, a)
		p := hh.submitLogin(hc, id, "demo-lars", "password")
		if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, `data-testid="login-error"`) ||
			!strings.Contains(p.Body, "Adgangskode giver sikringsniveau Lav, men tjenesten kræver Betydelig") {
			t.Fatalf("password at Substantial: got status %d, want 400 with the level message; body: %s", p.Status, p.Body)
		}
		q := callback(t, hh.submitLogin(hc, id, "demo-lars", "code_app"))
		tk, err := hh.exchange(cfg, a, q.Get("code"))
		if err != nil {
			t.Fatal(err)
		}
		if tk.Claims["acr"] != loaSubstantial {
			t.Errorf("acr: got %v, want %s", tk.Claims["acr"], loaSubstantial)
		}
	})

	t.Run("demo-low refused at Substantial", func(t *testing.T) {
		hh := *h
		hh.t = t
		hc := browser(t)
		_, id := hh.openLogin(hc, hh.authorize(cfg, acr(loaSubstantial)))
		for _, auth := range []string{"code_app", "chip"} {
			p := hh.submitLogin(hc, id, "demo-low", auth)
			if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "identitetssikring Lav") {
				t.Errorf("demo-low with %s: got status %d, want 400 naming identitetssikring Lav", auth, p.Status)
			}
		}
	})

	t.Run("demo-low logs in at Low", func(t *testing.T) {
		hh := *h
		hh.t = t
		tk := hh.fullLogin(cfg, "demo-low", "password")
		nsis := "https://data.gov.dk/concept/core/nsis/"
		for k, want := range map[string]string{"acr": loaLow, nsis + "loa": loaLow, nsis + "ial": nsis + "ial/Low", nsis + "aal": nsis + "aal/Low"} {
			if tk.Claims[k] != want {
				t.Errorf("%s: got %v, want %s", k, tk.Claims[k], want)
			}
		}
	})

	t.Run("loa is the lower of ial and aal", func(t *testing.T) {
		hh := *h
		hh.t = t
		tk := hh.fullLogin(cfg, "demo-jonas", "chip", acr(loaSubstantial))
		nsis := "https://data.gov.dk/concept/core/nsis/"
		if tk.Claims["acr"] != loaSubstantial || tk.Claims[nsis+"aal"] != nsis+"aal/High" {
			t.Errorf("Substantial identity with chip: got acr %v aal %v, want Substantial and aal High", tk.Claims["acr"], tk.Claims[nsis+"aal"])
		}
	})

	t.Run("Idura high refuses the app", func(t *testing.T) {
		hh := *h
		hh.t = t
		hc := browser(t)
		_, id := hh.openLogin(hc, hh.authorize(hh.oauth("rp-idura", false), acr("urn:grn:authn:dk:mitid:high")))
		if p := hh.submitLogin(hc, id, "demo-mette", "code_app"); p.Status != http.StatusBadRequest {
			t.Errorf("code_app at High: got %d, want 400", p.Status)
		}
		if p := hh.submitLogin(hc, id, "demo-jonas", "chip"); p.Status != http.StatusBadRequest {
			t.Errorf("Substantial identity at High: got %d, want 400", p.Status)
		}
	})

	t.Run("several acr values: the lowest counts", func(t *testing.T) {
		hh := *h
		hh.t = t
		tk := hh.fullLogin(cfg, "demo-lars", "code_app", acr(loaHigh+" "+loaSubstantial))
		if tk.Claims["acr"] != loaSubstantial {
			t.Errorf("acr: got %v, want %s", tk.Claims["acr"], loaSubstantial)
		}
	})

	t.Run("unknown acr values refused", func(t *testing.T) {
		hh := *h
		hh.t = t
		u := cfg.AuthCodeURL("st-3", acr("urn:grn:authn:dk:mitid:business"), oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
		q := callback(t, get(t, browser(t), u))
		if q.Get("error") != "invalid_request" {
			t.Errorf("callback: got %v, want error=invalid_request", q)
		}
	})

	t.Run("unknown identity and authenticator refused", func(t *testing.T) {
		hh := *h
		hh.t = t
		hc := browser(t)
		_, id := hh.openLogin(hc, hh.authorize(cfg))
		if p := hh.submitLogin(hc, id, "nobody", "code_app"); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "Vælg en testidentitet") {
			t.Errorf("unknown subject: got %d, want 400 asking for an identity", p.Status)
		}
		if p := hh.submitLogin(hc, id, "demo-lars", ""); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "Vælg en autentifikator") {
			t.Errorf("no authenticator: got %d, want 400 asking for an authenticator", p.Status)
		}
	})
}

func TestLoginOnlyOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := h.oauth("rp-oiosaml", false)
	hc := browser(t)
	_, id := h.openLogin(hc, h.authorize(cfg))
	callback(t, h.submitLogin(hc, id, "demo-lars", "code_app"))
	if p := h.submitLogin(hc, id, "demo-mette", "chip"); p.Status != http.StatusBadRequest {
		t.Errorf("second login on the same request: got %d, want 400", p.Status)
	}
	// The OP's callback issues one code per login.
	p := get(t, hc, h.url+"/authorize/callback?id="+url.QueryEscape(id))
	if q := callback(t, p); q.Get("code") != "" || q.Get("error") == "" {
		t.Errorf("second callback: got %v, want an error and no code", q)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := h.oauth("rp-oiosaml", false)
	a := h.authorize(cfg)
	hc := browser(t)
	page, id := h.openLogin(hc, a)
	if !strings.Contains(page.Body, `data-testid="cancel"`) {
		t.Fatal("login page has no cancel button")
	}
	q := callback(t, post(t, hc, h.url+"/login/cancel", url.Values{"id": {id}}))
	if q.Get("error") != "access_denied" || q.Get("state") != a.State {
		t.Errorf("cancel: got %v, want error=access_denied and the state", q)
	}
	if p := get(t, hc, h.url+"/login?id="+url.QueryEscape(id)); p.Status != http.StatusBadRequest {
		t.Errorf("login page after cancel: got %d, want 400", p.Status)
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	hc := browser(t)
	_, id := h.openLogin(hc, h.authorize(h.oauth("rp-oiosaml", false)))
	for _, path := range []string{"/login", "/login/cancel", "/login/identities"} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, h.url+path,
			strings.NewReader(url.Values{"id": {id}, "subject": {"demo-lars"}, "authenticator": {"code_app"}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "http://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		if p := do(t, hc, req); p.Status != http.StatusForbidden {
			t.Errorf("cross-site POST %s: got %d, want 403", path, p.Status)
		}
	}
	// The request is still open: the cross-site POSTs did nothing.
	callback(t, h.submitLogin(hc, id, "demo-lars", "code_app"))
}

func TestLoginPage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	p, id := h.openLogin(browser(t), h.authorize(h.oauth("rp-oiosaml", false)))
	for _, want := range []string{
		`<input type="hidden" name="id" value="` + id + `">`,
		`name="authenticator" data-testid="authenticator"`,
		`name="subject" value="demo-mette" data-testid="identity-demo-mette"`,
		`name="subject" value="demo-ahmed" data-testid="identity-demo-ahmed"`,
		`name="first_name"`, `name="last_name"`, `name="cpr"`, `name="birth_date"`, `name="ial"`, `name="represents"`,
		`data-testid="create-identity"`,
		`data-testid="cancel"`,
		`action="/login/identities"`,
	} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("login page: want %s", want)
		}
	}
	for _, a := range []string{"code_app", "code_app_high", "code_token", "chip", "password"} {
		if !strings.Contains(p.Body, `<option value="`+a+`"`) {
			t.Errorf("login page: no authenticator option %s", a)
		}
	}
	csp := p.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "style-src 'self'") {
		t.Errorf("CSP: got %q, want default-src 'none' and style-src 'self'", csp)
	}
	if strings.Contains(p.Body, "<style") || strings.Contains(p.Body, "style=") || strings.Contains(p.Body, "<script") {
		t.Error("login page: inline style or script, which the CSP forbids")
	}
	start := strings.Index(p.Body, `<link rel="stylesheet" href="`)
	if start < 0 {
		t.Fatal("login page: no stylesheet link")
	}
	href, _, _ := strings.Cut(p.Body[start+len(`<link rel="stylesheet" href="`):], `"`)
	css := get(t, http.DefaultClient, h.url+strings.ReplaceAll(href, "&amp;", "&"))
	if css.Status != http.StatusOK || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") || !strings.Contains(css.Body, ".identities") {
		t.Errorf("stylesheet %s: got %d %s, want the CSS", href, css.Status, css.Header.Get("Content-Type"))
	}

	if p := get(t, http.DefaultClient, h.url+"/login?id=unknown"); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "findes ikke") {
		t.Errorf("unknown request: got %d, want 400 saying it does not exist", p.Status)
	}
}

func TestLifetimes(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now()}
	sim, issuer := newServer(t, mitidsim.Config{Now: clock.Now})
	h := newHarnessFor(t, sim, issuer)
	cfg := h.oauth("rp-oiosaml", false)

	a := h.authorize(cfg)
	code := h.login(a, "demo-lars", "code_app")
	clock.Advance(2 * time.Minute)
	if _, err := h.exchange(cfg, a, code); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("code after 2 minutes: got %v, want invalid_grant", err)
	}

	hc := browser(t)
	_, id := h.openLogin(hc, h.authorize(cfg))
	clock.Advance(31 * time.Minute)
	if p := h.submitLogin(hc, id, "demo-lars", "code_app"); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "findes ikke") {
		t.Errorf("login after 31 minutes: got %d, want 400 saying the request is gone", p.Status)
	}
}

func TestLoginAs(t *testing.T) {
	t.Parallel()
	sim, ts := mitidsim.NewTestServer(t)
	var cfg *oauth2.Config
	var verifier string
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/start":
			verifier = oauth2.GenerateVerifier()
			http.SetCookie(w, &http.Cookie{Name: "st", Value: "state-1", Path: "/"})
			http.Redirect(w, r, cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier), acr(loaSubstantial)), http.StatusFound)
		case "/callback":
			c, err := r.Cookie("st")
			if err != nil || c.Value != r.URL.Query().Get("state") {
				http.Error(w, "state mismatch", http.StatusBadRequest)
				return
			}
			tok, err := cfg.Exchange(r.Context(), r.URL.Query().Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			_, _ = w.Write([]byte("logged in: " + tok.Extra("id_token").(string)))
		}
	}))
	t.Cleanup(rp.Close)
	if err := sim.RegisterClient(mitidsim.Client{ID: "late", Secret: "s", RedirectURIs: []string{rp.URL + "/callback"}}); err != nil {
		t.Fatal(err)
	}
	h := newHarnessFor(t, sim, ts.URL)
	cfg = &oauth2.Config{ClientID: "late", ClientSecret: "s", Endpoint: h.provider.Endpoint(), RedirectURL: rp.URL + "/callback", Scopes: []string{"openid"}}

	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := sim.LoginAs(t.Context(), hc, rp.URL+"/start", "demo-henrik", "code_app")
	if err != nil {
		t.Fatalf("LoginAs: %v", err)
	}
	defer resp.Body.Close()
	body := readAll(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "logged in: ") {
		t.Fatalf("relying party: got %d %q, want a login", resp.StatusCode, body)
	}
	idt, err := h.provider.Verifier(&gooidc.Config{ClientID: "late"}).Verify(t.Context(), strings.TrimPrefix(body, "logged in: "))
	if err != nil || idt.Subject != "demo-henrik" {
		t.Errorf("ID token: got %v (%v), want demo-henrik", idt, err)
	}

	_, err = sim.LoginAs(t.Context(), hc, rp.URL+"/start", "demo-low", "code_app")
	if err == nil || !strings.Contains(err.Error(), "identitetssikring Lav") {
		t.Errorf("LoginAs demo-low at Substantial: got %v, want the refusal message", err)
	}
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
