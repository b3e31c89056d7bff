package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
)

// mountRoles registers the administrator role endpoints.
func (a *API) mountRoles(g *gin.RouterGroup) {
	g.GET("/users/:id/roles", a.listRoles)
	g.POST("/users/:id/roles", a.idempotent, a.assignRole)
	g.GET("/users/:id/roles/:role_id", a.getRole)
	g.DELETE("/users/:id/roles/:role_id", a.removeRole)
}

// roleJSON is an administrator role assignment as the API shows it.
type roleJSON struct {
	ID               uuid.UUID  `json:"id"`
	UserID           uuid.UUID  `json:"user_id"`
	Role             string     `json:"role"`
	ProductionUnitID *uuid.UUID `json:"production_unit_id,omitempty"`
	ValidFrom        *time.Time `json:"valid_from,omitempty"`
	ValidTo          *time.Time `json:"valid_to,omitempty"`
	Active           bool       `json:"active"`
	CreatedAt        time.Time  `json:"created_at"`
}

func roleOut(r *domain.AdminRole, now time.Time) roleJSON {
	utc := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		u := t.UTC()
		return &u
	}
	return roleJSON{ID: r.ID, UserID: r.UserID, Role: r.Role, ProductionUnitID: r.ProductionUnitID,
		ValidFrom: utc(r.ValidFrom), ValidTo: utc(r.ValidTo), Active: r.ActiveAt(now), CreatedAt: r.CreatedAt.UTC()}
}

// userRoles finds the path's user and their role assignments after the
// action was allowed; another organisation's user is 404.
func (a *API) userRoles(c *gin.Context, action string) (*domain.User, []*domain.AdminRole, bool) {
	u, ok := a.ownUser(c, action)
	if !ok {
		return nil, nil, false
	}
	roles, err := a.opts.Roles.ListAdminRolesOfUser(c.Request.Context(), u.OrgID, u.ID)
	if err != nil {
		a.problem(c, err)
		return nil, nil, false
	}
	return u, roles, true
}

// roleOfUser finds the assignment the path's :role_id names among the
// user's; anything else is 404.
func (a *API) roleOfUser(c *gin.Context, action string) (*domain.User, *domain.AdminRole, bool) {
	u, roles, ok := a.userRoles(c, action)
	if !ok {
		return nil, nil, false
	}
	id, ok := a.ownID(c, "role_id", "role assignment")
	if !ok {
		return nil, nil, false
	}
	for _, r := range roles {
		if r.ID == id {
			return u, r, true
		}
	}
	a.problemf(c, http.StatusNotFound, domain.ENOTFOUND, "The user has no such role assignment.")
	return nil, nil, false
}

func (a *API) listRoles(c *gin.Context) {
	_, roles, ok := a.userRoles(c, authz.ActionAdminRoleRead)
	if !ok {
		return
	}
	now := a.now()
	items := make([]roleJSON, len(roles))
	for i, r := range roles {
		items[i] = roleOut(r, now)
	}
	c.JSON(http.StatusOK, Page[roleJSON]{Items: items})
}

func (a *API) getRole(c *gin.Context) {
	_, r, ok := a.roleOfUser(c, authz.ActionAdminRoleRead)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, roleOut(r, a.now()))
}

// roleCreate is the body of POST /users/{id}/roles.
type roleCreate struct {
	Role             string `json:"role"`
	ProductionUnitID string `json:"production_unit_id"`
	ValidFrom        string `json:"valid_from"`
	ValidTo          string `json:"valid_to"`
}

func (a *API) assignRole(c *gin.Context) {
	u, ok := a.ownUser(c, authz.ActionAdminRoleAssign)
	if !ok {
		return
	}
	var in roleCreate
	if !a.bind(c, &in) {
		return
	}
	r := &domain.AdminRole{OrgID: u.OrgID, UserID: u.ID, Role: in.Role}
	var errs domain.ValidationErrors
	r.ProductionUnitID = parseOptionalID(&errs, "production_unit_id", in.ProductionUnitID)
	r.ValidFrom = parseOptionalTime(&errs, "valid_from", in.ValidFrom)
	r.ValidTo = parseOptionalTime(&errs, "valid_to", in.ValidTo)
	if err := errs.Err(); err != nil {
		a.problem(c, err)
		return
	}
	if err := a.opts.Admin.AssignRole(c.Request.Context(), a.actor(c), r, mailLang); err != nil {
		a.problem(c, apiFields(err))
		return
	}
	c.Header("Location", usersPath+"/"+u.ID.String()+"/roles/"+r.ID.String())
	c.JSON(http.StatusCreated, roleOut(r, a.now()))
}

// removeRole takes a role from the user. The organisation's last active
// organisation administrator keeps theirs: the repository refuses with a
// conflict that says so.
func (a *API) removeRole(c *gin.Context) {
	u, r, ok := a.roleOfUser(c, authz.ActionAdminRoleRemove)
	if !ok {
		return
	}
	if err := a.opts.Admin.RemoveRole(c.Request.Context(), a.actor(c), u.OrgID, r.ID, mailLang); err != nil {
		a.problem(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// parseOptionalTime reads an optional RFC 3339 time field of a body.
func parseOptionalTime(errs *domain.ValidationErrors, field, s string) *time.Time {
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		errs.Add(domain.Invalid(field, "time.format", field+" must be an RFC 3339 time, such as 2027-01-31T00:00:00Z."))
		return nil
	}
	return &t
}
