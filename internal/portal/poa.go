package portal

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/pages"
)

// PoAPath lists the organisation's powers of attorney, given and received.
const PoAPath = "/portal/poa"

func (p *Portal) mountPoA(g *gin.RouterGroup) {
	g.GET(PoAPath, p.poaList)
	g.POST(PoAPath, p.poaOffer)
	g.GET(PoAPath+"/new", p.poaOfferForm)
	g.GET(PoAPath+"/ask", p.poaAskForm)
	g.POST(PoAPath+"/ask", p.poaAsk)
	g.GET(PoAPath+"/:id", p.poaShow)
	g.POST(PoAPath+"/:id/accept", p.poaAccept)
	g.POST(PoAPath+"/:id/reject", p.poaReject)
	g.POST(PoAPath+"/:id/grant", p.poaGrant)
	g.POST(PoAPath+"/:id/end", p.poaEnd)
	g.POST(PoAPath+"/:id/assignments", p.poaPassOn)
	g.POST(PoAPath+"/:id/assignments/:aid/remove", p.poaRemovePassed)
}

// A power of attorney is the acting organisation's object when it is a
// party to it (the repository finds no other): the policy is asked about
// the action in the acting organisation.
func poaResource(id string) authz.Resource { return authz.Resource{Type: "poa", ID: id} }

// poaMail is how the mails of a change are written: in the person's
// language, linking to the powers of attorney page.
func (p *Portal) poaMail(c *gin.Context) postgres.PoAMail {
	m := postgres.PoAMail{Lang: p.lang(c)}
	if p.BaseURL != nil {
		m.Link = strings.TrimRight(p.BaseURL.String(), "/") + PoAPath
	}
	return m
}

func (p *Portal) poaList(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok || !p.authorize(c, act, authz.ActionPOARead, poaResource(""), authz.Context{}) {
		return
	}
	lang := p.lang(c)
	all, err := p.PoA.ListPoAs(c.Request.Context(), act.Org.ID)
	if err != nil {
		p.internalError(c, err)
		return
	}
	v := pages.PoAListView{Frame: p.frame(c, act, web.T(lang, "poa.title"), PoAPath), Notice: poaNotice(lang, c.Query("done")),
		CanOffer: p.may(c, act, authz.ActionPOAGrant, poaResource("")), CanAsk: p.may(c, act, authz.ActionPOAAccept, poaResource(""))}
	now := p.now()
	for _, x := range all {
		given := x.OrgID == act.Org.ID
		other := x.Grantee
		if !given {
			other = x.Grantor
		}
		line := pages.PoALine{ID: x.ID.String(), Other: other.Name + " (CVR " + other.CVR + ")", Person: x.PersonName,
			Privileges: poaPrivilegeNames(x, lang), Status: x.Status, StatusText: poaStatusText(lang, x.PowerOfAttorney, now),
			Period:  poaPeriodText(lang, x.ValidFrom, x.ValidTo),
			Waiting: (given && x.Status == domain.PoARequested) || (!given && x.Status == domain.PoAOffered)}
		if given {
			v.Given = append(v.Given, line)
		} else {
			v.Received = append(v.Received, line)
		}
	}
	render(c, http.StatusOK, pages.PoAList(v))
}

func poaNotice(lang, done string) string {
	if strings.HasPrefix(done, "poa.done.") && web.T(lang, done) != done {
		return web.T(lang, done)
	}
	return ""
}

// poaForm is the offer or ask form as entered.
type poaForm struct {
	ask                                  bool
	granteeCVR, granteeEmail, grantorCVR string
	scope, validFrom, validTo, reason    string
	checked                              map[string]bool
	values                               map[string]string // by form field
	errors                               []pages.FieldError
}

func (p *Portal) poaOfferForm(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok || !p.authorize(c, act, authz.ActionPOAGrant, poaResource(""), authz.Context{}) {
		return
	}
	p.renderPoAForm(c, act, http.StatusOK, poaForm{scope: domain.ScopeCVR + ":" + act.Org.CVR})
}

func (p *Portal) poaAskForm(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok || !p.authorize(c, act, authz.ActionPOAAccept, poaResource(""), authz.Context{}) {
		return
	}
	p.renderPoAForm(c, act, http.StatusOK, poaForm{ask: true})
}

func (p *Portal) renderPoAForm(c *gin.Context, act actor, status int, f poaForm) {
	ctx := c.Request.Context()
	lang := p.lang(c)
	privs, err := p.Rights.ListPrivileges(ctx)
	if err != nil {
		p.internalError(c, err)
		return
	}
	title := web.T(lang, "poa.offer")
	if f.ask {
		title = web.T(lang, "poa.ask")
	}
	v := pages.PoAFormView{Frame: p.frame(c, act, title, PoAPath), Ask: f.ask, GranteeCVR: f.granteeCVR, GranteeEmail: f.granteeEmail,
		GrantorCVR: f.grantorCVR, Scope: f.scope, ValidFrom: f.validFrom, ValidTo: f.validTo, Reason: f.reason, Errors: f.errors}
	if !f.ask {
		if v.Scopes, err = p.poaScopeChoices(ctx, act.Org, lang); err != nil {
			p.internalError(c, err)
			return
		}
	}
	for _, pr := range privs {
		if pr.Status != "active" {
			continue
		}
		choice := pages.PoAPrivilegeChoice{ID: pr.ID.String(), Label: poaPrivilegeName(pr, lang), Hint: pr.URI, Checked: f.checked[pr.ID.String()]}
		for _, typ := range pr.ConstraintTypes {
			name := domain.PoAConstraintField(pr.ID, typ)
			choice.Constraints = append(choice.Constraints, pages.PoAConstraintInput{Name: name, Label: poaConstraintLabel(lang, typ),
				Hint: web.T(lang, "poa.constraint.hint"), Value: f.values[name], Error: poaErrorFor(f.errors, name)})
		}
		v.Privileges = append(v.Privileges, choice)
	}
	render(c, status, pages.PoAForm(v))
}

// poaFormPrivileges reads the chosen privileges and their constraint values.
func poaFormPrivileges(c *gin.Context, f *poaForm, errs *domain.ValidationErrors) []domain.PoAPrivilege {
	f.checked, f.values = map[string]bool{}, map[string]string{}
	var out []domain.PoAPrivilege
	for _, s := range c.PostFormArray("privilege") {
		id, err := uuid.Parse(s)
		if err != nil {
			errs.Add(domain.Invalid("privileges", "poa.privilege_unknown", "Choose the privileges from the list."))
			continue
		}
		f.checked[s] = true
		values := poaFormConstraints(c, "constraint:"+id.String()+":")
		for typ, v := range values {
			f.values[domain.PoAConstraintField(id, typ)] = v
		}
		out = append(out, domain.PoAPrivilege{PrivilegeID: id, ConstraintValues: values})
	}
	// Values typed for a privilege left unchosen are shown again as typed.
	for k, v := range poaFormConstraints(c, "constraint:") {
		f.values["constraint:"+k] = v
	}
	return out
}

func (p *Portal) poaOffer(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok || !p.authorize(c, act, authz.ActionPOAGrant, poaResource(""), authz.Context{}) {
		return
	}
	f := poaForm{granteeCVR: c.PostForm("grantee_cvr"), granteeEmail: c.PostForm("grantee_email"), scope: c.PostForm("scope"),
		validFrom: c.PostForm("valid_from"), validTo: c.PostForm("valid_to")}
	var errs domain.ValidationErrors
	o := postgres.PoAOffer{GranteeCVR: f.granteeCVR, GranteeEmail: f.granteeEmail, Privileges: poaFormPrivileges(c, &f, &errs),
		Scope: poaParseScope(f.scope, &errs), ValidFrom: poaParseDate(f.validFrom, "valid_from", false, &errs),
		ValidTo: poaParseDate(f.validTo, "valid_to", true, &errs)}
	o.Invalid = errs
	poa, err := p.PoA.Offer(c.Request.Context(), p.actorOf(c, act), act.Org.ID, o, p.poaMail(c))
	if err != nil {
		if isFormError(err) {
			f.errors = fieldErrors(p.lang(c), err)
			p.renderPoAForm(c, act, formStatus(err), f)
			return
		}
		p.internalError(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, PoAPath+"/"+poa.ID.String()+"?done=poa.done.offered")
}

func (p *Portal) poaAsk(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok || !p.authorize(c, act, authz.ActionPOAAccept, poaResource(""), authz.Context{}) {
		return
	}
	f := poaForm{ask: true, grantorCVR: c.PostForm("grantor_cvr"), reason: c.PostForm("reason")}
	var errs domain.ValidationErrors
	a := postgres.PoAAsk{GrantorCVR: f.grantorCVR, Reason: f.reason, Privileges: poaFormPrivileges(c, &f, &errs)}
	err := errs.Err()
	var poa *domain.PowerOfAttorney
	if err == nil {
		poa, err = p.PoA.Ask(c.Request.Context(), p.actorOf(c, act), act.Org.ID, a, p.poaMail(c))
	}
	if err != nil {
		if isFormError(err) {
			f.errors = fieldErrors(p.lang(c), err)
			p.renderPoAForm(c, act, formStatus(err), f)
			return
		}
		p.internalError(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, PoAPath+"/"+poa.ID.String()+"?done=poa.done.asked")
}

// loadPoA finds a power of attorney the acting organisation is a party to
// (any other is a 404, as one that does not exist), then asks the policy
// whether act may do action on it.
func (p *Portal) loadPoA(c *gin.Context, act actor, action string) (*postgres.PoAView, bool) {
	return p.loadPoAFor(c, act, func(*postgres.PoAView) string { return action })
}

// loadPoAFor is loadPoA where the action depends on the acting side.
func (p *Portal) loadPoAFor(c *gin.Context, act actor, action func(*postgres.PoAView) string) (*postgres.PoAView, bool) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		p.renderError(c, http.StatusNotFound)
		return nil, false
	}
	x, err := p.PoA.FindPoA(c.Request.Context(), act.Org.ID, id)
	if err != nil {
		p.notFound(c, err)
		return nil, false
	}
	if !p.authorize(c, act, action(x), poaResource(id.String()), authz.Context{}) {
		return nil, false
	}
	return x, true
}

func (p *Portal) poaShow(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	x, ok := p.loadPoA(c, act, authz.ActionPOARead)
	if !ok {
		return
	}
	p.renderPoA(c, act, x, http.StatusOK, poaPageState{notice: poaNotice(p.lang(c), c.Query("done"))})
}

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

func (p *Portal) poaAccept(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	x, ok := p.loadPoA(c, act, authz.ActionPOAAccept)
	if !ok {
		return
	}
	if err := p.PoA.Accept(c.Request.Context(), p.actorOf(c, act), act.Org.ID, x.ID, p.poaMail(c)); err != nil {
		p.poaProblem(c, act, x.ID, err, poaPageState{}, false)
		return
	}
	c.Redirect(http.StatusSeeOther, PoAPath+"/"+x.ID.String()+"?done=poa.done.accepted")
}

func (p *Portal) poaReject(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	// The grantee rejects an offer (poa.accept's counterpart), the grantor
	// a request (poa.grant's).
	x, ok := p.loadPoAFor(c, act, func(x *postgres.PoAView) string {
		if x.OrgID == act.Org.ID {
			return authz.ActionPOAGrant
		}
		return authz.ActionPOAAccept
	})
	if !ok {
		return
	}
	comment := c.PostForm("comment")
	if err := p.PoA.Reject(c.Request.Context(), p.actorOf(c, act), act.Org.ID, x.ID, comment, p.poaMail(c)); err != nil {
		p.poaProblem(c, act, x.ID, err, poaPageState{comment: comment}, false)
		return
	}
	c.Redirect(http.StatusSeeOther, PoAPath+"/"+x.ID.String()+"?done=poa.done.rejected")
}

func (p *Portal) poaGrant(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	x, ok := p.loadPoA(c, act, authz.ActionPOAGrant)
	if !ok {
		return
	}
	st := poaPageState{grantScope: c.PostForm("scope"), grantTo: c.PostForm("valid_to")}
	var errs domain.ValidationErrors
	scope := poaParseScope(st.grantScope, &errs)
	to := poaParseDate(st.grantTo, "valid_to", true, &errs)
	err := errs.Err()
	if err == nil {
		err = p.PoA.GrantRequested(c.Request.Context(), p.actorOf(c, act), act.Org.ID, x.ID, scope, to, p.poaMail(c))
	}
	if err != nil {
		p.poaProblem(c, act, x.ID, err, st, false)
		return
	}
	c.Redirect(http.StatusSeeOther, PoAPath+"/"+x.ID.String()+"?done=poa.done.granted")
}

func (p *Portal) poaEnd(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	x, ok := p.loadPoA(c, act, authz.ActionPOAEnd)
	if !ok {
		return
	}
	if _, err := p.PoA.End(c.Request.Context(), p.actorOf(c, act), act.Org.ID, x.ID, p.poaMail(c)); err != nil {
		p.poaProblem(c, act, x.ID, err, poaPageState{}, false)
		return
	}
	c.Redirect(http.StatusSeeOther, PoAPath+"/"+x.ID.String()+"?done=poa.done.ended")
}

func (p *Portal) poaPassOn(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	x, ok := p.loadPoA(c, act, authz.ActionPOARead)
	if !ok {
		return
	}
	f := poaPassForm{user: c.PostForm("user"), privilege: c.PostForm("privilege"), scope: c.PostForm("scope"),
		from: c.PostForm("valid_from"), to: c.PostForm("valid_to"), values: poaFormConstraints(c, "constraint:")}
	var errs domain.ValidationErrors
	as := &domain.Assignment{ConstraintValues: f.values}
	res := authz.Resource{Type: "assignment"}
	if uid, err := uuid.Parse(f.user); err == nil {
		as.UserID = &uid
		// The policy sees the user's unit: a unit-limited administrator
		// passes on only to the unit's users.
		if u, err := p.Users.FindUserByID(c.Request.Context(), act.Org.ID, uid); err == nil && u.ProductionUnitID != nil {
			res.UnitID = u.ProductionUnitID.String()
		}
	} else {
		errs.Add(domain.Invalid("user", "poa.pass_user", "Choose the user to pass the privilege on to."))
	}
	if !p.authorize(c, act, authz.ActionAssignmentCreate, res, authz.Context{}) {
		return
	}
	if pid, err := uuid.Parse(f.privilege); err == nil {
		as.PrivilegeID = pid
	} else {
		errs.Add(domain.Invalid("privilege", "poa.pass_privilege", "Choose one of the privileges the power of attorney carries."))
	}
	as.Scope = poaParseScope(f.scope, &errs)
	as.ValidFrom = poaParseDate(f.from, "valid_from", false, &errs)
	as.ValidTo = poaParseDate(f.to, "valid_to", true, &errs)
	if err := p.PoA.PassOn(c.Request.Context(), p.actorOf(c, act), act.Org.ID, x.ID, as, errs); err != nil {
		p.poaProblem(c, act, x.ID, err, poaPageState{pass: f}, true)
		return
	}
	c.Redirect(http.StatusSeeOther, PoAPath+"/"+x.ID.String()+"?done=poa.done.passed_on")
}

func (p *Portal) poaRemovePassed(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	x, ok := p.loadPoA(c, act, authz.ActionPOARead)
	if !ok {
		return
	}
	aid, err := uuid.Parse(c.Param("aid"))
	if err != nil {
		p.renderError(c, http.StatusNotFound)
		return
	}
	if !p.authorize(c, act, authz.ActionAssignmentRemove, authz.Resource{Type: "assignment", ID: aid.String()}, authz.Context{}) {
		return
	}
	if err := p.PoA.RemovePassedOn(c.Request.Context(), p.actorOf(c, act), act.Org.ID, x.ID, aid); err != nil {
		p.poaProblem(c, act, x.ID, err, poaPageState{}, false)
		return
	}
	c.Redirect(http.StatusSeeOther, PoAPath+"/"+x.ID.String()+"?done=poa.done.removed")
}

// poaCatalogue is the catalogue by id, for naming privileges.
func (p *Portal) poaCatalogue(ctx context.Context) (map[uuid.UUID]*domain.Privilege, error) {
	privs, err := p.Rights.ListPrivileges(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]*domain.Privilege, len(privs))
	for _, pr := range privs {
		out[pr.ID] = pr
	}
	return out, nil
}

func poaPrivilegeName(pr *domain.Privilege, lang string) string {
	if lang == web.LangEnglish {
		return pr.NameEN
	}
	return pr.NameDA
}

func poaPrivilegeNames(x *postgres.PoAView, lang string) string {
	names := make([]string, len(x.Privileges))
	for i, pr := range x.Privileges {
		names[i] = poaPrivilegeName(pr.Privilege, lang)
	}
	return strings.Join(names, ", ")
}

// poaScopeChoices are org's scopes for a select: its whole CVR number, then
// its P-numbers and SE-numbers. A value is "kind:number".
func (p *Portal) poaScopeChoices(ctx context.Context, org *domain.Organisation, lang string) ([]pages.Choice, error) {
	out := []pages.Choice{{Value: domain.ScopeCVR + ":" + org.CVR, Label: poaScopeText(lang, domain.Scope{Kind: domain.ScopeCVR, Value: org.CVR})}}
	units, err := p.Orgs.ListProductionUnits(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	for _, u := range units {
		out = append(out, pages.Choice{Value: domain.ScopeP + ":" + u.PNumber,
			Label: poaScopeText(lang, domain.Scope{Kind: domain.ScopeP, Value: u.PNumber}) + " (" + u.Name + ")"})
	}
	ses, err := p.Orgs.ListSENumbers(ctx, org.ID)
	if err != nil {
		return nil, err
	}
	for _, se := range ses {
		out = append(out, pages.Choice{Value: domain.ScopeSE + ":" + se.SENumber,
			Label: poaScopeText(lang, domain.Scope{Kind: domain.ScopeSE, Value: se.SENumber}) + " (" + se.Name + ")"})
	}
	return out, nil
}

func poaScopeText(lang string, s domain.Scope) string {
	switch s.Kind {
	case domain.ScopeCVR:
		return web.T(lang, "scope.cvr") + " " + s.Value
	case domain.ScopeP:
		return web.T(lang, "scope.p") + " " + s.Value
	case domain.ScopeSE:
		return web.T(lang, "scope.se") + " " + s.Value
	}
	return s.Value
}

// poaParseScope reads a "kind:number" scope from a select.
func poaParseScope(v string, errs *domain.ValidationErrors) domain.Scope {
	kind, value, ok := strings.Cut(strings.TrimSpace(v), ":")
	if !ok {
		errs.Add(domain.Invalid("scope", "scope.kind", "Choose the scope from the list."))
		return domain.Scope{}
	}
	return domain.Scope{Kind: kind, Value: value}
}

func poaConstraintLabel(lang, typ string) string {
	switch typ {
	case domain.ConstraintKLE:
		return web.T(lang, "constraint.kle")
	case domain.ConstraintPNumber:
		return web.T(lang, "constraint.pnumber")
	case domain.ConstraintSE:
		return web.T(lang, "constraint.se")
	case domain.ConstraintCVR:
		return web.T(lang, "constraint.cvr")
	}
	return typ
}

// poaConstraintsText writes constraint values as "label value", by type.
func poaConstraintsText(lang string, values map[string]string) string {
	types := make([]string, 0, len(values))
	for typ := range values {
		types = append(types, typ)
	}
	slices.Sort(types)
	parts := make([]string, len(types))
	for i, typ := range types {
		parts[i] = poaConstraintLabel(lang, typ) + " " + values[typ]
	}
	return strings.Join(parts, "; ")
}

// poaFormConstraints reads the non-empty form fields starting with prefix,
// by the rest of their name.
func poaFormConstraints(c *gin.Context, prefix string) map[string]string {
	out := map[string]string{}
	if c.Request.Method != http.MethodPost {
		return out
	}
	_ = c.Request.ParseForm() // gin has parsed it already for PostForm; errors show as missing fields
	for k, vs := range c.Request.PostForm {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok || len(vs) == 0 || strings.TrimSpace(vs[0]) == "" {
			continue
		}
		out[rest] = strings.TrimSpace(vs[0])
	}
	return out
}

func poaErrorFor(errs []pages.FieldError, field string) string {
	for _, e := range errs {
		if e.Field == field {
			return e.Message
		}
	}
	return ""
}

// poaParseDate reads an optional YYYY-MM-DD date in Danish time: a start
// is the beginning of the day, an end the end of it (the next day's start),
// so that a period "to 31 January" includes that day.
func poaParseDate(s, field string, end bool, errs *domain.ValidationErrors) *time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	d, err := time.ParseInLocation(time.DateOnly, s, domain.DanishTime)
	if err != nil {
		errs.Add(domain.Invalid(field, "poa.date_format", "Write the date as YYYY-MM-DD, e.g. 2027-01-31."))
		return nil
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return &d
}

// poaPeriodText writes a period as the dates it covers.
func poaPeriodText(lang string, from, to *time.Time) string {
	switch {
	case from == nil && to == nil:
		return web.T(lang, "poa.period.open")
	case to == nil:
		return web.T(lang, "poa.period.from") + " " + domain.FormatDate(*from, lang)
	}
	last := domain.FormatDate(to.In(domain.DanishTime).Add(-time.Nanosecond), lang)
	if from == nil {
		return web.T(lang, "poa.period.until") + " " + last
	}
	return domain.FormatDate(*from, lang) + " – " + last
}

// poaStatusText is the status in words; an active power of attorney whose
// period has run out says so.
func poaStatusText(lang string, x *domain.PowerOfAttorney, now time.Time) string {
	if x.Status == domain.PoAActive && x.ValidTo != nil && !now.Before(*x.ValidTo) {
		return web.T(lang, "poa.status.lapsed")
	}
	return web.T(lang, "poa.status."+x.Status)
}
