package scim

import (
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// flexBool is a SCIM boolean that also accepts "True" and "False" as
// strings, as Entra ID sends them.
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	switch strings.ToLower(strings.Trim(string(data), `"`)) {
	case "true":
		*b = true
	case "false":
		*b = false
	case "null":
	default:
		return invalidValue("A boolean must be true or false, not " + string(data) + ".")
	}
	return nil
}

type meta struct {
	ResourceType string `json:"resourceType"`
	Created      string `json:"created,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
	Location     string `json:"location,omitempty"`
	Version      string `json:"version,omitempty"`
}

type multiValue struct {
	Value   string   `json:"value"`
	Type    string   `json:"type,omitempty"`
	Primary flexBool `json:"primary,omitempty"`
}

type personName struct {
	Formatted  string `json:"formatted,omitempty"`
	FamilyName string `json:"familyName,omitempty"`
	GivenName  string `json:"givenName,omitempty"`
}

type enterpriseUser struct {
	EmployeeNumber string `json:"employeeNumber,omitempty"`
	Department     string `json:"department,omitempty"`
}

type erhvervUser struct {
	BirthDate string `json:"birthDate,omitempty"`
	CPR       string `json:"cpr,omitempty"` // write-only: never set on output
}

// userResource is a SCIM User as it is read and written. encoding/json
// matches names without regard to case, as SCIM requires, and ignores
// attributes the platform does not store.
type userResource struct {
	Schemas           []string        `json:"schemas"`
	ID                string          `json:"id,omitempty"`
	ExternalID        *string         `json:"externalId,omitempty"` // nil: unchanged
	UserName          string          `json:"userName"`
	Name              *personName     `json:"name,omitempty"`
	DisplayName       string          `json:"displayName,omitempty"`
	Emails            []multiValue    `json:"emails,omitempty"`
	PhoneNumbers      []multiValue    `json:"phoneNumbers,omitempty"`
	Active            *flexBool       `json:"active,omitempty"`
	PreferredLanguage string          `json:"preferredLanguage,omitempty"`
	Locale            string          `json:"locale,omitempty"` // read only for the mail's language
	Enterprise        *enterpriseUser `json:"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User,omitempty"`
	Erhverv           *erhvervUser    `json:"urn:erhverv:scim:schemas:1.0:User,omitempty"`
	Meta              *meta           `json:"meta,omitempty"`
}

func scimTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// optional is nil for "", so an empty value is left out.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func etag(version int) string { return `W/"` + strconv.Itoa(version) + `"` }

// toUserResource is the SCIM representation of u.
func (h *handler) toUserResource(u *postgres.SCIMUser) *userResource {
	active := flexBool(u.Status != domain.UserDeactivated)
	r := &userResource{
		Schemas: []string{schemaUser, schemaErhverv}, ID: u.ID.String(), ExternalID: optional(u.ExternalID), UserName: u.Email,
		Name:        &personName{Formatted: u.FullName(), FamilyName: u.LastName, GivenName: u.FirstName},
		DisplayName: u.FullName(), Emails: []multiValue{{Value: u.Email, Type: "work", Primary: true}}, Active: &active,
		Erhverv: &erhvervUser{BirthDate: u.BirthDate.Format(time.DateOnly)},
		Meta: &meta{ResourceType: "User", Created: scimTime(u.CreatedAt), LastModified: scimTime(u.UpdatedAt),
			Location: h.base + "/Users/" + u.ID.String(), Version: etag(u.Version)},
	}
	if u.Phone != "" {
		r.PhoneNumbers = []multiValue{{Value: u.Phone, Type: "work", Primary: true}}
	}
	if e := (enterpriseUser{EmployeeNumber: u.ExtraFields["employee_number"], Department: u.ExtraFields["department"]}); e != (enterpriseUser{}) {
		r.Schemas, r.Enterprise = append(r.Schemas, schemaEnterprise), &e
	}
	return r
}

// userFromResource is the user r describes: a new one when cur is nil,
// else cur with r's values (see the package comment for what a missing
// attribute means). Status is the status r's active asks for.
func userFromResource(r *userResource, cur *postgres.SCIMUser) (*postgres.SCIMUser, error) {
	u := &postgres.SCIMUser{User: domain.User{Status: domain.UserPending}}
	if cur != nil {
		*u = *cur
		u.ExtraFields = maps.Clone(cur.ExtraFields)
	}
	if r.ExternalID != nil {
		u.ExternalID = strings.TrimSpace(*r.ExternalID)
	}
	u.Email = strings.TrimSpace(r.UserName)
	if u.Email == "" {
		return nil, invalidValue("userName is required: the user's email address.")
	}
	var n personName
	if r.Name != nil {
		n = *r.Name
	}
	u.FirstName, u.LastName = strings.TrimSpace(n.GivenName), strings.TrimSpace(n.FamilyName)
	if u.FirstName == "" && u.LastName == "" {
		full := strings.TrimSpace(n.Formatted)
		if full == "" {
			full = strings.TrimSpace(r.DisplayName)
		}
		if i := strings.LastIndexByte(full, ' '); i > 0 {
			u.FirstName, u.LastName = strings.TrimSpace(full[:i]), strings.TrimSpace(full[i+1:])
		}
	}
	u.Phone = pickPhone(r.PhoneNumbers)
	if e := r.Enterprise; e != nil {
		if u.ExtraFields == nil {
			u.ExtraFields = map[string]string{}
		}
		setOrDelete(u.ExtraFields, "employee_number", e.EmployeeNumber)
		setOrDelete(u.ExtraFields, "department", e.Department)
	}
	if x := r.Erhverv; x != nil {
		u.CPR = strings.TrimSpace(x.CPR)
		if u.CPR != "" {
			u.BirthDate = time.Time{} // taken from the CPR number unless given too
		}
		if s := strings.TrimSpace(x.BirthDate); s != "" {
			d, err := time.Parse(time.DateOnly, s)
			if err != nil {
				return nil, invalidValue(schemaErhverv + ":birthDate must be a date written YYYY-MM-DD.")
			}
			u.BirthDate = d
		}
	}
	if cur == nil && u.CPR == "" && u.BirthDate.IsZero() {
		return nil, invalidValue("The platform identifies a person by CPR number or date of birth: give " +
			schemaErhverv + ":cpr or " + schemaErhverv + ":birthDate (YYYY-MM-DD).")
	}
	// Without active, a new user starts pending and an existing one keeps
	// its status.
	if r.Active != nil {
		switch active := bool(*r.Active); {
		case !active && u.Status != domain.UserDeactivated:
			u.Status = domain.UserDeactivated
		case active && u.Status == domain.UserDeactivated:
			u.Status = domain.UserActive
		}
	}
	switch {
	case cur == nil && u.Status != domain.UserPending:
		return nil, invalidValue("active: a user starts pending until the person activates it, so it cannot be created deactivated.")
	case cur != nil && u.Status != cur.Status && !domain.CanTransition(cur.Status, u.Status):
		return nil, invalidValue("active: the user has not activated their business identity yet, so it cannot be deactivated; " +
			"delete it instead, or deactivate it once it is activated.")
	}
	if err := u.Validate(); err != nil {
		return nil, fromDomain(err)
	}
	return u, nil
}

func setOrDelete(m map[string]string, key, value string) {
	if v := strings.TrimSpace(value); v != "" {
		m[key] = v
	} else {
		delete(m, key)
	}
}

// pickPhone chooses the primary number, else the work one, else the
// mobile one, else the first, without the spaces and punctuation people
// write numbers with.
func pickPhone(ps []multiValue) string {
	best, rank := "", 0
	for _, p := range ps {
		r := 1
		switch {
		case bool(p.Primary):
			r = 4
		case strings.EqualFold(p.Type, "work"):
			r = 3
		case strings.EqualFold(p.Type, "mobile"):
			r = 2
		}
		if v := strings.TrimSpace(p.Value); v != "" && r > rank {
			best, rank = v, r
		}
	}
	return strings.NewReplacer(" ", "", "-", "", ".", "", "(", "", ")", "").Replace(best)
}

// mailLanguage is the activation mail's language: en for English, else da.
func mailLanguage(r *userResource) string {
	lang := r.PreferredLanguage
	if lang == "" {
		lang = r.Locale
	}
	if strings.HasPrefix(strings.ToLower(lang), "en") {
		return "en"
	}
	return "da"
}

type member struct {
	Value   string `json:"value"`
	Display string `json:"display,omitempty"`
	Ref     string `json:"$ref,omitempty"`
	Type    string `json:"type,omitempty"`
}

// groupResource is a SCIM Group as it is read and written.
type groupResource struct {
	Schemas     []string `json:"schemas"`
	ID          string   `json:"id,omitempty"`
	ExternalID  *string  `json:"externalId,omitempty"` // nil: unchanged
	DisplayName string   `json:"displayName"`
	Members     []member `json:"members"`
	Meta        *meta    `json:"meta,omitempty"`
}

func (h *handler) toGroupResource(g *postgres.SCIMGroup) *groupResource {
	r := &groupResource{Schemas: []string{schemaGroup}, ID: g.ID.String(), ExternalID: optional(g.ExternalID), DisplayName: g.Name,
		Members: make([]member, len(g.Members)),
		Meta: &meta{ResourceType: "Group", Created: scimTime(g.CreatedAt), LastModified: scimTime(g.UpdatedAt),
			Location: h.base + "/Groups/" + g.ID.String()}}
	for i, m := range g.Members {
		r.Members[i] = member{Value: m.UserID.String(), Display: m.Display, Ref: h.base + "/Users/" + m.UserID.String(), Type: "User"}
	}
	return r
}
