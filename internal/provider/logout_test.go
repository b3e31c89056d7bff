package provider_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/provider"
)

// rpLoggedOut is where the service wants the person back after logout.
const rpLoggedOut = "https://moms.skattefar.example.dk/logged-out"

func logoutURL(p *platform, q url.Values) string {
	return p.url + provider.LogoutPath + "?" + q.Encode()
}

// TestRPInitiatedLogout: a service logs the person out with the ID token as
// hint; only a registered post-logout URI receives them (with state), the
// service's tokens are revoked, and the platform's session ends.
func TestRPInitiatedLogout(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	c, secret := p.register(postgres.NewOIDCClient{PostLogoutRedirectURIs: []string{rpLoggedOut}})
	r := p.relyingParty(c.ID.String(), secret)
	a := r.start()
	tok := r.mustFinish(a, r.loginWithMitID(a, "demo-lars", "code_app"))
	hc := noFollow(r.hc.Jar) // the person's browser, with the platform's session

	for name, uri := range map[string]string{
		"another host":           "https://evil.example/logged-out",
		"the redirect URI":       rpRedirect,
		"an extra query":         rpLoggedOut + "?next=https://evil.example",
		"a trailing slash":       rpLoggedOut + "/",
		"a longer path":          rpLoggedOut + "x",
		"http":                   "http://moms.skattefar.example.dk/logged-out",
		"a host prefix-extended": "https://moms.skattefar.example.dk.evil.example/logged-out",
	} {
		resp := get(t, hc, logoutURL(p, url.Values{"id_token_hint": {tok.raw}, "post_logout_redirect_uri": {uri}, "state": {"xyz"}}))
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusBadRequest || loc != "" {
			t.Errorf("post_logout_redirect_uri %s (%s): got %d with Location %q, want 400 and no redirect", name, uri, resp.StatusCode, loc)
		}
	}
	// The refusals ended nothing.
	if status, _ := p.userinfo(t, tok.oauth.AccessToken); status != http.StatusOK {
		t.Fatalf("userinfo after refused logouts: got %d, want 200", status)
	}
	a = r.start(oauth2.SetAuthURLParam("prompt", "none"))
	r.mustFinish(a, r.received(r.get(a.url)))

	resp := get(t, hc, logoutURL(p, url.Values{"id_token_hint": {tok.raw}, "post_logout_redirect_uri": {rpLoggedOut}, "state": {"xyz"}}))
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || loc != rpLoggedOut+"?state=xyz" {
		t.Fatalf("logout: got %d to %q, want 302 to %s?state=xyz", resp.StatusCode, loc, rpLoggedOut)
	}
	if status, _ := p.userinfo(t, tok.oauth.AccessToken); status != http.StatusForbidden && status != http.StatusUnauthorized {
		t.Errorf("userinfo after logout: got %d, want the token refused", status)
	}
	a = r.start()
	wantMitID(t, p, r.get(a.url), "a login after logout")
}

// TestLogoutRefusesOthersURIs: without a client to vouch for it a
// post-logout URI is never followed, one registered for another client is
// refused, and a forged ID token is no hint.
func TestLogoutRefusesOthersURIs(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	c, secret := p.register(postgres.NewOIDCClient{PostLogoutRedirectURIs: []string{rpLoggedOut}})
	other, _ := p.register(postgres.NewOIDCClient{Name: "other", PostLogoutRedirectURIs: []string{"https://other.example/logged-out"}})
	r := p.relyingParty(c.ID.String(), secret)
	a := r.start()
	tok := r.mustFinish(a, r.loginWithMitID(a, "demo-lars", "code_app"))
	hc := noFollow(r.hc.Jar)

	forged := forgedIDToken(t, p, tok.all)
	for name, q := range map[string]url.Values{
		"another client's URI with the hint": {"id_token_hint": {tok.raw}, "post_logout_redirect_uri": {"https://other.example/logged-out"}},
		"the hint with another client_id":    {"id_token_hint": {tok.raw}, "client_id": {other.ID.String()}, "post_logout_redirect_uri": {"https://other.example/logged-out"}},
		"an unregistered URI by client_id":   {"client_id": {c.ID.String()}, "post_logout_redirect_uri": {"https://evil.example/"}},
		"a forged hint":                      {"id_token_hint": {forged}, "post_logout_redirect_uri": {rpLoggedOut}},
	} {
		q.Set("state", "xyz")
		resp := get(t, hc, logoutURL(p, q))
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusBadRequest || loc != "" {
			t.Errorf("%s: got %d with Location %q, want 400 and no redirect", name, resp.StatusCode, loc)
		}
	}
	if status, _ := p.userinfo(t, tok.oauth.AccessToken); status != http.StatusOK {
		t.Fatalf("userinfo after refused logouts: got %d, want 200", status)
	}

	// No hint and no client: the platform's own page, never the URI given.
	resp := get(t, hc, logoutURL(p, url.Values{"post_logout_redirect_uri": {"https://evil.example/"}, "state": {"xyz"}}))
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, provider.LoggedOutPath) {
		t.Errorf("logout without a client: got %d to %q, want the platform's %s", resp.StatusCode, loc, provider.LoggedOutPath)
	}
	// Without a hint nobody is named: any site can link there, so the
	// platform's session lives on (single sign-on still silent).
	a = r.start(oauth2.SetAuthURLParam("prompt", "none"))
	if cb := r.received(r.get(a.url)); cb.query.Get("code") == "" {
		t.Errorf("a logout link without a hint ended the session: %v", cb.query)
	}
}

// forgedIDToken is claims signed with a key of the forger's, under the
// platform's own kid.
func forgedIDToken(t *testing.T, p *platform, claims map[string]any) string {
	t.Helper()
	resp := get(t, http.DefaultClient, p.url+provider.JWKSPath)
	var jwks jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&jwks); err != nil || len(jwks.Keys) == 0 {
		t.Fatalf("JWKS: %v", err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: newECKey(t), KeyID: jwks.Keys[0].KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	forged := map[string]any{}
	for k, v := range claims {
		forged[k] = v
	}
	forged["exp"] = time.Now().Add(time.Minute).Unix()
	raw, err := jwt.Signed(signer).Claims(forged).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
