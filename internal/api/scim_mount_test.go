package api

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestSCIMIsServedBehindTheAPIsTokens: /scim/v2 takes the same access
// tokens, needs the scim scope, and answers refusals in SCIM's error shape.
func TestSCIMIsServedBehindTheAPIsTokens(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	org := e.org(t, "", "Nordlys")
	scimToken := e.token(t, org, "scim")
	usersToken := e.token(t, org, "users:write")
	e.user(t, org, "Jens", "Jensen")

	get := func(tok string) (int, map[string]any) {
		resp := e.do(t, http.MethodGet, "/scim/v2/Users?filter="+strings.ReplaceAll(`userName sw "jens"`, " ", "%20"), tok, nil, nil)
		body, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("status %d, body %s: %v", resp.StatusCode, body, err)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
			t.Errorf("status %d: content type %q, want application/scim+json", resp.StatusCode, ct)
		}
		return resp.StatusCode, out
	}
	if status, out := get(scimToken); status != http.StatusOK || out["totalResults"] != float64(1) {
		t.Errorf("with the scim scope: %d %v, want 200 with one user", status, out)
	}
	for name, tok := range map[string]string{"users:write only": usersToken, "no token": ""} {
		status, out := get(tok)
		want := http.StatusForbidden
		if tok == "" {
			want = http.StatusUnauthorized
		}
		schemas, _ := out["schemas"].([]any)
		if status != want || len(schemas) != 1 || schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" {
			t.Errorf("%s: %d %v, want %d as a SCIM error", name, status, out, want)
		}
	}
}
