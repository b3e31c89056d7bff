package portal

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/pages"
)

const cataloguePageSize = 50

func loaText(lang, level string) string { return web.T(lang, "privilege.loa."+level) }

func catalogueLine(lang string, e *domain.Privilege, system, provider string) pages.CatalogueLine {
	l := pages.CatalogueLine{ID: e.ID.String(), Name: privilegeName(lang, e.NameDA, e.NameEN), URI: e.URI,
		Description: privilegeName(lang, e.DescriptionDA, e.DescriptionEN), System: system, Provider: provider, Status: e.Status,
		MinLoA: loaText(lang, e.MinLoA), GroupAssignable: e.GroupAssignable, NeedsApproval: e.NeedsApproval}
	labels := make([]string, 0, len(e.ConstraintTypes))
	for _, t := range e.ConstraintTypes {
		labels = append(labels, constraintLabel(lang, t))
	}
	l.Constraints = strings.Join(labels, ", ")
	return l
}

func entryStatus(e *postgres.CatalogueEntry) string {
	if e.SystemStatus != "active" {
		return "retired"
	}
	return e.Privilege.Status
}

// catalogue is every provider's published privileges, searchable by text,
// IT system, provider and status.
func (p *Portal) catalogue(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok || !p.authorize(c, act, authz.ActionPrivilegeRead, authz.Resource{Type: "privilege"}, authz.Context{}) {
		return
	}
	lang := p.lang(c)
	f := postgres.PrivilegeFilter{Query: strings.TrimSpace(c.Query("q")), Status: c.Query("status"), After: c.Query("after"), Limit: cataloguePageSize}
	for _, id := range []struct {
		param string
		into  **uuid.UUID
	}{{"system", &f.SystemID}, {"provider", &f.ProviderID}} {
		if v := c.Query(id.param); v != "" {
			u, err := uuid.Parse(v)
			if err != nil {
				p.renderError(c, http.StatusBadRequest)
				return
			}
			*id.into = &u
		}
	}
	ctx := c.Request.Context()
	entries, more, err := p.Rights.SearchPrivileges(ctx, f)
	if domain.ErrorCode(err) == domain.EINVALID {
		p.renderError(c, http.StatusBadRequest)
		return
	}
	if err != nil {
		p.internalError(c, err)
		return
	}
	systems, err := p.Rights.ListCatalogueSystems(ctx)
	if err != nil {
		p.internalError(c, err)
		return
	}
	v := pages.CatalogueView{Frame: p.frame(c, act, web.T(lang, "catalogue.title"), PrivilegesPath), Query: f.Query, Status: f.Status,
		System: uuidString(f.SystemID), Provider: uuidString(f.ProviderID)}
	seen := map[uuid.UUID]bool{}
	for _, s := range systems {
		v.Systems = append(v.Systems, pages.Choice{Value: s.ID.String(), Label: s.Name + " · " + s.ProviderName})
		if !seen[s.ProviderID] {
			seen[s.ProviderID] = true
			v.Providers = append(v.Providers, pages.Choice{Value: s.ProviderID.String(), Label: s.ProviderName})
		}
	}
	for i := range entries {
		e := &entries[i]
		l := catalogueLine(lang, e.Privilege, e.SystemName, e.ProviderName)
		l.Status = entryStatus(e)
		v.Lines = append(v.Lines, l)
	}
	if more && len(entries) > 0 {
		q := c.Request.URL.Query()
		q.Set("after", entries[len(entries)-1].Privilege.URI)
		v.NextURL = PrivilegesPath + "?" + q.Encode()
	}
	render(c, http.StatusOK, pages.Catalogue(v))
}

// loadEntry finds the privilege the path names in the catalogue (every
// organisation may read it).
func (p *Portal) loadEntry(c *gin.Context) (*postgres.CatalogueEntry, bool) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		p.renderError(c, http.StatusNotFound)
		return nil, false
	}
	e, err := p.Rights.FindCatalogueEntry(c.Request.Context(), id)
	if err != nil {
		p.notFound(c, err)
		return nil, false
	}
	return e, true
}

// privilegeDetail shows a privilege, who in the organisation holds it, and
// the form that assigns it (to the user or group of ?user= or ?group= when
// the person came from that page).
func (p *Portal) privilegeDetail(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok || !p.authorize(c, act, authz.ActionPrivilegeRead, authz.Resource{Type: "privilege"}, authz.Context{}) {
		return
	}
	e, ok := p.loadEntry(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	form := pages.AssignFormValues{Scope: domain.ScopeCVR + ":" + act.Org.CVR}
	if id, err := uuid.Parse(c.Query("user")); err == nil {
		if u, err := p.Users.FindUserByID(ctx, act.Org.ID, id); err == nil && u.Status != domain.UserDeleted {
			form.Users, form.Return = u.Email, UsersPath+"/"+u.ID.String()+"/rights"
		}
	}
	if id, err := uuid.Parse(c.Query("group")); err == nil {
		if g, err := p.Groups.FindGroupByID(ctx, act.Org.ID, id); err == nil {
			form.Group, form.Return = g.ID.String(), GroupsPath+"/"+g.ID.String()
			// A group restricted to a unit takes that unit's scope only.
			if sc, ok, err := p.groupScope(c, act, g); err != nil {
				p.internalError(c, err)
				return
			} else if ok {
				form.Scope = sc.Kind + ":" + sc.Value
			}
		}
	}
	p.renderPrivilege(c, act, e, http.StatusOK, form, nil)
}

// groupScope is the scope a group restricted to a P- or SE-number takes.
func (p *Portal) groupScope(c *gin.Context, act actor, g *domain.Group) (domain.Scope, bool, error) {
	ctx := c.Request.Context()
	if g.ProductionUnitID != nil {
		units, err := p.Orgs.ListProductionUnits(ctx, act.Org.ID)
		if err != nil {
			return domain.Scope{}, false, err
		}
		for _, u := range units {
			if u.ID == *g.ProductionUnitID {
				return domain.Scope{Kind: domain.ScopeP, Value: u.PNumber}, true, nil
			}
		}
	}
	if g.SENumberID != nil {
		ses, err := p.Orgs.ListSENumbers(ctx, act.Org.ID)
		if err != nil {
			return domain.Scope{}, false, err
		}
		for _, se := range ses {
			if se.ID == *g.SENumberID {
				return domain.Scope{Kind: domain.ScopeSE, Value: se.SENumber}, true, nil
			}
		}
	}
	return domain.Scope{}, false, nil
}

func (p *Portal) renderPrivilege(c *gin.Context, act actor, e *postgres.CatalogueEntry, status int, form pages.AssignFormValues, errs []pages.FieldError) {
	lang := p.lang(c)
	ctx := c.Request.Context()
	pr := e.Privilege
	name := privilegeName(lang, pr.NameDA, pr.NameEN)
	v := pages.PrivilegeView{Frame: p.frame(c, act, name, PrivilegesPath), ID: pr.ID.String(), Name: name, URI: pr.URI,
		Description: privilegeName(lang, pr.DescriptionDA, pr.DescriptionEN), System: e.SystemName,
		Provider: e.ProviderName + " (CVR " + e.ProviderCVR + ")", Status: entryStatus(e), MinLoA: loaText(lang, pr.MinLoA),
		GroupAssignable: pr.GroupAssignable, NeedsApproval: pr.NeedsApproval, Form: form, Errors: errs,
		ReturnTo: PrivilegesPath + "/" + pr.ID.String()}
	if v.Notice = doneNotice(c, lang, "assign.done."); v.Notice == "" {
		v.Notice = doneNotice(c, lang, "rights.done.")
	}
	for _, t := range pr.ConstraintTypes {
		v.Constraints = append(v.Constraints, pages.ConstraintField{Type: t, Label: constraintLabel(lang, t), Hint: constraintHint(lang, t)})
	}
	_, v.CanAssignUsers = p.listReach(c, act, authz.ActionAssignmentCreate, "assignment")
	_, canGroups := p.listReach(c, act, authz.ActionGroupPrivilegesManage, "group")
	v.CanAssignGroups = canGroups && pr.GroupAssignable
	var err error
	if v.CanAssignUsers || v.CanAssignGroups {
		if v.Scopes, err = p.scopeChoices(c, act); err != nil {
			p.internalError(c, err)
			return
		}
	}
	if v.CanAssignGroups {
		groups, err := p.Groups.ListGroups(ctx, act.Org.ID)
		if err != nil {
			p.internalError(c, err)
			return
		}
		for _, g := range groups {
			v.Groups = append(v.Groups, pages.Choice{Value: g.ID.String(), Label: g.Name})
		}
	}
	if r, ok := p.listReach(c, act, authz.ActionAssignmentRead, "assignment"); ok {
		v.CanReadHolders = true
		// A unit-limited administrator sees the unit's holders only, as on
		// the who-has-what page.
		views, more, err := p.Rights.ListAssignments(ctx, postgres.AssignmentFilter{OrgID: act.Org.ID, PrivilegeID: &pr.ID,
			UnitID: r.Unit, HolderUnitID: r.Unit, Limit: 50})
		if err != nil {
			p.internalError(c, err)
			return
		}
		v.Holders = p.assignmentLines(c, act, views)
		if more {
			v.HoldersURL = RightsPath + "?privilege=" + pr.ID.String()
		}
	}
	render(c, status, pages.Privilege(v))
}

// splitRefs reads the users of the assign form: emails or UUIDs, one a line
// (commas, semicolons and spaces separate too), each once.
func splitRefs(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == ',' || r == ';' }) {
		if k := strings.ToLower(r); !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out
}

// privilegeAssign gives the privilege to the users written in the form,
// or to the chosen group: all or nothing, every problem shown at once.
func (p *Portal) privilegeAssign(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	e, ok := p.loadEntry(c)
	if !ok {
		return
	}
	lang := p.lang(c)
	ctx := c.Request.Context()
	pr := e.Privilege
	form := pages.AssignFormValues{Users: c.PostForm("users"), Group: strings.TrimSpace(c.PostForm("group")), Scope: c.PostForm("scope"),
		ValidFrom: strings.TrimSpace(c.PostForm("valid_from")), ValidTo: strings.TrimSpace(c.PostForm("valid_to")),
		Constraints: map[string]string{}, Return: safeReturn(c.PostForm("return"), "")}
	n := postgres.NewAssignments{OrgID: act.Org.ID, PrivilegeID: pr.ID, ConstraintValues: map[string]string{}}
	var errs domain.ValidationErrors
	var extra []pages.FieldError // problems the portal words itself
	for _, t := range pr.ConstraintTypes {
		v := strings.TrimSpace(c.PostForm("constraint:" + t))
		form.Constraints[t] = v
		if v != "" {
			n.ConstraintValues[t] = v
		}
	}
	sc, scopeErr := parseScope(form.Scope)
	errs.Add(scopeErr)
	n.Scope = sc
	n.ValidFrom = parseDay("valid_from", form.ValidFrom, &errs)
	n.ValidTo = parseDay("valid_to", form.ValidTo, &errs)

	// Who gets it, and whether the policy lets this administrator give it
	// to each of them (a unit-limited administrator: their unit's only).
	labels := map[uuid.UUID]string{}
	action, scopeRes := authz.ActionAssignmentCreate, assignmentResource(nil)
	if form.Group != "" {
		action = authz.ActionGroupPrivilegesManage
		if _, ok := p.listReach(c, act, action, "group"); !ok {
			p.authorize(c, act, action, authz.Resource{Type: "group"}, authz.Context{})
			return
		}
		scopeRes = authz.Resource{Type: "group"}
		var g *domain.Group
		id, err := uuid.Parse(form.Group)
		if err == nil {
			g, err = p.Groups.FindGroupByID(ctx, act.Org.ID, id)
		}
		switch {
		case err == nil:
			if !p.authorize(c, act, action, groupResource(g), authz.Context{}) {
				return
			}
			n.GroupID = &g.ID
		case domain.ErrorCode(err) == domain.EINTERNAL:
			p.internalError(c, err)
			return
		default:
			extra = append(extra, pages.FieldError{Field: "group", Message: web.T(lang, "assign.group.unknown")})
		}
		if strings.TrimSpace(form.Users) != "" {
			extra = append(extra, pages.FieldError{Field: "users", Message: web.T(lang, "err.assignment.holder_both")})
		}
	} else {
		if _, ok := p.listReach(c, act, action, "assignment"); !ok {
			p.authorize(c, act, action, assignmentResource(nil), authz.Context{})
			return
		}
		refs := splitRefs(form.Users)
		if len(refs) == 0 {
			extra = append(extra, pages.FieldError{Field: "users", Message: web.T(lang, "assign.users.required")})
		}
		if len(refs) > postgres.MaxAssignmentsAtOnce {
			extra = append(extra, pages.FieldError{Field: "users", Message: web.T(lang, "err.assignment.too_many")})
			refs = nil
		}
		found, err := p.Rights.FindUsersByRefs(ctx, act.Org.ID, refs)
		if err != nil {
			p.internalError(c, err)
			return
		}
		for _, r := range refs {
			u := found[r]
			if u == nil {
				extra = append(extra, pages.FieldError{Field: "users", Message: r + ": " + web.T(lang, "assign.users.unknown")})
				continue
			}
			if !p.authorize(c, act, action, assignmentResource(u.ProductionUnitID), authz.Context{}) {
				return
			}
			if _, dup := labels[u.ID]; !dup {
				n.UserIDs = append(n.UserIDs, u.ID)
				labels[u.ID] = u.FullName()
			}
		}
	}
	// The scope is a unit too: an administrator limited to one production
	// unit gives privileges for that unit's P-number only.
	if scopeErr == nil {
		unit, err := p.scopeUnit(c, act, sc)
		if err != nil {
			p.internalError(c, err)
			return
		}
		if sc.Kind != domain.ScopeP || unit != nil {
			scopeRes.UnitID = uuidString(unit)
			if !p.authorize(c, act, action, scopeRes, authz.Context{}) {
				return
			}
		}
	}
	if len(extra) > 0 || len(errs) > 0 {
		// Show what else is wrong too, without storing anything.
		shown := append(extra, assignErrors(lang, errs, labels)...)
		has := map[string]bool{}
		for _, fe := range shown {
			has[fe.Field] = true
		}
		if cerr := p.Rights.CheckAssignments(ctx, n); cerr != nil {
			if domain.ErrorCode(cerr) == domain.EINTERNAL {
				p.internalError(c, cerr)
				return
			}
			for _, fe := range assignErrors(lang, cerr, labels) {
				if !has[fe.Field] {
					shown = append(shown, fe)
				}
			}
		}
		p.renderPrivilege(c, act, e, http.StatusBadRequest, form, shown)
		return
	}
	if _, err := p.Rights.CreateAssignments(ctx, p.actorOf(c, act), n); err != nil {
		if !isFormError(err) && domain.ErrorCode(err) != domain.ENOTFOUND {
			p.internalError(c, err)
			return
		}
		p.renderPrivilege(c, act, e, formStatus(err), form, assignErrors(lang, err, labels))
		return
	}
	back, key := form.Return, "assign.done.assigned"
	switch {
	case back == "":
		back = PrivilegesPath + "/" + pr.ID.String()
	case strings.HasPrefix(back, GroupsPath):
		key = "groups.done.privilege_assigned"
	}
	c.Redirect(http.StatusSeeOther, back+"?done="+url.QueryEscape(key))
}

// assignErrors words the repository's problems for the assign form: those
// about one user name the user, and holders are the users field.
func assignErrors(lang string, err error, labels map[uuid.UUID]string) []pages.FieldError {
	list := domainErrors(err)
	out := make([]pages.FieldError, 0, len(list))
	for _, e := range list {
		fe := pages.FieldError{Field: e.Field, Message: translate(lang, e)}
		if rest, ok := strings.CutPrefix(e.Field, postgres.UserFieldPrefix); ok {
			label := rest
			if id, err := uuid.Parse(rest); err == nil && labels[id] != "" {
				label = labels[id]
			}
			fe = pages.FieldError{Field: "users", Message: label + ": " + translate(lang, e)}
		}
		switch fe.Field {
		case "user", "holder":
			fe.Field = "users"
		case "privilege":
			fe.Field = ""
		}
		out = append(out, fe)
	}
	return out
}

// domainErrors is every *domain.Error in err: the list of a
// ValidationErrors, or the one; anything else is a generic message.
func domainErrors(err error) []*domain.Error {
	var ve domain.ValidationErrors
	var de *domain.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ve):
		return ve
	case errors.As(err, &de):
		return []*domain.Error{de}
	}
	return []*domain.Error{asDomainError(err)}
}
