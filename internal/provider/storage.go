package provider

import (
	"context"
	"crypto/ecdsa"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/erhverv/erhverv/internal/bpp"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/rights"
	"github.com/erhverv/erhverv/internal/ttlcache"
)

// storage is the OP library's view of the platform: clients from the
// registry, logins in flight and issued tokens in PostgreSQL (any replica
// continues what another started), keys shared with the integrator API.
type storage struct {
	p       *Provider
	clients *ttlcache.Cache[uuid.UUID, *domain.OIDCClient]
}

// clientCacheTTL bounds how long a replica uses a client as it was: a
// revoked client is refused everywhere within it (its tokens at once).
const clientCacheTTL = 5 * time.Second

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)
	_ interface{ IsNotFound() }    = notFound("")
)

// notFound is an unknown client, request, code or token.
type notFound string

func (e notFound) Error() string { return string(e) }
func (notFound) IsNotFound()     {}

func (s *storage) now() time.Time { return s.p.now() }

// client returns an active registered client, cached briefly.
func (s *storage) client(ctx context.Context, rawID string) (*domain.OIDCClient, error) {
	id, err := uuid.Parse(rawID)
	if err != nil {
		return nil, notFound("unknown client")
	}
	c, err := s.clients.Get(ctx, id)
	if err != nil {
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return nil, notFound("unknown client")
		}
		return nil, err
	}
	if !c.Active() {
		return nil, notFound("client revoked")
	}
	return c, nil
}

func (s *storage) GetClientByClientID(ctx context.Context, clientID string) (op.Client, error) {
	c, err := s.client(ctx, clientID)
	if err != nil {
		return nil, err
	}
	return client{c}, nil
}

// AuthorizeClientIDSecret checks a confidential client's secret against its
// hash in constant time.
func (s *storage) AuthorizeClientIDSecret(ctx context.Context, clientID, secret string) error {
	c, err := s.client(ctx, clientID)
	if err != nil || c.AuthMethod != domain.OIDCAuthSecretBasic ||
		subtle.ConstantTimeCompare(postgres.HashSecret(secret), c.SecretHash) != 1 {
		return errors.New("unknown client or wrong secret")
	}
	return nil
}

// GetKeyByIDAndClientID is the registered public key of a private_key_jwt
// client. The assertion's jti is checked for reuse before the library sees
// the request (see Provider.token).
func (s *storage) GetKeyByIDAndClientID(ctx context.Context, keyID, clientID string) (*jose.JSONWebKey, error) {
	c, err := s.client(ctx, clientID)
	if err != nil || c.AuthMethod != domain.OIDCAuthPrivateKeyJWT {
		return nil, notFound("unknown client")
	}
	k, err := postgres.ParseClientJWK(string(c.PublicJWK))
	if err != nil {
		return nil, err
	}
	if k.KeyID != "" && keyID != "" && k.KeyID != keyID {
		return nil, notFound("unknown key")
	}
	return k, nil
}

// CreateAuthRequest keeps a validated authorization request. PKCE with S256
// is required of every client, and the request asks for at least the
// client's minimum level.
func (s *storage) CreateAuthRequest(ctx context.Context, r *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	c, err := s.client(ctx, r.ClientID)
	if err != nil {
		return nil, err
	}
	if r.CodeChallenge == "" || r.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE is required: send code_challenge with code_challenge_method=S256")
	}
	if r.ResponseMode != "" && r.ResponseMode != oidc.ResponseModeQuery {
		return nil, oidc.ErrInvalidRequest().WithDescription("only response_mode=query is supported")
	}
	req := storedRequest{RedirectURI: r.RedirectURI, State: r.State, Nonce: r.Nonce, Scopes: r.Scopes,
		ResponseType: r.ResponseType, ResponseMode: r.ResponseMode, CodeChallenge: r.CodeChallenge,
		CodeChallengeMethod: r.CodeChallengeMethod, Prompt: r.Prompt, MaxAge: r.MaxAge,
		ACRValues: r.ACRValues, UILocales: localeStrings(r.UILocales)}
	raw, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	id := uuid.New()
	level := requiredLevel(c.MinLevel, r.ACRValues)
	now := s.now()
	if err := s.p.opts.Grants.Create(ctx, id, c.ID, raw, level, now.Add(requestLifetime)); err != nil {
		return nil, err
	}
	g := &postgres.OIDCGrant{ID: id, ClientID: c.ID, Request: raw, RequiredLevel: level, CreatedAt: now}
	return &authRequest{grant: g, req: req}, nil
}

func localeStrings(l oidc.Locales) []string {
	out := make([]string, 0, len(l))
	for _, t := range l {
		out = append(out, t.String())
	}
	return out
}

func (s *storage) grant(ctx context.Context, rawID string) (*authRequest, error) {
	id, err := uuid.Parse(rawID)
	if err != nil {
		return nil, notFound("unknown request")
	}
	g, err := s.p.opts.Grants.Find(ctx, id)
	if err != nil {
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return nil, notFound("unknown or expired request")
		}
		return nil, err
	}
	return newAuthRequest(g)
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	return s.grant(ctx, id)
}

// AuthRequestByCode looks a code up without using it. The token endpoint
// does not come here: Provider.TokenHandler checks the client and the PKCE
// verifier first and then claims the code once.
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	g, err := s.p.opts.Grants.FindByCode(ctx, code)
	if err != nil {
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return nil, notFound("unknown or expired code")
		}
		return nil, err
	}
	return newAuthRequest(g)
}

// SaveAuthCode is the library's callback's way to store a code; the login
// step issues codes itself (Provider.complete), with the login in one write.
func (s *storage) SaveAuthCode(context.Context, string, string) error {
	return errors.New("codes are issued by the login step")
}

// DeleteAuthRequest is called once the code's tokens are issued; the grant
// stays until they expire, so userinfo and revocation can find it, and is
// swept after.
func (s *storage) DeleteAuthRequest(context.Context, string) error { return nil }

// CreateAccessToken names the grant as the access token's id (jti).
func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	a, ok := req.(*authRequest)
	if !ok || !a.Done() || a.grant.TokensExpireAt == nil {
		return "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	return a.GetID(), *a.grant.TokensExpireAt, nil
}

// CreateAccessAndRefreshTokens is never reached: no client has the
// refresh_token grant. Sessions are short; a service logs the person in
// again, which is silent while the platform's session lasts.
func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, oidc.ErrUnsupportedGrantType().WithDescription("refresh tokens are not issued")
}

func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, op.ErrInvalidRefreshToken
}

func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

// TerminateSession is RP-initiated logout: the tokens the client received
// for the person are revoked, and the platform's session in this browser
// ends (the request carries its cookie: the route loads the session).
func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	uid, err1 := uuid.Parse(userID)
	cid, err2 := uuid.Parse(clientID)
	if err1 == nil && err2 == nil {
		if err := s.p.opts.Grants.RevokeUserAtClient(ctx, uid, cid); err != nil {
			return err
		}
	}
	// Without a verified id_token_hint there is no user: any site could
	// link here, so the platform's own session is left alone.
	if userID == "" {
		return nil
	}
	if _, ok := s.p.opts.Sessions.Account(ctx); ok {
		return s.p.opts.Sessions.SignOut(ctx)
	}
	return nil
}

// RevokeToken revokes an access token (its grant) at its client's request.
func (s *storage) RevokeToken(ctx context.Context, tokenID, _, clientID string) *oidc.Error {
	gid, err1 := uuid.Parse(tokenID)
	cid, err2 := uuid.Parse(clientID)
	if err1 != nil || err2 != nil {
		return nil // an unknown token is revoked already (RFC 7009)
	}
	if err := s.p.opts.Grants.Revoke(ctx, gid, cid); err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	kid, key, err := s.p.opts.Keys.SigningKey()
	if err != nil {
		return nil, err
	}
	return signingKey{kid: kid, key: key}, nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.ES256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	keys := s.p.opts.Keys.VerificationKeys()
	out := make([]op.Key, 0, len(keys))
	for kid, k := range keys {
		out = append(out, publicKey{kid: kid, key: k})
	}
	slices.SortFunc(out, func(a, b op.Key) int { return compareStrings(a.ID(), b.ID()) })
	return out, nil
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// SetUserinfoFromScopes is deprecated in the OP library; SetUserinfoFromRequest does the work.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest puts the login's claims in the ID token, with the
// privileges as they are when the token is issued.
func (s *storage) SetUserinfoFromRequest(ctx context.Context, ui *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	a, ok := req.(*authRequest)
	if !ok || !a.Done() {
		return errors.New("ID token requested without a login")
	}
	return s.setClaims(ctx, ui, a, scopes)
}

// SetUserinfoFromToken answers the userinfo endpoint for a live token: the
// same claims as the ID token, read again (a privilege removed since is
// gone; a deactivated user's tokens are revoked).
func (s *storage) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, tokenID, subject, _ string) error {
	a, err := s.liveToken(ctx, tokenID)
	if err != nil {
		return err
	}
	if a.GetSubject() != subject {
		return errors.New("token subject mismatch")
	}
	return s.setClaims(ctx, ui, a, a.req.Scopes)
}

// SetIntrospectionFromToken answers introspection for the client the token
// was issued to; for any other it is inactive.
func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	a, err := s.liveToken(ctx, tokenID)
	if err != nil {
		return err
	}
	if a.GetClientID() != clientID || a.GetSubject() != subject {
		return errors.New("token is not valid for this client")
	}
	ui := new(oidc.UserInfo)
	if err := s.setClaims(ctx, ui, a, a.req.Scopes); err != nil {
		return err
	}
	resp.SetUserInfo(ui)
	resp.Scope = a.req.Scopes
	resp.ClientID = a.GetClientID()
	resp.Expiration = oidc.FromTime(*a.grant.TokensExpireAt)
	return nil
}

func (s *storage) liveToken(ctx context.Context, tokenID string) (*authRequest, error) {
	id, err := uuid.Parse(tokenID)
	if err != nil {
		return nil, notFound("unknown token")
	}
	g, err := s.p.opts.Grants.LiveToken(ctx, id)
	if err != nil {
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return nil, notFound("token unknown, expired or revoked")
		}
		return nil, err
	}
	return newAuthRequest(g)
}

// setClaims loads what a login tells the service and writes it in the
// client's claim style.
func (s *storage) setClaims(ctx context.Context, ui *oidc.UserInfo, a *authRequest, scopes []string) error {
	c, err := s.client(ctx, a.GetClientID())
	if err != nil {
		return err
	}
	identity, err := s.p.opts.Grants.LoginIdentity(ctx, a.userID())
	if err != nil {
		return err
	}
	if !identity.Usable() || !identity.LoginStillValid(a.GetAuthTime()) {
		return oidc.ErrAccessDenied().WithDescription("the user may no longer log in")
	}
	effective, err := s.p.opts.Rights.Effective(ctx, identity.UserID, a.grant.Level, s.now())
	if err != nil {
		return fmt.Errorf("privileges of %s: %w", identity.UserID, err)
	}
	doc := rights.Profile(effective, c.ITSystemID)
	encoded, err := bpp.EncodeClaim(doc)
	if err != nil {
		return fmt.Errorf("encode privileges: %w", err)
	}
	lc := loginClaims{style: c.ClaimStyle, identity: identity, level: a.grant.Level, scopes: scopes,
		bppClaim: encoded, privileges: privilegesJSON(doc)}
	lc.set(ui)
	return nil
}

// GetPrivateClaimsFromScopes adds nothing to the JWT access token: a
// service reads the person from the ID token or userinfo.
func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("the JWT profile grant is not supported")
}

func (s *storage) Health(context.Context) error { return nil }

// signingKey is the platform's current ES256 key.
type signingKey struct {
	kid string
	key *ecdsa.PrivateKey
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return k.kid }

type publicKey struct {
	kid string
	key *ecdsa.PublicKey
}

func (k publicKey) ID() string                         { return k.kid }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.ES256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return k.key }
