package portal

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/server"
	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/pages"
)

// The activation link carries its secret in the query string, which the
// access log leaves out (paths are logged, queries are not). While the
// person logs in, the secret waits in a short-lived cookie that only
// /activate receives, so it is never stored in the session or sent to the
// broker.
func (p *Portal) mountActivate(g *gin.RouterGroup) {
	g.GET(ActivatePath, p.activatePage)
	g.POST(ActivatePath, p.activateSubmit)
}

func activationURL(token string) string { return ActivatePath + "?token=" + token }

// activationCookie holds the link's secret during the login it needs.
const activationCookie = "erhverv_activation"

func (p *Portal) rememberActivation(c *gin.Context, token string) {
	http.SetCookie(c.Writer, &http.Cookie{Name: activationCookie, Value: token, Path: ActivatePath, MaxAge: 3600,
		HttpOnly: true, Secure: p.secureCookies, SameSite: http.SameSiteLaxMode})
}

func (p *Portal) forgetActivation(c *gin.Context) {
	http.SetCookie(c.Writer, &http.Cookie{Name: activationCookie, Value: "", Path: ActivatePath, MaxAge: -1,
		HttpOnly: true, Secure: p.secureCookies, SameSite: http.SameSiteLaxMode})
}

// activationToken is the link's secret: from the link itself, or from the
// cookie when the person comes back from logging in.
func activationToken(c *gin.Context) string {
	if t := c.Query("token"); t != "" {
		return t
	}
	if ck, err := c.Request.Cookie(activationCookie); err == nil {
		return ck.Value
	}
	return ""
}

// ActivationLink is the absolute address mailed to a person for token.
func ActivationLink(base string, token string) string {
	return strings.TrimSuffix(base, "/") + activationURL(token)
}

// activationProblem answers a link that cannot be used with a page that
// says why and what to do.
func (p *Portal) activationProblem(c *gin.Context, err error) {
	if domain.ErrorCode(err) == domain.EINTERNAL {
		p.internalError(c, err)
		return
	}
	lang := p.lang(c)
	status := StatusOf(err)
	v := pages.NewErrorView(lang, status)
	v.Title = web.T(lang, "activate.problem.title")
	v.Message = translate(lang, asDomainError(err))
	switch domain.ErrorKey(err) {
	case "activation.used":
		p.forgetActivation(c)
		v.BackURL, v.BackLabel = web.LoginPath, web.T(lang, "header.login")
	case "activation.cpr_mismatch", "activation.no_cpr", "activation.birth_date_mismatch":
		// The link is still good; the way on is logging in as the right
		// person (which replaces this login).
		v.BackURL, v.BackLabel = loginURL(PurposeActivate, ActivatePath), web.T(lang, "activate.login.other")
	case "activation.expired", "activation.not_found":
		p.forgetActivation(c)
	}
	render(c, status, pages.Error(v))
}

func asDomainError(err error) *domain.Error {
	return &domain.Error{Code: domain.ErrorCode(err), Key: domain.ErrorKey(err), Message: domain.ErrorMessage(err)}
}

func (p *Portal) activatePage(c *gin.Context) {
	if p.Onboarding == nil {
		p.renderError(c, http.StatusNotFound)
		return
	}
	token := activationToken(c)
	info, err := p.Onboarding.FindActivation(c.Request.Context(), token)
	if err != nil {
		p.activationProblem(c, err)
		return
	}
	lang := p.lang(c)
	v := pages.ActivateView{Lang: lang, Token: token, OrgName: info.OrgName, UserName: info.UserName,
		NeedsCode: info.NeedsCode, ExpiresAt: domain.FormatDate(info.ExpiresAt, lang),
		LoginURL: loginURL(PurposeActivate, ActivatePath)}
	if a, ok := p.Sessions.Account(c.Request.Context()); ok && p.Broker != nil && a.Level >= p.level(PurposeActivate) {
		v.SignedIn, v.PersonName = true, a.Name
	} else {
		p.rememberActivation(c, token)
	}
	render(c, http.StatusOK, pages.Activate(v))
}

func (p *Portal) activateSubmit(c *gin.Context) {
	if p.Onboarding == nil {
		p.renderError(c, http.StatusNotFound)
		return
	}
	ctx := c.Request.Context()
	token := c.PostForm("token")
	a, ok := p.Sessions.Account(ctx)
	if !ok || p.Broker == nil || a.Level < p.level(PurposeActivate) {
		p.rememberActivation(c, token)
		c.Redirect(http.StatusSeeOther, loginURL(PurposeActivate, ActivatePath))
		return
	}
	user, err := p.Onboarding.Activate(ctx, postgres.ActivateRequest{
		Secret: token, Issuer: a.Issuer, Subject: a.Subject, CPRHash: a.CPRHash, BirthDate: a.BirthDate,
		Code: c.PostForm("code"), RequestID: server.RequestID(c),
	})
	if err != nil {
		if domain.ErrorCode(err) == domain.EINVALID {
			// A missing or wrong code: the same page again, with the field's error.
			info, ferr := p.Onboarding.FindActivation(ctx, token)
			if ferr != nil {
				p.activationProblem(c, ferr)
				return
			}
			lang := p.lang(c)
			render(c, http.StatusBadRequest, pages.Activate(pages.ActivateView{Lang: lang, Token: token, OrgName: info.OrgName,
				UserName: info.UserName, NeedsCode: info.NeedsCode, ExpiresAt: domain.FormatDate(info.ExpiresAt, lang),
				SignedIn: true, PersonName: a.Name, Errors: fieldErrors(lang, err)}))
			return
		}
		p.activationProblem(c, err)
		return
	}
	org, err := p.Orgs.FindOrganisationByID(ctx, user.OrgID)
	if err != nil {
		p.internalError(c, err)
		return
	}
	// The new identity is the one the person goes on with, if the login is
	// strong enough for administration; otherwise the portal asks for more
	// (a step-up login, after which the identity is chosen as usual).
	if a.Level >= p.level(PurposeAdmin) {
		if err := p.act(c, a, identity{User: user, Org: org}); err != nil {
			p.internalError(c, err)
			return
		}
	}
	p.forgetActivation(c)
	c.Redirect(http.StatusSeeOther, OverviewPath+"?activated=1")
}
