package portal

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/pages"
)

// mountSystems adds a service provider's pages: its IT systems and the
// privileges it publishes for them.
func (p *Portal) mountSystems(g *gin.RouterGroup) {
	g.GET(SystemsPath, p.systemsList)
	g.POST(SystemsPath, p.systemCreate)
	g.GET(SystemsPath+"/:id", p.systemDetail)
	g.POST(SystemsPath+"/:id", p.systemUpdate)
	g.POST(SystemsPath+"/:id/privileges", p.privilegePublish)
	g.GET(SystemsPath+"/:id/privileges/:privilege", p.privilegeEdit)
	g.POST(SystemsPath+"/:id/privileges/:privilege", p.privilegeUpdate)
}

var systemResource = authz.Resource{Type: "itsystem"}

// requireSystems is the acting identity when the policy lets it manage the
// organisation's IT systems; otherwise it has answered.
func (p *Portal) requireSystems(c *gin.Context) (actor, bool) {
	act, ok := p.requireIdentity(c)
	if !ok || !p.authorize(c, act, authz.ActionITSystemManage, systemResource, authz.Context{}) {
		return actor{}, false
	}
	return act, true
}

func (p *Portal) systemsList(c *gin.Context) {
	act, ok := p.requireSystems(c)
	if !ok {
		return
	}
	p.renderSystems(c, act, http.StatusOK, pages.SystemFormValues{}, nil)
}

func (p *Portal) renderSystems(c *gin.Context, act actor, status int, form pages.SystemFormValues, errs []pages.FieldError) {
	lang := p.lang(c)
	list, err := p.Rights.ListITSystems(c.Request.Context(), act.Org.ID)
	if err != nil {
		p.internalError(c, err)
		return
	}
	v := pages.SystemsView{Frame: p.frame(c, act, web.T(lang, "systems.title"), SystemsPath), Form: form, Errors: errs}
	for _, s := range list {
		v.Systems = append(v.Systems, pages.SystemLine{ID: s.System.ID.String(), Name: s.System.Name, Description: s.System.Description,
			Status: s.System.Status, Privileges: s.Privileges, ActivePrivileges: s.ActivePrivileges})
	}
	render(c, status, pages.Systems(v))
}

func systemForm(c *gin.Context) pages.SystemFormValues {
	return pages.SystemFormValues{Name: strings.TrimSpace(c.PostForm("name")), Description: strings.TrimSpace(c.PostForm("description")),
		Status: c.PostForm("status")}
}

func (p *Portal) systemCreate(c *gin.Context) {
	act, ok := p.requireSystems(c)
	if !ok {
		return
	}
	form := systemForm(c)
	sys := &domain.ITSystem{OrgID: act.Org.ID, Name: form.Name, Description: form.Description}
	if err := p.Rights.RegisterITSystem(c.Request.Context(), p.actorOf(c, act), sys); err != nil {
		if isFormError(err) {
			p.renderSystems(c, act, formStatus(err), form, fieldErrors(p.lang(c), err))
			return
		}
		p.internalError(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, withDone(SystemsPath+"/"+sys.ID.String(), "systems.done.created"))
}

// loadSystem finds one of the organisation's own IT systems: another
// organisation's is a 404.
func (p *Portal) loadSystem(c *gin.Context, act actor) (*domain.ITSystem, bool) {
	return loadOwn(p, c, act, p.Rights.FindITSystem)
}

func (p *Portal) systemDetail(c *gin.Context) {
	act, ok := p.requireSystems(c)
	if !ok {
		return
	}
	sys, ok := p.loadSystem(c, act)
	if !ok {
		return
	}
	p.renderSystem(c, act, sys, http.StatusOK, pages.SystemFormValues{Name: sys.Name, Description: sys.Description, Status: sys.Status}, nil,
		pages.PrivilegeFormValues{MinLoA: domain.LoASubstantial, GroupAssignable: true, NeedsApproval: true}, nil)
}

// privilegeChoices are the levels and known constraint types the
// privilege form offers.
func privilegeChoices(lang string) pages.PrivilegeFormChoices {
	var ch pages.PrivilegeFormChoices
	for _, l := range []string{domain.LoALow, domain.LoASubstantial, domain.LoAHigh} {
		ch.LoAs = append(ch.LoAs, pages.Choice{Value: l, Label: loaText(lang, l)})
	}
	for _, t := range domain.KnownConstraintTypes {
		ch.KnownConstraints = append(ch.KnownConstraints, pages.Choice{Value: t, Label: constraintLabel(lang, t)})
	}
	return ch
}

func (p *Portal) renderSystem(c *gin.Context, act actor, sys *domain.ITSystem, status int, form pages.SystemFormValues, errs []pages.FieldError,
	publish pages.PrivilegeFormValues, publishErrs []pages.FieldError) {
	lang := p.lang(c)
	privs, err := p.Rights.ListPrivilegesOfSystem(c.Request.Context(), act.Org.ID, sys.ID)
	if err != nil {
		p.internalError(c, err)
		return
	}
	v := pages.SystemView{Frame: p.frame(c, act, sys.Name, SystemsPath), ID: sys.ID.String(), Name: sys.Name, Description: sys.Description,
		Status: sys.Status, Notice: doneNotice(c, lang, "systems.done."), Form: form, Errors: errs, Publish: publish, PublishErrors: publishErrs,
		CanPublish: p.may(c, act, authz.ActionPrivilegePublish, authz.Resource{Type: "privilege"}), Choices: privilegeChoices(lang)}
	for _, pr := range privs {
		v.Privileges = append(v.Privileges, catalogueLine(lang, pr, sys.Name, act.Org.Name))
	}
	render(c, status, pages.System(v))
}

func (p *Portal) systemUpdate(c *gin.Context) {
	act, ok := p.requireSystems(c)
	if !ok {
		return
	}
	sys, ok := p.loadSystem(c, act)
	if !ok {
		return
	}
	form := systemForm(c)
	updated := &domain.ITSystem{ID: sys.ID, OrgID: act.Org.ID, Name: form.Name, Description: form.Description, Status: form.Status}
	if err := p.Rights.UpdateITSystem(c.Request.Context(), p.actorOf(c, act), updated); err != nil {
		if isFormError(err) {
			p.renderSystem(c, act, sys, formStatus(err), form, fieldErrors(p.lang(c), err),
				pages.PrivilegeFormValues{MinLoA: domain.LoASubstantial, GroupAssignable: true, NeedsApproval: true}, nil)
			return
		}
		p.notFound(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, withDone(SystemsPath+"/"+sys.ID.String(), "systems.done.updated"))
}

// privilegeFromForm reads the privilege form into p.
func privilegeFromForm(c *gin.Context, pr *domain.Privilege) pages.PrivilegeFormValues {
	form := pages.PrivilegeFormValues{URI: strings.TrimSpace(c.PostForm("uri")), NameDA: strings.TrimSpace(c.PostForm("name_da")),
		NameEN: strings.TrimSpace(c.PostForm("name_en")), DescriptionDA: strings.TrimSpace(c.PostForm("description_da")),
		DescriptionEN: strings.TrimSpace(c.PostForm("description_en")), ConstraintTypes: c.PostFormArray("constraint_types"),
		OtherConstraintTypes: c.PostForm("other_constraint_types"), MinLoA: c.PostForm("min_loa"),
		GroupAssignable: c.PostForm("group_assignable") == "yes", NeedsApproval: c.PostForm("needs_approval") == "yes",
		Status: c.PostForm("status")}
	types := slices.Clone(form.ConstraintTypes)
	types = append(types, strings.Fields(form.OtherConstraintTypes)...)
	pr.URI, pr.NameDA, pr.NameEN, pr.DescriptionDA, pr.DescriptionEN = form.URI, form.NameDA, form.NameEN, form.DescriptionDA, form.DescriptionEN
	pr.ConstraintTypes, pr.MinLoA, pr.GroupAssignable, pr.NeedsApproval, pr.Status = types, form.MinLoA, form.GroupAssignable, form.NeedsApproval, form.Status
	return form
}

// privilegeFormValues is a stored privilege in the form: the known
// constraint types as ticks, any others one a line.
func privilegeFormValues(pr *domain.Privilege) pages.PrivilegeFormValues {
	form := pages.PrivilegeFormValues{URI: pr.URI, NameDA: pr.NameDA, NameEN: pr.NameEN, DescriptionDA: pr.DescriptionDA,
		DescriptionEN: pr.DescriptionEN, MinLoA: pr.MinLoA, GroupAssignable: pr.GroupAssignable, NeedsApproval: pr.NeedsApproval, Status: pr.Status}
	var other []string
	for _, t := range pr.ConstraintTypes {
		if slices.Contains(domain.KnownConstraintTypes, t) {
			form.ConstraintTypes = append(form.ConstraintTypes, t)
		} else {
			other = append(other, t)
		}
	}
	form.OtherConstraintTypes = strings.Join(other, "\n")
	return form
}

// privilegeFieldErrors words a privilege's problems for the form. The
// known constraint types are ticks and always well-formed, so a malformed
// type is one written on its own line.
func privilegeFieldErrors(lang string, err error) []pages.FieldError {
	var out []pages.FieldError
	for _, e := range domainErrors(err) {
		fe := pages.FieldError{Field: e.Field, Message: translate(lang, e)}
		if e.Key == "privilege.constraint_type" {
			fe.Field = "other_constraint_types"
		}
		out = append(out, fe)
	}
	return out
}

func (p *Portal) privilegePublish(c *gin.Context) {
	act, ok := p.requireSystems(c)
	if !ok || !p.authorize(c, act, authz.ActionPrivilegePublish, authz.Resource{Type: "privilege"}, authz.Context{}) {
		return
	}
	sys, ok := p.loadSystem(c, act)
	if !ok {
		return
	}
	pr := &domain.Privilege{OrgID: act.Org.ID, ITSystemID: sys.ID}
	form := privilegeFromForm(c, pr)
	if err := p.Rights.PublishOwnPrivilege(c.Request.Context(), p.actorOf(c, act), pr); err != nil {
		if isFormError(err) {
			p.renderSystem(c, act, sys, formStatus(err), pages.SystemFormValues{Name: sys.Name, Description: sys.Description, Status: sys.Status}, nil,
				form, privilegeFieldErrors(p.lang(c), err))
			return
		}
		p.notFound(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, withDone(SystemsPath+"/"+sys.ID.String(), "systems.done.published"))
}

// loadOwnPrivilege finds the privilege the path names among the system's:
// another organisation's, or another system's, is a 404.
func (p *Portal) loadOwnPrivilege(c *gin.Context, act actor, sys *domain.ITSystem) (*domain.Privilege, bool) {
	id, err := uuid.Parse(c.Param("privilege"))
	if err != nil {
		p.renderError(c, http.StatusNotFound)
		return nil, false
	}
	pr, err := p.Rights.FindOwnPrivilege(c.Request.Context(), act.Org.ID, id)
	if err == nil && pr.ITSystemID != sys.ID {
		err = &domain.Error{Code: domain.ENOTFOUND, Message: "Not found."}
	}
	if err != nil {
		p.notFound(c, err)
		return nil, false
	}
	return pr, true
}

func (p *Portal) privilegeEdit(c *gin.Context) {
	act, ok := p.requireSystems(c)
	if !ok || !p.authorize(c, act, authz.ActionPrivilegePublish, authz.Resource{Type: "privilege"}, authz.Context{}) {
		return
	}
	sys, ok := p.loadSystem(c, act)
	if !ok {
		return
	}
	pr, ok := p.loadOwnPrivilege(c, act, sys)
	if !ok {
		return
	}
	p.renderPrivilegeEdit(c, act, sys, pr, http.StatusOK, privilegeFormValues(pr), nil)
}

func (p *Portal) renderPrivilegeEdit(c *gin.Context, act actor, sys *domain.ITSystem, pr *domain.Privilege, status int,
	form pages.PrivilegeFormValues, errs []pages.FieldError) {
	lang := p.lang(c)
	form.URI = pr.URI
	render(c, status, pages.PrivilegeEdit(pages.PrivilegeEditView{Frame: p.frame(c, act, web.T(lang, "systems.privilege.edit.title"), SystemsPath),
		SystemID: sys.ID.String(), SystemName: sys.Name, ID: pr.ID.String(), Form: form, Errors: errs, Choices: privilegeChoices(lang)}))
}

func (p *Portal) privilegeUpdate(c *gin.Context) {
	act, ok := p.requireSystems(c)
	if !ok || !p.authorize(c, act, authz.ActionPrivilegePublish, authz.Resource{Type: "privilege"}, authz.Context{}) {
		return
	}
	sys, ok := p.loadSystem(c, act)
	if !ok {
		return
	}
	cur, ok := p.loadOwnPrivilege(c, act, sys)
	if !ok {
		return
	}
	pr := &domain.Privilege{ID: cur.ID, OrgID: act.Org.ID}
	form := privilegeFromForm(c, pr)
	if err := p.Rights.UpdatePrivilege(c.Request.Context(), p.actorOf(c, act), pr); err != nil {
		if isFormError(err) {
			p.renderPrivilegeEdit(c, act, sys, cur, formStatus(err), form, privilegeFieldErrors(p.lang(c), err))
			return
		}
		p.notFound(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, withDone(SystemsPath+"/"+sys.ID.String(), "systems.done.privilege_updated"))
}
