package provider

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/a-h/templ"
	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/login"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/server"
	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/pages"
)

// loginStep is where the OP library sends the browser with a new request
// (and where the broker's login returns to). It makes sure the person has
// a MitID session here at the level the service needs, lets a person with
// several business identities choose one, and answers the service.
func (p *Provider) loginStep(c *gin.Context) {
	ctx := c.Request.Context()
	a, cl, ok := p.request(c, c.Query("id"))
	if !ok {
		return
	}
	acct, signedIn := p.opts.Sessions.Account(ctx)
	if !signedIn || !p.loginSatisfies(acct, a) {
		if a.req.prompts(oidc.PromptNone) {
			p.answerError(c, a, oidc.ErrLoginRequired().WithDescription("the person must log in with MitID"))
			return
		}
		p.toBroker(c, a, signedIn)
		return
	}
	ids, err := p.opts.Grants.LoginIdentitiesOfPerson(ctx, acct.Issuer, acct.Subject)
	if err != nil {
		p.internalError(c, err)
		return
	}
	usable := make([]postgres.LoginIdentity, 0, len(ids))
	for _, id := range ids {
		if id.Usable() {
			usable = append(usable, id)
		}
	}
	switch {
	case len(usable) == 0:
		if a.req.prompts(oidc.PromptNone) {
			p.answerError(c, a, oidc.ErrAccessDenied().WithDescription("the person has no active business identity"))
			return
		}
		key := "sso.blocked.none"
		if len(ids) > 0 {
			key = "sso.blocked.deactivated"
		}
		p.log.LogAttrs(ctx, slog.LevelInfo, "service login refused", slog.String("request_id", server.RequestID(c)),
			slog.String("client_id", cl.ID.String()), slog.String("reason", key))
		v := p.view(c, a, cl, acct)
		v.Message = fmt.Sprintf(web.T(v.Lang, key), cl.ITSystemName)
		p.render(c, http.StatusForbidden, cl, pages.SSOBlocked(v))
	case len(usable) == 1 && !a.req.prompts(oidc.PromptSelectAccount):
		p.complete(c, a, cl, acct, usable[0])
	default:
		if a.req.prompts(oidc.PromptNone) {
			p.answerError(c, a, oidc.ErrInteractionRequired().WithDescription("the person must choose an organisation"))
			return
		}
		v := p.view(c, a, cl, acct)
		v.Lead = fmt.Sprintf(web.T(v.Lang, "sso.choose.lead"), cl.ITSystemName, cl.OrgName)
		for _, id := range usable {
			v.Identities = append(v.Identities, pages.IdentityChoice{OrgID: id.OrgID.String(), OrgName: id.OrgName,
				CVR: id.CVR, UserName: id.FirstName + " " + id.LastName})
		}
		p.render(c, http.StatusOK, cl, pages.SSOChoose(v))
	}
}

// choose completes the request with the organisation the person picked.
func (p *Provider) choose(c *gin.Context) {
	ctx := c.Request.Context()
	a, cl, ok := p.request(c, c.PostForm("id"))
	if !ok {
		return
	}
	acct, signedIn := p.opts.Sessions.Account(ctx)
	if !signedIn || !p.loginSatisfies(acct, a) {
		p.toBroker(c, a, signedIn)
		return
	}
	orgID, err := uuid.Parse(c.PostForm("org"))
	if err != nil {
		p.renderError(c, http.StatusBadRequest)
		return
	}
	ids, err := p.opts.Grants.LoginIdentitiesOfPerson(ctx, acct.Issuer, acct.Subject)
	if err != nil {
		p.internalError(c, err)
		return
	}
	for _, id := range ids {
		if id.OrgID == orgID && id.Usable() {
			p.complete(c, a, cl, acct, id)
			return
		}
	}
	// Not one of the person's usable identities: the answer for an
	// organisation that does not exist.
	p.renderError(c, http.StatusNotFound)
}

// cancel returns access_denied to the service: the person chose not to log
// in (or could not).
func (p *Provider) cancel(c *gin.Context) {
	a, _, ok := p.request(c, c.PostForm("id"))
	if !ok {
		return
	}
	_ = p.opts.Grants.Delete(c.Request.Context(), a.grant.ID)
	p.answerError(c, a, oidc.ErrAccessDenied().WithDescription("the person did not log in"))
}

func (p *Provider) loggedOut(c *gin.Context) {
	lang := web.NormalizeLang(c.Query("lang"))
	v := pages.NewErrorView(lang, http.StatusOK)
	v.Title, v.Message = web.T(lang, "sso.logged_out.title"), web.T(lang, "sso.logged_out.message")
	server.Page(c, http.StatusOK, pages.Error(v))
}

// request loads an open request and its client; otherwise it has answered
// with a page that sends the person back to the service.
func (p *Provider) request(c *gin.Context, rawID string) (*authRequest, *domain.OIDCClient, bool) {
	ctx := c.Request.Context()
	a, err := p.storage.grant(ctx, rawID)
	if err == nil && a.Done() {
		err = notFound("answered already")
	}
	if err != nil {
		if _, gone := err.(notFound); !gone {
			p.internalError(c, err)
			return nil, nil, false
		}
		lang := web.NormalizeLang(c.Query("lang"))
		v := pages.NewErrorView(lang, http.StatusBadRequest)
		v.Title, v.Message = web.T(lang, "sso.request_gone.title"), web.T(lang, "sso.request_gone.message")
		server.Page(c, http.StatusBadRequest, pages.Error(v))
		return nil, nil, false
	}
	cl, err := p.storage.client(ctx, a.GetClientID())
	if err != nil {
		// The client was revoked while the person was logging in.
		p.renderError(c, http.StatusBadRequest)
		return nil, nil, false
	}
	return a, cl, true
}

// loginSatisfies reports whether the platform's session may answer the
// request: at the level it needs, and fresh enough for max_age (prompt=login
// is max_age=0). A login made for this very request always is.
func (p *Provider) loginSatisfies(acct login.Account, a *authRequest) bool {
	if domain.LoARank(acct.Level.LoA()) < domain.LoARank(a.grant.RequiredLevel) {
		return false
	}
	if a.req.MaxAge != nil && acct.LoggedInAt.Before(a.grant.CreatedAt) &&
		p.now().Sub(acct.LoggedInAt) > time.Duration(*a.req.MaxAge)*time.Second {
		return false
	}
	return true
}

// toBroker sends the person to MitID at the level the request needs (a
// step-up when there is a session below it), returning to this request.
func (p *Provider) toBroker(c *gin.Context, a *authRequest, reauthenticate bool) {
	ctx := c.Request.Context()
	if p.opts.Broker == nil {
		p.renderError(c, http.StatusServiceUnavailable)
		return
	}
	attempt, err := p.opts.Sessions.NewAttempt(ctx, login.LevelOfLoA(a.grant.RequiredLevel), "service", LoginPath+"?id="+a.GetID())
	if err != nil {
		p.internalError(c, err)
		return
	}
	if reauthenticate || a.req.prompts(oidc.PromptLogin) {
		attempt.Prompt = oidc.PromptLogin
	}
	target, err := p.opts.Broker.AuthURL(ctx, attempt)
	if err != nil {
		p.log.LogAttrs(ctx, slog.LevelError, "broker unavailable", slog.String("request_id", server.RequestID(c)), slog.String("error", err.Error()))
		p.renderError(c, http.StatusBadGateway)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusFound, target)
}

// complete answers the request with identity: the grant records the login,
// the organisation's audit log records it, and the browser goes back to
// the service with a single-use code.
func (p *Provider) complete(c *gin.Context, a *authRequest, cl *domain.OIDCClient, acct login.Account, id postgres.LoginIdentity) {
	ctx := c.Request.Context()
	if !id.LoginStillValid(acct.LoggedInAt) {
		// An administrator ended this user's sessions after this login.
		p.toBroker(c, a, true)
		return
	}
	level := acct.Level.LoA()
	authTime := acct.LoggedInAt.UTC()
	code, err := newCode()
	if err != nil {
		p.internalError(c, err)
		return
	}
	login := postgres.OIDCLogin{UserID: id.UserID, OrgID: id.OrgID, Level: level, AMR: acct.AMR, AuthTime: authTime}
	if err := p.opts.Grants.Complete(ctx, a.grant.ID, login, code, p.now().Add(codeLifetime)); err != nil {
		if domain.ErrorCode(err) == domain.ECONFLICT {
			p.renderError(c, http.StatusConflict)
			return
		}
		p.internalError(c, err)
		return
	}
	now := p.now().UTC()
	a.grant.UserID, a.grant.OrgID, a.grant.Level, a.grant.AMR = &id.UserID, &id.OrgID, level, acct.AMR
	a.grant.AuthTime, a.grant.CompletedAt = &authTime, &now
	if p.opts.Audit != nil {
		details, _ := json.Marshal(map[string]any{"client": cl.Name, "it_system": cl.ITSystemName, "level": level})
		if err := p.opts.Audit.AppendAudit(ctx, &domain.AuditEvent{OrgID: &id.OrgID, ActorID: &id.UserID,
			ActorLabel: id.FirstName + " " + id.LastName, Action: "service.login", TargetType: "oidc_client",
			TargetID: cl.ID.String(), RequestID: server.RequestID(c), Details: details}); err != nil {
			p.internalError(c, err)
			return
		}
	}
	if p.lastLogin.Due(cl.ID, now) {
		if err := p.opts.Grants.TouchLastLogin(ctx, cl.ID, now); err != nil {
			p.log.LogAttrs(ctx, slog.LevelWarn, "record the client's last login", slog.String("error", err.Error()))
		}
	}
	target, err := op.AuthResponseURL(a.GetRedirectURI(), a.GetResponseType(), a.GetResponseMode(),
		&op.CodeResponseType{Code: code, State: a.GetState()}, p.op.Encoder())
	if err != nil {
		p.answerError(c, a, err)
		return
	}
	p.log.LogAttrs(ctx, slog.LevelInfo, "service login", slog.String("request_id", server.RequestID(c)),
		slog.String("client_id", cl.ID.String()), slog.String("user_id", id.UserID.String()), slog.String("level", level))
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusSeeOther, withIss(target, p.issuer))
}

// answerError sends an error to the service's redirect URI, with iss.
func (p *Provider) answerError(c *gin.Context, a *authRequest, err error) {
	c.Writer.Header().Set("Cache-Control", "no-store")
	op.AuthRequestError(&issWriter{ResponseWriter: c.Writer, issuer: p.issuer}, c.Request, a, err, p.op)
}

func (p *Provider) view(c *gin.Context, a *authRequest, cl *domain.OIDCClient, acct login.Account) pages.SSOView {
	lang := p.lang(c, a)
	return pages.SSOView{Lang: lang, UserName: acct.Name, ServiceName: cl.ITSystemName, RequestID: a.GetID(),
		BackLabel: fmt.Sprintf(web.T(lang, "sso.back"), cl.ITSystemName)}
}

// lang is the page language: the person's choice on the page (?lang=),
// else ui_locales when the service sent one we speak, else the portal's
// choice.
func (p *Provider) lang(c *gin.Context, a *authRequest) string {
	if q := c.Query("lang"); q != "" {
		return web.NormalizeLang(q)
	}
	for _, l := range a.req.UILocales {
		if n := web.NormalizeLang(l); n == l || (len(l) > 2 && n == l[:2]) {
			return n
		}
	}
	if v, err := c.Cookie("erhverv_lang"); err == nil {
		return web.NormalizeLang(v)
	}
	return web.LangDanish
}

// render writes a page whose forms answer the service: the service's
// origin joins form-action, because browsers hold a form's redirects to it.
func (p *Provider) render(c *gin.Context, status int, cl *domain.OIDCClient, page templ.Component) {
	origins := make([]string, 0, len(cl.RedirectURIs))
	for _, raw := range cl.RedirectURIs {
		if u, err := url.Parse(raw); err == nil {
			origins = append(origins, u.Scheme+"://"+u.Host)
		}
	}
	c.Header("Content-Security-Policy", server.ContentSecurityPolicy(origins))
	server.Page(c, status, page)
}

func (p *Provider) renderError(c *gin.Context, status int) {
	server.Page(c, status, pages.Error(pages.NewErrorView(web.NormalizeLang(c.Query("lang")), status)))
}

func (p *Provider) internalError(c *gin.Context, err error) {
	p.log.LogAttrs(c.Request.Context(), slog.LevelError, "request failed", slog.String("request_id", server.RequestID(c)), slog.String("error", err.Error()))
	p.renderError(c, http.StatusInternalServerError)
}

// newCode is a single-use authorization code: 32 random bytes. Only its
// SHA-256 is stored.
func newCode() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
