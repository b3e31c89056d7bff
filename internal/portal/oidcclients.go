package portal

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/pages"
)

// OIDCClientsPath lists the logins (OIDC clients) a service provider has
// registered for its IT systems; the registration form is
// OIDCClientsPath/new.
const OIDCClientsPath = "/portal/oidc-clients"

// mountOIDCClients adds the pages where a service provider registers, lists
// and revokes the OIDC clients its IT systems log employees in with; none
// without the registry.
func (p *Portal) mountOIDCClients(g *gin.RouterGroup) {
	if p.OIDCClients == nil {
		return
	}
	g.GET(OIDCClientsPath, p.oidcClientsList)
	g.GET(OIDCClientsPath+"/new", p.oidcClientNew)
	g.POST(OIDCClientsPath, p.oidcClientCreate)
	g.POST(OIDCClientsPath+"/:id/revoke", p.oidcClientRevoke)
}

// A client logs people in to one of the organisation's IT systems, so
// whoever may manage those systems manages their clients.
func (p *Portal) requireOIDCClients(c *gin.Context) (actor, bool) {
	return p.requireSystems(c)
}

func (p *Portal) oidcClientsList(c *gin.Context) {
	act, ok := p.requireOIDCClients(c)
	if !ok {
		return
	}
	lang := p.lang(c)
	list, err := p.OIDCClients.List(c.Request.Context(), act.Org.ID)
	if err != nil {
		p.internalError(c, err)
		return
	}
	v := pages.OIDCClientsView{Frame: p.frame(c, act, web.T(lang, "oidcclients.title"), OIDCClientsPath),
		Notice: doneNotice(c, lang, "oidcclients.done."), Issuer: p.issuer()}
	confirm := c.Query("confirm")
	for _, cl := range list {
		line := oidcClientLine(lang, cl)
		v.Clients = append(v.Clients, line)
		if cl.Active() && cl.ID.String() == confirm {
			v.Confirm = &line
		}
	}
	render(c, http.StatusOK, pages.OIDCClients(v))
}

// oidcClientLine shows a client in the list; never its credentials, which
// List does not read.
func oidcClientLine(lang string, cl *domain.OIDCClient) pages.OIDCClientLine {
	l := pages.OIDCClientLine{ID: cl.ID.String(), Name: cl.Name, System: cl.ITSystemName,
		Method:     textOr(lang, "oidcclients.method."+cl.AuthMethod, cl.AuthMethod),
		MinLevel:   loaText(lang, cl.MinLevel),
		ClaimStyle: textOr(lang, "oidcclients.claim_style."+cl.ClaimStyle, cl.ClaimStyle),
		CreatedBy:  cl.CreatedByLabel, CreatedAt: apiClientTime(cl.CreatedAt),
		LastLogin: web.T(lang, "oidcclients.never"), Active: cl.Active()}
	if cl.LastLoginAt != nil {
		l.LastLogin = apiClientTime(*cl.LastLoginAt)
	}
	if cl.RevokedAt != nil {
		l.RevokedAt, l.RevokedBy = apiClientTime(*cl.RevokedAt), cl.RevokedByLabel
	}
	return l
}

func (p *Portal) oidcClientNew(c *gin.Context) {
	act, ok := p.requireOIDCClients(c)
	if !ok {
		return
	}
	p.renderOIDCClientNew(c, act, http.StatusOK, pages.OIDCClientFormValues{AuthMethod: domain.OIDCAuthSecretBasic,
		MinLevel: domain.LoASubstantial, ClaimStyle: domain.ClaimStyleOIOSAML3}, nil)
}

// renderOIDCClientNew shows the registration form with the organisation's
// active IT systems to choose among (retired ones log no one in).
func (p *Portal) renderOIDCClientNew(c *gin.Context, act actor, status int, form pages.OIDCClientFormValues, errs []pages.FieldError) {
	lang := p.lang(c)
	systems, err := p.Rights.ListITSystems(c.Request.Context(), act.Org.ID)
	if err != nil {
		p.internalError(c, err)
		return
	}
	v := pages.OIDCClientNewView{Frame: p.frame(c, act, web.T(lang, "oidcclients.new"), OIDCClientsPath), Form: form, Errors: errs}
	for _, s := range systems {
		if s.System.Status == "active" {
			v.Systems = append(v.Systems, pages.Choice{Value: s.System.ID.String(), Label: s.System.Name})
		}
	}
	for _, l := range []string{domain.LoALow, domain.LoASubstantial, domain.LoAHigh} {
		v.Levels = append(v.Levels, pages.Choice{Value: l, Label: loaText(lang, l)})
	}
	render(c, status, pages.OIDCClientNew(v))
}

// oidcClientForm reads the registration form. Addresses are one a line;
// an IT system that is not an id is passed on as none, so the registry
// reports it with the form's other problems and stores nothing. A missing
// level or claim style is the registry's default.
func oidcClientForm(c *gin.Context, orgID uuid.UUID) (pages.OIDCClientFormValues, postgres.NewOIDCClient) {
	form := pages.OIDCClientFormValues{Name: strings.TrimSpace(c.PostForm("name")), ITSystem: strings.TrimSpace(c.PostForm("it_system")),
		RedirectURIs: strings.TrimSpace(c.PostForm("redirect_uris")), PostLogoutRedirectURIs: strings.TrimSpace(c.PostForm("post_logout_redirect_uris")),
		AuthMethod: c.PostForm("auth_method"), PublicJWK: strings.TrimSpace(c.PostForm("public_jwk")),
		MinLevel: c.PostForm("min_level"), ClaimStyle: c.PostForm("claim_style")}
	n := postgres.NewOIDCClient{OrgID: orgID, Name: form.Name, RedirectURIs: lines(form.RedirectURIs),
		PostLogoutRedirectURIs: lines(form.PostLogoutRedirectURIs), AuthMethod: form.AuthMethod, PublicJWK: form.PublicJWK,
		MinLevel: form.MinLevel, ClaimStyle: form.ClaimStyle}
	if id, err := uuid.Parse(form.ITSystem); err == nil {
		n.ITSystemID = id
	}
	return form, n
}

// lines splits a text area into its lines; the registry trims them and
// drops the empty ones.
func lines(s string) []string {
	return strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
}

// oidcClientCreate registers a client and shows what the service needs to
// use it. A secret is shown in this response only: never in a redirect,
// the session or a log line, and the page is not cached.
func (p *Portal) oidcClientCreate(c *gin.Context) {
	act, ok := p.requireOIDCClients(c)
	if !ok {
		return
	}
	form, n := oidcClientForm(c, act.Org.ID)
	cl, secret, err := p.OIDCClients.Register(c.Request.Context(), p.actorOf(c, act), n)
	if err != nil {
		if isFormError(err) {
			p.renderOIDCClientNew(c, act, formStatus(err), form, fieldErrors(p.lang(c), err))
			return
		}
		p.internalError(c, err)
		return
	}
	lang := p.lang(c)
	issuer := p.issuer()
	c.Header("Pragma", "no-cache")
	render(c, http.StatusOK, pages.OIDCClientCreated(pages.OIDCClientCreatedView{
		Frame: p.frame(c, act, web.T(lang, "oidcclients.created.title"), OIDCClientsPath),
		ID:    cl.ID.String(), Name: cl.Name, System: cl.ITSystemName, Secret: secret, AuthMethod: cl.AuthMethod,
		Method:     textOr(lang, "oidcclients.method."+cl.AuthMethod, cl.AuthMethod),
		MinLevel:   loaText(lang, cl.MinLevel),
		ClaimStyle: textOr(lang, "oidcclients.claim_style."+cl.ClaimStyle, cl.ClaimStyle),
		Issuer:     issuer, Discovery: issuer + "/.well-known/openid-configuration",
		RedirectURIs: cl.RedirectURIs, PostLogoutRedirectURIs: cl.PostLogoutRedirectURIs}))
}

// oidcClientRevoke revokes one of the organisation's clients after a second
// yes: the first POST shows the confirmation on the list. Another
// organisation's client is a 404 either way.
func (p *Portal) oidcClientRevoke(c *gin.Context) {
	act, ok := p.requireOIDCClients(c)
	if !ok {
		return
	}
	cl, ok := loadOwn(p, c, act, p.OIDCClients.Find)
	if !ok {
		return
	}
	if c.PostForm("confirm") != "yes" {
		c.Redirect(http.StatusSeeOther, OIDCClientsPath+"?confirm="+cl.ID.String())
		return
	}
	if err := p.OIDCClients.Revoke(c.Request.Context(), p.actorOf(c, act), act.Org.ID, cl.ID); err != nil {
		if domain.ErrorCode(err) == domain.ECONFLICT {
			p.problem(c, http.StatusConflict, "oidcclients.revoked_already", OIDCClientsPath, "oidcclients.back")
			return
		}
		p.notFound(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, withDone(OIDCClientsPath, "oidcclients.done.revoked"))
}

// issuer is the platform's identifier as an OpenID Provider: its public
// address without a trailing slash ("" when that is not configured).
func (p *Portal) issuer() string {
	if p.BaseURL == nil {
		return ""
	}
	return strings.TrimSuffix(p.BaseURL.String(), "/")
}
