package api

import (
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// privilegeJSON is a privilege of the catalogue, with its IT system and
// service provider. The catalogue is every provider's: any organisation's
// client may read all of it.
type privilegeJSON struct {
	ID              uuid.UUID    `json:"id"`
	URI             string       `json:"uri"`
	NameDA          string       `json:"name_da"`
	NameEN          string       `json:"name_en"`
	DescriptionDA   string       `json:"description_da"`
	DescriptionEN   string       `json:"description_en"`
	ConstraintTypes []string     `json:"constraint_types"`
	MinLevel        string       `json:"min_level"`
	GroupAssignable bool         `json:"group_assignable"`
	NeedsApproval   bool         `json:"needs_approval"`
	Status          string       `json:"status"`
	ITSystem        systemJSON   `json:"it_system"`
	Provider        providerJSON `json:"provider"`
	CreatedAt       time.Time    `json:"created_at"`
	UpdatedAt       time.Time    `json:"updated_at"`
}

type systemJSON struct {
	ID     uuid.UUID `json:"id"`
	Name   string    `json:"name"`
	Status string    `json:"status"`
}

type providerJSON struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
	CVR  string    `json:"cvr"`
}

func privilegeOut(e *postgres.CatalogueEntry) privilegeJSON {
	p := e.Privilege
	types := p.ConstraintTypes
	if types == nil {
		types = []string{}
	}
	return privilegeJSON{ID: p.ID, URI: p.URI, NameDA: p.NameDA, NameEN: p.NameEN, DescriptionDA: p.DescriptionDA,
		DescriptionEN: p.DescriptionEN, ConstraintTypes: types, MinLevel: p.MinLoA, GroupAssignable: p.GroupAssignable,
		NeedsApproval: p.NeedsApproval, Status: p.Status,
		ITSystem:  systemJSON{ID: p.ITSystemID, Name: e.SystemName, Status: e.SystemStatus},
		Provider:  providerJSON{ID: p.OrgID, Name: e.ProviderName, CVR: e.ProviderCVR},
		CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC()}
}

// maxSearch bounds the free-text filters of lists.
const maxSearch = 200

// listPrivileges is a page of the catalogue, by URI.
func (r *rightsAPI) listPrivileges(c *gin.Context) {
	client := ClientOf(c)
	if !r.authorize(c, authz.ActionPrivilegeRead, Resource{OrgID: client.OrgID}) {
		return
	}
	limit, cursor, ok := r.pageParams(c)
	if !ok {
		return
	}
	f := postgres.PrivilegeFilter{Query: c.Query("q"), Status: c.DefaultQuery("status", postgres.CatalogueActive), Limit: limit}
	if !r.decodeCursor(c, cursor, &f.After) {
		return
	}
	var errs []FieldError
	if utf8.RuneCountInString(f.Query) > maxSearch {
		errs = append(errs, FieldError{Field: "q", Code: "privileges.q", Detail: fmt.Sprintf("q has at most %d characters.", maxSearch)})
	}
	for _, p := range []struct {
		name string
		into **uuid.UUID
	}{{"system", &f.SystemID}, {"provider", &f.ProviderID}} {
		if s := c.Query(p.name); s != "" {
			id, err := uuid.Parse(s)
			if err != nil {
				errs = append(errs, FieldError{Field: p.name, Code: "privileges." + p.name, Detail: p.name + " is an id, a UUID."})
				continue
			}
			*p.into = &id
		}
	}
	switch f.Status {
	case postgres.CatalogueActive, postgres.CatalogueRetired, postgres.CatalogueAll:
	default:
		errs = append(errs, FieldError{Field: "status", Code: "privileges.status", Detail: "status is active, retired or all."})
	}
	if len(errs) > 0 {
		r.problemf(c, http.StatusBadRequest, domain.EINVALID, "Some parameters are not valid; see errors.", errs...)
		return
	}
	entries, more, err := r.opts.Rights.SearchPrivileges(c.Request.Context(), f)
	if err != nil {
		r.problem(c, err)
		return
	}
	items := make([]privilegeJSON, len(entries))
	for i := range entries {
		items[i] = privilegeOut(&entries[i])
	}
	next := ""
	if more && len(entries) > 0 {
		next = encodeCursor(entries[len(entries)-1].Privilege.URI)
	}
	r.page(c, items, next)
}

// getPrivilege is one privilege of the catalogue.
func (r *rightsAPI) getPrivilege(c *gin.Context) {
	client := ClientOf(c)
	if !r.authorize(c, authz.ActionPrivilegeRead, Resource{OrgID: client.OrgID}) {
		return
	}
	id, ok := r.pathID(c, "There is no such privilege.")
	if !ok {
		return
	}
	e, err := r.opts.Rights.FindCatalogueEntry(c.Request.Context(), id)
	if err != nil {
		r.problem(c, err)
		return
	}
	c.JSON(http.StatusOK, privilegeOut(e))
}
