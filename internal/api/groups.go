package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// groupsPath is where the user groups live; a group is groupsPath/<id>.
const groupsPath = "/api/v1/groups"

// mountGroups registers the user group endpoints.
func (a *API) mountGroups(g *gin.RouterGroup) {
	g.GET("/groups", a.listGroups)
	g.POST("/groups", a.idempotent, a.createGroup)
	g.GET("/groups/:id", a.getGroup)
	g.PATCH("/groups/:id", a.updateGroup)
	g.DELETE("/groups/:id", a.deleteGroup)
	g.GET("/groups/:id/members", a.listMembers)
	g.GET("/groups/:id/members/:user_id", a.getMember)
	g.PUT("/groups/:id/members/:user_id", a.addMember)
	g.DELETE("/groups/:id/members/:user_id", a.removeMember)
}

// groupJSON is a user group as the API shows it.
type groupJSON struct {
	ID               uuid.UUID  `json:"id"`
	Name             string     `json:"name"`
	Description      string     `json:"description"`
	ProductionUnitID *uuid.UUID `json:"production_unit_id,omitempty"`
	SENumberID       *uuid.UUID `json:"se_number_id,omitempty"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

func groupOut(g *domain.Group) groupJSON {
	return groupJSON{ID: g.ID, Name: g.Name, Description: g.Description, ProductionUnitID: g.ProductionUnitID,
		SENumberID: g.SENumberID, CreatedAt: g.CreatedAt.UTC(), UpdatedAt: g.UpdatedAt.UTC()}
}

// groupVersion is a group's ETag. Groups carry no version column; the time
// of the last change (kept by a trigger, in microseconds) serves as one.
func groupVersion(g *domain.Group) int { return int(g.UpdatedAt.UnixMicro()) }

// groupCursor is the keyset position of a page of groups.
type groupCursor struct {
	Name string    `json:"n"`
	ID   uuid.UUID `json:"i"`
}

func (a *API) listGroups(c *gin.Context) {
	cl := ClientOf(c)
	if !a.authorize(c, authz.ActionGroupRead, Resource{OrgID: cl.OrgID}) {
		return
	}
	limit, cursor, ok := a.pageParams(c)
	if !ok {
		return
	}
	f := postgres.GroupFilter{OrgID: cl.OrgID, Query: c.Query("q"), Limit: limit}
	if cursor != "" {
		var cur groupCursor
		if !a.decodeCursor(c, cursor, &cur) {
			return
		}
		f.After = &postgres.GroupCursor{Name: cur.Name, ID: cur.ID}
	}
	groups, more, err := a.opts.Groups.PageGroups(c.Request.Context(), f)
	if err != nil {
		a.problem(c, err)
		return
	}
	items := make([]groupJSON, len(groups))
	for i, g := range groups {
		items[i] = groupOut(g)
	}
	next := ""
	if more && len(groups) > 0 {
		last := groups[len(groups)-1]
		next = encodeCursor(groupCursor{Name: last.Name, ID: last.ID})
	}
	a.page(c, items, next)
}

// groupCreate is the body of POST /groups.
type groupCreate struct {
	Name             string `json:"name"`
	Description      string `json:"description"`
	ProductionUnitID string `json:"production_unit_id"`
	SENumberID       string `json:"se_number_id"`
}

func (a *API) createGroup(c *gin.Context) {
	cl := ClientOf(c)
	if !a.authorize(c, authz.ActionGroupCreate, Resource{OrgID: cl.OrgID}) {
		return
	}
	var in groupCreate
	if !a.bind(c, &in) {
		return
	}
	g := &domain.Group{OrgID: cl.OrgID, Name: in.Name, Description: in.Description}
	var errs domain.ValidationErrors
	g.ProductionUnitID = parseOptionalID(&errs, "production_unit_id", in.ProductionUnitID)
	g.SENumberID = parseOptionalID(&errs, "se_number_id", in.SENumberID)
	if err := errs.Err(); err != nil {
		a.problem(c, err)
		return
	}
	if err := a.opts.Admin.CreateGroup(c.Request.Context(), a.actor(c), g); err != nil {
		a.problem(c, apiFields(err))
		return
	}
	c.Header("Location", groupsPath+"/"+g.ID.String())
	setETag(c, groupVersion(g))
	c.JSON(http.StatusCreated, groupOut(g))
}

// ownGroup finds the group the path's :id names in the client's
// organisation after the action was allowed; anything else is 404.
func (a *API) ownGroup(c *gin.Context, action string) (*domain.Group, bool) {
	return ownObject(a, c, action, "group", a.opts.Groups.FindGroupByID)
}

// groupPrecondition checks If-Match against the group's version; false
// when it has been answered (400 or 412).
func (a *API) groupPrecondition(c *gin.Context, g *domain.Group) bool {
	version, present, ok := a.ifMatch(c)
	if ok && present && version != groupVersion(g) {
		a.stale(c)
		return false
	}
	return ok
}

func (a *API) getGroup(c *gin.Context) {
	g, ok := a.ownGroup(c, authz.ActionGroupRead)
	if !ok {
		return
	}
	setETag(c, groupVersion(g))
	c.JSON(http.StatusOK, groupOut(g))
}

// groupPatch is the body of PATCH /groups/{id}: a JSON merge patch.
type groupPatch struct {
	Name             mergeField[string] `json:"name"`
	Description      mergeField[string] `json:"description"`
	ProductionUnitID mergeField[string] `json:"production_unit_id"`
	SENumberID       mergeField[string] `json:"se_number_id"`
}

// apply merges the patch into g and collects what is wrong with it.
func (p *groupPatch) apply(g *domain.Group) error {
	var errs domain.ValidationErrors
	if p.Name.Null {
		errs.Add(domain.Invalid("name", "patch.required", "name cannot be removed; give a new name or leave it out."))
	} else if p.Name.Set {
		g.Name = p.Name.Value
	}
	if p.Description.Set {
		g.Description = p.Description.Value // null clears it
	}
	if p.ProductionUnitID.Set {
		g.ProductionUnitID = parseOptionalID(&errs, "production_unit_id", p.ProductionUnitID.Value)
	}
	if p.SENumberID.Set {
		g.SENumberID = parseOptionalID(&errs, "se_number_id", p.SENumberID.Value)
	}
	return errs.Err()
}

func (a *API) updateGroup(c *gin.Context) {
	cur, ok := a.ownGroup(c, authz.ActionGroupUpdate)
	if !ok {
		return
	}
	var p groupPatch
	if !a.bind(c, &p) || !a.groupPrecondition(c, cur) {
		return
	}
	g := *cur
	if err := p.apply(&g); err != nil {
		a.problem(c, err)
		return
	}
	ctx := c.Request.Context()
	if err := a.opts.Admin.UpdateGroup(ctx, a.actor(c), &g); err != nil {
		a.problem(c, apiFields(err))
		return
	}
	updated, err := a.opts.Groups.FindGroupByID(ctx, g.OrgID, g.ID)
	if err != nil {
		a.problem(c, err)
		return
	}
	setETag(c, groupVersion(updated))
	c.JSON(http.StatusOK, groupOut(updated))
}

func (a *API) deleteGroup(c *gin.Context) {
	g, ok := a.ownGroup(c, authz.ActionGroupDelete)
	if !ok || !a.groupPrecondition(c, g) {
		return
	}
	if err := a.opts.Admin.DeleteGroup(c.Request.Context(), a.actor(c), g.OrgID, g.ID); err != nil {
		a.problem(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// memberJSON is a membership as the API shows it.
type memberJSON struct {
	UserID   uuid.UUID `json:"user_id"`
	Name     string    `json:"name,omitempty"`
	Email    string    `json:"email,omitempty"`
	External bool      `json:"external"`
	OrgCVR   string    `json:"organisation_cvr"`
	AddedAt  time.Time `json:"added_at"`
}

func memberOut(m *postgres.GroupMembership) memberJSON {
	return memberJSON{UserID: m.UserID, Name: m.Name, Email: m.Email, External: m.External, OrgCVR: m.OrgCVR, AddedAt: m.AddedAt.UTC()}
}

// memberCursor is the keyset position of a page of members.
type memberCursor struct {
	AddedAt time.Time `json:"t"`
	UserID  uuid.UUID `json:"i"`
}

func (a *API) listMembers(c *gin.Context) {
	g, ok := a.ownGroup(c, authz.ActionGroupRead)
	if !ok {
		return
	}
	limit, cursor, ok := a.pageParams(c)
	if !ok {
		return
	}
	f := postgres.MemberFilter{OrgID: g.OrgID, GroupID: g.ID, Limit: limit}
	if cursor != "" {
		var cur memberCursor
		if !a.decodeCursor(c, cursor, &cur) {
			return
		}
		f.After = &postgres.MemberCursor{AddedAt: cur.AddedAt, UserID: cur.UserID}
	}
	members, more, err := a.opts.Groups.PageGroupMembers(c.Request.Context(), f)
	if err != nil {
		a.problem(c, err)
		return
	}
	items := make([]memberJSON, len(members))
	for i, m := range members {
		items[i] = memberOut(m)
	}
	next := ""
	if more && len(members) > 0 {
		last := members[len(members)-1]
		next = encodeCursor(memberCursor{AddedAt: last.AddedAt, UserID: last.UserID})
	}
	a.page(c, items, next)
}

// memberOf finds the group and the path's :user_id for a member endpoint;
// anything the client's organisation does not have is 404.
func (a *API) memberOf(c *gin.Context, action string) (*domain.Group, uuid.UUID, bool) {
	g, ok := a.ownGroup(c, action)
	if !ok {
		return nil, uuid.Nil, false
	}
	userID, ok := a.ownID(c, "user_id", "user")
	return g, userID, ok
}

func (a *API) getMember(c *gin.Context) {
	g, userID, ok := a.memberOf(c, authz.ActionGroupRead)
	if !ok {
		return
	}
	m, err := a.opts.Groups.FindGroupMembership(c.Request.Context(), g.OrgID, g.ID, userID)
	if err != nil {
		a.problem(c, err)
		return
	}
	c.JSON(http.StatusOK, memberOut(m))
}

// addMember adds a user of the client's organisation to the group: 201
// when added, 200 when a member already (PUT is idempotent).
func (a *API) addMember(c *gin.Context) {
	g, userID, ok := a.memberOf(c, authz.ActionGroupMembersManage)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	u, err := a.opts.Users.FindUserByID(ctx, g.OrgID, userID)
	if err == nil && u.Status == domain.UserDeleted {
		err = domain.Errorf(domain.ENOTFOUND, "The user is deleted.")
	}
	if err != nil {
		a.problem(c, err)
		return
	}
	if m, err := a.opts.Groups.FindGroupMembership(ctx, g.OrgID, g.ID, u.ID); err == nil {
		c.JSON(http.StatusOK, memberOut(m))
		return
	}
	status := http.StatusCreated
	if err := a.opts.Admin.AddGroupMember(ctx, a.actor(c), g.OrgID, g.ID, u); err != nil {
		if domain.ErrorCode(err) != domain.ECONFLICT {
			a.problem(c, err)
			return
		}
		status = http.StatusOK // added by a request running at the same time
	}
	m, err := a.opts.Groups.FindGroupMembership(ctx, g.OrgID, g.ID, u.ID)
	if err != nil {
		a.problem(c, err)
		return
	}
	if status == http.StatusCreated {
		c.Header("Location", groupsPath+"/"+g.ID.String()+"/members/"+u.ID.String())
	}
	c.JSON(status, memberOut(m))
}

func (a *API) removeMember(c *gin.Context) {
	g, userID, ok := a.memberOf(c, authz.ActionGroupMembersManage)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	m, err := a.opts.Groups.FindGroupMembership(ctx, g.OrgID, g.ID, userID)
	if err != nil {
		a.problem(c, err)
		return
	}
	if err := a.opts.Admin.RemoveGroupMember(ctx, a.actor(c), g.OrgID, g.ID, m.ID); err != nil {
		a.problem(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
