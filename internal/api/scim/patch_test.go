package scim

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

func op(o, path string, value any) patchOp {
	b, err := json.Marshal(value)
	if err != nil {
		panic(err)
	}
	if value == nil {
		b = nil
	}
	return patchOp{Op: o, Path: path, Value: b}
}

// patchUser applies ops to Anna as PATCH does, without a database.
func patchUser(ops ...patchOp) (*postgres.SCIMUser, error) {
	h := &handler{base: "https://erhverv.test/scim/v2"}
	anna := &postgres.SCIMUser{ExternalID: "ext-anna", User: domain.User{
		ID: uuid.New(), FirstName: "Anna", LastName: "Berg", Email: "anna@solbaer.example.dk", Phone: "+4511223344",
		BirthDate: time.Date(1985, 5, 17, 0, 0, 0, 0, time.UTC), Status: domain.UserActive, Version: 3,
		ExtraFields: map[string]string{"department": "Salg", "cost_centre": "42"}}}
	doc, err := h.userDocument(anna)
	if err != nil {
		return nil, err
	}
	for _, o := range ops {
		if err := doc.apply(o); err != nil {
			return nil, err
		}
	}
	b, _ := json.Marshal(doc.root)
	var r userResource
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	if r.ExternalID == nil {
		r.ExternalID = new(string)
	}
	return userFromResource(&r, anna)
}

func TestUserPatchOperations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		ops   []patchOp
		check func(u *postgres.SCIMUser) bool
	}{
		{"replace a sub-attribute", []patchOp{op("replace", "name.givenName", "Annette")},
			func(u *postgres.SCIMUser) bool { return u.FirstName == "Annette" && u.LastName == "Berg" }},
		{"capitalised op, path in another case", []patchOp{op("Replace", "NAME.FAMILYNAME", "Holm")},
			func(u *postgres.SCIMUser) bool { return u.LastName == "Holm" }},
		{"no path: attributes as paths", []patchOp{op("Replace", "", map[string]any{"name.givenName": "Ann", "active": "False",
			schemaEnterprise + ":department": "Drift"})},
			func(u *postgres.SCIMUser) bool {
				return u.FirstName == "Ann" && u.Status == domain.UserDeactivated && u.ExtraFields["department"] == "Drift"
			}},
		{"no path: an extension's object", []patchOp{op("add", "", map[string]any{schemaEnterprise: map[string]any{"employeeNumber": "9"}})},
			func(u *postgres.SCIMUser) bool {
				return u.ExtraFields["employee_number"] == "9" && u.ExtraFields["department"] == "Salg"
			}},
		{"merge a complex attribute", []patchOp{op("replace", "name", map[string]any{"familyName": "Dahl", "formatted": "ignored"})},
			func(u *postgres.SCIMUser) bool { return u.FirstName == "Anna" && u.LastName == "Dahl" }},
		{"read-only and unstored attributes are ignored", []patchOp{op("replace", "emails", []any{map[string]any{"value": "x@y.dk"}}),
			op("add", "title", "Chef"), op("replace", "displayName", "X"), op("replace", "id", "1"), op("add", "addresses[type eq \"work\"].locality", "Aarhus")},
			func(u *postgres.SCIMUser) bool { return u.Email == "anna@solbaer.example.dk" && u.FirstName == "Anna" }},
		{"remove an attribute", []patchOp{op("remove", "phoneNumbers", nil)},
			func(u *postgres.SCIMUser) bool { return u.Phone == "" }},
		{"remove by value filter", []patchOp{op("remove", `phoneNumbers[type eq "work"]`, nil)},
			func(u *postgres.SCIMUser) bool { return u.Phone == "" }},
		{"replace by value filter", []patchOp{op("replace", `phoneNumbers[type eq "work"].value`, "+45 99 88 77 66")},
			func(u *postgres.SCIMUser) bool { return u.Phone == "+4599887766" }},
		{"add a value the filter describes", []patchOp{op("remove", "phoneNumbers", nil), op("add", `phoneNumbers[type eq "mobile"].value`, "+4522334455")},
			func(u *postgres.SCIMUser) bool { return u.Phone == "+4522334455" }},
		{"add to a multi-valued attribute", []patchOp{op("remove", "phoneNumbers", nil), op("add", "phoneNumbers", map[string]any{"value": "+4566778899", "type": "mobile"})},
			func(u *postgres.SCIMUser) bool { return u.Phone == "+4566778899" }},
		{"filter on a boolean given as a string", []patchOp{op("replace", `phoneNumbers[primary eq "True"].value`, "+4512121212")},
			func(u *postgres.SCIMUser) bool { return u.Phone == "+4512121212" }},
		{"remove the externalId", []patchOp{op("remove", "externalId", nil)},
			func(u *postgres.SCIMUser) bool { return u.ExternalID == "" }},
		{"remove an extension attribute", []patchOp{op("remove", schemaEnterprise+":department", nil)},
			func(u *postgres.SCIMUser) bool {
				_, has := u.ExtraFields["department"]
				return !has && u.ExtraFields["cost_centre"] == "42"
			}},
		{"birth date in the extension", []patchOp{op("replace", schemaErhverv+":birthDate", "1986-06-18")},
			func(u *postgres.SCIMUser) bool { return u.BirthDate.Format(time.DateOnly) == "1986-06-18" }},
		{"core schema URN in the path", []patchOp{op("replace", schemaUser+":userName", "anna.berg@solbaer.example.dk")},
			func(u *postgres.SCIMUser) bool { return u.Email == "anna.berg@solbaer.example.dk" }},
	}
	for _, tc := range tests {
		u, err := patchUser(tc.ops...)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !tc.check(u) {
			t.Errorf("%s: got %+v", tc.name, u)
		}
	}
}

func TestUserPatchRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		ops      []patchOp
		scimType string
	}{
		{"unknown attribute", []patchOp{op("replace", "shoeSize", "44")}, "invalidPath"},
		{"unknown sub-attribute", []patchOp{op("replace", "name.nick", "A")}, "invalidPath"},
		{"unknown schema", []patchOp{op("replace", "urn:example:1.0:User:x", "A")}, "invalidPath"},
		{"not a path", []patchOp{op("replace", "name[", "A")}, "invalidPath"},
		{"filter on a single value", []patchOp{op("replace", `name[givenName eq "Anna"]`, "A")}, "invalidPath"},
		{"filter on an unknown sub-attribute", []patchOp{op("remove", `phoneNumbers[shoeSize eq "44"]`, nil)}, "invalidPath"},
		{"no value", []patchOp{op("add", "name.givenName", nil)}, "invalidValue"},
		{"remove without path", []patchOp{op("remove", "", map[string]any{"active": true})}, "noTarget"},
		{"no path, no object", []patchOp{op("replace", "", "x")}, "invalidValue"},
		{"complex attribute, no object", []patchOp{op("replace", "name", "Anna")}, "invalidValue"},
		{"no match and no equality", []patchOp{op("replace", `phoneNumbers[value sw "+46"].value`, "+4612345678")}, "noTarget"},
		{"no name left", []patchOp{op("remove", "name", nil)}, "invalidValue"},
		{"not a boolean", []patchOp{op("replace", "active", "perhaps")}, "invalidValue"},
		{"bad birth date", []patchOp{op("replace", schemaErhverv+":birthDate", "17.05.1985")}, "invalidValue"},
	}
	for _, tc := range tests {
		_, err := patchUser(tc.ops...)
		var se *scimError
		if !errors.As(err, &se) || se.scimType != tc.scimType {
			t.Errorf("%s: got %v, want scimType %s", tc.name, err, tc.scimType)
		}
	}
}

func TestGroupPatchOperations(t *testing.T) {
	t.Parallel()
	a, b, c := uuid.New(), uuid.New(), uuid.New()
	ref := func(ids ...uuid.UUID) []any {
		var out []any
		for _, id := range ids {
			out = append(out, map[string]any{"value": id.String(), "$ref": nil})
		}
		return out
	}
	tests := []struct {
		name                string
		ops                 []patchOp
		set                 bool
		add, remove         []uuid.UUID
		name2, externalID   string
		needsCurrentMembers bool
	}{
		{name: "add", ops: []patchOp{op("add", "members", ref(a, b))}, add: []uuid.UUID{a, b}},
		{name: "add one object", ops: []patchOp{op("Add", "members", map[string]any{"value": a.String()})}, add: []uuid.UUID{a}},
		{name: "add then remove", ops: []patchOp{op("add", "members", ref(a)), op("remove", "members", ref(a))}, remove: []uuid.UUID{a}},
		{name: "remove then add", ops: []patchOp{op("remove", `members[value eq "`+a.String()+`"]`, nil), op("add", "members", ref(a))}, add: []uuid.UUID{a}},
		{name: "remove by filter with or", ops: []patchOp{op("remove", `members[value eq "`+a.String()+`" or value eq "`+b.String()+`"]`, nil)},
			remove: []uuid.UUID{a, b}},
		{name: "remove an id that is no UUID", ops: []patchOp{op("remove", `members[value eq "Test_User_1"]`, nil), op("remove", "members", []any{map[string]any{"value": "x"}})}},
		{name: "replace", ops: []patchOp{op("replace", "members", ref(a, b)), op("remove", "members", ref(a)), op("add", "members", ref(c))},
			set: true, add: []uuid.UUID{b, c}},
		{name: "remove all", ops: []patchOp{op("remove", "members", nil)}, set: true},
		{name: "remove by display", ops: []patchOp{op("remove", `members[display co "ann"]`, nil)}, remove: []uuid.UUID{a}, needsCurrentMembers: true},
		{name: "Okta rename", ops: []patchOp{op("replace", "", map[string]any{"id": "x", "displayName": "Salg"})}, name2: "Salg"},
		{name: "externalId", ops: []patchOp{op("add", "externalId", "g-1")}, externalID: "g-1"},
	}
	for _, tc := range tests {
		loaded := false
		gp := &groupPatch{members: func() ([]postgres.SCIMMember, error) {
			loaded = true
			return []postgres.SCIMMember{{UserID: a, Display: "Anna Berg"}, {UserID: b, Display: "Bo Dahl"}}, nil
		}}
		for _, o := range tc.ops {
			if err := gp.apply(o); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
		}
		ch := gp.change
		if ch.SetMembers != tc.set || !slices.Equal(ch.Add, tc.add) || !slices.Equal(ch.Remove, tc.remove) || loaded != tc.needsCurrentMembers ||
			(tc.name2 != "" && (ch.Name == nil || *ch.Name != tc.name2)) || (tc.externalID != "" && (ch.ExternalID == nil || *ch.ExternalID != tc.externalID)) {
			t.Errorf("%s: got %+v (members read: %v)", tc.name, ch, loaded)
		}
	}
}
