package login

import (
	"slices"
	"testing"
)

func TestProfilesMapClaims(t *testing.T) {
	t.Parallel()
	tests := []struct {
		profile string
		claims  map[string]any
		want    Person
	}{
		{
			profile: "oiosaml",
			claims: map[string]any{"iss": "https://broker", "sub": "p1",
				claimOIOLoA: "https://data.gov.dk/concept/core/nsis/loa/High", claimOIOIAL: "https://data.gov.dk/concept/core/nsis/ial/High",
				claimOIOAAL: "https://data.gov.dk/concept/core/nsis/aal/Substantial", claimOIOFullName: "Rikke Brandt",
				claimOIOFirstName: "Rikke", claimOIOLastName: "Brandt", claimOIOCPR: "2811791246", claimOIOCPRUUID: "c-uuid",
				claimOIORepresenting: []any{"30264878", "12345678", "91234564"}, "amr": []any{"mitid:code_app"}},
			want: Person{Issuer: "https://broker", Subject: "p1", FullName: "Rikke Brandt", FirstName: "Rikke", LastName: "Brandt",
				CPR: "2811791246", CPRUUID: "c-uuid", BirthDate: "1979-11-28", LoA: LevelHigh, IAL: LevelHigh, AAL: LevelSubstantial,
				AMR: []string{"mitid:code_app"}, Represents: []string{"30264878", "91234564"}},
		},
		{
			profile: "signaturgruppen",
			claims: map[string]any{"iss": "https://broker", "sub": "p2", "idp": "mitid", "identity_type": "private",
				"loa": "https://data.gov.dk/concept/core/nsis/loa/Substantial", "ial": "https://data.gov.dk/concept/core/nsis/ial/Substantial",
				"aal": "https://data.gov.dk/concept/core/nsis/aal/High", "mitid.identity_name": "Jonas Berg",
				"mitid.date_of_birth": "1982-11-12", "dk.cpr": "121182-1235", "amr": []any{"mitid:code_token"}},
			want: Person{Issuer: "https://broker", Subject: "p2", FullName: "Jonas Berg", CPR: "1211821235", BirthDate: "1982-11-12",
				LoA: LevelSubstantial, IAL: LevelSubstantial, AAL: LevelHigh, AMR: []string{"mitid:code_token"}},
		},
		{
			profile: "idura",
			claims: map[string]any{"iss": "https://broker", "sub": "p3", "acr": "urn:grn:authn:dk:mitid:substantial",
				"name": "Ahmed Nasser", "given_name": "Ahmed", "family_name": "Nasser", "birthdate": "1991-06-14"},
			want: Person{Issuer: "https://broker", Subject: "p3", FullName: "Ahmed Nasser", FirstName: "Ahmed", LastName: "Nasser",
				BirthDate: "1991-06-14", LoA: LevelSubstantial, IAL: LevelSubstantial, AAL: LevelSubstantial},
		},
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			t.Parallel()
			p, err := ProfileByName(tt.profile)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.Person(tt.claims)
			if err != nil {
				t.Fatalf("Person: %v", err)
			}
			if got.Issuer != tt.want.Issuer || got.Subject != tt.want.Subject || got.FullName != tt.want.FullName ||
				got.FirstName != tt.want.FirstName || got.LastName != tt.want.LastName || got.CPR != tt.want.CPR ||
				got.CPRUUID != tt.want.CPRUUID || got.BirthDate != tt.want.BirthDate || got.LoA != tt.want.LoA ||
				got.IAL != tt.want.IAL || got.AAL != tt.want.AAL || !slices.Equal(got.AMR, tt.want.AMR) ||
				!slices.Equal(got.Represents, tt.want.Represents) {
				t.Errorf("Person =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestProfilesRefuse(t *testing.T) {
	t.Parallel()
	base := func(extra map[string]any) map[string]any {
		m := map[string]any{"iss": "https://broker", "sub": "x", "loa": LevelSubstantial.URI(), "acr": "urn:grn:authn:dk:mitid:substantial",
			claimOIOLoA: LevelSubstantial.URI()}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, tt := range []struct {
		profile string
		claims  map[string]any
	}{
		{"oiosaml", base(map[string]any{"sub": ""})},
		{"oiosaml", map[string]any{"iss": "https://broker", "sub": "x", claimOIOLoA: "https://data.gov.dk/concept/core/nsis/loa/Extreme"}},
		{"signaturgruppen", base(map[string]any{"identity_type": "professional"})},
		{"signaturgruppen", base(map[string]any{"mitid.date_of_birth": "14-06-1991"})},
		{"idura", map[string]any{"iss": "https://broker", "sub": "x", "acr": "urn:grn:authn:dk:mitid:business"}},
		{"idura", base(map[string]any{"cprNumberIdentifier": "123"})},
	} {
		p, _ := ProfileByName(tt.profile)
		if got, err := p.Person(tt.claims); err == nil {
			t.Errorf("%s %v: got %+v, want an error", tt.profile, tt.claims, got)
		}
	}
	if _, err := ProfileByName("saml"); err == nil {
		t.Error("ProfileByName(saml): want an error")
	}
}

func TestLevels(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Level{
		"https://data.gov.dk/concept/core/nsis/loa/Low":         LevelLow,
		"https://data.gov.dk/concept/core/nsis/ial/Substantial": LevelSubstantial,
		"https://data.gov.dk/concept/core/nsis/aal/High":        LevelHigh,
		"https://data.gov.dk/concept/core/nsis/xyz/High":        LevelNone,
		"urn:grn:authn:dk:mitid:high":                           LevelHigh,
		"Substantial":                                           LevelSubstantial,
		"":                                                      LevelNone,
		"urn:grn:authn:dk:mitid:business":                       LevelNone,
	} {
		if got := ParseLevelClaim(in); got != want {
			t.Errorf("ParseLevelClaim(%q) = %v, want %v", in, got, want)
		}
	}
	p := Person{LoA: LevelHigh, IAL: LevelSubstantial, AAL: LevelHigh}
	if p.Level() != LevelSubstantial {
		t.Errorf("Level() = %v, want the weakest of loa, ial, aal", p.Level())
	}
}
