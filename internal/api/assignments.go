package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// rightsAPI serves the rights endpoints: the catalogue, assignments,
// effective privileges and decisions. It keeps the directory that lets a
// decision be authorized without a query.
type rightsAPI struct {
	*API
	dir *directory
}

// mountRights registers the rights endpoints: catalogue, assignments,
// effective privileges and decisions.
func (a *API) mountRights(g *gin.RouterGroup) {
	r := &rightsAPI{API: a, dir: newDirectory(a.opts.Rights, a.now)}
	g.GET("/privileges", r.listPrivileges)
	g.GET("/privileges/:id", r.getPrivilege)
	g.GET("/assignments", r.listAssignments)
	g.POST("/assignments", a.idempotent, r.createAssignment)
	g.GET("/assignments/:id", r.getAssignment)
	g.DELETE("/assignments/:id", r.deleteAssignment)
	g.GET("/users/:id/privileges", r.userPrivileges)
	g.GET("/users/:id/privileges.xml", r.userPrivilegeDocument)
	g.POST("/decisions", r.decide)
	g.POST("/decisions/batch", r.decideBatch)
}

// AssignmentsPath is where assignments live; a created one's Location.
const AssignmentsPath = "/api/v1/assignments"

// assignmentJSON is an assignment as the API shows it.
type assignmentJSON struct {
	ID                uuid.UUID         `json:"id"`
	Privilege         privilegeRefJSON  `json:"privilege"`
	UserID            *uuid.UUID        `json:"user_id,omitempty"`
	GroupID           *uuid.UUID        `json:"group_id,omitempty"`
	Scope             scopeJSON         `json:"scope"`
	Constraints       map[string]string `json:"constraints"`
	ValidFrom         *time.Time        `json:"valid_from,omitempty"`
	ValidTo           *time.Time        `json:"valid_to,omitempty"`
	Source            string            `json:"source"`
	PowerOfAttorneyID *uuid.UUID        `json:"power_of_attorney_id,omitempty"`
	CreatedAt         time.Time         `json:"created_at"`
}

type privilegeRefJSON struct {
	ID           uuid.UUID `json:"id"`
	URI          string    `json:"uri"`
	NameDA       string    `json:"name_da"`
	NameEN       string    `json:"name_en"`
	Status       string    `json:"status"`
	ITSystemName string    `json:"it_system_name"`
	ProviderName string    `json:"provider_name"`
}

func assignmentOut(v *postgres.AssignmentView) assignmentJSON {
	a := v.Assignment
	out := assignmentJSON{ID: a.ID, UserID: a.UserID, GroupID: a.GroupID, Scope: scopeOut(a.Scope),
		Privilege: privilegeRefJSON{ID: a.PrivilegeID, URI: v.PrivilegeURI, NameDA: v.PrivilegeNameDA, NameEN: v.PrivilegeNameEN,
			Status: v.PrivilegeStatus, ITSystemName: v.SystemName, ProviderName: v.ProviderName},
		Constraints: nonNilMap(a.ConstraintValues), ValidFrom: utc(a.ValidFrom), ValidTo: utc(a.ValidTo),
		Source: "direct", PowerOfAttorneyID: a.ViaPoAID, CreatedAt: a.CreatedAt.UTC()}
	if a.ViaPoAID != nil {
		out.Source = "poa"
	}
	return out
}

// assignmentCreateJSON is the body of POST /assignments. Identifiers and
// times are strings so that a malformed one is reported on its own field.
type assignmentCreateJSON struct {
	UserID      *string           `json:"user_id"`
	GroupID     *string           `json:"group_id"`
	Privilege   string            `json:"privilege"`
	Scope       *scopeJSON        `json:"scope"`
	Constraints map[string]string `json:"constraints"`
	ValidFrom   *string           `json:"valid_from"`
	ValidTo     *string           `json:"valid_to"`
}

// listAssignments is a page of the organisation's assignments.
func (r *rightsAPI) listAssignments(c *gin.Context) {
	client := ClientOf(c)
	if !r.authorize(c, authz.ActionAssignmentRead, Resource{OrgID: client.OrgID}) {
		return
	}
	limit, cursor, ok := r.pageParams(c)
	if !ok {
		return
	}
	var after string
	if !r.decodeCursor(c, cursor, &after) {
		return
	}
	f := postgres.AssignmentFilter{OrgID: client.OrgID, After: after, Limit: limit}
	var errs []FieldError
	for _, p := range []struct {
		name string
		into **uuid.UUID
	}{{"user_id", &f.UserID}, {"group_id", &f.GroupID}} {
		if s := c.Query(p.name); s != "" {
			id, err := uuid.Parse(s)
			if err != nil {
				errs = append(errs, FieldError{Field: p.name, Code: "assignments." + p.name, Detail: p.name + " is an id, a UUID."})
				continue
			}
			*p.into = &id
		}
	}
	if len(errs) > 0 {
		r.problemf(c, http.StatusBadRequest, domain.EINVALID, "Some parameters are not valid; see errors.", errs...)
		return
	}
	ctx := c.Request.Context()
	if s := c.Query("privilege"); s != "" {
		id, err := r.privilegeID(c, s)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			r.page(c, []assignmentJSON{}, "") // nobody holds a privilege that does not exist
			return
		}
		if err != nil {
			r.problem(c, err)
			return
		}
		f.PrivilegeID = &id
	}
	views, more, err := r.opts.Rights.ListAssignments(ctx, f)
	if domain.ErrorCode(err) == domain.EINVALID {
		r.badCursor(c) // a cursor of ours in form, but not in content
		return
	}
	if err != nil {
		r.problem(c, err)
		return
	}
	items := make([]assignmentJSON, len(views))
	for i := range views {
		items[i] = assignmentOut(&views[i])
	}
	next := ""
	if more && len(views) > 0 {
		next = encodeCursor(views[len(views)-1].Cursor)
	}
	r.page(c, items, next)
}

// privilegeID resolves a privilege named by id or by URI; ENOTFOUND.
func (r *rightsAPI) privilegeID(c *gin.Context, ref string) (uuid.UUID, error) {
	ctx := c.Request.Context()
	if id, err := uuid.Parse(ref); err == nil {
		e, err := r.opts.Rights.FindCatalogueEntry(ctx, id)
		if err != nil {
			return uuid.Nil, err
		}
		return e.Privilege.ID, nil
	}
	p, err := r.opts.Rights.FindPrivilegeByURI(ctx, ref)
	if err != nil {
		return uuid.Nil, err
	}
	return p.ID, nil
}

// createAssignment gives a privilege to one user or one group of the
// client's organisation. Every problem is reported at once, and nothing
// is stored unless everything is right.
func (r *rightsAPI) createAssignment(c *gin.Context) {
	client := ClientOf(c)
	if !r.authorize(c, authz.ActionAssignmentCreate, Resource{OrgID: client.OrgID}) {
		return
	}
	var in assignmentCreateJSON
	if !r.bind(c, &in) {
		return
	}
	n := postgres.NewAssignments{OrgID: client.OrgID, ConstraintValues: in.Constraints}
	var errs []FieldError
	fail := func(field, code, detail string) {
		errs = append(errs, FieldError{Field: field, Code: code, Detail: detail})
	}
	switch {
	case in.UserID != nil && in.GroupID != nil:
		fail("/group_id", "assignment.holder_both", "Assign to a user (user_id) or to a group (group_id), not both.")
	case in.UserID == nil && in.GroupID == nil:
		fail("/user_id", "assignment.holder", "Name the user (user_id) or the group (group_id) to assign to.")
	}
	if in.UserID != nil {
		if id, err := uuid.Parse(*in.UserID); err != nil {
			fail("/user_id", "assignment.user_id", "user_id is the user's id, a UUID.")
		} else {
			n.UserIDs = []uuid.UUID{id}
		}
	}
	if in.GroupID != nil {
		if id, err := uuid.Parse(*in.GroupID); err != nil {
			fail("/group_id", "assignment.group_id", "group_id is the group's id, a UUID.")
		} else {
			n.GroupID = &id
		}
	}
	if in.Scope == nil {
		fail("/scope", "assignment.scope", "Choose the scope: the organisation's CVR number, or one of its P- or SE-numbers.")
	} else {
		var scopeErrs []FieldError
		n.Scope, scopeErrs = scopeIn(*in.Scope, "/scope")
		errs = append(errs, scopeErrs...)
	}
	for _, t := range []struct {
		field string
		in    *string
		into  **time.Time
	}{{"valid_from", in.ValidFrom, &n.ValidFrom}, {"valid_to", in.ValidTo, &n.ValidTo}} {
		if t.in == nil {
			continue
		}
		v, err := time.Parse(time.RFC3339, *t.in)
		if err != nil {
			fail("/"+t.field, "assignment."+t.field, t.field+" is a moment in RFC 3339, such as 2026-01-31T00:00:00+01:00.")
			continue
		}
		*t.into = &v
	}
	switch ref := strings.TrimSpace(in.Privilege); {
	case ref == "" || len(ref) > maxURI:
		fail("/privilege", "assignment.privilege", "Name the privilege by its URI or its id.")
	default:
		id, err := r.privilegeID(c, ref)
		switch domain.ErrorCode(err) {
		case "":
			n.PrivilegeID = id
		case domain.ENOTFOUND:
			fail("/privilege", "privilege.not_found", "There is no such privilege in the catalogue.")
		default:
			r.problem(c, err)
			return
		}
	}
	if len(errs) > 0 {
		r.problemf(c, http.StatusBadRequest, domain.EINVALID, "The assignment is not valid; see errors.", errs...)
		return
	}
	ctx := c.Request.Context()
	created, err := r.opts.Rights.CreateAssignments(ctx, r.actor(c), n)
	if err != nil {
		r.refusedAssignment(c, err)
		return
	}
	v, err := r.opts.Rights.FindAssignment(ctx, client.OrgID, created[0].ID)
	if err != nil {
		r.problem(c, err)
		return
	}
	c.Header("Location", AssignmentsPath+"/"+v.Assignment.ID.String())
	c.JSON(http.StatusCreated, assignmentOut(v))
}

// refusedAssignment answers a create the rights service refused: 409 when
// the only problem is that the holder has the assignment already, 400 with
// every problem otherwise (a holder not of the organisation included, so
// that another organisation's user looks like no user).
func (r *rightsAPI) refusedAssignment(c *gin.Context, err error) {
	var list domain.ValidationErrors
	var one *domain.Error
	switch {
	case errors.As(err, &list):
	case errors.As(err, &one) && one.Field != "":
		list = domain.ValidationErrors{one}
	default:
		r.problem(c, err)
		return
	}
	conflict := true
	fields := make([]FieldError, 0, len(list))
	for _, e := range list {
		if e.Code == domain.EINTERNAL {
			r.problem(c, err)
			return
		}
		conflict = conflict && e.Code == domain.ECONFLICT
		code := e.Key
		if code == "" {
			code = e.Code
		}
		fields = append(fields, FieldError{Field: assignmentPointer(e.Field), Code: code, Detail: e.Message})
	}
	if conflict {
		r.problemf(c, http.StatusConflict, domain.ECONFLICT, "The holder has this privilege for this scope and these values already.", fields...)
		return
	}
	r.problemf(c, http.StatusBadRequest, domain.EINVALID, "The assignment is not possible; see errors.", fields...)
}

// assignmentPointer is the body's JSON pointer for a field of the rights
// service's errors.
func assignmentPointer(field string) string {
	switch {
	case field == "users" || field == "user" || field == "holder" || strings.HasPrefix(field, postgres.UserFieldPrefix):
		return "/user_id"
	case field == "group":
		return "/group_id"
	case field == "scope":
		return "/scope/value"
	case strings.HasPrefix(field, "constraint:"):
		return "/constraints/" + escapePointer(strings.TrimPrefix(field, "constraint:"))
	}
	return pointer(field)
}

// getAssignment is one assignment of the organisation.
func (r *rightsAPI) getAssignment(c *gin.Context) {
	client := ClientOf(c)
	if !r.authorize(c, authz.ActionAssignmentRead, Resource{OrgID: client.OrgID}) {
		return
	}
	id, ok := r.pathID(c, "There is no such assignment.")
	if !ok {
		return
	}
	v, err := r.opts.Rights.FindAssignment(c.Request.Context(), client.OrgID, id)
	if err != nil {
		r.problem(c, err)
		return
	}
	c.JSON(http.StatusOK, assignmentOut(v))
}

// deleteAssignment removes one assignment of the organisation, audited.
func (r *rightsAPI) deleteAssignment(c *gin.Context) {
	client := ClientOf(c)
	if !r.authorize(c, authz.ActionAssignmentRemove, Resource{OrgID: client.OrgID}) {
		return
	}
	id, ok := r.pathID(c, "There is no such assignment.")
	if !ok {
		return
	}
	if err := r.opts.Rights.RemoveAssignment(c.Request.Context(), r.actor(c), client.OrgID, id); err != nil {
		r.problem(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// badCursor answers 400 for a cursor that is not one, as decodeCursor does.
func (r *rightsAPI) badCursor(c *gin.Context) {
	r.problemf(c, http.StatusBadRequest, domain.EINVALID, "The cursor is not valid; see errors.",
		FieldError{Field: "cursor", Code: "page.cursor", Detail: "Use the next_cursor of the previous page as it is, or leave cursor out to start from the beginning."})
}

// pathID reads the :id of the path; anything but a UUID names nothing (404).
func (r *rightsAPI) pathID(c *gin.Context, notFound string) (uuid.UUID, bool) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		r.problemf(c, http.StatusNotFound, domain.ENOTFOUND, notFound)
		return uuid.Nil, false
	}
	return id, true
}

// scopeJSON is a scope as the API writes it.
type scopeJSON struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// The API's names of the scope kinds.
const (
	scopeTypeCVR = "cvr"
	scopeTypeP   = "pnumber"
	scopeTypeSE  = "senumber"
)

var scopeKinds = map[string]string{scopeTypeCVR: domain.ScopeCVR, scopeTypeP: domain.ScopeP, scopeTypeSE: domain.ScopeSE}

func scopeOut(s domain.Scope) scopeJSON {
	switch s.Kind {
	case domain.ScopeP:
		return scopeJSON{Type: scopeTypeP, Value: s.Value}
	case domain.ScopeSE:
		return scopeJSON{Type: scopeTypeSE, Value: s.Value}
	}
	return scopeJSON{Type: scopeTypeCVR, Value: s.Value}
}

// scopeIn checks a scope of a request; at is its JSON pointer.
func scopeIn(s scopeJSON, at string) (domain.Scope, []FieldError) {
	kind, ok := scopeKinds[s.Type]
	if !ok {
		return domain.Scope{}, []FieldError{{Field: at + "/type", Code: "scope.type", Detail: "The scope's type is cvr, pnumber or senumber."}}
	}
	sc := domain.Scope{Kind: kind, Value: strings.TrimSpace(s.Value)}
	if err := sc.Validate(); err != nil {
		return sc, []FieldError{{Field: at + "/value", Code: domain.ErrorKey(err), Detail: domain.ErrorMessage(err)}}
	}
	return sc, nil
}

// escapePointer escapes one reference token of a JSON pointer (RFC 6901).
func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
