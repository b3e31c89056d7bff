package scim

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/erhverv/erhverv/internal/postgres"
)

// staleRetries is how often a change without If-Match is tried again on
// fresh data when another change came first.
const staleRetries = 3

func (h *handler) listUsers(c *gin.Context) {
	start, count, ok := h.paging(c)
	if !ok {
		return
	}
	f, err := parseFilter(c.Query("filter"), userFilterFields, schemaUser)
	if err != nil {
		h.fail(c, err)
		return
	}
	p := principalOf(c)
	users, total, err := h.dir.FindUsers(c.Request.Context(), postgres.SCIMQuery{OrgID: p.orgID, Filter: f, Offset: start - 1, Limit: count})
	if err != nil {
		h.fail(c, err)
		return
	}
	proj := newProjection(c, schemaUser)
	items := make([]any, len(users))
	for i, u := range users {
		items[i] = proj.apply(h.toUserResource(u))
	}
	h.write(c, http.StatusOK, newList(total, start, items))
}

func (h *handler) getUser(c *gin.Context) {
	id, ok := h.idParam(c, "user")
	if !ok {
		return
	}
	u, err := h.dir.FindUser(c.Request.Context(), principalOf(c).orgID, id)
	if err != nil {
		h.fail(c, err)
		return
	}
	if inm := c.GetHeader("If-None-Match"); inm != "" && etagMatches(inm, u.Version) {
		c.Header("ETag", etag(u.Version))
		c.Status(http.StatusNotModified)
		return
	}
	h.writeUser(c, http.StatusOK, u)
}

// writeUser answers with the user, its ETag and the requested attributes.
func (h *handler) writeUser(c *gin.Context, status int, u *postgres.SCIMUser) {
	c.Header("ETag", etag(u.Version))
	if status == http.StatusCreated {
		c.Header("Location", h.base+"/Users/"+u.ID.String())
	}
	h.write(c, status, newProjection(c, schemaUser).apply(h.toUserResource(u)))
}

func (h *handler) createUser(c *gin.Context) {
	var in userResource
	if !h.decode(c, &in) {
		return
	}
	if !hasSchema(in.Schemas, schemaUser) {
		h.fail(c, invalidSyntax("schemas must list "+schemaUser+"."))
		return
	}
	u, err := userFromResource(&in, nil)
	if err != nil {
		h.fail(c, err)
		return
	}
	p, ctx := principalOf(c), c.Request.Context()
	u.OrgID = p.orgID
	if err := h.dir.CreateUser(ctx, p.actor, u, mailLanguage(&in)); err != nil {
		h.fail(c, err)
		return
	}
	created, err := h.dir.FindUser(ctx, p.orgID, u.ID)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.writeUser(c, http.StatusCreated, created)
}

func (h *handler) replaceUser(c *gin.Context) {
	var in userResource
	if !h.decode(c, &in) {
		return
	}
	if !hasSchema(in.Schemas, schemaUser) {
		h.fail(c, invalidSyntax("schemas must list "+schemaUser+"."))
		return
	}
	h.updateUser(c, func(cur *postgres.SCIMUser) (*postgres.SCIMUser, error) { return userFromResource(&in, cur) })
}

func (h *handler) patchUser(c *gin.Context) {
	var req patchRequest
	if !h.decode(c, &req) {
		return
	}
	if err := req.check(); err != nil {
		h.fail(c, err)
		return
	}
	h.updateUser(c, func(cur *postgres.SCIMUser) (*postgres.SCIMUser, error) {
		doc, err := h.userDocument(cur)
		if err != nil {
			return nil, err
		}
		for _, o := range req.Operations {
			if err := doc.apply(o); err != nil {
				return nil, err
			}
		}
		b, err := json.Marshal(doc.root)
		if err != nil {
			return nil, err
		}
		var r userResource
		if err := json.Unmarshal(b, &r); err != nil {
			var se *scimError
			if errors.As(err, &se) {
				return nil, se
			}
			return nil, invalidValue("The PATCH gives an attribute a value of the wrong type: " + jsonProblem(err))
		}
		if r.ExternalID == nil {
			r.ExternalID = new(string) // removed by the PATCH
		}
		return userFromResource(&r, cur)
	})
}

// userDocument is the user's representation for PATCH operations.
func (h *handler) userDocument(u *postgres.SCIMUser) (*document, error) {
	r := h.toUserResource(u)
	if r.Enterprise == nil {
		r.Enterprise = &enterpriseUser{} // present, so a PATCH that empties it clears the fields
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	doc := &document{core: schemaUser, attrs: userAttributes,
		extensions: map[string][]attribute{schemaEnterprise: enterpriseAttributes, schemaErhverv: erhvervAttributes}}
	if err := json.Unmarshal(b, &doc.root); err != nil {
		return nil, err
	}
	// The derived names are no input: a PATCH that removes the name must
	// not get it back from them.
	delete(doc.root, "displayName")
	if name, ok := doc.root["name"].(map[string]any); ok {
		delete(name, "formatted")
	}
	return doc, nil
}

// updateUser reads the user, checks If-Match, asks change for the new
// state and saves it; a change that raced another without If-Match is
// done again on fresh data.
func (h *handler) updateUser(c *gin.Context, change func(cur *postgres.SCIMUser) (*postgres.SCIMUser, error)) {
	id, ok := h.idParam(c, "user")
	if !ok {
		return
	}
	p, ctx := principalOf(c), c.Request.Context()
	ifMatch := c.GetHeader("If-Match")
	for attempt := 1; ; attempt++ {
		cur, err := h.dir.FindUser(ctx, p.orgID, id)
		if err != nil {
			h.fail(c, err)
			return
		}
		if ifMatch != "" && !etagMatches(ifMatch, cur.Version) {
			h.fail(c, errPrecondition)
			return
		}
		next, err := change(cur)
		if err != nil {
			h.fail(c, err)
			return
		}
		err = h.dir.UpdateUser(ctx, p.actor, cur, next)
		if errors.Is(err, postgres.ErrStale) && ifMatch == "" && attempt < staleRetries {
			continue
		}
		if err != nil {
			h.fail(c, h.stale(err, ifMatch))
			return
		}
		updated, err := h.dir.FindUser(ctx, p.orgID, id)
		if err != nil {
			h.fail(c, err)
			return
		}
		h.writeUser(c, http.StatusOK, updated)
		return
	}
}

// stale turns a lost race under If-Match into 412.
func (h *handler) stale(err error, ifMatch string) error {
	if errors.Is(err, postgres.ErrStale) && ifMatch != "" {
		return errPrecondition
	}
	return err
}

func (h *handler) deleteUser(c *gin.Context) {
	id, ok := h.idParam(c, "user")
	if !ok {
		return
	}
	p, ctx := principalOf(c), c.Request.Context()
	ifMatch := c.GetHeader("If-Match")
	for attempt := 1; ; attempt++ {
		u, err := h.dir.FindUser(ctx, p.orgID, id)
		if err != nil {
			h.fail(c, err)
			return
		}
		if ifMatch != "" && !etagMatches(ifMatch, u.Version) {
			h.fail(c, errPrecondition)
			return
		}
		err = h.dir.DeleteUser(ctx, p.actor, p.orgID, id, u.Version)
		if errors.Is(err, postgres.ErrStale) && ifMatch == "" && attempt < staleRetries {
			continue
		}
		if err != nil {
			h.fail(c, h.stale(err, ifMatch))
			return
		}
		c.Status(http.StatusNoContent)
		return
	}
}

// etagMatches reports whether an If-Match or If-None-Match header names
// the version: "*", or a list of weak or strong tags.
func etagMatches(header string, version int) bool {
	want := strconv.Itoa(version)
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.Trim(strings.TrimPrefix(tag, "W/"), `"`) == want {
			return true
		}
	}
	return false
}
