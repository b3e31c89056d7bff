package scim

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// attribute describes one attribute of a schema (RFC 7643 §7). The same
// definitions serve /Schemas and resolve PATCH paths. Hidden attributes
// are not listed: the common ones (id, externalId, meta, schemas) and the
// standard ones the platform does not store, which are read-only so that
// writes to them are ignored.
type attribute struct {
	Name          string      `json:"name"`
	Type          string      `json:"type"`
	MultiValued   bool        `json:"multiValued"`
	Description   string      `json:"description,omitempty"`
	Required      bool        `json:"required"`
	CaseExact     bool        `json:"caseExact"`
	Mutability    string      `json:"mutability"`
	Returned      string      `json:"returned"`
	Uniqueness    string      `json:"uniqueness"`
	SubAttributes []attribute `json:"subAttributes,omitempty"`
	Canonical     []string    `json:"canonicalValues,omitempty"`
	hidden        bool
}

func attr(name, typ, description string) attribute {
	return attribute{Name: name, Type: typ, Description: description, Mutability: "readWrite", Returned: "default", Uniqueness: "none"}
}

func (a attribute) required() attribute  { a.Required = true; return a }
func (a attribute) exact() attribute     { a.CaseExact = true; return a }
func (a attribute) unique() attribute    { a.Uniqueness = "server"; return a }
func (a attribute) readOnly() attribute  { a.Mutability = "readOnly"; return a }
func (a attribute) immutable() attribute { a.Mutability = "immutable"; return a }
func (a attribute) writeOnly() attribute { a.Mutability, a.Returned = "writeOnly", "never"; return a }
func (a attribute) hide() attribute      { a.hidden = true; return a }
func (a attribute) values(v ...string) attribute {
	a.Canonical = v
	return a
}

func (a attribute) multi(subs ...attribute) attribute {
	a.MultiValued = true
	return a.complex(subs...)
}

func (a attribute) complex(subs ...attribute) attribute {
	if len(subs) > 0 {
		a.Type, a.SubAttributes = "complex", subs
	}
	return a
}

// ignored is a standard attribute the platform does not store.
func ignored(name string) attribute { return attr(name, "string", "").readOnly().hide() }

// common are the attributes of every resource (RFC 7643 §3.1).
var common = []attribute{
	attr("id", "string", "").readOnly().exact().hide(),
	attr("externalId", "string", "The directory's own identifier, unique in the organisation.").exact().hide(),
	attr("meta", "complex", "").readOnly().hide(),
	attr("schemas", "string", "").readOnly().hide(),
}

var userAttributes = append([]attribute{
	attr("userName", "string", "The email address: unique in the organisation; the activation mail is sent to it.").required().unique(),
	attr("name", "complex", "The person's name.").complex(
		attr("givenName", "string", "First name, 1 to 100 characters.").required(),
		attr("familyName", "string", "Last name, 1 to 100 characters.").required(),
		attr("formatted", "string", "The full name, derived.").readOnly(),
		ignored("middleName"), ignored("honorificPrefix"), ignored("honorificSuffix")),
	attr("displayName", "string", "The full name, derived from name; values sent are ignored.").readOnly(),
	attr("emails", "string", "The userName as the work address; values sent are ignored.").readOnly().multi(
		attr("value", "string", "").readOnly(), attr("type", "string", "").readOnly(), attr("primary", "boolean", "").readOnly()),
	attr("phoneNumbers", "string", "One phone number: 8 to 15 digits, optionally with a leading +.").multi(
		attr("value", "string", ""), attr("type", "string", "").values("work", "mobile"), attr("primary", "boolean", ""),
		ignored("display")),
	attr("active", "boolean", "True for active users and users pending activation; false deactivates."),
	attr("preferredLanguage", "string", "The language of the activation mail: da (default) or en.").writeOnly(),
	ignored("nickName"), ignored("profileUrl"), ignored("title"), ignored("userType"), ignored("locale"), ignored("timezone"),
	ignored("password"), ignored("addresses"), ignored("ims"), ignored("photos"), ignored("entitlements"), ignored("roles"),
	ignored("x509Certificates"), ignored("groups"),
	ignored("manager"), // Entra ID sends the enterprise manager without its schema
}, common...)

var enterpriseAttributes = []attribute{
	attr("employeeNumber", "string", "The organisation's extra user field employee_number.").exact(),
	attr("department", "string", "The organisation's extra user field department."),
	ignored("costCenter"), ignored("organization"), ignored("division"), ignored("manager"),
}

var erhvervAttributes = []attribute{
	attr("birthDate", "string", "Date of birth, YYYY-MM-DD. A user needs it or a CPR number when created."),
	attr("cpr", "string", "CPR number, 10 digits; never returned. Lets the person activate with MitID alone.").writeOnly(),
}

var groupAttributes = append([]attribute{
	attr("displayName", "string", "The group's name, 1 to 100 characters.").required().unique(),
	attr("members", "string", "The group's members of its own organisation.").multi(
		attr("value", "string", "The member's user id.").immutable(),
		attr("display", "string", "The member's name.").readOnly(),
		attr("$ref", "reference", "").readOnly(),
		attr("type", "string", "").readOnly().values("User")),
}, common...)

// schemaDef is one schema of /Schemas.
type schemaDef struct {
	ID, Name, Description string
	Attributes            []attribute
}

var schemaDefs = []schemaDef{
	{schemaUser, "User", "A business identity of the organisation.", userAttributes},
	{schemaEnterprise, "EnterpriseUser", "The organisation's extra user fields.", enterpriseAttributes},
	{schemaErhverv, "ErhvervUser", "What the platform needs to identify a person.", erhvervAttributes},
	{schemaGroup, "Group", "A user group of the organisation.", groupAttributes},
}

// findAttr looks an attribute up by name, ignoring case as SCIM does.
func findAttr(attrs []attribute, name string) *attribute {
	for i := range attrs {
		if strings.EqualFold(attrs[i].Name, name) {
			return &attrs[i]
		}
	}
	return nil
}

func listed(attrs []attribute) []attribute {
	var out []attribute
	for _, a := range attrs {
		if !a.hidden {
			a.SubAttributes = listed(a.SubAttributes)
			out = append(out, a)
		}
	}
	return out
}

type metaOut struct {
	ResourceType string `json:"resourceType"`
	Location     string `json:"location"`
}

type schemaOut struct {
	Schemas     []string    `json:"schemas"`
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Attributes  []attribute `json:"attributes"`
	Meta        metaOut     `json:"meta"`
}

func (h *handler) schemaOut(s schemaDef) schemaOut {
	return schemaOut{Schemas: []string{schemaSchema}, ID: s.ID, Name: s.Name, Description: s.Description,
		Attributes: listed(s.Attributes), Meta: metaOut{ResourceType: "Schema", Location: h.base + "/Schemas/" + s.ID}}
}

func (h *handler) schemas(c *gin.Context) {
	items := make([]any, len(schemaDefs))
	for i, s := range schemaDefs {
		items[i] = h.schemaOut(s)
	}
	h.write(c, http.StatusOK, newList(len(items), 1, items))
}

func (h *handler) schema(c *gin.Context) {
	for _, s := range schemaDefs {
		if s.ID == c.Param("id") {
			h.write(c, http.StatusOK, h.schemaOut(s))
			return
		}
	}
	h.fail(c, notFound("schema"))
}

type extensionOut struct {
	Schema   string `json:"schema"`
	Required bool   `json:"required"`
}

type resourceTypeOut struct {
	Schemas          []string       `json:"schemas"`
	ID               string         `json:"id"`
	Name             string         `json:"name"`
	Endpoint         string         `json:"endpoint"`
	Description      string         `json:"description"`
	Schema           string         `json:"schema"`
	SchemaExtensions []extensionOut `json:"schemaExtensions,omitempty"`
	Meta             metaOut        `json:"meta"`
}

func (h *handler) resourceTypeList() []resourceTypeOut {
	rt := func(name, desc, schema string, ext ...extensionOut) resourceTypeOut {
		return resourceTypeOut{Schemas: []string{schemaResourceType}, ID: name, Name: name, Endpoint: "/" + name + "s", Description: desc,
			Schema: schema, SchemaExtensions: ext, Meta: metaOut{ResourceType: "ResourceType", Location: h.base + "/ResourceTypes/" + name}}
	}
	return []resourceTypeOut{
		rt("User", "Business identities", schemaUser, extensionOut{schemaEnterprise, false}, extensionOut{schemaErhverv, false}),
		rt("Group", "User groups", schemaGroup),
	}
}

func (h *handler) resourceTypes(c *gin.Context) {
	var items []any
	for _, rt := range h.resourceTypeList() {
		items = append(items, rt)
	}
	h.write(c, http.StatusOK, newList(len(items), 1, items))
}

func (h *handler) resourceType(c *gin.Context) {
	for _, rt := range h.resourceTypeList() {
		if rt.ID == c.Param("id") {
			h.write(c, http.StatusOK, rt)
			return
		}
	}
	h.fail(c, notFound("resource type"))
}

func (h *handler) serviceProviderConfig(c *gin.Context) {
	supported := func(ok bool) map[string]any { return map[string]any{"supported": ok} }
	h.write(c, http.StatusOK, map[string]any{
		"schemas":          []string{schemaSPConfig},
		"documentationUri": "https://www.rfc-editor.org/rfc/rfc7644",
		"patch":            supported(true),
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": maxResults},
		"changePassword":   supported(false),
		"sort":             supported(false),
		"etag":             supported(true),
		"authenticationSchemes": []map[string]any{{
			"type": "oauthbearertoken", "name": "OAuth Bearer Token", "primary": true,
			"description": "An access token of the platform's token endpoint (client credentials) with the scim scope.",
		}},
		"meta": metaOut{ResourceType: "ServiceProviderConfig", Location: h.base + "/ServiceProviderConfig"},
	})
}
