package provider_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
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

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/erhverv/erhverv/internal/api"
	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/cvr"
	"github.com/erhverv/erhverv/internal/dbtest"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/login"
	"github.com/erhverv/erhverv/internal/mitidsim"
	"github.com/erhverv/erhverv/internal/pii"
	"github.com/erhverv/erhverv/internal/portal"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/provider"
	"github.com/erhverv/erhverv/internal/rights"
	"github.com/erhverv/erhverv/internal/seed"
	"github.com/erhverv/erhverv/internal/server"
)

// platform is the whole platform in one test server (portal, API and
// OpenID Provider on a fresh database with the demo data), logging in
// through the MitID simulator.
type platform struct {
	t       testing.TB
	url     string
	db      *postgres.DB
	sim     *mitidsim.Server
	clients *postgres.OIDCClients
	admin   *postgres.Administration
	rights  *postgres.RightsService
}

type discardMail struct{}

func (discardMail) NotifyTx(context.Context, *sql.Tx, domain.Notification) error { return nil }

var (
	policyOnce sync.Once
	engine     *authz.Engine
	rightsPol  *rights.Policy
	policyErr  error
)

func newPlatform(t testing.TB) *platform {
	t.Helper()
	policyOnce.Do(func() {
		engine, policyErr = authz.New(context.Background(), authz.Options{})
		if policyErr == nil {
			rightsPol, policyErr = rights.NewPolicy(context.Background(), authz.Options{})
		}
	})
	if policyErr != nil {
		t.Fatal(policyErr)
	}
	ctx := context.Background()
	db := dbtest.New(t)
	protector, err := pii.New(dbtest.DataKey)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	baseURL, _ := url.Parse(base)
	sim, simSrv := mitidsim.NewTestServer(t, mitidsim.Client{ID: "erhverv", Secret: "s3cret",
		RedirectURIs: []string{base + portal.CallbackPath}, PostLogoutRedirectURIs: []string{base + "/"}, Profile: "signaturgruppen"})
	if _, err := seed.Demo(ctx, db, sim.Issuer()); err != nil {
		t.Fatal(err)
	}
	prof, err := login.ProfileByName("signaturgruppen")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := cvr.OpenFile("../seed/cvr-register.json")
	if err != nil {
		t.Fatal(err)
	}
	sessions := login.NewSessions(db.Pool(), login.SessionOptions{IdleTimeout: 30 * time.Minute, Lifetime: 8 * time.Hour})
	t.Cleanup(sessions.Close)
	broker := login.NewRelyingParty(login.BrokerConfig{Issuer: simSrv.URL, ClientID: "erhverv", ClientSecret: "s3cret",
		RedirectURL: base + portal.CallbackPath, Profile: prof})
	onboarding := postgres.NewOnboarding(db, discardMail{}, func(s string) string { return portal.ActivationLink(base, s) })
	p := &platform{t: t, url: base, db: db, sim: sim, clients: postgres.NewOIDCClients(db),
		admin: postgres.NewAdministration(db, onboarding, base+portal.OverviewPath), rights: postgres.NewRightsService(db)}
	runtime := rights.NewService(rightsPol, postgres.NewRightsStore(db))
	listenCtx, stopListen := context.WithCancel(ctx)
	t.Cleanup(stopListen)
	go func() { _ = runtime.Listen(listenCtx, db.Pool()) }()
	users, orgs, audit := postgres.NewUserService(db), postgres.NewOrganisationService(db), postgres.NewAuditLog(db)
	pt, err := portal.New(portal.Options{
		Logger: slog.New(slog.DiscardHandler), BaseURL: baseURL, Sessions: sessions, Broker: broker,
		Levels: map[portal.Purpose]login.Level{portal.PurposeAdmin: login.LevelSubstantial},
		PII:    protector, Orgs: orgs, Users: users, Roles: postgres.NewAdminRoleService(db),
		Onboarding: onboarding, Administration: p.admin, Groups: postgres.NewGroupService(db),
		Rights: p.rights, PoA: postgres.NewPoAService(db, discardMail{}), Runtime: runtime,
		Audit: audit, Register: reg, Authz: engine, OIDCClients: p.clients,
	})
	if err != nil {
		t.Fatal(err)
	}
	integrators, err := api.New(ctx, api.Options{
		Logger: slog.New(slog.DiscardHandler), BaseURL: baseURL, DB: db,
		Clients: postgres.NewAPIClients(db), Keys: postgres.NewSigningKeys(db), Idempotency: postgres.NewIdempotency(db),
		Admin: p.admin, Users: users, Groups: postgres.NewGroupService(db), Roles: postgres.NewAdminRoleService(db),
		Rights: p.rights, Orgs: orgs, Audit: audit, Runtime: runtime,
		Feed: postgres.NewChangeFeed(db), Webhooks: postgres.NewWebhooks(db),
	})
	if err != nil {
		t.Fatal(err)
	}
	op, err := provider.New(provider.Options{BaseURL: baseURL, Logger: slog.New(slog.DiscardHandler),
		Clients: p.clients, Grants: postgres.NewOIDCGrants(db), Rights: runtime, Sessions: sessions, Broker: broker,
		Keys: integrators, Audit: audit, DataKey: dbtest.DataKey})
	if err != nil {
		t.Fatal(err)
	}
	integrators.SetCodeGrant(op.TokenHandler())
	srv := server.New(server.Options{Logger: slog.New(slog.DiscardHandler)}, integrators.Mount, op.Mount, pt.Mount)
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	return p
}

// register registers a client for Skattefar's Momsportalen as Henrik,
// Skattefar's organisation administrator.
func (p *platform) register(n postgres.NewOIDCClient) (*domain.OIDCClient, string) {
	p.t.Helper()
	n.OrgID = seed.ID("org:" + seed.CVRSkattefar)
	if n.ITSystemID == uuid.Nil {
		n.ITSystemID = seed.ID("system:moms")
	}
	if n.Name == "" {
		n.Name = "Momsportalen (test)"
	}
	if len(n.RedirectURIs) == 0 {
		n.RedirectURIs = []string{rpRedirect}
	}
	if n.AuthMethod == "" {
		n.AuthMethod = domain.OIDCAuthSecretBasic
	}
	c, secret, err := p.clients.Register(context.Background(), postgres.Actor{UserID: seed.ID("user:henrik"), Label: "Henrik Skat"}, n)
	if err != nil {
		p.t.Fatalf("register client: %v", err)
	}
	return c, secret
}

// rpRedirect is the service's redirect URI; the test's browser stops there
// instead of fetching it, as a service would receive it.
const rpRedirect = "https://moms.skattefar.example.dk/callback"

// rp is a service provider's relying party, built as a service would build
// one: go-oidc discovery and ID token verification, x/oauth2 for the code
// exchange.
type rp struct {
	t        testing.TB
	p        *platform
	provider *oidc.Provider
	config   oauth2.Config
	hc       *http.Client // the employee's browser
}

func (p *platform) relyingParty(clientID, secret string, scopes ...string) *rp {
	p.t.Helper()
	ctx := context.Background()
	op, err := oidc.NewProvider(ctx, p.url)
	if err != nil {
		p.t.Fatalf("discovery: %v", err)
	}
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "profile", "email"}
	}
	return &rp{t: p.t, p: p, provider: op, hc: newBrowser(),
		config: oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: op.Endpoint(), RedirectURL: rpRedirect, Scopes: scopes}}
}

// newBrowser keeps cookies and stops at the service's redirect URI.
func newBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), rpRedirect) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

// attempt is one login the service started.
type attempt struct {
	state, nonce, verifier string
	url                    string
}

func randomString() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (r *rp) start(extra ...oauth2.AuthCodeOption) attempt {
	a := attempt{state: randomString(), nonce: randomString(), verifier: oauth2.GenerateVerifier()}
	opts := append([]oauth2.AuthCodeOption{oidc.Nonce(a.nonce), oauth2.S256ChallengeOption(a.verifier)}, extra...)
	a.url = r.config.AuthCodeURL(a.state, opts...)
	return a
}

// callback is the authorization response the service received.
type callback struct {
	resp  *http.Response
	query url.Values
}

func (r *rp) received(resp *http.Response) callback {
	r.t.Helper()
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode < 300 || resp.StatusCode >= 400 || !strings.HasPrefix(loc, rpRedirect) {
		r.t.Fatalf("expected a redirect to the service, got %d at %s (Location %q)", resp.StatusCode, resp.Request.URL, loc)
	}
	u, err := url.Parse(loc)
	if err != nil {
		r.t.Fatal(err)
	}
	return callback{resp: resp, query: u.Query()}
}

// loginWithMitID starts a login at the service and logs in at the
// simulator as subject; it returns what the service received.
func (r *rp) loginWithMitID(a attempt, subject, authenticator string) callback {
	r.t.Helper()
	resp, err := r.p.sim.LoginAs(context.Background(), r.hc, a.url, subject, authenticator)
	if err != nil {
		r.t.Fatal(err)
	}
	return r.received(resp)
}

// get follows a URL in the browser (a login with the platform's session).
func (r *rp) get(u string) *http.Response {
	r.t.Helper()
	resp, err := r.hc.Get(u)
	if err != nil {
		r.t.Fatal(err)
	}
	return resp
}

// tokens is what the service holds after a login.
type tokens struct {
	oauth *oauth2.Token
	id    *oidc.IDToken
	raw   string
	all   map[string]any
}

// finish checks state and iss, exchanges the code and verifies the ID token
// and its nonce, as a careful service does.
func (r *rp) finish(a attempt, cb callback) (tokens, error) {
	ctx := context.Background()
	if e := cb.query.Get("error"); e != "" {
		return tokens{}, fmt.Errorf("authorization error %s: %s", e, cb.query.Get("error_description"))
	}
	if cb.query.Get("state") != a.state {
		return tokens{}, errors.New("state not echoed")
	}
	if cb.query.Get("iss") != r.p.url {
		return tokens{}, fmt.Errorf("iss %q, want %q", cb.query.Get("iss"), r.p.url)
	}
	tok, err := r.config.Exchange(ctx, cb.query.Get("code"), oauth2.VerifierOption(a.verifier))
	if err != nil {
		return tokens{}, err
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.provider.Verifier(&oidc.Config{ClientID: r.config.ClientID}).Verify(ctx, raw)
	if err != nil {
		return tokens{}, err
	}
	if idt.Nonce != a.nonce {
		return tokens{}, errors.New("nonce mismatch")
	}
	var all map[string]any
	if err := idt.Claims(&all); err != nil {
		return tokens{}, err
	}
	return tokens{oauth: tok, id: idt, raw: raw, all: all}, nil
}

func (r *rp) mustFinish(a attempt, cb callback) tokens {
	r.t.Helper()
	tok, err := r.finish(a, cb)
	if err != nil {
		r.t.Fatal(err)
	}
	return tok
}

// s256 is a PKCE challenge, for tests that craft requests by hand.
func s256(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}
