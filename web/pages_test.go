package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"

	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/layout"
	"github.com/erhverv/erhverv/web/pages"
)

func render(t *testing.T, c templ.Component) *goquery.Document {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatalf("render: %v", err)
	}
	doc, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatalf("parse rendered HTML: %v", err)
	}
	return doc
}

// byTestID finds exactly one element with the data-testid, or fails.
func byTestID(t *testing.T, doc *goquery.Document, id string) *goquery.Selection {
	t.Helper()
	sel := doc.Find(`[data-testid="` + id + `"]`)
	if sel.Length() != 1 {
		t.Fatalf("elements with data-testid=%q: got %d, want 1", id, sel.Length())
	}
	return sel
}

func text(sel *goquery.Selection) string {
	return strings.Join(strings.Fields(sel.Text()), " ")
}

func TestHome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lang, heading, login, title string
	}{
		{"da", "Styr virksomhedens identiteter, roller og rettigheder", "Log ind med MitID", "Forside – erhverv"},
		{"en", "Manage your business's identities, roles and rights", "Log in with MitID", "Front page – erhverv"},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			t.Parallel()
			doc := render(t, pages.Home(pages.HomeView{Lang: tt.lang}))

			if got := text(byTestID(t, doc, "home-heading")); got != tt.heading {
				t.Errorf("heading: got %q, want %q", got, tt.heading)
			}
			if got := byTestID(t, doc, "home-heading").Nodes[0].Data; got != "h1" {
				t.Errorf("heading element: got %q, want %q", got, "h1")
			}
			login := byTestID(t, doc, "login-button")
			if got, want := login.AttrOr("href", ""), "/login"; got != want {
				t.Errorf("login href: got %q, want %q", got, want)
			}
			if got := text(login); got != tt.login {
				t.Errorf("login text: got %q, want %q", got, tt.login)
			}
			if !login.HasClass("button-primary") {
				t.Errorf("login class: got %q, want it to include button-primary", login.AttrOr("class", ""))
			}
			if got := byTestID(t, doc, "user-kinds").Find("li").Length(); got != 3 {
				t.Errorf("kinds of users listed: got %d, want 3", got)
			}
			if got, _ := doc.Find("html").Attr("lang"); got != tt.lang {
				t.Errorf("html lang: got %q, want %q", got, tt.lang)
			}
			if got := text(doc.Find("title")); got != tt.title {
				t.Errorf("title: got %q, want %q", got, tt.title)
			}
		})
	}
}

func TestHomeListsUserKindsInDanish(t *testing.T) {
	t.Parallel()
	list := text(byTestID(t, render(t, pages.Home(pages.HomeView{Lang: "da"})), "user-kinds"))
	for _, kind := range []string{"Virksomhedsadministratorer", "Medarbejdere", "Integratorer"} {
		if !strings.Contains(list, kind) {
			t.Errorf("user kinds: got %q, want it to mention %q", list, kind)
		}
	}
}

func TestHomeLoginURL(t *testing.T) {
	t.Parallel()
	doc := render(t, pages.Home(pages.HomeView{LoginURL: "/login?next=%2Fusers"}))
	if got, want := byTestID(t, doc, "login-button").AttrOr("href", ""), "/login?next=%2Fusers"; got != want {
		t.Errorf("login href: got %q, want %q", got, want)
	}
}

func child(s string) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		_, err := io.WriteString(w, `<p data-testid="child">`+s+`</p>`)
		return err
	})
}

func renderPage(t *testing.T, p layout.PageProps) *goquery.Document {
	t.Helper()
	ctx := templ.WithChildren(context.Background(), child("indhold"))
	var buf bytes.Buffer
	if err := layout.Page(p).Render(ctx, &buf); err != nil {
		t.Fatalf("render: %v", err)
	}
	doc, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatalf("parse rendered HTML: %v", err)
	}
	return doc
}

func TestLayoutLang(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{{"da", "da"}, {"en", "en"}, {"", "da"}, {"fr", "da"}} {
		doc := renderPage(t, layout.PageProps{Lang: tt.in, Title: "Test"})
		if got := doc.Find("html").AttrOr("lang", ""); got != tt.want {
			t.Errorf("Lang %q: html lang got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLayoutStructure(t *testing.T) {
	t.Parallel()
	doc := renderPage(t, layout.PageProps{Lang: "da", Title: "Overblik"})

	if got, want := text(doc.Find("title")), "Overblik – erhverv"; got != want {
		t.Errorf("title: got %q, want %q", got, want)
	}
	main := doc.Find("main#main-content")
	if main.Length() != 1 {
		t.Fatalf("main#main-content: got %d, want 1", main.Length())
	}
	if got, want := text(main.Find(`[data-testid="child"]`)), "indhold"; got != want {
		t.Errorf("children inside main: got %q, want %q", got, want)
	}
	skip := doc.Find("body > a.skipnav")
	if got, want := skip.AttrOr("href", ""), "#main-content"; got != want {
		t.Errorf("skip link href: got %q, want %q", got, want)
	}
	if got := doc.Find("body").Children().First(); !got.Is("a.skipnav") {
		t.Errorf("first element in body: got <%s class=%q>, want the skip link", goquery.NodeName(got), got.AttrOr("class", ""))
	}
	header := doc.Find("header.header")
	if header.Length() != 1 {
		t.Fatalf("header.header: got %d, want 1", header.Length())
	}
	if got, want := text(header.Find(".portal-info .logo")), "erhverv"; got != want {
		t.Errorf("platform name in header: got %q, want %q", got, want)
	}
	if got, want := text(header.Find(".solution-heading")), "Erhvervsidentiteter, roller og rettigheder"; got != want {
		t.Errorf("subtitle in header: got %q, want %q", got, want)
	}
	if got := doc.Find("footer .footer").Length(); got != 1 {
		t.Errorf("footer .footer: got %d, want 1", got)
	}
}

// TestLayoutAssets checks the head against a strict Content-Security-Policy
// and the long-lived caching: every asset is a hashed same-origin URL the
// static handler serves, scripts are external and deferred, and no markup
// carries inline styles.
func TestLayoutAssets(t *testing.T) {
	t.Parallel()
	doc := renderPage(t, layout.PageProps{
		Lang: "da", Title: "Overblik", UserName: "Jens Hansen", OrgName: "Hansen Tømrer ApS",
		Nav: []layout.NavItem{{Label: "Overblik", Href: "/", Current: true}},
	})

	css := doc.Find(`link[rel="stylesheet"]`).First().AttrOr("href", "")
	if !strings.HasPrefix(css, "/static/") {
		t.Errorf("stylesheet href: got %q, want it to start with /static/", css)
	}
	if hash := fileHash(t, dkfdsCSS); !strings.Contains(css, hash) {
		t.Errorf("stylesheet href: got %q, want it to contain the hash %q", css, hash)
	}

	scripts := doc.Find("script")
	if scripts.Length() == 0 {
		t.Fatal("scripts: got none, want the DKFDS, htmx and app scripts")
	}
	scripts.Each(func(_ int, s *goquery.Selection) {
		src, ok := s.Attr("src")
		if !ok || strings.TrimSpace(s.Text()) != "" {
			t.Errorf("script: got src=%q with %d bytes inline, want an external file only", src, len(s.Text()))
		}
		if _, ok := s.Attr("defer"); !ok {
			t.Errorf("script %s: got no defer, want defer", src)
		}
	})
	if got := doc.Find("[style]").Length(); got != 0 {
		t.Errorf("elements with a style attribute: got %d, want 0", got)
	}
	if got := doc.Find("style").Length(); got != 0 {
		t.Errorf("style elements: got %d, want 0", got)
	}
	html, _ := doc.Html()
	if strings.Contains(html, "style=") {
		t.Errorf("markup: got a style= attribute, want none")
	}

	// Every asset URL: hashed, same origin, and served.
	doc.Find("link[href], script[src], use[href], img[src]").Each(func(_ int, s *goquery.Selection) {
		url := s.AttrOr("href", s.AttrOr("src", ""))
		if goquery.NodeName(s) == "link" && s.AttrOr("rel", "") != "stylesheet" && s.AttrOr("rel", "") != "icon" {
			return
		}
		if !strings.HasPrefix(url, "/static/") || !strings.Contains(url, "?v=") {
			t.Errorf("<%s> URL: got %q, want a hashed /static/ URL", goquery.NodeName(s), url)
			return
		}
		file, _, _ := strings.Cut(url, "#")
		res := get(t, file)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status got %d, want %d", file, res.StatusCode, http.StatusOK)
		}
		if got, want := res.Header.Get("Cache-Control"), "public, max-age=31536000, immutable"; got != want {
			t.Errorf("GET %s: Cache-Control got %q, want %q", file, got, want)
		}
	})
}

func TestLayoutVisitor(t *testing.T) {
	t.Parallel()

	t.Run("anonymous", func(t *testing.T) {
		t.Parallel()
		doc := renderPage(t, layout.PageProps{Title: "Forside"})
		if got, want := byTestID(t, doc, "header-login").AttrOr("href", ""), "/login"; got != want {
			t.Errorf("header login href: got %q, want %q", got, want)
		}
		if got := doc.Find(`[data-testid="header-user"]`).Length(); got != 0 {
			t.Errorf("user in header: got %d, want 0", got)
		}
		if got := doc.Find(".mobile-drawer, .js-menu-open, .navigation-menu").Length(); got != 0 {
			t.Errorf("menu elements without a menu or user: got %d, want 0", got)
		}
	})

	t.Run("signed in", func(t *testing.T) {
		t.Parallel()
		doc := renderPage(t, layout.PageProps{
			Title: "Brugere", UserName: "Jens Hansen", OrgName: "Hansen Tømrer ApS",
			Nav: []layout.NavItem{
				{Label: "Overblik", Href: "/"},
				{Label: "Brugere", Href: "/users", Current: true},
			},
		})
		if got, want := text(byTestID(t, doc, "header-user")), "Jens Hansen, Hansen Tømrer ApS"; got != want {
			t.Errorf("user in header: got %q, want %q", got, want)
		}
		if got := doc.Find(`[data-testid="header-login"]`).Length(); got != 0 {
			t.Errorf("login link for a signed-in user: got %d, want 0", got)
		}
		forms := doc.Find(`form[action="/logout"]`)
		if forms.Length() == 0 {
			t.Fatal("logout forms: got 0, want at least 1")
		}
		forms.Each(func(_ int, f *goquery.Selection) {
			if got := strings.ToLower(f.AttrOr("method", "")); got != "post" {
				t.Errorf("logout form method: got %q, want post", got)
			}
		})
		current := doc.Find(`.navigation-menu a[aria-current="page"]`)
		if got, want := text(current), "Brugere"; got != want {
			t.Errorf("current menu entry: got %q, want %q", got, want)
		}
		if got := doc.Find(".mobile-drawer .navigation-menu-mobile a").Length(); got != 2 {
			t.Errorf("entries in the mobile menu: got %d, want 2", got)
		}
	})
}

func TestNavItemHrefIsSanitised(t *testing.T) {
	t.Parallel()
	doc := renderPage(t, layout.PageProps{Nav: []layout.NavItem{{Label: "x", Href: "javascript:alert(1)"}}})
	if got := doc.Find(".navigation-menu a").AttrOr("href", ""); strings.HasPrefix(got, "javascript:") {
		t.Errorf("menu href: got %q, want a sanitised URL", got)
	}
}

func TestErrorPage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lang   string
		status int
		title  string
	}{
		{"da", http.StatusNotFound, "Siden findes ikke"},
		{"da", http.StatusForbidden, "Du har ikke adgang til siden"},
		{"da", http.StatusInternalServerError, "Der er sket en fejl"},
		{"en", http.StatusNotFound, "The page does not exist"},
		{"da", http.StatusTeapot, "Der er sket en fejl"},
	}
	for _, tt := range tests {
		t.Run(tt.lang+"/"+http.StatusText(tt.status), func(t *testing.T) {
			t.Parallel()
			v := pages.NewErrorView(tt.lang, tt.status)
			doc := render(t, pages.Error(v))
			if got := text(byTestID(t, doc, "error-heading")); got != tt.title {
				t.Errorf("heading: got %q, want %q", got, tt.title)
			}
			if got := text(byTestID(t, doc, "error-message")); got == "" || got == v.Title {
				t.Errorf("message: got %q, want an explanation", got)
			}
			if got := text(byTestID(t, doc, "error-status")); !strings.HasSuffix(got, strconv.Itoa(tt.status)) {
				t.Errorf("status: got %q, want it to end in %d", got, tt.status)
			}
			if got, want := byTestID(t, doc, "error-back").AttrOr("href", ""), "/"; got != want {
				t.Errorf("back link: got %q, want %q", got, want)
			}
			if got := doc.Find("html").AttrOr("lang", ""); got != tt.lang {
				t.Errorf("html lang: got %q, want %q", got, tt.lang)
			}
			if got := doc.Find("main#main-content").Length(); got != 1 {
				t.Errorf("main#main-content: got %d, want 1", got)
			}
		})
	}
}

func TestErrorPageOverrides(t *testing.T) {
	t.Parallel()
	v := pages.NewErrorView("da", http.StatusNotFound)
	v.Message = "Brugeren findes ikke i din organisation."
	v.BackURL, v.BackLabel = "/users", "Tilbage til brugere"
	doc := render(t, pages.Error(v))
	if got := text(byTestID(t, doc, "error-message")); got != v.Message {
		t.Errorf("message: got %q, want %q", got, v.Message)
	}
	back := byTestID(t, doc, "error-back")
	if got := back.AttrOr("href", ""); got != v.BackURL {
		t.Errorf("back href: got %q, want %q", got, v.BackURL)
	}
	if got := text(back); got != v.BackLabel {
		t.Errorf("back label: got %q, want %q", got, v.BackLabel)
	}
}

// TestPagesServedThroughHandler renders a page the way a handler will, to
// show the pieces fit: the page's assets come from the static handler.
func TestPagesServedThroughHandler(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.Handle(web.StaticPrefix, web.StaticHandler())
	mux.Handle("/{$}", templ.Handler(pages.Home(pages.HomeView{Lang: "da"})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	res, err := srv.Client().Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	doc, err := goquery.NewDocumentFromReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	css := doc.Find(`link[rel="stylesheet"]`).First().AttrOr("href", "")
	cssRes, err := srv.Client().Get(srv.URL + css)
	if err != nil {
		t.Fatal(err)
	}
	cssRes.Body.Close()
	if cssRes.StatusCode != http.StatusOK {
		t.Errorf("GET %s: status got %d, want %d", css, cssRes.StatusCode, http.StatusOK)
	}
}
