package provider_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/erhverv/erhverv/internal/bpp"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/provider"
	"github.com/erhverv/erhverv/internal/seed"
)

const (
	nsis         = "https://data.gov.dk/concept/core/nsis/"
	substantial  = nsis + "loa/Substantial"
	momsIndberet = "urn:dk:skattefar:moms:indberet"
	momsLaes     = "urn:dk:skattefar:moms:laes" // Lars holds it through the group Bogholderi; it needs only Low
)

// TestLoginCarriesEveryClaim: Lars of Nordlys logs in to Momsportalen; the
// service verifies the ID token with go-oidc and finds who he is, for
// which organisation, how strongly, and his privileges in Momsportalen
// only, as BPP and as JSON. Userinfo, with the access token, agrees.
func TestLoginCarriesEveryClaim(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	c, secret := p.register(postgres.NewOIDCClient{})
	r := p.relyingParty(c.ID.String(), secret)
	a := r.start()
	tok := r.mustFinish(a, r.loginWithMitID(a, "demo-lars", "code_app"))

	lars := seed.ID("user:lars").String()
	want := map[string]any{
		"sub": lars, "acr": substantial, "aud": c.ID.String(), "iss": p.url,
		provider.ClaimSpecVersion:      "OIO-SAML-3.0",
		provider.ClaimLoA:              substantial,
		provider.ClaimIAL:              nsis + "ial/Substantial",
		provider.ClaimAAL:              nsis + "aal/Substantial",
		provider.ClaimProfessionalUUID: "urn:uuid:" + lars,
		provider.ClaimCVR:              seed.CVRNordlys,
		provider.ClaimOrgName:          "Nordlys Rådgivning ApS",
		provider.ClaimFullName:         "Lars Vinther",
		provider.ClaimFirstName:        "Lars",
		provider.ClaimLastName:         "Vinther",
		provider.ClaimEmail:            "lars@nordlys.example.dk",
	}
	for k, v := range want {
		got := tok.all[k]
		if aud, ok := got.([]any); ok && len(aud) == 1 {
			got = aud[0]
		}
		if got != v {
			t.Errorf("claim %s = %v, want %v", k, got, v)
		}
	}
	if amr, _ := tok.all["amr"].([]any); len(amr) == 0 || amr[0] != "mitid:code_app" {
		t.Errorf("amr = %v", tok.all["amr"])
	}
	if at, _ := tok.all["auth_time"].(float64); time.Since(time.Unix(int64(at), 0)) > time.Minute {
		t.Errorf("auth_time = %v", tok.all["auth_time"])
	}
	if _, ok := tok.all[provider.ClaimProductionUnit]; ok {
		t.Error("Lars has no P-number, yet the claim is there")
	}
	if exp := tok.id.Expiry.Sub(tok.id.IssuedAt); exp > provider.TokenLifetime {
		t.Errorf("ID token lives %v", exp)
	}

	// The BPP document: Lars's Momsportalen privileges (direct and through
	// his group), for Nordlys's CVR; none of Lønportalen's.
	doc, err := bpp.DecodeClaim(tok.all[provider.ClaimPrivileges].(string))
	if err != nil {
		t.Fatalf("privilegesIntermediate: %v", err)
	}
	if len(doc.Groups) != 1 || doc.Groups[0].Scope != "urn:dk:gov:saml:cvrNumberIdentifier:"+seed.CVRNordlys ||
		!slices.Equal(doc.Groups[0].Privileges, []string{momsIndberet, momsLaes}) {
		t.Errorf("BPP = %+v", doc.Groups)
	}
	groups := privilegesClaim(t, tok.all)
	if len(groups) != 1 || groups[0].Scope != doc.Groups[0].Scope || !slices.Equal(groups[0].Privileges, []string{momsIndberet, momsLaes}) {
		t.Errorf("privileges = %+v", groups)
	}

	// Userinfo with the access token: the same claims.
	info, err := r.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok.oauth))
	if err != nil {
		t.Fatalf("userinfo: %v", err)
	}
	var claims map[string]any
	if err := info.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"sub", provider.ClaimCVR, provider.ClaimOrgName, provider.ClaimPrivileges, provider.ClaimLoA, provider.ClaimEmail} {
		if !equalJSON(claims[k], tok.all[k]) {
			t.Errorf("userinfo %s = %v, ID token %v", k, claims[k], tok.all[k])
		}
	}
}

func privilegesClaim(t *testing.T, all map[string]any) []provider.PrivilegeGroup {
	t.Helper()
	raw, err := json.Marshal(all[provider.ClaimPrivilegesJSON])
	if err != nil {
		t.Fatal(err)
	}
	var out []provider.PrivilegeGroup
	if err := json.Unmarshal(raw, &out); err != nil || out == nil {
		t.Fatalf("privileges claim %s: %v", raw, err)
	}
	return out
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestAnonymousUserShortClaims: Freja is anonymous, so only her UUID
// identifies her; the client asked for short claim names.
func TestAnonymousUserShortClaims(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	c, secret := p.register(postgres.NewOIDCClient{ClaimStyle: domain.ClaimStyleShort})
	r := p.relyingParty(c.ID.String(), secret)
	a := r.start()
	tok := r.mustFinish(a, r.loginWithMitID(a, "demo-freja", "code_app"))
	freja := seed.ID("user:freja").String()
	if tok.all["uuid"] != freja || tok.all["cvr"] != seed.CVRNordlys || tok.all["org_name"] != "Nordlys Rådgivning ApS" ||
		tok.all["loa"] != substantial || tok.all["spec_version"] != "OIO-SAML-3.0" {
		t.Errorf("short claims wrong: %v", tok.all)
	}
	for _, k := range []string{"name", "given_name", "family_name", "email", provider.ClaimFullName, provider.ClaimEmail} {
		if _, ok := tok.all[k]; ok {
			t.Errorf("anonymous user's %s was sent: %v", k, tok.all[k])
		}
	}
	if _, ok := tok.all["privileges_intermediate"].(string); !ok {
		t.Error("no privileges_intermediate claim")
	}
	if groups := privilegesClaim(t, tok.all); len(groups) != 0 {
		t.Errorf("Freja holds nothing in Momsportalen, got %+v", groups)
	}
}

// TestSeveralIdentitiesChooseOrganisation: Mette works for Nordlys and
// Havbryg; she picks Havbryg and the service gets Havbryg.
func TestSeveralIdentitiesChooseOrganisation(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	c, secret := p.register(postgres.NewOIDCClient{})
	r := p.relyingParty(c.ID.String(), secret)
	a := r.start()
	resp, err := p.sim.LoginAs(context.Background(), r.hc, a.url, "demo-mette", "code_app")
	if err != nil {
		t.Fatal(err)
	}
	doc := parse(t, resp)
	if resp.StatusCode != http.StatusOK || doc.Find(`[data-testid="sso-choose-`+seed.CVRHavbryg+`"]`).Length() != 1 ||
		doc.Find(`[data-testid="sso-choose-`+seed.CVRNordlys+`"]`).Length() != 1 {
		t.Fatalf("no organisation chooser (status %d)", resp.StatusCode)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://moms.skattefar.example.dk") {
		t.Errorf("the chooser's form cannot redirect to the service: %s", csp)
	}
	form := doc.Find(`form[action="/sso/choose"]`).First()
	id, _ := form.Find(`input[name="id"]`).Attr("value")
	// The language link keeps the request: the page in English, same choice.
	href, _ := doc.Find(`a[href*="lang=en"]`).Attr("href")
	if href != "?id="+id+"&lang=en" {
		t.Errorf("language link %q loses the request", href)
	}
	resp = r.get(p.url + provider.LoginPath + href)
	if en := parse(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(en.Find("h1").Text(), "Which organisation") {
		t.Errorf("the chooser in English: %d %q", resp.StatusCode, en.Find("h1").Text())
	}

	// Another organisation's id is refused and answers nothing.
	resp = postForm(t, r.hc, p.url+provider.ChoosePath, url.Values{"id": {id}, "org": {seed.ID("org:" + seed.CVRSkattefar).String()}})
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("choosing an organisation Mette is not in: %d", resp.StatusCode)
	}
	resp.Body.Close()

	resp = postForm(t, r.hc, p.url+provider.ChoosePath, url.Values{"id": {id}, "org": {seed.ID("org:" + seed.CVRHavbryg).String()}})
	tok := r.mustFinish(a, r.received(resp))
	if tok.all[provider.ClaimCVR] != seed.CVRHavbryg || tok.all["sub"] != seed.ID("user:mette-havbryg").String() {
		t.Errorf("chose Havbryg, got %v / %v", tok.all[provider.ClaimCVR], tok.all["sub"])
	}
	// The request is answered: choosing again is refused.
	resp = postForm(t, r.hc, p.url+provider.ChoosePath, url.Values{"id": {id}, "org": {seed.ID("org:" + seed.CVRNordlys).String()}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a second answer to one request: %d", resp.StatusCode)
	}
	resp.Body.Close()
}

// TestStepUp: a service that accepts Low gets a Low login silently reused;
// when it asks for Substantial (acr_values), the person logs in with MitID
// again at Substantial.
func TestStepUp(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	c, secret := p.register(postgres.NewOIDCClient{MinLevel: domain.LoALow})
	r := p.relyingParty(c.ID.String(), secret)
	a := r.start()
	tok := r.mustFinish(a, r.loginWithMitID(a, "demo-lars", "password"))
	if tok.all["acr"] != nsis+"loa/Low" {
		t.Fatalf("acr = %v, want Low", tok.all["acr"])
	}
	// Filing VAT needs Substantial: a Low login carries only viewing.
	if groups := privilegesClaim(t, tok.all); len(groups) != 1 || !slices.Equal(groups[0].Privileges, []string{momsLaes}) {
		t.Errorf("a Low login carries %+v", groups)
	}

	// Single sign-on at the same level: no MitID.
	a = r.start()
	tok = r.mustFinish(a, r.received(r.get(a.url)))
	if tok.all["acr"] != nsis+"loa/Low" {
		t.Fatalf("SSO acr = %v", tok.all["acr"])
	}

	// Step-up: the browser is sent to MitID again.
	a = r.start(oauth2.SetAuthURLParam("acr_values", substantial))
	resp := r.get(a.url)
	resp.Body.Close()
	if !strings.HasPrefix(resp.Request.URL.String(), p.sim.Issuer()) {
		t.Fatalf("a Substantial request on a Low session went to %s, not MitID", resp.Request.URL)
	}
	tok = r.mustFinish(a, r.loginWithMitID(a, "demo-lars", "code_app"))
	if tok.all["acr"] != substantial {
		t.Fatalf("after step-up acr = %v", tok.all["acr"])
	}
	if groups := privilegesClaim(t, tok.all); len(groups) != 1 || !slices.Equal(groups[0].Privileges, []string{momsIndberet, momsLaes}) {
		t.Errorf("a Substantial login carries %+v", groups)
	}
}

// TestDeactivatedUserCannotLogIn: Karen's identity is deactivated: she is
// told so, and going back gives the service access_denied.
func TestDeactivatedUserCannotLogIn(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	c, secret := p.register(postgres.NewOIDCClient{})
	r := p.relyingParty(c.ID.String(), secret)
	a := r.start()
	resp, err := p.sim.LoginAs(context.Background(), r.hc, a.url, "demo-karen", "code_app")
	if err != nil {
		t.Fatal(err)
	}
	doc := parse(t, resp)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(doc.Find(`[data-testid="sso-blocked"]`).Text(), "deaktiveret") {
		t.Fatalf("deactivated user: status %d, page %q", resp.StatusCode, doc.Find("main").Text())
	}
	id, _ := doc.Find(`form[action="/sso/cancel"] input[name="id"]`).Attr("value")
	cb := r.received(postForm(t, r.hc, p.url+provider.CancelPath, url.Values{"id": {id}}))
	if cb.query.Get("error") != "access_denied" || cb.query.Get("state") != a.state || cb.query.Get("iss") != p.url {
		t.Errorf("back at the service: %v", cb.query)
	}
	if _, err := r.finish(a, cb); err == nil {
		t.Error("a refused login finished")
	}
}

// TestRemovedPrivilegeGoneAtNextLogin: the rights administrator removes
// Lars's privilege; his next login (single sign-on, no MitID) lacks it.
func TestRemovedPrivilegeGoneAtNextLogin(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	c, secret := p.register(postgres.NewOIDCClient{})
	r := p.relyingParty(c.ID.String(), secret)
	a := r.start()
	tok := r.mustFinish(a, r.loginWithMitID(a, "demo-lars", "code_app"))
	if g := privilegesClaim(t, tok.all); len(g) != 1 || !slices.Contains(g[0].Privileges, momsIndberet) {
		t.Fatalf("Lars starts with his privilege: %+v", g)
	}
	err := p.rights.RemoveAssignment(context.Background(), postgres.Actor{UserID: seed.ID("user:sofie"), Label: "Sofie Dam"},
		seed.ID("org:"+seed.CVRNordlys), seed.ID("assign:lars:moms:indberet"))
	if err != nil {
		t.Fatal(err)
	}
	a = r.start()
	tok = r.mustFinish(a, r.received(r.get(a.url)))
	if groups := privilegesClaim(t, tok.all); len(groups) != 1 || !slices.Equal(groups[0].Privileges, []string{momsLaes}) {
		t.Errorf("after removal: %+v", groups)
	}
	doc, err := bpp.DecodeClaim(tok.all[provider.ClaimPrivileges].(string))
	if err != nil || len(doc.Groups) != 1 || slices.Contains(doc.Groups[0].Privileges, momsIndberet) {
		t.Errorf("BPP after removal: %+v, %v", doc.Groups, err)
	}
}

// TestAdministratorEndsSessions: after Nordlys's administrator ends Lars's
// sessions, his access token is refused and the next login needs MitID.
func TestAdministratorEndsSessions(t *testing.T) {
	t.Parallel()
	p := newPlatform(t)
	c, secret := p.register(postgres.NewOIDCClient{})
	r := p.relyingParty(c.ID.String(), secret)
	a := r.start()
	tok := r.mustFinish(a, r.loginWithMitID(a, "demo-lars", "code_app"))
	time.Sleep(10 * time.Millisecond) // the end must come after the login, as it does for a person
	err := p.admin.EndSessions(context.Background(), postgres.Actor{UserID: seed.ID("user:mette"), Label: "Mette Nordlys"},
		seed.ID("org:"+seed.CVRNordlys), seed.ID("user:lars"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok.oauth)); err == nil {
		t.Error("userinfo answered for a token from an ended session")
	}
	a = r.start()
	resp := r.get(a.url)
	resp.Body.Close()
	if !strings.HasPrefix(resp.Request.URL.String(), p.sim.Issuer()) {
		t.Fatalf("after the sessions ended the login went to %s, not MitID", resp.Request.URL)
	}
	r.mustFinish(a, r.loginWithMitID(a, "demo-lars", "code_app"))

	// Another organisation's user is not Nordlys's to end.
	err = p.admin.EndSessions(context.Background(), postgres.Actor{UserID: seed.ID("user:mette"), Label: "Mette Nordlys"},
		seed.ID("org:"+seed.CVRNordlys), seed.ID("user:henrik"))
	if domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Errorf("ending another organisation's user's sessions: %v", err)
	}
}

func parse(t *testing.T, resp *http.Response) *goquery.Document {
	t.Helper()
	defer resp.Body.Close()
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func postForm(t *testing.T, hc *http.Client, u string, form url.Values) *http.Response {
	t.Helper()
	resp, err := hc.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

var _ = oidc.ScopeOpenID
