package scim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// filterUsers sets up four living users and one deleted one:
// Anna Berg, Carl Berg (deactivated, another domain), Bo Dahl and
// Eva Holm-Hansen, in the order lists sort them.
func filterUsers(t *testing.T, env *testEnv) map[string]userResource {
	t.Helper()
	users := map[string]userResource{}
	create := func(key string, body map[string]any) {
		t.Helper()
		body["schemas"] = []string{schemaUser}
		if body[schemaErhverv] == nil {
			body[schemaErhverv] = map[string]string{"birthDate": "1990-01-02"}
		}
		var u userResource
		env.call(t, "POST", "/Users", body, http.StatusCreated, &u)
		users[key] = u
	}
	name := func(given, family string) map[string]string {
		return map[string]string{"givenName": given, "familyName": family}
	}
	create("anna", map[string]any{"userName": "anna@solbaer.example.dk", "name": name("Anna", "Berg"), "externalId": "ext-anna",
		schemaEnterprise: map[string]string{"employeeNumber": "7", "department": "Salg"}})
	create("bo", map[string]any{"userName": "bo@solbaer.example.dk", "name": name("Bo", "Dahl"), "externalId": "ext-bo",
		"phoneNumbers": []map[string]string{{"value": "+45 11 22 33 44", "type": "work"}}})
	create("carl", map[string]any{"userName": "carl@partner.example.com", "name": name("Carl", "Berg")})
	create("eva", map[string]any{"userName": "eva_h@solbaer.example.dk", "name": name("Eva", "Holm-Hansen")})
	create("dorte", map[string]any{"userName": "dorte@solbaer.example.dk", "name": name("Dorte", "Berg"), "externalId": "ext-dorte"})
	env.activate(t, users["carl"].ID)
	env.call(t, "PATCH", "/Users/"+users["carl"].ID, patchOps(map[string]any{"op": "replace", "path": "active", "value": false}), http.StatusOK, nil)
	env.call(t, "DELETE", "/Users/"+users["dorte"].ID, nil, http.StatusNoContent, nil)
	return users
}

func TestUserFilters(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	users := filterUsers(t, env)
	tests := []struct {
		filter string
		want   []string
	}{
		{`userName eq "ANNA@solbaer.example.dk"`, []string{"anna"}},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bo@solbaer.example.dk"`, []string{"bo"}},
		{`userName co "solbaer"`, []string{"anna", "bo", "eva"}},
		{`userName sw "b_"`, nil}, // _ is no wildcard
		{`userName co "a_h"`, []string{"eva"}},
		{`userName ew "partner.example.com"`, []string{"carl"}},
		{`name.familyName eq "berg"`, []string{"anna", "carl"}},
		{`name.givenName sw "A" or name.givenName sw "B"`, []string{"anna", "bo"}},
		{`name.familyName eq "Berg" and active eq true`, []string{"anna"}},
		{`userName ne "anna@solbaer.example.dk" and name.familyName eq "Berg"`, []string{"carl"}},
		{`(name.givenName eq "Eva" or name.givenName eq "Bo") and not (phoneNumbers pr)`, []string{"eva"}},
		{`active eq false`, []string{"carl"}},
		{`active eq "False"`, []string{"carl"}},
		{`externalId eq "ext-bo"`, []string{"bo"}},
		{`externalId eq "EXT-BO"`, nil}, // externalId is case-exact
		{`externalId pr`, []string{"anna", "bo"}},
		{`not (externalId pr)`, []string{"carl", "eva"}},
		{`emails.value co "partner"`, []string{"carl"}},
		{`emails[type eq "work" and value co "partner"]`, []string{"carl"}},
		{`emails[type eq "home"]`, nil},
		{`phoneNumbers.value eq "+4511223344"`, []string{"bo"}},
		{`displayName co "holm"`, []string{"eva"}},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "salg"`, []string{"anna"}},
		{`id eq "` + users["bo"].ID + `"`, []string{"bo"}},
		{`id eq "` + users["dorte"].ID + `"`, nil},
		{`id eq "not-a-uuid"`, nil},
		{`meta.created gt "2000-01-01T00:00:00Z"`, []string{"anna", "carl", "bo", "eva"}},
		{`meta.lastModified lt "2000-01-01T00:00:00Z"`, nil},
	}
	for _, tc := range tests {
		var list userList
		env.call(t, "GET", "/Users?filter="+url.QueryEscape(tc.filter), nil, http.StatusOK, &list)
		var got []string
		for _, u := range list.Resources {
			got = append(got, strings.Split(u.UserName, "@")[0])
		}
		want := slices.Clone(tc.want)
		for i, w := range want {
			want[i] = strings.Split(users[w].UserName, "@")[0]
		}
		if !slices.Equal(got, want) || list.TotalResults != len(want) {
			t.Errorf("filter %s: got %v (total %d), want %v", tc.filter, got, list.TotalResults, want)
		}
	}
}

func TestBadFilters(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	for _, path := range []string{
		"/Users?filter=" + url.QueryEscape(`userName eq`),
		"/Users?filter=" + url.QueryEscape(`userName eq "x" and`),
		"/Users?filter=" + url.QueryEscape(`userName = "x"`),
		"/Users?filter=" + url.QueryEscape(`title eq "Boss"`),
		"/Users?filter=" + url.QueryEscape(`urn:example:ext:1.0:User:shoeSize eq "44"`),
		"/Users?filter=" + url.QueryEscape(`active co "t"`),
		"/Users?filter=" + url.QueryEscape(`userName eq true`),
		"/Users?filter=" + url.QueryEscape(`meta.created gt "yesterday"`),
		"/Users?filter=" + url.QueryEscape(`emails[value eq "a" and phoneNumbers[value eq "b"]]`),
		"/Groups?filter=" + url.QueryEscape(`members.display eq "Anna"`),
		"/Groups?filter=" + url.QueryEscape(`userName eq "x"`),
	} {
		wantError(t, path, env.do(t, "org", "GET", path, nil), http.StatusBadRequest, "invalidFilter")
	}
}

func TestUserPagination(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	filterUsers(t, env)
	tests := []struct {
		query                    string
		total, start, items      int
		first                    string
		wantStatus               int
		wantScimType, wantDetail string
	}{
		{query: "count=3", total: 4, start: 1, items: 3, first: "anna@solbaer.example.dk"},
		{query: "startIndex=4&count=3", total: 4, start: 4, items: 1, first: "eva_h@solbaer.example.dk"},
		{query: "startIndex=2&count=2", total: 4, start: 2, items: 2, first: "carl@partner.example.com"},
		{query: "startIndex=9", total: 4, start: 9, items: 0},
		{query: "count=0", total: 4, start: 1, items: 0},
		{query: "startIndex=0&count=-5", total: 4, start: 1, items: 0},
		{query: "count=1000", total: 4, start: 1, items: 4, first: "anna@solbaer.example.dk"},
		{query: "filter=" + url.QueryEscape(`name.familyName eq "Berg"`) + "&startIndex=2&count=1", total: 2, start: 2, items: 1, first: "carl@partner.example.com"},
	}
	for _, tc := range tests {
		var list userList
		env.call(t, "GET", "/Users?"+tc.query, nil, http.StatusOK, &list)
		if list.TotalResults != tc.total || list.StartIndex != tc.start || list.ItemsPerPage != tc.items || len(list.Resources) != tc.items ||
			(tc.first != "" && list.Resources[0].UserName != tc.first) {
			t.Errorf("%s: got total %d start %d items %d/%d, want %d %d %d first %s", tc.query, list.TotalResults, list.StartIndex,
				list.ItemsPerPage, len(list.Resources), tc.total, tc.start, tc.items, tc.first)
		}
	}
	wantError(t, "count=many", env.do(t, "org", "GET", "/Users?count=many", nil), http.StatusBadRequest, "invalidValue")
}

func TestUserAttributesParameter(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	u := env.user(t, "anna@solbaer.example.dk", "Anna", "Berg")
	resp := env.call(t, "GET", "/Users/"+u.ID+"?attributes=userName,name.givenName", nil, http.StatusOK, nil)
	m := decodeMap(t, resp.body)
	if _, has := m["emails"]; has || m["userName"] != "anna@solbaer.example.dk" || m["name"] == nil || m["id"] != u.ID {
		t.Errorf("attributes=userName,name.givenName: got %v", m)
	}
	resp = env.call(t, "GET", "/Users?excludedAttributes=emails,meta", nil, http.StatusOK, nil)
	var list struct{ Resources []map[string]any }
	if err := json.Unmarshal(resp.body, &list); err != nil || len(list.Resources) != 1 {
		t.Fatalf("list: %v %s", err, resp.body)
	}
	if _, has := list.Resources[0]["emails"]; has || list.Resources[0]["meta"] != nil || list.Resources[0]["userName"] == nil {
		t.Errorf("excludedAttributes=emails,meta: got %v", list.Resources[0])
	}
}
