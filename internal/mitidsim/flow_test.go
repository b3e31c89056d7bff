package mitidsim_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/erhverv/erhverv/internal/mitidsim"
)

func demo(t *testing.T, subject string) mitidsim.Identity {
	t.Helper()
	for _, id := range mitidsim.DemoIdentities() {
		if id.Subject == subject {
			return id
		}
	}
	t.Fatalf("no demo identity %s", subject)
	return mitidsim.Identity{}
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	h := newHarness(t)

	var d map[string]any
	if err := h.provider.Claims(&d); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"issuer":                 h.url,
		"authorization_endpoint": h.url + "/authorize",
		"token_endpoint":         h.url + "/oauth/token",
		"userinfo_endpoint":      h.url + "/userinfo",
		"end_session_endpoint":   h.url + "/end_session",
		"jwks_uri":               h.url + "/keys",
	} {
		if got := d[key]; got != want {
			t.Errorf("%s: got %v, want %s", key, got, want)
		}
	}
	for key, wants := range map[string][]string{
		"code_challenge_methods_supported":      {"S256"},
		"token_endpoint_auth_methods_supported": {"client_secret_basic", "client_secret_post"},
		"scopes_supported":                      {"openid", "ssn"},
		"response_types_supported":              {"code"},
		"id_token_signing_alg_values_supported": {"RS256"},
		"acr_values_supported": {loaLow, loaSubstantial, loaHigh,
			"urn:grn:authn:dk:mitid:low", "urn:grn:authn:dk:mitid:substantial", "urn:grn:authn:dk:mitid:high"},
		"claims_supported": {"acr", "amr", "dk.cpr", "cprNumberIdentifier", "https://data.gov.dk/model/core/eid/cprNumber"},
	} {
		got := strs(d[key])
		for _, w := range wants {
			if !slices.Contains(got, w) {
				t.Errorf("%s: got %v, want it to contain %s", key, got, w)
			}
		}
	}
	if got := strs(d["response_types_supported"]); len(got) != 1 {
		t.Errorf("response_types_supported: got %v, want only code", got)
	}

	keys := get(t, http.DefaultClient, h.url+"/keys")
	var jwks struct {
		Keys []struct{ Kty, Kid, Alg, Use string }
	}
	if err := json.Unmarshal([]byte(keys.Body), &jwks); err != nil {
		t.Fatal(err)
	}
	if len(jwks.Keys) != 1 || jwks.Keys[0].Kty != "RSA" || jwks.Keys[0].Alg != "RS256" || jwks.Keys[0].Kid == "" || jwks.Keys[0].Use != "sig" {
		t.Errorf("jwks: got %+v, want one RSA RS256 signing key with a kid", jwks.Keys)
	}
}

func strs(v any) []string {
	var out []string
	if a, ok := v.([]any); ok {
		for _, e := range a {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if p := get(t, http.DefaultClient, h.url+"/healthz"); p.Status != http.StatusOK {
		t.Errorf("healthz: got %d, want 200", p.Status)
	}
}

// TestProfiles runs the code flow with PKCE for each claim profile and

// checks every claim of the ID token and of userinfo.

func TestProfiles(t *testing.T) {
	t.Parallel()
	mette, jonas := demo(t, "demo-mette"), demo(t, "demo-jonas")
	const (
		oio  = "https://data.gov.dk/model/core/eid/"
		nsis = "https://data.gov.dk/concept/core/nsis/"
	)
	cases := []struct {
		name          string
		client        string
		post          bool
		scopes        []string
		acrValues     string
		subject, auth string
		want          map[string]any
		absent        []string
	}{
		{
			name: "oiosaml, client_secret_basic", client: "rp-oiosaml", scopes: []string{"ssn"}, acrValues: loaSubstantial,
			subject: "demo-mette", auth: "code_app",
			want: map[string]any{
				"acr": loaSubstantial,
				"amr": []any{"mitid:code_app"},
				"https://data.gov.dk/model/core/specVersion": "OIO-SAML-3.0",
				nsis + "loa":        loaSubstantial,
				nsis + "ial":        nsis + "ial/High",
				nsis + "aal":        nsis + "aal/Substantial",
				oio + "fullName":    "Mette Nordlys",
				oio + "firstName":   "Mette",
				oio + "lastName":    "Nordlys",
				oio + "cprNumber":   "0505751234",
				oio + "cprUuid":     mette.CPRUUID,
				oio + "dateOfBirth": "1975-05-05",
				oio + "professional/authorizedToRepresent": []any{"91234564", "95001238"},
			},
			absent: []string{"idp", "loa", "ial", "aal", "mitid.uuid", "uuid", "name", "dk.cpr", "cprNumberIdentifier"},
		},
		{
			name: "signaturgruppen, client_secret_post", client: "rp-sg", post: true, scopes: []string{"mitid", "ssn"}, acrValues: loaSubstantial,
			subject: "demo-jonas", auth: "code_token",
			want: map[string]any{
				"acr":                 loaSubstantial,
				"amr":                 []any{"mitid:code_token"},
				"idp":                 "mitid",
				"identity_type":       "private",
				"loa":                 loaSubstantial,
				"ial":                 nsis + "ial/Substantial",
				"aal":                 nsis + "aal/Substantial",
				"mitid.uuid":          jonas.MitIDUUID,
				"mitid.identity_name": "Jonas Berg",
				"mitid.date_of_birth": "1982-11-12",
				"dk.cpr":              "1211821235",
			},
			absent: []string{nsis + "loa", oio + "cprNumber", oio + "professional/authorizedToRepresent", "uuid", "name", "cprNumberIdentifier"},
		},
		{
			name: "idura, client_secret_basic", client: "rp-idura", scopes: []string{"ssn"}, acrValues: "urn:grn:authn:dk:mitid:high",
			subject: "demo-mette", auth: "chip",
			want: map[string]any{
				"acr":                 "urn:grn:authn:dk:mitid:high",
				"amr":                 []any{"mitid:chip"},
				"identityscheme":      "dkmitid",
				"authenticationtype":  "urn:grn:authn:dk:mitid:high",
				"uuid":                mette.MitIDUUID,
				"name":                "Mette Nordlys",
				"given_name":          "Mette",
				"family_name":         "Nordlys",
				"birthdate":           "1975-05-05",
				"cprNumberIdentifier": "0505751234",
			},
			absent: []string{"ial", "aal", "loa", nsis + "loa", nsis + "ial", "idp", oio + "professional/authorizedToRepresent", "dk.cpr"},
		},
		{
			name: "public client, no ssn scope", client: "rp-public", acrValues: loaHigh,
			subject: "demo-mette", auth: "code_app_high",
			want: map[string]any{
				"acr":           loaHigh,
				"amr":           []any{"mitid:code_app"},
				nsis + "loa":    loaHigh,
				nsis + "aal":    nsis + "aal/High",
				oio + "cprUuid": mette.CPRUUID,
			},
			absent: []string{oio + "cprNumber"},
		},
	}
	h := newHarness(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hh := *h
			hh.t = t
			cfg := hh.oauth(tc.client, tc.post, tc.scopes...)
			before := time.Now().Add(-2 * time.Second)
			tk := hh.fullLogin(cfg, tc.subject, tc.auth, acr(tc.acrValues))

			c := tk.Claims
			if c["iss"] != h.url {
				t.Errorf("iss: got %v, want %s", c["iss"], h.url)
			}
			if c["sub"] != tc.subject {
				t.Errorf("sub: got %v, want %s", c["sub"], tc.subject)
			}
			if !slices.Contains(tk.IDToken.Audience, tc.client) {
				t.Errorf("aud: got %v, want %s", tk.IDToken.Audience, tc.client)
			}
			if life := tk.IDToken.Expiry.Sub(tk.IDToken.IssuedAt); life <= 0 || life > 5*time.Minute {
				t.Errorf("ID token lifetime: got %v, want at most 5m", life)
			}
			authTime, _ := c["auth_time"].(float64)
			if at := time.Unix(int64(authTime), 0); at.Before(before) || at.After(time.Now().Add(time.Second)) {
				t.Errorf("auth_time: got %v, want about now", at)
			}
			for k, want := range tc.want {
				if got := c[k]; !reflect.DeepEqual(got, want) {
					t.Errorf("ID token %s: got %#v, want %#v", k, got, want)
				}
			}
			for _, k := range tc.absent {
				if v, ok := c[k]; ok {
					t.Errorf("ID token %s: got %#v, want no such claim", k, v)
				}
			}

			status, ui := hh.userinfo(tk.Token.AccessToken)
			if status != http.StatusOK {
				t.Fatalf("userinfo: got status %d, want 200", status)
			}
			if ui["sub"] != tc.subject {
				t.Errorf("userinfo sub: got %v, want %s", ui["sub"], tc.subject)
			}
			for k, want := range tc.want {
				if got := ui[k]; !reflect.DeepEqual(got, want) {
					t.Errorf("userinfo %s: got %#v, want %#v", k, got, want)
				}
			}
			for _, k := range tc.absent {
				if v, ok := ui[k]; ok {
					t.Errorf("userinfo %s: got %#v, want no such claim", k, v)
				}
			}
		})
	}
}

func TestSSNScopeGovernsCPR(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const cprClaim = "https://data.gov.dk/model/core/eid/cprNumber"
	cases := []struct {
		name    string
		scopes  []string
		subject string
		want    any // nil: no claim
	}{
		{"ssn requested", []string{"ssn"}, "demo-sofie", "2302901236"},
		{"ssn not requested", nil, "demo-sofie", nil},
		{"ssn requested, identity without CPR", []string{"ssn"}, "demo-ahmed", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hh := *h
			hh.t = t
			tk := hh.fullLogin(hh.oauth("rp-oiosaml", false, tc.scopes...), tc.subject, "code_app")
			if got := tk.Claims[cprClaim]; got != tc.want {
				t.Errorf("%s: got %v, want %v", cprClaim, got, tc.want)
			}
			if tc.subject == "demo-ahmed" {
				if got := tk.Claims["https://data.gov.dk/model/core/eid/dateOfBirth"]; got != "1991-06-14" {
					t.Errorf("dateOfBirth: got %v, want 1991-06-14", got)
				}
			}
		})
	}
}

func TestCodeReplayRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := h.oauth("rp-oiosaml", false)
	a := h.authorize(cfg)
	code := h.login(a, "demo-lars", "code_app")
	if _, err := h.exchange(cfg, a, code); err != nil {
		t.Fatalf("first exchange: %v", err)
	}
	_, err := h.exchange(cfg, a, code)
	if err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("replayed code: got %v, want invalid_grant", err)
	}
}

func TestPKCE(t *testing.T) {
	t.Parallel()
	h := newHarness(t)

	t.Run("wrong verifier refused", func(t *testing.T) {
		hh := *h
		hh.t = t
		cfg := hh.oauth("rp-public", false)
		a := hh.authorize(cfg)
		code := hh.login(a, "demo-lars", "code_app")
		wrong := a
		wrong.Verifier = oauth2.GenerateVerifier()
		if _, err := hh.exchange(cfg, wrong, code); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Errorf("wrong verifier: got %v, want invalid_grant", err)
		}
	})
	t.Run("missing verifier refused", func(t *testing.T) {
		hh := *h
		hh.t = t
		cfg := hh.oauth("rp-oiosaml", false)
		a := hh.authorize(cfg)
		code := hh.login(a, "demo-lars", "code_app")
		_, err := cfg.Exchange(t.Context(), code)
		if err == nil || !strings.Contains(err.Error(), "invalid_request") {
			t.Errorf("no verifier: got %v, want invalid_request", err)
		}
	})
	t.Run("public client without PKCE refused", func(t *testing.T) {
		hh := *h
		hh.t = t
		cfg := hh.oauth("rp-public", false)
		p := get(t, browser(t), cfg.AuthCodeURL("st-1"))
		q := callback(t, p)
		if q.Get("error") != "invalid_request" || q.Get("state") != "st-1" {
			t.Errorf("callback: got %v, want error=invalid_request with the state", q)
		}
	})
	t.Run("plain method refused", func(t *testing.T) {
		hh := *h
		hh.t = t
		cfg := hh.oauth("rp-oiosaml", false)
		u := cfg.AuthCodeURL("st-2", oauth2.SetAuthURLParam("code_challenge", oauth2.GenerateVerifier()),
			oauth2.SetAuthURLParam("code_challenge_method", "plain"))
		q := callback(t, get(t, browser(t), u))
		if q.Get("error") != "invalid_request" {
			t.Errorf("callback: got %v, want error=invalid_request", q)
		}
	})
}

func TestUnregisteredRedirectURIRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := h.oauth("rp-oiosaml", false)
	cfg.RedirectURL = "http://evil.example/callback"
	a := h.authorize(cfg)
	hc := browser(t)
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	p := get(t, hc, a.URL)
	if p.Status != http.StatusBadRequest {
		t.Errorf("status: got %d, want 400", p.Status)
	}
	if loc := p.Header.Get("Location"); loc != "" {
		t.Errorf("Location: got %q, want none", loc)
	}
}

func TestWrongClientSecretRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := h.oauth("rp-oiosaml", false)
	a := h.authorize(cfg)
	code := h.login(a, "demo-lars", "code_app")
	cfg.ClientSecret = "not-the-secret"
	if _, err := h.exchange(cfg, a, code); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("wrong secret: got %v, want invalid_client", err)
	}
}

// TestAssurance checks that a login never comes out below the requested

// level: the page disables what is too low and the POST refuses it again.

func TestLogout(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cfg := h.oauth("rp-oiosaml", false)
	tk := h.fullLogin(cfg, "demo-sofie", "code_app")
	if status, _ := h.userinfo(tk.Token.AccessToken); status != http.StatusOK {
		t.Fatalf("userinfo before logout: got %d, want 200", status)
	}
	hc := browser(t)
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	bad := url.Values{"id_token_hint": {tk.RawID}, "post_logout_redirect_uri": {"http://evil.example/"}}
	if p := get(t, hc, h.url+"/end_session?"+bad.Encode()); p.Status != http.StatusBadRequest || p.Header.Get("Location") != "" {
		t.Errorf("unregistered post_logout_redirect_uri: got %d to %q, want 400 and no redirect", p.Status, p.Header.Get("Location"))
	}

	q := url.Values{"id_token_hint": {tk.RawID}, "post_logout_redirect_uri": {logoutURL}, "state": {"bye"}}
	p := get(t, hc, h.url+"/end_session?"+q.Encode())
	if p.Status != http.StatusFound || p.Header.Get("Location") != logoutURL+"?state=bye" {
		t.Errorf("logout: got %d to %q, want 302 to %s?state=bye", p.Status, p.Header.Get("Location"), logoutURL)
	}
	if status, _ := h.userinfo(tk.Token.AccessToken); status == http.StatusOK {
		t.Errorf("userinfo after logout: got 200, want the access token ended")
	}

	p = get(t, browser(t), h.url+"/end_session")
	if p.Status != http.StatusOK || p.URL.Path != "/logged-out" {
		t.Errorf("logout without a client: got %d at %s, want the simulator's logged-out page", p.Status, p.URL.Path)
	}
}

// TestLifetimes checks auth requests and codes expire on the injected clock.

// TestLoginAs drives a relying party that keeps its state in a cookie with

// the helper other packages use.
