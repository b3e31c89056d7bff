package bpp

import (
	"reflect"
	"strings"
	"testing"

	"github.com/erhverv/erhverv/internal/domain"
)

// domainExample is the example of the domain description, verbatim.
const domainExample = `<bpp:PrivilegeList xmlns:bpp="http://digst.dk/oiosaml/basic_privilege_profile"
                   xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <PrivilegeGroup Scope="urn:dk:gov:saml:cvrNumberIdentifier:12345678">
    <Constraint Name="urn:dk:kombit:KLE">25.*</Constraint>
    <Privilege>urn:dk:kombit:system_xyz:view_case</Privilege>
  </PrivilegeGroup>
</bpp:PrivilegeList>`

var exampleDoc = Document{Groups: []Group{{
	Scope:       "urn:dk:gov:saml:cvrNumberIdentifier:12345678",
	Constraints: []Constraint{{Name: "urn:dk:kombit:KLE", Value: "25.*"}},
	Privileges:  []string{"urn:dk:kombit:system_xyz:view_case"},
}}}

func TestParseAccepts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   string
		want Document
	}{
		{"domain example", domainExample, exampleDoc},
		{"version 1.0.1", `<?xml version="1.0" encoding="UTF-8"?>
<bpp:PrivilegeList xmlns:bpp="http://itst.dk/oiosaml/basic_privilege_profile" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <PrivilegeGroup Scope="urn:dk:gov:saml:cvrNumberIdentifier:12345678">
    <Constraint Name="urn:dk:kombit:KLE">25.*</Constraint>
    <Privilege>urn:dk:kombit:system_xyz:view_case</Privilege>
  </PrivilegeGroup>
</bpp:PrivilegeList>`, exampleDoc},
		{"default namespace", `<PrivilegeList xmlns="http://digst.dk/oiosaml/basic_privilege_profile">
  <PrivilegeGroup Scope="urn:dk:gov:saml:cvrNumberIdentifier:12345678">
    <Constraint Name="urn:dk:kombit:KLE">25.*</Constraint>
    <Privilege>urn:dk:kombit:system_xyz:view_case</Privilege>
  </PrivilegeGroup>
</PrivilegeList>`, exampleDoc},
		{"prefixed children, 1.0.1", `<p:PrivilegeList xmlns:p="http://itst.dk/oiosaml/basic_privilege_profile">
  <p:PrivilegeGroup Scope="urn:dk:gov:saml:cvrNumberIdentifier:12345678">
    <p:Constraint Name="urn:dk:kombit:KLE">25.*</p:Constraint>
    <p:Privilege>urn:dk:kombit:system_xyz:view_case</p:Privilege>
  </p:PrivilegeGroup>
</p:PrivilegeList>`, exampleDoc},
		{"comments, CDATA, padded text, lower-case encoding", `<?xml version="1.0" encoding="utf-8"?>
<!-- issued by a test -->
<bpp:PrivilegeList xmlns:bpp="http://digst.dk/oiosaml/basic_privilege_profile">
  <PrivilegeGroup Scope=" urn:dk:gov:saml:cvrNumberIdentifier:12345678 ">
    <Constraint Name="urn:dk:kombit:KLE"><![CDATA[25.*]]></Constraint>
    <Privilege>
      urn:dk:kombit:system_xyz:<!-- split -->view_case
    </Privilege>
  </PrivilegeGroup>
</bpp:PrivilegeList>
<!-- trailing comment -->
`, exampleDoc},
		{"empty list", `<bpp:PrivilegeList xmlns:bpp="http://digst.dk/oiosaml/basic_privilege_profile"/>`, Document{}},
		{"several groups kept in document order", `<bpp:PrivilegeList xmlns:bpp="http://digst.dk/oiosaml/basic_privilege_profile">
  <PrivilegeGroup Scope="urn:s2"><Privilege>urn:b</Privilege><Privilege>urn:a</Privilege></PrivilegeGroup>
  <PrivilegeGroup Scope="urn:s1"><Privilege>urn:&#120;&amp;</Privilege></PrivilegeGroup>
</bpp:PrivilegeList>`, Document{Groups: []Group{
			{Scope: "urn:s2", Privileges: []string{"urn:b", "urn:a"}},
			{Scope: "urn:s1", Privileges: []string{"urn:x&"}},
		}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse:\ngot  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	t.Parallel()
	const ns = `xmlns:bpp="http://digst.dk/oiosaml/basic_privilege_profile"`
	list := func(body string) string { return `<bpp:PrivilegeList ` + ns + `>` + body + `</bpp:PrivilegeList>` }
	cases := []struct {
		name string
		in   string
		want string
	}{
		{"empty input", ``, "empty"},
		{"wrong namespace", `<bpp:PrivilegeList xmlns:bpp="http://example.com/bpp"><PrivilegeGroup Scope="urn:s"><Privilege>urn:a</Privilege></PrivilegeGroup></bpp:PrivilegeList>`, "the root element is"},
		{"no namespace", `<PrivilegeList><PrivilegeGroup Scope="urn:s"><Privilege>urn:a</Privilege></PrivilegeGroup></PrivilegeList>`, "the root element is"},
		{"other root element", `<bpp:Privileges ` + ns + `/>`, "the root element is"},
		{"DOCTYPE", `<?xml version="1.0"?><!DOCTYPE bpp:PrivilegeList [<!ENTITY x "urn:evil">]>` + list(`<PrivilegeGroup Scope="urn:s"><Privilege>&x;</Privilege></PrivilegeGroup>`), "DOCTYPE"},
		{"undeclared entity", list(`<PrivilegeGroup Scope="urn:s"><Privilege>&x;</Privilege></PrivilegeGroup>`), "not well-formed"},
		{"missing Scope", list(`<PrivilegeGroup><Privilege>urn:a</Privilege></PrivilegeGroup>`), "has no Scope"},
		{"blank Scope", list(`<PrivilegeGroup Scope="  "><Privilege>urn:a</Privilege></PrivilegeGroup>`), "has no Scope"},
		{"two Scopes", list(`<PrivilegeGroup Scope="urn:a" Scope="urn:b"><Privilege>urn:a</Privilege></PrivilegeGroup>`), "more than one Scope"},
		{"Constraint without Name", list(`<PrivilegeGroup Scope="urn:s"><Constraint>v</Constraint><Privilege>urn:a</Privilege></PrivilegeGroup>`), "has no Name"},
		{"empty Privilege", list(`<PrivilegeGroup Scope="urn:s"><Privilege> </Privilege></PrivilegeGroup>`), "empty Privilege"},
		{"child in a foreign namespace", list(`<PrivilegeGroup xmlns="urn:other" Scope="urn:s"><Privilege>urn:a</Privilege></PrivilegeGroup>`), "unexpected element"},
		{"child in the other version's namespace", list(`<x:PrivilegeGroup xmlns:x="http://itst.dk/oiosaml/basic_privilege_profile" Scope="urn:s"/>`), "unexpected element"},
		{"unknown child", list(`<PrivilegeGroup Scope="urn:s"><Privilege>urn:a</Privilege><Extra/></PrivilegeGroup>`), "unexpected element"},
		{"element inside Privilege", list(`<PrivilegeGroup Scope="urn:s"><Privilege>urn:a<b/></Privilege></PrivilegeGroup>`), "unexpected element"},
		{"text inside group", list(`<PrivilegeGroup Scope="urn:s">urn:a</PrivilegeGroup>`), "text directly inside"},
		{"second root", list(``) + `<bpp:PrivilegeList ` + ns + `/>`, "after the root"},
		{"text after root", list(``) + `junk`, "after the root"},
		{"unclosed", `<bpp:PrivilegeList ` + ns + `><PrivilegeGroup Scope="urn:s">`, "not well-formed"},
		{"mismatched tags", list(`<PrivilegeGroup Scope="urn:s"><Privilege>urn:a</Constraint></PrivilegeGroup>`), "not well-formed"},
		{"other encoding", `<?xml version="1.0" encoding="ISO-8859-1"?>` + list(``), "not well-formed"},
		{"oversized", list(`<PrivilegeGroup Scope="urn:s"><Privilege>urn:` + strings.Repeat("a", MaxSize) + `</Privilege></PrivilegeGroup>`), "larger than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse([]byte(tc.in))
			if err == nil {
				t.Fatalf("Parse: got %+v and no error, want an error containing %q", got, tc.want)
			}
			if code := domain.ErrorCode(err); code != domain.EINVALID {
				t.Errorf("error code: got %q, want %q (%v)", code, domain.EINVALID, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error: got %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestParseAtMaxSize(t *testing.T) {
	t.Parallel()
	head := `<bpp:PrivilegeList xmlns:bpp="http://digst.dk/oiosaml/basic_privilege_profile"><PrivilegeGroup Scope="urn:s"><Privilege>urn:`
	tail := `</Privilege></PrivilegeGroup></bpp:PrivilegeList>`
	in := head + strings.Repeat("a", MaxSize-len(head)-len(tail)) + tail
	if _, err := Parse([]byte(in)); err != nil {
		t.Errorf("Parse of exactly MaxSize bytes: %v", err)
	}
	if _, err := Parse([]byte(in + " ")); err == nil {
		t.Error("Parse of MaxSize+1 bytes: got no error")
	}
}

func TestParseErrorsKeepScopeQuiet(t *testing.T) {
	t.Parallel()
	in := `<bpp:PrivilegeList xmlns:bpp="http://digst.dk/oiosaml/basic_privilege_profile">
<PrivilegeGroup Scope="urn:dk:gov:saml:cprNumberIdentifier:0101901234"><Privilege/></PrivilegeGroup></bpp:PrivilegeList>`
	_, err := Parse([]byte(in))
	if err == nil {
		t.Fatal("Parse: got no error for an empty Privilege")
	}
	if strings.Contains(err.Error(), "0101901234") {
		t.Errorf("error %q repeats the CPR scope", err)
	}
}
