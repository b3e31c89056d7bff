package portal

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/bpp"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/rights"
	"github.com/erhverv/erhverv/internal/server"
	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/pages"
)

// myRights is the acting identity's own rights page.
func (p *Portal) myRights(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	c.Redirect(http.StatusSeeOther, UsersPath+"/"+act.User.ID.String()+"/rights")
}

// userRights shows every privilege the user holds, with why (directly,
// through a group, from a power of attorney) and until when, the grants
// not in effect with the reason, and the direct assignments an
// administrator manages. A user may see their own (self.read).
func (p *Portal) userRights(c *gin.Context) {
	act, u, ok := p.loadRightsHolder(c)
	if !ok {
		return
	}
	self := u.ID == act.User.ID
	readRes := assignmentResource(u.ProductionUnitID)
	lang := p.lang(c)
	ctx := c.Request.Context()
	v := pages.UserRightsView{UserID: u.ID.String(), Name: displayName(lang, u), Self: self, BackURL: UsersPath + "/" + u.ID.String(),
		ReturnTo: UsersPath + "/" + u.ID.String() + "/rights"}
	current := UsersPath
	if self {
		v.BackURL, current = OverviewPath, OverviewPath
	}
	if v.Notice = doneNotice(c, lang, "assign.done."); v.Notice == "" {
		v.Notice = doneNotice(c, lang, "rights.done.")
	}
	title := web.T(lang, "userrights.heading.self")
	if !self {
		title = web.T(lang, "userrights.heading") + " " + v.Name
	}
	v.Frame = p.frame(c, act, title, current)

	effective, err := p.Runtime.Effective(ctx, u.ID, "", p.now())
	if err != nil {
		// The page still shows the assignments; the explanation waits.
		p.log.LogAttrs(ctx, slog.LevelError, "effective rights", slog.String("request_id", server.RequestID(c)), slog.String("error", err.Error()))
		v.EffectiveProblem = web.T(lang, "userrights.effective.problem")
	}
	seen := map[uuid.UUID]bool{}
	for _, e := range effective {
		l := effectiveLine(lang, e, act.Org.Name)
		if e.InEffect {
			v.InEffect = append(v.InEffect, l)
			if sys := e.Grant.Privilege.ITSystemID; !seen[sys] {
				seen[sys] = true
				v.Documents = append(v.Documents, pages.Choice{Label: e.Grant.Privilege.ITSystemName,
					Value: UsersPath + "/" + u.ID.String() + "/rights/privileges.xml?system=" + sys.String()})
			}
		} else {
			v.NotInEffect = append(v.NotInEffect, l)
		}
	}

	// The direct assignments, for those who may read them; removing and
	// assigning as the policy allows.
	if p.may(c, act, authz.ActionAssignmentRead, readRes) {
		v.ShowDirect = true
		views, _, err := p.Rights.ListAssignments(ctx, postgres.AssignmentFilter{OrgID: act.Org.ID, UserID: &u.ID, Limit: 500})
		if err != nil {
			p.internalError(c, err)
			return
		}
		v.Direct = p.assignmentLines(c, act, views)
		if p.may(c, act, authz.ActionAssignmentCreate, readRes) {
			entries, _, err := p.Rights.SearchPrivileges(ctx, postgres.PrivilegeFilter{Limit: 500})
			if err != nil {
				p.internalError(c, err)
				return
			}
			for _, e := range entries {
				v.Assignable = append(v.Assignable, pages.Choice{Value: e.Privilege.ID.String(),
					Label: privilegeName(lang, e.Privilege.NameDA, e.Privilege.NameEN) + " · " + e.SystemName + " (" + e.Privilege.URI + ")"})
			}
		}
	}
	render(c, http.StatusOK, pages.UserRights(v))
}

// loadRightsHolder finds the user whose rights a page shows: a user of the
// acting organisation the acting identity may read the rights of (an
// employee their own, through self.read). Deleted users hold nothing to show.
func (p *Portal) loadRightsHolder(c *gin.Context) (actor, *domain.User, bool) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return actor{}, nil, false
	}
	u, ok := p.loadUser(c, act)
	if !ok {
		return actor{}, nil, false
	}
	readRes := assignmentResource(u.ProductionUnitID)
	if u.ID == act.User.ID && !p.may(c, act, authz.ActionAssignmentRead, readRes) {
		if !p.authorize(c, act, authz.ActionSelfRead, authz.Resource{Type: "user", ID: u.ID.String(), OwnerID: u.ID.String()}, authz.Context{}) {
			return actor{}, nil, false
		}
	} else if !p.authorize(c, act, authz.ActionAssignmentRead, readRes, authz.Context{}) {
		return actor{}, nil, false
	}
	if u.Status == domain.UserDeleted {
		p.renderError(c, http.StatusNotFound)
		return actor{}, nil, false
	}
	return act, u, true
}

// userPrivilegeDocument is the OIO Basic Privilege Profile document of the
// user's privileges in one IT system: what a login to that system at a
// sufficient level carries, for a service provider or an integrator to
// compare with what their system received.
func (p *Portal) userPrivilegeDocument(c *gin.Context) {
	_, u, ok := p.loadRightsHolder(c)
	if !ok {
		return
	}
	system, err := uuid.Parse(c.Query("system"))
	if err != nil {
		p.problem(c, http.StatusBadRequest, "userrights.document.system", UsersPath+"/"+u.ID.String()+"/rights", "userrights.heading.self")
		return
	}
	effective, err := p.Runtime.Effective(c.Request.Context(), u.ID, "", p.now())
	if err != nil {
		p.internalError(c, err)
		return
	}
	doc, err := bpp.Marshal(rights.Profile(effective, system))
	if err != nil {
		p.internalError(c, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="privileges-`+system.String()+`.xml"`)
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "application/xml; charset=utf-8", doc)
}

// effectiveLine shows one grant with why the user holds it; orgName is the
// user's organisation, not named again for its own groups.
func effectiveLine(lang string, e rights.Effective, orgName string) pages.EffectiveLine {
	g := e.Grant
	l := pages.EffectiveLine{GrantID: g.ID, PrivilegeName: privilegeName(lang, g.Privilege.NameDA, g.Privilege.NameEN),
		PrivilegeURI: g.Privilege.URI, PrivilegeURL: PrivilegesPath + "/" + g.Privilege.ID.String(),
		System: strings.Trim(g.Privilege.ITSystemName+" · "+g.Privilege.ProviderName, " ·"), Scope: scopeText(lang, g.Scope),
		Constraints: constraintsText(lang, g.Constraints), InEffect: e.InEffect, Why: whyText(lang, g, orgName)}
	if g.ValidFrom != nil {
		l.From = domain.FormatDate(*g.ValidFrom, lang)
	}
	if g.ValidTo != nil {
		l.Until = domain.FormatDate(*g.ValidTo, lang)
	}
	if !e.InEffect {
		for _, r := range e.Reasons {
			l.Reasons = append(l.Reasons, textOr(lang, "rights.reason."+r.Code, r.Message))
		}
	}
	return l
}

// whyText says how the user came to hold a grant.
func whyText(lang string, g rights.Grant, orgName string) string {
	switch g.Source {
	case rights.SourceGroup:
		s := web.T(lang, "userrights.why.group")
		if g.Group != nil {
			s += " " + g.Group.Name
			if g.Group.OrgName != "" && g.Group.OrgName != orgName {
				s += " (" + g.Group.OrgName + ")"
			}
		}
		return s
	case rights.SourcePoA, rights.SourcePoAPerson:
		key := "userrights.why.poa"
		if g.Source == rights.SourcePoAPerson {
			key = "userrights.why.poa_person"
		}
		from := g.GrantorName
		if g.PoA != nil && g.PoA.GrantorName != "" {
			from = g.PoA.GrantorName
		}
		return strings.TrimSpace(web.T(lang, key) + " " + from)
	}
	s := web.T(lang, "userrights.why.direct")
	if g.GrantorName != "" {
		s += " " + web.T(lang, "userrights.why.by") + " " + g.GrantorName
	}
	return s
}
