// Package mitidsim is a MitID simulator: a real OpenID Provider that stands
// in for a certified MitID broker (Signaturgruppen, Idura, NemLog-in) in
// development, tests and demos.
//
// It shares no state with the platform, as a broker would not. Testers log
// in as built-in demo identities or create their own on the login page;
// created identities persist in a JSON file. ID tokens carry the claims of
// one of three broker profiles, chosen per client. The protocol side is the
// zitadel/oidc OP library; this package adds the storage, the login page and
// the claim profiles.
package mitidsim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// Config configures a Server.
type Config struct {
	// Issuer is the simulator's external URL, e.g. http://127.0.0.1:8090,
	// without a path. Plain http is accepted: the simulator is for
	// development and tests.
	Issuer string
	// StorePath is the JSON file keeping created identities across
	// restarts; empty keeps them in memory only.
	StorePath string
	Clients   []Client
	// Logger receives request and login logs; nil discards them. The OP
	// library logs through slog's default logger.
	Logger *slog.Logger
	// Now is the clock for the simulator's own lifetimes (login requests,
	// codes, access tokens) and auth_time; nil is time.Now. The OP library
	// stamps the ID token's iat and exp from the system clock.
	Now func() time.Time
}

// Server is a running simulator: an OpenID Provider with its login page.
type Server struct {
	issuer     string
	log        *slog.Logger
	now        func() time.Time
	storage    *storage
	identities *identityStore
	provider   *op.Provider
	handler    http.Handler
}

// Paths the simulator serves besides the OP library's endpoints.
const (
	pathLogin      = "/login"
	pathCancel     = "/login/cancel"
	pathIdentities = "/login/identities"
	pathLoggedOut  = "/logged-out"
	pathCSS        = "/static/sim.css"
)

// New builds a Server: it generates the signing key, loads the identities
// file and registers the clients. Serve its Handler at the issuer's origin.
// ctx only bounds the construction; the Server has no background work.
func New(ctx context.Context, cfg Config) (*Server, error) {
	issuer, err := normaliseIssuer(cfg.Issuer)
	if err != nil {
		return nil, err
	}
	s := &Server{issuer: issuer, log: cfg.Logger, now: cfg.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	clients := make([]*client, 0, len(cfg.Clients))
	seen := map[string]bool{}
	for _, c := range cfg.Clients {
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("mitidsim: %w", err)
		}
		if seen[c.ID] {
			return nil, fmt.Errorf("mitidsim: client %s is registered twice", c.ID)
		}
		seen[c.ID] = true
		clients = append(clients, newClient(c))
	}

	s.identities, err = openIdentityStore(cfg.StorePath, s.log)
	if err != nil {
		return nil, fmt.Errorf("mitidsim: %w", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("mitidsim: signing key: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.storage = newStorage(s.now, s.identities, key)
	for _, c := range clients {
		s.storage.setClient(c)
	}

	// The crypto key seals opaque access tokens and codes; a new one on each
	// start, like the signing key.
	var cryptoKey [32]byte
	if _, err := rand.Read(cryptoKey[:]); err != nil {
		return nil, fmt.Errorf("mitidsim: crypto key: %w", err)
	}
	s.provider, err = op.NewProvider(&op.Config{
		CryptoKey:                cryptoKey,
		DefaultLogoutRedirectURI: pathLoggedOut,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		SupportedUILocales:       []language.Tag{language.Danish, language.English},
		SupportedScopes:          []string{oidc.ScopeOpenID, oidc.ScopeProfile, scopeSSN, "mitid"},
		SupportedClaims:          claimsSupported(),
	}, s.storage, op.StaticIssuer(issuer), op.WithAllowInsecure())
	if err != nil {
		return nil, fmt.Errorf("mitidsim: %w", err)
	}
	s.handler = s.routes()
	return s, nil
}

// normaliseIssuer checks the issuer is an absolute http(s) URL without a
// path, query or fragment, and drops a trailing slash.
func normaliseIssuer(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("mitidsim: issuer %q is not an absolute http or https URL", s)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("mitidsim: issuer %q may not have a path, query, fragment or user info", s)
	}
	return u.Scheme + "://" + u.Host, nil
}

// Handler serves the OpenID Provider endpoints (discovery, authorize, token,
// userinfo, keys, end_session, healthz), the login page and its assets.
func (s *Server) Handler() http.Handler { return s.handler }

// Issuer is the issuer URL, as in discovery and the ID token's iss.
func (s *Server) Issuer() string { return s.issuer }

// RegisterClient adds or replaces a client while the server runs, for tests
// whose relying party's address is known only after the simulator started.
func (s *Server) RegisterClient(c Client) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("mitidsim: %w", err)
	}
	s.storage.setClient(newClient(c))
	return nil
}

// Identity returns the identity with the subject, built-in or created.
func (s *Server) Identity(subject string) (Identity, bool) {
	id, ok := s.identities.get(subject)
	id.Represents = slices.Clone(id.Represents)
	return id, ok
}

// Identities returns every identity: the demo ones, then the created ones
// newest first.
func (s *Server) Identities() []Identity {
	ids := s.identities.list()
	for i := range ids {
		ids[i].Represents = slices.Clone(ids[i].Represents)
	}
	return ids
}

// CreateIdentity validates and stores a new identity, as the login page's
// form does. A refused field gives a ValidationError.
func (s *Server) CreateIdentity(in IdentityInput) (Identity, error) {
	id, err := s.identities.create(in, s.now())
	if err != nil {
		return Identity{}, err
	}
	s.log.Info("identity created", "subject", id.Subject, "ial", id.IAL.String(), "has_cpr", id.CPR != "")
	return id, nil
}

func (s *Server) routes() http.Handler {
	withIssuer := op.NewIssuerInterceptor(s.provider.IssuerFromRequest).Handler
	cop := http.NewCrossOriginProtection()
	if err := cop.AddTrustedOrigin(s.issuer); err != nil {
		// normaliseIssuer accepted it, so this cannot happen.
		panic(err)
	}

	mux := http.NewServeMux()
	mux.Handle("GET "+pathLogin, http.HandlerFunc(s.loginPage))
	form := func(h http.HandlerFunc) http.Handler { return cop.Handler(limitBody(withIssuer(h))) }
	mux.Handle("POST "+pathLogin, form(s.loginSubmit))
	mux.Handle("POST "+pathCancel, form(s.loginCancel))
	mux.Handle("POST "+pathIdentities, form(s.identityCreate))
	mux.Handle("GET "+pathLoggedOut, http.HandlerFunc(s.loggedOut))
	mux.Handle("GET "+pathCSS, http.HandlerFunc(serveCSS))
	mux.Handle("GET "+oidc.DiscoveryEndpoint, withIssuer(http.HandlerFunc(s.discovery)))
	mux.Handle("/", s.provider)
	return s.logRequests(mux)
}

// discovery is the OP library's document narrowed to what the simulator
// does (the code flow only) and with the acr values it understands.
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	d := op.CreateDiscoveryConfig(r.Context(), s.provider, s.storage)
	d.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
	d.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode}
	d.ACRValuesSupported = supportedACRValues()
	d.DeviceAuthorizationEndpoint = ""
	d.CheckSessionIframe = ""
	d.RequestParameterSupported = false
	d.RequestObjectSigningAlgValuesSupported = nil
	op.Discover(w, d)
}

// limitBody caps the login page's forms, which are a few hundred bytes.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		next.ServeHTTP(w, r)
	})
}

// logRequests logs method, path, status and duration. Queries are left out:
// they carry codes, state and nonces.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Duration("duration", time.Since(start)))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// errorAs is errors.As with a type parameter.
func errorAs[T error](err error) (T, bool) {
	var t T
	ok := errors.As(err, &t)
	return t, ok
}

// trimmed is a posted form field without surrounding white space.
func trimmed(r *http.Request, field string) string { return strings.TrimSpace(r.PostFormValue(field)) }
