package portal_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/cvr"
	"github.com/erhverv/erhverv/internal/dbtest"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/login"
	"github.com/erhverv/erhverv/internal/mail"
	"github.com/erhverv/erhverv/internal/mitidsim"
	"github.com/erhverv/erhverv/internal/pii"
	"github.com/erhverv/erhverv/internal/portal"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/rights"
	"github.com/erhverv/erhverv/internal/server"
)

// mailbox records the emails the platform would send; internal/jobs and
// the e2e tests cover the real queue and SMTP.
type mailbox struct {
	mu   sync.Mutex
	sent []domain.Notification
}

func (m *mailbox) NotifyTx(_ context.Context, _ *sql.Tx, n domain.Notification) error {
	// The mail templates' contract: what the real queue would refuse.
	if err := mail.Validate(n); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, n)
	return nil
}

func (m *mailbox) last(t testing.TB) domain.Notification {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sent) == 0 {
		t.Fatal("no email enqueued")
	}
	return m.sent[len(m.sent)-1]
}

// platform is the portal on a real database behind a real HTTP server,
// logging in through the MitID simulator.
type platform struct {
	t     testing.TB
	url   string
	db    *postgres.DB
	sim   *mitidsim.Server
	mail  *mailbox
	users *postgres.UserService
	orgs  *postgres.OrganisationService
	roles *postgres.AdminRoleService
	// webhooks is the registry the webhook pages manage.
	webhooks *postgres.Webhooks
}

func newPlatform(t testing.TB, profile string) *platform {
	t.Helper()
	return newPlatformWithLevels(t, profile, login.LevelSubstantial)
}

// newPlatformWithLevels lets activation accept a lower level than the
// portal, to see the portal ask for more (step-up).
func newPlatformWithLevels(t testing.TB, profile string, activate login.Level) *platform {
	t.Helper()
	db := dbtest.New(t)
	protector, err := pii.New(dbtest.DataKey)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	sim, simSrv := mitidsim.NewTestServer(t, mitidsim.Client{ID: "erhverv", Secret: "s3cret",
		RedirectURIs: []string{base + portal.CallbackPath}, PostLogoutRedirectURIs: []string{base + "/"}, Profile: profile})
	prof, err := login.ProfileByName(profile)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := cvr.OpenFile("../seed/cvr-register.json")
	if err != nil {
		t.Fatal(err)
	}
	baseURL, _ := url.Parse(base)
	mail := &mailbox{}
	sessions := login.NewSessions(db.Pool(), login.SessionOptions{IdleTimeout: 30 * time.Minute, Lifetime: 8 * time.Hour})
	t.Cleanup(sessions.Close)
	p := &platform{t: t, url: base, db: db, sim: sim, mail: mail, users: postgres.NewUserService(db),
		orgs: postgres.NewOrganisationService(db), roles: postgres.NewAdminRoleService(db), webhooks: postgres.NewWebhooks(db)}
	onboarding := postgres.NewOnboarding(db, mail, func(s string) string { return portal.ActivationLink(base, s) })
	pt, err := portal.New(portal.Options{
		Logger: slog.New(slog.DiscardHandler), BaseURL: baseURL, Sessions: sessions,
		Broker: login.NewRelyingParty(login.BrokerConfig{Issuer: simSrv.URL, ClientID: "erhverv", ClientSecret: "s3cret",
			RedirectURL: base + portal.CallbackPath, Profile: prof}),
		Levels: map[portal.Purpose]login.Level{portal.PurposeAdmin: login.LevelSubstantial, portal.PurposeConnect: login.LevelSubstantial,
			portal.PurposeActivate: activate},
		PII: protector, Orgs: p.orgs, Users: p.users, Roles: p.roles,
		Onboarding: onboarding, Administration: postgres.NewAdministration(db, onboarding, base+portal.OverviewPath),
		Groups: postgres.NewGroupService(db),
		Rights: postgres.NewRightsService(db), PoA: postgres.NewPoAService(db, mail),
		Runtime: rights.NewService(rightsPolicy(t), postgres.NewRightsStore(db)),
		Audit:   postgres.NewAuditLog(db), Register: reg, Authz: engine(t),
		APIClients:  postgres.NewAPIClients(db),
		Webhooks:    p.webhooks,
		OIDCClients: postgres.NewOIDCClients(db),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Options{Logger: slog.New(slog.DiscardHandler)}, pt.Mount)
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	return p
}

// employ gives the simulator's person subject an active business identity
// in a new organisation, with an organisation administrator role.
func (p *platform) employ(subject, cvrNumber, name string) (*domain.Organisation, *domain.User) {
	p.t.Helper()
	ctx := context.Background()
	org, err := p.orgs.FindOrganisationByCVR(ctx, cvrNumber)
	if err != nil {
		now := time.Now()
		org = &domain.Organisation{CVR: cvrNumber, Name: name, Status: domain.OrgActive, ConnectedAt: &now}
		if err := p.orgs.CreateOrganisation(ctx, org); err != nil {
			p.t.Fatalf("create organisation %s: %v", cvrNumber, err)
		}
	}
	id, ok := p.sim.Identity(subject)
	if !ok {
		p.t.Fatalf("no simulator identity %s", subject)
	}
	u := &domain.User{OrgID: org.ID, FirstName: id.FirstName, LastName: id.LastName, Email: subject + "@example.dk", CPR: id.CPR, Status: domain.UserActive}
	if id.CPR == "" {
		u.BirthDate, _ = time.Parse(time.DateOnly, id.BirthDate)
	}
	if err := p.users.CreateUser(ctx, u); err != nil {
		p.t.Fatalf("create %s: %v %v", subject, err, err.(domain.ValidationErrors).Fields())
	}
	if err := p.users.LinkPerson(ctx, &domain.PersonLink{OrgID: org.ID, UserID: u.ID, BrokerIssuer: p.sim.Issuer(), BrokerSubject: subject}); err != nil {
		p.t.Fatal(err)
	}
	if err := p.roles.AssignAdminRole(ctx, &domain.AdminRole{OrgID: org.ID, UserID: u.ID, Role: domain.RoleOrgAdmin}); err != nil {
		p.t.Fatalf("assign role: %v", err)
	}
	return org, u
}

func browser(t testing.TB) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 20 * time.Second}
}

func (p *platform) loginAs(hc *http.Client, start, subject, authenticator string) *http.Response {
	p.t.Helper()
	resp, err := p.sim.LoginAs(context.Background(), hc, p.url+start, subject, authenticator)
	if err != nil {
		p.t.Fatal(err)
	}
	return resp
}

func page(t testing.TB, resp *http.Response) *goquery.Document {
	t.Helper()
	defer resp.Body.Close()
	doc, err := goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func text(doc *goquery.Document, testid string) string {
	return strings.TrimSpace(doc.Find(`[data-testid="` + testid + `"]`).Text())
}

func (p *platform) auditActions(org *uuid.UUID) []string {
	p.t.Helper()
	q, args := "SELECT action FROM audit_events WHERE org_id IS NULL ORDER BY seq", []any{}
	if org != nil {
		q, args = "SELECT action FROM audit_events WHERE org_id = $1 ORDER BY seq", []any{*org}
	}
	rows, err := p.db.SQL().Query(q, args...)
	if err != nil {
		p.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			p.t.Fatal(err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		p.t.Fatal(err)
	}
	return out
}

func TestLoginWithOneIdentityLandsInThePortal(t *testing.T) {
	t.Parallel()
	for _, profile := range []string{"oiosaml", "signaturgruppen", "idura"} {
		t.Run(profile, func(t *testing.T) {
			t.Parallel()
			p := newPlatform(t, profile)
			org, _ := p.employ("demo-jonas", "91234564", "Nordlys Rådgivning ApS")
			hc := browser(t)
			resp := p.loginAs(hc, "/login", "demo-jonas", "code_app")
			if resp.Request.URL.Path != portal.OverviewPath || resp.StatusCode != http.StatusOK {
				t.Fatalf("after login: %s %d, want %s 200", resp.Request.URL.Path, resp.StatusCode, portal.OverviewPath)
			}
			doc := page(t, resp)
			if got := text(doc, "overview-heading"); got != "Nordlys Rådgivning ApS" {
				t.Errorf("overview heading %q", got)
			}
			if got := text(doc, "overview-level"); got != "Substantial" {
				t.Errorf("level %q, want Substantial", got)
			}
			if got := text(doc, "header-user"); !strings.Contains(got, "Jonas Berg") {
				t.Errorf("header %q", got)
			}
			if got := p.auditActions(&org.ID); len(got) == 0 || got[len(got)-1] != "session.started" {
				t.Errorf("audit = %v, want session.started last", got)
			}
		})
	}
}

func TestPersonWithTwoIdentitiesChoosesAndSwitches(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	p.employ("demo-mette", "91234564", "Nordlys Rådgivning ApS")
	havbryg, _ := p.employ("demo-mette", "95001238", "Havbryg Revision I/S")
	hc := browser(t)
	resp := p.loginAs(hc, "/login?return=/portal", "demo-mette", "code_app")
	if resp.Request.URL.Path != portal.ChooseOrgPath {
		t.Fatalf("after login: %s, want the chooser", resp.Request.URL)
	}
	doc := page(t, resp)
	if n := doc.Find(`[data-testid="identity-list"] li`).Length(); n != 2 {
		t.Fatalf("chooser lists %d identities, want 2", n)
	}
	form := url.Values{"org": {havbryg.ID.String()}, "return": {"/portal"}}
	resp, err := hc.PostForm(p.url+portal.ChooseOrgPath, form)
	if err != nil {
		t.Fatal(err)
	}
	doc = page(t, resp)
	if got := text(doc, "overview-heading"); got != "Havbryg Revision I/S" {
		t.Errorf("after choosing Havbryg: %q", got)
	}
	if doc.Find(`[data-testid="header-switch-org"]`).Length() != 1 {
		t.Error("no switch link in the header")
	}
	// Another organisation's id, or a made-up one: not found, nothing changes.
	now := time.Now()
	other := &domain.Organisation{CVR: "93847261", Name: "Skattefar Digital A/S", Status: domain.OrgActive, ConnectedAt: &now}
	if err := p.orgs.CreateOrganisation(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	resp, err = hc.PostForm(p.url+portal.ChooseOrgPath, url.Values{"org": {other.ID.String()}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("choosing an organisation without an identity: %d, want 404", resp.StatusCode)
	}
	resp, _ = hc.Get(p.url + portal.OverviewPath)
	if got := text(page(t, resp), "overview-heading"); got != "Havbryg Revision I/S" {
		t.Errorf("acting identity changed to %q after a refused switch", got)
	}
}

func TestLoginRefusals(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	p.employ("demo-jonas", "91234564", "Nordlys Rådgivning ApS")

	t.Run("tampered state", func(t *testing.T) {
		hc := browser(t)
		resp, err := hc.Get(p.url + "/login/callback?state=forged&code=abc")
		if err != nil {
			t.Fatal(err)
		}
		doc := page(t, resp)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(doc.Find("h1").Text(), "Login kunne ikke gennemføres") {
			t.Errorf("forged state: %d %q", resp.StatusCode, doc.Find("h1").Text())
		}
	})
	t.Run("replayed callback", func(t *testing.T) {
		hc := browser(t)
		var callback string
		hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if req.URL.Path == portal.CallbackPath {
				callback = req.URL.String()
			}
			return nil
		}
		resp := p.loginAs(hc, "/login", "demo-jonas", "code_app")
		resp.Body.Close()
		if callback == "" {
			t.Fatal("no callback seen")
		}
		resp, err := hc.Get(callback)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("replayed callback: %d, want 401", resp.StatusCode)
		}
		// In another browser the code is no good either: the state is
		// bound to the session that started the login.
		resp, err = browser(t).Get(callback)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("callback in another browser: %d, want 401", resp.StatusCode)
		}
	})
	t.Run("below the level", func(t *testing.T) {
		_, err := p.sim.LoginAs(context.Background(), browser(t), p.url+"/login", "demo-low", "password")
		if err == nil {
			t.Fatal("a Low login for the portal was accepted")
		}
	})
	t.Run("cancelled at the broker", func(t *testing.T) {
		hc := browser(t)
		resp, err := hc.Get(p.url + "/login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		id := resp.Request.URL.Query().Get("id")
		resp, err = hc.PostForm(p.sim.Issuer()+"/login/cancel", url.Values{"id": {id}})
		if err != nil {
			t.Fatal(err)
		}
		doc := page(t, resp)
		if resp.Request.URL.Path != portal.CallbackPath || !strings.Contains(doc.Find("h1").Text(), "afbrudt") {
			t.Errorf("cancel: %s %d %q", resp.Request.URL.Path, resp.StatusCode, doc.Find("h1").Text())
		}
	})
	t.Run("open redirect", func(t *testing.T) {
		resp := p.loginAs(browser(t), "/login?return="+url.QueryEscape("https://evil.example/steal"), "demo-jonas", "code_app")
		resp.Body.Close()
		if resp.Request.URL.Host != strings.TrimPrefix(p.url, "http://") || resp.Request.URL.Path != portal.OverviewPath {
			t.Errorf("return=https://evil.example led to %s", resp.Request.URL)
		}
	})
	t.Run("another login's code", func(t *testing.T) {
		// Browser A starts a login; an attacker pastes the code of a login
		// B made into A's callback. The code is bound to B's PKCE verifier,
		// so the broker refuses it.
		a := browser(t)
		stop := func(req *http.Request, via []*http.Request) error {
			if req.URL.Path == portal.CallbackPath {
				return http.ErrUseLastResponse
			}
			return nil
		}
		a.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := a.Get(p.url + "/login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		toBroker, _ := url.Parse(resp.Header.Get("Location"))
		stateA := toBroker.Query().Get("state")
		b := browser(t)
		b.CheckRedirect = stop
		resp, err = p.sim.LoginAs(context.Background(), b, p.url+"/login", "demo-jonas", "code_app")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		back, _ := url.Parse(resp.Header.Get("Location"))
		codeB := back.Query().Get("code")
		if stateA == "" || codeB == "" {
			t.Fatalf("state %q, code %q", stateA, codeB)
		}
		resp, err = a.Get(p.url + portal.CallbackPath + "?" + url.Values{"state": {stateA}, "code": {codeB}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("injected code: %d, want 401", resp.StatusCode)
		}
	})
	// Security failures of a login this session started are audited; a
	// callback nobody started (forged, replayed, stale) is only logged, so
	// strangers cannot fill the audit log.
	got := p.auditActions(nil)
	if n := count(got, "login.failed"); n != 1 {
		t.Errorf("platform audit %v: want exactly one login.failed (the injected code)", got)
	}
}

func count(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

func TestSessionCookieRotatesAndLogoutEndsIt(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	p.employ("demo-jonas", "91234564", "Nordlys Rådgivning ApS")
	hc := browser(t)
	u, _ := url.Parse(p.url)
	// Starting a login creates a session for the attempt...
	noFollow := *hc
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Get(p.url + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var before string
	for _, c := range resp.Cookies() {
		if c.Name == login.SessionCookie {
			before = c.Value
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure {
				t.Errorf("session cookie attributes: %+v (http base URL: not Secure)", c)
			}
		}
	}
	if before == "" {
		t.Fatal("no session cookie before login")
	}
	// ...and the login replaces its id.
	resp = p.loginAs(hc, "/login", "demo-jonas", "code_app")
	resp.Body.Close()
	var after string
	for _, c := range hc.Jar.Cookies(u) {
		if c.Name == login.SessionCookie {
			after = c.Value
		}
	}
	if after == "" || after == before {
		t.Fatalf("session id did not rotate at login (%q → %q)", before, after)
	}
	// The old id is worth nothing.
	stale := &http.Client{Timeout: 10 * time.Second, CheckRedirect: noFollow.CheckRedirect}
	req, _ := http.NewRequest(http.MethodGet, p.url+portal.OverviewPath, nil)
	req.AddCookie(&http.Cookie{Name: login.SessionCookie, Value: before})
	if resp, err = stale.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("portal with the pre-login session id: %d, want a redirect to login", resp.StatusCode)
	}
	// A cross-site logout is refused.
	req, _ = http.NewRequest(http.MethodPost, p.url+"/logout", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err = hc.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site logout: %d, want 403", resp.StatusCode)
	}
	// Logout ends the session here and at the broker, and comes back home.
	resp, err = hc.PostForm(p.url+"/logout", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Request.URL.String() != p.url+"/" || resp.StatusCode != http.StatusOK {
		t.Errorf("after logout: %s %d %.200s", resp.Request.URL, resp.StatusCode, body)
	}
	var n int
	if err := p.db.SQL().QueryRow("SELECT count(*) FROM sessions WHERE token = $1", after).Scan(&n); err != nil || n != 0 {
		t.Errorf("session row after logout: %d, %v", n, err)
	}
	if resp, err = noFollow.Get(p.url + portal.OverviewPath); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("portal after logout: %d → %s, want a redirect to login", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func TestDeactivatedUserLosesThePortalAtOnce(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	org, u := p.employ("demo-jonas", "91234564", "Nordlys Rådgivning ApS")
	p.employ("demo-mette", "91234564", "") // a second administrator, so Jonas can be deactivated
	hc := browser(t)
	p.loginAs(hc, "/login", "demo-jonas", "code_app").Body.Close()
	if err := p.users.SetUserStatus(context.Background(), org.ID, u.ID, u.Version, domain.UserDeactivated); err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Get(p.url + portal.OverviewPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := page(t, resp)
	if resp.Request.URL.Path != portal.ChooseOrgPath || doc.Find(`[data-testid="no-identity"]`).Length() != 1 {
		t.Errorf("deactivated user: %s, want the chooser saying there is no identity", resp.Request.URL)
	}
}

func TestConnectAndActivateTheFirstAdministrator(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	p.employ("demo-mette", "91234564", "Nordlys Rådgivning ApS")
	hc := browser(t)
	resp := p.loginAs(hc, "/login?purpose=connect&return=/connect", "demo-rikke", "code_app")
	doc := page(t, resp)
	if resp.Request.URL.Path != portal.ConnectPath {
		t.Fatalf("after login: %s", resp.Request.URL)
	}
	if doc.Find(`[data-testid="connect-30264878"]`).Length() != 1 || doc.Find(`[data-testid="connected-91234564"]`).Length() != 1 {
		t.Fatalf("company list: %s", doc.Find(`[data-testid="company-list"]`).Text())
	}
	// A company she may not represent, and a ceased one.
	for path, want := range map[string]int{"/connect/29456615": http.StatusForbidden, "/connect/41172037": http.StatusConflict, "/connect/91234564": http.StatusConflict} {
		r, err := hc.Get(p.url + path)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, r.StatusCode, want)
		}
	}
	// Bad input: every error at once, in Danish, nothing created.
	resp, err := hc.PostForm(p.url+"/connect/30264878", url.Values{"first_name": {"Rikke"}, "email": {"rikke"}, "cpr": {"3213991234"}})
	if err != nil {
		t.Fatal(err)
	}
	doc = page(t, resp)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad form: %d", resp.StatusCode)
	}
	for _, f := range []string{"accept_terms", "last_name", "email", "cpr"} {
		if text(doc, "error-"+f) == "" {
			t.Errorf("no error shown for %s", f)
		}
	}
	if got := text(doc, "error-cpr"); !strings.Contains(got, "rigtig dato") || strings.Contains(got, "3213991234") {
		t.Errorf("CPR error %q: want Danish, without the number", got)
	}
	if _, err := p.orgs.FindOrganisationByCVR(context.Background(), "30264878"); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("organisation exists after a refused form: %v", err)
	}
	form := url.Values{"accept_terms": {"yes"}, "allow_private_mitid": {"yes"}, "first_name": {"Rikke"}, "last_name": {"Brandt"},
		"email": {"rikke@solbaer.example.dk"}, "cpr": {"281179-1246"}}
	resp, err = hc.PostForm(p.url+"/connect/30264878", form)
	if err != nil {
		t.Fatal(err)
	}
	doc = page(t, resp)
	if resp.StatusCode != http.StatusOK || doc.Find(`[data-testid="connect-done"]`).Length() != 1 {
		t.Fatalf("connect: %d %s", resp.StatusCode, doc.Find("main").Text())
	}
	// Twice is refused.
	resp, _ = hc.PostForm(p.url+"/connect/30264878", form)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("second connect: %d, want 409", resp.StatusCode)
	}
	link := p.mail.last(t).Secrets["Link"]
	if !strings.HasPrefix(link, p.url+"/activate?token=") {
		t.Fatalf("link %q", link)
	}
	// Another person (signed in as Mette) cannot take the identity. The link
	// is opened first; the login it leads to keeps the secret out of the
	// session (it waits in a cookie only /activate receives).
	other := browser(t)
	resp, err = other.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	doc = page(t, resp)
	loginHref, _ := doc.Find(`[data-testid="activate-login"]`).Attr("href")
	if loginHref != "/login?purpose=activate&return=%2Factivate" {
		t.Fatalf("activation login link %q", loginHref)
	}
	resp = p.loginAs(other, loginHref, "demo-mette", "code_app")
	doc = page(t, resp)
	if doc.Find(`[data-testid="activate-submit"]`).Length() != 1 {
		t.Fatalf("activation page after login: %s", doc.Find("main").Text())
	}
	resp, _ = other.PostForm(p.url+"/activate", url.Values{"token": {token(link)}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(doc.Text(), "ikke den, brugeren blev oprettet til") {
		t.Errorf("wrong person: %d %s", resp.StatusCode, doc.Find("main").Text())
	}
	if href, _ := doc.Find(`[data-testid="error-back"]`).Attr("href"); href != loginHref {
		t.Errorf("the way on after the wrong person: %q, want a new login for the activation", href)
	}
	var sessionData int
	if err := p.db.SQL().QueryRow("SELECT count(*) FROM sessions WHERE position($1::bytea in data) > 0", []byte(token(link))).Scan(&sessionData); err != nil || sessionData != 0 {
		t.Errorf("sessions holding the activation secret: %d, %v", sessionData, err)
	}
	// Rikke herself: already signed in at Substantial, activates and lands in the portal.
	resp, _ = hc.PostForm(p.url+"/activate", url.Values{"token": {token(link)}})
	doc = page(t, resp)
	if resp.Request.URL.Path != portal.OverviewPath || text(doc, "overview-heading") != "Solbær ApS" || text(doc, "activated") == "" {
		t.Fatalf("after activation: %s %q", resp.Request.URL, text(doc, "overview-heading"))
	}
	if !strings.Contains(text(doc, "overview-roles"), "Organisationsadministrator") {
		t.Errorf("roles: %q", text(doc, "overview-roles"))
	}
	resp, _ = hc.Get(link)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("used link: %d, want 409", resp.StatusCode)
	}
}

func token(link string) string {
	u, _ := url.Parse(link)
	return u.Query().Get("token")
}

func TestStepUpFromAnActivationLoginToThePortal(t *testing.T) {
	t.Parallel()
	p := newPlatformWithLevels(t, "oiosaml", login.LevelLow)
	p.employ("demo-jonas", "91234564", "Nordlys Rådgivning ApS")
	hc := browser(t)
	// A Low login is enough to open an activation...
	resp := p.loginAs(hc, "/login?purpose=activate&return=/activate", "demo-jonas", "password")
	resp.Body.Close()
	// ...but the portal asks the broker again, for Substantial.
	noFollow := *hc
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Get(p.url + portal.OverviewPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?return=") {
		t.Fatalf("portal after a Low login: %d → %q, want a login for the portal", resp.StatusCode, resp.Header.Get("Location"))
	}
	stepUp := resp.Header.Get("Location")
	// Choosing an organisation with the Low login is refused the same way.
	resp, err = noFollow.PostForm(p.url+portal.ChooseOrgPath, url.Values{"org": {uuid.NewString()}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("choosing with a Low login: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The simulator refuses a password for the Substantial request, and
	// the MitID app passes.
	if _, err := p.sim.LoginAs(context.Background(), browser(t), p.url+"/login", "demo-jonas", "password"); err == nil {
		t.Error("a password login was accepted for the portal")
	}
	resp = p.loginAs(hc, stepUp, "demo-jonas", "code_app")
	doc := page(t, resp)
	if resp.Request.URL.Path != portal.OverviewPath || text(doc, "overview-level") != "Substantial" {
		t.Errorf("after step-up: %s, level %q", resp.Request.URL, text(doc, "overview-level"))
	}
}

func TestConnectExplainsConflictsAndAsksOnlyForWhatItCan(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	ctx := context.Background()
	// Another organisation already holds one of Solbær's P-numbers.
	org, _ := p.employ("demo-jonas", "91234564", "Nordlys Rådgivning ApS")
	if err := p.orgs.CreateProductionUnit(ctx, &domain.ProductionUnit{OrgID: org.ID, PNumber: "1045678901", Name: "Lånt"}); err != nil {
		t.Fatal(err)
	}
	hc := browser(t)
	p.loginAs(hc, "/login?purpose=connect&return=/connect", "demo-rikke", "code_app").Body.Close()
	form := url.Values{"accept_terms": {"yes"}, "first_name": {"Rikke"}, "last_name": {"Brandt"}, "email": {"rikke@solbaer.example.dk"},
		"cpr": {"2811791246"}, "mandatory_user_fields": {"department", "employee_number"}}
	resp, err := hc.PostForm(p.url+"/connect/30264878", form)
	if err != nil {
		t.Fatal(err)
	}
	doc := page(t, resp)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(text(doc, "error-summary"), "P-numre") {
		t.Fatalf("P-number conflict: %d %q", resp.StatusCode, text(doc, "error-summary"))
	}
	if _, err := p.orgs.FindOrganisationByCVR(ctx, "30264878"); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("organisation after a conflict: %v", err)
	}
	// Without the conflict, mandatory fields the form does not ask for do
	// not block the first administrator.
	if _, err := p.db.SQL().Exec("DELETE FROM production_units WHERE p_number = '1045678901'"); err != nil {
		t.Fatal(err)
	}
	resp, err = hc.PostForm(p.url+"/connect/30264878", form)
	if err != nil {
		t.Fatal(err)
	}
	doc = page(t, resp)
	if resp.StatusCode != http.StatusOK || doc.Find(`[data-testid="connect-done"]`).Length() != 1 {
		t.Fatalf("connect with extra mandatory fields: %d %s", resp.StatusCode, text(doc, "error-summary"))
	}
}

func TestBrokerClaimsAloneDoNotAuthoriseConnecting(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	// A person the simulator says may represent Kystlinje Byg, which the
	// CVR register does not confirm.
	id, err := p.sim.CreateIdentity(mitidsim.IdentityInput{FirstName: "Kim", LastName: "Kyst", CPR: "0101801234",
		IAL: mitidsim.LevelSubstantial, Represents: []string{"29456615"}})
	if err != nil {
		t.Fatal(err)
	}
	hc := browser(t)
	resp := p.loginAs(hc, "/login?purpose=connect&return=/connect", id.Subject, "code_app")
	doc := page(t, resp)
	if doc.Find(`[data-testid="connect-none"]`).Length() != 1 {
		t.Errorf("company list for an unconfirmed representative: %s", doc.Find("main").Text())
	}
	resp, err = hc.Get(p.url + "/connect/29456615")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("connect page for an unconfirmed company: %d, want 403", resp.StatusCode)
	}
}

var (
	engineOnce   sync.Once
	sharedEngine *authz.Engine
	engineErr    error
)

// engine is the embedded admin policy, prepared once for all tests.
func engine(t testing.TB) *authz.Engine {
	t.Helper()
	engineOnce.Do(func() { sharedEngine, engineErr = authz.New(context.Background(), authz.Options{}) })
	if engineErr != nil {
		t.Fatal(engineErr)
	}
	return sharedEngine
}

var (
	rightsPolicyOnce   sync.Once
	sharedRightsPolicy *rights.Policy
	rightsPolicyErr    error
)

// rightsPolicy prepares the rights policy once for all tests of the package.
func rightsPolicy(t testing.TB) *rights.Policy {
	t.Helper()
	rightsPolicyOnce.Do(func() { sharedRightsPolicy, rightsPolicyErr = rights.NewPolicy(context.Background(), authz.Options{}) })
	if rightsPolicyErr != nil {
		t.Fatal(rightsPolicyErr)
	}
	return sharedRightsPolicy
}
