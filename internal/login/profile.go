package login

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/erhverv/erhverv/internal/domain"
)

// Person is who a broker says logged in: a private MitID login. The CPR is
// carried only from the ID token to the callback handler, which turns it
// into a keyed hash; it is never stored in the session or logged.
type Person struct {
	Issuer    string
	Subject   string
	FullName  string
	FirstName string
	LastName  string
	CPR       string // transient, see above
	CPRUUID   string
	BirthDate string // YYYY-MM-DD when known
	LoA       Level  // overall level of this login
	IAL, AAL  Level
	AMR       []string
	// Represents are the CVR numbers the broker says the person may
	// represent; the CVR register has the final word.
	Represents []string
}

// Name is the person's name for display.
func (p Person) Name() string {
	if p.FullName != "" {
		return p.FullName
	}
	return strings.TrimSpace(p.FirstName + " " + p.LastName)
}

// Level is the assurance the login proved: the lowest of loa, ial and aal,
// so a broker that sends inconsistent values is taken at its weakest.
func (p Person) Level() Level { return min(p.LoA, p.IAL, p.AAL) }

// Profile is how one broker asks for a login at a level and names the
// claims of its ID token.
type Profile interface {
	Name() string
	// Scopes are requested besides openid.
	Scopes() []string
	// AuthParams are the extra authorization request parameters asking for
	// a private MitID login at level l or above.
	AuthParams(l Level) []oauth2.AuthCodeOption
	// Person maps verified ID token claims (iss, sub, aud, exp and nonce
	// already checked) to a person.
	Person(claims map[string]any) (Person, error)
}

// ProfileByName returns the profile for ERHVERV_BROKER_PROFILE.
func ProfileByName(name string) (Profile, error) {
	switch name {
	case "oiosaml":
		return oiosamlProfile{}, nil
	case "signaturgruppen":
		return signaturgruppenProfile{}, nil
	case "idura":
		return iduraProfile{}, nil
	}
	return nil, fmt.Errorf("unknown broker profile %q: use oiosaml, signaturgruppen or idura", name)
}

// Claim names of the OIOSAML 3 vocabulary, also used as OIDC claim names.
const (
	claimOIOLoA          = "https://data.gov.dk/concept/core/nsis/loa"
	claimOIOIAL          = "https://data.gov.dk/concept/core/nsis/ial"
	claimOIOAAL          = "https://data.gov.dk/concept/core/nsis/aal"
	claimOIOFullName     = "https://data.gov.dk/model/core/eid/fullName"
	claimOIOFirstName    = "https://data.gov.dk/model/core/eid/firstName"
	claimOIOLastName     = "https://data.gov.dk/model/core/eid/lastName"
	claimOIOCPR          = "https://data.gov.dk/model/core/eid/cprNumber"
	claimOIOCPRUUID      = "https://data.gov.dk/model/core/eid/cprUuid"
	claimOIOBirthDate    = "https://data.gov.dk/model/core/eid/dateOfBirth"
	claimOIORepresenting = "https://data.gov.dk/model/core/eid/professional/authorizedToRepresent"
)

// oiosamlProfile reads the OIOSAML 3 URI names (NemLog-in through an OIDC
// bridge, and the simulator's default).
type oiosamlProfile struct{}

func (oiosamlProfile) Name() string     { return "oiosaml" }
func (oiosamlProfile) Scopes() []string { return []string{"profile", "ssn"} }
func (oiosamlProfile) AuthParams(l Level) []oauth2.AuthCodeOption {
	return []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("acr_values", l.URI())}
}

func (oiosamlProfile) Person(c map[string]any) (Person, error) {
	p := Person{
		FullName:   str(c, claimOIOFullName),
		FirstName:  str(c, claimOIOFirstName),
		LastName:   str(c, claimOIOLastName),
		CPR:        str(c, claimOIOCPR),
		CPRUUID:    str(c, claimOIOCPRUUID),
		BirthDate:  str(c, claimOIOBirthDate),
		LoA:        ParseLevelClaim(firstOf(c, claimOIOLoA, "acr")),
		IAL:        ParseLevelClaim(str(c, claimOIOIAL)),
		AAL:        ParseLevelClaim(str(c, claimOIOAAL)),
		AMR:        strs(c, "amr"),
		Represents: strs(c, claimOIORepresenting),
	}
	return finish(c, p)
}

// signaturgruppenProfile reads the Nets eID Broker's private MitID claims.
type signaturgruppenProfile struct{}

func (signaturgruppenProfile) Name() string     { return "signaturgruppen" }
func (signaturgruppenProfile) Scopes() []string { return []string{"mitid", "ssn"} }
func (signaturgruppenProfile) AuthParams(l Level) []oauth2.AuthCodeOption {
	return []oauth2.AuthCodeOption{
		oauth2.SetAuthURLParam("idp_values", "mitid"),
		oauth2.SetAuthURLParam("acr_values", l.URI()),
	}
}

func (signaturgruppenProfile) Person(c map[string]any) (Person, error) {
	p := Person{
		FullName:   str(c, "mitid.identity_name"),
		CPR:        str(c, "dk.cpr"),
		CPRUUID:    str(c, "nemlogin.cpr_uuid"),
		BirthDate:  str(c, "mitid.date_of_birth"),
		LoA:        ParseLevelClaim(firstOf(c, "loa", "acr")),
		IAL:        ParseLevelClaim(str(c, "ial")),
		AAL:        ParseLevelClaim(str(c, "aal")),
		AMR:        strs(c, "amr"),
		Represents: strs(c, "nemlogin.authorized_to_represent"),
	}
	if t := str(c, "identity_type"); t != "" && t != "private" {
		return Person{}, fmt.Errorf("identity_type is %q; the platform needs a private MitID login", t)
	}
	return finish(c, p)
}

// iduraProfile reads Idura's (Criipto's) MitID claims. Idura states one
// level, in acr; it stands for ial and aal too.
type iduraProfile struct{}

func (iduraProfile) Name() string     { return "idura" }
func (iduraProfile) Scopes() []string { return []string{"ssn"} }
func (iduraProfile) AuthParams(l Level) []oauth2.AuthCodeOption {
	return []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("acr_values", "urn:grn:authn:dk:mitid:"+strings.ToLower(l.String()))}
}

func (iduraProfile) Person(c map[string]any) (Person, error) {
	p := Person{
		FullName:  str(c, "name"),
		FirstName: str(c, "given_name"),
		LastName:  str(c, "family_name"),
		CPR:       str(c, "cprNumberIdentifier"),
		BirthDate: str(c, "birthdate"),
		LoA:       ParseLevelClaim(str(c, "acr")),
		AMR:       strs(c, "amr"),
	}
	p.IAL, p.AAL = p.LoA, p.LoA
	return finish(c, p)
}

// finish fills what every profile shares and checks the result.
func finish(c map[string]any, p Person) (Person, error) {
	p.Issuer, p.Subject = str(c, "iss"), str(c, "sub")
	if p.Subject == "" || len(p.Subject) > 255 {
		return Person{}, errors.New("the ID token has no usable subject")
	}
	if p.LoA == LevelNone {
		return Person{}, errors.New("the ID token states no level of assurance")
	}
	// A broker that sends only loa vouches for ial and aal at that level.
	if p.IAL == LevelNone {
		p.IAL = p.LoA
	}
	if p.AAL == LevelNone {
		p.AAL = p.LoA
	}
	if p.CPR != "" {
		p.CPR = domain.NormalizeDigits(p.CPR) // some brokers write DDMMYY-SSSS
		born, err := domain.CPRBirthDate("cpr", p.CPR)
		if err != nil {
			return Person{}, errors.New("the ID token's CPR number is not valid") // never repeat the number
		}
		if p.BirthDate == "" {
			p.BirthDate = born.Format(time.DateOnly)
		}
	}
	if p.BirthDate != "" {
		if _, err := time.Parse(time.DateOnly, p.BirthDate); err != nil {
			return Person{}, errors.New("the ID token's date of birth is not a YYYY-MM-DD date") // personal data: not repeated
		}
	}
	valid := p.Represents[:0]
	for _, cvr := range p.Represents {
		if domain.ValidateCVR("cvr", cvr) == nil {
			valid = append(valid, cvr)
		}
	}
	p.Represents = valid
	return p, nil
}

func str(c map[string]any, name string) string {
	if s, ok := c[name].(string); ok {
		return strings.TrimSpace(s)
	}
	return ""
}

func firstOf(c map[string]any, names ...string) string {
	for _, n := range names {
		if s := str(c, n); s != "" {
			return s
		}
	}
	return ""
}

// strs reads a claim that is a list of strings, or one string with values
// separated by spaces or commas (both occur in the wild).
func strs(c map[string]any, name string) []string {
	switch v := c[name].(type) {
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok && strings.TrimSpace(s) != "" {
				out = append(out, strings.TrimSpace(s))
			}
		}
		return out
	case string:
		return strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' })
	}
	return nil
}
