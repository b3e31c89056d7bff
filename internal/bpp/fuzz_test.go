package bpp

import (
	"reflect"
	"testing"
)

// FuzzParse checks that Parse never panics and that whatever it accepts
// survives Marshal and a second Parse unchanged (up to normalisation).
func FuzzParse(f *testing.F) {
	f.Add([]byte(domainExample))
	f.Add([]byte(`<p:PrivilegeList xmlns:p="http://itst.dk/oiosaml/basic_privilege_profile"><p:PrivilegeGroup Scope="urn:s"><p:Constraint Name="n">v</p:Constraint><p:Privilege>urn:a</p:Privilege></p:PrivilegeGroup></p:PrivilegeList>`))
	f.Add([]byte(`<PrivilegeList xmlns="http://digst.dk/oiosaml/basic_privilege_profile"><PrivilegeGroup Scope="a&#xD;b"><Privilege>x&#x9;&amp;<![CDATA[<y>]]></Privilege></PrivilegeGroup></PrivilegeList>`))
	f.Add([]byte(`<!DOCTYPE x><x/>`))
	if b, err := Marshal(Document{Groups: []Group{{Scope: "urn:s", Constraints: []Constraint{{Name: "n", Value: "\r\n"}}, Privileges: []string{"p"}}}}); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Parse(data)
		if err != nil {
			return
		}
		out, err := Marshal(doc)
		if err != nil {
			t.Fatalf("Marshal of a parsed document: %v\ninput: %q", err, data)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse of Marshal's output: %v\noutput: %q", err, out)
		}
		if want := Normalize(doc); !reflect.DeepEqual(again, want) {
			t.Fatalf("round trip:\ngot  %#v\nwant %#v\ninput: %q", again, want, data)
		}
	})
}
