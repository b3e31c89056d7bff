package portal

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/erhverv/erhverv/internal/cvr"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/login"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/server"
	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/pages"
)

func (p *Portal) mountConnect(g *gin.RouterGroup) {
	g.GET(ConnectPath, p.connectList)
	g.GET(ConnectPath+"/:cvr", p.connectForm)
	g.POST(ConnectPath+"/:cvr", p.connectSubmit)
}

// requireLogin returns the signed-in account when its login reached the
// purpose's level; otherwise it sends the person to log in (again, higher)
// and reports false.
func (p *Portal) requireLogin(c *gin.Context, purpose Purpose) (login.Account, bool) {
	if p.Broker == nil {
		p.loginUnavailable(c)
		return login.Account{}, false
	}
	a, ok := p.Sessions.Account(c.Request.Context())
	if !ok || a.Level < p.level(purpose) {
		c.Redirect(http.StatusSeeOther, loginURL(purpose, c.Request.URL.RequestURI()))
		return login.Account{}, false
	}
	return a, true
}

func (p *Portal) connectUnavailable(c *gin.Context) bool {
	if p.Register != nil && p.Onboarding != nil {
		return false
	}
	p.problem(c, http.StatusServiceUnavailable, "connect.unavailable", "", "")
	return true
}

// connectList shows the companies the person may represent, and which of
// them are connected already.
func (p *Portal) connectList(c *gin.Context) {
	if p.connectUnavailable(c) {
		return
	}
	a, ok := p.requireLogin(c, PurposeConnect)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	v := pages.ConnectListView{Lang: p.lang(c), UserName: a.Name}
	for _, number := range a.Represents {
		co, err := p.Register.Company(ctx, number)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			continue // a broker's claim the register does not know
		}
		if err != nil {
			p.internalError(c, err)
			return
		}
		choice := pages.CompanyChoice{CVR: co.CVR, Name: co.Name, Address: co.Address, Active: co.Active()}
		_, err = p.Orgs.FindOrganisationByCVR(ctx, co.CVR)
		switch {
		case err == nil:
			choice.Connected = true
		case domain.ErrorCode(err) != domain.ENOTFOUND:
			p.internalError(c, err)
			return
		}
		v.Companies = append(v.Companies, choice)
	}
	slices.SortFunc(v.Companies, func(x, y pages.CompanyChoice) int { return compareFold(x.Name, y.Name) })
	render(c, http.StatusOK, pages.ConnectList(v))
}

// company returns the company of the path's CVR number when the person may
// represent it and it is active; otherwise it answers and returns nil.
func (p *Portal) company(c *gin.Context, a login.Account) *cvr.Company {
	number := c.Param("cvr")
	if !slices.Contains(a.Represents, number) {
		// Whether the company exists is none of this person's business.
		p.problem(c, http.StatusForbidden, "connect.not_representative", ConnectPath, "connect.back")
		return nil
	}
	co, err := p.Register.Company(c.Request.Context(), number)
	if err != nil {
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			p.renderError(c, http.StatusNotFound)
		} else {
			p.internalError(c, err)
		}
		return nil
	}
	if !co.Active() {
		p.problem(c, http.StatusConflict, "connect.ceased", ConnectPath, "connect.back")
		return nil
	}
	return co
}

func (p *Portal) connectForm(c *gin.Context) {
	if p.connectUnavailable(c) {
		return
	}
	a, ok := p.requireLogin(c, PurposeConnect)
	if !ok {
		return
	}
	co := p.company(c, a)
	if co == nil {
		return
	}
	if p.alreadyConnected(c, co) {
		return
	}
	render(c, http.StatusOK, pages.ConnectForm(pages.ConnectFormView{
		Lang: p.lang(c), UserName: a.Name, CVR: co.CVR, CompanyName: co.Name, Address: co.Address,
		Units: len(co.ProductionUnits), Form: pages.ConnectFormValues{AllowPrivateMitID: true},
	}))
}

func (p *Portal) alreadyConnected(c *gin.Context, co *cvr.Company) bool {
	_, err := p.Orgs.FindOrganisationByCVR(c.Request.Context(), co.CVR)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return false
	}
	if err != nil {
		p.internalError(c, err)
		return true
	}
	p.problem(c, http.StatusConflict, "connect.already", ConnectPath, "connect.back")
	return true
}

func (p *Portal) connectSubmit(c *gin.Context) {
	if p.connectUnavailable(c) {
		return
	}
	a, ok := p.requireLogin(c, PurposeConnect)
	if !ok {
		return
	}
	co := p.company(c, a)
	if co == nil {
		return
	}
	lang := p.lang(c)
	form := pages.ConnectFormValues{
		AcceptTerms:       c.PostForm("accept_terms") == "yes",
		AllowPrivateMitID: c.PostForm("allow_private_mitid") == "yes",
		Mandatory:         c.PostFormArray("mandatory_user_fields"),
		FirstName:         strings.TrimSpace(c.PostForm("first_name")),
		LastName:          strings.TrimSpace(c.PostForm("last_name")),
		Email:             strings.TrimSpace(c.PostForm("email")),
		Phone:             strings.TrimSpace(c.PostForm("phone")),
		CPR:               domain.NormalizeDigits(c.PostForm("cpr")),
		BirthDate:         strings.TrimSpace(c.PostForm("birth_date")),
	}
	view := pages.ConnectFormView{Lang: lang, UserName: a.Name, CVR: co.CVR, CompanyName: co.Name, Address: co.Address,
		Units: len(co.ProductionUnits), Form: form}

	var errs domain.ValidationErrors
	if !form.AcceptTerms {
		errs.Add(domain.Invalid("accept_terms", "connect.terms_required", "Accept the terms to connect the company."))
	}
	admin := domain.User{FirstName: form.FirstName, LastName: form.LastName, Email: form.Email, Phone: form.Phone, CPR: form.CPR,
		Status: domain.UserPending}
	if form.CPR == "" {
		admin.BirthDate = parseBirthDate(form.BirthDate, &errs)
	}
	settings := domain.OrgSettings{AllowPrivateMitID: form.AllowPrivateMitID, MandatoryUserFields: form.Mandatory}
	req := postgres.ConnectRequest{
		Org:            domain.Organisation{CVR: co.CVR, Name: co.Name, Settings: settings},
		FirstAdmin:     admin,
		Representative: postgres.Representative{Name: a.Name, Issuer: a.Issuer, Subject: a.Subject},
		Lang:           lang,
		RequestID:      server.RequestID(c),
	}
	for _, u := range co.ProductionUnits {
		req.Units = append(req.Units, domain.ProductionUnit{PNumber: u.PNumber, Name: u.Name, Address: u.Address})
	}
	// Every problem at once: the terms, the person and the form together.
	probe := admin
	errs.Add(probe.Validate())
	var org *domain.Organisation
	var issued postgres.Issued
	err := errs.Err()
	if err == nil {
		org, issued, err = p.Onboarding.ConnectOrganisation(c.Request.Context(), req)
	}
	if err != nil {
		switch domain.ErrorCode(err) {
		case domain.EINVALID:
			view.Errors = fieldErrors(lang, err)
			render(c, http.StatusBadRequest, pages.ConnectForm(view))
		case domain.ECONFLICT:
			if !p.alreadyConnected(c, co) {
				// Another conflict (a production unit registered to
				// another organisation): the form again, saying which.
				view.Errors = []pages.FieldError{{Message: translate(lang, asDomainError(err))}}
				render(c, http.StatusConflict, pages.ConnectForm(view))
			}
		default:
			p.internalError(c, err)
		}
		return
	}
	render(c, http.StatusOK, pages.ConnectDone(pages.ConnectDoneView{
		Lang: lang, UserName: a.Name, CompanyName: org.Name, CVR: org.CVR,
		AdminName: admin.FullName(), AdminEmail: admin.Email, Code: issued.Code,
		ExpiresAt: domain.FormatDate(issued.ExpiresAt, lang),
	}))
}

// fieldErrors turns validation errors into messages per form field, in the
// person's language (the domain message when no translation exists).
func fieldErrors(lang string, err error) []pages.FieldError {
	var out []pages.FieldError
	var ve domain.ValidationErrors
	if errors.As(err, &ve) {
		for _, e := range ve {
			out = append(out, pages.FieldError{Field: e.Field, Message: translate(lang, e)})
		}
		return out
	}
	var de *domain.Error
	if errors.As(err, &de) {
		out = append(out, pages.FieldError{Field: de.Field, Message: translate(lang, de)})
	}
	return out
}

// translate is the error's message in lang: its key's text when the
// catalogue has one, else the domain's own (English) message.
func translate(lang string, e *domain.Error) string {
	if e.Key != "" {
		if s := web.T(lang, "err."+e.Key); s != "err."+e.Key {
			return s
		}
	}
	return e.Message
}
