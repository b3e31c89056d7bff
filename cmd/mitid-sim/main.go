// Command mitid-sim runs the MitID simulator: an OpenID Provider standing in
// for a MitID broker in development and demos. See docs/MITID-SIM.md.
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

	"github.com/erhverv/erhverv/internal/mitidsim"
)

// settings is the configuration read from the environment.
type settings struct {
	Addr      string
	Issuer    string
	StorePath string
	Client    mitidsim.Client
}

// usageError is a bad environment variable; it exits with status 2.
type usageError struct{ name, msg string }

func (e *usageError) Error() string { return e.name + ": " + e.msg }

// loadSettings reads the MITID_SIM_* variables. An unset variable takes its
// default; MITID_SIM_CLIENT_SECRET set to the empty string makes a public
// client.
func loadSettings(lookup func(string) (string, bool)) (settings, error) {
	get := func(name, def string) string {
		if v, ok := lookup(name); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
		return def
	}
	s := settings{Addr: get("MITID_SIM_ADDR", "127.0.0.1:8090")}
	if _, port, err := net.SplitHostPort(s.Addr); err != nil || !isPort(port) {
		return settings{}, &usageError{"MITID_SIM_ADDR", fmt.Sprintf("%q is not host:port", s.Addr)}
	}

	s.Issuer = get("MITID_SIM_ISSUER", "http://"+s.Addr)
	u, err := url.Parse(s.Issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return settings{}, &usageError{"MITID_SIM_ISSUER", fmt.Sprintf("%q is not an http or https URL without a path", s.Issuer)}
	}
	s.StorePath = get("MITID_SIM_STORE", ".data/mitid-sim/identities.json")

	c := mitidsim.Client{
		ID:      get("MITID_SIM_CLIENT_ID", "erhverv"),
		Secret:  "erhverv-dev-secret",
		Profile: get("MITID_SIM_PROFILE", mitidsim.ProfileOIOSAML),
	}
	if v, ok := lookup("MITID_SIM_CLIENT_SECRET"); ok {
		c.Secret = v
	}
	switch c.Profile {
	case mitidsim.ProfileOIOSAML, mitidsim.ProfileSignaturgruppen, mitidsim.ProfileIdura:
	default:
		return settings{}, &usageError{"MITID_SIM_PROFILE", fmt.Sprintf("unknown profile %q: use oiosaml, signaturgruppen or idura", c.Profile)}
	}
	c.RedirectURIs = splitList(get("MITID_SIM_REDIRECT_URIS", "http://127.0.0.1:8080/login/callback,http://localhost:8080/login/callback"))
	c.PostLogoutRedirectURIs = splitList(get("MITID_SIM_POST_LOGOUT_REDIRECT_URIS", "http://127.0.0.1:8080/,http://localhost:8080/"))
	for _, v := range []struct {
		name string
		uris []string
	}{
		{"MITID_SIM_REDIRECT_URIS", c.RedirectURIs},
		{"MITID_SIM_POST_LOGOUT_REDIRECT_URIS", c.PostLogoutRedirectURIs},
	} {
		probe := mitidsim.Client{ID: c.ID, RedirectURIs: v.uris}
		if err := probe.Validate(); err != nil {
			return settings{}, &usageError{v.name, err.Error()}
		}
	}
	if err := c.Validate(); err != nil {
		return settings{}, &usageError{"MITID_SIM_CLIENT_ID", err.Error()}
	}
	s.Client = c
	return s, nil
}

// isPort reports whether p is a port number (0 picks a free one).
func isPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 0 && n <= 65535
}

// splitList splits a comma-separated variable, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// serve runs the simulator on ln until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, ln net.Listener, s settings, log *slog.Logger) error {
	sim, err := mitidsim.New(ctx, mitidsim.Config{
		Issuer:    s.Issuer,
		StorePath: s.StorePath,
		Clients:   []mitidsim.Client{s.Client},
		Logger:    log,
	})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           sim.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("mitid-sim started", "addr", ln.Addr().String(), "issuer", sim.Issuer(),
		"client_id", s.Client.ID, "public_client", s.Client.Secret == "", "profile", s.Client.Profile, "store", s.StorePath)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("mitid-sim stopping")
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
		fmt.Fprintln(stderr, "mitid-sim:", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	// The OP library logs through the default logger.
	slog.SetDefault(log)
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		log.Error("listen", "addr", s.Addr, "err", err)
		return 1
	}
	if err := serve(ctx, ln, s, log); err != nil {
		log.Error("mitid-sim failed", "err", err)
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
