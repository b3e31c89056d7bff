package portal

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/pages"
)

// APIClientsPath lists the organisation's API clients; the registration
// form is APIClientsPath/new.
const APIClientsPath = "/portal/api-clients"

// mountAPIClients adds the pages where organisation administrators
// register, list and revoke the organisation's API clients; none without
// the registry.
func (p *Portal) mountAPIClients(g *gin.RouterGroup) {
	if p.APIClients == nil {
		return
	}
	g.GET(APIClientsPath, p.apiClientsList)
	g.GET(APIClientsPath+"/new", p.apiClientNew)
	g.POST(APIClientsPath, p.apiClientCreate)
	g.POST(APIClientsPath+"/:id/revoke", p.apiClientRevoke)
}

var apiClientResource = authz.Resource{Type: "api_client"}

// requireAPIClients is the acting identity when the policy lets it manage
// the organisation's API clients; otherwise it has answered.
func (p *Portal) requireAPIClients(c *gin.Context) (actor, bool) {
	act, ok := p.requireIdentity(c)
	if !ok || !p.authorize(c, act, authz.ActionAPIClientManage, apiClientResource, authz.Context{}) {
		return actor{}, false
	}
	return act, true
}

func (p *Portal) apiClientsList(c *gin.Context) {
	act, ok := p.requireAPIClients(c)
	if !ok {
		return
	}
	lang := p.lang(c)
	list, err := p.APIClients.List(c.Request.Context(), act.Org.ID)
	if err != nil {
		p.internalError(c, err)
		return
	}
	v := pages.APIClientsView{Frame: p.frame(c, act, web.T(lang, "apiclients.title"), APIClientsPath),
		Notice: doneNotice(c, lang, "apiclients.done.")}
	confirm := c.Query("confirm")
	for _, cl := range list {
		line := apiClientLine(lang, cl)
		v.Clients = append(v.Clients, line)
		if cl.Active() && cl.ID.String() == confirm {
			v.Confirm = &line
		}
	}
	render(c, http.StatusOK, pages.APIClients(v))
}

// apiClientLine shows a client in the list; never its credentials, which
// List does not read.
func apiClientLine(lang string, cl *domain.APIClient) pages.APIClientLine {
	l := pages.APIClientLine{ID: cl.ID.String(), Name: cl.Name, Scopes: cl.Scopes,
		Method:    textOr(lang, "apiclients.method."+cl.AuthMethod, cl.AuthMethod),
		RateLimit: strconv.Itoa(cl.RateLimit) + " " + web.T(lang, "apiclients.per_second"),
		CreatedBy: cl.CreatedByLabel, CreatedAt: apiClientTime(cl.CreatedAt),
		LastUsed: web.T(lang, "apiclients.never"), Active: cl.Active()}
	if cl.LastUsedAt != nil {
		l.LastUsed = apiClientTime(*cl.LastUsedAt)
	}
	if cl.RevokedAt != nil {
		l.RevokedAt, l.RevokedBy = apiClientTime(*cl.RevokedAt), cl.RevokedByLabel
	}
	return l
}

// scopeChoicesFor are the scopes the registration form offers, each with
// what it allows.
func scopeChoicesFor(lang string) []pages.ScopeChoice {
	out := make([]pages.ScopeChoice, 0, len(domain.APIScopes))
	for _, s := range domain.APIScopes {
		out = append(out, pages.ScopeChoice{Value: s, Explanation: web.T(lang, "apiclients.scope."+strings.ReplaceAll(s, ":", "_"))})
	}
	return out
}

func (p *Portal) apiClientNew(c *gin.Context) {
	act, ok := p.requireAPIClients(c)
	if !ok {
		return
	}
	p.renderAPIClientNew(c, act, http.StatusOK,
		pages.APIClientFormValues{AuthMethod: domain.APIAuthSecret, RateLimit: strconv.Itoa(domain.DefaultAPIRateLimit)}, nil)
}

func (p *Portal) renderAPIClientNew(c *gin.Context, act actor, status int, form pages.APIClientFormValues, errs []pages.FieldError) {
	lang := p.lang(c)
	render(c, status, pages.APIClientNew(pages.APIClientNewView{Frame: p.frame(c, act, web.T(lang, "apiclients.new"), APIClientsPath),
		Form: form, Errors: errs, Scopes: scopeChoicesFor(lang)}))
}

// apiClientForm reads the registration form. A rate limit that is not a
// whole number is passed on as out of range, so the registry reports it
// with the form's other problems and stores nothing; an empty one is the
// default.
func apiClientForm(c *gin.Context, orgID uuid.UUID) (pages.APIClientFormValues, postgres.NewAPIClient) {
	form := pages.APIClientFormValues{Name: strings.TrimSpace(c.PostForm("name")), Scopes: c.PostFormArray("scopes"),
		AuthMethod: c.PostForm("auth_method"), PublicJWK: strings.TrimSpace(c.PostForm("public_jwk")),
		RateLimit: strings.TrimSpace(c.PostForm("rate_limit"))}
	n := postgres.NewAPIClient{OrgID: orgID, Name: form.Name, Scopes: form.Scopes, AuthMethod: form.AuthMethod, PublicJWK: form.PublicJWK}
	if form.RateLimit != "" {
		limit, err := strconv.Atoi(form.RateLimit)
		if err != nil {
			limit = -1
		}
		n.RateLimit = limit
	}
	return form, n
}

// apiClientCreate registers a client. A secret client's secret is shown in
// this response only: never in a redirect, the session or a log line, and
// the page is not cached.
func (p *Portal) apiClientCreate(c *gin.Context) {
	act, ok := p.requireAPIClients(c)
	if !ok {
		return
	}
	form, n := apiClientForm(c, act.Org.ID)
	cl, secret, err := p.APIClients.Register(c.Request.Context(), p.actorOf(c, act), n)
	if err != nil {
		if isFormError(err) {
			p.renderAPIClientNew(c, act, formStatus(err), form, fieldErrors(p.lang(c), err))
			return
		}
		p.internalError(c, err)
		return
	}
	if secret == "" {
		c.Redirect(http.StatusSeeOther, withDone(APIClientsPath, "apiclients.done.created"))
		return
	}
	lang := p.lang(c)
	c.Header("Pragma", "no-cache")
	render(c, http.StatusOK, pages.APIClientSecret(pages.APIClientSecretView{
		Frame: p.frame(c, act, web.T(lang, "apiclients.secret.heading"), APIClientsPath),
		ID:    cl.ID.String(), Name: cl.Name, Secret: secret, TokenURL: p.tokenEndpoint()}))
}

// apiClientRevoke revokes one of the organisation's clients after a second
// yes: the first POST shows the confirmation on the list. Another
// organisation's client is a 404 either way.
func (p *Portal) apiClientRevoke(c *gin.Context) {
	act, ok := p.requireAPIClients(c)
	if !ok {
		return
	}
	cl, ok := loadOwn(p, c, act, p.APIClients.Find)
	if !ok {
		return
	}
	if c.PostForm("confirm") != "yes" {
		c.Redirect(http.StatusSeeOther, APIClientsPath+"?confirm="+cl.ID.String())
		return
	}
	if err := p.APIClients.Revoke(c.Request.Context(), p.actorOf(c, act), act.Org.ID, cl.ID); err != nil {
		if domain.ErrorCode(err) == domain.ECONFLICT {
			p.problem(c, http.StatusConflict, "apiclients.revoked_already", APIClientsPath, "apiclients.back")
			return
		}
		p.notFound(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, withDone(APIClientsPath, "apiclients.done.revoked"))
}

// tokenEndpoint is the address of the API's token endpoint on the
// platform's public address (the path alone when that is not configured).
func (p *Portal) tokenEndpoint() string {
	if p.BaseURL == nil {
		return "/oauth2/token"
	}
	return strings.TrimSuffix(p.BaseURL.String(), "/") + "/oauth2/token"
}

// apiClientTime is a moment as Danish time, day first, to the minute.
func apiClientTime(t time.Time) string {
	return t.In(domain.DanishTime).Format("02-01-2006 15:04")
}
