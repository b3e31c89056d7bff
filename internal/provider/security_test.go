package provider_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/provider"
	"github.com/erhverv/erhverv/internal/seed"
)

// TestRedirectURIMustMatchExactly: an authorization request whose
// redirect_uri is not registered exactly gets an error page at the
// platform; nothing is sent to the unregistered address.
func TestRedirectURIMustMatchExactly(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	c, _ := p.register(postgres.NewOIDCClient{})
	hc := noFollow(nil)

	// The registered URI itself starts a login: the refusals below are
	// about the URI, not the rest of the request.
	resp := get(t, hc, authorizeURL(p, c.ID.String(), rpRedirect, nil))
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, provider.LoginPath+"?id=") {
		t.Fatalf("the registered redirect URI: got %d to %q, want 302 to the login step", resp.StatusCode, loc)
	}

	for name, uri := range map[string]string{
		"another path":           "https://moms.skattefar.example.dk/other",
		"a trailing slash":       rpRedirect + "/",
		"a longer path":          rpRedirect + "x",
		"a sub-path":             rpRedirect + "/evil",
		"dot segments":           rpRedirect + "/../evil",
		"an extra query":         rpRedirect + "?next=https://evil.example",
		"a fragment":             rpRedirect + "#x",
		"http":                   "http://moms.skattefar.example.dk/callback",
		"another port":           "https://moms.skattefar.example.dk:8443/callback",
		"the default port":       "https://moms.skattefar.example.dk:443/callback",
		"upper-case host":        "https://MOMS.skattefar.example.dk/callback",
		"a host prefix-extended": "https://moms.skattefar.example.dk.evil.example/callback",
		"userinfo":               "https://evil.example@moms.skattefar.example.dk/callback",
		"another host":           "https://evil.example/callback",
		"loopback":               "http://127.0.0.1/callback",
		"none":                   "",
	} {
		for _, extra := range []url.Values{nil, {"code_challenge_method": {"plain"}}, {"prompt": {"none"}}} {
			resp := get(t, hc, authorizeURL(p, c.ID.String(), uri, extra))
			loc := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusBadRequest || loc != "" {
				t.Errorf("redirect_uri %s (%q, %v): got %d with Location %q, want 400 and no redirect", name, uri, extra, resp.StatusCode, loc)
			}
		}
	}

	// An unknown client has no redirect URI to trust.
	resp = get(t, hc, authorizeURL(p, uuid.NewString(), rpRedirect, nil))
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusBadRequest || loc != "" {
		t.Errorf("unknown client: got %d with Location %q, want 400 and no redirect", resp.StatusCode, loc)
	}
}

// TestPKCERequired: a request without PKCE, or with any method but S256,
// is answered invalid_request at the registered redirect URI (with state
// and iss); a code exchanged with the wrong or no verifier is refused.
func TestPKCERequired(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	c, secret := p.register(postgres.NewOIDCClient{})
	hc := noFollow(nil)
	verifier := oauth2.GenerateVerifier()
	for name, pkce := range map[string]url.Values{
		"no code_challenge":              {"code_challenge": {""}, "code_challenge_method": {""}},
		"no code_challenge_method":       {"code_challenge_method": {""}},
		"code_challenge_method=plain":    {"code_challenge": {verifier}, "code_challenge_method": {"plain"}},
		"an unknown method":              {"code_challenge_method": {"S512"}},
		"a method but no code_challenge": {"code_challenge": {""}},
	} {
		state := randomString()
		pkce.Set("state", state)
		cb := serviceReceived(t, p, get(t, hc, authorizeURL(p, c.ID.String(), rpRedirect, pkce)))
		if cb.Get("error") != "invalid_request" || cb.Get("state") != state || cb.Get("iss") != p.url || cb.Get("code") != "" {
			t.Errorf("%s: the service received %v, want error=invalid_request with state %q and iss %q", name, cb, state, p.url)
		}
	}

	r := p.relyingParty(c.ID.String(), secret)
	a := r.start()
	code := codeOf(t, r, a, r.loginWithMitID(a, "demo-lars", "code_app"))
	got := p.exchange(t, codeForm(code, oauth2.GenerateVerifier()), c.ID.String(), secret)
	got.wantError(t, "a wrong code_verifier", http.StatusBadRequest, "invalid_grant")

	a = r.start()
	code = codeOf(t, r, a, r.received(r.get(a.url)))
	got = p.exchange(t, codeForm(code, ""), c.ID.String(), secret)
	got.wantError(t, "no code_verifier", http.StatusBadRequest, "invalid_request")

	// The same exchange with the right verifier works (the refusals are
	// about the verifier).
	a = r.start()
	code = codeOf(t, r, a, r.received(r.get(a.url)))
	if got = p.exchange(t, codeForm(code, a.verifier), c.ID.String(), secret); got.status != http.StatusOK || got.AccessToken == "" {
		t.Errorf("the right code_verifier: got %d %s, want tokens", got.status, got.Error)
	}
}

// TestOnlyCodeFlow: implicit and hybrid requests are refused at the
// service's redirect URI, with no token or code in the answer.
func TestOnlyCodeFlow(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	c, _ := p.register(postgres.NewOIDCClient{})
	hc := noFollow(nil)
	for _, rt := range []string{"id_token", "token", "id_token token", "code id_token", "code token", "none"} {
		resp := get(t, hc, authorizeURL(p, c.ID.String(), rpRedirect, url.Values{"response_type": {rt}}))
		loc := resp.Header.Get("Location")
		u, err := url.Parse(loc)
		if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc, rpRedirect) {
			t.Errorf("response_type=%s: got %d to %q, want an error at the service", rt, resp.StatusCode, loc)
			continue
		}
		answer, _ := url.ParseQuery(u.Fragment)
		for k, v := range u.Query() {
			answer[k] = v
		}
		if answer.Get("error") != "unauthorized_client" {
			t.Errorf("response_type=%s: the service received %v, want unauthorized_client", rt, answer)
		}
		for _, k := range []string{"code", "id_token", "access_token"} {
			if answer.Has(k) {
				t.Errorf("response_type=%s: the answer carries %s", rt, k)
			}
		}
	}
}

// TestCodeIsSingleUse: a code exchanged a second time is refused, and the
// access token issued at its first use is revoked (RFC 6749, 4.1.2).
func TestCodeIsSingleUse(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	c, secret := p.register(postgres.NewOIDCClient{})
	r := p.relyingParty(c.ID.String(), secret)
	a := r.start()
	code := codeOf(t, r, a, r.loginWithMitID(a, "demo-lars", "code_app"))
	first := p.exchange(t, codeForm(code, a.verifier), c.ID.String(), secret)
	if first.status != http.StatusOK || first.AccessToken == "" || first.IDToken == "" {
		t.Fatalf("first exchange: got %d %s, want tokens", first.status, first.Error)
	}
	if status, _ := p.userinfo(t, first.AccessToken); status != http.StatusOK {
		t.Fatalf("userinfo before the replay: got %d, want 200", status)
	}
	second := p.exchange(t, codeForm(code, a.verifier), c.ID.String(), secret)
	second.wantError(t, "the code's second use", http.StatusBadRequest, "invalid_grant")
	if status, claims := p.userinfo(t, first.AccessToken); status != http.StatusForbidden && status != http.StatusUnauthorized {
		t.Errorf("userinfo after the replay: got %d %v, want the token refused", status, claims)
	}
}

// TestTokensBoundToClient: client B cannot exchange client A's code even
// with its own valid secret, introspection of A's token by B says
// inactive, and a wrong secret is invalid_client.
func TestTokensBoundToClient(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	ca, secretA := p.register(postgres.NewOIDCClient{Name: "A"})
	cb, secretB := p.register(postgres.NewOIDCClient{Name: "B"})
	r := p.relyingParty(ca.ID.String(), secretA)
	a := r.start()
	code := codeOf(t, r, a, r.loginWithMitID(a, "demo-lars", "code_app"))
	got := p.exchange(t, codeForm(code, a.verifier), cb.ID.String(), secretB)
	got.wantError(t, "A's code exchanged by B", http.StatusBadRequest, "invalid_grant")
	if got.AccessToken != "" || got.IDToken != "" {
		t.Error("B received tokens for A's code")
	}

	a = r.start()
	code = codeOf(t, r, a, r.received(r.get(a.url)))
	tok := p.exchange(t, codeForm(code, a.verifier), ca.ID.String(), secretA)
	if tok.status != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("A's own exchange: got %d %s, want tokens", tok.status, tok.Error)
	}
	if got := p.introspect(t, tok.AccessToken, ca.ID.String(), secretA); got["active"] != true || got["client_id"] != ca.ID.String() {
		t.Errorf("A introspecting its own token: got %v, want active", got)
	}
	if got := p.introspect(t, tok.AccessToken, cb.ID.String(), secretB); got["active"] != false || got["sub"] != nil {
		t.Errorf("B introspecting A's token: got %v, want only active=false", got)
	}

	for name, cred := range map[string][2]string{
		"a wrong secret":          {ca.ID.String(), secretA + "x"},
		"B's secret for A":        {ca.ID.String(), secretB},
		"an unknown client":       {uuid.NewString(), secretA},
		"no secret":               {ca.ID.String(), ""},
		"the secret as client id": {secretA, secretA},
	} {
		a = r.start()
		code = codeOf(t, r, a, r.received(r.get(a.url)))
		form := codeForm(code, a.verifier)
		if cred[1] == "" {
			form.Set("client_id", cred[0])
		}
		got := p.exchange(t, form, cred[0], cred[1])
		got.wantError(t, name, http.StatusUnauthorized, "invalid_client")
	}
}

// TestCodesExpire: a code past its expiry is refused.
func TestCodesExpire(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	c, secret := p.register(postgres.NewOIDCClient{})
	r := p.relyingParty(c.ID.String(), secret)
	a := r.start()
	code := codeOf(t, r, a, r.loginWithMitID(a, "demo-lars", "code_app"))
	res, err := p.db.SQL().ExecContext(context.Background(),
		`UPDATE oidc_grants SET expires_at = now() - interval '1 second' WHERE client_id = $1 AND code_hash = $2`, c.ID, postgres.HashCode(code))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("expired %d grants, want 1", n)
	}
	got := p.exchange(t, codeForm(code, a.verifier), c.ID.String(), secret)
	got.wantError(t, "an expired code", http.StatusBadRequest, "invalid_grant")
}

// TestPromptNone: without a session prompt=none is login_required back at
// the service (with state and iss); with one it is silent.
func TestPromptNone(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	c, secret := p.register(postgres.NewOIDCClient{})
	r := p.relyingParty(c.ID.String(), secret)
	a := r.start(oauth2.SetAuthURLParam("prompt", "none"))
	cb := r.received(r.get(a.url))
	if cb.query.Get("error") != "login_required" || cb.query.Get("state") != a.state || cb.query.Get("iss") != p.url || cb.query.Has("code") {
		t.Errorf("prompt=none without a session: the service received %v, want login_required with state and iss", cb.query)
	}

	a = r.start()
	r.mustFinish(a, r.loginWithMitID(a, "demo-lars", "code_app"))
	a = r.start(oauth2.SetAuthURLParam("prompt", "none"))
	r.mustFinish(a, r.received(r.get(a.url)))
}

// TestPromptLoginReauthenticates: prompt=login sends a person with a
// session to MitID again.
func TestPromptLoginReauthenticates(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	c, secret := p.register(postgres.NewOIDCClient{})
	r := p.relyingParty(c.ID.String(), secret)
	a := r.start()
	r.mustFinish(a, r.loginWithMitID(a, "demo-lars", "code_app"))

	a = r.start(oauth2.SetAuthURLParam("prompt", "login"))
	wantMitID(t, p, r.get(a.url), "prompt=login with a session")
	r.mustFinish(a, r.loginWithMitID(a, "demo-lars", "code_app"))
}

// TestMaxAge: max_age=0 sends a person with a session to MitID again;
// max_age=3600 with a fresh session is silent.
func TestMaxAge(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	c, secret := p.register(postgres.NewOIDCClient{})
	r := p.relyingParty(c.ID.String(), secret)
	a := r.start()
	first := r.mustFinish(a, r.loginWithMitID(a, "demo-lars", "code_app"))

	a = r.start(oauth2.SetAuthURLParam("max_age", "3600"))
	tok := r.mustFinish(a, r.received(r.get(a.url)))
	if tok.all["auth_time"] != first.all["auth_time"] {
		t.Errorf("silent login's auth_time = %v, want the session's %v", tok.all["auth_time"], first.all["auth_time"])
	}

	time.Sleep(1100 * time.Millisecond) // max_age counts whole seconds
	a = r.start(oauth2.SetAuthURLParam("max_age", "0"))
	wantMitID(t, p, r.get(a.url), "max_age=0 with a session")
	r.mustFinish(a, r.loginWithMitID(a, "demo-lars", "code_app"))
}

// TestRevokedClient: a revoked client logs no one in, and its tokens and
// codes are refused at once.
func TestRevokedClient(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	henrik := postgres.Actor{UserID: seed.ID("user:henrik"), Label: "Henrik Skat"}
	skattefar := seed.ID("org:" + seed.CVRSkattefar)
	c, secret := p.register(postgres.NewOIDCClient{})
	r := p.relyingParty(c.ID.String(), secret)
	a := r.start()
	tok := r.mustFinish(a, r.loginWithMitID(a, "demo-lars", "code_app"))
	if status, _ := p.userinfo(t, tok.oauth.AccessToken); status != http.StatusOK {
		t.Fatalf("userinfo before revocation: got %d, want 200", status)
	}
	pending := r.start()
	code := codeOf(t, r, pending, r.received(r.get(pending.url)))

	if err := p.clients.Revoke(context.Background(), henrik, skattefar, c.ID); err != nil {
		t.Fatal(err)
	}
	if status, _ := p.userinfo(t, tok.oauth.AccessToken); status != http.StatusForbidden && status != http.StatusUnauthorized {
		t.Errorf("userinfo after revocation: got %d, want the token refused", status)
	}
	got := p.exchange(t, codeForm(code, pending.verifier), c.ID.String(), secret)
	got.wantError(t, "a code issued before revocation", http.StatusBadRequest, "invalid_grant")

	// A revoked client the provider has not cached: its authorization
	// request is an error page, not a redirect.
	other, _ := p.register(postgres.NewOIDCClient{Name: "revoked"})
	if err := p.clients.Revoke(context.Background(), henrik, skattefar, other.ID); err != nil {
		t.Fatal(err)
	}
	resp := get(t, noFollow(nil), authorizeURL(p, other.ID.String(), rpRedirect, nil))
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusBadRequest || loc != "" {
		t.Errorf("authorize for a revoked client: got %d with Location %q, want 400 and no redirect", resp.StatusCode, loc)
	}
}

// TestPrivateKeyJWT: a client authenticating with a signed assertion
// exchanges its code; the same assertion a second time, or one signed
// with another key, is invalid_client (and leaves the code usable).
func TestPrivateKeyJWT(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	key := newECKey(t)
	jwk, err := json.Marshal(jose.JSONWebKey{Key: &key.PublicKey, KeyID: "k1", Algorithm: string(jose.ES256), Use: "sig"})
	if err != nil {
		t.Fatal(err)
	}
	c, secret := p.register(postgres.NewOIDCClient{AuthMethod: domain.OIDCAuthPrivateKeyJWT, PublicJWK: string(jwk)})
	if secret != "" {
		t.Fatalf("a private_key_jwt client was given a secret")
	}
	id := c.ID.String()
	aud := []string{p.url, p.url + provider.TokenPath}
	r := p.relyingParty(id, "")
	r.config.Endpoint.AuthStyle = oauth2.AuthStyleInParams

	// As a service does it: x/oauth2 with the assertion as extra parameters.
	a := r.start()
	cb := r.loginWithMitID(a, "demo-lars", "code_app")
	used := clientAssertion(t, key, "k1", id, aud)
	tok, err := r.config.Exchange(context.Background(), codeOf(t, r, a, cb), oauth2.VerifierOption(a.verifier),
		oauth2.SetAuthURLParam("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
		oauth2.SetAuthURLParam("client_assertion", used))
	if err != nil {
		t.Fatalf("exchange with a client assertion: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if _, err := r.provider.Verifier(&oidc.Config{ClientID: id}).Verify(context.Background(), raw); err != nil {
		t.Fatalf("ID token: %v", err)
	}

	a = r.start()
	code := codeOf(t, r, a, r.received(r.get(a.url)))
	other := newECKey(t)
	for name, assertion := range map[string]string{
		"the same assertion again":          used,
		"an assertion by another key":       clientAssertion(t, other, "k1", id, aud),
		"another key without a kid":         clientAssertion(t, other, "", id, aud),
		"an assertion for another audience": clientAssertion(t, key, "k1", id, []string{"https://evil.example"}),
		"an assertion about another client": clientAssertion(t, key, "k1", uuid.NewString(), aud),
	} {
		got := p.exchange(t, assertionForm(code, a.verifier, id, assertion), "", "")
		got.wantError(t, name, http.StatusUnauthorized, "invalid_client")
	}
	// The refusals came before the code was looked at: it still works.
	got := p.exchange(t, assertionForm(code, a.verifier, id, clientAssertion(t, key, "k1", id, aud)), "", "")
	if got.status != http.StatusOK || got.IDToken == "" {
		t.Errorf("a fresh assertion after the refusals: got %d %s %s, want tokens", got.status, got.Error, got.Description)
	}

	// No assertion at all, or a secret instead, is no authentication.
	for name, form := range map[string]url.Values{
		"no assertion": {"client_id": {id}},
		"a secret":     {"client_id": {id}, "client_secret": {"erhsp_guess"}},
		"an unsigned JWT": {"client_id": {id}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion": {unsignedAssertion(id, aud)}},
	} {
		a = r.start()
		code = codeOf(t, r, a, r.received(r.get(a.url)))
		for k, v := range codeForm(code, a.verifier) {
			form[k] = v
		}
		got := p.exchange(t, form, "", "")
		got.wantError(t, name, http.StatusUnauthorized, "invalid_client")
	}

	// The audience OIDC Core (section 9) recommends: the token endpoint alone.
	a = r.start()
	code = codeOf(t, r, a, r.received(r.get(a.url)))
	got = p.exchange(t, assertionForm(code, a.verifier, id, clientAssertion(t, key, "k1", id, []string{p.url + provider.TokenPath})), "", "")
	if got.status != http.StatusOK || got.IDToken == "" {
		t.Errorf("aud = token endpoint: got %d %s %s, want tokens", got.status, got.Error, got.Description)
	}
}

// TestCodeSurvivesFailedClientAuthentication: a code presented without the
// client's credentials or verifier is not used up, and a replay by someone
// who only saw the code revokes nothing; the client's own replay does.
func TestCodeSurvivesFailedClientAuthentication(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	c, secret := p.register(postgres.NewOIDCClient{})
	r := p.relyingParty(c.ID.String(), secret)
	a := r.start()
	code := codeOf(t, r, a, r.loginWithMitID(a, "demo-lars", "code_app"))
	p.exchange(t, codeForm(code, a.verifier), c.ID.String(), "wrong").wantError(t, "a wrong secret", http.StatusUnauthorized, "invalid_client")
	p.exchange(t, codeForm(code, "not-the-verifier-not-the-verifier-not-the-verifier"), c.ID.String(), secret).
		wantError(t, "a wrong verifier", http.StatusBadRequest, "invalid_grant")
	first := p.exchange(t, codeForm(code, a.verifier), c.ID.String(), secret)
	if first.status != http.StatusOK || first.AccessToken == "" {
		t.Fatalf("the client's exchange after the failures: %d %s %s", first.status, first.Error, first.Description)
	}
	// Someone who saw the code but has no secret cannot revoke the tokens.
	p.exchange(t, codeForm(code, "x"), c.ID.String(), "").wantError(t, "no secret", http.StatusUnauthorized, "invalid_client")
	if status, _ := p.userinfo(t, first.AccessToken); status != http.StatusOK {
		t.Errorf("an unauthenticated replay revoked the tokens: userinfo %d", status)
	}
}

// TestPublicClient: a public client (auth method none) logs in with PKCE
// and no secret; without the verifier its code is refused.
func TestPublicClient(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	c, secret := p.register(postgres.NewOIDCClient{AuthMethod: domain.OIDCAuthNone})
	if secret != "" {
		t.Fatalf("a public client was given a secret")
	}
	id := c.ID.String()
	r := p.relyingParty(id, "")
	a := r.start()
	code := codeOf(t, r, a, r.loginWithMitID(a, "demo-lars", "code_app"))
	form := codeForm(code, a.verifier)
	form.Set("client_id", id)
	got := p.exchange(t, form, "", "")
	if got.status != http.StatusOK || got.IDToken == "" {
		t.Fatalf("public client's exchange: got %d %s %s, want tokens", got.status, got.Error, got.Description)
	}
	idt, err := r.provider.Verifier(&oidc.Config{ClientID: id}).Verify(context.Background(), got.IDToken)
	if err != nil || idt.Subject != seed.ID("user:lars").String() || idt.Nonce != a.nonce {
		t.Errorf("public client's ID token: %v (sub %v)", err, idt)
	}

	a = r.start()
	code = codeOf(t, r, a, r.received(r.get(a.url)))
	form = codeForm(code, "")
	form.Set("client_id", id)
	got = p.exchange(t, form, "", "")
	got.wantError(t, "a public client's code without the verifier", http.StatusBadRequest, "invalid_request")
	if got.AccessToken != "" {
		t.Error("tokens without the verifier")
	}
}

// TestDiscovery: the discovery document says what the provider does (the
// iss parameter, S256 only, ES256 only, the NSIS levels), its endpoints
// are the issuer's, and its JWKS holds the key that signs ID tokens.
func TestDiscovery(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	resp := get(t, http.DefaultClient, p.url+provider.DiscoveryPath)
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("discovery: %d %v", resp.StatusCode, err)
	}
	if doc["issuer"] != p.url {
		t.Errorf("issuer = %v, want %s", doc["issuer"], p.url)
	}
	if got := strs(doc["response_types_supported"]); !slices.Equal(got, []string{"code"}) {
		t.Errorf("response_types_supported = %v, want [code]", got)
	}
	if doc["authorization_response_iss_parameter_supported"] != true {
		t.Errorf("authorization_response_iss_parameter_supported = %v, want true", doc["authorization_response_iss_parameter_supported"])
	}
	if got := strs(doc["code_challenge_methods_supported"]); !slices.Equal(got, []string{"S256"}) {
		t.Errorf("code_challenge_methods_supported = %v, want [S256]", got)
	}
	if got := strs(doc["id_token_signing_alg_values_supported"]); !slices.Contains(got, "ES256") || slices.Contains(got, "none") {
		t.Errorf("id_token_signing_alg_values_supported = %v, want ES256 and never none", got)
	}
	if got := strs(doc["acr_values_supported"]); !slices.Equal(got, []string{nsis + "loa/Low", nsis + "loa/Substantial", nsis + "loa/High"}) {
		t.Errorf("acr_values_supported = %v", got)
	}
	for field, path := range map[string]string{
		"authorization_endpoint": provider.AuthorizePath, "token_endpoint": provider.TokenPath,
		"userinfo_endpoint": provider.UserinfoPath, "end_session_endpoint": provider.LogoutPath,
		"jwks_uri": provider.JWKSPath, "introspection_endpoint": provider.IntrospectPath,
		"revocation_endpoint": provider.RevokePath,
	} {
		if doc[field] != p.url+path {
			t.Errorf("%s = %v, want %s", field, doc[field], p.url+path)
		}
	}

	c, secret := p.register(postgres.NewOIDCClient{})
	r := p.relyingParty(c.ID.String(), secret)
	a := r.start()
	tok := r.mustFinish(a, r.loginWithMitID(a, "demo-lars", "code_app"))
	sig, err := jose.ParseSigned(tok.raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	kid := sig.Signatures[0].Protected.KeyID
	resp = get(t, http.DefaultClient, doc["jwks_uri"].(string))
	var jwks jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&jwks); err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	keys := jwks.Key(kid)
	if kid == "" || len(keys) != 1 {
		t.Fatalf("the ID token's kid %q is in the JWKS %d times, want once", kid, len(keys))
	}
	if _, err := sig.Verify(keys[0]); err != nil {
		t.Errorf("the ID token does not verify with the JWKS key %s: %v", kid, err)
	}
	for _, k := range jwks.Keys {
		if !k.IsPublic() {
			t.Errorf("the JWKS publishes a private key (%s)", k.KeyID)
		}
	}
}

// TestStateEchoedExactly: state comes back byte for byte, special
// characters included, on a code and on an error; the code carries iss.
func TestStateEchoedExactly(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	c, secret := p.register(postgres.NewOIDCClient{})
	r := p.relyingParty(c.ID.String(), secret)
	const special = `a b+c&d=e?f/g#h%20i;j"k<l>'m æøå ✓ \n`
	a := r.start()
	a.state = special
	a.url = r.config.AuthCodeURL(a.state, oidc.Nonce(a.nonce), oauth2.S256ChallengeOption(a.verifier))
	cb := r.loginWithMitID(a, "demo-lars", "code_app")
	if got := cb.query.Get("state"); got != special {
		t.Errorf("state = %q, want %q", got, special)
	}
	if got := cb.query.Get("iss"); got != p.url {
		t.Errorf("iss = %q, want %q", got, p.url)
	}
	r.mustFinish(a, cb)

	// An error answer echoes it too.
	a = r.start()
	a.url = r.config.AuthCodeURL(special, oidc.Nonce(a.nonce), oauth2.S256ChallengeOption(a.verifier),
		oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("acr_values", nsis+"loa/High"))
	cb = r.received(r.get(a.url))
	if cb.query.Get("error") != "login_required" || cb.query.Get("state") != special || cb.query.Get("iss") != p.url {
		t.Errorf("error answer: %v, want login_required with state %q", cb.query, special)
	}
}

// TestNoOpenRedirectAtLoginStep: the login step answers an unknown request
// with a page of its own, and the portal's login never returns off-site.
func TestNoOpenRedirectAtLoginStep(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	hc := noFollow(nil)
	for name, resp := range map[string]*http.Response{
		"login step, unknown id": get(t, hc, p.url+provider.LoginPath+"?id="+uuid.NewString()),
		"login step, garbage id": get(t, hc, p.url+provider.LoginPath+"?id=https://evil.example"),
		"login step, no id":      get(t, hc, p.url+provider.LoginPath),
		"cancel, unknown id":     postForm(t, hc, p.url+provider.CancelPath, url.Values{"id": {uuid.NewString()}}),
		"cancel, no id":          postForm(t, hc, p.url+provider.CancelPath, nil),
		"choose, unknown id":     postForm(t, hc, p.url+provider.ChoosePath, url.Values{"id": {uuid.NewString()}, "org": {seed.ID("org:" + seed.CVRNordlys).String()}}),
	} {
		loc := resp.Header.Get("Location")
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || loc != "" {
			t.Errorf("%s: got %d with Location %q, want a 400 page", name, resp.StatusCode, loc)
		}
	}

	platformHost, _ := url.Parse(p.url)
	simHost, _ := url.Parse(p.sim.Issuer())
	for _, ret := range []string{"https://evil.example", "//evil.example", `/\evil.example`, "https:evil.example", "/%2F%2Fevil.example"} {
		start := p.url + "/login?" + url.Values{"purpose": {"service"}, "return": {ret}}.Encode()
		resp := get(t, hc, start)
		resp.Body.Close()
		if u, err := url.Parse(resp.Header.Get("Location")); resp.StatusCode != http.StatusFound || err != nil || u.Host != simHost.Host {
			t.Errorf("return=%s: got %d to %q, want MitID", ret, resp.StatusCode, resp.Header.Get("Location"))
			continue
		}
		// The whole login, in a browser that refuses to leave the platform
		// and the simulator.
		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if req.URL.Host != platformHost.Host && req.URL.Host != simHost.Host {
				return http.ErrUseLastResponse
			}
			return nil
		}}
		resp, err := p.sim.LoginAs(context.Background(), browser, start, "demo-lars", "code_app")
		if err != nil {
			t.Errorf("return=%s: %v", ret, err)
			continue
		}
		resp.Body.Close()
		if resp.Request.URL.Host != platformHost.Host || resp.StatusCode/100 == 3 {
			t.Errorf("return=%s: the login ended at %s (%d, Location %q), want a page of the platform", ret, resp.Request.URL, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

// authorizeURL is an authorization request built by hand: code flow, PKCE
// S256, for redirect (absent when ""); extra replaces parameters (an empty
// value removes one).
func authorizeURL(p *platform, clientID, redirect string, extra url.Values) string {
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "scope": {"openid"}, "state": {randomString()},
		"nonce": {randomString()}, "code_challenge": {s256(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"}}
	if redirect != "" {
		q.Set("redirect_uri", redirect)
	}
	for k, v := range extra {
		if len(v) == 0 || v[0] == "" {
			q.Del(k)
		} else {
			q[k] = v
		}
	}
	return p.url + provider.AuthorizePath + "?" + q.Encode()
}

// noFollow is a browser that shows every redirect instead of following it.
func noFollow(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

func get(t *testing.T, hc *http.Client, u string) *http.Response {
	t.Helper()
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// serviceReceived is the query of a redirect to the service's redirect URI.
func serviceReceived(t *testing.T, p *platform, resp *http.Response) url.Values {
	t.Helper()
	loc := resp.Header.Get("Location")
	if resp.StatusCode < 300 || resp.StatusCode >= 400 || !strings.HasPrefix(loc, rpRedirect+"?") {
		t.Fatalf("got %d with Location %q, want a redirect to the service", resp.StatusCode, loc)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// codeOf is the code the service received, after the checks a careful
// service makes.
func codeOf(t *testing.T, r *rp, a attempt, cb callback) string {
	t.Helper()
	q := cb.query
	if q.Get("error") != "" || q.Get("state") != a.state || q.Get("iss") != r.p.url || q.Get("code") == "" {
		t.Fatalf("the service received %v, want a code with state and iss", q)
	}
	return q.Get("code")
}

func codeForm(code, verifier string) url.Values {
	f := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpRedirect}}
	if verifier != "" {
		f.Set("code_verifier", verifier)
	}
	return f
}

func assertionForm(code, verifier, clientID, assertion string) url.Values {
	f := codeForm(code, verifier)
	f.Set("client_id", clientID)
	f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
	f.Set("client_assertion", assertion)
	return f
}

// tokenResponse is the token endpoint's answer, tokens or an error.
type tokenResponse struct {
	status      int
	AccessToken string `json:"access_token"`
	IDToken     string `json:"id_token"`
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func (r tokenResponse) wantError(t *testing.T, what string, status int, code string) {
	t.Helper()
	if r.status != status || r.Error != code || r.AccessToken != "" || r.IDToken != "" {
		t.Errorf("%s: got %d %q (%s), want %d %q and no tokens", what, r.status, r.Error, r.Description, status, code)
	}
}

// exchange posts form to the token endpoint, with HTTP Basic
// authentication when clientID is not "".
func (p *platform) exchange(t *testing.T, form url.Values, clientID, secret string) tokenResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.url+provider.TokenPath, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if clientID != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := tokenResponse{status: resp.StatusCode}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("token endpoint answered %d with no JSON: %v", resp.StatusCode, err)
	}
	return out
}

// userinfo calls the userinfo endpoint with an access token.
func (p *platform) userinfo(t *testing.T, accessToken string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, p.url+provider.UserinfoPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var claims map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&claims)
	return resp.StatusCode, claims
}

// introspect asks the introspection endpoint about a token as a client.
func (p *platform) introspect(t *testing.T, token, clientID, secret string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.url+provider.IntrospectPath, strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("introspection: %d %v", resp.StatusCode, err)
	}
	return out
}

// wantMitID checks that the browser ended at the simulator's login page.
func wantMitID(t *testing.T, p *platform, resp *http.Response, what string) {
	t.Helper()
	resp.Body.Close()
	if !strings.HasPrefix(resp.Request.URL.String(), p.sim.Issuer()) {
		t.Fatalf("%s: the browser went to %s, want MitID", what, resp.Request.URL)
	}
}

func newECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// clientAssertion is a private_key_jwt assertion (RFC 7523) valid for a
// minute.
func clientAssertion(t *testing.T, key *ecdsa.PrivateKey, kid, clientID string, aud []string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	raw, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: clientID, Subject: clientID, Audience: aud, ID: uuid.NewString(),
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(time.Minute))}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// unsignedAssertion is an assertion with alg none.
func unsignedAssertion(clientID string, aud []string) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	now := time.Now()
	return enc(map[string]string{"alg": "none", "typ": "JWT"}) + "." + enc(map[string]any{"iss": clientID, "sub": clientID,
		"aud": aud, "jti": uuid.NewString(), "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}) + "."
}

func strs(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
