package portal

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/pages"
)

// RequestsPath lists rights requests; POSTing to it makes one.
const RequestsPath = "/portal/requests"

func (p *Portal) mountRequests(g *gin.RouterGroup) {
	g.GET(RequestsPath, p.requestsList)
	g.POST(RequestsPath, p.requestCreate)
	g.POST(RequestsPath+"/:id/decide", p.requestDecide)
}

func requestResource(r *domain.RightsRequest) authz.Resource {
	res := authz.Resource{Type: "rights_request", ID: r.ID.String(), OrgID: r.OrgID.String(), RequesterID: r.RequesterID.String(),
		OwnerID: r.RequesterID.String(), RequestKind: r.Kind, Role: r.Role}
	if r.ProductionUnitID != nil {
		res.UnitID = r.ProductionUnitID.String()
	}
	return res
}

// overviewForms are the request forms on a person's own page, as entered.
type overviewForms struct {
	Role      pages.RequestForm
	Privilege pages.PrivilegeRequestForm
}

// requestCreate: a user asks for an administrator role or (kind=privilege)
// a privilege, with a reason.
func (p *Portal) requestCreate(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	if c.PostForm("kind") == domain.RequestPrivilege {
		p.privilegeRequestCreate(c, act)
		return
	}
	role := c.PostForm("role")
	res := authz.Resource{Type: "rights_request", OwnerID: act.User.ID.String(), RequesterID: act.User.ID.String(),
		RequestKind: authz.RequestKindAdminRole, Role: role}
	if !p.authorize(c, act, authz.ActionRightsRequestCreate, res, authz.Context{}) {
		return
	}
	_, err := p.Administration.RequestAdminRole(c.Request.Context(), p.actorOf(c, act), act.Org.ID, role, c.PostForm("reason"), p.lang(c))
	if err != nil {
		if code := domain.ErrorCode(err); code == domain.EINVALID || code == domain.ECONFLICT {
			p.renderOverview(c, act, StatusOf(err), overviewForms{Role: pages.RequestForm{Role: role, Reason: c.PostForm("reason"), Errors: fieldErrors(p.lang(c), err)}})
			return
		}
		p.internalError(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, OverviewPath+"?requested=1")
}

// privilegeRequestCreate: a user asks for a privilege of the catalogue, for
// a scope of the organisation, with optional constraint values.
func (p *Portal) privilegeRequestCreate(c *gin.Context, act actor) {
	res := authz.Resource{Type: "rights_request", OwnerID: act.User.ID.String(), RequesterID: act.User.ID.String(),
		RequestKind: authz.RequestKindPrivilege}
	if !p.authorize(c, act, authz.ActionRightsRequestCreate, res, authz.Context{}) {
		return
	}
	lang := p.lang(c)
	form := pages.PrivilegeRequestForm{Privilege: c.PostForm("privilege"), Scope: c.PostForm("scope"), Reason: c.PostForm("reason")}
	var errs domain.ValidationErrors
	pr := postgres.PrivilegeRequest{Reason: form.Reason, ConstraintValues: poaFormConstraints(c, "constraint:")}
	if id, err := uuid.Parse(form.Privilege); err == nil {
		pr.PrivilegeID = id
	} else {
		errs.Add(domain.Invalid("privilege", "request.privilege", "Choose the privilege you request from the list."))
	}
	pr.Scope = poaParseScope(form.Scope, &errs)
	err := errs.Err()
	var req *domain.RightsRequest
	if err == nil {
		req, err = p.Administration.RequestPrivilege(c.Request.Context(), p.actorOf(c, act), act.Org.ID, pr, lang)
	}
	if err != nil {
		if isFormError(err) {
			form.Errors = fieldErrors(lang, err)
			for i := range form.Errors {
				if form.Errors[i].Field == "reason" {
					form.Errors[i].Field = "privilege_reason" // the role form has the "reason" field
				}
			}
			p.renderOverview(c, act, formStatus(err), overviewForms{Privilege: form})
			return
		}
		p.internalError(c, err)
		return
	}
	if req.Status == domain.RequestApproved {
		c.Redirect(http.StatusSeeOther, OverviewPath+"?granted=1#requests")
		return
	}
	c.Redirect(http.StatusSeeOther, OverviewPath+"?requested=1#requests")
}

// privilegeRequestForm fills the privilege request form's choices: the
// active catalogue, the organisation's scopes and an input per constraint
// type the catalogue's privileges declare.
func (p *Portal) privilegeRequestForm(ctx context.Context, act actor, lang string, form pages.PrivilegeRequestForm, values map[string]string) (pages.PrivilegeRequestForm, error) {
	privs, err := p.Rights.ListPrivileges(ctx)
	if err != nil {
		return form, err
	}
	scopes, err := p.poaScopeChoices(ctx, act.Org, lang)
	if err != nil {
		return form, err
	}
	form.Show, form.Scopes = true, scopes
	declaredBy := map[string][]string{}
	for _, pr := range privs {
		if pr.Status != "active" {
			continue
		}
		form.Privileges = append(form.Privileges, pages.Choice{Value: pr.ID.String(), Label: poaPrivilegeName(pr, lang) + " (" + pr.URI + ")"})
		for _, typ := range pr.ConstraintTypes {
			declaredBy[typ] = append(declaredBy[typ], poaPrivilegeName(pr, lang))
		}
	}
	types := make([]string, 0, len(declaredBy))
	for typ := range declaredBy {
		types = append(types, typ)
	}
	slices.Sort(types)
	for _, typ := range types {
		name := "constraint:" + typ
		form.Constraints = append(form.Constraints, pages.PoAConstraintInput{Name: name, Label: poaConstraintLabel(lang, typ),
			Hint: web.T(lang, "requests.constraint.hint") + " " + strings.Join(declaredBy[typ], ", ") + ".", Value: values[typ],
			Error: poaErrorFor(form.Errors, name)})
	}
	return form, nil
}

// requestsList shows the pending requests to those who decide them.
func (p *Portal) requestsList(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok || !p.authorize(c, act, authz.ActionRightsRequestApprove, authz.Resource{Type: "rights_request"}, authz.Context{}) {
		return
	}
	p.renderRequests(c, act, http.StatusOK, "", nil)
}

func (p *Portal) renderRequests(c *gin.Context, act actor, status int, problemFor string, problem []pages.FieldError) {
	ctx := c.Request.Context()
	lang := p.lang(c)
	reqs, err := p.Administration.ListRequests(ctx, act.Org.ID, domain.RequestPending, nil, 200)
	if err != nil {
		p.internalError(c, err)
		return
	}
	catalogue, err := p.poaCatalogue(ctx)
	if err != nil {
		p.internalError(c, err)
		return
	}
	v := pages.RequestsView{Frame: p.frame(c, act, web.T(lang, "requests.title"), RequestsPath), Decided: c.Query("decided")}
	if v.Decided != "approved" && v.Decided != "rejected" {
		v.Decided = ""
	}
	for _, r := range reqs {
		name := "?"
		if u, err := p.Users.FindUserByID(ctx, act.Org.ID, r.RequesterID); err == nil {
			name = u.FullName()
		}
		what, detail := requestWhat(lang, r, catalogue)
		line := pages.RequestLine{ID: r.ID.String(), Requester: name, What: what, Detail: detail, Reason: r.Reason,
			Created: domain.FormatDate(r.CreatedAt, lang), Expires: domain.FormatDate(r.ExpiresAt, lang),
			CanDecide: p.may(c, act, authz.ActionRightsRequestApprove, requestResource(r))}
		if r.ID.String() == problemFor {
			line.Errors = problem
		}
		v.Requests = append(v.Requests, line)
	}
	render(c, status, pages.Requests(v))
}

// requestWhat says what a request is for: the role, or the privilege with
// its scope and constraint values.
func requestWhat(lang string, r *domain.RightsRequest, catalogue map[uuid.UUID]*domain.Privilege) (what, detail string) {
	if r.Kind == domain.RequestAdminRole {
		return web.T(lang, "role."+r.Role), ""
	}
	what = "?"
	if r.PrivilegeID != nil {
		if pr := catalogue[*r.PrivilegeID]; pr != nil {
			what = poaPrivilegeName(pr, lang)
		}
	}
	var parts []string
	if r.Scope != nil {
		parts = append(parts, poaScopeText(lang, *r.Scope))
	}
	if cv := poaConstraintsText(lang, r.ConstraintValues); cv != "" {
		parts = append(parts, cv)
	}
	return what, strings.Join(parts, " · ")
}

func (p *Portal) requestDecide(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		p.renderError(c, http.StatusNotFound)
		return
	}
	r, err := p.Administration.FindRequest(c.Request.Context(), act.Org.ID, id)
	if err != nil {
		p.notFound(c, err)
		return
	}
	decision := c.PostForm("decision")
	action := map[string]string{"approve": authz.ActionRightsRequestApprove, "reject": authz.ActionRightsRequestReject}[decision]
	if action == "" {
		p.renderError(c, http.StatusBadRequest)
		return
	}
	if !p.authorize(c, act, action, requestResource(r), authz.Context{}) {
		return
	}
	err = p.Administration.DecideRequest(c.Request.Context(), p.actorOf(c, act), act.Org.ID, id, decision == "approve", c.PostForm("comment"), p.lang(c))
	if err != nil {
		switch domain.ErrorCode(err) {
		case domain.EINVALID, domain.ECONFLICT, domain.EFORBIDDEN:
			p.renderRequests(c, act, StatusOf(err), id.String(), fieldErrors(p.lang(c), err))
		default:
			p.internalError(c, err)
		}
		return
	}
	c.Redirect(http.StatusSeeOther, RequestsPath+"?decided="+map[bool]string{true: "approved", false: "rejected"}[decision == "approve"])
}
