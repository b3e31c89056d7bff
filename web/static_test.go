package web_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/erhverv/erhverv/web"
)

const dkfdsCSS = "vendor/dkfds/css/dkfds.min.css"

// fileHash is the hash AssetPath should put in a URL, computed here from
// the file on disk rather than trusted from the package.
func fileHash(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(path.Join("static", name))
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func serve(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	web.StaticHandler().ServeHTTP(rec, req)
	return rec.Result()
}

func get(t *testing.T, url string) *http.Response {
	t.Helper()
	return serve(t, httptest.NewRequest(http.MethodGet, url, nil))
}

func TestAssetPath(t *testing.T) {
	t.Parallel()
	got := web.AssetPath(dkfdsCSS)
	want := "/static/" + dkfdsCSS + "?v=" + fileHash(t, dkfdsCSS)
	if got != want {
		t.Errorf("AssetPath(%q): got %q, want %q", dkfdsCSS, got, want)
	}
	if got, want := web.AssetPath("/"+dkfdsCSS), want; got != want {
		t.Errorf("AssetPath with leading slash: got %q, want %q", got, want)
	}
	if got, want := web.AssetPath("no/such.css"), "/static/no/such.css"; got != want {
		t.Errorf("AssetPath of unknown file: got %q, want %q", got, want)
	}
}

func TestStaticHandlerHashedAssets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		contentType string
	}{
		{dkfdsCSS, "text/css; charset=utf-8"},
		{"css/app.css", "text/css; charset=utf-8"},
		{"vendor/dkfds/js/dkfds.min.js", "text/javascript; charset=utf-8"},
		{"vendor/htmx/htmx.min.js", "text/javascript; charset=utf-8"},
		{"js/app.js", "text/javascript; charset=utf-8"},
		{"vendor/dkfds/img/all-svg-icons.svg", "image/svg+xml"},
		{"vendor/dkfds/fonts/IBMPlexSans/complete/woff2/IBMPlexSans-Bold.woff2", "font/woff2"},
		{"vendor/dkfds/fonts/IBMPlexSans/complete/woff/IBMPlexSans-Regular.woff", "font/woff"},
		{"img/favicon.svg", "image/svg+xml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := get(t, web.AssetPath(tt.name))
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status: got %d, want %d", res.StatusCode, http.StatusOK)
			}
			if got, want := res.Header.Get("Cache-Control"), "public, max-age=31536000, immutable"; got != want {
				t.Errorf("Cache-Control: got %q, want %q", got, want)
			}
			if got := res.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type: got %q, want %q", got, tt.contentType)
			}
			if got, want := res.Header.Get("X-Content-Type-Options"), "nosniff"; got != want {
				t.Errorf("X-Content-Type-Options: got %q, want %q", got, want)
			}
			body, _ := io.ReadAll(res.Body)
			disk, err := os.ReadFile(path.Join("static", tt.name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(body, disk) {
				t.Errorf("body: got %d bytes, want the %d bytes of the file", len(body), len(disk))
			}
		})
	}
}

func TestStaticHandlerCacheLifetimes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		url    string
		status int
		cache  string
	}{
		{"current hash", web.AssetPath(dkfdsCSS), http.StatusOK, "public, max-age=31536000, immutable"},
		{"no hash (url() in the stylesheet)", "/static/" + dkfdsCSS, http.StatusOK, "public, max-age=3600"},
		{"another build's hash", "/static/" + dkfdsCSS + "?v=0123456789abcdef", http.StatusOK, "no-cache"},
		{"hash given twice", web.AssetPath(dkfdsCSS) + "&v=x", http.StatusOK, "no-cache"},
		{"unknown file", "/static/vendor/nope.css", http.StatusNotFound, ""},
		{"unknown file with hash", "/static/vendor/nope.css?v=0123456789abcdef", http.StatusNotFound, ""},
		{"directory", "/static/vendor/dkfds/", http.StatusNotFound, ""},
		{"prefix only", "/static/", http.StatusNotFound, ""},
		{"outside the prefix", "/other/" + dkfdsCSS, http.StatusNotFound, ""},
		{"dot-dot", "/static/vendor/../" + dkfdsCSS, http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := get(t, tt.url)
			if res.StatusCode != tt.status {
				t.Fatalf("GET %s: status got %d, want %d", tt.url, res.StatusCode, tt.status)
			}
			if tt.status != http.StatusOK {
				return
			}
			if got := res.Header.Get("Cache-Control"); got != tt.cache {
				t.Errorf("GET %s: Cache-Control got %q, want %q", tt.url, got, tt.cache)
			}
		})
	}
}

func TestStaticHandlerMethods(t *testing.T) {
	t.Parallel()
	url := web.AssetPath(dkfdsCSS)

	res := serve(t, httptest.NewRequest(http.MethodHead, url, nil))
	if res.StatusCode != http.StatusOK {
		t.Errorf("HEAD status: got %d, want %d", res.StatusCode, http.StatusOK)
	}

	res = serve(t, httptest.NewRequest(http.MethodPost, url, nil))
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST status: got %d, want %d", res.StatusCode, http.StatusMethodNotAllowed)
	}
	if got, want := res.Header.Get("Allow"), "GET, HEAD"; got != want {
		t.Errorf("POST Allow: got %q, want %q", got, want)
	}
}

func TestStaticHandlerConditional(t *testing.T) {
	t.Parallel()
	url := web.AssetPath(dkfdsCSS)
	etag := get(t, url).Header.Get("ETag")
	if etag == "" {
		t.Fatal("ETag: got none, want one")
	}
	req := httptest.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("If-None-Match", etag)
	if got, want := serve(t, req).StatusCode, http.StatusNotModified; got != want {
		t.Errorf("If-None-Match status: got %d, want %d", got, want)
	}
}

func TestStaticHandlerGzip(t *testing.T) {
	t.Parallel()
	url := web.AssetPath(dkfdsCSS)
	disk, err := os.ReadFile(path.Join("static", dkfdsCSS))
	if err != nil {
		t.Fatal(err)
	}

	req := httptest.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept-Encoding", "br, gzip;q=0.8")
	res := serve(t, req)
	if got, want := res.Header.Get("Content-Encoding"), "gzip"; got != want {
		t.Fatalf("Content-Encoding: got %q, want %q", got, want)
	}
	if got, want := res.Header.Get("Vary"), "Accept-Encoding"; got != want {
		t.Errorf("Vary: got %q, want %q", got, want)
	}
	zr, err := gzip.NewReader(res.Body)
	if err != nil {
		t.Fatalf("gzip reader: %v", err)
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	if !bytes.Equal(body, disk) {
		t.Errorf("gunzipped body: got %d bytes, want the %d bytes of the file", len(body), len(disk))
	}

	for _, accept := range []string{"", "br", "gzip;q=0"} {
		req := httptest.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Accept-Encoding", accept)
		if got := serve(t, req).Header.Get("Content-Encoding"); got != "" {
			t.Errorf("Accept-Encoding %q: Content-Encoding got %q, want none", accept, got)
		}
	}

	// Fonts are compressed already and are served as they are.
	req = httptest.NewRequest(http.MethodGet, web.AssetPath("vendor/dkfds/fonts/IBMPlexSans/complete/woff2/IBMPlexSans-Bold.woff2"), nil)
	req.Header.Set("Accept-Encoding", "gzip")
	if got := serve(t, req).Header.Get("Content-Encoding"); got != "" {
		t.Errorf("woff2 Content-Encoding: got %q, want none", got)
	}
}

var (
	cssURL      = regexp.MustCompile(`url\(["']?([^"')]+)["']?\)`)
	fontFace    = regexp.MustCompile(`@font-face\{[^}]*\}`)
	fontWebSrc  = regexp.MustCompile(`url\(["']?([^"')]+)["']?\) format\("woff2?"\)`)
	fontFileExt = regexp.MustCompile(`\.(eot|ttf|otf|woff2?)$`)
)

// TestStylesheetReferencesResolve checks that the url() references in the
// DKFDS stylesheet reach files the handler serves: every image, and in each
// @font-face the first web font a browser picks (older formats listed before
// it are not shipped).
func TestStylesheetReferencesResolve(t *testing.T) {
	t.Parallel()
	css, err := os.ReadFile(path.Join("static", dkfdsCSS))
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, m := range cssURL.FindAllStringSubmatch(string(css), -1) {
		if ref := m[1]; !strings.HasPrefix(ref, "data:") && !fontFileExt.MatchString(ref) {
			refs = append(refs, ref)
		}
	}
	for _, face := range fontFace.FindAllString(string(css), -1) {
		if m := fontWebSrc.FindStringSubmatch(face); m != nil {
			refs = append(refs, m[1])
		}
	}
	if len(refs) < 100 {
		t.Fatalf("references found: got %d, want the stylesheet's icons and fonts (over 100)", len(refs))
	}
	base := "/static/" + path.Dir(dkfdsCSS) + "/"
	for _, ref := range refs {
		url := path.Clean(base + ref)
		if res := get(t, url); res.StatusCode != http.StatusOK {
			t.Errorf("GET %s (url(%s) in the stylesheet): status got %d, want %d", url, ref, res.StatusCode, http.StatusOK)
		}
	}
}
