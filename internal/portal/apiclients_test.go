package portal_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/portal"
	"github.com/erhverv/erhverv/internal/postgres"
)

// jwk is the JSON of a fresh P-256 key for signatures: the public half, or
// the whole key when private.
func jwk(t *testing.T, private bool) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k := jose.JSONWebKey{Key: key, Algorithm: "ES256", Use: "sig", KeyID: "k1"}
	if !private {
		k.Key = &key.PublicKey
	}
	b, err := k.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// body reads a whole response, for checking what it must never contain.
func body(t *testing.T, resp *http.Response) (string, *goquery.Document) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return string(b), doc
}

func TestAPIClientRegisteredWithASecretShownOnceThenRevoked(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	org, _ := p.employ("demo-mette", "91234564", "Nordlys Rådgivning ApS")
	hc := browser(t)
	p.loginAs(hc, "/login", "demo-mette", "code_app").Body.Close()

	doc := page(t, get(t, hc, p.url+portal.APIClientsPath))
	if text(doc, "apiclients-none") == "" || !strings.Contains(doc.Find("nav").Text(), "API-klienter") {
		t.Fatalf("empty list: %q", doc.Find("main").Text())
	}
	doc = page(t, get(t, hc, p.url+portal.APIClientsPath+"/new"))
	for _, s := range domain.APIScopes {
		box := doc.Find(`[data-testid="field-scope-` + s + `"]`)
		hint, _ := box.Attr("aria-describedby")
		if box.Length() != 1 || strings.TrimSpace(doc.Find(`[id="`+hint+`"]`).Text()) == "" {
			t.Errorf("scope %s: got %d boxes with hint %q, want one explained", s, box.Length(), hint)
		}
	}
	if v, _ := doc.Find(`[data-testid="field-rate_limit"]`).Attr("value"); v != "100" {
		t.Errorf("rate limit: got %q, want the default 100", v)
	}

	// Every problem at once, the form as entered, and nothing stored.
	resp := post(t, hc, p.url+portal.APIClientsPath, url.Values{"name": {" "}, "auth_method": {"private_key_jwt"},
		"public_jwk": {"not a key"}, "rate_limit": {"many"}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad client: got %d, want 400", resp.StatusCode)
	}
	for _, f := range []string{"name", "scopes", "public_jwk", "rate_limit"} {
		if text(doc, "error-"+f) == "" {
			t.Errorf("bad client: no error for %s in %q", f, text(doc, "error-summary"))
		}
	}
	if n := doc.Find(`[data-testid="error-summary"] li`).Length(); n != 4 {
		t.Errorf("error summary: got %d lines, want 4", n)
	}
	if v, _ := doc.Find(`[data-testid="field-rate_limit"]`).Attr("value"); v != "many" {
		t.Errorf("the form lost the rate limit: %q", v)
	}
	if _, checked := doc.Find(`[data-testid="field-auth-jwt"]`).Attr("checked"); !checked {
		t.Error("the form lost the authentication method")
	}
	resp = post(t, hc, p.url+portal.APIClientsPath, url.Values{"name": {"Lønsystem"}, "scopes": {"users:read"},
		"auth_method": {"private_key_jwt"}, "public_jwk": {jwk(t, true)}, "rate_limit": {"100"}})
	if doc = page(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(text(doc, "error-public_jwk"), "privat") {
		t.Errorf("a private key: got %d %q, want 400 and the key refused", resp.StatusCode, text(doc, "error-public_jwk"))
	}
	if n := p.count("SELECT count(*) FROM api_clients"); n != 0 {
		t.Fatalf("refused registrations stored %d clients", n)
	}

	// A secret client: the secret is in this response only, uncached.
	resp = post(t, hc, p.url+portal.APIClientsPath, url.Values{"name": {"Lønsystem"}, "scopes": {"users:read", "rights:read"},
		"auth_method": {"client_secret"}, "rate_limit": {"50"}})
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control of the secret page: got %q, want no-store", got)
	}
	if resp.Request.URL.Path != portal.APIClientsPath || resp.Request.URL.RawQuery != "" {
		t.Errorf("the secret page was reached through %s, want the POST's own response", resp.Request.URL)
	}
	_, doc = body(t, resp)
	clientID, _ := doc.Find(`[data-testid="client-id"]`).Attr("value")
	secret, _ := doc.Find(`[data-testid="client-secret"]`).Attr("value")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(secret, postgres.SecretPrefix) || text(doc, "secret-warning") == "" {
		t.Fatalf("secret page: got %d, secret %t, warning %q", resp.StatusCode, secret != "", text(doc, "secret-warning"))
	}
	var stored []byte
	if err := p.db.SQL().QueryRow("SELECT secret_hash FROM api_clients WHERE id = $1 AND org_id = $2", clientID, org.ID).Scan(&stored); err != nil {
		t.Fatalf("the client id %q shown is not the stored client: %v", clientID, err)
	}
	if !bytes.Equal(stored, postgres.HashSecret(secret)) {
		t.Error("the secret shown is not the one whose hash is stored")
	}

	// A key client goes straight back to the list.
	resp = post(t, hc, p.url+portal.APIClientsPath, url.Values{"name": {"Rettighedssync"}, "scopes": {"rights:write"},
		"auth_method": {"private_key_jwt"}, "public_jwk": {jwk(t, false)}, "rate_limit": {""}})
	html, doc := body(t, resp)
	if resp.StatusCode != http.StatusOK || text(doc, "notice") == "" || resp.Request.URL.Path != portal.APIClientsPath {
		t.Fatalf("key client: got %d at %s, notice %q", resp.StatusCode, resp.Request.URL, text(doc, "notice"))
	}
	if strings.Contains(html, secret) || strings.Contains(html, secret[len(postgres.SecretPrefix):]) {
		t.Fatal("the list shows the secret")
	}
	if got := doc.Find(`[data-testid="apiclients"] tbody tr`).Length(); got != 2 {
		t.Fatalf("clients listed: got %d, want 2", got)
	}
	if got := text(doc, "apiclient-id-"+clientID); got != clientID {
		t.Errorf("client id in the list: got %q, want %q", got, clientID)
	}
	if got := text(doc, "apiclient-scopes-"+clientID); !strings.Contains(got, "users:read") || !strings.Contains(got, "rights:read") {
		t.Errorf("scopes in the list: got %q", got)
	}
	row := text(doc, "apiclient-"+clientID)
	for _, want := range []string{"Lønsystem", "Hemmelighed", "50 forespørgsler pr. sekund", "Mette Nordlys"} {
		if !strings.Contains(row, want) {
			t.Errorf("the client's line %q lacks %q", row, want)
		}
	}
	if got := text(doc, "apiclient-last-used-"+clientID); got != "Aldrig" {
		t.Errorf("last used: got %q, want Aldrig", got)
	}
	if !strings.Contains(doc.Find(`[data-testid="apiclients"]`).Text(), "100 forespørgsler pr. sekund") {
		t.Error("the key client does not have the default rate limit")
	}

	// Revoking asks first, then revokes for good, audited.
	resp = post(t, hc, p.url+portal.APIClientsPath+"/"+clientID+"/revoke", nil)
	if doc = page(t, resp); !strings.Contains(text(doc, "confirm-revoke"), "Lønsystem") {
		t.Fatalf("revoke without confirming: got %d %q, want the question", resp.StatusCode, doc.Find("main").Text())
	}
	if n := p.count("SELECT count(*) FROM api_clients WHERE revoked_at IS NOT NULL"); n != 0 {
		t.Fatalf("asking revoked %d clients", n)
	}
	resp = post(t, hc, p.url+portal.APIClientsPath+"/"+clientID+"/revoke", url.Values{"confirm": {"yes"}})
	doc = page(t, resp)
	if got := text(doc, "apiclient-status-"+clientID); !strings.Contains(got, "Tilbagekaldt") || !strings.Contains(got, "Mette Nordlys") {
		t.Errorf("status after revoking: got %q", got)
	}
	if text(doc, "notice") == "" {
		t.Error("no notice after revoking")
	}
	if n := p.count("SELECT count(*) FROM api_clients WHERE revoked_at IS NOT NULL AND id = $1", clientID); n != 1 {
		t.Errorf("revoked clients: got %d, want 1", n)
	}
	resp = post(t, hc, p.url+portal.APIClientsPath+"/"+clientID+"/revoke", url.Values{"confirm": {"yes"}})
	if got := status(t, resp); got != http.StatusConflict {
		t.Errorf("revoking twice: got %d, want 409", got)
	}
	actions := p.auditActions(&org.ID)
	if count(actions, "api_client.created") != 2 || count(actions, "api_client.revoked") != 1 {
		t.Errorf("audit: got %v, want two api_client.created and one api_client.revoked", actions)
	}
	var details string
	if err := p.db.SQL().QueryRow("SELECT details::text FROM audit_events WHERE org_id = $1 AND action = 'api_client.created'",
		org.ID).Scan(&details); err == nil && strings.Contains(details, secret) {
		t.Error("the audit log holds the secret")
	}
}

func TestAPIClientsAreTheOrganisationAdministrators(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	org, mette := p.employ("demo-mette", "91234564", "Nordlys Rådgivning ApS")
	clients := postgres.NewAPIClients(p.db)
	cl, _, err := clients.Register(t.Context(), postgres.Actor{UserID: mette.ID, Label: "Mette Nordlys"},
		postgres.NewAPIClient{OrgID: org.ID, Name: "HR", Scopes: []string{"users:read"}, AuthMethod: domain.APIAuthSecret})
	if err != nil {
		t.Fatal(err)
	}
	revoke := p.url + portal.APIClientsPath + "/" + cl.ID.String() + "/revoke"

	// A user administrator and an employee without roles are refused.
	p.withRole(org, p.plainUser(org, "demo-jonas"), domain.RoleUserAdmin)
	p.plainUser(org, "demo-lars")
	for _, subject := range []string{"demo-jonas", "demo-lars"} {
		hc := browser(t)
		p.loginAs(hc, "/login", subject, "code_app").Body.Close()
		doc := page(t, get(t, hc, p.url+portal.OverviewPath))
		if strings.Contains(doc.Find("nav").Text(), "API-klienter") {
			t.Errorf("%s: the menu offers API clients", subject)
		}
		for _, c := range []struct {
			method, url string
			form        url.Values
		}{
			{"GET", p.url + portal.APIClientsPath, nil},
			{"GET", p.url + portal.APIClientsPath + "/new", nil},
			{"POST", p.url + portal.APIClientsPath, url.Values{"name": {"Mit"}, "scopes": {"scim"}, "auth_method": {"client_secret"}}},
			{"POST", revoke, url.Values{"confirm": {"yes"}}},
		} {
			var resp *http.Response
			if c.method == "GET" {
				resp = get(t, hc, c.url)
			} else {
				resp = post(t, hc, c.url, c.form)
			}
			if got := status(t, resp); got != http.StatusForbidden {
				t.Errorf("%s: %s %s: got %d, want 403", subject, c.method, c.url, got)
			}
		}
	}

	// Another organisation's administrator neither sees nor revokes it.
	p.employ("demo-rikke", "30264878", "Anden Virksomhed A/S")
	other := browser(t)
	p.loginAs(other, "/login", "demo-rikke", "code_app").Body.Close()
	if doc := page(t, get(t, other, p.url+portal.APIClientsPath)); text(doc, "apiclients-none") == "" {
		t.Errorf("another organisation's list: %q", doc.Find("main").Text())
	}
	for _, u := range []string{revoke, p.url + portal.APIClientsPath + "/" + uuid.NewString() + "/revoke", p.url + portal.APIClientsPath + "/x/revoke"} {
		for _, form := range []url.Values{nil, {"confirm": {"yes"}}} {
			if got := status(t, post(t, other, u, form)); got != http.StatusNotFound {
				t.Errorf("POST %s %v by another organisation: got %d, want 404", u, form, got)
			}
		}
	}
	if got, err := clients.Find(t.Context(), org.ID, cl.ID); err != nil || !got.Active() {
		t.Errorf("after the refusals: got %v, %v, want the client active", got, err)
	}
	if slices.Contains(p.auditActions(&org.ID), "api_client.revoked") {
		t.Error("a refused revocation was audited")
	}
}
