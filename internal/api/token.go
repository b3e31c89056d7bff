package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/clientauth"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// TokenLifetime is how long an access token is valid: short, so a revoked
// client's tokens die soon even where a replica still trusts them.
const TokenLifetime = 5 * time.Minute

// Paths of the authorization server.
const (
	TokenPath    = "/oauth2/token"
	JWKSPath     = "/oauth2/jwks.json"
	MetadataPath = "/.well-known/oauth-authorization-server"
)

// assertionType is RFC 7523's client assertion type.
const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// accessClaims are the claims of an access token (RFC 9068).
type accessClaims struct {
	jwt.Claims
	ClientID string `json:"client_id"`
	OrgID    string `json:"org_id"`
	Scope    string `json:"scope"`
}

// SetCodeGrant hands the token endpoint's authorization_code requests to
// the OpenID Provider (provider.Provider.TokenHandler): one issuer has one
// token endpoint. Call it before serving.
func (a *API) SetCodeGrant(h http.Handler) { a.codeGrant = h }

// issuer and audience of the API's tokens.
func (a *API) issuer() string   { return strings.TrimSuffix(a.opts.BaseURL.String(), "/") }
func (a *API) audience() string { return a.issuer() + "/api" }

// token is the token endpoint: OAuth 2.0 client credentials (RFC 6749
// §4.4), the client authenticated with its secret (HTTP Basic or form) or a
// signed assertion (private_key_jwt, RFC 7523). Errors follow RFC 6749 §5.2.
func (a *API) token(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	if err := c.Request.ParseForm(); err != nil || !strings.HasPrefix(c.ContentType(), "application/x-www-form-urlencoded") {
		a.tokenError(c, http.StatusBadRequest, "invalid_request", "Send the request as application/x-www-form-urlencoded.")
		return
	}
	form := c.Request.PostForm
	if gt := form.Get("grant_type"); gt != "client_credentials" {
		if gt == "authorization_code" && a.codeGrant != nil {
			// A service finishing an employee's login (the OpenID Provider).
			a.codeGrant.ServeHTTP(c.Writer, c.Request)
			return
		}
		a.tokenError(c, http.StatusBadRequest, "unsupported_grant_type", "Only grant_type=client_credentials and authorization_code are supported.")
		return
	}
	client, err := a.authenticateClient(c, form)
	if err != nil {
		a.tokenError(c, http.StatusUnauthorized, "invalid_client", err.Error())
		return
	}
	if ok, wait := a.limits.allow(client.ID, client.RateLimit, a.now()); !ok {
		c.Header("Retry-After", retryAfter(wait))
		a.tokenError(c, http.StatusTooManyRequests, "slow_down", "Too many requests for this client; retry after the time in Retry-After.")
		return
	}
	scopes := client.Scopes
	if s := strings.TrimSpace(form.Get("scope")); s != "" {
		scopes = strings.Fields(s)
		for _, sc := range scopes {
			if !client.HasScope(sc) {
				a.tokenError(c, http.StatusBadRequest, "invalid_scope", "The client was not given the scope "+sc+".")
				return
			}
		}
	}
	signer, kid, err := a.keys.signer()
	if err != nil {
		a.log.Error("issue token", "error", err.Error())
		a.tokenError(c, http.StatusInternalServerError, "server_error", "No token can be issued right now.")
		return
	}
	now := a.now()
	claims := accessClaims{
		Claims: jwt.Claims{
			Issuer: a.issuer(), Subject: client.ID.String(), Audience: jwt.Audience{a.audience()},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(TokenLifetime)),
			ID: uuid.NewString(),
		},
		ClientID: client.ID.String(), OrgID: client.OrgID.String(), Scope: strings.Join(scopes, " "),
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		a.log.Error("sign token", "kid", kid, "error", err.Error())
		a.tokenError(c, http.StatusInternalServerError, "server_error", "No token can be issued right now.")
		return
	}
	a.touch(client.ID, now)
	c.JSON(http.StatusOK, gin.H{"access_token": raw, "token_type": "Bearer", "expires_in": int(TokenLifetime.Seconds()), "scope": claims.Scope})
}

func (a *API) tokenError(c *gin.Context, status int, code, description string) {
	if status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Basic realm="erhverv"`)
	}
	c.AbortWithStatusJSON(status, gin.H{"error": code, "error_description": description})
}

// errBadClient is every failed client authentication: the answer never
// tells which part was wrong.
var errBadClient = errors.New("client authentication failed: check the client id and secret (or assertion), and that the client is not revoked")

// authenticateClient finds the client and checks its credentials by the
// one method it was registered with.
func (a *API) authenticateClient(c *gin.Context, form url.Values) (*domain.APIClient, error) {
	basicID, basicSecret, hasBasic := c.Request.BasicAuth()
	formSecret, assertion := form.Get("client_secret"), form.Get("client_assertion")
	methods := 0
	for _, present := range []bool{hasBasic, formSecret != "", assertion != ""} {
		if present {
			methods++
		}
	}
	if methods != 1 {
		return nil, errors.New("authenticate the client with exactly one method: HTTP Basic, client_secret, or client_assertion")
	}
	switch {
	case hasBasic:
		// RFC 6749 §2.3.1: the id and secret are form-encoded inside Basic.
		id, err1 := url.QueryUnescape(basicID)
		secret, err2 := url.QueryUnescape(basicSecret)
		if err1 != nil || err2 != nil {
			return nil, errBadClient
		}
		return a.checkSecret(c.Request.Context(), id, secret)
	case formSecret != "":
		return a.checkSecret(c.Request.Context(), form.Get("client_id"), formSecret)
	default:
		if form.Get("client_assertion_type") != assertionType {
			return nil, errors.New("client_assertion_type must be " + assertionType)
		}
		return a.checkAssertion(c.Request.Context(), form.Get("client_id"), assertion)
	}
}

func (a *API) checkSecret(ctx context.Context, rawID, secret string) (*domain.APIClient, error) {
	id, err := uuid.Parse(rawID)
	if err != nil {
		return nil, errBadClient
	}
	client, err := a.clients.Get(ctx, id)
	if err != nil || !client.Active() || client.AuthMethod != domain.APIAuthSecret ||
		subtle.ConstantTimeCompare(postgres.HashSecret(secret), client.SecretHash) != 1 {
		return nil, errBadClient
	}
	return client, nil
}

// checkAssertion verifies a private_key_jwt assertion: signed with the
// client's registered key, issued by and about the client, for this token
// endpoint, unexpired, and never seen before.
func (a *API) checkAssertion(ctx context.Context, rawID, assertion string) (*domain.APIClient, error) {
	var client *domain.APIClient
	err := clientauth.Authenticate(rawID, assertion, []string{a.issuer() + TokenPath, a.issuer()}, a.now(),
		func(id string) ([]byte, error) {
			uid, err := uuid.Parse(id)
			if err != nil {
				return nil, err
			}
			c, err := a.clients.Get(ctx, uid)
			if err != nil || !c.Active() || c.AuthMethod != domain.APIAuthPrivateKeyJWT {
				return nil, errBadClient
			}
			client = c
			return c.PublicJWK, nil
		},
		func(jti string, expires time.Time) error {
			return a.opts.Clients.UseAssertionJTI(ctx, client.ID, jti, expires)
		})
	if err != nil {
		return nil, errBadClient
	}
	return client, nil
}

// jwks publishes the token signing keys.
func (a *API) jwks(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/jwk-set+json", a.keys.jwksJSON())
}

// metadata is the authorization server's metadata (RFC 8414).
func (a *API) metadata(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=3600")
	doc := gin.H{
		"issuer":                                a.issuer(),
		"token_endpoint":                        a.issuer() + TokenPath,
		"jwks_uri":                              a.issuer() + JWKSPath,
		"grant_types_supported":                 []string{"client_credentials"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"ES256", "ES384", "RS256", "PS256"},
		"scopes_supported":      domain.APIScopes,
		"service_documentation": a.issuer() + "/api/reference",
	}
	if a.codeGrant != nil {
		// The same issuer is an OpenID Provider: its discovery document
		// (/.well-known/openid-configuration) describes the login side.
		doc["grant_types_supported"] = []string{"client_credentials", "authorization_code"}
		doc["authorization_endpoint"] = a.issuer() + "/oauth2/authorize"
		doc["response_types_supported"] = []string{"code"}
		doc["code_challenge_methods_supported"] = []string{"S256"}
		doc["authorization_response_iss_parameter_supported"] = true
	}
	c.JSON(http.StatusOK, doc)
}
