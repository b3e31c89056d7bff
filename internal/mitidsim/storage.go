package mitidsim

import (
	"context"
	"crypto/rsa"
	"crypto/subtle"
	"errors"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Lifetimes are short: the simulator stands in for a broker in tests and
// demos, where nothing should outlive a login by much.
const (
	authRequestLifetime = 30 * time.Minute
	codeLifetime        = time.Minute
	accessTokenLifetime = 5 * time.Minute
	idTokenLifetime     = 5 * time.Minute
)

// scopeSSN asks for the CPR number in the claims.
const scopeSSN = "ssn"

// storage is the OpenID Provider's state: clients, authorization requests,
// codes, access tokens and the signing key, all in memory. Identities live
// in the identityStore.
type storage struct {
	now        func() time.Time
	identities *identityStore
	key        signingKey

	mu           sync.Mutex
	clients      map[string]*client
	authRequests map[string]*authRequest
	codes        map[string]codeGrant // code → grant
	tokens       map[string]*accessToken
}

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)
	_ op.AuthRequest               = (*authRequest)(nil)
	_ op.LogAuthRequest            = (*authRequest)(nil)
	_ op.Client                    = (*client)(nil)
	_ op.SigningKey                = (*signingKey)(nil)
	_ op.Key                       = (*publicKey)(nil)
	_ interface{ IsNotFound() }    = notFoundError("")
)

// notFoundError is an unknown or expired request, code or token.
type notFoundError string

func (e notFoundError) Error() string { return string(e) }
func (notFoundError) IsNotFound()     {}

// accessToken is an issued (opaque) access token and the login behind it,
// for the userinfo endpoint.
type accessToken struct {
	ID       string
	ClientID string
	Profile  string
	Scopes   []string
	Expires  time.Time
	Login    login
}

func newStorage(now func() time.Time, identities *identityStore, key *rsa.PrivateKey) *storage {
	return &storage{
		now:          now,
		identities:   identities,
		key:          signingKey{id: uuid.NewString(), key: key},
		clients:      map[string]*client{},
		authRequests: map[string]*authRequest{},
		codes:        map[string]codeGrant{},
		tokens:       map[string]*accessToken{},
	}
}

func (s *storage) setClient(c *client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[c.id] = c
}

// sweep drops expired requests, codes and tokens. The caller holds s.mu.
func (s *storage) sweep(now time.Time) {
	for id, r := range s.authRequests {
		if now.Sub(r.Created) > authRequestLifetime {
			delete(s.authRequests, id)
		}
	}
	for code, g := range s.codes {
		if now.Sub(g.issued) > codeLifetime {
			delete(s.codes, code)
		}
	}
	for id, t := range s.tokens {
		if now.After(t.Expires) {
			delete(s.tokens, id)
		}
	}
}

// CreateAccessToken issues an opaque access token for the code flow.
func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	r, ok := req.(*authRequest)
	if !ok || !r.done {
		return "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweep(now)
	t := &accessToken{
		ID:       uuid.NewString(),
		ClientID: r.ClientID,
		Profile:  r.Profile,
		Scopes:   slices.Clone(r.Scopes),
		Expires:  now.Add(accessTokenLifetime),
		Login:    r.login,
	}
	s.tokens[t.ID] = t
	return t.ID, t.Expires, nil
}

// CreateAccessAndRefreshTokens is never reached: no client has the
// refresh_token grant.
func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, oidc.ErrUnsupportedGrantType().WithDescription("refresh tokens are not issued")
}

func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, op.ErrInvalidRefreshToken
}

// TerminateSession ends the person's tokens at the client (RP-initiated logout).
func (s *storage) TerminateSession(_ context.Context, userID, clientID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, t := range s.tokens {
		if t.ClientID == clientID && t.Login.Identity.Subject == userID {
			delete(s.tokens, id)
		}
	}
	return nil
}

func (s *storage) RevokeToken(_ context.Context, tokenID, _ string, clientID string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tokenID]
	if !ok {
		return nil
	}
	if t.ClientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
	}
	delete(s.tokens, tokenID)
	return nil
}

func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return &s.key, nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{&publicKey{s.key}}, nil
}

func (s *storage) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[clientID]
	if !ok {
		return nil, notFoundError("client not found")
	}
	return c, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret in constant
// time. Public clients have no secret to present.
func (s *storage) AuthorizeClientIDSecret(_ context.Context, clientID, clientSecret string) error {
	s.mu.Lock()
	c, ok := s.clients[clientID]
	s.mu.Unlock()
	if !ok || c.secret == "" || subtle.ConstantTimeCompare([]byte(c.secret), []byte(clientSecret)) != 1 {
		return errors.New("unknown client or wrong secret")
	}
	return nil
}

// SetUserinfoFromScopes is deprecated in the OP library; SetUserinfoFromRequest does the work.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest puts the profile's claims in the ID token.
func (s *storage) SetUserinfoFromRequest(_ context.Context, ui *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	r, ok := req.(*authRequest)
	if !ok || !r.done {
		return errors.New("ID token requested without a login")
	}
	setClaims(ui, r.Profile, r.login, scopes, false)
	return nil
}

// SetUserinfoFromToken answers the userinfo endpoint with the same claims as
// the ID token, and acr and amr.
func (s *storage) SetUserinfoFromToken(_ context.Context, ui *oidc.UserInfo, tokenID, subject, _ string) error {
	t, err := s.liveToken(tokenID)
	if err != nil {
		return err
	}
	if t.Login.Identity.Subject != subject {
		return errors.New("token subject mismatch")
	}
	setClaims(ui, t.Profile, t.Login, t.Scopes, true)
	return nil
}

func (s *storage) liveToken(tokenID string) (*accessToken, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tokenID]
	if !ok || s.now().After(t.Expires) {
		return nil, notFoundError("token unknown or expired")
	}
	return t, nil
}

func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	t, err := s.liveToken(tokenID)
	if err != nil {
		return err
	}
	if t.ClientID != clientID || t.Login.Identity.Subject != subject {
		return errors.New("token is not valid for this client")
	}
	ui := new(oidc.UserInfo)
	setClaims(ui, t.Profile, t.Login, t.Scopes, true)
	resp.SetUserInfo(ui)
	resp.Scope = t.Scopes
	resp.ClientID = t.ClientID
	resp.Expiration = oidc.FromTime(t.Expires)
	return nil
}

// GetPrivateClaimsFromScopes is for JWT access tokens, which are not issued.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("private_key_jwt is not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("the JWT profile grant is not supported")
}

func (s *storage) Health(context.Context) error { return nil }

// signingKey is the RS256 key generated at start; restarting rotates it.
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

type publicKey struct{ signingKey }

func (k *publicKey) ID() string                         { return k.id }
func (k *publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *publicKey) Use() string                        { return "sig" }
func (k *publicKey) Key() any                           { return &k.key.PublicKey }
