package portal

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/login"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/layout"
	"github.com/erhverv/erhverv/web/pages"
)

func (p *Portal) mountOverview(g *gin.RouterGroup) {
	g.GET(OverviewPath, p.overview)
}

// actor is the signed-in person acting as one of their business identities.
type actor struct {
	Account login.Account
	User    *domain.User
	Org     *domain.Organisation
}

// requireIdentity returns the acting business identity, checked afresh
// against the database on every request: a user deactivated a minute ago
// is signed out now, not when the session expires. Otherwise it answers
// (login, step-up or the organisation chooser) and reports false.
func (p *Portal) requireIdentity(c *gin.Context) (actor, bool) {
	a, ok := p.requireLogin(c, PurposeAdmin)
	if !ok {
		return actor{}, false
	}
	if !a.Acting() {
		c.Redirect(http.StatusSeeOther, ChooseOrgPath+"?return="+url.QueryEscape(c.Request.URL.RequestURI()))
		return actor{}, false
	}
	ctx := c.Request.Context()
	ids, err := p.identities(ctx, a)
	if err != nil {
		p.internalError(c, err)
		return actor{}, false
	}
	for _, id := range ids {
		if id.User.ID == a.UserID && id.Org.ID == a.OrgID {
			if !id.User.LoginStillValid(a.LoggedInAt) {
				// An administrator ended this user's sessions after this
				// login: log in with MitID again.
				if err := p.Sessions.SignOut(ctx); err != nil {
					p.internalError(c, err)
					return actor{}, false
				}
				c.Redirect(http.StatusSeeOther, loginURL(PurposeAdmin, c.Request.URL.RequestURI()))
				return actor{}, false
			}
			return actor{Account: a, User: id.User, Org: id.Org}, true
		}
	}
	// The identity is no longer usable (deactivated, deleted, organisation
	// closed): forget it and let the person choose again.
	a.UserID, a.OrgID = [16]byte{}, [16]byte{}
	if err := p.Sessions.Update(ctx, a); err != nil {
		p.internalError(c, err)
		return actor{}, false
	}
	c.Redirect(http.StatusSeeOther, ChooseOrgPath)
	return actor{}, false
}

// frame is the page frame for a signed-in identity.
func (p *Portal) frame(c *gin.Context, act actor, title, current string) layout.PageProps {
	lang := p.lang(c)
	nav := []layout.NavItem{{Label: web.T(lang, "nav.overview"), Href: OverviewPath, Current: current == OverviewPath}}
	// The menu shows what the policy allows this identity to open.
	for _, item := range []struct{ key, href, action string }{
		{"nav.users", UsersPath, authz.ActionUserRead},
		{"nav.groups", GroupsPath, authz.ActionGroupRead},
		{"nav.privileges", "/portal/privileges", authz.ActionPrivilegeRead},
		{"nav.rights", "/portal/rights", authz.ActionAssignmentRead},
		{"nav.poa", "/portal/poa", authz.ActionPOARead},
		{"nav.systems", "/portal/systems", authz.ActionITSystemManage},
		{"nav.oidc_clients", OIDCClientsPath, authz.ActionITSystemManage},
		{"nav.organisation", OrganisationPath, authz.ActionOrgRead},
		{"nav.audit", AuditPath, authz.ActionAuditRead},
		{"nav.api_clients", APIClientsPath, authz.ActionAPIClientManage},
		{"nav.webhooks", WebhooksPath, authz.ActionAPIClientManage},
	} {
		if item.href == OIDCClientsPath && p.OIDCClients == nil {
			continue // the pages are not mounted
		}
		if _, ok := p.listReach(c, act, item.action, strings.SplitN(item.action, ".", 2)[0]); ok {
			nav = append(nav, layout.NavItem{Label: web.T(lang, item.key), Href: item.href, Current: current == item.href})
		}
	}
	return layout.PageProps{Lang: lang, Title: title, UserName: act.Account.Name, OrgName: act.Org.Name,
		SwitchOrgURL: ChooseOrgPath, Nav: nav}
}

func (p *Portal) overview(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	p.renderOverview(c, act, http.StatusOK, overviewForms{})
}

// renderOverview shows the person's own page (and, for administrators, the
// organisation's dashboard); forms are the request forms as entered.
func (p *Portal) renderOverview(c *gin.Context, act actor, status int, forms overviewForms) {
	form := forms.Role
	lang := p.lang(c)
	roles, err := p.Roles.ListAdminRolesOfUser(c.Request.Context(), act.Org.ID, act.User.ID)
	if err != nil {
		p.internalError(c, err)
		return
	}
	v := pages.OverviewView{Frame: p.frame(c, act, web.T(lang, "overview.title"), OverviewPath),
		OrgName: act.Org.Name, CVR: act.Org.CVR, UserName: act.User.FullName(), UserID: act.User.ID.String(),
		Level: act.Account.Level.String(), JustActivated: c.Query("activated") == "1"}
	now := p.now()
	for _, r := range roles {
		v.Roles = append(v.Roles, pages.RoleLine{Name: web.T(lang, "role."+r.Role), Active: r.ActiveAt(now)})
	}
	// The organisation's dashboard, for those who may read its users.
	if p.may(c, act, authz.ActionUserRead, authz.Resource{Type: "user"}) {
		ctx := c.Request.Context()
		counts, err := p.Users.CountUsersByStatus(ctx, act.Org.ID)
		if err != nil {
			p.internalError(c, err)
			return
		}
		for _, st := range []string{domain.UserActive, domain.UserPending, domain.UserDeactivated} {
			v.Counts = append(v.Counts, pages.StatusCount{Status: st, Label: web.T(lang, "status."+st), N: counts[st],
				Href: UsersPath + "?status=" + st})
		}
		expiring, err := p.Onboarding.ExpiringActivations(ctx, act.Org.ID, 7*24*time.Hour, 10)
		if err != nil {
			p.internalError(c, err)
			return
		}
		for _, e := range expiring {
			v.Expiring = append(v.Expiring, pages.ExpiringLine{Href: UsersPath + "/" + e.UserID.String(), Name: e.UserName,
				ExpiresAt: domain.FormatDate(e.ExpiresAt, lang)})
		}
		v.Dashboard = true
	}
	// Requests waiting for this administrator, and the organisation's latest
	// changes, for those who may see them.
	if p.may(c, act, authz.ActionRightsRequestApprove, authz.Resource{Type: "rights_request"}) {
		pending, err := p.Administration.ListRequests(c.Request.Context(), act.Org.ID, domain.RequestPending, nil, 200)
		if err != nil {
			p.internalError(c, err)
			return
		}
		v.PendingRequests = len(pending)
		v.Dashboard = true
	}
	if p.may(c, act, authz.ActionAuditRead, authz.Resource{Type: "audit"}) {
		latest, _, err := p.Audit.ListAuditEvents(c.Request.Context(), postgres.AuditFilter{OrgID: act.Org.ID, Limit: 8})
		if err != nil {
			p.internalError(c, err)
			return
		}
		v.OrgActivity = activityLines(lang, latest)
	}
	// My requests, and asking for an administrator role or a privilege.
	own, err := p.Administration.ListRequests(c.Request.Context(), act.Org.ID, "", &act.User.ID, 20)
	if err != nil {
		p.internalError(c, err)
		return
	}
	catalogue, err := p.poaCatalogue(c.Request.Context())
	if err != nil {
		p.internalError(c, err)
		return
	}
	for _, r := range own {
		what, detail := requestWhat(lang, r, catalogue)
		v.MyRequests = append(v.MyRequests, pages.RequestLine{ID: r.ID.String(), What: what, Detail: detail,
			Reason: r.Reason, Created: domain.FormatDate(r.CreatedAt, lang), Status: web.T(lang, "request.status."+r.Status),
			Comment: r.DecisionComment})
	}
	if p.may(c, act, authz.ActionRightsRequestCreate, authz.Resource{Type: "rights_request", OwnerID: act.User.ID.String(),
		RequesterID: act.User.ID.String(), RequestKind: authz.RequestKindPrivilege}) {
		pf, err := p.privilegeRequestForm(c.Request.Context(), act, lang, forms.Privilege, poaFormConstraints(c, "constraint:"))
		if err != nil {
			p.internalError(c, err)
			return
		}
		v.PrivilegeForm = pf
	}
	if p.may(c, act, authz.ActionRightsRequestCreate, authz.Resource{Type: "rights_request", OwnerID: act.User.ID.String(),
		RequesterID: act.User.ID.String(), RequestKind: authz.RequestKindAdminRole}) {
		form.Show = true
		for _, role := range domain.AdminRoles {
			form.Roles = append(form.Roles, pages.Choice{Value: role, Label: web.T(lang, "role."+role)})
		}
	}
	// What I did lately (my page's activity).
	mine, _, err := p.Audit.ListAuditEvents(c.Request.Context(), postgres.AuditFilter{OrgID: act.Org.ID, Actor: act.User.ID.String(), Limit: 10})
	if err != nil {
		p.internalError(c, err)
		return
	}
	v.Activity = activityLines(lang, mine)
	v.RequestForm = form
	v.Requested = c.Query("requested") == "1"
	v.Granted = c.Query("granted") == "1"
	if p.may(c, act, authz.ActionRightsRequestApprove, authz.Resource{Type: "rights_request"}) {
		v.RequestsURL = RequestsPath
	}
	render(c, status, pages.Overview(v))
}
