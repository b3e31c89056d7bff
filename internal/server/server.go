// Package server is erhverv's HTTP front: the gin engine, the middleware
// every request passes (request id, structured log, recovery, security
// headers, cross-origin protection, metrics), the health and readiness
// probes, and the lifecycle of the listening server with graceful shutdown.
// Pages and API handlers live in their own packages and are mounted here.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/erhverv/erhverv/web"
)

// ReadyCheck reports whether a dependency is ready to serve; a non-nil error
// says what is not.
type ReadyCheck func(ctx context.Context) error

// Options configure the server.
type Options struct {
	Logger  *slog.Logger
	Version string
	// Ready lists the checks behind /readyz (database reachable, schema
	// current, ...), each with a name for the response body.
	Ready map[string]ReadyCheck
	// TrustedOrigins may make cross-origin state-changing requests (the
	// base URL's origin is always same-origin).
	TrustedOrigins []string
	// FormActionOrigins are origins besides this one that a form's answer
	// may redirect to (the broker, for signing out there too).
	FormActionOrigins []string
}

// Server is the HTTP server of one erhverv process.
type Server struct {
	engine   *gin.Engine
	log      *slog.Logger
	opts     Options
	draining atomic.Bool
	srv      *http.Server
	metrics  *metrics
}

// New builds the engine with its middleware and the routes every process
// serves. mount adds the portal's (and later the API's) routes.
func New(opts Options, mount ...func(r *gin.Engine)) *Server {
	gin.SetMode(gin.ReleaseMode)
	s := &Server{engine: gin.New(), log: opts.Logger, opts: opts, metrics: newMetrics()}
	s.engine.HandleMethodNotAllowed = true
	s.engine.ContextWithFallback = true
	s.engine.Use(requestID(), s.accessLog(), s.recovery(), securityHeaders(opts.FormActionOrigins), s.metrics.middleware())

	s.engine.GET("/healthz", s.healthz)
	s.engine.GET("/readyz", s.readyz)
	s.engine.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{})))
	static := web.StaticHandler()
	s.engine.GET(web.StaticPrefix+"*path", gin.WrapH(static))
	s.engine.HEAD(web.StaticPrefix+"*path", gin.WrapH(static))
	for _, m := range mount {
		m(s.engine)
	}
	return s
}

// Handler returns the whole HTTP handler: the engine behind cross-origin
// protection, which refuses state-changing requests a browser sends from
// another origin (Sec-Fetch-Site / Origin), the CSRF defence that needs no
// token in forms.
func (s *Server) Handler() http.Handler {
	cop := http.NewCrossOriginProtection()
	for _, o := range s.opts.TrustedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			s.log.Warn("ignoring trusted origin", "origin", o, "err", err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Warn("cross-origin request refused", "method", r.Method, "path", r.URL.Path, "origin", r.Header.Get("Origin"))
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("Forespørgslen kom fra et andet website og er afvist. / The request came from another site and was refused.\n"))
	}))
	return cop.Handler(s.engine)
}

// Engine exposes the gin engine to tests.
func (s *Server) Engine() *gin.Engine { return s.engine }

// Serve listens on ln until ctx ends, then drains: /readyz turns 503 so a
// load balancer stops sending, and in-flight requests get up to
// drainTimeout to finish.
func (s *Server) Serve(ctx context.Context, ln net.Listener, drainTimeout time.Duration) error {
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.draining.Store(true)
	s.log.Info("shutting down: draining in-flight requests", "timeout", drainTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if err := s.srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	s.log.Info("shut down cleanly")
	return nil
}

func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok", "version": s.opts.Version})
}

func (s *Server) readyz(c *gin.Context) {
	if s.draining.Load() {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "draining"})
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	checks := gin.H{}
	ready := true
	for name, check := range s.opts.Ready {
		if err := check(ctx); err != nil {
			// The probe is unauthenticated: details (hosts, users) go to the
			// log, the response says only which check failed.
			ready = false
			s.log.Warn("not ready", "check", name, "err", err)
			checks[name] = "failed"
			continue
		}
		checks[name] = "ok"
	}
	if !ready {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "not ready", "checks": checks})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready", "checks": checks})
}

type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "erhverv_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "erhverv_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method"}),
	}
	m.registry.MustRegister(m.requests, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
