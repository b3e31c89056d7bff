package portal

import (
	"maps"
	"net/http"
	"net/url"
	"regexp"
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

// Paths of the rights pages. The menu links to the first three.
const (
	PrivilegesPath = "/portal/privileges"
	RightsPath     = "/portal/rights"
	SystemsPath    = "/portal/systems"
)

// mountRights adds the pages of IT systems, the catalogue of privileges,
// assignments and a user's rights.
func (p *Portal) mountRights(g *gin.RouterGroup) {
	p.mountSystems(g)
	g.GET(PrivilegesPath, p.catalogue)
	g.GET(PrivilegesPath+"/choose", p.privilegeChoose)
	g.GET(PrivilegesPath+"/:id", p.privilegeDetail)
	g.POST(PrivilegesPath+"/:id/assign", p.privilegeAssign)
	g.GET(RightsPath, p.rightsList)
	g.GET(RightsPath+"/export", p.rightsExport)
	g.POST(RightsPath+"/:id/remove", p.assignmentRemove)
	g.GET(UsersPath+"/:id/rights", p.userRights)
	g.GET(UsersPath+"/:id/rights/privileges.xml", p.userPrivilegeDocument)
	g.GET("/portal/me/rights", p.myRights)
}

// assignmentResource is an assignment as the policy sees it: the unit it
// touches (none: the whole organisation).
func assignmentResource(unit *uuid.UUID) authz.Resource {
	return authz.Resource{Type: "assignment", UnitID: uuidString(unit)}
}

// removalChecks are what removing v asks the policy: all of them must
// allow it. Removing asks exactly what giving it asked (privilegeAssign):
// the holder (a user's unit, or the group) and the unit the scope names,
// where a CVR or SE scope is the whole organisation. A stored P-number
// scope that names none of the organisation's units counts as the whole
// organisation too. A privilege passed on from a power of attorney is
// taken back as on the power of attorney's page (poaRemovePassed): with
// assignment.remove for the whole organisation.
func removalChecks(v *postgres.AssignmentView) (string, []authz.Resource) {
	a := v.Assignment
	if a.ViaPoAID != nil {
		return authz.ActionAssignmentRemove, []authz.Resource{{Type: "assignment", ID: a.ID.String()}}
	}
	scopeUnit := ""
	if a.Scope.Kind == domain.ScopeP {
		scopeUnit = uuidString(v.ScopeUnitID)
	}
	if a.GroupID != nil {
		return authz.ActionGroupPrivilegesManage, []authz.Resource{
			{Type: "group", ID: a.GroupID.String(), UnitID: uuidString(v.GroupUnitID)},
			{Type: "group", UnitID: scopeUnit},
		}
	}
	return authz.ActionAssignmentRemove, []authz.Resource{assignmentResource(v.UserUnitID), {Type: "assignment", UnitID: scopeUnit}}
}

// mayRemove reports whether the policy lets act remove v, for showing the
// remove button.
func (p *Portal) mayRemove(c *gin.Context, act actor, v *postgres.AssignmentView) bool {
	action, checks := removalChecks(v)
	for _, res := range checks {
		if !p.may(c, act, action, res) {
			return false
		}
	}
	return true
}

// returnPattern is where a form about assignments may send the browser
// back to: the portal's own pages of rights, never another site.
var returnPattern = regexp.MustCompile(`^/portal/(rights|privileges/[0-9a-f-]{36}|users/[0-9a-f-]{36}/rights|groups/[0-9a-f-]{36})$`)

func safeReturn(s, fallback string) string {
	if returnPattern.MatchString(s) {
		return s
	}
	return fallback
}

// withDone adds the confirmation to show to a page's address.
func withDone(path, key string) string { return path + "?done=" + url.QueryEscape(key) }

// doneNotice is the catalogue's confirmation named by ?done=, never text
// from the URL.
func doneNotice(c *gin.Context, lang, prefix string) string {
	if done := c.Query("done"); strings.HasPrefix(done, prefix) && web.T(lang, done) != done {
		return web.T(lang, done)
	}
	return ""
}

// scopeChoices are the scopes the organisation may assign: its CVR number,
// its P-numbers and its SE-numbers, as "kind:value".
func (p *Portal) scopeChoices(c *gin.Context, act actor) ([]pages.Choice, error) {
	lang := p.lang(c)
	out := []pages.Choice{{Value: domain.ScopeCVR + ":" + act.Org.CVR, Label: web.T(lang, "rights.scope.cvr") + " " + act.Org.CVR + " (" + act.Org.Name + ")"}}
	units, err := p.Orgs.ListProductionUnits(c.Request.Context(), act.Org.ID)
	if err != nil {
		return nil, err
	}
	for _, u := range units {
		out = append(out, pages.Choice{Value: domain.ScopeP + ":" + u.PNumber, Label: web.T(lang, "rights.scope.p") + " " + u.PNumber + " (" + u.Name + ")"})
	}
	ses, err := p.Orgs.ListSENumbers(c.Request.Context(), act.Org.ID)
	if err != nil {
		return nil, err
	}
	for _, se := range ses {
		out = append(out, pages.Choice{Value: domain.ScopeSE + ":" + se.SENumber, Label: web.T(lang, "rights.scope.se") + " " + se.SENumber + " (" + se.Name + ")"})
	}
	return out, nil
}

func parseScope(s string) (domain.Scope, error) {
	kind, value, ok := strings.Cut(s, ":")
	sc := domain.Scope{Kind: kind, Value: value}
	if !ok {
		return sc, domain.Invalid("scope", "scope.kind", "Choose the whole organisation, one of its P-numbers or one of its SE-numbers.")
	}
	return sc, sc.Validate()
}

// scopeUnit is the production unit a P-number scope names (nil for any
// other scope, and for a P-number the organisation does not have).
func (p *Portal) scopeUnit(c *gin.Context, act actor, sc domain.Scope) (*uuid.UUID, error) {
	if sc.Kind != domain.ScopeP {
		return nil, nil
	}
	units, err := p.Orgs.ListProductionUnits(c.Request.Context(), act.Org.ID)
	if err != nil {
		return nil, err
	}
	for _, u := range units {
		if u.PNumber == sc.Value {
			return &u.ID, nil
		}
	}
	return nil, nil
}

func scopeText(lang string, sc domain.Scope) string {
	return web.T(lang, "rights.scope."+sc.Kind) + " " + sc.Value
}

// constraintKeys name the constraint types whose formats the platform knows.
var constraintKeys = map[string]string{
	domain.ConstraintKLE: "kle", domain.ConstraintPNumber: "p", domain.ConstraintSE: "se", domain.ConstraintCVR: "cvr",
}

func constraintLabel(lang, typ string) string {
	if k, ok := constraintKeys[typ]; ok {
		return web.T(lang, "rights.constraint."+k)
	}
	return typ
}

func constraintHint(lang, typ string) string {
	if k, ok := constraintKeys[typ]; ok {
		return web.T(lang, "rights.constraint_hint."+k)
	}
	return web.T(lang, "rights.constraint_hint.text")
}

func constraintsText(lang string, values map[string]string) string {
	keys := slices.Sorted(maps.Keys(values))
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, constraintLabel(lang, k)+": "+values[k])
	}
	return strings.Join(parts, "; ")
}

func privilegeName(lang, da, en string) string {
	if lang == web.LangEnglish && en != "" {
		return en
	}
	return da
}

// parseDay reads an optional YYYY-MM-DD date as the start of that day in
// Danish time, adding a field error to errs when it is malformed.
func parseDay(field, s string, errs *domain.ValidationErrors) *time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	t, err := time.ParseInLocation(time.DateOnly, s, domain.DanishTime)
	if err != nil {
		errs.Add(domain.Invalid(field, "role.date_format", "Write the date as YYYY-MM-DD, e.g. 2027-01-31."))
		return nil
	}
	return &t
}

func periodText(lang string, from, to *time.Time) string {
	switch {
	case from != nil && to != nil:
		return domain.FormatDate(*from, lang) + " – " + domain.FormatDate(*to, lang)
	case from != nil:
		return web.T(lang, "userrights.from") + " " + domain.FormatDate(*from, lang)
	case to != nil:
		return web.T(lang, "rights.until") + " " + domain.FormatDate(*to, lang)
	}
	return web.T(lang, "userrights.no_end")
}

// assignmentLine shows one assignment; canRemove says whether act may
// remove it.
func assignmentLine(lang string, v *postgres.AssignmentView, canRemove bool) pages.AssignmentLine {
	a := v.Assignment
	l := pages.AssignmentLine{ID: a.ID.String(), PrivilegeURL: PrivilegesPath + "/" + a.PrivilegeID.String(),
		PrivilegeName: privilegeName(lang, v.PrivilegeNameDA, v.PrivilegeNameEN), PrivilegeURI: v.PrivilegeURI,
		System: v.SystemName + " · " + v.ProviderName, Retired: v.PrivilegeStatus != "active",
		Scope: scopeText(lang, a.Scope), Constraints: constraintsText(lang, a.ConstraintValues), Period: periodText(lang, a.ValidFrom, a.ValidTo),
		Source: web.T(lang, "rights.source.direct"), GrantedBy: v.GrantedByName, CanRemove: canRemove}
	if a.ViaPoAID != nil {
		l.Source = web.T(lang, "rights.source.poa") + " " + v.PoAGrantorName
	}
	if a.GroupID != nil {
		l.HolderName, l.HolderURL, l.HolderDetail = v.GroupName, GroupsPath+"/"+a.GroupID.String(), web.T(lang, "rights.holder.group")
	} else if a.UserID != nil {
		l.HolderName, l.HolderURL, l.HolderDetail = v.UserName, UsersPath+"/"+a.UserID.String()+"/rights", v.UserEmail
	}
	return l
}

// assignmentLines shows assignments, each with a remove button where the
// policy allows it.
func (p *Portal) assignmentLines(c *gin.Context, act actor, views []postgres.AssignmentView) []pages.AssignmentLine {
	lang := p.lang(c)
	out := make([]pages.AssignmentLine, 0, len(views))
	for i := range views {
		out = append(out, assignmentLine(lang, &views[i], p.mayRemove(c, act, &views[i])))
	}
	return out
}

// rightsRequest is the filter of "who has which right" as the query gives
// it; ok is false when it is malformed (the caller answers 400).
func (p *Portal) rightsFilter(c *gin.Context, act actor, r reach) (postgres.AssignmentFilter, bool) {
	f := postgres.AssignmentFilter{OrgID: act.Org.ID, User: strings.TrimSpace(c.Query("user"))}
	for _, id := range []struct {
		param string
		into  **uuid.UUID
	}{{"privilege", &f.PrivilegeID}, {"unit", &f.UnitID}} {
		if v := c.Query(id.param); v != "" {
			u, err := uuid.Parse(v)
			if err != nil {
				p.renderError(c, http.StatusBadRequest)
				return f, false
			}
			*id.into = &u
		}
	}
	// An administrator limited to a production unit sees the assignments
	// of that unit's users and groups only: not those of others, even when
	// scoped to the unit's P-number.
	if r.Unit != nil {
		if f.UnitID != nil && *f.UnitID != *r.Unit {
			p.authorize(c, act, authz.ActionAssignmentRead, assignmentResource(f.UnitID), authz.Context{})
			return f, false
		}
		f.UnitID, f.HolderUnitID = r.Unit, r.Unit
	}
	return f, true
}

func filterQuery(f postgres.AssignmentFilter) url.Values {
	q := url.Values{}
	if f.User != "" {
		q.Set("user", f.User)
	}
	if f.PrivilegeID != nil {
		q.Set("privilege", f.PrivilegeID.String())
	}
	if f.UnitID != nil {
		q.Set("unit", f.UnitID.String())
	}
	return q
}

const rightsPageSize = 50

func (p *Portal) rightsList(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	r, ok := p.listReach(c, act, authz.ActionAssignmentRead, "assignment")
	if !ok {
		p.authorize(c, act, authz.ActionAssignmentRead, assignmentResource(nil), authz.Context{})
		return
	}
	f, ok := p.rightsFilter(c, act, r)
	if !ok {
		return
	}
	f.After, f.Limit = c.Query("after"), rightsPageSize
	ctx := c.Request.Context()
	views, more, err := p.Rights.ListAssignments(ctx, f)
	if domain.ErrorCode(err) == domain.EINVALID {
		p.renderError(c, http.StatusBadRequest)
		return
	}
	if err != nil {
		p.internalError(c, err)
		return
	}
	lang := p.lang(c)
	q := filterQuery(f)
	v := pages.AssignmentsView{Frame: p.frame(c, act, web.T(lang, "rights.title"), RightsPath), User: f.User, Privilege: uuidString(f.PrivilegeID),
		Unit: uuidString(f.UnitID), Lines: p.assignmentLines(c, act, views), ExportURL: RightsPath + "/export?" + q.Encode(),
		ReturnTo: RightsPath, Notice: doneNotice(c, lang, "rights.done.")}
	if more && len(views) > 0 {
		q.Set("after", views[len(views)-1].Cursor)
		v.NextURL = RightsPath + "?" + q.Encode()
	}
	if v.Units, err = p.unitChoices(c, act); err != nil {
		p.internalError(c, err)
		return
	}
	held, _, err := p.Rights.SearchPrivileges(ctx, postgres.PrivilegeFilter{Status: postgres.CatalogueAll, HeldIn: &act.Org.ID, Limit: 500})
	if err != nil {
		p.internalError(c, err)
		return
	}
	for _, e := range held {
		v.Privileges = append(v.Privileges, pages.Choice{Value: e.Privilege.ID.String(), Label: privilegeName(lang, e.Privilege.NameDA, e.Privilege.NameEN) + " (" + e.Privilege.URI + ")"})
	}
	render(c, http.StatusOK, pages.Assignments(v))
}

// rightsCSVHeader names the export's columns.
var rightsCSVHeader = []string{"privilege_uri", "privilege_name", "it_system", "provider", "holder_type", "user_uuid", "user_name",
	"user_email", "group_id", "group_name", "scope_kind", "scope_value", "constraints", "valid_from", "valid_to", "via_poa_from",
	"granted_by", "created_at"}

func csvTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.In(domain.DanishTime).Format(time.RFC3339)
}

// rightsExport streams "who has which right" with the page's filters as
// CSV for Danish Excel (UTF-8 with a byte order mark, semicolons), and
// audits who took it out.
func (p *Portal) rightsExport(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	r, ok := p.listReach(c, act, authz.ActionAssignmentRead, "assignment")
	if !ok {
		p.authorize(c, act, authz.ActionAssignmentRead, assignmentResource(nil), authz.Context{})
		return
	}
	f, ok := p.rightsFilter(c, act, r)
	if !ok {
		return
	}
	lang := p.lang(c)
	name := map[bool]string{true: "rights-", false: "rettigheder-"}[lang == web.LangEnglish] + act.Org.CVR + "-" +
		p.now().In(domain.DanishTime).Format(time.DateOnly) + ".csv"
	w := startCSV(c, name, rightsCSVHeader)
	n := 0
	err := p.Rights.EachAssignment(c.Request.Context(), f, func(v *postgres.AssignmentView) error {
		a := v.Assignment
		holder, userID, groupID := "user", "", ""
		if a.GroupID != nil {
			holder, groupID = "group", a.GroupID.String()
		}
		if a.UserID != nil {
			userID = a.UserID.String()
		}
		var constraints []string
		for _, k := range slices.Sorted(maps.Keys(a.ConstraintValues)) {
			constraints = append(constraints, k+"="+a.ConstraintValues[k])
		}
		poa := ""
		if a.ViaPoAID != nil {
			poa = v.PoAGrantorName
		}
		n++
		return w.Write(v.PrivilegeURI, privilegeName(lang, v.PrivilegeNameDA, v.PrivilegeNameEN), v.SystemName, v.ProviderName,
			holder, userID, v.UserName, v.UserEmail, groupID, v.GroupName, a.Scope.Kind, a.Scope.Value, strings.Join(constraints, " "),
			csvTime(a.ValidFrom), csvTime(a.ValidTo), poa, v.GrantedByName, csvTime(&a.CreatedAt))
	})
	if err == nil {
		err = w.Close()
	}
	// Who took the list of people and their rights out is recorded even
	// when the download broke.
	details := map[string]any{"assignments": n, "complete": err == nil, "filter": filterQuery(f).Encode()}
	if aerr := p.auditExported(c, act, "assignments.exported", details); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		p.exportFailed(c, "rights export", err)
	}
}

// assignmentRemove removes one assignment as the policy allows giving it
// (removalChecks): a user's with assignment.remove in the user's unit and
// the scope's, a group's with group.privileges.manage likewise, and one
// passed on from a power of attorney with assignment.remove for the whole
// organisation.
func (p *Portal) assignmentRemove(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	v, ok := loadOwn(p, c, act, p.Rights.FindAssignment)
	if !ok {
		return
	}
	action, checks := removalChecks(v)
	for _, res := range checks {
		if !p.authorize(c, act, action, res, authz.Context{}) {
			return
		}
	}
	if err := p.Rights.RemoveAssignment(c.Request.Context(), p.actorOf(c, act), act.Org.ID, v.Assignment.ID); err != nil {
		p.notFound(c, err)
		return
	}
	back := safeReturn(c.PostForm("return"), RightsPath)
	key := "rights.done.removed"
	if strings.HasPrefix(back, GroupsPath) {
		key = "groups.done.privilege_removed"
	}
	c.Redirect(http.StatusSeeOther, withDone(back, key))
}

// privilegeChoose is the second step of the choose form on a user's or a
// group's page: on to the privilege's page with the holder filled in.
func (p *Portal) privilegeChoose(c *gin.Context) {
	if _, ok := p.requireIdentity(c); !ok {
		return
	}
	id, err := uuid.Parse(c.Query("privilege"))
	if err != nil {
		p.renderError(c, http.StatusBadRequest)
		return
	}
	q := url.Values{}
	for _, k := range []string{"user", "group"} {
		if v := c.Query(k); v != "" {
			if _, err := uuid.Parse(v); err != nil {
				p.renderError(c, http.StatusBadRequest)
				return
			}
			q.Set(k, v)
		}
	}
	target := PrivilegesPath + "/" + id.String()
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	c.Redirect(http.StatusSeeOther, target+"#assign")
}
