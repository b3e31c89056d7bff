package rights_test

import (
	"cmp"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/bpp"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/rights"
)

var (
	sysA = uuid.MustParse("00000000-0000-0000-0000-00000000000a")
	sysB = uuid.MustParse("00000000-0000-0000-0000-00000000000b")
)

const (
	cvrURI = "urn:dk:gov:saml:cvrNumberIdentifier:12345678"
	pURI   = "urn:dk:gov:saml:productionUnitIdentifier:1234567890"
	seURI  = "urn:dk:gov:saml:seNumberIdentifier:87654321"
)

var (
	cvr = domain.Scope{Kind: domain.ScopeCVR, Value: "12345678"}
	pu  = domain.Scope{Kind: domain.ScopeP, Value: "1234567890"}
	pu2 = domain.Scope{Kind: domain.ScopeP, Value: "1234567899"}
	se  = domain.Scope{Kind: domain.ScopeSE, Value: "87654321"}
)

// eff builds an Effective grant of uri in system sys for scope.
func eff(inEffect bool, sys uuid.UUID, uri string, scope domain.Scope, constraints map[string]string) rights.Effective {
	return rights.Effective{
		InEffect: inEffect,
		Grant: rights.Grant{
			ID:          uri,
			Source:      rights.SourceDirect,
			Privilege:   rights.Privilege{ID: uuid.NewSHA1(uuid.NameSpaceURL, []byte(uri)), URI: uri, ITSystemID: sys, Status: "active"},
			Scope:       scope,
			ScopeCVR:    "12345678",
			Constraints: constraints,
		},
	}
}

// viaGroup makes e come through a group with the given restriction.
func viaGroup(e rights.Effective, restriction *domain.Scope) rights.Effective {
	e.Grant.Source = rights.SourceGroup
	e.Grant.Group = &rights.GroupRef{ID: uuid.New(), Name: "Group", Restriction: restriction}
	return e
}

func TestProfile(t *testing.T) {
	t.Parallel()
	kle := map[string]string{"urn:dk:kombit:KLE": "25.*"}
	cases := []struct {
		name string
		in   []rights.Effective
		want bpp.Document
	}{
		{
			name: "nothing in effect",
			in:   []rights.Effective{eff(false, sysA, "urn:a:view", cvr, nil)},
			want: bpp.Document{},
		},
		{
			name: "grouped by scope and constraints, privileges deduplicated",
			in: []rights.Effective{
				eff(true, sysA, "urn:a:view", cvr, nil),
				eff(true, sysA, "urn:a:edit", cvr, nil),
				eff(true, sysA, "urn:a:view", cvr, nil), // a second way to hold it
				eff(true, sysA, "urn:a:view", cvr, kle),
				eff(true, sysA, "urn:a:case", cvr, map[string]string{"urn:dk:kombit:KLE": "25.*"}),
				eff(true, sysA, "urn:a:view", se, nil),
			},
			want: bpp.Document{Groups: []bpp.Group{
				{Scope: cvrURI, Privileges: []string{"urn:a:edit", "urn:a:view"}},
				{Scope: cvrURI, Constraints: []bpp.Constraint{{Name: "urn:dk:kombit:KLE", Value: "25.*"}}, Privileges: []string{"urn:a:case", "urn:a:view"}},
				{Scope: seURI, Privileges: []string{"urn:a:view"}},
			}},
		},
		{
			name: "other systems and grants not in effect left out",
			in: []rights.Effective{
				eff(true, sysA, "urn:a:view", cvr, nil),
				eff(true, sysB, "urn:b:view", cvr, nil),
				eff(false, sysA, "urn:a:edit", cvr, nil),
			},
			want: bpp.Document{Groups: []bpp.Group{{Scope: cvrURI, Privileges: []string{"urn:a:view"}}}},
		},
		{
			name: "group restriction narrows the scope",
			in: []rights.Effective{
				viaGroup(eff(true, sysA, "urn:a:view", cvr, nil), &pu),
				viaGroup(eff(true, sysA, "urn:a:edit", pu, nil), &pu),
				viaGroup(eff(true, sysA, "urn:a:case", cvr, nil), nil),
				// Restricted to one unit but granted for another: the policy
				// allows it nowhere.
				viaGroup(eff(true, sysA, "urn:a:none", pu2, nil), &pu),
			},
			want: bpp.Document{Groups: []bpp.Group{
				{Scope: cvrURI, Privileges: []string{"urn:a:case"}},
				{Scope: pURI, Privileges: []string{"urn:a:edit", "urn:a:view"}},
			}},
		},
		{
			name: "group restriction to an SE-number",
			in:   []rights.Effective{viaGroup(eff(true, sysA, "urn:a:view", cvr, kle), &se)},
			want: bpp.Document{Groups: []bpp.Group{
				{Scope: seURI, Constraints: []bpp.Constraint{{Name: "urn:dk:kombit:KLE", Value: "25.*"}}, Privileges: []string{"urn:a:view"}},
			}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := rights.Profile(tc.in, sysA); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Profile:\ngot  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestProfileAll(t *testing.T) {
	t.Parallel()
	in := []rights.Effective{
		eff(true, sysA, "urn:a:view", cvr, nil),
		eff(true, sysB, "urn:b:view", cvr, nil),
		eff(false, sysB, "urn:b:edit", cvr, nil),
	}
	want := bpp.Document{Groups: []bpp.Group{{Scope: cvrURI, Privileges: []string{"urn:a:view", "urn:b:view"}}}}
	if got := rights.ProfileAll(in); !reflect.DeepEqual(got, want) {
		t.Errorf("ProfileAll:\ngot  %+v\nwant %+v", got, want)
	}
	if got := rights.Profile(in, uuid.New()); len(got.Groups) != 0 {
		t.Errorf("Profile for an unknown system: got %+v, want no groups", got)
	}
}

// triple is one privilege as a service provider reads it.
type triple struct {
	scope, constraints, privilege string
}

func triples(doc bpp.Document) []triple {
	var out []triple
	for _, g := range doc.Groups {
		cs := ""
		for _, c := range g.Constraints {
			cs += c.Name + "=" + c.Value + ";"
		}
		for _, p := range g.Privileges {
			out = append(out, triple{g.Scope, cs, p})
		}
	}
	slices.SortFunc(out, func(a, b triple) int {
		return cmp.Or(strings.Compare(a.scope, b.scope), strings.Compare(a.constraints, b.constraints), strings.Compare(a.privilege, b.privilege))
	})
	return out
}

func TestProfileSurvivesTheDocument(t *testing.T) {
	t.Parallel()
	in := []rights.Effective{
		eff(true, sysA, "urn:a:view", cvr, nil),
		eff(true, sysA, "urn:a:view", cvr, map[string]string{"urn:dk:kombit:KLE": "25.*", "urn:x:sensitivity": "high & <low>"}),
		eff(true, sysA, "urn:a:edit", se, map[string]string{"urn:dk:kombit:KLE": "00.01"}),
		viaGroup(eff(true, sysA, "urn:a:case", cvr, nil), &pu),
		eff(false, sysA, "urn:a:admin", cvr, nil),
	}
	want := []triple{
		{cvrURI, "", "urn:a:view"},
		{cvrURI, "urn:dk:kombit:KLE=25.*;urn:x:sensitivity=high & <low>;", "urn:a:view"},
		{pURI, "", "urn:a:case"},
		{seURI, "urn:dk:kombit:KLE=00.01;", "urn:a:edit"},
	}
	doc := rights.Profile(in, sysA)
	b, err := bpp.Marshal(doc)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	back, err := bpp.Parse(b)
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, b)
	}
	if got := triples(back); !reflect.DeepEqual(got, want) {
		t.Errorf("Parse(Marshal(Profile)) triples:\ngot  %v\nwant %v", got, want)
	}
	if got, want := triples(back), triples(doc); !reflect.DeepEqual(got, want) {
		t.Errorf("triples after the round trip:\ngot  %v\nwant %v (before)", got, want)
	}
}
