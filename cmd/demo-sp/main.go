// Command demo-sp is a small professional service that logs employees in
// through the platform with OpenID Connect, the way a real service provider
// would: authorization code flow with PKCE, state and nonce, ID token
// verification with go-oidc, userinfo and RP-initiated logout. Its pages show
// everything the service receives: the organisation, the assurance levels and
// the employee's privileges for the service.
//
// Configuration is read from the environment:
//
//	DEMO_SP_ADDR           listen address (default 127.0.0.1:8070)
//	DEMO_SP_ISSUER         the platform (default http://127.0.0.1:8080)
//	DEMO_SP_CLIENT_ID      the service's client id at the platform (required)
//	DEMO_SP_CLIENT_SECRET  its client secret, sent with client_secret_basic (required)
//	DEMO_SP_BASE_URL       the service's own URL (default http://$DEMO_SP_ADDR);
//	                       redirect URI = base + /callback, post-logout URI = base + /
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// settings is the configuration read from the environment.
type settings struct {
	Addr         string
	Issuer       string
	ClientID     string
	ClientSecret string
	BaseURL      string // without a trailing slash
}

// RedirectURL is where the platform sends the browser back after login.
func (s settings) RedirectURL() string { return s.BaseURL + "/callback" }

// PostLogoutURL is where the platform sends the browser back after logout.
func (s settings) PostLogoutURL() string { return s.BaseURL + "/" }

// usageError is a missing or bad environment variable; it exits with status 2.
type usageError struct{ name, msg string }

func (e *usageError) Error() string { return e.name + ": " + e.msg }

// loadSettings reads the DEMO_SP_* variables; an unset or blank variable
// takes its default.
func loadSettings(lookup func(string) (string, bool)) (settings, error) {
	get := func(name, def string) string {
		if v, ok := lookup(name); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
		return def
	}

	s := settings{Addr: get("DEMO_SP_ADDR", "127.0.0.1:8070")}
	if _, port, err := net.SplitHostPort(s.Addr); err != nil || !isPort(port) {
		return settings{}, &usageError{"DEMO_SP_ADDR", fmt.Sprintf("%q is not host:port", s.Addr)}
	}

	// The issuer is compared byte for byte with the one in discovery and in
	// the ID token, so it is kept exactly as given.
	s.Issuer = get("DEMO_SP_ISSUER", "http://127.0.0.1:8080")
	if !isHTTPURL(s.Issuer) {
		return settings{}, &usageError{"DEMO_SP_ISSUER", fmt.Sprintf("%q is not an http or https URL without query or fragment", s.Issuer)}
	}

	s.ClientID = get("DEMO_SP_CLIENT_ID", "")
	if s.ClientID == "" {
		return settings{}, &usageError{"DEMO_SP_CLIENT_ID", "required: the client id the platform gave when the service was registered"}
	}
	// A secret is used exactly as given: spaces may be part of it.
	if v, ok := lookup("DEMO_SP_CLIENT_SECRET"); ok && v != "" {
		s.ClientSecret = v
	} else {
		return settings{}, &usageError{"DEMO_SP_CLIENT_SECRET", "required: the client secret shown once when the service was registered (client_secret_basic)"}
	}

	s.BaseURL = strings.TrimSuffix(get("DEMO_SP_BASE_URL", "http://"+s.Addr), "/")
	if !isHTTPURL(s.BaseURL) {
		return settings{}, &usageError{"DEMO_SP_BASE_URL", fmt.Sprintf("%q is not an http or https URL without query or fragment", s.BaseURL)}
	}
	return s, nil
}

// isPort reports whether p is a port number (0 picks a free one).
func isPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 0 && n <= 65535
}

// isHTTPURL reports whether v is an absolute http(s) URL without query or fragment.
func isHTTPURL(v string) bool {
	u, err := url.Parse(v)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" &&
		u.User == nil && !strings.ContainsAny(v, "?#")
}

// serve runs the service on ln until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, ln net.Listener, s settings, log *slog.Logger) error {
	sp, err := newSP(s, log)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           sp.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("demo-sp started", "addr", ln.Addr().String(), "base_url", s.BaseURL,
		"issuer", s.Issuer, "client_id", s.ClientID, "redirect_uri", s.RedirectURL())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("demo-sp stopping")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// run is main without the process: it returns the exit status.
func run(ctx context.Context, lookup func(string) (string, bool), stderr io.Writer) int {
	s, err := loadSettings(lookup)
	if err != nil {
		fmt.Fprintln(stderr, "demo-sp:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		log.Error("listen", "addr", s.Addr, "err", err)
		return 1
	}
	if err := serve(ctx, ln, s, log); err != nil {
		log.Error("demo-sp failed", "err", err)
		return 1
	}
	return 0
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.LookupEnv, os.Stderr)
	stop()
	os.Exit(code)
}
