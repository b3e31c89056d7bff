package login

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// testBroker is a minimal OpenID Provider for the relying party's unit
// tests: discovery, a JWKS and a token endpoint that answers every code
// with the ID token the test prepared, signed by a key the test chooses.
type testBroker struct {
	t       *testing.T
	srv     *httptest.Server
	key     *rsa.PrivateKey
	idToken string
	// tokenStatus, when not 200, makes the token endpoint refuse.
	tokenStatus int
	gotForm     url.Values
}

func newTestBroker(t *testing.T) *testBroker {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b := &testBroker{t: t, key: key, tokenStatus: http.StatusOK}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": b.srv.URL, "authorization_endpoint": b.srv.URL + "/authorize", "token_endpoint": b.srv.URL + "/token",
			"jwks_uri": b.srv.URL + "/jwks", "end_session_endpoint": b.srv.URL + "/logout",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &b.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		b.gotForm = r.PostForm
		w.Header().Set("Content-Type", "application/json")
		if b.tokenStatus != http.StatusOK {
			w.WriteHeader(b.tokenStatus)
			_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 60, "id_token": b.idToken})
	})
	b.srv = httptest.NewServer(mux)
	t.Cleanup(b.srv.Close)
	return b
}

// sign makes an ID token with claims over sensible defaults, signed with
// signer (the broker's own key when nil).
func (b *testBroker) sign(claims map[string]any, signer jose.Signer) string {
	b.t.Helper()
	if signer == nil {
		var err error
		signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: b.key, KeyID: "k1"}}, nil)
		if err != nil {
			b.t.Fatal(err)
		}
	}
	now := time.Now()
	all := map[string]any{"iss": b.srv.URL, "sub": "demo-mette", "aud": "erhverv", "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"nonce": "the-nonce", claimOIOLoA: LevelSubstantial.URI(), claimOIOFullName: "Mette Nordlys", claimOIOCPR: "0505751234"}
	for k, v := range claims {
		if v == nil {
			delete(all, k)
		} else {
			all[k] = v
		}
	}
	raw, err := jwt.Signed(signer).Claims(all).Serialize()
	if err != nil {
		b.t.Fatal(err)
	}
	return raw
}

func (b *testBroker) rp() *RelyingParty {
	return NewRelyingParty(BrokerConfig{Issuer: b.srv.URL, ClientID: "erhverv", ClientSecret: "s3cret",
		RedirectURL: "http://platform.test/login/callback", Profile: oiosamlProfile{}})
}

var testAttempt = Attempt{State: "st", Nonce: "the-nonce", Verifier: "verifier-verifier-verifier-verifier-verifier", Level: LevelSubstantial}

func TestFinishAcceptsAValidLogin(t *testing.T) {
	t.Parallel()
	b := newTestBroker(t)
	b.idToken = b.sign(nil, nil)
	p, err := b.rp().Finish(context.Background(), testAttempt, url.Values{"code": {"c1"}, "state": {"st"}})
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if p.Subject != "demo-mette" || p.Issuer != b.srv.URL || p.CPR != "0505751234" || p.Level() != LevelSubstantial || p.BirthDate != "1975-05-05" {
		t.Errorf("person = %+v", p)
	}
	if got := b.gotForm.Get("code_verifier"); got != testAttempt.Verifier {
		t.Errorf("token request code_verifier = %q, want the attempt's verifier", got)
	}
	if got := b.gotForm.Get("redirect_uri"); got != "http://platform.test/login/callback" {
		t.Errorf("token request redirect_uri = %q", got)
	}
}

func TestFinishRefuses(t *testing.T) {
	t.Parallel()
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	otherSigner, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: otherKey, KeyID: "k1"}}, nil)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecSigner, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: ecKey, KeyID: "k1"}}, nil)
	past := time.Now().Add(-time.Hour).Unix()
	tests := []struct {
		name   string
		claims map[string]any
		signer jose.Signer
		query  url.Values
		status int
		want   Reason
	}{
		{name: "wrong signature", signer: otherSigner, want: ReasonToken},
		{name: "unsupported algorithm", signer: ecSigner, want: ReasonToken},
		{name: "another issuer", claims: map[string]any{"iss": "https://evil.example"}, want: ReasonToken},
		{name: "another audience", claims: map[string]any{"aud": "someone-else"}, want: ReasonToken},
		{name: "several audiences without azp", claims: map[string]any{"aud": []string{"erhverv", "other"}}, want: ReasonToken},
		{name: "expired", claims: map[string]any{"exp": past, "iat": past - 60}, want: ReasonToken},
		{name: "wrong nonce", claims: map[string]any{"nonce": "another-login"}, want: ReasonNonce},
		{name: "no nonce", claims: map[string]any{"nonce": nil}, want: ReasonNonce},
		{name: "below the level", claims: map[string]any{claimOIOLoA: LevelLow.URI()}, want: ReasonLevel},
		{name: "ial below the level", claims: map[string]any{claimOIOIAL: "https://data.gov.dk/concept/core/nsis/ial/Low"}, want: ReasonLevel},
		{name: "no level", claims: map[string]any{claimOIOLoA: nil}, want: ReasonClaims},
		{name: "malformed CPR", claims: map[string]any{claimOIOCPR: "3213991234"}, want: ReasonClaims},
		{name: "replayed code", status: http.StatusBadRequest, want: ReasonExchange},
		{name: "broker error", query: url.Values{"error": {"access_denied"}, "state": {"st"}}, want: ReasonDenied},
		{name: "response from another issuer", query: url.Values{"code": {"c"}, "state": {"st"}, "iss": {"https://evil.example"}}, want: ReasonToken},
		{name: "no code", query: url.Values{"state": {"st"}}, want: ReasonExchange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newTestBroker(t)
			b.idToken = b.sign(tt.claims, tt.signer)
			if tt.status != 0 {
				b.tokenStatus = tt.status
			}
			q := tt.query
			if q == nil {
				q = url.Values{"code": {"c1"}, "state": {"st"}}
			}
			_, err := b.rp().Finish(context.Background(), testAttempt, q)
			if got := FailureReason(err); got != tt.want {
				t.Fatalf("reason = %q (err %v), want %q", got, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "0505751234") {
				t.Errorf("error %q repeats the CPR number", err)
			}
		})
	}
}

func TestBrokerUnavailable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	rp := NewRelyingParty(BrokerConfig{Issuer: srv.URL, ClientID: "erhverv", Profile: oiosamlProfile{}})
	_, err := rp.AuthURL(context.Background(), testAttempt)
	if FailureReason(err) != ReasonUnavailable {
		t.Fatalf("AuthURL with the broker down: %v, want %s", err, ReasonUnavailable)
	}
	var f *Failure
	if !errors.As(err, &f) {
		t.Fatal("not a *Failure")
	}
}

func TestAuthURLCarriesStateNonceAndPKCE(t *testing.T) {
	t.Parallel()
	b := newTestBroker(t)
	for _, tt := range []struct {
		profile Profile
		want    map[string]string
	}{
		{oiosamlProfile{}, map[string]string{"acr_values": LevelSubstantial.URI(), "scope": "openid profile ssn"}},
		{signaturgruppenProfile{}, map[string]string{"acr_values": LevelSubstantial.URI(), "idp_values": "mitid", "scope": "openid mitid ssn"}},
		{iduraProfile{}, map[string]string{"acr_values": "urn:grn:authn:dk:mitid:substantial", "scope": "openid ssn"}},
	} {
		rp := NewRelyingParty(BrokerConfig{Issuer: b.srv.URL, ClientID: "erhverv", RedirectURL: "http://platform.test/cb", Profile: tt.profile})
		raw, err := rp.AuthURL(context.Background(), testAttempt)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(raw)
		q := u.Query()
		want := map[string]string{"state": "st", "nonce": "the-nonce", "code_challenge_method": "S256", "response_type": "code",
			"client_id": "erhverv", "redirect_uri": "http://platform.test/cb"}
		for k, v := range tt.want {
			want[k] = v
		}
		for k, v := range want {
			if q.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", tt.profile.Name(), k, q.Get(k), v)
			}
		}
		if q.Get("code_challenge") == "" || q.Get("code_challenge") == testAttempt.Verifier {
			t.Errorf("%s: code_challenge = %q, want the S256 hash of the verifier", tt.profile.Name(), q.Get("code_challenge"))
		}
	}
}

func TestLogoutURL(t *testing.T) {
	t.Parallel()
	b := newTestBroker(t)
	got := b.rp().LogoutURL(context.Background(), "http://platform.test/")
	u, err := url.Parse(got)
	if err != nil || u.Path != "/logout" || u.Query().Get("client_id") != "erhverv" || u.Query().Get("post_logout_redirect_uri") != "http://platform.test/" {
		t.Errorf("LogoutURL = %q", got)
	}
}

func TestSafeReturnTo(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		"/portal":                       "/portal",
		"/activate?token=abc":           "/activate?token=abc",
		"":                              "F",
		"portal":                        "F",
		"https://evil.example/":         "F",
		"//evil.example/x":              "F",
		"/\\evil.example":               "F",
		"/%0d%0aSet-Cookie:x=1":         "/%0d%0aSet-Cookie:x=1",
		"/a\r\nLocation: //evil":        "F",
		"javascript:alert(1)":           "F",
		"/ok#frag":                      "/ok",
		"/" + strings.Repeat("a", 3000): "F",
	} {
		if got := SafeReturnTo(raw, "F"); got != want {
			t.Errorf("SafeReturnTo(%q) = %q, want %q", raw, got, want)
		}
	}
}
