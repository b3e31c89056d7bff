package portal

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/server"
	"github.com/erhverv/erhverv/web"
	"github.com/erhverv/erhverv/web/pages"
)

// UsersPath is the users list; a user's page is UsersPath/<uuid>.
const UsersPath = "/portal/users"

func (p *Portal) mountUsers(g *gin.RouterGroup) {
	g.GET(UsersPath, p.usersList)
	g.GET(UsersPath+"/new", p.userNew)
	g.POST(UsersPath, p.userCreate)
	g.GET(UsersPath+"/:id", p.userDetail)
	g.GET(UsersPath+"/:id/edit", p.userEdit)
	g.POST(UsersPath+"/:id/edit", p.userUpdate)
	g.POST(UsersPath+"/:id/status", p.userStatus)
	g.POST(UsersPath+"/:id/resend", p.userResend)
	g.POST(UsersPath+"/:id/roles", p.roleAssign)
	g.POST(UsersPath+"/:id/roles/:role/remove", p.roleRemove)
}

func (p *Portal) actorOf(c *gin.Context, act actor) postgres.Actor {
	return postgres.Actor{UserID: act.User.ID, Label: act.User.FullName(), RequestID: server.RequestID(c), Address: c.ClientIP()}
}

// userResource is a user as the policy sees it: its organisation and unit.
func userResource(u *domain.User) authz.Resource {
	r := authz.Resource{Type: "user", OrgID: u.OrgID.String(), ID: u.ID.String(), OwnerID: u.ID.String()}
	if u.ProductionUnitID != nil {
		r.UnitID = u.ProductionUnitID.String()
	}
	return r
}

const usersPageSize = 50

func (p *Portal) usersList(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	// An administrator limited to a production unit sees that unit's users.
	scope, ok := p.listReach(c, act, authz.ActionUserRead, "user")
	if !ok {
		p.authorize(c, act, authz.ActionUserRead, authz.Resource{Type: "user"}, authz.Context{}) // answers with the reasons
		return
	}
	lang := p.lang(c)
	f := domain.UserFilter{OrgID: act.Org.ID, Query: strings.TrimSpace(c.Query("q")), Limit: usersPageSize}
	switch st := c.Query("status"); st {
	case "", domain.UserPending, domain.UserActive, domain.UserDeactivated:
		f.Status = st
	default:
		p.renderError(c, http.StatusBadRequest)
		return
	}
	for _, id := range []struct {
		param string
		into  **uuid.UUID
	}{{"unit", &f.UnitID}, {"group", &f.GroupID}} {
		if v := c.Query(id.param); v != "" {
			u, err := uuid.Parse(v)
			if err != nil {
				p.renderError(c, http.StatusBadRequest)
				return
			}
			*id.into = &u
		}
	}
	if role := c.Query("role"); role != "" {
		if !slices.Contains(domain.AdminRoles, role) {
			p.renderError(c, http.StatusBadRequest)
			return
		}
		f.Role = role
	}
	if scope.Unit != nil {
		if f.UnitID != nil && *f.UnitID != *scope.Unit {
			p.authorize(c, act, authz.ActionUserRead, authz.Resource{Type: "user", UnitID: f.UnitID.String()}, authz.Context{})
			return
		}
		f.UnitID = scope.Unit
	}
	f.Descending = c.Query("sort") == "name_desc"
	if after := c.Query("after"); after != "" {
		cur, err := decodeCursor(after)
		if err != nil {
			p.renderError(c, http.StatusBadRequest)
			return
		}
		f.After = cur
	}
	users, more, err := p.Users.FindUsers(c.Request.Context(), f)
	if err != nil {
		p.internalError(c, err)
		return
	}
	_, canCreate := p.listReach(c, act, authz.ActionUserCreate, "user")
	v := pages.UsersView{Frame: p.frame(c, act, web.T(lang, "users.title"), UsersPath), Query: f.Query, Status: f.Status,
		Unit: uuidString(f.UnitID), Role: f.Role, Group: c.Query("group"), Descending: f.Descending,
		CanCreate: canCreate,
		CanImport: p.may(c, act, authz.ActionUserImport, authz.Resource{Type: "user"}),
		CanExport: p.may(c, act, authz.ActionUserExport, authz.Resource{Type: "user"})}
	if v.Units, err = p.unitChoices(c, act); err != nil {
		p.internalError(c, err)
		return
	}
	groups, err := p.Groups.ListGroups(c.Request.Context(), act.Org.ID)
	if err != nil {
		p.internalError(c, err)
		return
	}
	for _, g := range groups {
		v.Groups = append(v.Groups, pages.Choice{Value: g.ID.String(), Label: g.Name})
	}
	for _, role := range domain.AdminRoles {
		v.Roles = append(v.Roles, pages.Choice{Value: role, Label: web.T(lang, "role."+role)})
	}
	for _, u := range users {
		v.Rows = append(v.Rows, pages.UserRow{ID: u.ID.String(), Name: displayName(lang, u), Email: u.Email, Status: u.Status,
			StatusLabel: web.T(lang, "status."+u.Status)})
	}
	if more && len(users) > 0 {
		last := users[len(users)-1]
		q := c.Request.URL.Query()
		q.Set("after", encodeCursor(&domain.UserCursor{LastName: last.LastName, FirstName: last.FirstName, ID: last.ID}))
		v.NextURL = UsersPath + "?" + q.Encode()
	}
	render(c, http.StatusOK, pages.Users(v))
}

func displayName(lang string, u *domain.User) string {
	if u.Status == domain.UserDeleted {
		return web.T(lang, "users.deleted_name")
	}
	return u.FullName()
}

// The cursor is the last row's sort key, readable and URL-safe: a person
// can bookmark a page, and nothing in it is secret.
func encodeCursor(c *domain.UserCursor) string {
	return c.ID.String() + "~" + c.LastName + "~" + c.FirstName
}

func decodeCursor(s string) (*domain.UserCursor, error) {
	parts := strings.SplitN(s, "~", 3)
	if len(parts) != 3 {
		return nil, domain.Invalid("after", "users.cursor", "The page position is not valid.")
	}
	id, err := uuid.Parse(parts[0])
	if err != nil {
		return nil, domain.Invalid("after", "users.cursor", "The page position is not valid.")
	}
	return &domain.UserCursor{ID: id, LastName: parts[1], FirstName: parts[2]}, nil
}

// loadOwn finds the object the path's :id names in the acting
// organisation. A malformed id, an unknown one and another organisation's
// are all the same 404.
func loadOwn[T any](p *Portal, c *gin.Context, act actor, find func(context.Context, uuid.UUID, uuid.UUID) (T, error)) (T, bool) {
	var zero T
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		p.renderError(c, http.StatusNotFound)
		return zero, false
	}
	v, err := find(c.Request.Context(), act.Org.ID, id)
	if err != nil {
		p.notFound(c, err)
		return zero, false
	}
	return v, true
}

// loadUser finds a user of the acting organisation (see loadOwn).
func (p *Portal) loadUser(c *gin.Context, act actor) (*domain.User, bool) {
	return loadOwn(p, c, act, p.Users.FindUserByID)
}

func (p *Portal) unitChoices(c *gin.Context, act actor) ([]pages.Choice, error) {
	units, err := p.Orgs.ListProductionUnits(c.Request.Context(), act.Org.ID)
	if err != nil {
		return nil, err
	}
	out := make([]pages.Choice, 0, len(units))
	for _, u := range units {
		out = append(out, pages.Choice{Value: u.ID.String(), Label: u.PNumber + " " + u.Name})
	}
	return out, nil
}

func (p *Portal) userNew(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	// A unit-limited administrator may open the form; creating asks again
	// with the unit chosen.
	if _, ok := p.listReach(c, act, authz.ActionUserCreate, "user"); !ok {
		p.authorize(c, act, authz.ActionUserCreate, authz.Resource{Type: "user"}, authz.Context{})
		return
	}
	units, err := p.unitChoices(c, act)
	if err != nil {
		p.internalError(c, err)
		return
	}
	lang := p.lang(c)
	render(c, http.StatusOK, pages.UserForm(pages.UserFormView{Frame: p.frame(c, act, web.T(lang, "users.new.title"), UsersPath),
		Units: units, Mandatory: act.Org.Settings.MandatoryUserFields}))
}

func (p *Portal) userCreate(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	lang := p.lang(c)
	form := pages.UserFormValues{
		FirstName: strings.TrimSpace(c.PostForm("first_name")), LastName: strings.TrimSpace(c.PostForm("last_name")),
		Email: strings.TrimSpace(c.PostForm("email")), Phone: strings.TrimSpace(c.PostForm("phone")),
		CPR: domain.NormalizeDigits(c.PostForm("cpr")), BirthDate: strings.TrimSpace(c.PostForm("birth_date")),
		Unit: c.PostForm("production_unit"), EmployeeNumber: strings.TrimSpace(c.PostForm("employee_number")),
		Department: strings.TrimSpace(c.PostForm("department")),
	}
	u := &domain.User{OrgID: act.Org.ID, FirstName: form.FirstName, LastName: form.LastName, Email: form.Email, Phone: form.Phone, CPR: form.CPR,
		ExtraFields: extraFields(form)}
	var errs domain.ValidationErrors
	if form.Unit != "" {
		id, err := uuid.Parse(form.Unit)
		if err != nil {
			errs.Add(domain.Invalid("production_unit", "user.unit", "Choose one of the organisation's production units."))
		} else {
			u.ProductionUnitID = &id
		}
	}
	if form.CPR == "" {
		u.BirthDate = parseBirthDate(form.BirthDate, &errs)
	}
	// The policy decides on the user as it would be created (its unit).
	if !p.authorize(c, act, authz.ActionUserCreate, userResource(u), authz.Context{}) {
		return
	}
	err := errs.Err()
	var issued postgres.Issued
	if err == nil {
		issued, err = p.Administration.CreateUser(c.Request.Context(), p.actorOf(c, act), u, lang)
	}
	if err != nil {
		if isFormError(err) {
			units, uerr := p.unitChoices(c, act)
			if uerr != nil {
				p.internalError(c, uerr)
				return
			}
			render(c, formStatus(err), pages.UserForm(pages.UserFormView{Frame: p.frame(c, act, web.T(lang, "users.new.title"), UsersPath),
				Units: units, Mandatory: act.Org.Settings.MandatoryUserFields, Form: form, Errors: fieldErrors(lang, err)}))
			return
		}
		p.internalError(c, err)
		return
	}
	render(c, http.StatusOK, pages.UserCreated(pages.UserCreatedView{Frame: p.frame(c, act, web.T(lang, "users.created.title"), UsersPath),
		UserID: u.ID.String(), Name: u.FullName(), Email: u.Email, Code: issued.Code, ExpiresAt: domain.FormatDate(issued.ExpiresAt, lang)}))
}

func (p *Portal) userDetail(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	u, ok := p.loadUser(c, act)
	if !ok || !p.authorize(c, act, authz.ActionUserRead, userResource(u), authz.Context{}) {
		return
	}
	p.renderUser(c, act, u, http.StatusOK, nil)
}

func (p *Portal) renderUserConfirm(c *gin.Context, act actor, u *domain.User) {
	p.renderUserView(c, act, u, http.StatusOK, nil, true)
}

// renderUser shows a user's page, with a message about the last action.
func (p *Portal) renderUser(c *gin.Context, act actor, u *domain.User, status int, problem error) {
	p.renderUserView(c, act, u, status, problem, false)
}

func (p *Portal) renderUserView(c *gin.Context, act actor, u *domain.User, status int, problem error, confirmDelete bool) {
	ctx := c.Request.Context()
	lang := p.lang(c)
	roles, err := p.Roles.ListAdminRolesOfUser(ctx, act.Org.ID, u.ID)
	if err != nil {
		p.internalError(c, err)
		return
	}
	units, err := p.unitChoices(c, act)
	if err != nil {
		p.internalError(c, err)
		return
	}
	res := userResource(u)
	v := pages.UserDetailView{Frame: p.frame(c, act, displayName(lang, u), UsersPath), ID: u.ID.String(), Name: displayName(lang, u),
		Email: u.Email, Phone: u.Phone, Status: u.Status, StatusLabel: web.T(lang, "status."+u.Status), Version: u.Version,
		HasCPR: u.HasCPR, Anonymous: u.Anonymous, Units: units, ConfirmDelete: confirmDelete}
	// Only the catalogue's own confirmations, never text from the URL.
	if done := c.Query("done"); strings.HasPrefix(done, "users.done.") && web.T(lang, done) != done {
		v.Notice = web.T(lang, done)
	}
	if !u.BirthDate.IsZero() {
		v.BirthDate = domain.FormatDate(u.BirthDate, lang)
	}
	v.EmployeeNumber, v.Department = u.ExtraFields["employee_number"], u.ExtraFields["department"]
	if p.may(c, act, authz.ActionAuditRead, authz.Resource{Type: "audit"}) {
		events, _, err := p.Audit.ListAuditEvents(ctx, postgres.AuditFilter{OrgID: act.Org.ID, Target: u.ID.String(), Limit: 10})
		if err != nil {
			p.internalError(c, err)
			return
		}
		v.Activity = activityLines(lang, events)
	}
	if p.may(c, act, authz.ActionGroupRead, authz.Resource{Type: "group"}) {
		groups, err := p.Groups.GroupsOfUser(ctx, act.Org.ID, u.ID)
		if err != nil {
			p.internalError(c, err)
			return
		}
		for _, g := range groups {
			v.Groups = append(v.Groups, pages.Choice{Value: g.ID.String(), Label: g.Name})
		}
	}
	if u.ProductionUnitID != nil {
		for _, ch := range units {
			if ch.Value == u.ProductionUnitID.String() {
				v.Unit = ch.Label
			}
		}
	}
	if problem != nil {
		v.Problem = translate(lang, asDomainError(problem))
	}
	for _, s := range []struct{ to, action string }{
		{domain.UserDeactivated, authz.ActionUserDeactivate}, {domain.UserActive, authz.ActionUserReactivate}, {domain.UserDeleted, authz.ActionUserDelete},
	} {
		if domain.CanTransition(u.Status, s.to) && !(u.Status == domain.UserPending && s.to == domain.UserActive) && p.may(c, act, s.action, res) {
			v.Actions = append(v.Actions, pages.StatusAction{To: s.to, Label: web.T(lang, "users.action."+s.to)})
		}
	}
	v.CanResend = u.Status == domain.UserPending && p.may(c, act, authz.ActionUserResendActivation, res)
	v.CanEdit = u.Status != domain.UserDeleted && p.may(c, act, authz.ActionUserUpdate, res)
	// Ending the user's sessions is for those who may deactivate the user.
	v.CanEndSessions = u.Status != domain.UserDeleted && p.may(c, act, authz.ActionUserDeactivate, res)
	v.ConfirmEndSessions = v.CanEndSessions && c.Query("confirm") == confirmEndSessions
	if u.Status != domain.UserDeleted && p.may(c, act, authz.ActionAssignmentRead, assignmentResource(u.ProductionUnitID)) {
		v.RightsURL = UsersPath + "/" + u.ID.String() + "/rights"
	}
	now := time.Now()
	admins, err := p.Roles.CountActiveOrgAdmins(ctx, act.Org.ID, now)
	if err != nil {
		p.internalError(c, err)
		return
	}
	for _, r := range roles {
		line := pages.RoleLine{ID: r.ID.String(), Name: web.T(lang, "role."+r.Role), Active: r.ActiveAt(now)}
		if r.ProductionUnitID != nil {
			for _, ch := range units {
				if ch.Value == r.ProductionUnitID.String() {
					line.Scope = ch.Label
				}
			}
		}
		if r.ValidTo != nil {
			line.Until = domain.FormatDate(*r.ValidTo, lang)
		}
		active := r.Role == domain.RoleOrgAdmin && r.ActiveAt(now) && u.Status == domain.UserActive
		d, err := p.decide(c, act, authz.ActionAdminRoleRemove, authz.Resource{Type: "admin_role", ID: r.ID.String(), Role: r.Role,
			IsActiveOrgAdmin: &active}, authz.Context{ActiveOrgAdmins: admins})
		line.CanRemove = err == nil && d.Allow
		v.Roles = append(v.Roles, line)
	}
	if u.Status != domain.UserDeleted {
		for _, role := range domain.AdminRoles {
			if p.may(c, act, authz.ActionAdminRoleAssign, authz.Resource{Type: "admin_role", Role: role}) {
				v.AssignableRoles = append(v.AssignableRoles, pages.Choice{Value: role, Label: web.T(lang, "role."+role)})
			}
		}
	}
	render(c, status, pages.UserDetail(v))
}

func (p *Portal) userStatus(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	u, ok := p.loadUser(c, act)
	if !ok {
		return
	}
	to := c.PostForm("to")
	action := map[string]string{domain.UserDeactivated: authz.ActionUserDeactivate, domain.UserActive: authz.ActionUserReactivate,
		domain.UserDeleted: authz.ActionUserDelete}[to]
	if action == "" {
		p.renderError(c, http.StatusBadRequest)
		return
	}
	ctx := c.Request.Context()
	admins, err := p.Roles.CountActiveOrgAdmins(ctx, act.Org.ID, time.Now())
	if err != nil {
		p.internalError(c, err)
		return
	}
	res := userResource(u)
	isAdmin, err := p.isActiveOrgAdmin(c, u)
	if err != nil {
		p.internalError(c, err)
		return
	}
	res.IsActiveOrgAdmin = &isAdmin
	if !p.authorize(c, act, action, res, authz.Context{ActiveOrgAdmins: admins}) {
		return
	}
	version, err := strconv.Atoi(c.PostForm("version"))
	if err != nil {
		p.renderError(c, http.StatusBadRequest)
		return
	}
	if version != u.Version {
		// Someone changed the user after the form was shown (perhaps moved
		// them to another unit, which the policy was just asked about).
		p.userProblem(c, act, u.ID, postgres.ErrStale)
		return
	}
	if to == domain.UserDeleted && c.PostForm("confirm") != "yes" {
		// Deleting erases the person's data for good: ask once more.
		u.Version = version
		p.renderUserConfirm(c, act, u)
		return
	}
	if err := p.Administration.SetStatus(ctx, p.actorOf(c, act), act.Org.ID, u.ID, version, to); err != nil {
		p.userProblem(c, act, u.ID, err)
		return
	}
	c.Redirect(http.StatusSeeOther, UsersPath+"/"+u.ID.String()+"?done=users.done."+to)
}

// userProblem shows the user's current data with what went wrong: a
// stale version (someone else changed it), the last administrator, a
// transition that is not allowed.
func (p *Portal) userProblem(c *gin.Context, act actor, id uuid.UUID, err error) {
	code := domain.ErrorCode(err)
	if code != domain.ECONFLICT && code != domain.EINVALID {
		p.notFound(c, err)
		return
	}
	u, ferr := p.Users.FindUserByID(c.Request.Context(), act.Org.ID, id)
	if ferr != nil {
		p.notFound(c, ferr)
		return
	}
	p.renderUser(c, act, u, StatusOf(err), err)
}

func (p *Portal) isActiveOrgAdmin(c *gin.Context, u *domain.User) (bool, error) {
	if u.Status != domain.UserActive {
		return false, nil
	}
	roles, err := p.Roles.ListAdminRolesOfUser(c.Request.Context(), u.OrgID, u.ID)
	if err != nil {
		return false, err
	}
	now := time.Now()
	for _, r := range roles {
		if r.Role == domain.RoleOrgAdmin && r.ActiveAt(now) {
			return true, nil
		}
	}
	return false, nil
}

func (p *Portal) userResend(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	u, ok := p.loadUser(c, act)
	if !ok || !p.authorize(c, act, authz.ActionUserResendActivation, userResource(u), authz.Context{}) {
		return
	}
	issued, err := p.Administration.ResendActivation(c.Request.Context(), p.actorOf(c, act), act.Org.ID, u.ID, p.lang(c))
	if err != nil {
		p.userProblem(c, act, u.ID, err)
		return
	}
	if issued.Code != "" {
		lang := p.lang(c)
		render(c, http.StatusOK, pages.UserCreated(pages.UserCreatedView{Frame: p.frame(c, act, web.T(lang, "users.resent.title"), UsersPath),
			UserID: u.ID.String(), Name: u.FullName(), Email: u.Email, Code: issued.Code, ExpiresAt: domain.FormatDate(issued.ExpiresAt, lang), Resent: true}))
		return
	}
	c.Redirect(http.StatusSeeOther, UsersPath+"/"+u.ID.String()+"?done=users.done.resent")
}

func (p *Portal) roleAssign(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	u, ok := p.loadUser(c, act)
	if !ok {
		return
	}
	role := c.PostForm("role")
	r := &domain.AdminRole{OrgID: act.Org.ID, UserID: u.ID, Role: role}
	var errs domain.ValidationErrors
	if unit := c.PostForm("production_unit"); unit != "" {
		id, err := uuid.Parse(unit)
		if err != nil {
			errs.Add(domain.Invalid("production_unit", "user.unit", "Choose one of the organisation's production units."))
		} else {
			r.ProductionUnitID = &id
		}
	}
	for _, d := range []struct {
		field string
		into  **time.Time
	}{{"valid_from", &r.ValidFrom}, {"valid_to", &r.ValidTo}} {
		if s := strings.TrimSpace(c.PostForm(d.field)); s != "" {
			t, err := time.ParseInLocation(time.DateOnly, s, time.Local)
			if err != nil {
				errs.Add(domain.Invalid(d.field, "role.date_format", "Write the date as YYYY-MM-DD, e.g. 2027-01-31."))
				continue
			}
			*d.into = &t
		}
	}
	res := authz.Resource{Type: "admin_role", Role: role}
	if r.ProductionUnitID != nil {
		res.UnitID = r.ProductionUnitID.String()
	}
	if !p.authorize(c, act, authz.ActionAdminRoleAssign, res, authz.Context{}) {
		return
	}
	err := errs.Err()
	if err == nil {
		err = p.Administration.AssignRole(c.Request.Context(), p.actorOf(c, act), r, p.lang(c))
	}
	if err != nil {
		p.userProblem(c, act, u.ID, err)
		return
	}
	c.Redirect(http.StatusSeeOther, UsersPath+"/"+u.ID.String()+"?done=users.done.role_assigned")
}

func (p *Portal) roleRemove(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	u, ok := p.loadUser(c, act)
	if !ok {
		return
	}
	roleID, err := uuid.Parse(c.Param("role"))
	if err != nil {
		p.renderError(c, http.StatusNotFound)
		return
	}
	ctx := c.Request.Context()
	roles, err := p.Roles.ListAdminRolesOfUser(ctx, act.Org.ID, u.ID)
	if err != nil {
		p.internalError(c, err)
		return
	}
	var target *domain.AdminRole
	for _, r := range roles {
		if r.ID == roleID {
			target = r
		}
	}
	if target == nil {
		p.renderError(c, http.StatusNotFound)
		return
	}
	admins, err := p.Roles.CountActiveOrgAdmins(ctx, act.Org.ID, time.Now())
	if err != nil {
		p.internalError(c, err)
		return
	}
	active := target.Role == domain.RoleOrgAdmin && target.ActiveAt(time.Now()) && u.Status == domain.UserActive
	res := authz.Resource{Type: "admin_role", ID: target.ID.String(), Role: target.Role, IsActiveOrgAdmin: &active}
	if target.ProductionUnitID != nil {
		res.UnitID = target.ProductionUnitID.String()
	}
	if !p.authorize(c, act, authz.ActionAdminRoleRemove, res, authz.Context{ActiveOrgAdmins: admins}) {
		return
	}
	if err := p.Administration.RemoveRole(ctx, p.actorOf(c, act), act.Org.ID, roleID, p.lang(c)); err != nil {
		p.userProblem(c, act, u.ID, err)
		return
	}
	c.Redirect(http.StatusSeeOther, UsersPath+"/"+u.ID.String()+"?done=users.done.role_removed")
}

func (p *Portal) userEdit(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	u, ok := p.loadUser(c, act)
	if !ok || !p.authorize(c, act, authz.ActionUserUpdate, userResource(u), authz.Context{}) {
		return
	}
	if u.Status == domain.UserDeleted {
		p.renderError(c, http.StatusNotFound)
		return
	}
	form := pages.UserFormValues{FirstName: u.FirstName, LastName: u.LastName, Email: u.Email, Phone: u.Phone,
		Anonymous: u.Anonymous, Version: u.Version, EmployeeNumber: u.ExtraFields["employee_number"], Department: u.ExtraFields["department"]}
	if !u.BirthDate.IsZero() && !u.HasCPR {
		form.BirthDate = u.BirthDate.Format(time.DateOnly)
	}
	if u.ProductionUnitID != nil {
		form.Unit = u.ProductionUnitID.String()
	}
	p.renderUserForm(c, act, u, http.StatusOK, form, nil)
}

func (p *Portal) renderUserForm(c *gin.Context, act actor, u *domain.User, status int, form pages.UserFormValues, errs []pages.FieldError) {
	units, err := p.unitChoices(c, act)
	if err != nil {
		p.internalError(c, err)
		return
	}
	lang := p.lang(c)
	render(c, status, pages.UserForm(pages.UserFormView{Frame: p.frame(c, act, web.T(lang, "users.edit.title"), UsersPath),
		EditID: u.ID.String(), HasCPR: u.HasCPR, Units: units, Mandatory: act.Org.Settings.MandatoryUserFields, Form: form, Errors: errs}))
}

func (p *Portal) userUpdate(c *gin.Context) {
	act, ok := p.requireIdentity(c)
	if !ok {
		return
	}
	cur, ok := p.loadUser(c, act)
	if !ok || !p.authorize(c, act, authz.ActionUserUpdate, userResource(cur), authz.Context{}) {
		return
	}
	lang := p.lang(c)
	form := pages.UserFormValues{
		FirstName: strings.TrimSpace(c.PostForm("first_name")), LastName: strings.TrimSpace(c.PostForm("last_name")),
		Email: strings.TrimSpace(c.PostForm("email")), Phone: strings.TrimSpace(c.PostForm("phone")),
		CPR: domain.NormalizeDigits(c.PostForm("cpr")), BirthDate: strings.TrimSpace(c.PostForm("birth_date")),
		Unit: c.PostForm("production_unit"), Anonymous: c.PostForm("anonymous") == "yes",
		EmployeeNumber: strings.TrimSpace(c.PostForm("employee_number")), Department: strings.TrimSpace(c.PostForm("department")),
	}
	version, err := strconv.Atoi(c.PostForm("version"))
	if err != nil {
		p.renderError(c, http.StatusBadRequest)
		return
	}
	form.Version = version
	if version != cur.Version {
		p.userProblem(c, act, cur.ID, postgres.ErrStale)
		return
	}
	u := *cur
	u.FirstName, u.LastName, u.Email, u.Phone, u.CPR, u.Anonymous, u.Version = form.FirstName, form.LastName, form.Email, form.Phone, form.CPR, form.Anonymous, version
	u.ProductionUnitID = nil
	u.ExtraFields = extraFields(form)
	var errs domain.ValidationErrors
	if form.Unit != "" {
		id, err := uuid.Parse(form.Unit)
		if err != nil {
			errs.Add(domain.Invalid("production_unit", "user.unit", "Choose one of the organisation's production units."))
		} else {
			u.ProductionUnitID = &id
		}
	}
	if form.CPR != "" {
		u.BirthDate = time.Time{} // taken from the new CPR
	} else if !cur.HasCPR && form.BirthDate != "" {
		if d := parseBirthDate(form.BirthDate, &errs); !d.IsZero() {
			u.BirthDate = d
		}
	}
	// Moving the user to another unit needs the right to that unit too.
	if !p.authorize(c, act, authz.ActionUserUpdate, userResource(&u), authz.Context{}) {
		return
	}
	err = errs.Err()
	if err == nil {
		err = p.Administration.UpdateUser(c.Request.Context(), p.actorOf(c, act), &u)
	}
	if err != nil {
		if domain.ErrorKey(err) == "stale" {
			// Someone else saved first: their data, and the conflict.
			p.userProblem(c, act, cur.ID, err)
			return
		}
		if isFormError(err) {
			p.renderUserForm(c, act, cur, formStatus(err), form, fieldErrors(lang, err))
			return
		}
		p.notFound(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, UsersPath+"/"+cur.ID.String()+"?done=users.done.updated")
}

// extraFields are the user's organisation-defined fields, only those given.
func extraFields(form pages.UserFormValues) map[string]string {
	out := map[string]string{}
	if form.EmployeeNumber != "" {
		out["employee_number"] = form.EmployeeNumber
	}
	if form.Department != "" {
		out["department"] = form.Department
	}
	return out
}

// uuidString is an optional id as a form value ("" for none).
func uuidString(id *uuid.UUID) string {
	if id == nil {
		return ""
	}
	return id.String()
}
