package mitidsim

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Identity is a test person who can log in at the simulator, the way a
// private MitID identity logs in at a broker.
type Identity struct {
	// Subject is the ID token's sub: stable across logins and restarts.
	Subject   string `json:"subject"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	// CPR is ten digits without a hyphen, or empty for a person without one.
	CPR string `json:"cpr,omitempty"`
	// BirthDate is YYYY-MM-DD; with a CPR it is the CPR's date.
	BirthDate string `json:"birth_date"`
	// IAL is the identity assurance: it caps the level of every login.
	IAL Level `json:"ial"`
	// Represents are the CVR numbers the person may represent as a
	// management representative.
	Represents []string  `json:"represents,omitempty"`
	CPRUUID    string    `json:"cpr_uuid"`
	MitIDUUID  string    `json:"mitid_uuid"`
	CreatedAt  time.Time `json:"created_at,omitzero"`
	// Note says what a demo identity is for in the platform's demo.
	Note string `json:"-"`
	// Demo marks the built-in identities, which are never stored.
	Demo bool `json:"-"`
}

// FullName is the name as MitID states it.
func (i Identity) FullName() string { return i.FirstName + " " + i.LastName }

// IdentityInput is a new test identity as a tester types it.
type IdentityInput struct {
	FirstName string
	LastName  string
	// CPR may be written DDMMYY-SSSS or DDMMYYSSSS; empty for none.
	CPR string
	// BirthDate (YYYY-MM-DD) is required without a CPR; with one it must
	// agree with it or be empty.
	BirthDate string
	IAL       Level
	// Represents are 8-digit CVR numbers that pass modulus 11.
	Represents []string
}

// FieldError says why the value of one form field was refused, in Danish
// for the tester who typed it.
type FieldError struct {
	Field   string // the form field name: first_name, cpr, represents, ...
	Message string
}

// ValidationError lists every refused field of a new identity.
type ValidationError []FieldError

func (e ValidationError) Error() string {
	msgs := make([]string, len(e))
	for i, f := range e {
		msgs[i] = f.Field + ": " + f.Message
	}
	return "invalid identity: " + strings.Join(msgs, "; ")
}

// uuidNamespace derives the stable UUIDs of an identity from its subject.
var uuidNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/erhverv/erhverv/mitid-sim"))

// withUUIDs fills the CPR-UUID and MitID UUID, both derived from the subject
// so that they are the same on every run.
func (i Identity) withUUIDs() Identity {
	i.CPRUUID = uuid.NewSHA1(uuidNamespace, []byte("cpr-uuid:"+i.Subject)).String()
	i.MitIDUUID = uuid.NewSHA1(uuidNamespace, []byte("mitid-uuid:"+i.Subject)).String()
	return i
}

// normalise checks in and returns the identity it describes, without
// subject and UUIDs. cprTaken reports the subject already holding a CPR.
func (in IdentityInput) normalise(today time.Time, cprTaken func(cpr string) (string, bool)) (Identity, error) {
	var errs ValidationError
	add := func(field, msg string) { errs = append(errs, FieldError{Field: field, Message: msg}) }

	id := Identity{IAL: in.IAL}
	id.FirstName = strings.TrimSpace(in.FirstName)
	id.LastName = strings.TrimSpace(in.LastName)
	for _, f := range []struct{ field, value, label string }{
		{"first_name", id.FirstName, "Fornavn"},
		{"last_name", id.LastName, "Efternavn"},
	} {
		switch {
		case f.value == "":
			add(f.field, f.label+" skal udfyldes.")
		case utf8.RuneCountInString(f.value) > 100:
			add(f.field, f.label+" må højst have 100 tegn.")
		case strings.IndexFunc(f.value, unicode.IsControl) >= 0:
			add(f.field, f.label+" må ikke indeholde kontroltegn.")
		}
	}

	cpr := normaliseCPR(in.CPR)
	birth := strings.TrimSpace(in.BirthDate)
	switch {
	case cpr != "":
		born, msg := cprBirthDate(cpr)
		switch {
		case msg != "":
			add("cpr", msg)
		case born.After(today):
			add("cpr", "CPR-nummerets fødselsdato "+born.Format(time.DateOnly)+" ligger i fremtiden.")
		default:
			if holder, taken := cprTaken(cpr); taken {
				add("cpr", "Der findes allerede en testidentitet med dette CPR-nummer ("+holder+").")
			}
			id.CPR = cpr
			id.BirthDate = born.Format(time.DateOnly)
			if birth != "" && birth != id.BirthDate {
				add("birth_date", "Fødselsdatoen passer ikke med CPR-nummeret, som giver "+id.BirthDate+". Udelad fødselsdatoen, når der er et CPR-nummer.")
			}
		}
	case birth != "":
		d, err := time.Parse(time.DateOnly, birth)
		switch {
		case err != nil:
			add("birth_date", "Fødselsdatoen skal skrives ÅÅÅÅ-MM-DD, fx 1991-06-14.")
		case d.After(today):
			add("birth_date", "Fødselsdatoen ligger i fremtiden.")
		case d.Year() < 1900:
			add("birth_date", "Fødselsdatoen skal være i 1900 eller senere.")
		default:
			id.BirthDate = birth
		}
	default:
		add("cpr", "Angiv et CPR-nummer, eller en fødselsdato hvis personen ikke har et CPR-nummer.")
	}

	if !in.IAL.Valid() {
		add("ial", "Vælg identitetssikring: Lav, Betydelig eller Høj.")
	}

	seen := map[string]bool{}
	for _, cvr := range in.Represents {
		cvr = strings.TrimSpace(cvr)
		switch {
		case cvr == "" || seen[cvr]:
			continue
		case len(cvr) != 8 || !allDigits(cvr):
			add("represents", fmt.Sprintf("%q er ikke et CVR-nummer: et CVR-nummer har 8 cifre.", cvr))
		case !validCVRChecksum(cvr):
			add("represents", cvr+" er ikke et gyldigt CVR-nummer: modulus 11-kontrollen fejler.")
		default:
			id.Represents = append(id.Represents, cvr)
		}
		seen[cvr] = true
	}

	if len(errs) > 0 {
		return Identity{}, errs
	}
	return id, nil
}

// normaliseCPR drops spaces and the hyphen of DDMMYY-SSSS.
func normaliseCPR(s string) string {
	s = strings.Join(strings.Fields(s), "")
	if len(s) == 11 && s[6] == '-' {
		s = s[:6] + s[7:]
	}
	return s
}

// cprBirthDate returns the date of birth in a CPR number by the CPR
// office's century table, or a message for the tester.
func cprBirthDate(cpr string) (time.Time, string) {
	if len(cpr) != 10 || !allDigits(cpr) {
		return time.Time{}, "Et CPR-nummer har 10 cifre (DDMMÅÅ-SSSS)."
	}
	day, month, yy := atoi2(cpr[0:2]), atoi2(cpr[2:4]), atoi2(cpr[4:6])
	year := cprCentury(int(cpr[6]-'0'), yy) + yy
	d := time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
	if month < 1 || month > 12 || day < 1 || d.Day() != day || int(d.Month()) != month {
		return time.Time{}, "De første seks cifre i et CPR-nummer skal være en rigtig dato (DDMMÅÅ); " + cpr[:6] + " er ikke en dato."
	}
	return d, ""
}

// cprCentury maps the 7th digit and the two-digit year to a century.
func cprCentury(digit7, yy int) int {
	switch {
	case digit7 <= 3:
		return 1900
	case digit7 == 4 || digit7 == 9:
		if yy <= 36 {
			return 2000
		}
		return 1900
	default: // 5–8
		if yy <= 57 {
			return 2000
		}
		return 1800
	}
}

// validCVRChecksum is the modulus 11 check of an 8-digit CVR number: the
// digits weighted 2,7,6,5,4,3,2,1 sum to a multiple of 11.
func validCVRChecksum(cvr string) bool {
	weights := [8]int{2, 7, 6, 5, 4, 3, 2, 1}
	sum := 0
	for i, w := range weights {
		sum += int(cvr[i]-'0') * w
	}
	return sum%11 == 0
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func atoi2(s string) int { return int(s[0]-'0')*10 + int(s[1]-'0') }

// splitCVRs splits a represents field on commas, semicolons and spaces.
func splitCVRs(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || unicode.IsSpace(r) })
}
