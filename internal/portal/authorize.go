package portal

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/pages"
)

// subjectKey holds the request's subject: a page asks the policy many times
// (every control it may show), and the roles are read once per request.
const subjectKey = "portal.subject"

// subject is the acting identity as the admin policy sees it: its status and
// its administrator roles (the policy itself decides which are in force).
func (p *Portal) subject(c *gin.Context, act actor) (authz.Subject, error) {
	if s, ok := c.Get(subjectKey); ok {
		if sub, ok := s.(authz.Subject); ok && sub.UserID == act.User.ID.String() {
			return sub, nil
		}
	}
	roles, err := p.Roles.ListAdminRolesOfUser(c.Request.Context(), act.Org.ID, act.User.ID)
	if err != nil {
		return authz.Subject{}, err
	}
	s := authz.Subject{UserID: act.User.ID.String(), OrgID: act.Org.ID.String(), Status: act.User.Status}
	for _, r := range roles {
		g := authz.RoleGrant{Role: r.Role, OrgID: r.OrgID.String()}
		if r.ProductionUnitID != nil {
			g.UnitID = r.ProductionUnitID.String()
		}
		if r.ValidFrom != nil {
			g.ValidFrom = *r.ValidFrom
		}
		if r.ValidTo != nil {
			g.ValidTo = *r.ValidTo
		}
		s.Roles = append(s.Roles, g)
	}
	c.Set(subjectKey, s)
	return s, nil
}

// decisionsKey holds the request's decisions: the menu and the page often
// ask the same question (may this identity read assignments?), and each
// evaluation costs as much as a query.
const decisionsKey = "portal.decisions"

type decisionKey struct {
	subject string
	action  string
	res     authz.Resource
}

// decide asks the admin policy whether act may do action on res. Handlers
// never decide roles themselves. A question without context facts is asked
// once per request.
func (p *Portal) decide(c *gin.Context, act actor, action string, res authz.Resource, ctxFacts authz.Context) (authz.Decision, error) {
	sub, err := p.subject(c, act)
	if err != nil {
		return authz.Decision{}, err
	}
	if res.OrgID == "" {
		res.OrgID = act.Org.ID.String()
	}
	// Facts given by pointer or by the moment are not part of the key: such
	// questions are asked afresh.
	memo := ctxFacts == (authz.Context{}) && res.IsActiveOrgAdmin == nil
	key := decisionKey{subject: sub.UserID, action: action, res: res}
	var decisions map[decisionKey]authz.Decision
	if memo {
		if m, ok := c.Get(decisionsKey); ok {
			decisions, _ = m.(map[decisionKey]authz.Decision)
		}
		if d, ok := decisions[key]; ok {
			return d, nil
		}
	}
	d, err := p.Authz.Decide(c.Request.Context(), authz.Input{Subject: sub, Action: action, Resource: res, Context: ctxFacts})
	if err == nil && memo {
		if decisions == nil {
			decisions = map[decisionKey]authz.Decision{}
			c.Set(decisionsKey, decisions)
		}
		decisions[key] = d
	}
	return d, err
}

// may reports whether the policy allows action, for showing or hiding a
// control; an error counts as no.
func (p *Portal) may(c *gin.Context, act actor, action string, res authz.Resource) bool {
	d, err := p.decide(c, act, action, res, authz.Context{})
	return err == nil && d.Allow
}

// authorize asks the policy and, when it says no, answers with a 403 page
// that says why (from the decision's reasons) and reports false. Another
// organisation's object never gets this far: it is a 404 before.
func (p *Portal) authorize(c *gin.Context, act actor, action string, res authz.Resource, ctxFacts authz.Context) bool {
	d, err := p.decide(c, act, action, res, ctxFacts)
	if err != nil {
		p.internalError(c, err)
		return false
	}
	if d.Allow {
		return true
	}
	lang := p.lang(c)
	v := pages.NewErrorView(lang, http.StatusForbidden)
	v.UserName, v.OrgName = act.Account.Name, act.Org.Name
	v.Message = web.T(lang, "forbidden.lead") + " " + reasonsText(lang, d)
	v.BackURL, v.BackLabel = OverviewPath, web.T(lang, "nav.overview")
	render(c, http.StatusForbidden, pages.Error(v))
	return false
}

// reasonsText is the decision's reasons in lang, each from the catalogue by
// its code (the policy's English message when there is no translation).
func reasonsText(lang string, d authz.Decision) string {
	var parts []string
	for _, r := range d.Reasons {
		parts = append(parts, textOr(lang, "reason."+r.Code, r.Message))
	}
	return strings.Join(parts, " ")
}

// notFoundUnlessMine answers 404 for an object of another organisation,
// exactly as for one that does not exist.
func (p *Portal) notFound(c *gin.Context, err error) {
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		p.renderError(c, http.StatusNotFound)
		return
	}
	p.internalError(c, err)
}

// reach is how far an administrator's right to a list goes: the whole
// organisation (Unit nil), or one production unit for a role limited to it.
type reach struct {
	Unit *uuid.UUID
}

// listReach asks the policy whether act may do action on objects of typ in
// the whole organisation, or else in the unit of one of act's unit-limited
// roles. ok is false when neither: the caller then refuses with authorize.
func (p *Portal) listReach(c *gin.Context, act actor, action, typ string) (reach, bool) {
	if p.may(c, act, action, authz.Resource{Type: typ}) {
		return reach{}, true
	}
	sub, err := p.subject(c, act)
	if err != nil {
		return reach{}, false
	}
	for _, r := range sub.Roles {
		if r.UnitID == "" || !p.may(c, act, action, authz.Resource{Type: typ, UnitID: r.UnitID}) {
			continue
		}
		if unit, err := uuid.Parse(r.UnitID); err == nil {
			return reach{Unit: &unit}, true
		}
	}
	return reach{}, false
}
