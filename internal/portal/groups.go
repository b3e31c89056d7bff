package portal

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/pages"
)

// GroupsPath lists the organisation's user groups.
const GroupsPath = "/portal/groups"

func (p *Portal) mountGroups(g *gin.RouterGroup) {
	g.GET(GroupsPath, p.groupsList)
	g.POST(GroupsPath, p.groupCreate)
	g.GET(GroupsPath+"/:id", p.groupDetail)
	g.POST(GroupsPath+"/:id", p.groupUpdate)
	g.POST(GroupsPath+"/:id/delete", p.groupDelete)
	g.POST(GroupsPath+"/:id/members", p.groupAddMember)
	g.POST(GroupsPath+"/:id/members/:member/remove", p.groupRemoveMember)
}

func groupResource(g *domain.Group) authz.Resource {
	r := authz.Resource{Type: "group", ID: g.ID.String(), OrgID: g.OrgID.String()}
	if g.ProductionUnitID != nil {
		r.UnitID = g.ProductionUnitID.String()
	}
	return r
}

// groupFromForm reads the name, description and unit restriction.
func groupFromForm(c *gin.Context, g *domain.Group) (pages.GroupFormValues, error) {
	form := pages.GroupFormValues{Name: strings.TrimSpace(c.PostForm("name")), Description: strings.TrimSpace(c.PostForm("description")),
		Unit: c.PostForm("production_unit"), SE: c.PostForm("se_number")}
	g.Name, g.Description, g.ProductionUnitID, g.SENumberID = form.Name, form.Description, nil, nil
	if form.Unit != "" {
		id, err := uuid.Parse(form.Unit)
		if err != nil {
			return form, domain.Invalid("production_unit", "user.unit", "Choose one of the organisation's production units.")
		}
		g.ProductionUnitID = &id
	}
	if form.SE != "" {
		id, err := uuid.Parse(form.SE)
		if err != nil {
			return form, domain.Invalid("se_number", "group.se", "Choose one of the organisation's SE-numbers.")
		}
		g.SENumberID = &id
	}
	return form, nil
}

func (p *Portal) groupsList(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok || !p.authorize(c, act, authz.ActionGroupRead, authz.Resource{Type: "group"}, authz.Context{}) {
		return
	}
	p.renderGroups(c, act, http.StatusOK, pages.GroupFormValues{}, nil)
}

func (p *Portal) renderGroups(c *gin.Context, act actor, status int, form pages.GroupFormValues, errs []pages.FieldError) {
	lang := p.lang(c)
	groups, err := p.Groups.ListGroups(c.Request.Context(), act.Org.ID)
	if err != nil {
		p.internalError(c, err)
		return
	}
	units, err := p.unitChoices(c, act)
	if err != nil {
		p.internalError(c, err)
		return
	}
	ses, err := p.seChoices(c, act)
	if err != nil {
		p.internalError(c, err)
		return
	}
	v := pages.GroupsView{Frame: p.frame(c, act, web.T(lang, "groups.title"), GroupsPath), Units: units, SENumbers: ses, Form: form, Errors: errs,
		CanCreate: p.may(c, act, authz.ActionGroupCreate, authz.Resource{Type: "group"})}
	for _, g := range groups {
		v.Groups = append(v.Groups, pages.GroupLine{ID: g.ID.String(), Name: g.Name, Description: g.Description})
	}
	render(c, status, pages.Groups(v))
}

func (p *Portal) groupCreate(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	g := &domain.Group{OrgID: act.Org.ID}
	form, err := groupFromForm(c, g)
	if !p.authorize(c, act, authz.ActionGroupCreate, groupResource(g), authz.Context{}) {
		return
	}
	if err == nil {
		err = p.Administration.CreateGroup(c.Request.Context(), p.actorOf(c, act), g)
	}
	if err != nil {
		if isFormError(err) {
			p.renderGroups(c, act, formStatus(err), form, fieldErrors(p.lang(c), err))
			return
		}
		p.internalError(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, GroupsPath+"/"+g.ID.String()+"?done=groups.done.created")
}

// loadGroup finds a group of the acting organisation (see loadOwn).
func (p *Portal) loadGroup(c *gin.Context, act actor) (*domain.Group, bool) {
	return loadOwn(p, c, act, p.Groups.FindGroupByID)
}

func (p *Portal) groupDetail(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	g, ok := p.loadGroup(c, act)
	if !ok || !p.authorize(c, act, authz.ActionGroupRead, groupResource(g), authz.Context{}) {
		return
	}
	form := pages.GroupFormValues{Name: g.Name, Description: g.Description}
	if g.ProductionUnitID != nil {
		form.Unit = g.ProductionUnitID.String()
	}
	if g.SENumberID != nil {
		form.SE = g.SENumberID.String()
	}
	p.renderGroup(c, act, g, http.StatusOK, form, nil, pages.MemberFormValues{CVR: act.Org.CVR}, nil)
}

func (p *Portal) renderGroup(c *gin.Context, act actor, g *domain.Group, status int, form pages.GroupFormValues, errs []pages.FieldError,
	member pages.MemberFormValues, memberErrs []pages.FieldError) {
	lang := p.lang(c)
	members, err := p.Administration.ListGroupMemberViews(c.Request.Context(), act.Org.ID, g.ID)
	if err != nil {
		p.internalError(c, err)
		return
	}
	units, err := p.unitChoices(c, act)
	if err != nil {
		p.internalError(c, err)
		return
	}
	ses, err := p.seChoices(c, act)
	if err != nil {
		p.internalError(c, err)
		return
	}
	res := groupResource(g)
	v := pages.GroupView{Frame: p.frame(c, act, g.Name, GroupsPath), ID: g.ID.String(), Name: g.Name, Description: g.Description,
		Units: units, SENumbers: ses, Form: form, Errors: errs, Member: member, MemberErrors: memberErrs,
		CanEdit:          p.may(c, act, authz.ActionGroupUpdate, res),
		CanDelete:        p.may(c, act, authz.ActionGroupDelete, res),
		CanManageMembers: p.may(c, act, authz.ActionGroupMembersManage, res),
		ConfirmDelete:    c.Query("confirm") == "delete"}
	if done := c.Query("done"); strings.HasPrefix(done, "groups.done.") && web.T(lang, done) != done {
		v.Notice = web.T(lang, done)
	}
	if err := p.groupPrivileges(c, act, g, &v); err != nil {
		p.internalError(c, err)
		return
	}
	for _, m := range members {
		name := m.Name
		if m.Anonymous {
			name = web.T(lang, "groups.anonymous_member") + " " + m.UserID.String()
		}
		v.Members = append(v.Members, pages.MemberLine{ID: m.ID.String(), UserID: m.UserID.String(), Name: name, Email: m.Email,
			Org: m.OrgName + " (" + m.OrgCVR + ")", External: m.External})
	}
	render(c, status, pages.Group(v))
}

func (p *Portal) groupUpdate(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	g, ok := p.loadGroup(c, act)
	if !ok || !p.authorize(c, act, authz.ActionGroupUpdate, groupResource(g), authz.Context{}) {
		return
	}
	updated := *g
	form, err := groupFromForm(c, &updated)
	if !p.authorize(c, act, authz.ActionGroupUpdate, groupResource(&updated), authz.Context{}) {
		return
	}
	if err == nil {
		err = p.Administration.UpdateGroup(c.Request.Context(), p.actorOf(c, act), &updated)
	}
	if err != nil {
		if isFormError(err) {
			p.renderGroup(c, act, g, formStatus(err), form, fieldErrors(p.lang(c), err), pages.MemberFormValues{CVR: act.Org.CVR}, nil)
			return
		}
		p.notFound(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, GroupsPath+"/"+g.ID.String()+"?done=groups.done.updated")
}

func (p *Portal) groupDelete(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	g, ok := p.loadGroup(c, act)
	if !ok || !p.authorize(c, act, authz.ActionGroupDelete, groupResource(g), authz.Context{}) {
		return
	}
	if c.PostForm("confirm") != "yes" {
		c.Redirect(http.StatusSeeOther, GroupsPath+"/"+g.ID.String()+"?confirm=delete")
		return
	}
	if err := p.Administration.DeleteGroup(c.Request.Context(), p.actorOf(c, act), act.Org.ID, g.ID); err != nil {
		p.notFound(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, GroupsPath)
}

func (p *Portal) groupAddMember(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	g, ok := p.loadGroup(c, act)
	if !ok || !p.authorize(c, act, authz.ActionGroupMembersManage, groupResource(g), authz.Context{}) {
		return
	}
	member := pages.MemberFormValues{CVR: domain.NormalizeDigits(c.PostForm("cvr")), Email: strings.TrimSpace(c.PostForm("email"))}
	ctx := c.Request.Context()
	u, err := p.Administration.FindMemberCandidate(ctx, member.CVR, member.Email)
	// A member of this organisation must be within the administrator's
	// reach too (a unit-limited role reaches its unit's users only).
	if err == nil && u.OrgID == act.Org.ID {
		res := groupResource(g)
		res.UnitID = ""
		if u.ProductionUnitID != nil {
			res.UnitID = u.ProductionUnitID.String()
		}
		if !p.authorize(c, act, authz.ActionGroupMembersManage, res, authz.Context{}) {
			return
		}
	}
	if err == nil {
		err = p.Administration.AddGroupMember(ctx, p.actorOf(c, act), act.Org.ID, g.ID, u)
	}
	if err != nil {
		if domain.ErrorField(err) != "" {
			form := pages.GroupFormValues{Name: g.Name, Description: g.Description}
			p.renderGroup(c, act, g, formStatus(err), form, nil, member, fieldErrors(p.lang(c), err))
			return
		}
		p.notFound(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, GroupsPath+"/"+g.ID.String()+"?done=groups.done.member_added")
}

func (p *Portal) groupRemoveMember(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	g, ok := p.loadGroup(c, act)
	if !ok || !p.authorize(c, act, authz.ActionGroupMembersManage, groupResource(g), authz.Context{}) {
		return
	}
	mid, err := uuid.Parse(c.Param("member"))
	if err != nil {
		p.renderError(c, http.StatusNotFound)
		return
	}
	if err := p.Administration.RemoveGroupMember(c.Request.Context(), p.actorOf(c, act), act.Org.ID, g.ID, mid); err != nil {
		p.notFound(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, GroupsPath+"/"+g.ID.String()+"?done=groups.done.member_removed")
}

func (p *Portal) seChoices(c *gin.Context, act actor) ([]pages.Choice, error) {
	ses, err := p.Orgs.ListSENumbers(c.Request.Context(), act.Org.ID)
	if err != nil {
		return nil, err
	}
	out := make([]pages.Choice, 0, len(ses))
	for _, se := range ses {
		out = append(out, pages.Choice{Value: se.ID.String(), Label: se.SENumber + " " + se.Name})
	}
	return out, nil
}

// groupPrivileges fills in the group's privileges for those who may read
// assignments, and the privileges that may be given to it for those who
// may manage them.
func (p *Portal) groupPrivileges(c *gin.Context, act actor, g *domain.Group, v *pages.GroupView) error {
	ctx := c.Request.Context()
	res := groupResource(g)
	if !p.may(c, act, authz.ActionAssignmentRead, assignmentResource(g.ProductionUnitID)) && !p.may(c, act, authz.ActionGroupPrivilegesManage, res) {
		return nil
	}
	v.ShowPrivileges = true
	views, _, err := p.Rights.ListAssignments(ctx, postgres.AssignmentFilter{OrgID: act.Org.ID, GroupID: &g.ID, Limit: 500})
	if err != nil {
		return err
	}
	v.Privileges = p.assignmentLines(c, act, views)
	if v.CanManagePrivileges = p.may(c, act, authz.ActionGroupPrivilegesManage, res); !v.CanManagePrivileges {
		return nil
	}
	lang := p.lang(c)
	entries, _, err := p.Rights.SearchPrivileges(ctx, postgres.PrivilegeFilter{GroupAssignable: true, Limit: 500})
	if err != nil {
		return err
	}
	for _, e := range entries {
		v.AssignablePrivileges = append(v.AssignablePrivileges, pages.Choice{Value: e.Privilege.ID.String(),
			Label: privilegeName(lang, e.Privilege.NameDA, e.Privilege.NameEN) + " · " + e.SystemName + " (" + e.Privilege.URI + ")"})
	}
	return nil
}
