// Package portal holds the gin handlers of the administration portal: each
// turns a request into a view model and renders a templ page from web/.
// Handlers never decide roles themselves; they ask internal/authz.
package portal

import (
	"net/http"
	"time"

	"github.com/a-h/templ"
	"github.com/gin-gonic/gin"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/pages"
)

// langCookie remembers the language a person chose.
const langCookie = "erhverv_lang"

// Portal mounts the portal's routes.
type Portal struct {
	secureCookies bool
}

// New returns the portal. secureCookies sets the Secure attribute on its
// cookies (true whenever the base URL is https).
func New(secureCookies bool) *Portal { return &Portal{secureCookies: secureCookies} }

// Mount adds the portal's routes and its not-found pages to r.
func (p *Portal) Mount(r *gin.Engine) {
	r.GET("/", p.home)
	r.HEAD("/", p.home)
	r.NoRoute(func(c *gin.Context) { p.renderError(c, http.StatusNotFound) })
	r.NoMethod(func(c *gin.Context) { p.renderError(c, http.StatusMethodNotAllowed) })
}

func (p *Portal) home(c *gin.Context) {
	render(c, http.StatusOK, pages.Home(pages.HomeView{Lang: p.lang(c)}))
}

// lang is the language of the response: ?lang= when given (and then
// remembered in a cookie for a year), else the remembered one, else Danish.
func (p *Portal) lang(c *gin.Context) string {
	if q := c.Query("lang"); q != "" {
		l := web.NormalizeLang(q)
		http.SetCookie(c.Writer, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: int((365 * 24 * time.Hour).Seconds()),
			HttpOnly: true, Secure: p.secureCookies, SameSite: http.SameSiteLaxMode})
		return l
	}
	if v, err := c.Cookie(langCookie); err == nil {
		return web.NormalizeLang(v)
	}
	return web.LangDanish
}

// statusOf maps a domain error code to its HTTP status, in one table.
var statusOf = map[string]int{
	domain.EINVALID:         http.StatusBadRequest,
	domain.EUNAUTHENTICATED: http.StatusUnauthorized,
	domain.EFORBIDDEN:       http.StatusForbidden,
	domain.ENOTFOUND:        http.StatusNotFound,
	domain.ECONFLICT:        http.StatusConflict,
	domain.EINTERNAL:        http.StatusInternalServerError,
}

// StatusOf returns the HTTP status for err's code.
func StatusOf(err error) int {
	if s, ok := statusOf[domain.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

func (p *Portal) renderError(c *gin.Context, status int) {
	render(c, status, pages.Error(pages.NewErrorView(p.lang(c), status)))
}

func render(c *gin.Context, status int, page templ.Component) {
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	c.Status(status)
	if err := page.Render(c.Request.Context(), c.Writer); err != nil {
		_ = c.Error(err)
	}
}
