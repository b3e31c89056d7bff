package portal

import (
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

// poaPageState is what a power of attorney's page shows beyond the power
// of attorney itself: a notice, and forms as entered with their errors.
type poaPageState struct {
	notice     string
	errors     []pages.FieldError
	comment    string
	grantScope string
	grantTo    string
	pass       poaPassForm
	passErrors []pages.FieldError
}

// poaPassForm is the pass-on form as entered.
type poaPassForm struct {
	user, privilege, scope, from, to string
	values                           map[string]string
}

func (p *Portal) renderPoA(c *gin.Context, act actor, x *postgres.PoAView, status int, st poaPageState) {
	ctx := c.Request.Context()
	lang := p.lang(c)
	now := p.now()
	given := x.OrgID == act.Org.ID
	res := poaResource(x.ID.String())
	heading := web.T(lang, "poa.heading.received") + " " + x.Grantor.Name
	if given {
		heading = web.T(lang, "poa.heading.given") + " " + x.Grantee.Name
	}
	v := pages.PoAView{Frame: p.frame(c, act, heading, PoAPath), Notice: st.notice, ID: x.ID.String(), Heading: heading,
		Status: x.Status, StatusText: poaStatusText(lang, x.PowerOfAttorney, now), Errors: st.errors, Comment: st.comment,
		GrantScope: st.grantScope, GrantTo: st.grantTo}
	fact := func(key, value, test string) {
		if value != "" {
			v.Facts = append(v.Facts, pages.PoAFact{Label: web.T(lang, key), Value: value, Test: test})
		}
	}
	person := func(id *uuid.UUID) string {
		if id == nil {
			return ""
		}
		return x.People[*id]
	}
	fact("poa.grantor", x.Grantor.Name+" (CVR "+x.Grantor.CVR+")", "poa-grantor")
	fact("poa.grantee", x.Grantee.Name+" (CVR "+x.Grantee.CVR+")", "poa-grantee")
	if x.PersonName != "" {
		fact("poa.person", x.PersonName+" ("+x.PersonEmail+")", "poa-person")
	}
	fact("poa.scope", poaScopeText(lang, x.Scope), "poa-scope")
	fact("poa.table.period", poaPeriodText(lang, x.ValidFrom, x.ValidTo), "poa-period")
	fact("poa.reason", x.Reason, "poa-reason")
	fact("poa.requested_by", person(x.RequestedBy), "poa-requested-by")
	fact("poa.granted_by", person(x.GrantedBy), "poa-granted-by")
	fact("poa.accepted_by", person(x.AcceptedBy), "poa-accepted-by")
	if x.DecidedAt != nil {
		fact("poa.rejected_by", person(x.DecidedBy)+", "+domain.FormatDate(*x.DecidedAt, lang), "poa-rejected-by")
		fact("poa.comment", x.DecisionComment, "poa-comment")
	}
	if x.EndedAt != nil {
		fact("poa.ended_by", strings.TrimPrefix(person(x.EndedBy)+", ", ", ")+domain.FormatDate(*x.EndedAt, lang), "poa-ended-by")
	}
	for _, pr := range x.Privileges {
		v.Privileges = append(v.Privileges, pages.PoAPrivilegeLine{Name: poaPrivilegeName(pr.Privilege, lang), URI: pr.Privilege.URI,
			Constraints: poaConstraintsText(lang, pr.ConstraintValues)})
	}
	lapsed := x.ValidTo != nil && !now.Before(*x.ValidTo)
	switch {
	case !given && x.Status == domain.PoAOffered:
		v.CanAccept = !lapsed && p.may(c, act, authz.ActionPOAAccept, res)
		v.CanReject = p.may(c, act, authz.ActionPOAAccept, res)
	case given && x.Status == domain.PoARequested:
		v.CanGrant = p.may(c, act, authz.ActionPOAGrant, res)
		v.CanReject = v.CanGrant
		if v.CanGrant {
			scopes, err := p.poaScopeChoices(ctx, act.Org, lang)
			if err != nil {
				p.internalError(c, err)
				return
			}
			v.Scopes = scopes
			if v.GrantScope == "" {
				v.GrantScope = x.Scope.Kind + ":" + x.Scope.Value
			}
		}
	}
	v.CanEnd = x.Open() && p.may(c, act, authz.ActionPOAEnd, res)
	if !given && (x.Status == domain.PoAActive || x.PassedOn > 0) {
		if err := p.poaPassOnView(c, act, x, &v, st, lapsed); err != nil {
			p.internalError(c, err)
			return
		}
	}
	render(c, status, pages.PoA(v))
}

// poaPassOnView fills what the grantee passed on, and the form to pass on
// more.
func (p *Portal) poaPassOnView(c *gin.Context, act actor, x *postgres.PoAView, v *pages.PoAView, st poaPageState, lapsed bool) error {
	ctx := c.Request.Context()
	lang := p.lang(c)
	v.ShowPassedOn, v.NamesPerson = true, x.NamesPerson()
	passed, err := p.PoA.ListPassedOn(ctx, act.Org.ID, x.ID)
	if err != nil {
		return err
	}
	names := map[uuid.UUID]string{}
	for _, pr := range x.Privileges {
		names[pr.Privilege.ID] = poaPrivilegeName(pr.Privilege, lang)
	}
	for _, a := range passed {
		v.PassedOn = append(v.PassedOn, pages.PassedOnLine{ID: a.Assignment.ID.String(), User: a.UserName,
			Privilege: names[a.Assignment.PrivilegeID], Scope: poaScopeText(lang, a.Assignment.Scope),
			Constraints: poaConstraintsText(lang, a.Assignment.ConstraintValues), Period: poaPeriodText(lang, a.Assignment.ValidFrom, a.Assignment.ValidTo)})
	}
	v.CanRemove = p.may(c, act, authz.ActionAssignmentRemove, authz.Resource{Type: "assignment"})
	if x.Status != domain.PoAActive || lapsed || x.NamesPerson() || !p.may(c, act, authz.ActionAssignmentCreate, authz.Resource{Type: "assignment"}) {
		return nil
	}
	v.CanPassOn = true
	users, _, err := p.Users.FindUsers(ctx, domain.UserFilter{OrgID: act.Org.ID, Limit: 1000})
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.Status == domain.UserActive || u.Status == domain.UserPending {
			v.PassUsers = append(v.PassUsers, pages.Choice{Value: u.ID.String(), Label: u.FullName() + " (" + u.Email + ")"})
		}
	}
	within := map[string][]string{}
	for _, pr := range x.Privileges {
		label := poaPrivilegeName(pr.Privilege, lang)
		v.PassPrivs = append(v.PassPrivs, pages.Choice{Value: pr.Privilege.ID.String(), Label: label})
		for _, typ := range pr.Privilege.ConstraintTypes {
			bound := web.T(lang, "poa.pass_on.unbounded")
			if val, ok := pr.ConstraintValues[typ]; ok {
				bound = val
			}
			within[typ] = append(within[typ], label+": "+bound)
		}
	}
	if x.Scope.Kind == domain.ScopeCVR {
		grantor, err := p.Orgs.FindOrganisationByID(ctx, x.OrgID)
		if err != nil {
			return err
		}
		if v.PassScopes, err = p.poaScopeChoices(ctx, grantor, lang); err != nil {
			return err
		}
	} else {
		v.PassScopes = []pages.Choice{{Value: x.Scope.Kind + ":" + x.Scope.Value, Label: poaScopeText(lang, x.Scope)}}
	}
	types := make([]string, 0, len(within))
	for typ := range within {
		types = append(types, typ)
	}
	slices.Sort(types)
	for _, typ := range types {
		name := "constraint:" + typ
		v.PassInputs = append(v.PassInputs, pages.PoAConstraintInput{Name: name, Label: poaConstraintLabel(lang, typ),
			Hint: web.T(lang, "poa.pass_on.within") + " " + strings.Join(within[typ], "; ") + ".", Value: st.pass.values[typ],
			Error: poaErrorFor(st.passErrors, name)})
	}
	v.PassUser, v.PassPriv, v.PassScope, v.PassFrom, v.PassTo, v.PassErrors = st.pass.user, st.pass.privilege, st.pass.scope, st.pass.from, st.pass.to, st.passErrors
	return nil
}

// poaProblem shows the page again with what went wrong; errors that are
// not about the input are internal.
func (p *Portal) poaProblem(c *gin.Context, act actor, id uuid.UUID, err error, st poaPageState, passOn bool) {
	switch domain.ErrorCode(err) {
	case domain.EINVALID, domain.ECONFLICT, domain.EFORBIDDEN:
	case domain.ENOTFOUND:
		if domain.ErrorField(err) == "" {
			p.notFound(c, err)
			return
		}
	default:
		p.internalError(c, err)
		return
	}
	x, ferr := p.PoA.FindPoA(c.Request.Context(), act.Org.ID, id)
	if ferr != nil {
		p.notFound(c, ferr)
		return
	}
	status := formStatus(err)
	if domain.ErrorCode(err) == domain.EFORBIDDEN {
		status = http.StatusForbidden
	}
	if passOn {
		st.passErrors = fieldErrors(p.lang(c), err)
	} else {
		st.errors = fieldErrors(p.lang(c), err)
	}
	p.renderPoA(c, act, x, status, st)
}
