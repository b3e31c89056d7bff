package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/bpp"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/rights"
)

// effectiveJSON is a user's grants with the policy's verdict on each.
type effectiveJSON struct {
	UserID uuid.UUID   `json:"user_id"`
	At     time.Time   `json:"at"`
	Level  string      `json:"level,omitempty"`
	Items  []grantJSON `json:"items"`
}

// grantJSON is one way the user holds one privilege, with why.
type grantJSON struct {
	GrantID     string             `json:"grant_id"`
	Source      string             `json:"source"`
	Privilege   grantPrivilegeJSON `json:"privilege"`
	Scope       scopeJSON          `json:"scope"`
	Constraints map[string]string  `json:"constraints"`
	ValidFrom   *time.Time         `json:"valid_from,omitempty"`
	ValidTo     *time.Time         `json:"valid_to,omitempty"`
	GrantorName string             `json:"grantor_name"`
	Group       *grantGroupJSON    `json:"group,omitempty"`
	PoA         *grantPoAJSON      `json:"power_of_attorney,omitempty"`
	InEffect    bool               `json:"in_effect"`
	Reasons     []reasonJSON       `json:"reasons"`
}

type grantPrivilegeJSON struct {
	ID           uuid.UUID `json:"id"`
	URI          string    `json:"uri"`
	NameDA       string    `json:"name_da"`
	NameEN       string    `json:"name_en"`
	Status       string    `json:"status"`
	MinLevel     string    `json:"min_level"`
	ITSystem     idName    `json:"it_system"`
	ProviderName string    `json:"provider_name"`
}

type idName struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
}

type grantGroupJSON struct {
	ID          uuid.UUID  `json:"id"`
	Name        string     `json:"name"`
	OrgName     string     `json:"organisation_name,omitempty"`
	Restriction *scopeJSON `json:"restriction,omitempty"`
}

type grantPoAJSON struct {
	ID          uuid.UUID  `json:"id"`
	Status      string     `json:"status"`
	GrantorName string     `json:"grantor_name"`
	GrantorCVR  string     `json:"grantor_cvr"`
	ValidFrom   *time.Time `json:"valid_from,omitempty"`
	ValidTo     *time.Time `json:"valid_to,omitempty"`
}

func grantOut(e rights.Effective) grantJSON {
	g := e.Grant
	p := g.Privilege
	out := grantJSON{
		GrantID: g.ID, Source: g.Source,
		Privilege: grantPrivilegeJSON{ID: p.ID, URI: p.URI, NameDA: p.NameDA, NameEN: p.NameEN, Status: p.Status, MinLevel: p.MinLoA,
			ITSystem: idName{ID: p.ITSystemID, Name: p.ITSystemName}, ProviderName: p.ProviderName},
		Scope: scopeOut(g.Scope), Constraints: nonNilMap(g.Constraints), ValidFrom: utc(g.ValidFrom), ValidTo: utc(g.ValidTo),
		GrantorName: g.GrantorName, InEffect: e.InEffect, Reasons: reasonsOut(e.Reasons),
	}
	if g.Group != nil {
		out.Group = &grantGroupJSON{ID: g.Group.ID, Name: g.Group.Name, OrgName: g.Group.OrgName}
		if g.Group.Restriction != nil {
			r := scopeOut(*g.Group.Restriction)
			out.Group.Restriction = &r
		}
	}
	if g.PoA != nil {
		out.PoA = &grantPoAJSON{ID: g.PoA.ID, Status: g.PoA.Status, GrantorName: g.PoA.GrantorName, GrantorCVR: g.PoA.GrantorCVR,
			ValidFrom: utc(g.PoA.ValidFrom), ValidTo: utc(g.PoA.ValidTo)}
	}
	return out
}

// userPrivileges lists the user's grants, in effect or not, with why.
func (r *rightsAPI) userPrivileges(c *gin.Context) {
	v, ok := r.visibleGrants(c, false)
	if !ok {
		return
	}
	out := effectiveJSON{UserID: v.user, At: v.at.UTC(), Level: v.level, Items: make([]grantJSON, len(v.grants))}
	for i, e := range v.grants {
		out.Items[i] = grantOut(e)
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}

// userPrivilegeDocument is the OIO Basic Privilege Profile document of the
// user's privileges in effect in one IT system, as a login to it carries.
func (r *rightsAPI) userPrivilegeDocument(c *gin.Context) {
	v, ok := r.visibleGrants(c, true)
	if !ok {
		return
	}
	if !v.own && !holdsIn(v.grants, v.system) {
		// Another provider's IT system, or one the user holds nothing in:
		// as unknown as an unknown user.
		r.noSuchUser(c)
		return
	}
	doc, err := bpp.Marshal(rights.Profile(v.grants, v.system))
	if err != nil {
		r.problem(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusOK, "application/xml; charset=utf-8", doc)
}

func holdsIn(grants []rights.Effective, system uuid.UUID) bool {
	for _, e := range grants {
		if e.Grant.Privilege.ITSystemID == system {
			return true
		}
	}
	return false
}

// visible is what a client may see of a user's grants.
type visible struct {
	user   uuid.UUID
	system uuid.UUID // ?system= of the document
	own    bool      // the user is of the client's organisation
	at     time.Time
	level  string
	grants []rights.Effective
}

// visibleGrants authorizes rights.effective.read about the user of the
// path and judges the user's grants at ?at= (now) and ?level= (none);
// withSystem reads ?system= too, the IT system of the document. The
// organisation's own client sees every grant; a service provider's client
// may see a user of another organisation, but only the grants of its own
// IT systems' privileges. A user of another organisation with none of them
// is answered like an unknown user (404), as is a deleted user: a client
// cannot tell a stranger from no one.
func (r *rightsAPI) visibleGrants(c *gin.Context, withSystem bool) (visible, bool) {
	client := ClientOf(c)
	if !r.authorize(c, actionEffectiveRead, Resource{OrgID: client.OrgID}) {
		return visible{}, false
	}
	v := visible{level: c.Query("level"), at: r.now()}
	var errs []FieldError
	if v.level != "" && domain.LoARank(v.level) == 0 {
		errs = append(errs, FieldError{Field: "level", Code: "privileges.level", Detail: "level is low, substantial or high."})
	}
	if s := c.Query("at"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			errs = append(errs, FieldError{Field: "at", Code: "privileges.at", Detail: "at is a moment in RFC 3339, such as 2026-01-31T12:00:00Z."})
		}
		v.at = t
	}
	if withSystem {
		var err error
		if v.system, err = uuid.Parse(c.Query("system")); err != nil {
			errs = append(errs, FieldError{Field: "system", Code: "privileges.system", Detail: "system is the IT system's id, a UUID."})
		}
	}
	if len(errs) > 0 {
		r.problemf(c, http.StatusBadRequest, domain.EINVALID, "Some parameters are not valid; see errors.", errs...)
		return visible{}, false
	}
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		r.noSuchUser(c)
		return visible{}, false
	}
	v.user = id
	ctx := c.Request.Context()
	org, status, err := r.opts.Rights.OrgOfUser(ctx, id)
	if domain.ErrorCode(err) == domain.ENOTFOUND || (err == nil && status == domain.UserDeleted) {
		r.noSuchUser(c)
		return visible{}, false
	}
	if err != nil {
		r.problem(c, err)
		return visible{}, false
	}
	v.own = org == client.OrgID
	if !v.own {
		d, err := r.policy.Decide(ctx, client, actionEffectiveRead, Resource{OrgID: org, ProviderOrgID: client.OrgID})
		if err != nil {
			r.problem(c, err)
			return visible{}, false
		}
		if !d.Allow {
			r.noSuchUser(c)
			return visible{}, false
		}
	}
	grants, err := r.opts.Runtime.Effective(ctx, id, v.level, v.at)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		r.noSuchUser(c)
		return visible{}, false
	}
	if err != nil {
		r.problem(c, err)
		return visible{}, false
	}
	if !v.own {
		if grants, err = r.ofProvider(ctx, grants, client.OrgID); err != nil {
			r.problem(c, err)
			return visible{}, false
		}
		if len(grants) == 0 {
			r.noSuchUser(c)
			return visible{}, false
		}
	}
	v.grants = grants
	return v, true
}

// ofProvider keeps the grants of privileges provider publishes.
func (r *rightsAPI) ofProvider(ctx context.Context, grants []rights.Effective, provider uuid.UUID) ([]rights.Effective, error) {
	uris := make([]string, len(grants))
	for i, e := range grants {
		uris[i] = e.Grant.Privilege.URI
	}
	providers, err := r.dir.providersOf(ctx, uris)
	if err != nil {
		return nil, err
	}
	var out []rights.Effective
	for _, e := range grants {
		if providers[e.Grant.Privilege.URI] == provider {
			out = append(out, e)
		}
	}
	return out, nil
}

// noSuchUser is the one answer about a user the client may not see, so
// that no answer tells such a user from one that does not exist.
func (r *rightsAPI) noSuchUser(c *gin.Context) {
	r.problemf(c, http.StatusNotFound, domain.ENOTFOUND, "There is no such user.")
}
