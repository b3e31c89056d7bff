package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/erhverv/erhverv/internal/seed"
)

// step is one part of a complete login, as the report counts it. The
// browser's hops are named by where they go, so a login that takes another
// route (a chooser, an error page) fails at the hop that left the route.
type step int

const (
	stepAuthorize    step = iota // the service's authorization request at the platform
	stepToBroker                 // the platform's login step, sending the browser to MitID
	stepSimAuthorize             // the simulator's authorization endpoint
	stepSimPage                  // the simulator's login page (GET and parse)
	stepSimForm                  // the simulator's login form (POST)
	stepSimCallback              // the simulator's callback, sending the browser back with a code
	stepCallback                 // the platform's /login/callback (code exchange at the simulator)
	stepAnswer                   // the platform's login step again, answering the service
	stepRedirect                 // the redirect to the service: code, state and iss checked
	stepToken                    // the token exchange at /oauth2/token
	stepIDToken                  // the ID token verified: signature, issuer, audience, expiry, nonce, sub
	stepOther                    // a hop to anywhere else
	stepNotStarted               // the generator held too many logins open to start this one
	numSteps
)

var stepNames = [numSteps]string{
	"authorize", "to MitID", "sim authorize", "sim login page", "sim login form", "sim callback",
	"callback", "answer", "redirect", "token", "ID token", "other hop", "not started",
}

func (s step) String() string { return stepNames[s] }

// stepError is a failed login: the step and what went wrong there.
type stepError struct {
	step step
	err  error
}

func (e *stepError) Error() string { return e.step.String() + ": " + e.err.Error() }

func failAt(s step, format string, args ...any) error {
	return &stepError{step: s, err: fmt.Errorf(format, args...)}
}

// maxHops bounds the redirects followed in one leg of a login.
const maxHops = 10

// loginConfig is the service the logins are to, and how they log in.
type loginConfig struct {
	issuer, clientID, clientSecret, redirectURI string
	scopes                                      []string
	authenticator                               string
	timeout                                     time.Duration
}

// loginDriver performs complete logins as a browser and a service would.
// The browsers share one transport (connections are reused across logins,
// as a browser reuses them across pages) but each login has its own cookie
// jar, so no login finds another's session.
type loginDriver struct {
	cfg       loginConfig
	issuer    *url.URL
	transport http.RoundTripper
	oauth     oauth2.Config
	verifier  *oidc.IDTokenVerifier
	// tokenClient carries the token exchange over the shared transport.
	tokenClient *http.Client
}

// newLoginDriver reads the platform's discovery document and its JWKS,
// once: every ID token of the run is verified against these keys.
func newLoginDriver(ctx context.Context, cfg loginConfig, transport http.RoundTripper) (*loginDriver, error) {
	iss, err := url.Parse(cfg.issuer)
	if err != nil || iss.Host == "" {
		return nil, usageError(fmt.Sprintf("logins: --issuer %q is not a URL", cfg.issuer))
	}
	hc := &http.Client{Transport: transport, Timeout: cfg.timeout}
	ctx = oidc.ClientContext(ctx, hc)
	op, err := oidc.NewProvider(ctx, cfg.issuer)
	if err != nil {
		return nil, fmt.Errorf("discovery at %s: %w", cfg.issuer, err)
	}
	var doc struct {
		JWKSURI string   `json:"jwks_uri"`
		Algs    []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := op.Claims(&doc); err != nil {
		return nil, fmt.Errorf("discovery at %s: %w", cfg.issuer, err)
	}
	keys, err := fetchKeys(ctx, hc, doc.JWKSURI)
	if err != nil {
		return nil, err
	}
	d := &loginDriver{cfg: cfg, issuer: iss, transport: transport, tokenClient: hc,
		oauth: oauth2.Config{ClientID: cfg.clientID, ClientSecret: cfg.clientSecret, RedirectURL: cfg.redirectURI,
			Scopes: cfg.scopes, Endpoint: oauth2.Endpoint{AuthURL: op.Endpoint().AuthURL, TokenURL: op.Endpoint().TokenURL,
				AuthStyle: oauth2.AuthStyleInHeader}},
		verifier: oidc.NewVerifier(cfg.issuer, &oidc.StaticKeySet{PublicKeys: keys},
			&oidc.Config{ClientID: cfg.clientID, SupportedSigningAlgs: doc.Algs}),
	}
	return d, nil
}

// fetchKeys reads a JWKS's public keys.
func fetchKeys(ctx context.Context, hc *http.Client, jwksURI string) ([]crypto.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, jwksURI, nil)
	if err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("JWKS at %s: %s", jwksURI, resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("JWKS at %s: %w", jwksURI, err)
	}
	var keys []crypto.PublicKey
	for _, k := range set.Keys {
		if k.Use == "" || k.Use == "sig" {
			keys = append(keys, k.Key)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("JWKS at %s: no signing keys", jwksURI)
	}
	return keys, nil
}

// loginResult is one login's outcome: the time of each step it reached
// and, when it failed, where and why.
type loginResult struct {
	start time.Time
	total time.Duration
	steps [numSteps]time.Duration
	err   error // a *stepError, or nil
}

// failedStep is where the login failed.
func (r *loginResult) failedStep() step {
	var se *stepError
	if errors.As(r.err, &se) {
		return se.step
	}
	return stepOther
}

// login logs subject in once, from a new browser: the service's request,
// every redirect, the simulator's login page and form, the answer to the
// service, the token exchange and the ID token's verification.
func (d *loginDriver) login(ctx context.Context, subject string) loginResult {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.timeout)
	defer cancel()
	res := loginResult{start: time.Now()}
	res.err = d.run(ctx, subject, &res)
	res.total = time.Since(res.start)
	return res
}

func (d *loginDriver) run(ctx context.Context, subject string, res *loginResult) error {
	jar, _ := cookiejar.New(nil)
	b := &browser{d: d, res: res, hc: &http.Client{Transport: d.transport, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}

	state, nonce, verifier := randomToken(), randomToken(), oauth2.GenerateVerifier()
	authURL := d.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))

	// To the simulator's login page.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return failAt(stepAuthorize, "%v", err)
	}
	page, err := b.follow(req)
	if err != nil {
		return err
	}
	if page.service != nil {
		return failAt(page.step, "sent back to the service without a MitID login")
	}
	t := time.Now()
	form, err := parseSimLoginPage(page.body, page.url, subject, d.cfg.authenticator)
	res.steps[stepSimPage] += time.Since(t)
	if err != nil {
		return &stepError{step: stepSimPage, err: err}
	}

	// The login form, and back through the platform to the service.
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, form.action, strings.NewReader(form.values.Encode()))
	if err != nil {
		return failAt(stepSimForm, "%v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", page.url.Scheme+"://"+page.url.Host)
	answer, err := b.follow(req)
	if err != nil {
		return err
	}
	if answer.service == nil {
		return failAt(answer.step, "status %d at %s, not a redirect to the service", answer.status, answer.url.Redacted())
	}

	t = time.Now()
	code, err := checkAnswer(answer.service, state, d.cfg.issuer)
	res.steps[stepRedirect] += time.Since(t)
	if err != nil {
		return &stepError{step: stepRedirect, err: err}
	}

	t = time.Now()
	tok, err := d.oauth.Exchange(context.WithValue(ctx, oauth2.HTTPClient, d.tokenClient), code, oauth2.VerifierOption(verifier))
	res.steps[stepToken] += time.Since(t)
	if err != nil {
		return &stepError{step: stepToken, err: shortTokenError(err)}
	}

	t = time.Now()
	err = d.checkIDToken(ctx, tok, nonce, subject)
	res.steps[stepIDToken] += time.Since(t)
	if err != nil {
		return &stepError{step: stepIDToken, err: err}
	}
	return nil
}

// checkIDToken verifies the ID token against the keys read at the start
// (signature, issuer, audience, expiry) and checks its nonce and, for a
// demo person, that it names the platform user the seed linked them to.
func (d *loginDriver) checkIDToken(ctx context.Context, tok *oauth2.Token, nonce, subject string) error {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return errors.New("no id_token in the token response")
	}
	idt, err := d.verifier.Verify(ctx, raw)
	if err != nil {
		return err
	}
	if idt.Nonce != nonce {
		return errors.New("nonce is not the one sent")
	}
	if want, ok := demoUserID(subject); ok && idt.Subject != want {
		return fmt.Errorf("sub %s, want %s (the user %s is linked to)", idt.Subject, want, subject)
	}
	return nil
}

// demoUserID is the platform user id `erhverv seed demo` links a demo
// person's simulator subject to (demo-lars is user:lars).
func demoUserID(subject string) (string, bool) {
	name, ok := strings.CutPrefix(subject, "demo-")
	if !ok || name == "" {
		return "", false
	}
	return seed.ID("user:" + name).String(), true
}

// shortTokenError keeps the token endpoint's error code and status, not
// its whole body.
func shortTokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		if re.ErrorCode != "" {
			return fmt.Errorf("status %d, %s", re.Response.StatusCode, re.ErrorCode)
		}
		return fmt.Errorf("status %d", re.Response.StatusCode)
	}
	return err
}

// checkAnswer checks the authorization response the service received:
// no error, its own state, the platform's iss (RFC 9207), and a code.
func checkAnswer(u *url.URL, state, issuer string) (code string, err error) {
	q := u.Query()
	if e := q.Get("error"); e != "" {
		return "", fmt.Errorf("error %s: %s", e, q.Get("error_description"))
	}
	if q.Get("state") != state {
		return "", errors.New("state is not the one sent")
	}
	if q.Get("iss") != issuer {
		return "", fmt.Errorf("iss %q, want %q", q.Get("iss"), issuer)
	}
	if code = q.Get("code"); code == "" {
		return "", errors.New("no code")
	}
	return code, nil
}

// browser is one login's browser: it follows redirects itself, to time
// and name each hop.
type browser struct {
	d   *loginDriver
	hc  *http.Client
	res *loginResult
	// toSim is set once the platform sent the browser to MitID; the
	// platform's login step seen after it is the answer to the service.
	toSim bool
}

// stop is where a leg of the login ended: a page, or the redirect to the
// service (never fetched).
type stop struct {
	step    step
	url     *url.URL
	status  int
	body    []byte
	service *url.URL // the redirect to the service's redirect URI, when that is where it ended
}

// maxPage bounds a page read (the simulator's login page lists every test
// identity).
const maxPage = 4 << 20

// follow sends req and follows redirects until a page answers or the
// browser is sent to the service. A page that is not the simulator's login
// page, or a status of 400 or more, fails the login at its hop.
func (b *browser) follow(req *http.Request) (stop, error) {
	for range maxHops {
		s := b.classify(req)
		t := time.Now()
		resp, err := b.hc.Do(req)
		if err != nil {
			b.res.steps[s] += time.Since(t)
			return stop{}, &stepError{step: s, err: trimURLError(err)}
		}
		var body []byte
		if resp.StatusCode < 300 || resp.StatusCode >= 400 {
			body, err = io.ReadAll(io.LimitReader(resp.Body, maxPage))
		} else {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxPage))
		}
		resp.Body.Close()
		b.res.steps[s] += time.Since(t)
		if err != nil {
			return stop{}, &stepError{step: s, err: err}
		}
		if s == stepToBroker {
			b.toSim = true
		}
		if resp.StatusCode < 300 || resp.StatusCode >= 400 {
			if resp.StatusCode != http.StatusOK || s != stepSimPage {
				return stop{}, failAt(s, "status %d at %s%s", resp.StatusCode, req.URL.Path, pageMessage(resp.Header.Get("Content-Type"), body))
			}
			return stop{step: s, url: req.URL, status: resp.StatusCode, body: body}, nil
		}
		next, err := location(resp)
		if err != nil {
			return stop{}, &stepError{step: s, err: err}
		}
		if b.isService(next) {
			return stop{step: s, url: req.URL, status: resp.StatusCode, service: next}, nil
		}
		req, err = http.NewRequestWithContext(req.Context(), http.MethodGet, next.String(), nil)
		if err != nil {
			return stop{}, &stepError{step: s, err: err}
		}
	}
	return stop{}, failAt(stepOther, "more than %d redirects", maxHops)
}

// classify names the hop req makes. The platform is the issuer's origin;
// any other origin the browser is sent to is the broker (the simulator).
func (b *browser) classify(req *http.Request) step {
	u := req.URL
	if u.Scheme == b.d.issuer.Scheme && u.Host == b.d.issuer.Host {
		switch strings.TrimPrefix(u.Path, strings.TrimSuffix(b.d.issuer.Path, "/")) {
		case "/oauth2/authorize":
			return stepAuthorize
		case "/sso/login":
			if b.toSim {
				return stepAnswer
			}
			return stepToBroker
		case "/login/callback":
			return stepCallback
		}
		return stepOther
	}
	switch {
	case req.Method == http.MethodPost && u.Path == "/login":
		return stepSimForm
	case u.Path == "/login":
		return stepSimPage
	case u.Path == "/authorize":
		return stepSimAuthorize
	case strings.HasPrefix(u.Path, "/authorize/callback"):
		return stepSimCallback
	}
	return stepOther
}

// pageMessage is what a refusal says, for the report: the simulator's
// error message on its page, or the start of a plain-text answer (the OP
// library answers a bad authorization request so).
func pageMessage(contentType string, page []byte) string {
	if strings.HasPrefix(contentType, "text/plain") {
		msg, _, _ := strings.Cut(strings.TrimSpace(string(page)), "\n")
		if r := []rune(msg); len(r) > 120 {
			msg = string(r[:120]) + "…"
		}
		if msg != "" {
			return ": " + msg
		}
		return ""
	}
	const marker = `data-testid="login-error">`
	_, rest, ok := strings.Cut(string(page), marker)
	if !ok {
		return ""
	}
	msg, _, _ := strings.Cut(rest, "<")
	return ": " + html.UnescapeString(strings.TrimSpace(msg))
}

// isService reports whether u is the service's redirect URI (with any
// query), where the browser stops.
func (b *browser) isService(u *url.URL) bool {
	ru := *u
	ru.RawQuery, ru.Fragment = "", ""
	return ru.String() == b.d.cfg.redirectURI
}

// location is a redirect's target, resolved against the request's URL.
func location(resp *http.Response) (*url.URL, error) {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, fmt.Errorf("status %d without a Location", resp.StatusCode)
	}
	u, err := resp.Request.URL.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("Location %q: %w", loc, err)
	}
	return u, nil
}

// trimURLError drops the URL (with codes and state) from a transport error.
func trimURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
