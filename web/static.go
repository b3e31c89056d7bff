// Package web is the portal's presentation layer: the static assets embedded
// in the binary, their content-hashed URLs, and the message catalogue the
// templates read. The templ layout and pages live in the sub-packages layout
// and pages; the gin handlers that fill their view models live in
// internal/portal.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// StaticPrefix is the URL path under which StaticHandler serves the assets.
const StaticPrefix = "/static/"

// Cache lifetimes. A URL carrying the file's current hash never changes
// meaning, so the browser may keep it for a year. Other requests for the
// same file (the stylesheet's own url() references to fonts and icons, or
// a hash from another version during a rolling deploy) get short lifetimes
// so an upgrade shows up soon.
const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheShort     = "public, max-age=3600"
	cacheStale     = "no-cache"
)

//go:embed static
var staticFiles embed.FS

// contentTypes is fixed here rather than read from the host's mime.types,
// which differs between machines and lacks the font types on some.
var contentTypes = map[string]string{
	".css":   "text/css; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".woff2": "font/woff2",
	".woff":  "font/woff",
	".md":    "text/plain; charset=utf-8",
	".txt":   "text/plain; charset=utf-8",
	"":       "text/plain; charset=utf-8", // LICENSE, VERSIONS
}

// compressible lists the types worth gzipping once at start-up; fonts and
// PNGs are compressed already.
var compressible = map[string]bool{".css": true, ".js": true, ".svg": true}

type asset struct {
	body        []byte
	gzipped     []byte // nil when not worth serving compressed
	hash        string // first 16 hex digits of the body's SHA-256
	contentType string
}

// assets reads, hashes and compresses every embedded file on first use,
// once per process.
var assets = sync.OnceValue(func() map[string]*asset {
	m, err := loadAssets(staticFiles)
	if err != nil {
		// The files are compiled into the binary: failing to read them is
		// a build defect, not a runtime condition.
		panic(fmt.Sprintf("web: load embedded assets: %v", err))
	}
	return m
})

func loadAssets(fsys fs.FS) (map[string]*asset, error) {
	m := make(map[string]*asset)
	err := fs.WalkDir(fsys, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(p)
		a := &asset{
			body:        body,
			hash:        hex.EncodeToString(sum[:8]),
			contentType: contentType(ext),
		}
		if compressible[ext] {
			gz, err := gzipBytes(body)
			if err != nil {
				return fmt.Errorf("gzip %s: %w", p, err)
			}
			if len(gz) < len(body)*9/10 {
				a.gzipped = gz
			}
		}
		m[strings.TrimPrefix(p, "static/")] = a
		return nil
	})
	return m, err
}

func contentType(ext string) string {
	if ct, ok := contentTypes[ext]; ok {
		return ct
	}
	if ct := mime.TypeByExtension(ext); ct != "" {
		return ct
	}
	return "application/octet-stream"
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// AssetPath returns the URL of the embedded file name (a path below
// web/static, such as "vendor/dkfds/css/dkfds.min.css") with the file's
// content hash as the v query parameter, so browsers may cache it for good
// and still fetch a new copy the moment the file changes. For a name that
// is not embedded it returns the plain URL, which StaticHandler answers
// with 404, so a misspelt name shows up in page tests.
func AssetPath(name string) string {
	name = strings.TrimPrefix(name, "/")
	a, ok := assets()[name]
	if !ok {
		return StaticPrefix + name
	}
	return StaticPrefix + name + "?v=" + a.hash
}

// StaticHandler serves the embedded assets below StaticPrefix. It expects
// the full request path (mount it at "/static/" in a ServeMux, or as
// "/static/*filepath" in gin with gin.WrapH) and answers GET and HEAD only.
// Responses carry an ETag, so conditional requests get 304.
func StaticHandler() http.Handler {
	return staticHandler{files: assets()}
}

type staticHandler struct {
	files map[string]*asset
}

func (h staticHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, StaticPrefix)
	a := h.files[name]
	if !ok || a == nil {
		http.NotFound(w, r)
		return
	}

	hdr := w.Header()
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("X-Content-Type-Options", "nosniff")
	switch v, versioned := r.URL.Query()["v"]; {
	case versioned && len(v) == 1 && v[0] == a.hash:
		hdr.Set("Cache-Control", cacheImmutable)
	case versioned:
		// Another build's hash: serve what we have, but do not let it
		// stick under that URL.
		hdr.Set("Cache-Control", cacheStale)
	default:
		hdr.Set("Cache-Control", cacheShort)
	}

	body, etag := a.body, `"`+a.hash+`"`
	if a.gzipped != nil {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			body, etag = a.gzipped, `"`+a.hash+`-gz"`
			hdr.Set("Content-Encoding", "gzip")
		}
	}
	hdr.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether the request's Accept-Encoding lists gzip
// without refusing it (q=0).
func acceptsGzip(r *http.Request) bool {
	for _, field := range r.Header.Values("Accept-Encoding") {
		for coding := range strings.SplitSeq(field, ",") {
			name, params, _ := strings.Cut(strings.TrimSpace(coding), ";")
			if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
				continue
			}
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
