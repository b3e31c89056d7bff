package portal_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/portal"
	"github.com/erhverv/erhverv/internal/postgres"
)

// itSystem registers an active IT system of the organisation straight in
// the database, and returns its id.
func (p *platform) itSystem(org *domain.Organisation, name string) uuid.UUID {
	p.t.Helper()
	var id uuid.UUID
	if err := p.db.SQL().QueryRow("INSERT INTO it_systems (org_id, name) VALUES ($1, $2) RETURNING id", org.ID, name).Scan(&id); err != nil {
		p.t.Fatal(err)
	}
	return id
}

// oidcForm is a valid registration of a client for system, changed by the
// given fields.
func oidcForm(system uuid.UUID, change url.Values) url.Values {
	form := url.Values{"name": {"Produktion"}, "it_system": {system.String()},
		"redirect_uris": {"https://moms.skattefar.example.dk/callback"}, "post_logout_redirect_uris": {""},
		"auth_method": {domain.OIDCAuthSecretBasic}, "public_jwk": {""}, "min_level": {domain.LoASubstantial},
		"claim_style": {domain.ClaimStyleOIOSAML3}}
	for k, v := range change {
		form[k] = v
	}
	return form
}

// listItems are the texts of the list items under testid.
func listItems(doc *goquery.Document, testid string) []string {
	var out []string
	doc.Find(`[data-testid="` + testid + `"] li`).Each(func(_ int, s *goquery.Selection) {
		out = append(out, strings.TrimSpace(s.Text()))
	})
	return out
}

func TestOIDCClientsRegisteredForEachAuthMethodThenRevoked(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	org, _ := p.employ("demo-henrik", "93847261", "Skattefar Digital A/S")
	hc := browser(t)
	p.loginAs(hc, "/login", "demo-henrik", "code_app").Body.Close()

	doc := page(t, get(t, hc, p.url+portal.OIDCClientsPath))
	if text(doc, "oidcclients-none") == "" || !strings.Contains(doc.Find("nav").Text(), "Log-in-klienter") {
		t.Fatalf("empty list: %q, menu %q", doc.Find("main").Text(), doc.Find("nav").Text())
	}
	if got, want := text(doc, "oidcclients-discovery"), p.url+"/.well-known/openid-configuration"; got != want {
		t.Errorf("discovery address on the list: got %q, want %q", got, want)
	}

	// Without an active IT system there is nothing to register a client for.
	retired := p.itSystem(org, "Gammel portal")
	if _, err := p.db.SQL().Exec("UPDATE it_systems SET status = 'retired' WHERE id = $1", retired); err != nil {
		t.Fatal(err)
	}
	doc = page(t, get(t, hc, p.url+portal.OIDCClientsPath+"/new"))
	if href, _ := doc.Find(`[data-testid="oidcclient-systems-link"]`).Attr("href"); text(doc, "oidcclient-no-systems") == "" || href != portal.SystemsPath {
		t.Errorf("no systems: got %q linking to %q, want the explanation and a link to %s", text(doc, "oidcclient-no-systems"), href, portal.SystemsPath)
	}
	if doc.Find(`[data-testid="oidcclient-form"]`).Length() != 0 {
		t.Error("the form is offered without an IT system to choose")
	}

	moms := p.itSystem(org, "Momsportalen")
	doc = page(t, get(t, hc, p.url+portal.OIDCClientsPath+"/new"))
	var options []string
	doc.Find(`[data-testid="field-it_system"] option`).Each(func(_ int, s *goquery.Selection) {
		if v, _ := s.Attr("value"); v != "" {
			options = append(options, v)
		}
	})
	if len(options) != 1 || options[0] != moms.String() {
		t.Errorf("IT systems offered: got %v, want only the active %s", options, moms)
	}
	for _, testid := range []string{"field-auth_method-client_secret_basic", "field-min_level-substantial", "field-claim_style-oiosaml3"} {
		if _, checked := doc.Find(`[data-testid="` + testid + `"]`).Attr("checked"); !checked {
			t.Errorf("default %s is not chosen", testid)
		}
	}

	// An empty form: every problem at once, in Danish.
	resp := post(t, hc, p.url+portal.OIDCClientsPath, url.Values{})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("empty form: got %d, want 400", resp.StatusCode)
	}
	for _, f := range []string{"name", "it_system", "redirect_uris", "auth_method"} {
		if text(doc, "error-"+f) == "" {
			t.Errorf("empty form: no error for %s in %q", f, text(doc, "error-summary"))
		}
	}
	if n := doc.Find(`[data-testid="error-summary"] li`).Length(); n != 4 {
		t.Errorf("error summary: got %d lines, want 4", n)
	}
	if got := text(doc, "error-redirect_uris"); !strings.Contains(got, "redirect-adresse") {
		t.Errorf("redirect URI error: got %q, want it in Danish", got)
	}

	// Redirect URIs that could send a code elsewhere are refused, the form
	// kept as entered.
	for _, bad := range []string{"http://example.com/callback", "https://moms.skattefar.example.dk/callback#top", "https://*.skattefar.example.dk/callback"} {
		entered := "https://moms.skattefar.example.dk/callback\n" + bad
		resp = post(t, hc, p.url+portal.OIDCClientsPath, oidcForm(moms, url.Values{"redirect_uris": {entered}, "name": {"Prod"},
			"min_level": {domain.LoAHigh}}))
		doc = page(t, resp)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(text(doc, "error-redirect_uris"), "https") {
			t.Errorf("redirect URI %s: got %d %q, want 400 and the address refused", bad, resp.StatusCode, text(doc, "error-redirect_uris"))
		}
		if got := doc.Find(`[data-testid="field-redirect_uris"]`).Text(); got != entered {
			t.Errorf("redirect URI %s: the form lost the addresses, got %q", bad, got)
		}
		if v, _ := doc.Find(`[data-testid="field-name"]`).Attr("value"); v != "Prod" {
			t.Errorf("redirect URI %s: the form lost the name, got %q", bad, v)
		}
		if _, checked := doc.Find(`[data-testid="field-min_level-high"]`).Attr("checked"); !checked {
			t.Errorf("redirect URI %s: the form lost the level", bad)
		}
		if v, _ := doc.Find(`[data-testid="field-it_system"] option[selected]`).Attr("value"); v != moms.String() {
			t.Errorf("redirect URI %s: the form lost the IT system, got %q", bad, v)
		}
	}
	resp = post(t, hc, p.url+portal.OIDCClientsPath, oidcForm(moms, url.Values{"post_logout_redirect_uris": {"https://moms.skattefar.example.dk/*"}}))
	if doc = page(t, resp); resp.StatusCode != http.StatusBadRequest || text(doc, "error-post_logout_redirect_uris") == "" {
		t.Errorf("wildcard after logout: got %d %q, want 400 and the address refused", resp.StatusCode, text(doc, "error-post_logout_redirect_uris"))
	}

	// A pasted private key is refused; so is a key the method does not use.
	resp = post(t, hc, p.url+portal.OIDCClientsPath, oidcForm(moms, url.Values{"auth_method": {domain.OIDCAuthPrivateKeyJWT}, "public_jwk": {jwk(t, true)}}))
	if doc = page(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(text(doc, "error-public_jwk"), "privat") {
		t.Errorf("a private key: got %d %q, want 400 and the key refused", resp.StatusCode, text(doc, "error-public_jwk"))
	}
	if _, checked := doc.Find(`[data-testid="field-auth_method-private_key_jwt"]`).Attr("checked"); !checked {
		t.Error("the form lost the authentication method")
	}
	resp = post(t, hc, p.url+portal.OIDCClientsPath, oidcForm(moms, url.Values{"public_jwk": {jwk(t, false)}}))
	if doc = page(t, resp); resp.StatusCode != http.StatusBadRequest || text(doc, "error-public_jwk") == "" {
		t.Errorf("a key with a secret: got %d %q, want 400", resp.StatusCode, text(doc, "error-public_jwk"))
	}
	resp = post(t, hc, p.url+portal.OIDCClientsPath, oidcForm(moms, url.Values{"auth_method": {domain.OIDCAuthPrivateKeyJWT}}))
	if doc = page(t, resp); resp.StatusCode != http.StatusBadRequest || text(doc, "error-public_jwk") == "" {
		t.Errorf("private_key_jwt without a key: got %d %q, want 400", resp.StatusCode, text(doc, "error-public_jwk"))
	}
	if n := p.count("SELECT count(*) FROM oidc_clients"); n != 0 {
		t.Fatalf("refused registrations stored %d clients", n)
	}

	// A secret client: the secret and what the service needs, in this
	// uncached response only.
	resp = post(t, hc, p.url+portal.OIDCClientsPath, oidcForm(moms, url.Values{
		"redirect_uris":             {"https://moms.skattefar.example.dk/callback\r\n\r\nhttp://localhost:8081/callback\r\n"},
		"post_logout_redirect_uris": {"https://moms.skattefar.example.dk/"}}))
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control of the secret page: got %q, want no-store", got)
	}
	if resp.Request.URL.Path != portal.OIDCClientsPath || resp.Request.URL.RawQuery != "" {
		t.Errorf("the secret page was reached through %s, want the POST's own response", resp.Request.URL)
	}
	_, doc = body(t, resp)
	clientID, _ := doc.Find(`[data-testid="client-id"]`).Attr("value")
	secret, _ := doc.Find(`[data-testid="client-secret"]`).Attr("value")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(secret, postgres.OIDCSecretPrefix) || text(doc, "secret-warning") == "" {
		t.Fatalf("secret page: got %d, secret %t, warning %q: %q", resp.StatusCode, secret != "", text(doc, "secret-warning"), doc.Find("main").Text())
	}
	if got := text(doc, "issuer"); got != p.url {
		t.Errorf("issuer: got %q, want %q", got, p.url)
	}
	if got, want := text(doc, "discovery-url"), p.url+"/.well-known/openid-configuration"; got != want {
		t.Errorf("discovery URL: got %q, want %q", got, want)
	}
	if got := listItems(doc, "redirect-uris"); len(got) != 2 || got[0] != "https://moms.skattefar.example.dk/callback" || got[1] != "http://localhost:8081/callback" {
		t.Errorf("redirect URIs shown: got %q, want the two registered", got)
	}
	if got := listItems(doc, "post-logout-redirect-uris"); len(got) != 1 || got[0] != "https://moms.skattefar.example.dk/" {
		t.Errorf("post-logout addresses shown: got %q", got)
	}
	var stored []byte
	if err := p.db.SQL().QueryRow("SELECT secret_hash FROM oidc_clients WHERE id = $1 AND org_id = $2 AND it_system_id = $3",
		clientID, org.ID, moms).Scan(&stored); err != nil {
		t.Fatalf("the client id %q shown is not the stored client: %v", clientID, err)
	}
	if !bytes.Equal(stored, postgres.HashSecret(secret)) {
		t.Error("the secret shown is not the one whose hash is stored")
	}

	// A key client and a public client: what the service needs, no secret.
	created := map[string]string{domain.OIDCAuthSecretBasic: clientID}
	for _, c := range []struct {
		method string
		change url.Values
	}{
		{domain.OIDCAuthPrivateKeyJWT, url.Values{"name": {"Test"}, "public_jwk": {jwk(t, false)}}},
		{domain.OIDCAuthNone, url.Values{"name": {"App"}, "min_level": {domain.LoAHigh}, "claim_style": {domain.ClaimStyleShort}}},
	} {
		c.change.Set("auth_method", c.method)
		resp = post(t, hc, p.url+portal.OIDCClientsPath, oidcForm(moms, c.change))
		_, doc = body(t, resp)
		id, _ := doc.Find(`[data-testid="client-id"]`).Attr("value")
		if resp.StatusCode != http.StatusOK || id == "" || text(doc, "oidcclient-created") == "" {
			t.Fatalf("%s: got %d %q, want the new client", c.method, resp.StatusCode, doc.Find("main").Text())
		}
		if doc.Find(`[data-testid="client-secret"]`).Length() != 0 || text(doc, "secret-warning") != "" {
			t.Errorf("%s: a secret is shown", c.method)
		}
		if got := text(doc, "discovery-url"); got != p.url+"/.well-known/openid-configuration" {
			t.Errorf("%s: discovery URL %q", c.method, got)
		}
		if got := text(doc, "auth-method"); !strings.Contains(got, c.method) {
			t.Errorf("%s: method shown %q", c.method, got)
		}
		created[c.method] = id
	}
	var method, level, style string
	var hasKey, hasSecret bool
	if err := p.db.SQL().QueryRow("SELECT auth_method, min_level, claim_style, public_jwk IS NOT NULL, secret_hash IS NOT NULL FROM oidc_clients WHERE id = $1",
		created[domain.OIDCAuthNone]).Scan(&method, &level, &style, &hasKey, &hasSecret); err != nil {
		t.Fatal(err)
	}
	if method != domain.OIDCAuthNone || level != domain.LoAHigh || style != domain.ClaimStyleShort || hasKey || hasSecret {
		t.Errorf("public client stored as %s %s %s key %t secret %t", method, level, style, hasKey, hasSecret)
	}
	if n := p.count("SELECT count(*) FROM oidc_clients WHERE id = $1 AND public_jwk IS NOT NULL AND secret_hash IS NULL", created[domain.OIDCAuthPrivateKeyJWT]); n != 1 {
		t.Error("the key client was not stored with its key and without a secret")
	}

	// The list: every client, never the secret.
	html, doc := body(t, get(t, hc, p.url+portal.OIDCClientsPath))
	if strings.Contains(html, secret) || strings.Contains(html, secret[len(postgres.OIDCSecretPrefix):]) {
		t.Fatal("the list shows the secret")
	}
	if got := doc.Find(`[data-testid="oidcclients"] tbody tr`).Length(); got != 3 {
		t.Fatalf("clients listed: got %d, want 3", got)
	}
	if got := text(doc, "oidcclient-id-"+clientID); got != clientID {
		t.Errorf("client id in the list: got %q, want %q", got, clientID)
	}
	row := text(doc, "oidcclient-"+clientID)
	for _, want := range []string{"Produktion", "Momsportalen", "client_secret_basic", "Betydelig", "OIOSAML 3", "Henrik Skat", "Aktiv"} {
		if !strings.Contains(row, want) {
			t.Errorf("the client's line %q lacks %q", row, want)
		}
	}
	if row := text(doc, "oidcclient-login-"+created[domain.OIDCAuthNone]); !strings.Contains(row, "PKCE") || !strings.Contains(row, "Høj") || !strings.Contains(row, "Korte navne") {
		t.Errorf("the public client's login: got %q", row)
	}
	if got := text(doc, "oidcclient-last-login-"+clientID); got != "Aldrig" {
		t.Errorf("last login: got %q, want Aldrig", got)
	}

	// Revoking asks first, then revokes for good, audited.
	resp = post(t, hc, p.url+portal.OIDCClientsPath+"/"+clientID+"/revoke", nil)
	if doc = page(t, resp); !strings.Contains(text(doc, "confirm-revoke"), "Produktion") {
		t.Fatalf("revoke without confirming: got %d %q, want the question", resp.StatusCode, doc.Find("main").Text())
	}
	if n := p.count("SELECT count(*) FROM oidc_clients WHERE revoked_at IS NOT NULL"); n != 0 {
		t.Fatalf("asking revoked %d clients", n)
	}
	resp = post(t, hc, p.url+portal.OIDCClientsPath+"/"+clientID+"/revoke", url.Values{"confirm": {"yes"}})
	doc = page(t, resp)
	if got := text(doc, "oidcclient-status-"+clientID); !strings.Contains(got, "Tilbagekaldt") || !strings.Contains(got, "Henrik Skat") {
		t.Errorf("status after revoking: got %q", got)
	}
	if text(doc, "notice") == "" {
		t.Error("no notice after revoking")
	}
	if n := p.count("SELECT count(*) FROM oidc_clients WHERE revoked_at IS NOT NULL AND id = $1", clientID); n != 1 {
		t.Errorf("revoked clients: got %d, want 1", n)
	}
	if n := p.count("SELECT count(*) FROM oidc_clients WHERE revoked_at IS NOT NULL"); n != 1 {
		t.Errorf("revoking one client revoked %d", n)
	}
	resp = post(t, hc, p.url+portal.OIDCClientsPath+"/"+clientID+"/revoke", url.Values{"confirm": {"yes"}})
	if doc = page(t, resp); resp.StatusCode != http.StatusConflict || !strings.Contains(doc.Find("main").Text(), "allerede tilbagekaldt") {
		t.Errorf("revoking twice: got %d %q, want 409 saying it is revoked already", resp.StatusCode, doc.Find("main").Text())
	}
	actions := p.auditActions(&org.ID)
	if count(actions, "oidc_client.created") != 3 || count(actions, "oidc_client.revoked") != 1 {
		t.Errorf("audit: got %v, want three oidc_client.created and one oidc_client.revoked", actions)
	}
	if n := p.count("SELECT count(*) FROM audit_events WHERE org_id = $1 AND position($2 in details::text) > 0", org.ID, secret); n != 0 {
		t.Error("the audit log holds the secret")
	}

	// The same problems in English for an English reader.
	resp = post(t, hc, p.url+portal.OIDCClientsPath+"?lang=en", oidcForm(moms, url.Values{"redirect_uris": {"http://example.com/callback"}}))
	if doc = page(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(text(doc, "error-redirect_uris"), "absolute https address") {
		t.Errorf("in English: got %d %q", resp.StatusCode, text(doc, "error-redirect_uris"))
	}
}

func TestOIDCClientsAreTheServiceProvidersOwn(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	skattefar, _ := p.employ("demo-henrik", "93847261", "Skattefar Digital A/S")
	moms := p.itSystem(skattefar, "Momsportalen")
	nordlys, mette := p.employ("demo-mette", "91234564", "Nordlys Rådgivning ApS")
	theirs := p.itSystem(nordlys, "Nordlys intranet")
	clients := postgres.NewOIDCClients(p.db)
	cl, _, err := clients.Register(t.Context(), postgres.Actor{UserID: mette.ID, Label: "Mette Nordlys"}, postgres.NewOIDCClient{
		OrgID: nordlys.ID, ITSystemID: theirs, Name: "Intranet", RedirectURIs: []string{"https://intra.nordlys.example.dk/cb"},
		AuthMethod: domain.OIDCAuthNone})
	if err != nil {
		t.Fatal(err)
	}
	revoke := p.url + portal.OIDCClientsPath + "/" + cl.ID.String() + "/revoke"

	hc := browser(t)
	p.loginAs(hc, "/login", "demo-henrik", "code_app").Body.Close()
	// Another organisation's IT system is no choice, and nothing is stored.
	resp := post(t, hc, p.url+portal.OIDCClientsPath, oidcForm(theirs, nil))
	if doc := page(t, resp); resp.StatusCode != http.StatusBadRequest || text(doc, "error-it_system") == "" {
		t.Errorf("another organisation's IT system: got %d %q, want 400 and the system refused", resp.StatusCode, text(doc, "error-it_system"))
	}
	for _, system := range []string{"x", uuid.NewString()} {
		resp = post(t, hc, p.url+portal.OIDCClientsPath, oidcForm(moms, url.Values{"it_system": {system}}))
		if doc := page(t, resp); resp.StatusCode != http.StatusBadRequest || text(doc, "error-it_system") == "" {
			t.Errorf("IT system %q: got %d %q, want 400", system, resp.StatusCode, text(doc, "error-it_system"))
		}
	}
	if n := p.count("SELECT count(*) FROM oidc_clients WHERE org_id = $1", skattefar.ID); n != 0 {
		t.Errorf("refused registrations stored %d clients", n)
	}
	// Neither sees nor revokes another organisation's client.
	if doc := page(t, get(t, hc, p.url+portal.OIDCClientsPath)); text(doc, "oidcclients-none") == "" {
		t.Errorf("another organisation's list: %q", doc.Find("main").Text())
	}
	for _, u := range []string{revoke, p.url + portal.OIDCClientsPath + "/" + uuid.NewString() + "/revoke", p.url + portal.OIDCClientsPath + "/x/revoke"} {
		for _, form := range []url.Values{nil, {"confirm": {"yes"}}} {
			if got := status(t, post(t, hc, u, form)); got != http.StatusNotFound {
				t.Errorf("POST %s %v by another organisation: got %d, want 404", u, form, got)
			}
		}
	}
	if got, err := clients.Find(t.Context(), nordlys.ID, cl.ID); err != nil || !got.Active() {
		t.Errorf("after the refusals: got %v, %v, want the client active", got, err)
	}

	// Employees without the right to manage IT systems are refused: one
	// without roles, and a user administrator.
	p.plainUser(skattefar, "demo-lars")
	p.withRole(skattefar, p.plainUser(skattefar, "demo-jonas"), domain.RoleUserAdmin)
	for _, subject := range []string{"demo-lars", "demo-jonas"} {
		hc := browser(t)
		p.loginAs(hc, "/login", subject, "code_app").Body.Close()
		doc := page(t, get(t, hc, p.url+portal.OverviewPath))
		if strings.Contains(doc.Find("nav").Text(), "Log-in-klienter") {
			t.Errorf("%s: the menu offers login clients", subject)
		}
		for _, c := range []struct {
			method, url string
			form        url.Values
		}{
			{"GET", p.url + portal.OIDCClientsPath, nil},
			{"GET", p.url + portal.OIDCClientsPath + "/new", nil},
			{"POST", p.url + portal.OIDCClientsPath, oidcForm(moms, nil)},
			{"POST", p.url + portal.OIDCClientsPath + "/" + uuid.NewString() + "/revoke", url.Values{"confirm": {"yes"}}},
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
	if n := p.count("SELECT count(*) FROM oidc_clients WHERE org_id = $1", skattefar.ID); n != 0 {
		t.Errorf("refused employees stored %d clients", n)
	}
}
