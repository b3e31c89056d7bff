package scim

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/postgres"
)

// Options configure the SCIM endpoints.
type Options struct {
	// Directory stores users and groups; NewDirectory makes one over the
	// platform's services.
	Directory Directory
	// BaseURL is the absolute address the routes are mounted at, e.g.
	// https://erhverv.example/scim/v2, for meta.location and Location.
	BaseURL string
	// Logger records internal errors; slog.Default() when nil.
	Logger *slog.Logger
	// Principal returns the organisation the authenticated client acts for
	// and the actor its changes are audited as; ok false answers 401.
	Principal func(c *gin.Context) (orgID uuid.UUID, actor postgres.Actor, ok bool)
}

// Schema and message URNs (RFC 7643 §8.7, RFC 7644 §3.1).
const (
	schemaUser          = "urn:ietf:params:scim:schemas:core:2.0:User"
	schemaGroup         = "urn:ietf:params:scim:schemas:core:2.0:Group"
	schemaEnterprise    = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	schemaErhverv       = "urn:erhverv:scim:schemas:1.0:User"
	schemaListResponse  = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	schemaError         = "urn:ietf:params:scim:api:messages:2.0:Error"
	schemaPatchOp       = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	schemaSPConfig      = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	schemaResourceType  = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	schemaSchema        = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	contentType         = "application/scim+json"
	maxBody             = 1 << 20
	maxResults          = 200
	defaultCount        = 100
	principalContextKey = "scim.principal"
)

type handler struct {
	dir       Directory
	base      string
	log       *slog.Logger
	principal func(c *gin.Context) (uuid.UUID, postgres.Actor, bool)
}

type principal struct {
	orgID uuid.UUID
	actor postgres.Actor
}

// Mount registers the SCIM routes on g, which the caller mounts at
// opts.BaseURL behind its authentication (the client is known and holds
// the scim scope by the time a handler runs).
func Mount(g *gin.RouterGroup, opts Options) {
	if opts.Directory == nil || opts.Principal == nil {
		panic("scim.Mount: Directory and Principal are required")
	}
	h := &handler{dir: opts.Directory, base: strings.TrimSuffix(opts.BaseURL, "/"), log: opts.Logger, principal: opts.Principal}
	if h.log == nil {
		h.log = slog.Default()
	}
	g = g.Group("", h.authenticate)
	g.GET("/ServiceProviderConfig", h.serviceProviderConfig)
	g.GET("/ResourceTypes", h.resourceTypes)
	g.GET("/ResourceTypes/:id", h.resourceType)
	g.GET("/Schemas", h.schemas)
	g.GET("/Schemas/:id", h.schema)

	g.GET("/Users", h.listUsers)
	g.POST("/Users", h.createUser)
	g.GET("/Users/:id", h.getUser)
	g.PUT("/Users/:id", h.replaceUser)
	g.PATCH("/Users/:id", h.patchUser)
	g.DELETE("/Users/:id", h.deleteUser)

	g.GET("/Groups", h.listGroups)
	g.POST("/Groups", h.createGroup)
	g.GET("/Groups/:id", h.getGroup)
	g.PUT("/Groups/:id", h.replaceGroup)
	g.PATCH("/Groups/:id", h.patchGroup)
	g.DELETE("/Groups/:id", h.deleteGroup)
}

// authenticate asks the caller's Principal who the client acts for.
func (h *handler) authenticate(c *gin.Context) {
	orgID, actor, ok := h.principal(c)
	if !ok {
		h.fail(c, &scimError{status: http.StatusUnauthorized, detail: "Authenticate with a bearer access token that has the scim scope."})
		return
	}
	c.Set(principalContextKey, principal{orgID: orgID, actor: actor})
	c.Next()
}

func principalOf(c *gin.Context) principal {
	p, _ := c.Get(principalContextKey)
	return p.(principal)
}

// write answers with v as application/scim+json.
func (h *handler) write(c *gin.Context, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Data(status, contentType, body)
}

// decode reads a JSON body of at most 1 MiB into v; false means the
// error is answered already.
func (h *handler) decode(c *gin.Context, v any) bool {
	if ct := c.GetHeader("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != contentType && mt != "application/json") {
			h.fail(c, &scimError{status: http.StatusUnsupportedMediaType, detail: "Send the body as application/scim+json."})
			return false
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		h.fail(c, &scimError{status: http.StatusRequestEntityTooLarge, detail: "The body is larger than 1 MiB."})
		return false
	case err != nil:
		h.fail(c, invalidSyntax("The body could not be read."))
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		if se := (*scimError)(nil); errors.As(err, &se) {
			h.fail(c, se)
		} else {
			h.fail(c, invalidSyntax("The body is not a valid SCIM message: "+jsonProblem(err)))
		}
		return false
	}
	return true
}

// jsonProblem describes a JSON decoding error without echoing the input.
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return "malformed JSON at byte " + strconv.FormatInt(syn.Offset, 10) + "."
	case errors.As(err, &typ) && typ.Field != "":
		return typ.Field + " must be " + jsonType(typ.Type.Kind().String()) + ", not " + typ.Value + "."
	case errors.As(err, &typ):
		return "expected " + jsonType(typ.Type.Kind().String()) + ", not " + typ.Value + "."
	}
	return err.Error()
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "a " + kind
}

// hasSchema reports whether schemas lists want.
func hasSchema(schemas []string, want string) bool {
	for _, s := range schemas {
		if strings.EqualFold(s, want) {
			return true
		}
	}
	return false
}

// listResponse is a page of resources (RFC 7644 §3.4.2).
type listResponse struct {
	Schemas      []string `json:"schemas"`
	TotalResults int      `json:"totalResults"`
	StartIndex   int      `json:"startIndex"`
	ItemsPerPage int      `json:"itemsPerPage"`
	Resources    []any    `json:"Resources"`
}

func newList(total, start int, items []any) listResponse {
	if items == nil {
		items = []any{}
	}
	return listResponse{Schemas: []string{schemaListResponse}, TotalResults: total, StartIndex: start, ItemsPerPage: len(items), Resources: items}
}

// paging reads startIndex (1-based, at least 1) and count (0 to 200,
// default 100).
func (h *handler) paging(c *gin.Context) (start, count int, ok bool) {
	start, count = 1, defaultCount
	if s := c.Query("startIndex"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			h.fail(c, invalidValue("startIndex must be a number."))
			return 0, 0, false
		}
		start = max(n, 1)
	}
	if s := c.Query("count"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			h.fail(c, invalidValue("count must be a number."))
			return 0, 0, false
		}
		count = min(max(n, 0), maxResults)
	}
	return start, count, true
}

// idParam parses the :id of the path; any id that is no UUID is unknown.
func (h *handler) idParam(c *gin.Context, what string) (uuid.UUID, bool) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		h.fail(c, notFound(what))
		return uuid.Nil, false
	}
	return id, true
}

// projection applies the attributes and excludedAttributes parameters
// (RFC 7644 §3.9) to a resource, at the level of top-level attributes; id
// and schemas are always returned.
type projection struct {
	only, excluded map[string]bool
	core           string
}

func newProjection(c *gin.Context, core string) projection {
	split := func(s string) map[string]bool {
		if s == "" {
			return nil
		}
		m := map[string]bool{}
		for _, a := range strings.Split(s, ",") {
			a = strings.ToLower(strings.TrimSpace(a))
			if rest, ok := strings.CutPrefix(a, strings.ToLower(core)+":"); ok {
				a = rest
			}
			if !strings.HasPrefix(a, "urn:") {
				a, _, _ = strings.Cut(a, ".")
			} else if i := strings.LastIndexByte(a, ':'); i > 0 {
				m[a[:i]] = true // an extension attribute keeps its extension
			}
			m[a] = true
		}
		return m
	}
	return projection{only: split(c.Query("attributes")), excluded: split(c.Query("excludedAttributes")), core: core}
}

// wants reports whether the top-level attribute is returned.
func (p projection) wants(attr string) bool {
	a := strings.ToLower(attr)
	if a == "id" || a == "schemas" {
		return true
	}
	if p.only != nil {
		return p.only[a]
	}
	return !p.excluded[a]
}

func (p projection) active() bool { return p.only != nil || p.excluded != nil }

// apply returns v with the unwanted attributes left out.
func (p projection) apply(v any) any {
	if !p.active() {
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return v
	}
	for k := range m {
		if !p.wants(k) {
			delete(m, k)
		}
	}
	return m
}
