package scim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// The requests below are shaped like those Microsoft Entra ID sends when it
// provisions users and groups (its SCIM validator's sequence): the
// lookup by userName, the create with every mapped attribute, PATCH with
// capitalised op names, value filters and booleans as strings, and group
// membership changes with the members listed in the value.

func TestEntraUserProvisioning(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	const upn = "jens.hansen@solbaer.example.dk"
	byName := "/Users?filter=" + url.QueryEscape(`userName eq "`+upn+`"`)

	var list userList
	env.call(t, "GET", byName, nil, http.StatusOK, &list)
	if list.TotalResults != 0 || len(list.Resources) != 0 || list.StartIndex != 1 || !slices.Equal(list.Schemas, []string{schemaListResponse}) {
		t.Fatalf("lookup before create: got %+v, want an empty list response", list)
	}

	var created userResource
	resp := env.call(t, "POST", "/Users", `{
		"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
			"urn:erhverv:scim:schemas:1.0:User"],
		"externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
		"userName": "`+upn+`",
		"active": true,
		"displayName": "Jens Hansen",
		"emails": [{"primary": true, "type": "work", "value": "`+upn+`"}],
		"meta": {"resourceType": "User"},
		"name": {"formatted": "Jens Hansen", "familyName": "Hansen", "givenName": "Jens"},
		"phoneNumbers": [{"type": "mobile", "value": "+45 20 30 40 50"}],
		"preferredLanguage": "en-US",
		"title": "Bogholder",
		"roles": [],
		"addresses": [{"type": "work", "locality": "Aarhus"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "1042", "department": "Økonomi",
			"manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}},
		"urn:erhverv:scim:schemas:1.0:User": {"birthDate": "1979-11-28"}
	}`, http.StatusCreated, &created)
	id := created.ID
	if created.UserName != upn || created.Name == nil || created.Name.GivenName != "Jens" || created.Name.FamilyName != "Hansen" ||
		created.DisplayName != "Jens Hansen" || str(created.ExternalID) != "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef" ||
		created.Active == nil || !bool(*created.Active) || len(created.PhoneNumbers) != 1 || created.PhoneNumbers[0].Value != "+4520304050" ||
		created.Enterprise == nil || created.Enterprise.EmployeeNumber != "1042" || created.Enterprise.Department != "Økonomi" ||
		created.Erhverv == nil || created.Erhverv.BirthDate != "1979-11-28" {
		t.Errorf("created user: got %+v", created)
	}
	if loc := resp.header.Get("Location"); loc != env.base+"/Users/"+id || created.Meta == nil || created.Meta.Location != loc ||
		created.Meta.Version != `W/"1"` || resp.header.Get("ETag") != `W/"1"` || created.Meta.ResourceType != "User" {
		t.Errorf("created user: got Location %q ETag %q meta %+v", loc, resp.header.Get("ETag"), created.Meta)
	}
	if sent := env.mail.to(upn); len(sent) != 1 || sent[0].Template != "activation" || sent[0].Lang != "en" {
		t.Errorf("activation mail: got %+v, want one activation mail in English", sent)
	}

	// Entra finds the user again by userName, whatever the case.
	env.call(t, "GET", "/Users?filter="+url.QueryEscape(`userName eq "Jens.Hansen@Solbaer.example.dk"`), nil, http.StatusOK, &list)
	if list.TotalResults != 1 || len(list.Resources) != 1 || list.Resources[0].ID != id {
		t.Fatalf("lookup after create: got %+v, want the user", list)
	}
	var got userResource
	env.call(t, "GET", "/Users/"+id, nil, http.StatusOK, &got)
	if got.ID != id || got.UserName != upn {
		t.Errorf("GET user: got %+v", got)
	}

	update := patchOps(
		map[string]any{"op": "Replace", "path": `emails[type eq "work"].value`, "value": upn},
		map[string]any{"op": "Replace", "path": "name.familyName", "value": "Hansen-Berg"},
		map[string]any{"op": "Add", "path": `phoneNumbers[type eq "work"].value`, "value": "+45 33 44 55 66"},
		map[string]any{"op": "Replace", "path": schemaEnterprise + ":department", "value": "Salg"},
		map[string]any{"op": "Add", "path": "title", "value": "Sælger"},
		map[string]any{"op": "Replace", "path": "displayName", "value": "Jens Hansen-Berg"},
		map[string]any{"op": "Add", "path": "manager", "value": []any{map[string]any{"$ref": nil, "value": "Test_User_1"}}},
	)
	resp = env.call(t, "PATCH", "/Users/"+id, update, http.StatusOK, &got)
	if got.Name.FamilyName != "Hansen-Berg" || got.DisplayName != "Jens Hansen-Berg" || got.PhoneNumbers[0].Value != "+4533445566" ||
		got.Enterprise.Department != "Salg" || got.Enterprise.EmployeeNumber != "1042" || resp.header.Get("ETag") != `W/"2"` {
		t.Errorf("after PATCH: got %+v ETag %s", got, resp.header.Get("ETag"))
	}
	// The same PATCH again changes nothing, and audits nothing.
	resp = env.call(t, "PATCH", "/Users/"+id, update, http.StatusOK, &got)
	if resp.header.Get("ETag") != `W/"2"` {
		t.Errorf("repeated PATCH: got ETag %s, want W/\"2\"", resp.header.Get("ETag"))
	}

	env.activate(t, id) // the person activates from the mail
	env.call(t, "PATCH", "/Users/"+id, patchOps(map[string]any{"op": "Replace", "path": "active", "value": "False"}), http.StatusOK, &got)
	if *got.Active {
		t.Errorf("after active False: got active true")
	}
	env.call(t, "PATCH", "/Users/"+id, patchOps(map[string]any{"op": "Replace", "value": map[string]any{"active": "True"}}), http.StatusOK, &got)
	if !*got.Active {
		t.Errorf("after active True: got active false")
	}

	env.call(t, "DELETE", "/Users/"+id, nil, http.StatusNoContent, nil)
	wantError(t, "GET deleted user", env.do(t, "org", "GET", "/Users/"+id, nil), http.StatusNotFound, "")
	env.call(t, "GET", byName, nil, http.StatusOK, &list)
	if list.TotalResults != 0 {
		t.Errorf("lookup after delete: got %d users, want 0", list.TotalResults)
	}
	env.wantAudit(t, env.org, id, "user.created", "activation.issued", "user.updated", "user.deactivated", "user.reactivated", "user.deleted")
	updates := 0
	for _, ev := range env.audit(t, env.org) {
		if ev.TargetID == id && ev.Action == "user.updated" {
			updates++
		}
	}
	if updates != 1 {
		t.Errorf("got %d user.updated events, want 1 (a PATCH that changes nothing is not audited)", updates)
	}

	// Deleting frees the userName and the externalId for the person's return.
	env.call(t, "POST", "/Users", map[string]any{"schemas": []string{schemaUser}, "userName": upn, "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
		"name": map[string]string{"givenName": "Jens", "familyName": "Hansen"}, schemaErhverv: map[string]string{"birthDate": "1979-11-28"}},
		http.StatusCreated, &got)
	if got.ID == id {
		t.Errorf("the returning person got the deleted user's id %s", id)
	}
}

func TestEntraGroupProvisioning(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	anna := env.user(t, "anna@solbaer.example.dk", "Anna", "Berg")
	bo := env.user(t, "bo@solbaer.example.dk", "Bo", "Dahl")

	var list groupList
	env.call(t, "GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(`displayName eq "Bogholderi"`), nil, http.StatusOK, &list)
	if list.TotalResults != 0 {
		t.Fatalf("lookup before create: got %+v", list)
	}
	var g groupResource
	resp := env.call(t, "POST", "/Groups", `{
		"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
		"externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
		"displayName": "Bogholderi",
		"meta": {"resourceType": "Group"}
	}`, http.StatusCreated, &g)
	id := g.ID
	if g.DisplayName != "Bogholderi" || str(g.ExternalID) != "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159" || g.Members == nil || len(g.Members) != 0 ||
		resp.header.Get("Location") != env.base+"/Groups/"+id {
		t.Errorf("created group: got %+v Location %q", g, resp.header.Get("Location"))
	}

	var raw map[string]any
	env.call(t, "GET", "/Groups/"+id+"?excludedAttributes=members", nil, http.StatusOK, &raw)
	if _, has := raw["members"]; has || raw["id"] != id || raw["displayName"] != "Bogholderi" {
		t.Errorf("GET with excludedAttributes=members: got %v", raw)
	}
	var rawList struct{ Resources []map[string]any }
	env.call(t, "GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(`displayName eq "bogholderi"`), nil, http.StatusOK, &rawList)
	if len(rawList.Resources) != 1 || rawList.Resources[0]["id"] != id {
		t.Fatalf("lookup by displayName: got %v", rawList)
	}
	if _, has := rawList.Resources[0]["members"]; has {
		t.Errorf("lookup with excludedAttributes=members: got members")
	}

	env.call(t, "PATCH", "/Groups/"+id, patchOps(map[string]any{"op": "Replace", "path": "displayName", "value": "Bogholderiet"}), http.StatusNoContent, nil)
	env.call(t, "PATCH", "/Groups/"+id, patchOps(map[string]any{"op": "Add", "path": "members", "value": []any{
		map[string]any{"$ref": nil, "value": anna.ID}, map[string]any{"$ref": nil, "value": bo.ID}}}), http.StatusNoContent, nil)

	isMember := func(user string) bool {
		t.Helper()
		f := url.QueryEscape(`id eq "` + id + `" and members.value eq "` + user + `"`)
		env.call(t, "GET", "/Groups?excludedAttributes=members&filter="+f, nil, http.StatusOK, &list)
		return list.TotalResults == 1
	}
	if !isMember(anna.ID) || !isMember(bo.ID) {
		t.Fatalf("after adding members: Anna %v, Bo %v, want both", isMember(anna.ID), isMember(bo.ID))
	}
	env.call(t, "GET", "/Groups/"+id, nil, http.StatusOK, &g)
	if g.DisplayName != "Bogholderiet" || len(g.Members) != 2 || g.Members[0].Value != anna.ID || g.Members[0].Display != "Anna Berg" ||
		g.Members[0].Ref != env.base+"/Users/"+anna.ID {
		t.Errorf("group after PATCH: got %+v", g)
	}

	env.call(t, "PATCH", "/Groups/"+id, patchOps(map[string]any{"op": "Remove", "path": `members[value eq "` + anna.ID + `"]`}), http.StatusNoContent, nil)
	env.call(t, "PATCH", "/Groups/"+id, patchOps(map[string]any{"op": "Remove", "path": "members",
		"value": []any{map[string]any{"$ref": nil, "value": bo.ID}}}), http.StatusNoContent, nil)
	if isMember(anna.ID) || isMember(bo.ID) {
		t.Errorf("after removing members: Anna %v, Bo %v, want neither", isMember(anna.ID), isMember(bo.ID))
	}
	env.call(t, "GET", "/Groups/"+id, nil, http.StatusOK, &g)
	if len(g.Members) != 0 {
		t.Errorf("members after removal: got %+v, want none", g.Members)
	}

	env.call(t, "DELETE", "/Groups/"+id, nil, http.StatusNoContent, nil)
	wantError(t, "GET deleted group", env.do(t, "org", "GET", "/Groups/"+id, nil), http.StatusNotFound, "")
	env.wantAudit(t, env.org, id, "group.created", "group.updated", "group.member_added", "group.member_added",
		"group.member_removed", "group.member_removed", "group.deleted")
}

// decodeMap decodes a JSON body into a generic map, for checks of which
// attributes are present.
func decodeMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return m
}
