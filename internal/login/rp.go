package login

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Reason says why a login failed, in words a page can explain and an audit
// event can record. None of them carries a token or a CPR number.
type Reason string

// The ways a login can fail.
const (
	ReasonUnavailable Reason = "broker_unavailable" // discovery or the token endpoint failed
	ReasonState       Reason = "state"              // unknown, used or expired state (a replay, a forged callback, a stale tab)
	ReasonDenied      Reason = "denied"             // the person cancelled, or the broker refused
	ReasonExchange    Reason = "code"               // the broker refused the code (replayed, expired, wrong verifier)
	ReasonToken       Reason = "token"              // the ID token failed verification (signature, issuer, audience, expiry)
	ReasonNonce       Reason = "nonce"              // the ID token was not minted for this login
	ReasonClaims      Reason = "claims"             // the ID token lacks what the profile needs
	ReasonLevel       Reason = "level"              // the login is below the level asked for
)

// Failure is a failed login.
type Failure struct {
	Reason Reason
	Err    error // detail for the log; never shown to the person
}

func (f *Failure) Error() string {
	if f.Err == nil {
		return "login failed: " + string(f.Reason)
	}
	return fmt.Sprintf("login failed: %s: %v", f.Reason, f.Err)
}

func (f *Failure) Unwrap() error { return f.Err }

func fail(r Reason, err error) error { return &Failure{Reason: r, Err: err} }

// FailureReason returns err's reason, or "" when err is not a Failure.
func FailureReason(err error) Reason {
	var f *Failure
	if errors.As(err, &f) {
		return f.Reason
	}
	return ""
}

// BrokerConfig configures the relying party.
type BrokerConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string // empty for a public client (PKCE only)
	RedirectURL  string // the platform's /login/callback
	Profile      Profile
	// HTTPClient talks to the broker; nil means one with a 10 s timeout.
	HTTPClient *http.Client
}

// RelyingParty logs people in at a broker with the authorization code
// flow, PKCE, state and nonce, and verifies the ID token fully.
type RelyingParty struct {
	cfg    BrokerConfig
	client *http.Client

	mu       sync.Mutex
	provider *oidc.Provider
	endpoint struct {
		EndSession string `json:"end_session_endpoint"`
	}
}

// NewRelyingParty returns a relying party. It does not contact the broker:
// discovery happens at the first login and is retried until it succeeds, so
// a broker that is briefly down does not keep the platform from starting.
func NewRelyingParty(cfg BrokerConfig) *RelyingParty {
	c := cfg.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	return &RelyingParty{cfg: cfg, client: c}
}

// Issuer is the broker's issuer, the first half of a person's key.
func (rp *RelyingParty) Issuer() string { return rp.cfg.Issuer }

func (rp *RelyingParty) discover(ctx context.Context) (*oidc.Provider, error) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.provider != nil {
		return rp.provider, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, rp.client), rp.cfg.Issuer)
	if err != nil {
		return nil, fail(ReasonUnavailable, fmt.Errorf("discovery at %s: %w", rp.cfg.Issuer, err))
	}
	if err := p.Claims(&rp.endpoint); err != nil {
		return nil, fail(ReasonUnavailable, fmt.Errorf("discovery document: %w", err))
	}
	rp.provider = p
	return p, nil
}

func (rp *RelyingParty) oauth(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     rp.cfg.ClientID,
		ClientSecret: rp.cfg.ClientSecret,
		Endpoint:     p.Endpoint(),
		RedirectURL:  rp.cfg.RedirectURL,
		Scopes:       append([]string{oidc.ScopeOpenID}, rp.cfg.Profile.Scopes()...),
	}
}

// AuthURL is the broker address that starts login attempt a.
func (rp *RelyingParty) AuthURL(ctx context.Context, a Attempt) (string, error) {
	p, err := rp.discover(ctx)
	if err != nil {
		return "", err
	}
	opts := append([]oauth2.AuthCodeOption{
		oidc.Nonce(a.Nonce),
		oauth2.S256ChallengeOption(a.Verifier),
	}, rp.cfg.Profile.AuthParams(a.Level)...)
	if a.Prompt != "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", a.Prompt))
	}
	return rp.oauth(p).AuthCodeURL(a.State, opts...), nil
}

// Finish completes attempt a with the callback's query (state already
// matched to a by the caller): it exchanges the code, verifies the ID token
// and maps it to a person at or above the level a asked for.
func (rp *RelyingParty) Finish(ctx context.Context, a Attempt, q url.Values) (Person, error) {
	if e := q.Get("error"); e != "" {
		return Person{}, fail(ReasonDenied, fmt.Errorf("broker error %q", e))
	}
	// RFC 9207: a broker that names itself in the response must be ours.
	if iss := q.Get("iss"); iss != "" && iss != rp.cfg.Issuer {
		return Person{}, fail(ReasonToken, fmt.Errorf("authorization response from issuer %q", iss))
	}
	code := q.Get("code")
	if code == "" {
		return Person{}, fail(ReasonExchange, errors.New("no code in the callback"))
	}
	p, err := rp.discover(ctx)
	if err != nil {
		return Person{}, err
	}
	tok, err := rp.oauth(p).Exchange(oidc.ClientContext(ctx, rp.client), code, oauth2.VerifierOption(a.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return Person{}, fail(ReasonExchange, fmt.Errorf("token endpoint: %s", re.ErrorCode))
		}
		return Person{}, fail(ReasonUnavailable, fmt.Errorf("token endpoint: %w", err))
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return Person{}, fail(ReasonToken, errors.New("token response without id_token"))
	}
	return rp.verify(ctx, p, a, raw)
}

func (rp *RelyingParty) verify(ctx context.Context, p *oidc.Provider, a Attempt, raw string) (Person, error) {
	// go-oidc checks the signature against the broker's JWKS, the issuer,
	// that the audience holds our client id, and expiry.
	idt, err := p.VerifierContext(oidc.ClientContext(ctx, rp.client), &oidc.Config{ClientID: rp.cfg.ClientID}).Verify(ctx, raw)
	if err != nil {
		return Person{}, fail(ReasonToken, err)
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Person{}, fail(ReasonToken, err)
	}
	// With more than one audience, the token must be issued to us (azp).
	if len(idt.Audience) > 1 {
		if azp, _ := claims["azp"].(string); azp != rp.cfg.ClientID {
			return Person{}, fail(ReasonToken, fmt.Errorf("several audiences and azp %q", azp))
		}
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(a.Nonce)) != 1 {
		return Person{}, fail(ReasonNonce, errors.New("nonce does not match the login attempt"))
	}
	person, err := rp.cfg.Profile.Person(claims)
	if err != nil {
		return Person{}, fail(ReasonClaims, err)
	}
	if person.Level() < a.Level {
		return person, fail(ReasonLevel, fmt.Errorf("login at %s, %s required", person.Level(), a.Level))
	}
	return person, nil
}

// LogoutURL is the broker's RP-initiated logout address that returns the
// browser to postLogout, or "" when the broker has none.
func (rp *RelyingParty) LogoutURL(ctx context.Context, postLogout string) string {
	if _, err := rp.discover(ctx); err != nil || rp.endpoint.EndSession == "" {
		return ""
	}
	u, err := url.Parse(rp.endpoint.EndSession)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("client_id", rp.cfg.ClientID)
	q.Set("post_logout_redirect_uri", postLogout)
	u.RawQuery = q.Encode()
	return u.String()
}

// SafeReturnTo keeps only local paths: "/portal?x=1" passes, while
// "https://evil.example", "//evil.example", "/\evil.example" and anything
// unparsable become fallback. It is the guard against open redirects.
func SafeReturnTo(raw, fallback string) string {
	if raw == "" || len(raw) > 2048 || raw[0] != '/' {
		return fallback
	}
	if len(raw) > 1 && (raw[1] == '/' || raw[1] == '\\') {
		return fallback
	}
	if slices.ContainsFunc([]byte(raw), func(b byte) bool { return b < 0x20 || b == 0x7f || b == '\\' }) {
		return fallback
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return fallback
	}
	return u.RequestURI()
}
