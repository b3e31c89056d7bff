package mitidsim

import (
	"slices"
	"strings"
)

// demoSubjectPrefix is reserved for the built-in identities.
const demoSubjectPrefix = "demo-"

// demoIdentities match the platform's demo seed, which links these subjects
// at the issuer http://127.0.0.1:8090. Change both together.
var demoIdentities = func() []Identity {
	rows := []Identity{
		{Subject: "demo-mette", FirstName: "Mette", LastName: "Nordlys", CPR: "0505751234", IAL: LevelHigh, Represents: []string{"91234564", "95001238"},
			Note: "Organisationsadministrator i Nordlys og i Havbryg (to erhvervsidentiteter)"},
		{Subject: "demo-jonas", FirstName: "Jonas", LastName: "Berg", CPR: "1211821235", IAL: LevelSubstantial,
			Note: "Brugeradministrator, Nordlys"},
		{Subject: "demo-sofie", FirstName: "Sofie", LastName: "Dam", CPR: "2302901236", IAL: LevelSubstantial,
			Note: "Rettighedsadministrator, Nordlys"},
		{Subject: "demo-peter", FirstName: "Peter", LastName: "Holm", CPR: "0707691237", IAL: LevelSubstantial,
			Note: "Brugeradministrator for én produktionsenhed, Nordlys"},
		{Subject: "demo-rasmus", FirstName: "Rasmus", LastName: "Kjær", CPR: "1010881238", IAL: LevelSubstantial,
			Note: "Udløbet administratorrolle, Nordlys"},
		{Subject: "demo-lars", FirstName: "Lars", LastName: "Vinther", CPR: "1503851239", IAL: LevelSubstantial,
			Note: "Medarbejder uden administratorroller, Nordlys"},
		{Subject: "demo-freja", FirstName: "Freja", LastName: "Lind", CPR: "2104921240", IAL: LevelSubstantial,
			Note: "Anonym medarbejder, Nordlys"},
		{Subject: "demo-henrik", FirstName: "Henrik", LastName: "Skat", CPR: "0606801244", IAL: LevelSubstantial,
			Note: "Organisationsadministrator i Skattefar (tjenesteudbyder)"},
		{Subject: "demo-anders", FirstName: "Anders", LastName: "Revsbech", CPR: "1908781245", IAL: LevelSubstantial,
			Note: "Medarbejder i Havbryg"},
		{Subject: "demo-emma", FirstName: "Emma", LastName: "Krogh", CPR: "0309951241", IAL: LevelSubstantial,
			Note: "Afventende bruger med CPR: aktiverer med linket i e-mailen"},
		{Subject: "demo-ahmed", FirstName: "Ahmed", LastName: "Nasser", BirthDate: "1991-06-14", IAL: LevelSubstantial,
			Note: "Afventende bruger uden CPR: aktiverer med link og kode"},
		{Subject: "demo-karen", FirstName: "Karen", LastName: "Lund", CPR: "1712701242", IAL: LevelSubstantial,
			Note: "Deaktiveret bruger, Nordlys"},
		{Subject: "demo-rikke", FirstName: "Rikke", LastName: "Brandt", CPR: "2811791246", IAL: LevelSubstantial, Represents: []string{"30264878", "91234564"},
			Note: "Ledelsesrepræsentant: tilslutter en ny virksomhed (30264878 Solbær ApS); Nordlys er allerede tilsluttet"},
		{Subject: "demo-low", FirstName: "Lise", LastName: "Lavsikring", CPR: "0102031247", IAL: LevelLow,
			Note: "Kan kun logge ind på niveau Lav (viser et afvist login)"},
	}
	for i, r := range rows {
		if r.CPR != "" {
			born, msg := cprBirthDate(r.CPR)
			if msg != "" {
				panic("mitidsim: demo identity " + r.Subject + ": " + msg)
			}
			r.BirthDate = born.Format("2006-01-02")
		}
		r.Demo = true
		rows[i] = r.withUUIDs()
	}
	return rows
}()

// DemoIdentities returns the built-in identities, which always exist and
// match the platform's demo seed. The platform's tests may compare against it.
func DemoIdentities() []Identity {
	out := make([]Identity, len(demoIdentities))
	for i, id := range demoIdentities {
		id.Represents = slices.Clone(id.Represents)
		out[i] = id
	}
	return out
}

func isReservedSubject(subject string) bool { return strings.HasPrefix(subject, demoSubjectPrefix) }
