package portal

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"slices"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/login"
	"github.com/erhverv/erhverv/internal/server"
	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/pages"
)

// Purpose is why a person logs in; each purpose has its least level of
// assurance (administration needs Substantial).
type Purpose string

// The purposes of a login.
const (
	PurposeAdmin    Purpose = "admin"
	PurposeConnect  Purpose = "connect"
	PurposeActivate Purpose = "activate"
	// PurposeService is a login to a professional service through the
	// platform's OpenID Provider (internal/provider), which starts it and
	// takes over again at its return address.
	PurposeService Purpose = "service"
)

// Paths of the login and identity routes.
const (
	CallbackPath      = "/login/callback"
	ChooseOrgPath     = "/organisations"
	OverviewPath      = "/portal"
	ConnectPath       = "/connect"
	ActivatePath      = "/activate"
	loginFailedStatus = http.StatusUnauthorized
)

func (p *Portal) mountLogin(g *gin.RouterGroup) {
	g.GET(web.LoginPath, p.loginStart)
	g.GET(CallbackPath, p.loginCallback)
	g.POST(web.LogoutPath, p.logout)
	g.GET(ChooseOrgPath, p.chooseOrg)
	g.POST(ChooseOrgPath, p.chooseOrgSubmit)
}

func (p *Portal) level(purpose Purpose) login.Level {
	if l, ok := p.Levels[purpose]; ok && l > login.LevelNone {
		return l
	}
	return login.LevelSubstantial
}

func parsePurpose(s string) Purpose {
	switch Purpose(s) {
	case PurposeConnect, PurposeActivate:
		return Purpose(s)
	}
	return PurposeAdmin
}

// loginURL is the address that logs the person in for purpose and then
// returns them to returnTo.
func loginURL(purpose Purpose, returnTo string) string {
	q := url.Values{}
	if purpose != PurposeAdmin {
		q.Set("purpose", string(purpose))
	}
	if returnTo != "" {
		q.Set("return", returnTo)
	}
	if len(q) == 0 {
		return web.LoginPath
	}
	return web.LoginPath + "?" + q.Encode()
}

func (p *Portal) loginUnavailable(c *gin.Context) {
	p.problem(c, http.StatusServiceUnavailable, "login.unavailable", "", "")
}

// loginStart sends the browser to the broker with a fresh state, nonce and
// PKCE verifier remembered in the session.
func (p *Portal) loginStart(c *gin.Context) {
	if p.Broker == nil {
		p.loginUnavailable(c)
		return
	}
	purpose := parsePurpose(c.Query("purpose"))
	returnTo := login.SafeReturnTo(c.Query("return"), "")
	ctx := c.Request.Context()
	a, err := p.Sessions.NewAttempt(ctx, p.level(purpose), string(purpose), returnTo)
	if err != nil {
		p.internalError(c, err)
		return
	}
	target, err := p.Broker.AuthURL(ctx, a)
	if err != nil {
		p.log.LogAttrs(ctx, slog.LevelError, "broker unavailable", slog.String("request_id", server.RequestID(c)), slog.String("error", err.Error()))
		p.loginFailed(c, login.ReasonUnavailable, loginURL(purpose, returnTo))
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Redirect(http.StatusFound, target)
}

// loginCallback finishes a login: the state must be one this session
// started, the ID token must verify and reach the level asked for.
func (p *Portal) loginCallback(c *gin.Context) {
	if p.Broker == nil {
		p.loginUnavailable(c)
		return
	}
	ctx := c.Request.Context()
	attempt, ok := p.Sessions.TakeAttempt(ctx, c.Query("state"))
	if !ok {
		// A stale tab, the back button, a replay or a forged link: logged,
		// not audited, since anyone can send this request and the audit
		// chain must not be something strangers can fill.
		p.log.LogAttrs(ctx, slog.LevelWarn, "login failed", slog.String("request_id", server.RequestID(c)),
			slog.String("reason", string(login.ReasonState)), slog.String("error", "callback with a state this session did not start"))
		p.loginFailed(c, login.ReasonState, web.LoginPath)
		return
	}
	person, err := p.Broker.Finish(ctx, attempt, c.Request.URL.Query())
	if err != nil {
		reason := login.FailureReason(err)
		if reason == "" {
			reason = login.ReasonUnavailable
		}
		again := loginURL(Purpose(attempt.Purpose), attempt.ReturnTo)
		if Purpose(attempt.Purpose) == PurposeService {
			again = login.SafeReturnTo(attempt.ReturnTo, "/") // the service login starts again with its own level
		}
		p.securityFailure(c, reason, err, again)
		return
	}
	acct := login.Account{
		Issuer: person.Issuer, Subject: person.Subject, Name: person.Name(), BirthDate: person.BirthDate,
		Level: person.Level(), AMR: person.AMR, LoggedInAt: p.now(),
	}
	if person.CPR != "" && p.PII != nil {
		acct.CPRHash = p.PII.Hash(person.CPR)
		// Only the CVR register says whom a person may represent; a broker's
		// authorizedToRepresent claim is a hint, never authority to connect.
		if p.Register != nil {
			companies, err := p.Register.RepresentedBy(ctx, person.CPR)
			if err != nil {
				// The register being down must not stop administrators
				// logging in; connecting will then list nothing.
				p.log.LogAttrs(ctx, slog.LevelWarn, "cvr register lookup failed", slog.String("request_id", server.RequestID(c)), slog.String("error", err.Error()))
			}
			for _, co := range companies {
				acct.Represents = append(acct.Represents, co.CVR)
			}
		}
	}
	if hints := len(person.Represents); hints > 0 {
		p.log.LogAttrs(ctx, slog.LevelDebug, "broker asserted representation", slog.String("request_id", server.RequestID(c)),
			slog.Int("cvrs", hints), slog.Int("confirmed_by_register", len(acct.Represents)))
	}
	person.CPR = "" // from here on only the hash exists
	if err := p.Sessions.SignIn(ctx, acct); err != nil {
		p.internalError(c, err)
		return
	}
	p.log.LogAttrs(ctx, slog.LevelInfo, "login", slog.String("request_id", server.RequestID(c)),
		slog.String("subject", acct.Subject), slog.String("level", acct.Level.String()), slog.String("purpose", attempt.Purpose))

	switch Purpose(attempt.Purpose) {
	case PurposeConnect, PurposeActivate:
		c.Redirect(http.StatusSeeOther, login.SafeReturnTo(attempt.ReturnTo, ConnectPath))
		return
	case PurposeService:
		c.Redirect(http.StatusSeeOther, login.SafeReturnTo(attempt.ReturnTo, "/"))
		return
	}
	ids, err := p.identities(ctx, acct)
	if err != nil {
		p.internalError(c, err)
		return
	}
	if len(ids) == 1 {
		if err := p.act(c, acct, ids[0]); err != nil {
			p.internalError(c, err)
			return
		}
		c.Redirect(http.StatusSeeOther, login.SafeReturnTo(attempt.ReturnTo, OverviewPath))
		return
	}
	target := ChooseOrgPath
	if attempt.ReturnTo != "" {
		target += "?return=" + url.QueryEscape(attempt.ReturnTo)
	}
	c.Redirect(http.StatusSeeOther, target)
}

// identity is one business identity a person may act as.
type identity struct {
	User *domain.User
	Org  *domain.Organisation
}

// identities are the person's active business identities in active
// organisations; pending, deactivated and deleted ones cannot be used.
func (p *Portal) identities(ctx context.Context, a login.Account) ([]identity, error) {
	users, err := p.Users.FindIdentitiesOfPerson(ctx, a.Issuer, a.Subject)
	if err != nil {
		return nil, err
	}
	var out []identity
	for _, u := range users {
		if u.Status != domain.UserActive {
			continue
		}
		org, err := p.Orgs.FindOrganisationByID(ctx, u.OrgID)
		if err != nil {
			return nil, err
		}
		if org.Status != domain.OrgActive {
			continue
		}
		out = append(out, identity{User: u, Org: org})
	}
	slices.SortFunc(out, func(a, b identity) int { return compareFold(a.Org.Name, b.Org.Name) })
	return out, nil
}

// act makes id the identity the session acts as, and audits it in that
// organisation's log.
func (p *Portal) act(c *gin.Context, a login.Account, id identity) error {
	a.UserID, a.OrgID = id.User.ID, id.Org.ID
	if err := p.Sessions.Update(c.Request.Context(), a); err != nil {
		return err
	}
	return p.Audit.AppendAudit(c.Request.Context(), &domain.AuditEvent{
		OrgID: &id.Org.ID, ActorID: &id.User.ID, ActorLabel: id.User.FullName(), Action: "session.started",
		TargetType: "user", TargetID: id.User.ID.String(), RequestID: server.RequestID(c),
		Details: mustJSON(map[string]any{"level": a.Level.String(), "amr": a.AMR}),
	})
}

func (p *Portal) chooseOrg(c *gin.Context) {
	ctx := c.Request.Context()
	a, ok := p.Sessions.Account(ctx)
	if !ok {
		c.Redirect(http.StatusSeeOther, loginURL(PurposeAdmin, ChooseOrgPath))
		return
	}
	ids, err := p.identities(ctx, a)
	if err != nil {
		p.internalError(c, err)
		return
	}
	v := pages.ChooseOrgView{Lang: p.lang(c), UserName: a.Name, ReturnTo: login.SafeReturnTo(c.Query("return"), ""),
		CanConnect: len(a.Represents) > 0 && p.Register != nil}
	if a.Acting() {
		for _, id := range ids {
			if id.User.ID == a.UserID {
				v.OrgName = id.Org.Name
			}
		}
	}
	for _, id := range ids {
		v.Identities = append(v.Identities, pages.IdentityChoice{
			OrgID: id.Org.ID.String(), OrgName: id.Org.Name, CVR: id.Org.CVR, UserName: id.User.FullName(),
			Current: id.User.ID == a.UserID,
		})
	}
	render(c, http.StatusOK, pages.ChooseOrg(v))
}

func (p *Portal) chooseOrgSubmit(c *gin.Context) {
	ctx := c.Request.Context()
	a, ok := p.Sessions.Account(ctx)
	if !ok || a.Level < p.level(PurposeAdmin) {
		c.Redirect(http.StatusSeeOther, loginURL(PurposeAdmin, ChooseOrgPath))
		return
	}
	orgID, err := uuid.Parse(c.PostForm("org"))
	if err != nil {
		p.renderError(c, http.StatusBadRequest)
		return
	}
	ids, err := p.identities(ctx, a)
	if err != nil {
		p.internalError(c, err)
		return
	}
	for _, id := range ids {
		if id.Org.ID == orgID {
			if err := p.act(c, a, id); err != nil {
				p.internalError(c, err)
				return
			}
			c.Redirect(http.StatusSeeOther, login.SafeReturnTo(c.PostForm("return"), OverviewPath))
			return
		}
	}
	// Not one of the person's identities: the same answer as for an
	// organisation that does not exist.
	p.renderError(c, http.StatusNotFound)
}

// logout ends the session here and, when the broker supports it, there.
func (p *Portal) logout(c *gin.Context) {
	ctx := c.Request.Context()
	a, signedIn := p.Sessions.Account(ctx)
	if err := p.Sessions.SignOut(ctx); err != nil {
		p.internalError(c, err)
		return
	}
	if signedIn && a.Acting() {
		_ = p.Audit.AppendAudit(ctx, &domain.AuditEvent{OrgID: &a.OrgID, ActorID: &a.UserID, ActorLabel: a.Name,
			Action: "session.ended", TargetType: "user", TargetID: a.UserID.String(), RequestID: server.RequestID(c)})
	}
	target := "/"
	if signedIn && p.Broker != nil && p.BaseURL != nil {
		if u := p.Broker.LogoutURL(ctx, p.BaseURL.String()+"/"); u != "" {
			target = u
		}
	}
	c.Redirect(http.StatusSeeOther, target)
}

// securityFailure answers a failed login (one this session started) with a
// page that says what happened and offers to try again, logs it and audits
// it in the platform's own chain. Neither carries a token, a code or a CPR
// number.
func (p *Portal) securityFailure(c *gin.Context, reason login.Reason, err error, again string) {
	ctx := c.Request.Context()
	level := slog.LevelWarn
	if reason == login.ReasonDenied || reason == login.ReasonUnavailable {
		level = slog.LevelInfo
	}
	p.log.LogAttrs(ctx, level, "login failed", slog.String("request_id", server.RequestID(c)),
		slog.String("reason", string(reason)), slog.String("error", err.Error()))
	if reason != login.ReasonDenied && reason != login.ReasonUnavailable && p.Audit != nil {
		if aerr := p.Audit.AppendAudit(ctx, &domain.AuditEvent{ActorLabel: "anonymous", Action: "login.failed",
			TargetType: "login", TargetID: string(reason), RequestID: server.RequestID(c),
			Details: mustJSON(map[string]any{"reason": string(reason)})}); aerr != nil {
			p.log.LogAttrs(ctx, slog.LevelError, "audit login failure", slog.String("error", aerr.Error()))
		}
	}
	p.loginFailed(c, reason, again)
}

// loginFailed shows why a login failed; again is the login to try next.
func (p *Portal) loginFailed(c *gin.Context, reason login.Reason, again string) {
	lang := p.lang(c)
	status := loginFailedStatus
	switch reason {
	case login.ReasonUnavailable:
		status = http.StatusBadGateway
	case login.ReasonLevel:
		status = http.StatusForbidden
	}
	v := pages.NewErrorView(lang, status)
	v.Title = web.T(lang, "login.failed."+string(reason)+".title")
	v.Message = web.T(lang, "login.failed."+string(reason)+".message")
	v.BackURL, v.BackLabel = again, web.T(lang, "login.again")
	render(c, status, pages.Error(v))
}

func (p *Portal) internalError(c *gin.Context, err error) {
	p.log.LogAttrs(c.Request.Context(), slog.LevelError, "request failed", slog.String("request_id", server.RequestID(c)), slog.String("error", err.Error()))
	p.renderError(c, http.StatusInternalServerError)
}
