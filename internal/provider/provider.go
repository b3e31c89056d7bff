// Package provider is the platform as OpenID Provider for service
// providers: an employee logs in to a professional service with their
// business identity, and the service receives who they are, for which
// organisation, at which level, and their privileges in that service's IT
// system.
//
// The protocol is zitadel/oidc's op package (a certified OpenID Provider
// library). This package supplies its storage (clients from the portal's
// registry, logins and tokens in PostgreSQL, the platform's signing keys)
// and the login step in between: the platform's own MitID session through
// the broker (with step-up when the service asks for more), the choice of
// organisation, and the single-use code back to the service.
package provider

import (
	"context"
	"crypto/ecdsa"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/login"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/rights"
	"github.com/erhverv/erhverv/internal/ttlcache"
)

// Paths of the provider's endpoints. The token endpoint and the JWKS are
// the integrator API's (one issuer, one token endpoint, one key set): the
// API hands authorization codes to Provider.TokenHandler.
const (
	DiscoveryPath  = "/.well-known/openid-configuration"
	AuthorizePath  = "/oauth2/authorize"
	TokenPath      = "/oauth2/token"
	JWKSPath       = "/oauth2/jwks.json"
	UserinfoPath   = "/oauth2/userinfo"
	LogoutPath     = "/oauth2/logout"
	IntrospectPath = "/oauth2/introspect"
	RevokePath     = "/oauth2/revoke"

	LoginPath     = "/sso/login"
	ChoosePath    = "/sso/choose"
	CancelPath    = "/sso/cancel"
	LoggedOutPath = "/sso/logged-out"
)

// Lifetimes are short: a service that needs the person again sends them
// back, which is silent while the platform's session lasts.
const (
	// TokenLifetime is the ID and access tokens' lifetime. It equals the
	// API's, so a rotated signing key retires after both kinds expire.
	TokenLifetime   = 5 * time.Minute
	codeLifetime    = time.Minute
	requestLifetime = 15 * time.Minute
)

// KeySource is the platform's signing keys (the integrator API's key ring).
type KeySource interface {
	SigningKey() (kid string, key *ecdsa.PrivateKey, err error)
	VerificationKeys() map[string]*ecdsa.PublicKey
}

// Broker starts a MitID login at the broker (login.RelyingParty).
type Broker interface {
	AuthURL(ctx context.Context, a login.Attempt) (string, error)
}

// Auditor appends to the audit log.
type Auditor interface {
	AppendAudit(ctx context.Context, e *domain.AuditEvent) error
}

// Options configure the Provider.
type Options struct {
	BaseURL  *url.URL // the issuer
	Logger   *slog.Logger
	Clients  *postgres.OIDCClients
	Grants   *postgres.OIDCGrants
	Rights   *rights.Service
	Sessions *login.Sessions
	Broker   Broker
	Keys     KeySource
	Audit    Auditor
	// DataKey seeds the key that seals codes (shared by every replica);
	// the platform's data key, from which a separate key is derived.
	DataKey []byte
	Now     func() time.Time
}

// Provider is the OpenID Provider.
type Provider struct {
	opts      Options
	log       *slog.Logger
	lastLogin *ttlcache.Every[uuid.UUID] // a client's last-login write, once a minute
	now       func() time.Time
	issuer    string
	op        *op.Provider
	storage   *storage
	// discoveryJSON is /.well-known/openid-configuration, built at start.
	discoveryJSON []byte
}

// New builds the provider. It needs no database at start.
func New(opts Options) (*Provider, error) {
	if opts.BaseURL == nil || opts.Clients == nil || opts.Grants == nil || opts.Rights == nil ||
		opts.Sessions == nil || opts.Keys == nil || len(opts.DataKey) == 0 {
		return nil, fmt.Errorf("provider: BaseURL, Clients, Grants, Rights, Sessions, Keys and DataKey are required")
	}
	p := &Provider{opts: opts, log: opts.Logger, now: opts.Now,
		issuer: strings.TrimSuffix(opts.BaseURL.String(), "/"), lastLogin: ttlcache.NewEvery[uuid.UUID](time.Minute)}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now = time.Now
	}
	p.storage = &storage{p: p, clients: ttlcache.New(clientCacheTTL, p.now, opts.Clients.FindForLogin)}
	derived, err := hkdf.Key(sha256.New, opts.DataKey, nil, "erhverv oidc provider crypto key", 32)
	if err != nil {
		return nil, fmt.Errorf("provider: derive crypto key: %w", err)
	}
	var cryptoKey [32]byte
	copy(cryptoKey[:], derived)
	endpoint := op.NewEndpoint
	options := []op.Option{
		op.WithCustomEndpoints(endpoint(AuthorizePath), endpoint(TokenPath), endpoint(UserinfoPath),
			endpoint(RevokePath), endpoint(LogoutPath), endpoint(JWKSPath)),
		op.WithCustomIntrospectionEndpoint(endpoint(IntrospectPath)),
	}
	if opts.BaseURL.Scheme == "http" {
		options = append(options, op.WithAllowInsecure()) // development only: config refuses http elsewhere
	}
	p.op, err = op.NewProvider(&op.Config{
		CryptoKey:                cryptoKey,
		DefaultLogoutRedirectURI: LoggedOutPath,
		CodeMethodS256:           true,
		AuthMethodPost:           false,
		AuthMethodPrivateKeyJWT:  true,
		GrantTypeRefreshToken:    false,
		RequestObjectSupported:   false,
		SupportedUILocales:       []language.Tag{language.Danish, language.English},
		SupportedScopes:          []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail},
		SupportedClaims:          supportedClaims(),
	}, p.storage, op.StaticIssuer(p.issuer), options...)
	if err != nil {
		return nil, fmt.Errorf("provider: %w", err)
	}
	if p.discoveryJSON, err = p.discoveryDocument(); err != nil {
		return nil, fmt.Errorf("provider: discovery document: %w", err)
	}
	return p, nil
}

func supportedClaims() []string {
	var styleNames []string
	for _, style := range []string{domain.ClaimStyleOIOSAML3, domain.ClaimStyleShort} {
		for _, name := range claimNames[style] {
			styleNames = append(styleNames, name)
		}
	}
	slices.Sort(styleNames) // map order would change the document on every start
	protocol := []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "acr", "amr", "azp", ClaimPrivilegesJSON}
	return append(protocol, slices.Compact(styleNames)...)
}

// Issuer is the provider's issuer identifier.
func (p *Provider) Issuer() string { return p.issuer }

// Mount adds the provider's routes. The login step needs the portal's
// session (the platform's MitID session), so those routes load it.
func (p *Provider) Mount(r *gin.Engine) {
	opHandler := gin.WrapH(p.op)
	r.GET(DiscoveryPath, p.discovery)
	r.GET(AuthorizePath, p.authorize)
	r.POST(AuthorizePath, p.authorize)
	r.GET(UserinfoPath, opHandler)
	r.POST(UserinfoPath, opHandler)
	r.POST(IntrospectPath, gin.WrapH(p.withAssertionOnce(p.op)))
	r.POST(RevokePath, gin.WrapH(p.withAssertionOnce(p.op)))

	g := r.Group("/")
	g.Use(p.opts.Sessions.Middleware())
	g.GET(LogoutPath, opHandler)
	g.POST(LogoutPath, opHandler)
	g.GET(LoginPath, p.loginStep)
	g.POST(ChoosePath, p.choose)
	g.POST(CancelPath, p.cancel)
	g.GET(LoggedOutPath, p.loggedOut)
}

// discovery is the library's document plus what it does not know: the iss
// parameter (RFC 9207) and the NSIS levels acr_values may ask for.
func (p *Provider) discovery(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/json; charset=utf-8", p.discoveryJSON)
}

// discoveryDocument is built once: nothing in it changes while serving.
func (p *Provider) discoveryDocument() ([]byte, error) {
	cfg := op.CreateDiscoveryConfig(op.ContextWithIssuer(context.Background(), p.issuer), p.op, p.storage)
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	doc := map[string]any{}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	delete(doc, "device_authorization_endpoint") // no device flow here
	doc["authorization_response_iss_parameter_supported"] = true
	doc["acr_values_supported"] = []string{login.LevelLow.URI(), login.LevelSubstantial.URI(), login.LevelHigh.URI()}
	doc["response_modes_supported"] = []string{"query"}
	doc["response_types_supported"] = []string{"code"}
	doc["grant_types_supported"] = []string{"authorization_code", "client_credentials"}
	doc["service_documentation"] = p.issuer + "/api/reference"
	return json.Marshal(doc)
}

// authorize is the library's authorization endpoint; every redirect it
// makes back to the client carries iss (RFC 9207).
func (p *Provider) authorize(c *gin.Context) {
	p.op.ServeHTTP(&issWriter{ResponseWriter: c.Writer, issuer: p.issuer}, c.Request)
}

// issWriter adds iss to a redirect to anywhere but the login step: the
// library's error responses to the client's redirect URI.
type issWriter struct {
	http.ResponseWriter
	issuer string
}

func (w *issWriter) WriteHeader(status int) {
	if status >= 300 && status < 400 {
		if loc := w.Header().Get("Location"); loc != "" && !strings.HasPrefix(loc, LoginPath) {
			w.Header().Set("Location", withIss(loc, w.issuer))
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *issWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withIss adds the issuer to an authorization response's query.
func withIss(location, issuer string) string {
	u, err := url.Parse(location)
	if err != nil {
		return location
	}
	q := u.Query()
	if q.Get("iss") == "" {
		q.Set("iss", issuer)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// sweepEvery is how often finished and abandoned logins are deleted.
const sweepEvery = 5 * time.Minute

// Run deletes expired grants (logins never finished, codes never
// exchanged, tokens expired) until ctx ends. Every replica may run it: the
// delete is idempotent.
func (p *Provider) Run(ctx context.Context) {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := p.opts.Grants.Sweep(ctx); err != nil && ctx.Err() == nil {
				p.log.Warn("sweep expired logins", "error", err.Error())
			} else if n > 0 {
				p.log.Debug("swept expired logins", "count", n)
			}
		}
	}
}
