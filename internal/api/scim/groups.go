package scim

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	filter "github.com/scim2/filter-parser/v2"

	"github.com/erhverv/erhverv/internal/postgres"
)

func (h *handler) listGroups(c *gin.Context) {
	start, count, ok := h.paging(c)
	if !ok {
		return
	}
	f, err := parseFilter(c.Query("filter"), groupFilterFields, schemaGroup)
	if err != nil {
		h.fail(c, err)
		return
	}
	p, proj := principalOf(c), newProjection(c, schemaGroup)
	groups, total, err := h.dir.FindGroups(c.Request.Context(),
		postgres.SCIMQuery{OrgID: p.orgID, Filter: f, Offset: start - 1, Limit: count}, proj.wants("members"))
	if err != nil {
		h.fail(c, err)
		return
	}
	items := make([]any, len(groups))
	for i, g := range groups {
		items[i] = proj.apply(h.toGroupResource(g))
	}
	h.write(c, http.StatusOK, newList(total, start, items))
}

func (h *handler) getGroup(c *gin.Context) {
	id, ok := h.idParam(c, "group")
	if ok {
		h.writeGroup(c, http.StatusOK, id)
	}
}

// writeGroup answers with the group as it is stored now.
func (h *handler) writeGroup(c *gin.Context, status int, id uuid.UUID) {
	proj := newProjection(c, schemaGroup)
	g, err := h.dir.FindGroup(c.Request.Context(), principalOf(c).orgID, id, proj.wants("members"))
	if err != nil {
		h.fail(c, err)
		return
	}
	if status == http.StatusCreated {
		c.Header("Location", h.base+"/Groups/"+id.String())
	}
	h.write(c, status, proj.apply(h.toGroupResource(g)))
}

// readGroup decodes a POST or PUT body; members is nil when the body
// has no members attribute.
func (h *handler) readGroup(c *gin.Context) (in groupResource, members []uuid.UUID, ok bool) {
	if !h.decode(c, &in) {
		return in, nil, false
	}
	if !hasSchema(in.Schemas, schemaGroup) {
		h.fail(c, invalidSyntax("schemas must list "+schemaGroup+"."))
		return in, nil, false
	}
	if strings.TrimSpace(in.DisplayName) == "" {
		h.fail(c, invalidValue("displayName is required."))
		return in, nil, false
	}
	if in.Members != nil {
		members = []uuid.UUID{}
		for _, m := range in.Members {
			id, err := uuid.Parse(m.Value)
			if err != nil {
				h.fail(c, invalidValue(fmt.Sprintf("members: %q is not the id of a user.", m.Value)))
				return in, nil, false
			}
			members = append(members, id)
		}
	}
	return in, members, true
}

func (h *handler) createGroup(c *gin.Context) {
	in, members, ok := h.readGroup(c)
	if !ok {
		return
	}
	p := principalOf(c)
	g := &postgres.SCIMGroup{}
	if in.ExternalID != nil {
		g.ExternalID = strings.TrimSpace(*in.ExternalID)
	}
	g.OrgID, g.Name = p.orgID, in.DisplayName
	for _, id := range members {
		g.Members = append(g.Members, postgres.SCIMMember{UserID: id})
	}
	if err := h.dir.CreateGroup(c.Request.Context(), p.actor, g); err != nil {
		h.fail(c, err)
		return
	}
	h.writeGroup(c, http.StatusCreated, g.ID)
}

// replaceGroup replaces the name and, when the body has them, the
// externalId and the members.
func (h *handler) replaceGroup(c *gin.Context) {
	id, ok := h.idParam(c, "group")
	if !ok {
		return
	}
	in, members, ok := h.readGroup(c)
	if !ok {
		return
	}
	ch := postgres.SCIMGroupChange{Name: &in.DisplayName, ExternalID: in.ExternalID, SetMembers: members != nil, Add: members}
	if ch.ExternalID != nil {
		*ch.ExternalID = strings.TrimSpace(*ch.ExternalID)
	}
	p := principalOf(c)
	if err := h.dir.UpdateGroup(c.Request.Context(), p.actor, p.orgID, id, ch); err != nil {
		h.fail(c, err)
		return
	}
	h.writeGroup(c, http.StatusOK, id)
}

// patchGroup answers 204, or 200 with the group when the request names
// the attributes to return.
func (h *handler) patchGroup(c *gin.Context) {
	id, ok := h.idParam(c, "group")
	if !ok {
		return
	}
	var req patchRequest
	if !h.decode(c, &req) {
		return
	}
	if err := req.check(); err != nil {
		h.fail(c, err)
		return
	}
	p, ctx := principalOf(c), c.Request.Context()
	// The group must exist before its members are looked at.
	if _, err := h.dir.FindGroup(ctx, p.orgID, id, false); err != nil {
		h.fail(c, err)
		return
	}
	gp := &groupPatch{members: func() ([]postgres.SCIMMember, error) {
		g, err := h.dir.FindGroup(ctx, p.orgID, id, true)
		if err != nil {
			return nil, err
		}
		return g.Members, nil
	}}
	for _, o := range req.Operations {
		if err := gp.apply(o); err != nil {
			h.fail(c, err)
			return
		}
	}
	if err := h.dir.UpdateGroup(ctx, p.actor, p.orgID, id, gp.change); err != nil {
		h.fail(c, err)
		return
	}
	if newProjection(c, schemaGroup).active() {
		h.writeGroup(c, http.StatusOK, id)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *handler) deleteGroup(c *gin.Context) {
	id, ok := h.idParam(c, "group")
	if !ok {
		return
	}
	p := principalOf(c)
	if err := h.dir.DeleteGroup(c.Request.Context(), p.actor, p.orgID, id); err != nil {
		h.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// groupPatch turns PATCH operations on a group into one change. Members
// are changed by id without reading them all, except for a filter other
// than value eq, which is evaluated on the current members.
type groupPatch struct {
	change  postgres.SCIMGroupChange
	members func() ([]postgres.SCIMMember, error)
}

func (g *groupPatch) apply(o patchOp) error {
	op := strings.ToLower(o.Op)
	return o.eachTarget(nil, func(path string, value any, hasValue bool) error {
		return g.applyPath(op, path, value, hasValue)
	})
}

func (g *groupPatch) applyPath(op, raw string, value any, hasValue bool) error {
	t, err := resolve(raw, func(uri string) (map[string]any, []attribute, bool) {
		return nil, groupAttributes, uri == "" || strings.EqualFold(uri, schemaGroup)
	})
	if err != nil || t == nil {
		return err
	}
	if op != "remove" && !hasValue {
		return invalidValue(fmt.Sprintf("The %s operation on %s needs a value.", op, raw))
	}
	if t.attr.Name != "members" && (t.sub != nil || t.filter != nil) {
		return invalidPath(raw + " is not a path of a group.")
	}
	str := func() (string, error) {
		s, ok := value.(string)
		if !ok && op != "remove" {
			return "", invalidValue(t.attr.Name + " takes a string.")
		}
		return s, nil
	}
	switch t.attr.Name {
	case "displayName":
		if op == "remove" {
			return invalidValue("A group must have a displayName.")
		}
		s, err := str()
		g.change.Name = &s
		return err
	case "externalId":
		s, err := str()
		g.change.ExternalID = &s
		return err
	}
	// members
	switch {
	case t.sub != nil:
		return invalidPath("Members are changed as a whole: use the path members or members[value eq \"...\"].")
	case t.filter != nil && op != "remove":
		return invalidPath("Members are added or replaced with the path members, not by filter.")
	case t.filter != nil:
		ids, err := g.matching(t.filter)
		g.remove(ids)
		return err
	case op == "remove" && !hasValue:
		g.change.SetMembers, g.change.Add, g.change.Remove = true, nil, nil
		return nil
	}
	ids, err := memberValues(value, op == "remove")
	switch op {
	case "add":
		g.add(ids)
	case "remove":
		g.remove(ids)
	default:
		g.change.SetMembers, g.change.Add, g.change.Remove = true, ids, nil
	}
	return err
}

func (g *groupPatch) add(ids []uuid.UUID) {
	g.change.Add = append(g.change.Add, ids...)
	g.change.Remove = slices.DeleteFunc(g.change.Remove, func(u uuid.UUID) bool { return slices.Contains(ids, u) })
}

func (g *groupPatch) remove(ids []uuid.UUID) {
	g.change.Add = slices.DeleteFunc(g.change.Add, func(u uuid.UUID) bool { return slices.Contains(ids, u) })
	if !g.change.SetMembers {
		g.change.Remove = append(g.change.Remove, ids...)
	}
}

// matching returns the members a value filter selects: by their ids for
// value eq comparisons joined by or, else by evaluating it on each member.
func (g *groupPatch) matching(e filter.Expression) ([]uuid.UUID, error) {
	if ids, ok := valueEqualities(e); ok {
		return ids, nil
	}
	members, err := g.members()
	if err != nil {
		return nil, err
	}
	subs := findAttr(groupAttributes, "members").SubAttributes
	var ids []uuid.UUID
	for _, m := range members {
		ok, err := matchElement(map[string]any{"value": m.UserID.String(), "display": m.Display, "type": "User"}, e, subs)
		if err != nil {
			return nil, invalidPath(fmt.Sprintf("The filter of members: %v.", err))
		}
		if ok {
			ids = append(ids, m.UserID)
		}
	}
	return ids, nil
}

// valueEqualities reads value eq "id" [or value eq "id" ...]; a value that
// is no UUID is no member.
func valueEqualities(e filter.Expression) ([]uuid.UUID, bool) {
	switch e := e.(type) {
	case *filter.AttributeExpression:
		s, isString := e.CompareValue.(string)
		if !strings.EqualFold(e.AttributePath.AttributeName, "value") || !strings.EqualFold(string(e.Operator), "eq") || !isString {
			return nil, false
		}
		if id, err := uuid.Parse(s); err == nil {
			return []uuid.UUID{id}, true
		}
		return nil, true
	case *filter.LogicalExpression:
		l, lok := valueEqualities(e.Left)
		r, rok := valueEqualities(e.Right)
		return append(l, r...), lok && rok && e.Operator == filter.OR
	}
	return nil, false
}

// memberValues reads the ids of a members value: a list of (or one)
// {"value": "<user id>"}. When lenient (removing), ids that are no UUID
// are skipped, since no member has them.
func memberValues(value any, lenient bool) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	for _, el := range asList(value) {
		obj, _ := el.(map[string]any)
		s, _ := field(obj, "value").(string)
		id, err := uuid.Parse(s)
		switch {
		case err == nil:
			ids = append(ids, id)
		case !lenient:
			return nil, invalidValue(fmt.Sprintf("members: %q is not the id of a user.", s))
		}
	}
	return ids, nil
}
