package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

//go:embed templates/*.html static/style.css
var assets embed.FS

// SP is the demo service provider: its handlers and what they share.
type SP struct {
	cfg           settings
	log           *slog.Logger
	client        *http.Client // every call to the platform goes through it
	now           func() time.Time
	pages         map[string]*template.Template
	sealer        *cookieSealer
	sessions      *sessionStore
	secureCookies bool
	csp           string

	mu       sync.Mutex
	platform *platform // nil until discovery has succeeded
}

// platform is the discovered provider and the clients made from it.
type platform struct {
	provider   *oidc.Provider
	oauth      oauth2.Config
	verifier   *oidc.IDTokenVerifier
	endSession string // end_session_endpoint, empty if the provider has none
	// issRequired is authorization_response_iss_parameter_supported: the
	// provider promises an iss parameter on every authorization response.
	issRequired bool
}

// newSP makes the service; it does not contact the platform (see discover).
func newSP(cfg settings, log *slog.Logger) (*SP, error) {
	pages := make(map[string]*template.Template)
	for _, name := range []string{"home", "error"} {
		t, err := template.ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		pages[name] = t
	}
	sealer, err := newCookieSealer()
	if err != nil {
		return nil, err
	}
	base, _ := url.Parse(cfg.BaseURL)
	issuer, _ := url.Parse(cfg.Issuer)
	now := time.Now
	return &SP{
		cfg:           cfg,
		log:           log,
		client:        &http.Client{Timeout: 10 * time.Second},
		now:           now,
		pages:         pages,
		sealer:        sealer,
		sessions:      newSessionStore(now),
		secureCookies: base.Scheme == "https",
		// form-action names the platform: browsers apply it to the
		// redirect that follows the logout form.
		csp: "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'; " +
			"form-action 'self' " + issuer.Scheme + "://" + issuer.Host,
	}, nil
}

// discover fetches the platform's discovery document the first time it is
// needed, and again on every call until it succeeds: the platform may start
// after the service, or be down for a while.
func (sp *SP) discover(ctx context.Context) (*platform, error) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.platform != nil {
		return sp.platform, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	provider, err := oidc.NewProvider(sp.clientContext(ctx), sp.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	var meta struct {
		EndSession  string `json:"end_session_endpoint"`
		IssRequired bool   `json:"authorization_response_iss_parameter_supported"`
	}
	if err := provider.Claims(&meta); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	endpoint := provider.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInHeader // client_secret_basic
	sp.platform = &platform{
		provider: provider,
		oauth: oauth2.Config{
			ClientID:     sp.cfg.ClientID,
			ClientSecret: sp.cfg.ClientSecret,
			Endpoint:     endpoint,
			RedirectURL:  sp.cfg.RedirectURL(),
			Scopes:       []string{oidc.ScopeOpenID, "profile", "email"},
		},
		// The platform signs ID tokens with ES256 only; pinning it refuses
		// any other algorithm.
		verifier: provider.Verifier(&oidc.Config{
			ClientID:             sp.cfg.ClientID,
			SupportedSigningAlgs: []string{oidc.ES256},
			Now:                  sp.now,
		}),
		endSession:  meta.EndSession,
		issRequired: meta.IssRequired,
	}
	return sp.platform, nil
}

// clientContext makes go-oidc and oauth2 use the service's HTTP client.
func (sp *SP) clientContext(ctx context.Context) context.Context {
	return context.WithValue(oidc.ClientContext(ctx, sp.client), oauth2.HTTPClient, sp.client)
}

// Handler serves the service.
func (sp *SP) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", sp.home)
	mux.HandleFunc("GET /login", sp.login)
	mux.HandleFunc("GET /callback", sp.callback)
	mux.HandleFunc("POST /logout", sp.logout)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok"))
	})
	mux.HandleFunc("GET /style.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		http.ServeFileFS(w, r, assets, "static/style.css")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		sp.fail(w, http.StatusNotFound, errorView{
			Heading: "Siden findes ikke",
			Message: "Der er ingen side på denne adresse. (Page not found.)",
		}, nil)
	})
	return sp.logRequests(sp.secureHeaders(mux))
}

// chrome is what every page shows around its content.
type chrome struct {
	Title       string
	Issuer      string
	ClientID    string
	RedirectURL string
}

func (sp *SP) chrome(title string) chrome {
	return chrome{Title: title, Issuer: sp.cfg.Issuer, ClientID: sp.cfg.ClientID, RedirectURL: sp.cfg.RedirectURL()}
}

// homeView is the home page: the login choices, or the logged-in employee.
type homeView struct {
	chrome
	Session *session
	Notice  string
}

func (sp *SP) home(w http.ResponseWriter, r *http.Request) {
	v := homeView{chrome: sp.chrome("Demo-tjeneste")}
	v.Session, _ = sp.currentSession(r)
	q := r.URL.Query()
	switch {
	case q.Has("state"): // back from logout at the platform
		if c, err := r.Cookie(logoutCookie); err == nil && sameSecret(c.Value, q.Get("state")) {
			v.Notice = "Du er logget ud, også hos platformen. (You are logged out, at the platform too.)"
		}
		sp.setCookie(w, logoutCookie, "", -1)
	case q.Get("logout") == "local":
		v.Notice = "Du er logget ud her, men platformen kunne ikke nås: du kan stadig være logget ind dér. " +
			"(Logged out here only: the platform could not be reached.)"
	}
	sp.render(w, http.StatusOK, "home", v)
}

// The login choices of the home page, as values of /login?acr=.
var acrValues = map[string]string{"low": loaLow, "substantial": loaSubstantial, "high": loaHigh}

// login starts the authorization code flow with PKCE, state and nonce.
// ?acr=low|substantial|high asks for at least that level (acr_values);
// without it the client's minimum level applies. ?prompt=login forces the
// employee to authenticate again.
func (sp *SP) login(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	acr, ok := acrValues[q.Get("acr")]
	if !ok && q.Get("acr") != "" {
		sp.fail(w, http.StatusBadRequest, errorView{
			Heading: "Ukendt sikringsniveau",
			Message: "acr skal være low, substantial eller high. (acr must be low, substantial or high.)",
		}, nil)
		return
	}
	if p := q.Get("prompt"); p != "" && p != "login" {
		sp.fail(w, http.StatusBadRequest, errorView{
			Heading: "Ukendt prompt",
			Message: "prompt kan kun være login. (prompt can only be login.)",
		}, nil)
		return
	}

	p, err := sp.discover(r.Context())
	if err != nil {
		sp.fail(w, http.StatusBadGateway, errorView{
			Heading: "Platformen er ikke tilgængelig",
			Message: "Vi kan ikke komme i kontakt med MitID Erhverv-platformen lige nu. Prøv igen om lidt. " +
				"(The platform is unavailable right now; try again in a moment.)",
			Retry: r.URL.RequestURI(),
		}, err)
		return
	}

	flow := newLoginFlow(acr, sp.now())
	if err := sp.saveLoginFlow(w, flow); err != nil {
		sp.fail(w, http.StatusInternalServerError, errorView{Heading: "Intern fejl", Message: "Login kunne ikke startes."}, err)
		return
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(flow.Verifier), oidc.Nonce(flow.Nonce)}
	if acr != "" {
		opts = append(opts, oauth2.SetAuthURLParam("acr_values", acr))
	}
	if q.Get("prompt") == "login" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "login"))
	}
	note(w, "acr_values", acr, "prompt", q.Get("prompt"))
	http.Redirect(w, r, p.oauth.AuthCodeURL(flow.State, opts...), http.StatusFound)
}

// logout ends the local session and, when the platform publishes an
// end_session_endpoint, sends the browser there (RP-initiated logout) so the
// employee is logged out of the platform too. It is a POST: a link could be
// triggered by another site, and SameSite=Lax keeps the session cookie off
// cross-site POSTs.
func (sp *SP) logout(w http.ResponseWriter, r *http.Request) {
	s, id := sp.currentSession(r)
	if s == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	sp.sessions.delete(id)
	sp.setCookie(w, sessionCookie, "", -1)

	p, err := sp.discover(r.Context())
	if err != nil || p.endSession == "" {
		if err == nil {
			err = errors.New("no end_session_endpoint in discovery")
		}
		note(w, "err", err)
		http.Redirect(w, r, "/?logout=local", http.StatusSeeOther)
		return
	}
	u, err := url.Parse(p.endSession)
	if err != nil {
		note(w, "err", err)
		http.Redirect(w, r, "/?logout=local", http.StatusSeeOther)
		return
	}
	state := rand.Text()
	sp.setCookie(w, logoutCookie, state, loginTTL)
	q := u.Query()
	q.Set("id_token_hint", s.rawIDToken)
	q.Set("client_id", sp.cfg.ClientID)
	q.Set("post_logout_redirect_uri", sp.cfg.PostLogoutURL())
	q.Set("state", state)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// currentSession returns the browser's session and its id, if any.
func (sp *SP) currentSession(r *http.Request) (*session, string) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, ""
	}
	s, ok := sp.sessions.get(c.Value)
	if !ok {
		return nil, ""
	}
	return s, c.Value
}

// errorView is the friendly error page.
type errorView struct {
	chrome
	Status  int
	Heading string
	Message string
	// ProviderError and ProviderDescription are the platform's error and
	// error_description, when it sent them.
	ProviderError       string
	ProviderDescription string
	Detail              string // technical detail, for the developer
	Retry               string // a URL that tries again, if that may help
}

// fail renders the error page with status and puts err on the log line.
func (sp *SP) fail(w http.ResponseWriter, status int, v errorView, err error) {
	if err != nil {
		note(w, "err", err.Error())
		if v.Detail == "" {
			v.Detail = err.Error()
		}
	}
	v.chrome = sp.chrome(v.Heading)
	v.Status = status
	sp.render(w, status, "error", v)
}

// render executes a page into a buffer first, so a template error gives a
// clean 500 instead of half a page.
func (sp *SP) render(w http.ResponseWriter, status int, page string, data any) {
	var buf bytes.Buffer
	if err := sp.pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		note(w, "err", fmt.Errorf("render %s: %w", page, err).Error())
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// secureHeaders sets the headers every response gets. Pages show personal
// data, so nothing is cached; the callback URL holds a code, so no referrer
// is sent.
func (sp *SP) secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", sp.csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers the status and the attributes handlers add to
// the request's log line.
type statusRecorder struct {
	http.ResponseWriter
	status int
	attrs  []any
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// Unwrap lets http.ResponseController reach the real writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// note adds attributes to the request's log line. Never pass tokens, codes
// or the client secret.
func note(w http.ResponseWriter, args ...any) {
	if rec, ok := w.(*statusRecorder); ok {
		rec.attrs = append(rec.attrs, args...)
	}
}

// logRequests writes one log line per request. It logs the path without
// the query: the callback's query holds the authorization code.
func (sp *SP) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		level := slog.LevelInfo
		if rec.status >= 500 {
			level = slog.LevelWarn
		}
		args := append([]any{"method", r.Method, "path", r.URL.Path, "status", rec.status,
			"duration", time.Since(start).Round(time.Microsecond)}, rec.attrs...)
		sp.log.Log(r.Context(), level, "request", args...)
	})
}
