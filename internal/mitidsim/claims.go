package mitidsim

import (
	"slices"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// Claim names of the OIOSAML 3 vocabulary (profile oiosaml).
const (
	claimOIOSpecVersion = "https://data.gov.dk/model/core/specVersion"
	claimOIOFullName    = "https://data.gov.dk/model/core/eid/fullName"
	claimOIOFirstName   = "https://data.gov.dk/model/core/eid/firstName"
	claimOIOLastName    = "https://data.gov.dk/model/core/eid/lastName"
	claimOIOCPR         = "https://data.gov.dk/model/core/eid/cprNumber"
	claimOIOCPRUUID     = "https://data.gov.dk/model/core/eid/cprUuid"
	claimOIOBirthDate   = "https://data.gov.dk/model/core/eid/dateOfBirth"
	claimOIORepresents  = "https://data.gov.dk/model/core/eid/professional/authorizedToRepresent"
	oioSpecVersion      = "OIO-SAML-3.0"
)

// acrFor is the acr claim of a login at level l: Idura's own values, the
// NSIS loa URI otherwise.
func acrFor(profile string, l Level) string {
	if profile == ProfileIdura {
		return l.iduraACR()
	}
	return l.nsisURI(nsisKindLoA)
}

// setClaims fills ui with the profile's claims for the login. The CPR number
// is only included when the scope ssn was granted. withSession adds acr and
// amr, which the ID token carries as registered claims anyway.
func setClaims(ui *oidc.UserInfo, profile string, l login, scopes []string, withSession bool) {
	id := l.Identity
	aal := l.Authenticator.AAL
	withCPR := id.CPR != "" && slices.Contains(scopes, scopeSSN)
	ui.Subject = id.Subject

	switch profile {
	case ProfileSignaturgruppen:
		ui.AppendClaims("idp", "mitid")
		ui.AppendClaims("identity_type", "private")
		ui.AppendClaims("loa", l.LoA.nsisURI(nsisKindLoA))
		ui.AppendClaims("ial", id.IAL.nsisURI(nsisKindIAL))
		ui.AppendClaims("aal", aal.nsisURI(nsisKindAAL))
		ui.AppendClaims("mitid.uuid", id.MitIDUUID)
		ui.AppendClaims("mitid.identity_name", id.FullName())
		ui.AppendClaims("mitid.date_of_birth", id.BirthDate)
		if withCPR {
			ui.AppendClaims("dk.cpr", id.CPR)
		}
	case ProfileIdura:
		ui.AppendClaims("identityscheme", "dkmitid")
		ui.AppendClaims("authenticationtype", l.LoA.iduraACR())
		ui.AppendClaims("uuid", id.MitIDUUID)
		ui.Name = id.FullName()
		ui.GivenName = id.FirstName
		ui.FamilyName = id.LastName
		ui.Birthdate = id.BirthDate
		if withCPR {
			ui.AppendClaims("cprNumberIdentifier", id.CPR)
		}
	default: // ProfileOIOSAML
		ui.AppendClaims(claimOIOSpecVersion, oioSpecVersion)
		ui.AppendClaims(claimNSISLoA, l.LoA.nsisURI(nsisKindLoA))
		ui.AppendClaims(claimNSISIAL, id.IAL.nsisURI(nsisKindIAL))
		ui.AppendClaims(claimNSISAAL, aal.nsisURI(nsisKindAAL))
		ui.AppendClaims(claimOIOFullName, id.FullName())
		ui.AppendClaims(claimOIOFirstName, id.FirstName)
		ui.AppendClaims(claimOIOLastName, id.LastName)
		if withCPR {
			ui.AppendClaims(claimOIOCPR, id.CPR)
		}
		ui.AppendClaims(claimOIOCPRUUID, id.CPRUUID)
		ui.AppendClaims(claimOIOBirthDate, id.BirthDate)
		if len(id.Represents) > 0 {
			ui.AppendClaims(claimOIORepresents, slices.Clone(id.Represents))
		}
	}
	if withSession {
		ui.AppendClaims("acr", acrFor(profile, l.LoA))
		ui.AppendClaims("amr", []string{l.Authenticator.AMR})
	}
}

// claimsSupported lists every claim some profile issues, for discovery.
func claimsSupported() []string {
	return []string{
		"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "at_hash", "c_hash",
		// signaturgruppen
		"idp", "identity_type", "loa", "ial", "aal", "mitid.uuid", "mitid.identity_name", "mitid.date_of_birth", "dk.cpr",
		// idura
		"identityscheme", "authenticationtype", "uuid", "name", "given_name", "family_name", "birthdate", "cprNumberIdentifier",
		// oiosaml
		claimOIOSpecVersion, claimNSISLoA, claimNSISIAL, claimNSISAAL, claimOIOFullName, claimOIOFirstName, claimOIOLastName,
		claimOIOCPR, claimOIOCPRUUID, claimOIOBirthDate, claimOIORepresents,
	}
}
