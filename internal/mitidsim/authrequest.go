package mitidsim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// login is the outcome of the login page: who logged in, how and at which level.
type login struct {
	Identity      Identity
	Authenticator authenticator
	LoA           Level
	AuthTime      time.Time
}

// authRequest is one authorization request from a client, waiting for its
// login and then for its code to be exchanged.
type authRequest struct {
	ID            string
	Created       time.Time
	ClientID      string
	Profile       string
	RedirectURI   string
	State         string
	Nonce         string
	Scopes        []string
	ResponseType  oidc.ResponseType
	ResponseMode  oidc.ResponseMode
	CodeChallenge *oidc.CodeChallenge
	// MinLevel is the lowest level the client accepts, from acr_values.
	MinLevel Level

	done  bool
	login login
}

func (a *authRequest) GetID() string { return a.ID }
func (a *authRequest) GetACR() string {
	if !a.done {
		return ""
	}
	return acrFor(a.Profile, a.login.LoA)
}
func (a *authRequest) GetAMR() []string {
	if !a.done {
		return nil
	}
	return []string{a.login.Authenticator.AMR}
}
func (a *authRequest) GetAudience() []string                 { return []string{a.ClientID} }
func (a *authRequest) GetAuthTime() time.Time                { return a.login.AuthTime }
func (a *authRequest) GetClientID() string                   { return a.ClientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.CodeChallenge }
func (a *authRequest) GetNonce() string                      { return a.Nonce }
func (a *authRequest) GetRedirectURI() string                { return a.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType    { return a.ResponseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode    { return a.ResponseMode }
func (a *authRequest) GetScopes() []string                   { return a.Scopes }
func (a *authRequest) GetState() string                      { return a.State }
func (a *authRequest) GetSubject() string                    { return a.login.Identity.Subject }
func (a *authRequest) Done() bool                            { return a.done }

// LogValue keeps state, nonce, PKCE and the person out of the logs.
func (a *authRequest) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("id", a.ID),
		slog.String("client_id", a.ClientID),
		slog.Any("scopes", a.Scopes),
		slog.String("min_level", a.MinLevel.String()),
	)
}

// codeGrant is an issued authorization code.
type codeGrant struct {
	requestID string
	issued    time.Time
}

// CreateAuthRequest stores a validated authorization request. It refuses
// prompt=none (there are no sessions), PKCE methods other than S256, public
// clients without PKCE and acr_values that name no known level.
func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if slices.Contains(req.Prompt, oidc.PromptNone) {
		return nil, oidc.ErrLoginRequired().WithDescription("The simulator keeps no sessions; every login shows the login page.")
	}
	if req.CodeChallenge != "" && req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256.")
	}
	minLevel, err := minLevelOf(req.ACRValues)
	if err != nil {
		return nil, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[req.ClientID]
	if !ok {
		return nil, oidc.ErrInvalidClient().WithDescription("unknown client")
	}
	if c.secret == "" && req.CodeChallenge == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("A public client must use PKCE (code_challenge with S256).")
	}
	now := s.now()
	s.sweep(now)
	r := &authRequest{
		ID:           uuid.NewString(),
		Created:      now,
		ClientID:     req.ClientID,
		Profile:      c.profile,
		RedirectURI:  req.RedirectURI,
		State:        req.State,
		Nonce:        req.Nonce,
		Scopes:       slices.Clone(req.Scopes),
		ResponseType: req.ResponseType,
		ResponseMode: req.ResponseMode,
		MinLevel:     minLevel,
	}
	if req.CodeChallenge != "" {
		r.CodeChallenge = &oidc.CodeChallenge{Challenge: req.CodeChallenge, Method: req.CodeChallengeMethod}
	}
	s.authRequests[r.ID] = r
	return r.snapshot(), nil
}

// minLevelOf reads acr_values: the lowest level named is the lowest the
// client accepts. Values that name no level are ignored, but a request
// naming none at all is refused rather than answered at Low.
func minLevelOf(acrValues []string) (Level, error) {
	if len(acrValues) == 0 {
		return defaultMinLevel, nil
	}
	var found Level
	for _, v := range acrValues {
		if l, ok := parseACRValue(v); ok && (found == 0 || l < found) {
			found = l
		}
	}
	if found == 0 {
		return 0, oidc.ErrInvalidRequest().WithDescription("acr_values names no level the simulator knows; use one of %s", strings.Join(supportedACRValues(), " "))
	}
	return found, nil
}

// snapshot copies r so that the OP library reads it without holding s.mu.
func (r *authRequest) snapshot() *authRequest {
	c := *r
	return &c
}

// lookupRequest returns the live request. The caller holds s.mu.
func (s *storage) lookupRequest(id string, now time.Time) (*authRequest, error) {
	r, ok := s.authRequests[id]
	if !ok || now.Sub(r.Created) > authRequestLifetime {
		return nil, notFoundError("auth request not found or expired")
	}
	return r, nil
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRequest(id, s.now())
	if err != nil {
		return nil, err
	}
	return r.snapshot(), nil
}

// authRequest returns a copy of the live request, for the login page.
func (s *storage) authRequest(id string) (*authRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRequest(id, s.now())
	if err != nil {
		return nil, err
	}
	return r.snapshot(), nil
}

func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	g, ok := s.codes[code]
	if !ok || now.Sub(g.issued) > codeLifetime {
		return nil, notFoundError("code unknown, used or expired")
	}
	r, err := s.lookupRequest(g.requestID, now)
	if err != nil {
		return nil, err
	}
	return r.snapshot(), nil
}

// SaveAuthCode stores the code of a finished login. A login gets one code.
func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	r, err := s.lookupRequest(id, now)
	if err != nil {
		return err
	}
	if !r.done {
		return errors.New("auth request has no login")
	}
	for _, g := range s.codes {
		if g.requestID == id {
			return oidc.ErrInvalidRequest().WithDescription("a code was already issued for this login")
		}
	}
	s.codes[code] = codeGrant{requestID: id, issued: now}
	return nil
}

// DeleteAuthRequest forgets a request once its code is exchanged, so that a
// replayed code finds nothing.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.authRequests, id)
	for code, g := range s.codes {
		if g.requestID == id {
			delete(s.codes, code)
		}
	}
	return nil
}

// loginError is a refused login, with a message for the tester.
type loginError struct{ msg string }

func (e *loginError) Error() string { return e.msg }

// completeLogin records that the identity logged in with the authenticator
// for the request, when that reaches the level the client asked for.
func (s *storage) completeLogin(id, subject, authValue string) (*authRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	r, err := s.lookupRequest(id, now)
	if err != nil {
		return nil, &loginError{"Login-forespørgslen findes ikke eller er udløbet. Start forfra hos tjenesten."}
	}
	if r.done {
		return nil, &loginError{"Der er allerede logget ind på denne forespørgsel. Start forfra hos tjenesten."}
	}
	ident, ok := s.identities.get(subject)
	if !ok {
		return nil, &loginError{"Vælg en testidentitet."}
	}
	auth, ok := authenticatorByValue(authValue)
	if !ok {
		return nil, &loginError{"Vælg en autentifikator: MitID app, kodeviser, chip eller adgangskode."}
	}
	if ident.IAL < r.MinLevel {
		return nil, &loginError{fmt.Sprintf("%s har identitetssikring %s og kan ikke logge ind, når tjenesten kræver %s.",
			ident.FullName(), ident.IAL.Danish(), r.MinLevel.Danish())}
	}
	if auth.AAL < r.MinLevel {
		return nil, &loginError{fmt.Sprintf("%s giver sikringsniveau %s, men tjenesten kræver %s. Vælg en anden autentifikator.",
			auth.Label, auth.AAL.Danish(), r.MinLevel.Danish())}
	}
	r.done = true
	r.login = login{Identity: ident, Authenticator: auth, LoA: min(ident.IAL, auth.AAL), AuthTime: now.UTC().Truncate(time.Second)}
	return r.snapshot(), nil
}

// cancelLogin forgets the request and returns it, so the client can be told
// access_denied.
func (s *storage) cancelLogin(id string) (*authRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookupRequest(id, s.now())
	if err != nil {
		return nil, err
	}
	delete(s.authRequests, id)
	return r, nil
}
