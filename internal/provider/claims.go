package provider

import (
	"slices"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/erhverv/erhverv/internal/bpp"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/login"
	"github.com/erhverv/erhverv/internal/postgres"
)

// The OIOSAML 3 claim names (DOMAIN.md, "What reaches a service provider").
const (
	ClaimSpecVersion      = "https://data.gov.dk/model/core/specVersion"
	ClaimLoA              = "https://data.gov.dk/concept/core/nsis/loa"
	ClaimIAL              = "https://data.gov.dk/concept/core/nsis/ial"
	ClaimAAL              = "https://data.gov.dk/concept/core/nsis/aal"
	ClaimProfessionalUUID = "https://data.gov.dk/model/core/eid/professional/uuid/persistent"
	ClaimCVR              = "https://data.gov.dk/model/core/eid/professional/cvr"
	ClaimOrgName          = "https://data.gov.dk/model/core/eid/professional/orgName"
	ClaimProductionUnit   = "https://data.gov.dk/model/core/eid/professional/productionUnit"
	ClaimSENumber         = "https://data.gov.dk/model/core/eid/professional/seNumber"
	ClaimFullName         = "https://data.gov.dk/model/core/eid/fullName"
	ClaimFirstName        = "https://data.gov.dk/model/core/eid/firstName"
	ClaimLastName         = "https://data.gov.dk/model/core/eid/lastName"
	ClaimEmail            = "https://data.gov.dk/model/core/eid/email"
	ClaimPrivileges       = "https://data.gov.dk/model/core/eid/privilegesIntermediate"
	// ClaimPrivilegesJSON is the same privileges as JSON, in both styles.
	ClaimPrivilegesJSON = "privileges"
	// SpecVersion is the OIOSAML profile the claims follow.
	SpecVersion = "OIO-SAML-3.0"
)

// claimNames maps a claim to its name in each style; the short style uses
// OIDC's standard names for the person where they exist.
var claimNames = map[string]map[string]string{
	domain.ClaimStyleOIOSAML3: {
		"spec": ClaimSpecVersion, "loa": ClaimLoA, "ial": ClaimIAL, "aal": ClaimAAL, "uuid": ClaimProfessionalUUID,
		"cvr": ClaimCVR, "org_name": ClaimOrgName, "production_unit": ClaimProductionUnit, "se_number": ClaimSENumber,
		"name": ClaimFullName, "given_name": ClaimFirstName, "family_name": ClaimLastName, "email": ClaimEmail,
		"bpp": ClaimPrivileges,
	},
	domain.ClaimStyleShort: {
		"spec": "spec_version", "loa": "loa", "ial": "ial", "aal": "aal", "uuid": "uuid",
		"cvr": "cvr", "org_name": "org_name", "production_unit": "production_unit", "se_number": "se_number",
		"name": "name", "given_name": "given_name", "family_name": "family_name", "email": "email",
		"bpp": "privileges_intermediate",
	},
}

// PrivilegeGroup is one entry of the JSON privileges claim: privileges held
// for one scope under one set of constraints, as a BPP PrivilegeGroup.
type PrivilegeGroup struct {
	Scope       string            `json:"scope"`
	Constraints map[string]string `json:"constraints,omitempty"`
	Privileges  []string          `json:"privileges"`
}

// privilegesJSON mirrors a BPP document; never nil, so a user holding none
// of the system's privileges gets an empty array rather than no claim.
func privilegesJSON(doc bpp.Document) []PrivilegeGroup {
	out := make([]PrivilegeGroup, 0, len(doc.Groups))
	for _, g := range doc.Groups {
		pg := PrivilegeGroup{Scope: g.Scope, Privileges: slices.Clone(g.Privileges)}
		if len(g.Constraints) > 0 {
			pg.Constraints = make(map[string]string, len(g.Constraints))
			for _, c := range g.Constraints {
				pg.Constraints[c.Name] = c.Value
			}
		}
		out = append(out, pg)
	}
	return out
}

// loginClaims is what a login tells a service: who, for which organisation,
// how strongly, and what they may do in the service's IT system.
type loginClaims struct {
	style      string
	identity   *postgres.LoginIdentity
	level      string
	scopes     []string
	bppClaim   string
	privileges []PrivilegeGroup
}

// set writes the claims into ui in the client's style. An anonymous user's
// names and email never leave the platform: only the UUID identifies them.
func (l *loginClaims) set(ui *oidc.UserInfo) {
	names := claimNames[l.style]
	if names == nil {
		names = claimNames[domain.ClaimStyleOIOSAML3]
	}
	id := l.identity
	ui.Subject = id.UserID.String()
	add := func(key string, v any) { ui.AppendClaims(names[key], v) }
	add("spec", SpecVersion)
	level := login.LevelOfLoA(l.level)
	add("loa", level.NSISURI("loa"))
	add("ial", level.NSISURI("ial"))
	add("aal", level.NSISURI("aal"))
	if l.style == domain.ClaimStyleShort {
		add("uuid", id.UserID.String())
	} else {
		add("uuid", "urn:uuid:"+id.UserID.String())
	}
	add("cvr", id.CVR)
	add("org_name", id.OrgName)
	if id.PNumber != "" {
		add("production_unit", id.PNumber)
	}
	if id.SENumber != "" {
		add("se_number", id.SENumber)
	}
	if !id.Anonymous {
		if slices.Contains(l.scopes, oidc.ScopeProfile) {
			add("name", id.FirstName+" "+id.LastName)
			add("given_name", id.FirstName)
			add("family_name", id.LastName)
		}
		if slices.Contains(l.scopes, oidc.ScopeEmail) && id.Email != "" {
			add("email", id.Email)
		}
	}
	add("bpp", l.bppClaim)
	ui.AppendClaims(ClaimPrivilegesJSON, l.privileges)
}
