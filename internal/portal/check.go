package portal

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

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

	q, errs := p.checkQuestion(c, act, form)
	if len(errs) == 0 {
		d, err := p.Runtime.Decide(c.Request.Context(), q)
		switch {
		case err == nil:
			v.Result = &pages.CheckResult{Allow: d.Allow}
			for _, r := range d.Reasons {
				v.Result.Reasons = append(v.Result.Reasons, pages.CheckReason{Code: r.Code, Text: reasonText(lang, r)})
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
func (p *Portal) checkQuestion(c *gin.Context, act actor, form pages.CheckForm) (rights.Question, []pages.FieldError) {
	lang := p.lang(c)
	var errs []pages.FieldError
	q := rights.Question{Privilege: form.Privilege, Level: form.Level}
	user, err := p.findUserByRef(c, act, form.User)
	if err != nil {
		errs = append(errs, pages.FieldError{Field: "user", Message: web.T(lang, "check.user.unknown")})
	} else {
		q.UserID = user.ID
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
	return q, errs
}

// findUserByRef finds a user of the acting organisation by UUID or email.
func (p *Portal) findUserByRef(c *gin.Context, act actor, ref string) (*domain.User, error) {
	if id, err := uuid.Parse(ref); err == nil {
		return p.Users.FindUserByID(c.Request.Context(), act.Org.ID, id)
	}
	if ref == "" || !strings.Contains(ref, "@") {
		return nil, domain.Errorf(domain.ENOTFOUND, "no user %q", ref)
	}
	users, _, err := p.Users.FindUsers(c.Request.Context(), domain.UserFilter{OrgID: act.Org.ID, Query: ref, Limit: 5})
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		if strings.EqualFold(u.Email, ref) {
			return u, nil
		}
	}
	return nil, domain.Errorf(domain.ENOTFOUND, "no user %q", ref)
}

// reasonText is a reason in the reader's language: its code's translation
// when there is one, else the policy's own (English) message.
func reasonText(lang string, r rights.Reason) string {
	if t := web.T(lang, "rights.reason."+r.Code); t != "rights.reason."+r.Code {
		return t
	}
	return r.Message
}
