package devmail

import (
	"embed"
	"encoding/json"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"time"
)

//go:embed inbox.html
var pagesFS embed.FS

var pages = template.Must(template.New("inbox.html").Funcs(template.FuncMap{
	"when": func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") },
	"sortedKeys": func(h map[string][]string) []string {
		keys := make([]string, 0, len(h))
		for k := range h {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return keys
	},
}).ParseFS(pagesFS, "inbox.html"))

// csp keeps the inbox inert: no script runs anywhere, not even in a mail's
// HTML (shown in a sandboxed frame, which inherits this policy), and no
// image or font is fetched from elsewhere, so a mail cannot call home.
const csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// HTTPHandler serves the inbox for people and the JSON API for tests:
//
//	GET    /                      the inbox, newest first
//	GET    /messages/{id}         one message: headers, text, HTML (sandboxed)
//	GET    /messages/{id}/raw     the message as received
//	POST   /clear                 forget every message
//	GET    /api/messages          every message, newest first
//	GET    /api/messages/{id}     one message
//	DELETE /api/messages          forget every message
//	GET    /healthz               200 while the process runs
//
// State-changing requests from other origins are refused.
func (s *Server) HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.inbox)
	mux.HandleFunc("GET /messages/{id}", s.show)
	mux.HandleFunc("GET /messages/{id}/raw", s.raw)
	mux.HandleFunc("POST /clear", func(w http.ResponseWriter, r *http.Request) {
		s.Clear()
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /api/messages", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Messages())
	})
	mux.HandleFunc("GET /api/messages/{id}", func(w http.ResponseWriter, r *http.Request) {
		m, ok := s.lookup(r)
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such message"})
			return
		}
		writeJSON(w, http.StatusOK, m)
	})
	mux.HandleFunc("DELETE /api/messages", func(w http.ResponseWriter, r *http.Request) {
		s.Clear()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return securityHeaders(http.NewCrossOriginProtection().Handler(mux))
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func (s *Server) lookup(r *http.Request) (Message, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return Message{}, false
	}
	return s.Message(id)
}

func (s *Server) inbox(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "list", struct {
		Messages []Message
		Max      int
	}{s.Messages(), MaxMessages})
}

func (s *Server) show(w http.ResponseWriter, r *http.Request) {
	m, ok := s.lookup(r)
	if !ok {
		s.render(w, http.StatusNotFound, "missing", nil)
		return
	}
	s.render(w, http.StatusOK, "message", m)
}

func (s *Server) raw(w http.ResponseWriter, r *http.Request) {
	m, ok := s.lookup(r)
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(m.Raw)
}

func (s *Server) render(w http.ResponseWriter, status int, name string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, data); err != nil {
		s.logger.Error("render inbox page", "page", name, "err", err)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
