package server

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/a-h/templ"
	"github.com/gin-gonic/gin"
)

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-Id"

type ctxKey string

const requestIDKey ctxKey = "request_id"

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestID takes a well-formed id from a proxy in front or makes one, and
// returns it in the response so a person can quote it to support.
func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(RequestIDHeader)
		if !validRequestID.MatchString(id) {
			b := make([]byte, 12)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		c.Set(string(requestIDKey), id)
		c.Header(RequestIDHeader, id)
		c.Next()
	}
}

// RequestID returns the id of the request being handled.
func RequestID(c *gin.Context) string { return c.GetString(string(requestIDKey)) }

// accessLog writes one structured line a request. It logs the route
// pattern and path but never the query string, which may carry codes or
// personal data.
func (s *Server) accessLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case c.FullPath() == "/healthz" || c.FullPath() == "/readyz" || c.FullPath() == "/metrics":
			level = slog.LevelDebug
		}
		s.log.LogAttrs(c.Request.Context(), level, "request",
			slog.String("request_id", RequestID(c)),
			slog.String("method", c.Request.Method),
			slog.String("path", c.Request.URL.Path),
			slog.String("route", c.FullPath()),
			slog.Int("status", status),
			slog.Int("bytes", c.Writer.Size()),
			slog.Duration("duration", time.Since(start)),
		)
	}
}

// recovery turns a panic into a logged internal error and a 500 page, so one
// bad request never takes the process down.
func (s *Server) recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r) // the client went away; net/http handles it quietly
				}
				s.log.Error("panic in handler", "request_id", RequestID(c), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				if !c.Writer.Written() {
					c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8",
						[]byte("Der opstod en intern fejl. / An internal error occurred. Request id: "+RequestID(c)+"\n"))
				}
				c.Abort()
			}
		}()
		c.Next()
	}
}

// ContentSecurityPolicy is the policy every page gets. It allows only this
// origin's scripts, styles, fonts and images: no inline script or style,
// nothing from another origin, no framing (clickjacking), forms only to this
// origin and formOrigins (the MitID broker: signing out is a form whose
// answer redirects there, and browsers hold redirects after a form to
// form-action). A page whose form's answer redirects elsewhere (a login
// returning to a service) sets it again with that origin added.
func ContentSecurityPolicy(formOrigins []string) string {
	formAction := "'self'"
	for _, o := range formOrigins {
		formAction += " " + o
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action " + formAction + "; frame-ancestors 'none'"
}

func securityHeaders(formOrigins []string) gin.HandlerFunc {
	contentSecurityPolicy := ContentSecurityPolicy(formOrigins)
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if c.Request.TLS != nil || c.GetHeader("X-Forwarded-Proto") == "https" {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		c.Next()
	}
}

func (m *metrics) middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched" // never the raw path: it would explode the label set
		}
		m.requests.WithLabelValues(route, c.Request.Method, strconv.Itoa(c.Writer.Status())).Inc()
		m.duration.WithLabelValues(route, c.Request.Method).Observe(time.Since(start).Seconds())
	}
}

// Page writes a server-rendered page: HTML, never cached (pages carry
// people's data), with status.
func Page(c *gin.Context, status int, page templ.Component) {
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	c.Status(status)
	if err := page.Render(c.Request.Context(), c.Writer); err != nil {
		_ = c.Error(err)
	}
}
