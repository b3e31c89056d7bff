package api

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

func postForm(t *testing.T, e *testEnv, path string, form url.Values, basicID, basicSecret string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(body, &out)
	return resp, out
}

func TestTokenEndpointIssuesVerifiableES256Tokens(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	org := e.org(t, "", "Nordlys")
	client, secret := e.registerClient(t, org, "users:read", "decisions")

	resp, out := postForm(t, e, TokenPath, url.Values{"grant_type": {"client_credentials"}, "scope": {"decisions"}}, client.ID.String(), secret)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %v", resp.StatusCode, out)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", got)
	}
	if out["token_type"] != "Bearer" || out["expires_in"] != float64(300) || out["scope"] != "decisions" {
		t.Errorf("token response %v", out)
	}

	// A relying party verifies it with the published JWKS alone.
	jwksResp, err := e.hc.Get(e.URL + JWKSPath)
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(jwksResp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	jwksResp.Body.Close()
	tok, err := jwt.ParseSigned(out["access_token"].(string), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in the JWKS (%d keys)", tok.Headers[0].KeyID, len(set.Keys))
	}
	var claims accessClaims
	if err := tok.Claims(keys[0].Key, &claims); err != nil {
		t.Fatalf("verify with JWKS: %v", err)
	}
	if claims.Subject != client.ID.String() || claims.OrgID != org.ID.String() || claims.Scope != "decisions" ||
		!claims.Audience.Contains(e.URL+"/api") || claims.Issuer != e.URL {
		t.Errorf("claims %+v", claims)
	}
	if d := claims.Expiry.Time().Sub(claims.IssuedAt.Time()); d != TokenLifetime {
		t.Errorf("lifetime %v, want %v", d, TokenLifetime)
	}

	// The metadata points at both.
	md, err := e.hc.Get(e.URL + MetadataPath)
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	_ = json.NewDecoder(md.Body).Decode(&meta)
	md.Body.Close()
	if meta["token_endpoint"] != e.URL+TokenPath || meta["jwks_uri"] != e.URL+JWKSPath {
		t.Errorf("metadata %v", meta)
	}
}

func TestTokenEndpointRefusals(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	org := e.org(t, "", "Nordlys")
	client, secret := e.registerClient(t, org, "users:read")
	revoked, revokedSecret := e.registerClient(t, org, "users:read")
	if err := e.Clients.Revoke(context.Background(), postgres.Actor{Label: "test"}, org.ID, revoked.ID); err != nil {
		t.Fatal(err)
	}
	cc := url.Values{"grant_type": {"client_credentials"}}
	cases := []struct {
		name       string
		form       url.Values
		id, secret string
		status     int
		code       string
	}{
		{"wrong secret", cc, client.ID.String(), secret + "x", 401, "invalid_client"},
		{"unknown client", cc, uuid.NewString(), secret, 401, "invalid_client"},
		{"not a client id", cc, "nordlys", secret, 401, "invalid_client"},
		{"revoked client", cc, revoked.ID.String(), revokedSecret, 401, "invalid_client"},
		{"no credentials", cc, "", "", 401, "invalid_client"},
		{"two methods", url.Values{"grant_type": {"client_credentials"}, "client_id": {client.ID.String()}, "client_secret": {secret}}, client.ID.String(), secret, 401, "invalid_client"},
		{"other grant", url.Values{"grant_type": {"password"}}, client.ID.String(), secret, 400, "unsupported_grant_type"},
		{"scope not given", url.Values{"grant_type": {"client_credentials"}, "scope": {"users:write"}}, client.ID.String(), secret, 400, "invalid_scope"},
	}
	for _, tc := range cases {
		resp, out := postForm(t, e, TokenPath, tc.form, tc.id, tc.secret)
		if resp.StatusCode != tc.status || out["error"] != tc.code {
			t.Errorf("%s: got %d %v, want %d %s", tc.name, resp.StatusCode, out["error"], tc.status, tc.code)
		}
		if out["access_token"] != nil {
			t.Errorf("%s: a token was issued", tc.name)
		}
	}
	// client_secret_post works as well as Basic.
	resp, out := postForm(t, e, TokenPath, url.Values{"grant_type": {"client_credentials"}, "client_id": {client.ID.String()}, "client_secret": {secret}}, "", "")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("client_secret_post: %d %v", resp.StatusCode, out)
	}
}

func TestPrivateKeyJWTClient(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	org := e.org(t, "", "Nordlys")
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, _ := json.Marshal(jose.JSONWebKey{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"})
	client, secret, err := e.Clients.Register(context.Background(), postgres.Actor{Label: "test"}, postgres.NewAPIClient{
		OrgID: org.ID, Name: "signed", Scopes: []string{"users:read"}, AuthMethod: domain.APIAuthPrivateKeyJWT, PublicJWK: string(pub)})
	if err != nil || secret != "" {
		t.Fatalf("register: %v (secret %q)", err, secret)
	}
	assertion := func(signWith *ecdsa.PrivateKey, aud, jti string, exp time.Time) string {
		signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: signWith}, nil)
		raw, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: client.ID.String(), Subject: client.ID.String(),
			Audience: jwt.Audience{aud}, ID: jti, Expiry: jwt.NewNumericDate(exp), IssuedAt: jwt.NewNumericDate(time.Now())}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	form := func(a string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {assertionType}, "client_assertion": {a}}
	}
	good := assertion(key, e.URL+TokenPath, "jti-1", time.Now().Add(time.Minute))
	if resp, out := postForm(t, e, TokenPath, form(good), "", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("assertion: %d %v", resp.StatusCode, out)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for name, a := range map[string]string{
		"replayed":     good,
		"other key":    assertion(other, e.URL+TokenPath, "jti-2", time.Now().Add(time.Minute)),
		"other aud":    assertion(key, "https://elsewhere.example/token", "jti-3", time.Now().Add(time.Minute)),
		"expired":      assertion(key, e.URL+TokenPath, "jti-4", time.Now().Add(-time.Minute)),
		"far future":   assertion(key, e.URL+TokenPath, "jti-5", time.Now().Add(time.Hour)),
		"not a JWT":    "abc.def.ghi",
		"missing type": "",
	} {
		f := form(a)
		if name == "missing type" {
			f = url.Values{"grant_type": {"client_credentials"}, "client_assertion": {good}}
		}
		if resp, out := postForm(t, e, TokenPath, f, "", ""); resp.StatusCode != http.StatusUnauthorized || out["error"] != "invalid_client" {
			t.Errorf("%s: got %d %v, want 401 invalid_client", name, resp.StatusCode, out)
		}
	}
	// A registered private key is refused: only public halves are stored.
	priv, _ := json.Marshal(jose.JSONWebKey{Key: key, Algorithm: "ES256"})
	_, _, err = e.Clients.Register(context.Background(), postgres.Actor{Label: "test"}, postgres.NewAPIClient{
		OrgID: org.ID, Name: "leaky", Scopes: []string{"users:read"}, AuthMethod: domain.APIAuthPrivateKeyJWT, PublicJWK: string(priv)})
	if domain.ErrorKey(err) != "api_client.jwk_private" {
		t.Errorf("registering a private key: %v, want api_client.jwk_private", err)
	}
}

func TestBearerRefusals(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	org := e.org(t, "", "Nordlys")
	client, secret := e.registerClient(t, org, "users:read")
	good := e.tokenFor(t, client.ID.String(), secret)

	// A token signed by a key the platform never published.
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: stranger, KeyID: "stranger"}}, nil)
	forged, _ := jwt.Signed(signer).Claims(accessClaims{Claims: jwt.Claims{Issuer: e.URL, Audience: jwt.Audience{e.URL + "/api"},
		Expiry: jwt.NewNumericDate(time.Now().Add(time.Minute))}, ClientID: client.ID.String(), OrgID: org.ID.String(), Scope: "users:read"}).Serialize()
	// A token of the platform's key, expired: signed with the live signer and a past expiry.
	live, _, err := e.API.keys.signer()
	if err != nil {
		t.Fatal(err)
	}
	expired, _ := jwt.Signed(live).Claims(accessClaims{Claims: jwt.Claims{Issuer: e.URL, Audience: jwt.Audience{e.URL + "/api"},
		Expiry: jwt.NewNumericDate(time.Now().Add(-time.Second))}, ClientID: client.ID.String(), OrgID: org.ID.String(), Scope: "users:read"}).Serialize()
	// A token for another organisation than its client's.
	foreign, _ := jwt.Signed(live).Claims(accessClaims{Claims: jwt.Claims{Issuer: e.URL, Audience: jwt.Audience{e.URL + "/api"},
		Expiry: jwt.NewNumericDate(time.Now().Add(time.Minute))}, ClientID: client.ID.String(), OrgID: uuid.NewString(), Scope: "users:read"}).Serialize()
	for name, tok := range map[string]string{"none": "", "garbage": "abc", "forged": forged, "expired": expired, "foreign org": foreign} {
		resp := e.do(t, http.MethodGet, "/api/v1/users", tok, nil, nil)
		e.problemOf(t, resp, http.StatusUnauthorized, domain.EUNAUTHENTICATED)
		if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: WWW-Authenticate %q", name, resp.Header.Get("WWW-Authenticate"))
		}
	}
	// Revocation takes effect at once on this replica.
	if resp := e.do(t, http.MethodGet, "/api/v1/openapi.json", good, nil, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("openapi: %d", resp.StatusCode)
	}
	if err := e.Clients.Revoke(context.Background(), postgres.Actor{Label: "test"}, org.ID, client.ID); err != nil {
		t.Fatal(err)
	}
	e.API.clients.Drop(client.ID) // what the revocation listener does on NOTIFY
	e.problemOf(t, e.do(t, http.MethodGet, "/api/v1/users", good, nil, nil), http.StatusUnauthorized, domain.EUNAUTHENTICATED)
}

func TestRateLimitAnswers429WithRetryAfter(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	org := e.org(t, "", "Nordlys")
	client, secret, err := e.Clients.Register(context.Background(), postgres.Actor{Label: "test"},
		postgres.NewAPIClient{OrgID: org.ID, Name: "slow", Scopes: []string{"users:read"}, AuthMethod: domain.APIAuthSecret, RateLimit: 2})
	if err != nil {
		t.Fatal(err)
	}
	tok := e.tokenFor(t, client.ID.String(), secret) // takes one of the two
	var limited *http.Response
	for range 5 {
		resp := e.do(t, http.MethodGet, "/api/v1/openapi.json", tok, nil, nil) // public: not limited
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("openapi.json is public: %d", resp.StatusCode)
		}
		if resp = e.do(t, http.MethodGet, "/api/v1/users", tok, nil, nil); resp.StatusCode == http.StatusTooManyRequests {
			limited = resp
			break
		}
	}
	if limited == nil {
		t.Fatal("no 429 after 5 requests at a limit of 2 per second")
	}
	e.problemOf(t, limited, http.StatusTooManyRequests, CodeRateLimited)
	if ra := limited.Header.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After %q, want 1", ra)
	}
}
