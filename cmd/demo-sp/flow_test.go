package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/coreos/go-oidc/v3/oidc/oidctest"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// fakePlatform is a small stand-in for the platform's OpenID Provider, with
// the endpoints of the contract. It checks what the demo sends (client
// authentication, PKCE, redirect URI) and can be told to misbehave.
type fakePlatform struct {
	srv    *httptest.Server
	issuer string
	key    *ecdsa.PrivateKey
	down   atomic.Bool // discovery answers 503
	bad    fakeFaults
	// identity is what the ID token and userinfo say about the employee.
	identity map[string]any

	mu        sync.Mutex
	grants    map[string]fakeGrant // by code
	tokens    map[string]bool      // access tokens issued
	authorize url.Values           // the last authorization request
	secrets   []string             // codes and tokens issued, which must never be logged
	idTokens  []string
}

// fakeFaults are the ways the fake platform can misbehave.
type fakeFaults struct {
	authError  string // an error response instead of a code
	iss        string // the iss parameter of the response ("-" leaves it out)
	acr        string // the acr of the ID token
	nonce      string // a wrong nonce
	aud        string // a wrong audience
	tokenError string // the token endpoint refuses the code
	userinfo   map[string]any
}

type fakeGrant struct{ challenge, nonce, redirectURI, acr string }

// newFakePlatform starts a fake platform with the faults; down says
// whether it starts unavailable.
func newFakePlatform(t *testing.T, faults fakeFaults, down bool) *fakePlatform {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	fp := &fakePlatform{key: key, bad: faults, grants: map[string]fakeGrant{}, tokens: map[string]bool{}}
	fp.down.Store(down)
	bpp := base64.StdEncoding.EncodeToString([]byte(testBPP))
	fp.identity = map[string]any{}
	if err := json.Unmarshal([]byte(`{
		"spec_version": "OIO-SAML-3.0",
		"loa": "https://data.gov.dk/concept/core/nsis/loa/Substantial",
		"ial": "https://data.gov.dk/concept/core/nsis/ial/Substantial",
		"aal": "https://data.gov.dk/concept/core/nsis/aal/Substantial",
		"uuid": "6f1b3a52-6c1e-4a43-9d0a-4cd0f6a1b2c3",
		"cvr": "91234564", "org_name": "Demo Kommune", "production_unit": "1003388394",
		"name": "Karen Jensen", "given_name": "Karen", "family_name": "Jensen", "email": "karen@demo.example",
		"privileges_intermediate": "`+bpp+`",
		"privileges": `+testPrivileges+`
	}`), &fp.identity); err != nil {
		t.Fatal(err)
	}

	fp.srv = httptest.NewUnstartedServer(nil)
	fp.issuer = "http://" + fp.srv.Listener.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", fp.discovery)
	mux.HandleFunc("GET /oauth2/jwks.json", fp.jwks)
	mux.HandleFunc("GET /oauth2/authorize", fp.authorizeEndpoint)
	mux.HandleFunc("POST /oauth2/token", fp.token)
	mux.HandleFunc("GET /oauth2/userinfo", fp.userinfo)
	fp.srv.Config.Handler = mux
	fp.srv.Start()
	t.Cleanup(fp.srv.Close)
	return fp
}

func (fp *fakePlatform) discovery(w http.ResponseWriter, _ *http.Request) {
	if fp.down.Load() {
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, map[string]any{
		"issuer":                                fp.issuer,
		"authorization_endpoint":                fp.issuer + "/oauth2/authorize",
		"token_endpoint":                        fp.issuer + "/oauth2/token",
		"userinfo_endpoint":                     fp.issuer + "/oauth2/userinfo",
		"end_session_endpoint":                  fp.issuer + "/oauth2/logout",
		"jwks_uri":                              fp.issuer + "/oauth2/jwks.json",
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"authorization_response_iss_parameter_supported": true,
	})
}

func (fp *fakePlatform) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &fp.key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
}

// authorizeEndpoint logs the employee in at once and sends the browser back.
func (fp *fakePlatform) authorizeEndpoint(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fp.mu.Lock()
	fp.authorize = q
	fp.mu.Unlock()
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || q.Get("client_id") != "demo-client" || q.Get("response_type") != "code" ||
		q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
		http.Error(w, "bad authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
		return
	}
	resp := url.Values{"state": {q.Get("state")}, "iss": {fp.issuer}}
	switch fp.bad.iss {
	case "":
	case "-":
		resp.Del("iss")
	default:
		resp.Set("iss", fp.bad.iss)
	}
	if fp.bad.authError != "" {
		resp.Set("error", fp.bad.authError)
		resp.Set("error_description", "Medarbejderen afbrød login")
	} else {
		code := rand.Text()
		acr := q.Get("acr_values")
		if acr == "" {
			acr = loaSubstantial // the client's minimum
		}
		fp.mu.Lock()
		fp.grants[code] = fakeGrant{q.Get("code_challenge"), q.Get("nonce"), q.Get("redirect_uri"), acr}
		fp.secrets = append(fp.secrets, code)
		fp.mu.Unlock()
		resp.Set("code", code)
	}
	back.RawQuery = resp.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (fp *fakePlatform) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok || id != "demo-client" || secret != "demo-secret" {
		w.WriteHeader(http.StatusUnauthorized)
		writeJSON(w, map[string]string{"error": "invalid_client"})
		return
	}
	fp.mu.Lock()
	g, ok := fp.grants[r.PostFormValue("code")]
	delete(fp.grants, r.PostFormValue("code"))
	fp.mu.Unlock()
	if fp.bad.tokenError != "" || !ok || r.PostFormValue("grant_type") != "authorization_code" ||
		r.PostFormValue("redirect_uri") != g.redirectURI ||
		oauth2.S256ChallengeFromVerifier(r.PostFormValue("code_verifier")) != g.challenge {
		w.WriteHeader(http.StatusBadRequest)
		writeJSON(w, map[string]string{"error": "invalid_grant", "error_description": "koden er ugyldig"})
		return
	}

	access := rand.Text()
	hash := sha256.Sum256([]byte(access))
	c := map[string]any{
		"iss": fp.issuer, "aud": "demo-client", "sub": fp.identity["uuid"],
		"iat": time.Now().Unix(), "exp": time.Now().Add(5 * time.Minute).Unix(), "auth_time": time.Now().Unix(),
		"nonce": g.nonce, "acr": g.acr, "amr": []string{"mitid:code_app"},
		"at_hash": base64.RawURLEncoding.EncodeToString(hash[:16]),
	}
	for k, v := range fp.identity {
		c[k] = v
	}
	for field, value := range map[string]string{"acr": fp.bad.acr, "nonce": fp.bad.nonce, "aud": fp.bad.aud} {
		if value != "" {
			c[field] = value
		}
	}
	payload, _ := json.Marshal(c)
	idToken := oidctest.SignIDToken(fp.key, "k1", oidc.ES256, string(payload))
	fp.mu.Lock()
	fp.tokens[access] = true
	fp.secrets = append(fp.secrets, access, idToken)
	fp.idTokens = append(fp.idTokens, idToken)
	fp.mu.Unlock()
	writeJSON(w, map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 300, "id_token": idToken})
}

func (fp *fakePlatform) userinfo(w http.ResponseWriter, r *http.Request) {
	fp.mu.Lock()
	ok := fp.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	fp.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	c := map[string]any{"sub": fp.identity["uuid"]}
	for k, v := range fp.identity {
		c[k] = v
	}
	for k, v := range fp.bad.userinfo {
		c[k] = v
	}
	writeJSON(w, c)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// startDemo runs the demo service for the issuer on a real port, so that
// its redirect URI is reachable, and returns its URL and its logs.
func startDemo(t *testing.T, issuer string) (string, *safeBuffer) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	sp, logs := newTestSPAt(t, issuer, base)
	srv.Config.Handler = sp.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return base, logs
}

// browser is an HTTP client with cookies that follows redirects.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

func fetch(t *testing.T, c *http.Client, method, u string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// TestFullFlow logs in through a fake platform that starts after the
// service, shows what was received, and logs out at the platform.
func TestFullFlow(t *testing.T) {
	t.Parallel()
	fp := newFakePlatform(t, fakeFaults{}, true)
	base, logs := startDemo(t, fp.issuer)
	b := browser(t)

	// The platform is not up yet: a friendly 502, and a retry works later.
	if resp, body := fetch(t, b, http.MethodGet, base+"/login?acr=substantial"); resp.StatusCode != http.StatusBadGateway ||
		!strings.Contains(body, "Platformen er ikke tilgængelig") {
		t.Fatalf("login with platform down: got %d, want 502 and the unavailable page", resp.StatusCode)
	}
	fp.down.Store(false)

	resp, body := fetch(t, b, http.MethodGet, base+"/login?acr=substantial")
	if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != base+"/" {
		t.Fatalf("login: ended at %s with %d, want 200 at %s/; body %s", resp.Request.URL, resp.StatusCode, base, body)
	}
	fp.mu.Lock()
	authz := fp.authorize
	fp.mu.Unlock()
	if authz.Get("acr_values") != loaSubstantial || authz.Get("scope") != "openid profile email" ||
		authz.Get("redirect_uri") != base+"/callback" || authz.Has("prompt") {
		t.Errorf("authorization request: got %v", authz)
	}
	for _, want := range []string{
		`data-testid="user-name">Karen Jensen<`,
		`data-testid="org-name">Demo Kommune<`,
		`data-testid="cvr">91234564<`,
		`data-testid="p-number">1003388394<`,
		"korte navne (short)",
		"CVR 91234564",
		"urn:dk:demo:sag:skriv",
		"&lt;Privilege&gt;urn:dk:demo:sag:laes&lt;/Privilege&gt;",
		"userinfo: same claims",
		"Betydelig (Substantial)",
		`data-testid="logout"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("logged-in page: want %q in it", want)
		}
	}

	// prompt=login reaches the platform.
	if resp, _ := fetch(t, b, http.MethodGet, base+"/login?prompt=login"); resp.StatusCode != http.StatusOK {
		t.Errorf("prompt=login: got %d, want 200", resp.StatusCode)
	}
	fp.mu.Lock()
	if fp.authorize.Get("prompt") != "login" || fp.authorize.Has("acr_values") {
		t.Errorf("prompt=login request: got %v", fp.authorize)
	}
	idToken := fp.idTokens[len(fp.idTokens)-1]
	fp.mu.Unlock()

	// Logout: the demo sends the browser to the platform's end_session_endpoint.
	b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, _ = fetch(t, b, http.MethodPost, base+"/logout")
	to, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || err != nil || to.Host+to.Path != strings.TrimPrefix(fp.issuer, "http://")+"/oauth2/logout" {
		t.Fatalf("logout: got %d to %q, want 303 to the end_session_endpoint", resp.StatusCode, resp.Header.Get("Location"))
	}
	q := to.Query()
	if q.Get("id_token_hint") != idToken || q.Get("post_logout_redirect_uri") != base+"/" || q.Get("client_id") != "demo-client" || q.Get("state") == "" {
		t.Errorf("logout parameters: got %v", q)
	}
	// Back from the platform with the state: logged out, with a notice.
	_, body = fetch(t, b, http.MethodGet, base+"/?state="+url.QueryEscape(q.Get("state")))
	if !strings.Contains(body, `data-testid="notice"`) || !strings.Contains(body, `data-testid="login"`) {
		t.Errorf("after logout: want the notice and the login buttons; got %s", body)
	}

	out := logs.String()
	fp.mu.Lock()
	defer fp.mu.Unlock()
	for _, secret := range append(fp.secrets, "demo-secret") {
		if strings.Contains(out, secret) {
			t.Errorf("the logs hold a code, token or secret: %s", out)
			break
		}
	}
	if n := strings.Count(out, "msg=request"); n < 8 {
		t.Errorf("request log lines: got %d, want one per request; logs %s", n, out)
	}
}

// TestFlowRefusals: every check of the callback refuses a bad response.
func TestFlowRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		login  string
		faults fakeFaults
		status int
		want   string
	}{
		{"access denied", "/login", fakeFaults{authError: "access_denied"}, http.StatusForbidden, "Medarbejderen afbrød login"},
		{"other issuer", "/login", fakeFaults{iss: "http://evil.example"}, http.StatusBadRequest, "anden udsteder"},
		{"iss left out though promised", "/login", fakeFaults{iss: "-"}, http.StatusBadRequest, "anden udsteder"},
		{"code refused", "/login", fakeFaults{tokenError: "invalid_grant"}, http.StatusBadGateway, "invalid_grant"},
		{"wrong nonce", "/login", fakeFaults{nonce: "replayed"}, http.StatusBadGateway, "Forkert nonce"},
		{"wrong audience", "/login", fakeFaults{aud: "another-client"}, http.StatusBadGateway, "ID-tokenet kunne ikke verificeres"},
		{"level too low", "/login?acr=substantial", fakeFaults{acr: loaLow}, http.StatusForbidden, "For lavt sikringsniveau"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fp := newFakePlatform(t, tc.faults, false)
			base, _ := startDemo(t, fp.issuer)
			b := browser(t)
			resp, body := fetch(t, b, http.MethodGet, base+tc.login)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) || !strings.Contains(body, `data-testid="error"`) {
				t.Errorf("got %d, want %d and an error page saying %q; body %s", resp.StatusCode, tc.status, tc.want, body)
			}
			if _, home := fetch(t, b, http.MethodGet, base+"/"); !strings.Contains(home, `data-testid="login"`) {
				t.Error("after a refused login the employee is logged in")
			}
		})
	}
}

// TestUserinfoDifferences: the page lists what userinfo says differently.
func TestUserinfoDifferences(t *testing.T) {
	t.Parallel()
	fp := newFakePlatform(t, fakeFaults{userinfo: map[string]any{"org_name": "Andet Navn"}}, false)
	base, _ := startDemo(t, fp.issuer)
	_, body := fetch(t, browser(t), http.MethodGet, base+"/login")
	if !strings.Contains(body, "userinfo: 1 forskel") || !strings.Contains(body, "Andet Navn") || strings.Contains(body, "same claims") {
		t.Errorf("want one difference, org_name; got %s", body)
	}
}
