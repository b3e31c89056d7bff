package bpp

import (
	"reflect"
	"strings"
	"testing"

	"github.com/erhverv/erhverv/internal/domain"
)

func TestMarshalGolden(t *testing.T) {
	t.Parallel()
	// Deliberately out of order, duplicated and needing escapes: the output
	// must be the canonical form.
	doc := Document{Groups: []Group{
		{
			Scope:       "urn:dk:gov:saml:productionUnitIdentifier:1234567890",
			Constraints: []Constraint{{Name: "urn:dk:kombit:KLE", Value: "25.*"}, {Name: "urn:a", Value: `x<&>"'`}},
			Privileges:  []string{"urn:dk:kombit:system_xyz:view_case", "urn:dk:kombit:system_xyz:edit_case", "urn:dk:kombit:system_xyz:view_case"},
		},
		{
			Scope:      "urn:dk:gov:saml:cvrNumberIdentifier:12345678",
			Privileges: []string{"urn:p&q"},
		},
	}}
	got, err := Marshal(doc)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>
<bpp:PrivilegeList xmlns:bpp="http://digst.dk/oiosaml/basic_privilege_profile" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <PrivilegeGroup Scope="urn:dk:gov:saml:cvrNumberIdentifier:12345678">
    <Privilege>urn:p&amp;q</Privilege>
  </PrivilegeGroup>
  <PrivilegeGroup Scope="urn:dk:gov:saml:productionUnitIdentifier:1234567890">
    <Constraint Name="urn:a">x&lt;&amp;&gt;&#34;&#39;</Constraint>
    <Constraint Name="urn:dk:kombit:KLE">25.*</Constraint>
    <Privilege>urn:dk:kombit:system_xyz:edit_case</Privilege>
    <Privilege>urn:dk:kombit:system_xyz:view_case</Privilege>
  </PrivilegeGroup>
</bpp:PrivilegeList>
`
	if string(got) != want {
		t.Errorf("Marshal:\ngot\n%s\nwant\n%s", got, want)
	}
}

func TestMarshalEmpty(t *testing.T) {
	t.Parallel()
	got, err := Marshal(Document{})
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	doc, err := Parse(got)
	if err != nil {
		t.Fatalf("Parse(Marshal(empty)): %v\n%s", err, got)
	}
	if len(doc.Groups) != 0 {
		t.Errorf("got %d groups, want 0", len(doc.Groups))
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	t.Parallel()
	doc := Document{Groups: []Group{
		{
			Scope:       "urn:dk:gov:saml:seNumberIdentifier:87654321",
			Constraints: []Constraint{{Name: "urn:dk:kombit:KLE", Value: "25.02.01"}, {Name: "urn:dk:kombit:KLE", Value: "00.*"}},
			Privileges:  []string{"urn:b", "urn:a"},
		},
		{Scope: "urn:dk:gov:saml:cvrNumberIdentifier:12345678", Privileges: []string{"urn:a"}},
		// Same scope and constraints as the first group, listed otherwise: merged.
		{
			Scope:       "urn:dk:gov:saml:seNumberIdentifier:87654321",
			Constraints: []Constraint{{Name: "urn:dk:kombit:KLE", Value: "00.*"}, {Name: "urn:dk:kombit:KLE", Value: "25.02.01"}},
			Privileges:  []string{"urn:c"},
		},
		{Scope: "urn:dk:gov:saml:cvrNumberIdentifier:12345678", Constraints: []Constraint{{Name: "urn:x", Value: "line\nbreak\ttab\rcr æøå"}}, Privileges: []string{"urn:a"}},
		{Scope: "urn:scope with \"quotes\" & <angles>", Privileges: []string{"  urn:padded\n"}},
	}}
	b, err := Marshal(doc)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse(Marshal): %v\n%s", err, b)
	}
	if want := Normalize(doc); !reflect.DeepEqual(got, want) {
		t.Errorf("Parse(Marshal(doc)):\ngot  %+v\nwant %+v", got, want)
	}
	if n := len(got.Groups); n != 4 {
		t.Errorf("got %d groups, want 4 (two merged)", n)
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	doc := Document{Groups: []Group{
		{Scope: "urn:s2", Privileges: []string{"urn:b", "urn:a", "urn:b"}},
		{Scope: "urn:s1", Constraints: []Constraint{{Name: "n", Value: "v"}}, Privileges: []string{"urn:a"}},
		{Scope: " urn:s2\n", Privileges: []string{"urn:c"}},
		{Scope: "urn:s1", Privileges: nil}, // grants nothing
		{Scope: "urn:s1", Privileges: []string{"urn:z"}},
		{Scope: "urn:s1", Constraints: []Constraint{{Name: "n", Value: "v"}, {Name: "n", Value: "v"}}, Privileges: []string{"urn:d"}},
	}}
	want := Document{Groups: []Group{
		{Scope: "urn:s1", Privileges: []string{"urn:z"}},
		{Scope: "urn:s1", Constraints: []Constraint{{Name: "n", Value: "v"}}, Privileges: []string{"urn:a", "urn:d"}},
		{Scope: "urn:s2", Privileges: []string{"urn:a", "urn:b", "urn:c"}},
	}}
	if got := Normalize(doc); !reflect.DeepEqual(got, want) {
		t.Errorf("Normalize:\ngot  %+v\nwant %+v", got, want)
	}
}

func TestMarshalRefuses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		doc  Document
		want string
	}{
		{"no scope", Document{Groups: []Group{{Scope: " ", Privileges: []string{"urn:a"}}}}, "has no scope"},
		{"constraint without name", Document{Groups: []Group{{Scope: "urn:s", Constraints: []Constraint{{Value: "v"}}, Privileges: []string{"urn:a"}}}}, "without a name"},
		{"empty privilege", Document{Groups: []Group{{Scope: "urn:s", Privileges: []string{"urn:a", ""}}}}, "empty privilege"},
		{"control character", Document{Groups: []Group{{Scope: "urn:s", Privileges: []string{"urn:\x01"}}}}, "XML cannot carry"},
		{"invalid UTF-8", Document{Groups: []Group{{Scope: "urn:\xff", Privileges: []string{"urn:a"}}}}, "not valid UTF-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Marshal(tc.doc)
			if err == nil {
				t.Fatalf("Marshal: got no error, want one containing %q", tc.want)
			}
			if code := domain.ErrorCode(err); code != domain.EINVALID {
				t.Errorf("error code: got %q, want %q", code, domain.EINVALID)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error: got %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestClaimRoundTrip(t *testing.T) {
	t.Parallel()
	doc := Document{Groups: []Group{{
		Scope:       "urn:dk:gov:saml:cvrNumberIdentifier:12345678",
		Constraints: []Constraint{{Name: "urn:dk:kombit:KLE", Value: "25.*"}},
		Privileges:  []string{"urn:dk:kombit:system_xyz:view_case"},
	}}}
	s, err := EncodeClaim(doc)
	if err != nil {
		t.Fatalf("EncodeClaim: %v", err)
	}
	if strings.ContainsAny(s, "<> \n") {
		t.Errorf("EncodeClaim: got %q, want base64", s)
	}
	for name, in := range map[string]string{
		"as encoded":      s,
		"wrapped at 76":   wrap(s, 76),
		"without padding": strings.TrimRight(s, "="),
	} {
		got, err := DecodeClaim(in)
		if err != nil {
			t.Errorf("DecodeClaim(%s): %v", name, err)
			continue
		}
		if !reflect.DeepEqual(got, doc) {
			t.Errorf("DecodeClaim(%s): got %+v, want %+v", name, got, doc)
		}
	}
}

func TestDecodeClaimRefuses(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		in   string
		want string
	}{
		"not base64":     {"!!!!", "not base64"},
		"too large":      {strings.Repeat("A", 4*(MaxSize/3+2)), "larger than"},
		"not a document": {"aGVsbG8=", "text before the root"}, // "hello"
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := DecodeClaim(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DecodeClaim: got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func wrap(s string, n int) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + "\r\n")
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}

func TestParseScope(t *testing.T) {
	t.Parallel()
	cases := []struct {
		uri, kind, value string
		ok               bool
	}{
		{"urn:dk:gov:saml:cvrNumberIdentifier:12345678", KindCVR, "12345678", true},
		{"urn:dk:gov:saml:productionUnitIdentifier:1234567890", KindP, "1234567890", true},
		{"urn:dk:gov:saml:seNumberIdentifier:87654321", KindSE, "87654321", true},
		{"urn:dk:gov:saml:cprNumberIdentifier:0101901234", KindCPR, "0101901234", true},
		{"urn:dk:gov:saml:cvrNumberIdentifier:1234567", "", "", false},
		{"urn:dk:gov:saml:cvrNumberIdentifier:1234567a", "", "", false},
		{"urn:dk:gov:saml:productionUnitIdentifier:12345678", "", "", false},
		{"urn:dk:gov:saml:cprNumberIdentifier:", "", "", false},
		{"urn:dk:gov:saml:somethingElse:12345678", "", "", false},
		{"", "", "", false},
	}
	for _, tc := range cases {
		kind, value, err := ParseScope(tc.uri)
		if (err == nil) != tc.ok {
			t.Errorf("ParseScope(%q): got error %v, want ok=%v", tc.uri, err, tc.ok)
			continue
		}
		if kind != tc.kind || value != tc.value {
			t.Errorf("ParseScope(%q): got (%q, %q), want (%q, %q)", tc.uri, kind, value, tc.kind, tc.value)
		}
	}
}

func TestParseScopeKeepsCPRQuiet(t *testing.T) {
	t.Parallel()
	_, _, err := ParseScope("urn:dk:gov:saml:cprNumberIdentifier:010190123")
	if err == nil {
		t.Fatal("got no error for a 9-digit CPR scope")
	}
	if strings.Contains(err.Error(), "010190123") {
		t.Errorf("error %q repeats the CPR value", err)
	}
}

func TestScopeKindsMatchDomain(t *testing.T) {
	t.Parallel()
	for _, s := range []domain.Scope{
		{Kind: domain.ScopeCVR, Value: "12345678"},
		{Kind: domain.ScopeP, Value: "1234567890"},
		{Kind: domain.ScopeSE, Value: "87654321"},
	} {
		kind, value, err := ParseScope(s.URI())
		if err != nil || kind != s.Kind || value != s.Value {
			t.Errorf("ParseScope(%q): got (%q, %q, %v), want (%q, %q, nil)", s.URI(), kind, value, err, s.Kind, s.Value)
		}
	}
}
