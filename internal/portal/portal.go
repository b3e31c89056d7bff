// Package portal holds the gin handlers of the administration portal: each
// turns a request into a view model and renders a templ page from web/.
// Handlers never decide roles themselves; they ask internal/authz.
package portal

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/cvr"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/login"
	"github.com/erhverv/erhverv/internal/pii"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/rights"
	"github.com/erhverv/erhverv/internal/server"
	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/pages"
)

// langCookie remembers the language a person chose.
const langCookie = "erhverv_lang"

// Options are the portal's dependencies. Without Sessions the portal shows
// only its public pages; with Sessions it needs Orgs, Users, Roles, Audit,
// Authz, PII and Onboarding too (New refuses less). Without a Broker the pages
// that need a login say that login is not configured; without a Register,
// connecting says it is unavailable.
type Options struct {
	Logger *slog.Logger
	// SecureCookies sets the Secure attribute on cookies (true whenever the
	// base URL is https).
	SecureCookies bool
	// BaseURL is the platform's public address, for links leaving it.
	BaseURL *url.URL

	Sessions *login.Sessions
	Broker   *login.RelyingParty // nil: login is not configured
	// Levels are the least assurance per purpose.
	Levels map[Purpose]login.Level

	PII        *pii.Protector
	Orgs       *postgres.OrganisationService
	Users      *postgres.UserService
	Roles      *postgres.AdminRoleService
	Onboarding *postgres.Onboarding
	// Administration makes the audited user and role changes.
	Administration *postgres.Administration
	Groups         *postgres.GroupService
	// Rights publishes privileges and assigns them; PoA runs powers of
	// attorney; Runtime answers rights questions from cached identities.
	Rights   *postgres.RightsService
	PoA      *postgres.PoAService
	Runtime  *rights.Service
	Audit    *postgres.AuditLog
	Authz    *authz.Engine
	Register cvr.Register // nil: connecting an organisation is unavailable
	// APIClients registers the organisation's API clients; nil hides the pages.
	APIClients *postgres.APIClients
	// Webhooks are the organisation's webhook subscriptions; nil hides the pages.
	Webhooks *postgres.Webhooks
	// OIDCClients registers the logins of a service provider's IT systems;
	// nil hides the pages.
	OIDCClients *postgres.OIDCClients
}

// Portal mounts the portal's routes.
type Portal struct {
	Options
	secureCookies bool
	log           *slog.Logger
}

// New returns the portal.
func New(opts Options) (*Portal, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Sessions != nil && (opts.Orgs == nil || opts.Users == nil || opts.Roles == nil || opts.Audit == nil ||
		opts.PII == nil || opts.Onboarding == nil || opts.Authz == nil || opts.Administration == nil || opts.Groups == nil ||
		opts.Rights == nil || opts.PoA == nil || opts.Runtime == nil) {
		return nil, errors.New("portal: sessions need the organisation, user, role, audit, PII, onboarding, authorization and rights services")
	}
	return &Portal{Options: opts, secureCookies: opts.SecureCookies, log: opts.Logger}, nil
}

// Mount adds the portal's routes and its not-found pages to r.
func (p *Portal) Mount(r *gin.Engine) {
	g := r.Group("/")
	if p.Sessions != nil {
		g.Use(p.Sessions.Middleware())
	}
	g.GET("/", p.home)
	g.HEAD("/", p.home)
	if p.Sessions != nil {
		p.mountLogin(g)
		p.mountConnect(g)
		p.mountActivate(g)
		p.mountOverview(g)
		p.mountImport(g) // before mountUsers: its /portal/users/import paths are literal
		p.mountUsers(g)
		p.mountOrganisation(g)
		p.mountAudit(g)
		p.mountRequests(g)
		p.mountPoA(g)
		p.mountGroups(g)
		p.mountRights(g)
		p.mountCheck(g)
		p.mountAPIClients(g)
		p.mountOIDCClients(g)
		p.mountEndSessions(g)
		if p.Webhooks != nil {
			p.MountWebhooks(g, p.Webhooks)
		}
	} else {
		g.GET(web.LoginPath, p.loginUnavailable)
	}
	r.NoRoute(func(c *gin.Context) { p.renderError(c, http.StatusNotFound) })
	r.NoMethod(func(c *gin.Context) { p.renderError(c, http.StatusMethodNotAllowed) })
}

func (p *Portal) home(c *gin.Context) {
	v := pages.HomeView{Lang: p.lang(c)}
	if p.Sessions != nil {
		if a, ok := p.Sessions.Account(c.Request.Context()); ok {
			v.UserName = a.Name
			if a.Acting() {
				v.PortalURL = OverviewPath
			}
		}
	}
	render(c, http.StatusOK, pages.Home(v))
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

// problem answers with an error page titled and explained by the catalogue
// keys key+".title" and key+".message"; back, when set, is the way on.
func (p *Portal) problem(c *gin.Context, status int, key, back, backKey string) {
	lang := p.lang(c)
	v := pages.NewErrorView(lang, status)
	v.Title, v.Message = web.T(lang, key+".title"), web.T(lang, key+".message")
	if back != "" {
		v.BackURL, v.BackLabel = back, web.T(lang, backKey)
	}
	render(c, status, pages.Error(v))
}

func (p *Portal) renderError(c *gin.Context, status int) {
	render(c, status, pages.Error(pages.NewErrorView(p.lang(c), status)))
}

// render writes a portal page (server.Page).
var render = server.Page
