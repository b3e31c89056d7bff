package mitidsim

import (
	"testing"
	"time"
)

func TestParseACRValue(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in     string
		want   Level
		wantOK bool
	}{
		{"https://data.gov.dk/concept/core/nsis/loa/Low", LevelLow, true},
		{"https://data.gov.dk/concept/core/nsis/loa/Substantial", LevelSubstantial, true},
		{"https://data.gov.dk/concept/core/nsis/loa/High", LevelHigh, true},
		{"urn:grn:authn:dk:mitid:low", LevelLow, true},
		{"urn:grn:authn:dk:mitid:substantial", LevelSubstantial, true},
		{"urn:grn:authn:dk:mitid:high", LevelHigh, true},
		{"https://data.gov.dk/concept/core/nsis/ial/High", 0, false}, // an ial is no acr value
		{"https://data.gov.dk/concept/core/nsis/loa/high", 0, false},
		{"urn:grn:authn:dk:mitid:business", 0, false},
		{"Substantial", 0, false},
		{"", 0, false},
	}
	for _, tc := range cases {
		got, ok := parseACRValue(tc.in)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("parseACRValue(%q): got %v, %v, want %v, %v", tc.in, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestMinLevelOf(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in      []string
		want    Level
		wantErr bool
	}{
		{nil, LevelLow, false},
		{[]string{"urn:grn:authn:dk:mitid:high"}, LevelHigh, false},
		{[]string{"https://data.gov.dk/concept/core/nsis/loa/High", "urn:grn:authn:dk:mitid:substantial"}, LevelSubstantial, false},
		{[]string{"urn:grn:authn:dk:mitid:business", "urn:grn:authn:dk:mitid:high"}, LevelHigh, false},
		{[]string{"urn:grn:authn:dk:mitid:business"}, 0, true},
	}
	for _, tc := range cases {
		got, err := minLevelOf(tc.in)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("minLevelOf(%v): got %v, %v, want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestLevelText(t *testing.T) {
	t.Parallel()
	for l := LevelLow; l <= LevelHigh; l++ {
		b, err := l.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Level
		if err := back.UnmarshalText(b); err != nil || back != l {
			t.Errorf("round trip of %v: got %v, %v", l, back, err)
		}
	}
	if _, err := Level(0).MarshalText(); err == nil {
		t.Error("MarshalText of no level: got no error")
	}
	if l, err := ParseLevel("substantial"); err != nil || l != LevelSubstantial {
		t.Errorf("ParseLevel(substantial): got %v, %v", l, err)
	}
	if got := LevelSubstantial.nsisURI(nsisKindIAL); got != "https://data.gov.dk/concept/core/nsis/ial/Substantial" {
		t.Errorf("ial URI: got %s", got)
	}
}

func TestCPRBirthDate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		cpr, want string // want "" means refused
	}{
		{"0505751234", "1975-05-05"},
		{"0102031247", "1903-02-01"},
		{"0102034247", "2003-02-01"}, // 7th digit 4, YY ≤ 36
		{"0102504247", "1950-02-01"}, // 7th digit 4, YY > 36
		{"0102585247", "1858-02-01"}, // 7th digit 5–8, YY > 57
		{"0102205247", "2020-02-01"}, // 7th digit 5–8, YY ≤ 57
		{"0102369247", "2036-02-01"},
		{"0102379247", "1937-02-01"},
		{"2902001234", ""}, // 1900 was no leap year
		{"2902044234", "2004-02-29"},
		{"3104901234", ""},
		{"0000901234", ""},
		{"123", ""},
	}
	for _, tc := range cases {
		d, msg := cprBirthDate(tc.cpr)
		got := ""
		if msg == "" {
			got = d.Format(time.DateOnly)
		}
		if got != tc.want {
			t.Errorf("cprBirthDate(%s): got %q (%s), want %q", tc.cpr, got, msg, tc.want)
		}
	}
}

func TestValidCVRChecksum(t *testing.T) {
	t.Parallel()
	for cvr, want := range map[string]bool{
		"91234564": true, "95001238": true, "93847261": true, "30264878": true,
		"30264877": false, "12345678": false, "91234565": false,
	} {
		if got := validCVRChecksum(cvr); got != want {
			t.Errorf("validCVRChecksum(%s): got %v, want %v", cvr, got, want)
		}
	}
}

func TestSplitCVRs(t *testing.T) {
	t.Parallel()
	got := splitCVRs(" 91234564,95001238;\n30264878  ")
	if len(got) != 3 || got[0] != "91234564" || got[1] != "95001238" || got[2] != "30264878" {
		t.Errorf("splitCVRs: got %q", got)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	ok := Client{ID: "a", RedirectURIs: []string{"http://127.0.0.1/cb"}}
	cases := map[string]Config{
		"no issuer":          {},
		"issuer with path":   {Issuer: "http://127.0.0.1:8090/mitid"},
		"issuer not http":    {Issuer: "ftp://127.0.0.1"},
		"client twice":       {Issuer: "http://127.0.0.1:8090", Clients: []Client{ok, ok}},
		"unknown profile":    {Issuer: "http://127.0.0.1:8090", Clients: []Client{{ID: "a", RedirectURIs: ok.RedirectURIs, Profile: "nets"}}},
		"no redirect URI":    {Issuer: "http://127.0.0.1:8090", Clients: []Client{{ID: "a"}}},
		"relative redirect":  {Issuer: "http://127.0.0.1:8090", Clients: []Client{{ID: "a", RedirectURIs: []string{"/cb"}}}},
		"fragment in logout": {Issuer: "http://127.0.0.1:8090", Clients: []Client{{ID: "a", RedirectURIs: ok.RedirectURIs, PostLogoutRedirectURIs: []string{"http://x/#f"}}}},
		"client without id":  {Issuer: "http://127.0.0.1:8090", Clients: []Client{{RedirectURIs: ok.RedirectURIs}}},
	}
	for name, cfg := range cases {
		if _, err := New(t.Context(), cfg); err == nil {
			t.Errorf("%s: got no error", name)
		}
	}
	s, err := New(t.Context(), Config{Issuer: "http://127.0.0.1:8090/", Clients: []Client{ok}})
	if err != nil || s.Issuer() != "http://127.0.0.1:8090" {
		t.Errorf("trailing slash: got %v, %v, want issuer http://127.0.0.1:8090", s, err)
	}
}
