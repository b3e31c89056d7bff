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
