package portal

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/pages"
)

// OrganisationPath shows the organisation: its units, SE-numbers and settings.
const OrganisationPath = "/portal/organisation"

func (p *Portal) mountOrganisation(g *gin.RouterGroup) {
	g.GET(OrganisationPath, p.organisationPage)
	g.POST(OrganisationPath+"/settings", p.organisationSettings)
}

func (p *Portal) organisationPage(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok || !p.authorize(c, act, authz.ActionOrgRead, authz.Resource{Type: "org"}, authz.Context{}) {
		return
	}
	p.renderOrganisation(c, act, http.StatusOK, pages.SettingsValues{
		AllowPrivateMitID: act.Org.Settings.AllowPrivateMitID, Mandatory: act.Org.Settings.MandatoryUserFields,
		NotificationEmail: act.Org.Settings.NotificationEmail, NotifyOnRequests: act.Org.Settings.NotifyOnRequests,
	}, nil)
}

func (p *Portal) renderOrganisation(c *gin.Context, act actor, status int, form pages.SettingsValues, errs []pages.FieldError) {
	ctx := c.Request.Context()
	lang := p.lang(c)
	v := pages.OrganisationView{Frame: p.frame(c, act, web.T(lang, "org.title"), OrganisationPath), Name: act.Org.Name, CVR: act.Org.CVR,
		Settings: form, Errors: errs, CanEdit: p.may(c, act, authz.ActionOrgSettingsUpdate, authz.Resource{Type: "org"}),
		Saved: c.Query("saved") == "1"}
	if p.may(c, act, authz.ActionUnitRead, authz.Resource{Type: "unit"}) {
		units, err := p.Orgs.ListProductionUnits(ctx, act.Org.ID)
		if err != nil {
			p.internalError(c, err)
			return
		}
		for _, u := range units {
			v.Units = append(v.Units, pages.UnitLine{Number: u.PNumber, Name: u.Name, Address: u.Address})
		}
		ses, err := p.Orgs.ListSENumbers(ctx, act.Org.ID)
		if err != nil {
			p.internalError(c, err)
			return
		}
		for _, se := range ses {
			v.SENumbers = append(v.SENumbers, pages.UnitLine{Number: se.SENumber, Name: se.Name})
		}
	}
	render(c, status, pages.Organisation(v))
}

func (p *Portal) organisationSettings(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok || !p.authorize(c, act, authz.ActionOrgSettingsUpdate, authz.Resource{Type: "org"}, authz.Context{}) {
		return
	}
	form := pages.SettingsValues{
		AllowPrivateMitID: c.PostForm("allow_private_mitid") == "yes",
		Mandatory:         c.PostFormArray("mandatory_user_fields"),
		NotificationEmail: strings.TrimSpace(c.PostForm("notification_email")),
		NotifyOnRequests:  c.PostForm("notify_on_requests") == "yes",
	}
	slices.Sort(form.Mandatory)
	st := domain.OrgSettings{AllowPrivateMitID: form.AllowPrivateMitID, MandatoryUserFields: slices.Compact(form.Mandatory),
		NotificationEmail: form.NotificationEmail, NotifyOnRequests: form.NotifyOnRequests}
	if err := p.Administration.UpdateSettings(c.Request.Context(), p.actorOf(c, act), act.Org.ID, st); err != nil {
		if domain.ErrorCode(err) == domain.EINVALID {
			p.renderOrganisation(c, act, http.StatusBadRequest, form, fieldErrors(p.lang(c), err))
			return
		}
		p.internalError(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, OrganisationPath+"?saved=1")
}
