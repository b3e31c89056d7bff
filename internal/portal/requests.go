package portal

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
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

// requestCreate: a user asks for an administrator role, with a reason.
func (p *Portal) requestCreate(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	role := c.PostForm("role")
	res := authz.Resource{Type: "rights_request", OwnerID: act.User.ID.String(), RequesterID: act.User.ID.String(),
		RequestKind: authz.RequestKindAdminRole, Role: role}
	if !p.authorize(c, act, authz.ActionRightsRequestCreate, res, authz.Context{}) {
		return
	}
	_, err := p.Administration.RequestAdminRole(c.Request.Context(), p.actorOf(c, act), act.Org.ID, role, c.PostForm("reason"))
	if err != nil {
		if code := domain.ErrorCode(err); code == domain.EINVALID || code == domain.ECONFLICT {
			p.renderOverview(c, act, StatusOf(err), pages.RequestForm{Role: role, Reason: c.PostForm("reason"), Errors: fieldErrors(p.lang(c), err)})
			return
		}
		p.internalError(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, OverviewPath+"?requested=1")
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
	v := pages.RequestsView{Frame: p.frame(c, act, web.T(lang, "requests.title"), RequestsPath), Decided: c.Query("decided")}
	if v.Decided != "approved" && v.Decided != "rejected" {
		v.Decided = ""
	}
	for _, r := range reqs {
		name := "?"
		if u, err := p.Users.FindUserByID(ctx, act.Org.ID, r.RequesterID); err == nil {
			name = u.FullName()
		}
		line := pages.RequestLine{ID: r.ID.String(), Requester: name, What: web.T(lang, "role."+r.Role), Reason: r.Reason,
			Created: domain.FormatDate(r.CreatedAt, lang), Expires: domain.FormatDate(r.ExpiresAt, lang),
			CanDecide: p.may(c, act, authz.ActionRightsRequestApprove, requestResource(r))}
		if r.ID.String() == problemFor {
			line.Errors = problem
		}
		v.Requests = append(v.Requests, line)
	}
	render(c, status, pages.Requests(v))
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
