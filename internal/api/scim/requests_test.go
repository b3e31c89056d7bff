package scim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

func TestBadUserRequests(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	anna := env.user(t, "anna@solbaer.example.dk", "Anna", "Berg")
	env.call(t, "PATCH", "/Users/"+anna.ID, patchOps(map[string]any{"op": "add", "path": "externalId", "value": "ext-anna"}), http.StatusOK, nil)
	user := func(extra map[string]any) map[string]any {
		body := map[string]any{"schemas": []string{schemaUser}, "userName": "new@solbaer.example.dk",
			"name": map[string]string{"givenName": "Ny", "familyName": "Person"}, schemaErhverv: map[string]string{"birthDate": "1990-01-02"}}
		for k, v := range extra {
			if v == nil {
				delete(body, k)
			} else {
				body[k] = v
			}
		}
		return body
	}
	tests := []struct {
		name, method, path string
		body               any
		contentType        string
		status             int
		scimType, detail   string
	}{
		{"duplicate userName", "POST", "/Users", user(map[string]any{"userName": "ANNA@solbaer.example.dk"}), "", 409, "uniqueness", "userName"},
		{"duplicate externalId", "POST", "/Users", user(map[string]any{"externalId": "ext-anna"}), "", 409, "uniqueness", "externalId"},
		{"no CPR or birth date", "POST", "/Users", user(map[string]any{schemaErhverv: nil}), "", 400, "invalidValue", schemaErhverv + ":birthDate"},
		{"not an email", "POST", "/Users", user(map[string]any{"userName": "Test_User_ab64"}), "", 400, "invalidValue", "userName:"},
		{"no userName", "POST", "/Users", user(map[string]any{"userName": nil}), "", 400, "invalidValue", "userName"},
		{"no name", "POST", "/Users", user(map[string]any{"name": nil}), "", 400, "invalidValue", "name.givenName"},
		{"bad birth date", "POST", "/Users", user(map[string]any{schemaErhverv: map[string]string{"birthDate": "28-11-1979"}}), "", 400, "invalidValue", "YYYY-MM-DD"},
		{"bad CPR", "POST", "/Users", user(map[string]any{schemaErhverv: map[string]string{"cpr": "1234"}}), "", 400, "invalidValue", ":cpr"},
		{"bad phone", "POST", "/Users", user(map[string]any{"phoneNumbers": []map[string]string{{"value": "call me"}}}), "", 400, "invalidValue", "phoneNumbers"},
		{"created deactivated", "POST", "/Users", user(map[string]any{"active": false}), "", 400, "invalidValue", "active"},
		{"boolean as word", "POST", "/Users", user(map[string]any{"active": "yes"}), "", 400, "invalidValue", "boolean"},
		{"malformed JSON", "POST", "/Users", `{"schemas": [`, "", 400, "invalidSyntax", "malformed JSON"},
		{"wrong type", "POST", "/Users", user(map[string]any{"userName": 5}), "", 400, "invalidSyntax", "userName must be a string"},
		{"no schemas", "POST", "/Users", user(map[string]any{"schemas": nil}), "", 400, "invalidSyntax", schemaUser},
		{"not JSON", "POST", "/Users", "userName=x", "text/plain", 415, "", "application/scim+json"},
		{"too large", "POST", "/Users", `{"userName": "` + strings.Repeat("a", 1<<20) + `"}`, "", 413, "", "1 MiB"},
		{"unknown id", "GET", "/Users/8a1bb9a4-43a3-4d36-9d0d-0b8b7a1b8a77", nil, "", 404, "", "user"},
		{"id no UUID", "GET", "/Users/Test_User_1", nil, "", 404, "", "user"},
		{"unknown path", "PATCH", "/Users/" + anna.ID, patchOps(map[string]any{"op": "replace", "path": "shoeSize", "value": "44"}), "", 400, "invalidPath", "shoeSize"},
		{"unknown sub-attribute", "PATCH", "/Users/" + anna.ID, patchOps(map[string]any{"op": "replace", "path": "name.nickname", "value": "A"}), "", 400, "invalidPath", "nickname"},
		{"unknown schema", "PATCH", "/Users/" + anna.ID, patchOps(map[string]any{"op": "replace", "path": "urn:example:1.0:User:x", "value": "A"}), "", 400, "invalidPath", "urn:example"},
		{"path that does not parse", "PATCH", "/Users/" + anna.ID, patchOps(map[string]any{"op": "replace", "path": "name[", "value": "A"}), "", 400, "invalidPath", "name["},
		{"unknown op", "PATCH", "/Users/" + anna.ID, patchOps(map[string]any{"op": "move", "path": "active", "value": false}), "", 400, "invalidSyntax", "op"},
		{"no PatchOp schema", "PATCH", "/Users/" + anna.ID, map[string]any{"Operations": []any{map[string]any{"op": "replace", "path": "active", "value": true}}}, "", 400, "invalidSyntax", schemaPatchOp},
		{"no operations", "PATCH", "/Users/" + anna.ID, patchOps(), "", 400, "invalidSyntax", "Operations"},
		{"remove without path", "PATCH", "/Users/" + anna.ID, patchOps(map[string]any{"op": "remove", "value": map[string]any{"active": true}}), "", 400, "noTarget", "path"},
		{"add without value", "PATCH", "/Users/" + anna.ID, patchOps(map[string]any{"op": "add", "path": "name.givenName"}), "", 400, "invalidValue", "value"},
		{"no match", "PATCH", "/Users/" + anna.ID, patchOps(map[string]any{"op": "replace", "path": `phoneNumbers[value co "99"].value`, "value": "+4599999999"}), "", 400, "noTarget", "phoneNumbers"},
		{"empty given name", "PATCH", "/Users/" + anna.ID, patchOps(map[string]any{"op": "replace", "path": "name.givenName", "value": ""}), "", 400, "invalidValue", "name.givenName"},
		{"wrong type in PATCH", "PATCH", "/Users/" + anna.ID, patchOps(map[string]any{"op": "replace", "path": "userName", "value": []int{1}}), "", 400, "invalidValue", "userName"},
		{"deactivate pending user", "PATCH", "/Users/" + anna.ID, patchOps(map[string]any{"op": "replace", "path": "active", "value": "False"}), "", 400, "invalidValue", "delete it instead"},
		{"PUT without userName", "PUT", "/Users/" + anna.ID, map[string]any{"schemas": []string{schemaUser}}, "", 400, "invalidValue", "userName"},
	}
	for _, tc := range tests {
		hdr := []string{}
		if tc.contentType != "" {
			hdr = append(hdr, "Content-Type", tc.contentType)
		}
		e := wantError(t, tc.name, env.do(t, "org", tc.method, tc.path, tc.body, hdr...), tc.status, tc.scimType)
		if !strings.Contains(e.Detail, tc.detail) {
			t.Errorf("%s: got detail %q, want it to mention %q", tc.name, e.Detail, tc.detail)
		}
	}
	// None of it changed Anna (version 2: the externalId above).
	var got userResource
	env.call(t, "GET", "/Users/"+anna.ID, nil, http.StatusOK, &got)
	if got.Meta.Version != `W/"2"` || got.Name.GivenName != "Anna" || str(got.ExternalID) != "ext-anna" {
		t.Errorf("after refused requests: got %+v %+v, want Anna unchanged at version 2", got, got.Meta)
	}
	wantError(t, "no token", env.do(t, "nobody", "GET", "/Users", nil), http.StatusUnauthorized, "")
}

func TestWriteError(t *testing.T) {
	t.Parallel()
	gin.SetMode(gin.TestMode)
	rec := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(rec)
	WriteError(c, http.StatusTooManyRequests, "Slow down.")
	resp := &response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	if e := wantError(t, "WriteError", resp, http.StatusTooManyRequests, ""); e.Detail != "Slow down." || !c.IsAborted() ||
		rec.Header().Get("Content-Type") != contentType {
		t.Errorf("WriteError: got %+v, aborted %v, Content-Type %q", e, c.IsAborted(), rec.Header().Get("Content-Type"))
	}
}

func TestIfMatch(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	anna := env.user(t, "anna@solbaer.example.dk", "Anna", "Berg")
	rename := patchOps(map[string]any{"op": "replace", "path": "name.givenName", "value": "Annette"})
	wantError(t, "stale If-Match", env.do(t, "org", "PATCH", "/Users/"+anna.ID, rename, "If-Match", `W/"7"`), http.StatusPreconditionFailed, "")
	resp := env.call(t, "PATCH", "/Users/"+anna.ID, rename, http.StatusOK, nil, "If-Match", `W/"1"`)
	if resp.header.Get("ETag") != `W/"2"` {
		t.Errorf("after PATCH with If-Match: got ETag %s, want W/\"2\"", resp.header.Get("ETag"))
	}
	put := map[string]any{"schemas": []string{schemaUser}, "userName": "anna@solbaer.example.dk", "name": map[string]string{"givenName": "Anna", "familyName": "Berg"}}
	wantError(t, "stale PUT", env.do(t, "org", "PUT", "/Users/"+anna.ID, put, "If-Match", `W/"1"`), http.StatusPreconditionFailed, "")
	env.call(t, "PUT", "/Users/"+anna.ID, put, http.StatusOK, nil, "If-Match", `"2", W/"3"`)
	wantError(t, "stale DELETE", env.do(t, "org", "DELETE", "/Users/"+anna.ID, nil, "If-Match", `W/"2"`), http.StatusPreconditionFailed, "")
	if r := env.do(t, "org", "GET", "/Users/"+anna.ID, nil, "If-None-Match", `W/"3"`); r.status != http.StatusNotModified || len(r.body) != 0 {
		t.Errorf("GET with current If-None-Match: got %d %s, want 304", r.status, r.body)
	}
	env.call(t, "GET", "/Users/"+anna.ID, nil, http.StatusOK, nil, "If-None-Match", `W/"2"`)
	env.call(t, "DELETE", "/Users/"+anna.ID, nil, http.StatusNoContent, nil, "If-Match", "*")
}

func TestBadGroupRequests(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	anna := env.user(t, "anna@solbaer.example.dk", "Anna", "Berg")
	var g groupResource
	env.call(t, "POST", "/Groups", map[string]any{"schemas": []string{schemaGroup}, "displayName": "Salg", "externalId": "g-salg",
		"members": []any{map[string]any{"value": anna.ID}}}, http.StatusCreated, &g)
	group := func(name string, members ...any) map[string]any {
		return map[string]any{"schemas": []string{schemaGroup}, "displayName": name, "members": members}
	}
	path := "/Groups/" + g.ID
	tests := []struct {
		name, method, path string
		body               any
		status             int
		scimType, detail   string
	}{
		{"duplicate name", "POST", "/Groups", group("SALG"), 409, "uniqueness", "displayName"},
		{"duplicate externalId", "POST", "/Groups", map[string]any{"schemas": []string{schemaGroup}, "displayName": "Nord", "externalId": "g-salg"}, 409, "uniqueness", "externalId"},
		{"no name", "POST", "/Groups", group(" "), 400, "invalidValue", "displayName"},
		{"name too long", "POST", "/Groups", group(strings.Repeat("x", 101)), 400, "invalidValue", "displayName"},
		{"member no UUID", "POST", "/Groups", group("Nord", map[string]any{"value": "Test_User_1"}), 400, "invalidValue", "members"},
		{"member unknown", "POST", "/Groups", group("Nord", map[string]any{"value": "8a1bb9a4-43a3-4d36-9d0d-0b8b7a1b8a77"}), 400, "invalidValue", "8a1bb9a4"},
		{"no schemas", "POST", "/Groups", map[string]any{"displayName": "Nord"}, 400, "invalidSyntax", schemaGroup},
		{"unknown group", "PATCH", "/Groups/8a1bb9a4-43a3-4d36-9d0d-0b8b7a1b8a77", patchOps(map[string]any{"op": "remove", "path": "members"}), 404, "", "group"},
		{"remove displayName", "PATCH", path, patchOps(map[string]any{"op": "remove", "path": "displayName"}), 400, "invalidValue", "displayName"},
		{"displayName not a string", "PATCH", path, patchOps(map[string]any{"op": "replace", "path": "displayName", "value": 5}), 400, "invalidValue", "string"},
		{"members sub-attribute", "PATCH", path, patchOps(map[string]any{"op": "replace", "path": "members.value", "value": anna.ID}), 400, "invalidPath", "members"},
		{"add by filter", "PATCH", path, patchOps(map[string]any{"op": "add", "path": `members[value eq "` + anna.ID + `"]`, "value": map[string]any{}}), 400, "invalidPath", "filter"},
		{"unknown attribute", "PATCH", path, patchOps(map[string]any{"op": "replace", "path": "owner", "value": "x"}), 400, "invalidPath", "owner"},
		{"add unknown member", "PATCH", path, patchOps(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": "8a1bb9a4-43a3-4d36-9d0d-0b8b7a1b8a77"}}}), 400, "invalidValue", "8a1bb9a4"},
		{"bad member filter", "PATCH", path, patchOps(map[string]any{"op": "remove", "path": `members[shoeSize eq "44"]`}), 400, "invalidPath", "shoeSize"},
	}
	for _, tc := range tests {
		e := wantError(t, tc.name, env.do(t, "org", tc.method, tc.path, tc.body), tc.status, tc.scimType)
		if !strings.Contains(e.Detail, tc.detail) {
			t.Errorf("%s: got detail %q, want it to mention %q", tc.name, e.Detail, tc.detail)
		}
	}
	// A PATCH is all or nothing: the rename before the unknown member is
	// not saved either.
	wantError(t, "rename and bad member", env.do(t, "org", "PATCH", path, patchOps(
		map[string]any{"op": "replace", "path": "displayName", "value": "Salg og marketing"},
		map[string]any{"op": "remove", "path": "members"},
		map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": "8a1bb9a4-43a3-4d36-9d0d-0b8b7a1b8a77"}}},
	)), http.StatusBadRequest, "invalidValue")
	env.call(t, "GET", path, nil, http.StatusOK, &g)
	if g.DisplayName != "Salg" || len(g.Members) != 1 || g.Members[0].Value != anna.ID {
		t.Errorf("after refused PATCH: got %+v, want Salg with Anna", g)
	}
	// Removing someone who is no member, or by a filter that matches no one, is no change.
	env.call(t, "PATCH", path, patchOps(map[string]any{"op": "remove", "path": `members[display co "Zorro"]`},
		map[string]any{"op": "remove", "path": `members[value eq "Test_User_1"]`}), http.StatusNoContent, nil)
	env.call(t, "PATCH", path+"?attributes=members", patchOps(map[string]any{"op": "remove", "path": `members[display sw "anna"]`}), http.StatusOK, &g)
	if len(g.Members) != 0 {
		t.Errorf("after removing by display: got %+v, want no members", g.Members)
	}
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	anna := env.user(t, "anna@solbaer.example.dk", "Anna", "Berg")
	var g groupResource
	env.call(t, "POST", "/Groups", map[string]any{"schemas": []string{schemaGroup}, "displayName": "Salg"}, http.StatusCreated, &g)
	put := map[string]any{"schemas": []string{schemaUser}, "userName": "x@anden.example.dk", "name": map[string]string{"givenName": "X", "familyName": "Y"}}
	for _, r := range []struct{ method, path string }{
		{"GET", "/Users/" + anna.ID}, {"PUT", "/Users/" + anna.ID}, {"PATCH", "/Users/" + anna.ID}, {"DELETE", "/Users/" + anna.ID},
		{"GET", "/Groups/" + g.ID}, {"PUT", "/Groups/" + g.ID}, {"PATCH", "/Groups/" + g.ID}, {"DELETE", "/Groups/" + g.ID},
	} {
		var body any
		switch {
		case r.method == "PATCH":
			body = patchOps(map[string]any{"op": "replace", "path": "displayName", "value": "Taken over"})
		case r.method == "PUT" && strings.HasPrefix(r.path, "/Users"):
			body = put
		case r.method == "PUT":
			body = map[string]any{"schemas": []string{schemaGroup}, "displayName": "Taken over", "members": []any{}}
		}
		wantError(t, "another organisation's "+r.method+" "+r.path, env.do(t, "other", r.method, r.path, body), http.StatusNotFound, "")
	}
	if resp := env.do(t, "other", "GET", "/Users?filter=id%20eq%20%22"+anna.ID+"%22", nil); resp.status != 200 || totalOf(t, resp) != 0 {
		t.Errorf("another organisation's lookup by id: got %s, want nothing", resp.body)
	}
	if resp := env.do(t, "other", "GET", "/Groups", nil); resp.status != 200 || totalOf(t, resp) != 0 {
		t.Errorf("another organisation's group list: got %s, want nothing", resp.body)
	}
	// Nor can the other organisation make Anna a member of its own group.
	resp := env.do(t, "other", "POST", "/Groups", map[string]any{"schemas": []string{schemaGroup}, "displayName": "Kapring",
		"members": []any{map[string]any{"value": anna.ID}}})
	wantError(t, "another organisation's user as member", resp, http.StatusBadRequest, "invalidValue")

	env.call(t, "GET", "/Groups/"+g.ID, nil, http.StatusOK, &g)
	var got userResource
	env.call(t, "GET", "/Users/"+anna.ID, nil, http.StatusOK, &got)
	if g.DisplayName != "Salg" || got.Meta.Version != `W/"1"` {
		t.Errorf("after the other organisation's attempts: got group %q, user version %s", g.DisplayName, got.Meta.Version)
	}
	if events := env.audit(t, env.other); len(events) != 0 {
		t.Errorf("the other organisation's audit log: got %d events, want none", len(events))
	}
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	var spc map[string]any
	env.call(t, "GET", "/ServiceProviderConfig", nil, http.StatusOK, &spc)
	if spc["patch"].(map[string]any)["supported"] != true || spc["bulk"].(map[string]any)["supported"] != false ||
		spc["filter"].(map[string]any)["maxResults"] != float64(maxResults) || spc["etag"].(map[string]any)["supported"] != true {
		t.Errorf("ServiceProviderConfig: got %v", spc)
	}
	var types struct {
		TotalResults int
		Resources    []resourceTypeOut
	}
	env.call(t, "GET", "/ResourceTypes", nil, http.StatusOK, &types)
	if types.TotalResults != 2 || types.Resources[0].Endpoint != "/Users" || len(types.Resources[0].SchemaExtensions) != 2 || types.Resources[1].Schema != schemaGroup {
		t.Errorf("ResourceTypes: got %+v", types)
	}
	var rt resourceTypeOut
	env.call(t, "GET", "/ResourceTypes/Group", nil, http.StatusOK, &rt)
	if rt.Endpoint != "/Groups" || rt.Meta.Location != env.base+"/ResourceTypes/Group" {
		t.Errorf("ResourceTypes/Group: got %+v", rt)
	}
	var schemas struct {
		TotalResults int
		Resources    []schemaOut
	}
	env.call(t, "GET", "/Schemas", nil, http.StatusOK, &schemas)
	if schemas.TotalResults != 4 {
		t.Errorf("Schemas: got %d, want 4", schemas.TotalResults)
	}
	var user schemaOut
	env.call(t, "GET", "/Schemas/"+schemaUser, nil, http.StatusOK, &user)
	var names []string
	for _, a := range user.Attributes {
		names = append(names, a.Name)
	}
	if got := strings.Join(names, ","); got != "userName,name,displayName,emails,phoneNumbers,active,preferredLanguage" {
		t.Errorf("User schema attributes: got %s", got)
	}
	if u := user.Attributes[0]; u.Uniqueness != "server" || !u.Required || u.CaseExact {
		t.Errorf("userName: got %+v", u)
	}
	var erhverv schemaOut
	env.call(t, "GET", "/Schemas/"+schemaErhverv, nil, http.StatusOK, &erhverv)
	if len(erhverv.Attributes) != 2 || erhverv.Attributes[1].Name != "cpr" || erhverv.Attributes[1].Returned != "never" {
		t.Errorf("erhverv schema: got %+v", erhverv.Attributes)
	}
	wantError(t, "unknown schema", env.do(t, "org", "GET", "/Schemas/urn:example:nothing", nil), http.StatusNotFound, "")
	wantError(t, "unknown resource type", env.do(t, "org", "GET", "/ResourceTypes/Printer", nil), http.StatusNotFound, "")
}

func TestPutKeepsWhatItOmits(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	var u userResource
	env.call(t, "POST", "/Users", map[string]any{"schemas": []string{schemaUser}, "userName": "anna@solbaer.example.dk", "externalId": "ext-anna",
		"name": map[string]string{"givenName": "Anna", "familyName": "Berg"}, "phoneNumbers": []map[string]string{{"value": "+4511223344"}},
		schemaEnterprise: map[string]string{"department": "Salg"}, schemaErhverv: map[string]string{"birthDate": "1985-05-17"}}, http.StatusCreated, &u)
	env.activate(t, u.ID)
	env.call(t, "PATCH", "/Users/"+u.ID, patchOps(map[string]any{"op": "replace", "path": "active", "value": false}), http.StatusOK, nil)
	id := u.ID
	u = userResource{} // a fresh value: absent attributes must not keep old ones
	env.call(t, "PUT", "/Users/"+id, map[string]any{"schemas": []string{schemaUser}, "userName": "anna@solbaer.example.dk",
		"name": map[string]string{"givenName": "Anna", "familyName": "Holm"}}, http.StatusOK, &u)
	if u.Name.FamilyName != "Holm" || len(u.PhoneNumbers) != 0 || *u.Active || str(u.ExternalID) != "ext-anna" ||
		u.Enterprise == nil || u.Enterprise.Department != "Salg" || u.Erhverv.BirthDate != "1985-05-17" {
		t.Errorf("after a PUT of userName and name: got %+v, want the new name, no phone, and the rest kept", u)
	}
}

func TestLastOrganisationAdministrator(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	admin := env.user(t, "admin@solbaer.example.dk", "Rikke", "Brandt")
	env.activate(t, admin.ID)
	role := &domain.AdminRole{OrgID: env.org.ID, UserID: uuid.MustParse(admin.ID), Role: "org_admin"}
	if err := postgres.NewAdminRoleService(env.db).AssignAdminRole(context.Background(), role); err != nil {
		t.Fatal(err)
	}
	deactivate := patchOps(map[string]any{"op": "replace", "path": "active", "value": false})
	wantError(t, "deactivate the last administrator", env.do(t, "org", "PATCH", "/Users/"+admin.ID, deactivate), http.StatusConflict, "")
	wantError(t, "delete the last administrator", env.do(t, "org", "DELETE", "/Users/"+admin.ID, nil), http.StatusConflict, "")
	var got userResource
	env.call(t, "GET", "/Users/"+admin.ID, nil, http.StatusOK, &got)
	if !*got.Active {
		t.Errorf("the last administrator: got active false, want still active")
	}
}
