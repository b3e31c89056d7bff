package scim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The requests below are shaped like those Okta sends when it provisions
// users (its SCIM 2.0 test sequence: lookup with startIndex and count,
// create with a password and a locale, full replace with PUT, deactivate
// with a PATCH without path) and pushes groups.

func TestOktaUserProvisioning(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	const userName = "test.user@okta.local"
	var list userList
	env.call(t, "GET", "/Users?filter="+url.QueryEscape(`userName eq "`+userName+`"`)+"&startIndex=1&count=100", nil, http.StatusOK, &list)
	if list.TotalResults != 0 || list.StartIndex != 1 || list.ItemsPerPage != 0 {
		t.Fatalf("lookup before create: got %+v", list)
	}

	var u userResource
	resp := env.call(t, "POST", "/Users", `{
		"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
		"userName": "`+userName+`",
		"name": {"givenName": "Test", "familyName": "User"},
		"emails": [{"primary": true, "value": "`+userName+`", "type": "work"}],
		"displayName": "Test User",
		"locale": "en-US",
		"externalId": "00ujl29u0le5T6Aj10h7",
		"groups": [],
		"password": "1mz050nq",
		"active": true,
		"urn:erhverv:scim:schemas:1.0:User": {"cpr": "2811791246"}
	}`, http.StatusCreated, &u)
	id := u.ID
	if strings.Contains(string(resp.body), "2811791246") || strings.Contains(string(resp.body), "1mz050nq") {
		t.Errorf("the created user's representation repeats the CPR number or the password: %s", resp.body)
	}
	if u.Erhverv == nil || u.Erhverv.BirthDate != "1979-11-28" || str(u.ExternalID) != "00ujl29u0le5T6Aj10h7" {
		t.Errorf("created user: got %+v, want the birth date from the CPR number and the externalId", u)
	}
	if sent := env.mail.to(userName); len(sent) != 1 || sent[0].Lang != "en" || sent[0].Data["NeedsCode"] != "" {
		t.Errorf("activation mail: got %+v, want one in English without a code (the person has a CPR number)", sent)
	}
	env.call(t, "GET", "/Users/"+id, nil, http.StatusOK, &u)

	put := `{
		"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
		"id": "` + id + `",
		"userName": "` + userName + `",
		"name": {"givenName": "Another", "familyName": "User"},
		"emails": [{"primary": true, "value": "` + userName + `", "type": "work"}],
		"active": true,
		"groups": [],
		"meta": {"resourceType": "User"},
		"urn:erhverv:scim:schemas:1.0:User": {"cpr": "2811791246"}
	}`
	env.call(t, "PUT", "/Users/"+id, put, http.StatusOK, &u)
	if u.Name.GivenName != "Another" || u.DisplayName != "Another User" || u.Erhverv.BirthDate != "1979-11-28" {
		t.Errorf("after PUT: got %+v", u)
	}
	resp = env.call(t, "PUT", "/Users/"+id, put, http.StatusOK, &u)
	if resp.header.Get("ETag") != `W/"2"` {
		t.Errorf("the same PUT again: got ETag %s, want W/\"2\" (no change)", resp.header.Get("ETag"))
	}

	env.activate(t, id)
	env.call(t, "PATCH", "/Users/"+id, patchOps(map[string]any{"op": "replace", "value": map[string]any{"active": false}}), http.StatusOK, &u)
	if *u.Active {
		t.Errorf("after deactivation: got active true")
	}
	env.call(t, "GET", "/Users?filter="+url.QueryEscape(`active eq false`)+"&startIndex=1&count=100", nil, http.StatusOK, &list)
	if list.TotalResults != 1 || list.Resources[0].ID != id {
		t.Errorf("deactivated users: got %+v", list)
	}
	// Okta changes passwords with PATCH; there are none here to change.
	env.call(t, "PATCH", "/Users/"+id, patchOps(map[string]any{"op": "replace", "value": map[string]any{"password": "t1meMa$heen"}}), http.StatusOK, nil)

	env.wantAudit(t, env.org, id, "user.created", "activation.issued", "user.updated", "user.deactivated")
}

func TestOktaGroupPush(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	anna := env.user(t, "anna@solbaer.example.dk", "Anna", "Berg")
	bo := env.user(t, "bo@solbaer.example.dk", "Bo", "Dahl")

	var list groupList
	env.call(t, "GET", "/Groups?filter="+url.QueryEscape(`displayName eq "Test SCIMv2"`)+"&startIndex=1&count=100", nil, http.StatusOK, &list)
	if list.TotalResults != 0 {
		t.Fatalf("lookup before create: got %+v", list)
	}
	var g groupResource
	env.call(t, "POST", "/Groups", map[string]any{"schemas": []string{schemaGroup}, "displayName": "Test SCIMv2", "members": []any{}}, http.StatusCreated, &g)
	id := g.ID

	members := func() []string {
		t.Helper()
		env.call(t, "GET", "/Groups/"+id, nil, http.StatusOK, &g)
		var ids []string
		for _, m := range g.Members {
			ids = append(ids, m.Value)
		}
		return ids
	}
	env.call(t, "PATCH", "/Groups/"+id, patchOps(map[string]any{"op": "replace", "value": map[string]any{"id": id, "displayName": "Test SCIMv2 (renamed)"}}),
		http.StatusNoContent, nil)
	env.call(t, "PATCH", "/Groups/"+id, patchOps(map[string]any{"op": "add", "path": "members", "value": []any{
		map[string]any{"value": anna.ID, "display": anna.UserName}, map[string]any{"value": bo.ID, "display": bo.UserName}}}), http.StatusNoContent, nil)
	if got := members(); len(got) != 2 || g.DisplayName != "Test SCIMv2 (renamed)" {
		t.Fatalf("after rename and add: got %q with %v", g.DisplayName, got)
	}
	env.call(t, "PATCH", "/Groups/"+id, patchOps(map[string]any{"op": "remove", "path": `members[value eq "` + anna.ID + `"]`}), http.StatusNoContent, nil)
	if got := members(); len(got) != 1 || got[0] != bo.ID {
		t.Fatalf("after remove: got %v, want Bo", got)
	}
	env.call(t, "PATCH", "/Groups/"+id, patchOps(map[string]any{"op": "replace", "path": "members", "value": []any{map[string]any{"value": anna.ID}}}),
		http.StatusNoContent, nil)
	if got := members(); len(got) != 1 || got[0] != anna.ID {
		t.Fatalf("after replace: got %v, want Anna", got)
	}
	env.call(t, "PUT", "/Groups/"+id, map[string]any{"schemas": []string{schemaGroup}, "id": id, "displayName": "Test SCIMv2",
		"members": []any{map[string]any{"value": bo.ID, "display": bo.UserName}}}, http.StatusOK, &g)
	if len(g.Members) != 1 || g.Members[0].Value != bo.ID || g.DisplayName != "Test SCIMv2" {
		t.Fatalf("after PUT: got %+v, want Bo in Test SCIMv2", g)
	}
	env.call(t, "DELETE", "/Groups/"+id, nil, http.StatusNoContent, nil)
	env.wantAudit(t, env.org, id, "group.created", "group.updated", "group.member_added", "group.member_added", "group.member_removed",
		"group.member_added", "group.member_removed", "group.updated", "group.member_added", "group.member_removed", "group.deleted")
}
