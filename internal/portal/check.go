package portal

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/rights"
	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/pages"
)

// CheckPath answers a rights question for one of the organisation's users,
// with the policy's reasons: what a service would be told, and why.
const CheckPath = "/portal/rights/check"

func (p *Portal) mountCheck(g *gin.RouterGroup) {
	g.GET(CheckPath, p.rightsCheck)
}

// rightsCheck is a GET form: asking changes nothing, and the address of an
// answer can be shared with a colleague.
func (p *Portal) rightsCheck(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok || !p.authorize(c, act, authz.ActionAssignmentRead, authz.Resource{Type: "assignment", OrgID: act.Org.ID.String()}, authz.Context{}) {
		return
	}
	lang := p.lang(c)
	form := pages.CheckForm{User: strings.TrimSpace(c.Query("user")), Privilege: strings.TrimSpace(c.Query("privilege")),
		Scope: c.Query("scope"), Constraints: c.Query("constraints"), Level: c.DefaultQuery("level", domain.LoASubstantial)}
	v := pages.CheckView{Frame: p.frame(c, act, web.T(lang, "check.title"), "/portal/rights"), Form: form,
		Scopes: []pages.Choice{{Value: domain.ScopeCVR + ":" + act.Org.CVR, Label: web.T(lang, "check.scope.cvr") + " " + act.Org.CVR}}}
	units, err := p.Orgs.ListProductionUnits(c.Request.Context(), act.Org.ID)
	if err != nil {
		p.internalError(c, err)
		return
	}
	for _, u := range units {
		v.Scopes = append(v.Scopes, pages.Choice{Value: domain.ScopeP + ":" + u.PNumber, Label: "P " + u.PNumber + " " + u.Name})
	}
	if form.User == "" && form.Privilege == "" {
		render(c, http.StatusOK, pages.Check(v))
		return
	}

	q, errs, err := p.checkQuestion(c, act, form)
	if err != nil {
		p.internalError(c, err)
		return
	}
	if len(errs) == 0 {
		d, err := p.Runtime.Decide(c.Request.Context(), q)
		switch {
		case err == nil:
			v.Result = &pages.CheckResult{Allow: d.Allow}
			for _, r := range d.Reasons {
				v.Result.Reasons = append(v.Result.Reasons, pages.CheckReason{Code: r.Code, Text: textOr(lang, "rights.reason."+r.Code, r.Message)})
			}
		case domain.ErrorCode(err) == domain.EINVALID || domain.ErrorCode(err) == domain.ENOTFOUND:
			errs = fieldErrors(lang, err)
		default:
			p.internalError(c, err)
			return
		}
	}
	v.Errors = errs
	status := http.StatusOK
	if len(errs) > 0 {
		status = http.StatusUnprocessableEntity
	}
	render(c, status, pages.Check(v))
}

// checkQuestion turns the form into a question about a user of the acting
// organisation; a user of another organisation is simply not found.
func (p *Portal) checkQuestion(c *gin.Context, act actor, form pages.CheckForm) (rights.Question, []pages.FieldError, error) {
	lang := p.lang(c)
	var errs []pages.FieldError
	q := rights.Question{Privilege: form.Privilege, Level: form.Level}
	users, err := p.Rights.FindUsersByRefs(c.Request.Context(), act.Org.ID, []string{form.User})
	if err != nil {
		return q, nil, err
	}
	if u, ok := users[form.User]; ok {
		q.UserID = u.ID
	} else {
		errs = append(errs, pages.FieldError{Field: "user", Message: web.T(lang, "check.user.unknown")})
	}
	if form.Privilege == "" {
		errs = append(errs, pages.FieldError{Field: "privilege", Message: web.T(lang, "check.privilege.required")})
	}
	if kind, value, ok := strings.Cut(form.Scope, ":"); ok {
		q.Scope = &domain.Scope{Kind: kind, Value: value}
	}
	q.Constraints = map[string]string{}
	for line := range strings.Lines(form.Constraints) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		typ, value, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(typ) == "" || strings.TrimSpace(value) == "" {
			errs = append(errs, pages.FieldError{Field: "constraints", Message: web.T(lang, "check.constraints.format")})
			break
		}
		q.Constraints[strings.TrimSpace(typ)] = strings.TrimSpace(value)
	}
	return q, errs, nil
}
