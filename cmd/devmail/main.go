// Command devmail is the development mail catcher: an SMTP server that
// keeps every message it receives in memory and a web inbox to read them.
// Nothing is relayed. Point erhverv at it with
//
//	ERHVERV_SMTP_ADDR=127.0.0.1:1025 ERHVERV_SMTP_TLS=none
//
// and open http://127.0.0.1:8025/.
//
// Environment:
//
//	DEVMAIL_SMTP_ADDR  where to accept SMTP (default 127.0.0.1:1025)
//	DEVMAIL_HTTP_ADDR  where to serve the inbox and its JSON API (default 127.0.0.1:8025)
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/erhverv/erhverv/internal/devmail"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, os.Getenv, logger, nil); err != nil {
		logger.Error("devmail stopped", "err", err)
		os.Exit(1)
	}
}

// run serves until ctx is done, then shuts down gracefully. ready, when not
// nil, is told the bound addresses once both listeners are open.
func run(ctx context.Context, getenv func(string) string, logger *slog.Logger, ready func(smtpAddr, httpAddr net.Addr)) error {
	smtpAddr := envOr(getenv, "DEVMAIL_SMTP_ADDR", "127.0.0.1:1025")
	httpAddr := envOr(getenv, "DEVMAIL_HTTP_ADDR", "127.0.0.1:8025")

	var lc net.ListenConfig
	smtpL, err := lc.Listen(ctx, "tcp", smtpAddr)
	if err != nil {
		return fmt.Errorf("smtp listener: %w", err)
	}
	httpL, err := lc.Listen(ctx, "tcp", httpAddr)
	if err != nil {
		smtpL.Close()
		return fmt.Errorf("http listener: %w", err)
	}
	for _, l := range []net.Listener{smtpL, httpL} {
		if ip := l.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
			logger.Warn("devmail listens beyond this machine; it has no authentication and shows every mail it gets", "addr", l.Addr().String())
		}
	}

	catcher := devmail.New(logger)
	web := &http.Server{Handler: catcher.HTTPHandler(), ReadHeaderTimeout: 10 * time.Second}
	errs := make(chan error, 2)
	go func() { errs <- catcher.ServeSMTP(smtpL) }()
	go func() { errs <- web.Serve(httpL) }()
	logger.Info("devmail ready", "smtp", smtpL.Addr().String(), "inbox", "http://"+httpL.Addr().String()+"/")
	if ready != nil {
		ready(smtpL.Addr(), httpL.Addr())
	}

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errs:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(serveErr, catcher.Shutdown(shutdownCtx), web.Shutdown(shutdownCtx))
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}
