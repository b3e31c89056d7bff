package main

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

const testBPP = `<?xml version="1.0" encoding="UTF-8"?><bpp:PrivilegeList xmlns:bpp="http://digst.dk/oiosaml/basic_privilege_profile" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><PrivilegeGroup Scope="urn:dk:gov:saml:cvrNumberIdentifier:91234564"><Constraint Name="urn:dk:kombit:KLE">25.*</Constraint><Privilege>urn:dk:demo:sag:laes</Privilege><Privilege>urn:dk:demo:sag:skriv</Privilege></PrivilegeGroup></bpp:PrivilegeList>`

const testBPPIndented = `<?xml version="1.0" encoding="UTF-8"?>
<bpp:PrivilegeList xmlns:bpp="http://digst.dk/oiosaml/basic_privilege_profile" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <PrivilegeGroup Scope="urn:dk:gov:saml:cvrNumberIdentifier:91234564">
    <Constraint Name="urn:dk:kombit:KLE">25.*</Constraint>
    <Privilege>urn:dk:demo:sag:laes</Privilege>
    <Privilege>urn:dk:demo:sag:skriv</Privilege>
  </PrivilegeGroup>
</bpp:PrivilegeList>`

const testPrivileges = `[
	{"scope":"urn:dk:gov:saml:cvrNumberIdentifier:91234564","constraints":{"urn:dk:kombit:KLE":"25.*"},"privileges":["urn:dk:demo:sag:laes","urn:dk:demo:sag:skriv"]},
	{"scope":"urn:dk:gov:saml:productionUnitIdentifier:1003388394","privileges":["urn:dk:demo:sag:laes"]}
]`

// decodeClaims decodes a JSON object the way go-oidc hands claims over.
func decodeClaims(t *testing.T, s string) claims {
	t.Helper()
	var c claims
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		t.Fatalf("claims %s: %v", s, err)
	}
	return c
}

var wantPrivileges = []privilegeGroupView{
	{
		Scope:       "urn:dk:gov:saml:cvrNumberIdentifier:91234564",
		ScopeLabel:  "CVR 91234564",
		Privileges:  []string{"urn:dk:demo:sag:laes", "urn:dk:demo:sag:skriv"},
		Constraints: []claimRow{{"urn:dk:kombit:KLE", "25.*"}},
	},
	{
		Scope:      "urn:dk:gov:saml:productionUnitIdentifier:1003388394",
		ScopeLabel: "P-nummer 1003388394",
		Privileges: []string{"urn:dk:demo:sag:laes"},
	},
}

func TestReadLoginOIOSAML3(t *testing.T) {
	t.Parallel()
	c := decodeClaims(t, `{
		"iss": "http://127.0.0.1:8080", "sub": "6f1b3a52-6c1e-4a43-9d0a-4cd0f6a1b2c3", "aud": "demo", "exp": 1750000000,
		"acr": "https://data.gov.dk/concept/core/nsis/loa/Substantial", "amr": ["mitid:code_app"], "auth_time": 1749990000,
		"https://data.gov.dk/model/core/specVersion": "OIO-SAML-3.0",
		"https://data.gov.dk/concept/core/nsis/loa": "https://data.gov.dk/concept/core/nsis/loa/Substantial",
		"https://data.gov.dk/concept/core/nsis/ial": "https://data.gov.dk/concept/core/nsis/ial/Substantial",
		"https://data.gov.dk/concept/core/nsis/aal": "https://data.gov.dk/concept/core/nsis/aal/High",
		"https://data.gov.dk/model/core/eid/professional/uuid/persistent": "urn:uuid:6f1b3a52-6c1e-4a43-9d0a-4cd0f6a1b2c3",
		"https://data.gov.dk/model/core/eid/professional/cvr": "91234564",
		"https://data.gov.dk/model/core/eid/professional/orgName": "Demo Kommune",
		"https://data.gov.dk/model/core/eid/professional/productionUnit": "1003388394",
		"https://data.gov.dk/model/core/eid/fullName": "Karen Jensen",
		"https://data.gov.dk/model/core/eid/firstName": "Karen",
		"https://data.gov.dk/model/core/eid/lastName": "Jensen",
		"https://data.gov.dk/model/core/eid/email": "karen@demo.example",
		"https://data.gov.dk/model/core/eid/privilegesIntermediate": "`+base64.StdEncoding.EncodeToString([]byte(testBPP))+`",
		"privileges": `+testPrivileges+`
	}`)
	v := readLogin(c)

	for _, f := range []struct{ name, got, want string }{
		{"style", v.Style, "OIOSAML 3"},
		{"subject", v.Subject, "6f1b3a52-6c1e-4a43-9d0a-4cd0f6a1b2c3"},
		{"uuid", v.UUID, "urn:uuid:6f1b3a52-6c1e-4a43-9d0a-4cd0f6a1b2c3"},
		{"name", v.Name, "Karen Jensen"},
		{"email", v.Email, "karen@demo.example"},
		{"org name", v.OrgName, "Demo Kommune"},
		{"cvr", v.CVR, "91234564"},
		{"p-number", v.PNumber, "1003388394"},
		{"se-number", v.SENumber, ""},
		{"spec version", v.SpecVersion, "OIO-SAML-3.0"},
		{"loa", v.LoA.Label, "Betydelig (Substantial)"},
		{"ial", v.IAL.URI, "https://data.gov.dk/concept/core/nsis/ial/Substantial"},
		{"aal", v.AAL.Label, "Høj (High)"},
		{"acr", v.ACR.URI, loaSubstantial},
		{"auth_time", v.AuthTime, "2025-06-15 12:20:00 UTC"},
		{"bpp", v.BPP, testBPPIndented},
		{"bpp note", v.BPPNote, ""},
		{"privileges note", v.PrivilegesNote, ""},
	} {
		if f.got != f.want {
			t.Errorf("%s: got %q, want %q", f.name, f.got, f.want)
		}
	}
	if !reflect.DeepEqual(v.AMR, []string{"mitid:code_app"}) {
		t.Errorf("amr: got %v, want [mitid:code_app]", v.AMR)
	}
	if !v.HasPrivileges || !reflect.DeepEqual(v.Privileges, wantPrivileges) {
		t.Errorf("privileges: got %+v, want %+v", v.Privileges, wantPrivileges)
	}
	if len(v.Claims) != len(c) {
		t.Fatalf("claim rows: got %d, want %d", len(v.Claims), len(c))
	}
	rows := map[string]string{}
	for i, r := range v.Claims {
		if i > 0 && v.Claims[i-1].Name >= r.Name {
			t.Errorf("claim rows not sorted: %q before %q", v.Claims[i-1].Name, r.Name)
		}
		rows[r.Name] = r.Value
	}
	for name, want := range map[string]string{
		"exp": "1750000000 (2025-06-15 15:06:40 UTC)",
		"amr": `["mitid:code_app"]`,
		"aud": "demo",
		"https://data.gov.dk/model/core/eid/professional/cvr": "91234564",
	} {
		if rows[name] != want {
			t.Errorf("claim row %s: got %q, want %q", name, rows[name], want)
		}
	}
}

func TestReadLoginShort(t *testing.T) {
	t.Parallel()
	// An anonymous employee: no name and no email, a SE-number, and none of
	// the service's privileges.
	c := decodeClaims(t, `{
		"sub": "0c9e1a7e-5b1f-4d3a-8f1e-2a3b4c5d6e7f",
		"spec_version": "OIO-SAML-3.0",
		"loa": "https://data.gov.dk/concept/core/nsis/loa/Low",
		"ial": "https://data.gov.dk/concept/core/nsis/ial/Low",
		"aal": "https://data.gov.dk/concept/core/nsis/aal/Low",
		"acr": "https://data.gov.dk/concept/core/nsis/loa/Low",
		"uuid": "0c9e1a7e-5b1f-4d3a-8f1e-2a3b4c5d6e7f",
		"cvr": "91234564",
		"org_name": "Demo ApS",
		"se_number": "12345678",
		"privileges_intermediate": "`+base64.StdEncoding.EncodeToString([]byte(`<bpp:PrivilegeList xmlns:bpp="http://digst.dk/oiosaml/basic_privilege_profile"/>`))+`",
		"privileges": []
	}`)
	v := readLogin(c)
	for _, f := range []struct{ name, got, want string }{
		{"style", v.Style, "korte navne (short)"},
		{"uuid", v.UUID, "0c9e1a7e-5b1f-4d3a-8f1e-2a3b4c5d6e7f"},
		{"name", v.Name, ""},
		{"email", v.Email, ""},
		{"org name", v.OrgName, "Demo ApS"},
		{"cvr", v.CVR, "91234564"},
		{"se-number", v.SENumber, "12345678"},
		{"loa", v.LoA.Label, "Lav (Low)"},
		{"bpp", v.BPP, `<bpp:PrivilegeList xmlns:bpp="http://digst.dk/oiosaml/basic_privilege_profile"></bpp:PrivilegeList>`},
	} {
		if f.got != f.want {
			t.Errorf("%s: got %q, want %q", f.name, f.got, f.want)
		}
	}
	if !v.HasPrivileges || len(v.Privileges) != 0 || v.PrivilegesNote != "" {
		t.Errorf("privileges: got has=%v %+v %q, want an empty list", v.HasPrivileges, v.Privileges, v.PrivilegesNote)
	}

	// Names in the short style, with the full name made from its parts.
	named := readLogin(decodeClaims(t, `{"cvr":"91234564","given_name":"Ole","family_name":"Hansen","email":"ole@demo.example"}`))
	if named.Name != "Ole Hansen" || named.Email != "ole@demo.example" {
		t.Errorf("short names: got %q %q, want Ole Hansen ole@demo.example", named.Name, named.Email)
	}
	if none := readLogin(decodeClaims(t, `{"cvr":"91234564"}`)); none.HasPrivileges || none.BPP != "" || none.BPPNote != "" {
		t.Errorf("no privilege claims: got has=%v bpp=%q note=%q, want nothing", none.HasPrivileges, none.BPP, none.BPPNote)
	}
}

func TestReadPrivileges(t *testing.T) {
	t.Parallel()
	// A provider may send the JSON as a string.
	got, err := readPrivileges(testPrivileges)
	if err != nil || !reflect.DeepEqual(got, wantPrivileges) {
		t.Errorf("string claim: got %+v, %v; want %+v", got, err, wantPrivileges)
	}
	for _, bad := range []any{"not json", map[string]any{"scope": "x"}, 42.0} {
		if _, err := readPrivileges(bad); err == nil {
			t.Errorf("readPrivileges(%v): got no error, want one", bad)
		}
	}
	v := readLogin(claims{"privileges": "{broken"})
	if !v.HasPrivileges || v.PrivilegesNote == "" {
		t.Errorf("broken claim: got has=%v note=%q, want a note", v.HasPrivileges, v.PrivilegesNote)
	}
	// Constraints that are not strings are shown as JSON.
	got, err = readPrivileges(`[{"scope":"urn:dk:gov:saml:seNumberIdentifier:12345678","constraints":{"b":["1","2"],"a":"x"},"privileges":["p"]}]`)
	want := []claimRow{{"a", "x"}, {"b", `["1","2"]`}}
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0].Constraints, want) || got[0].ScopeLabel != "SE-nummer 12345678" {
		t.Errorf("constraints: got %+v, %v; want %+v", got, err, want)
	}
}

func TestDecodeBPP(t *testing.T) {
	t.Parallel()
	// URL-safe and unpadded base64 are accepted too.
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding} {
		got, err := decodeBPP(enc.EncodeToString([]byte(testBPP)))
		if err != nil || got != testBPPIndented {
			t.Errorf("decodeBPP: got %q, %v; want %q", got, err, testBPPIndented)
		}
	}
	if _, err := decodeBPP("***"); err == nil || !strings.Contains(err.Error(), "base64") {
		t.Errorf("bad base64: got %v, want a base64 error", err)
	}
	got, err := decodeBPP(base64.StdEncoding.EncodeToString([]byte("<a><b></a>")))
	if err == nil || got != "<a><b></a>" {
		t.Errorf("bad XML: got %q, %v; want the raw text and an error", got, err)
	}
	if _, err := indentXML([]byte("<a>")); err == nil {
		t.Error("unclosed element: got no error")
	}
	// Text is escaped again on the way out; comments stay.
	got, err = indentXML([]byte(`<a x="1&amp;2"><!-- c --><b>&lt;x&gt;</b></a>`))
	want := "<a x=\"1&amp;2\">\n  <!-- c -->\n  <b>&lt;x&gt;</b>\n</a>"
	if err != nil || got != want {
		t.Errorf("indentXML: got %q, %v; want %q", got, err, want)
	}
}

func TestLevelRank(t *testing.T) {
	t.Parallel()
	for uri, want := range map[string]int{
		loaLow: 1, loaSubstantial: 2, loaHigh: 3,
		"https://data.gov.dk/concept/core/nsis/aal/High": 3,
		"": 0, "https://example.com/loa/High": 0, "High": 3,
	} {
		if got := levelRank(uri); got != want {
			t.Errorf("levelRank(%q): got %d, want %d", uri, got, want)
		}
	}
}

func TestCompareUserinfo(t *testing.T) {
	t.Parallel()
	idToken := decodeClaims(t, `{"iss":"x","aud":"demo","exp":1,"nonce":"n","acr":"a","sub":"u","cvr":"91234564","privileges":[{"scope":"s","privileges":["p"]}]}`)
	same := decodeClaims(t, `{"sub":"u","cvr":"91234564","privileges":[{"scope":"s","privileges":["p"]}]}`)
	if d := compareUserinfo(idToken, same); len(d) != 0 {
		t.Errorf("same claims: got %+v, want no differences", d)
	}
	other := decodeClaims(t, `{"sub":"u","cvr":"12345678","email":"a@b.example"}`)
	want := []claimDiff{
		{"cvr", "91234564", "12345678"},
		{"email", "(mangler / missing)", "a@b.example"},
		{"privileges", `[{"privileges":["p"],"scope":"s"}]`, "(mangler / missing)"},
	}
	if got := compareUserinfo(idToken, other); !reflect.DeepEqual(got, want) {
		t.Errorf("differences: got %+v, want %+v", got, want)
	}
	if (userinfoView{}).Same() != true || (userinfoView{Error: "x"}).Same() || (userinfoView{Diffs: want}).Same() {
		t.Error("userinfoView.Same: wrong answer")
	}
}
