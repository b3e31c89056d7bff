package api

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/bpp"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/rights"
)

// grantsByID indexes a user's grants.
func grantsByID(items []grantJSON) map[string]grantJSON {
	m := make(map[string]grantJSON, len(items))
	for _, g := range items {
		m[g.GrantID] = g
	}
	return m
}

func TestUserPrivileges(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	env := f.env
	tok := env.token(t, f.acme, "rights:read")

	var anna effectiveJSON
	env.decode(t, env.do(t, "GET", "/api/v1/users/"+f.anna.ID.String()+"/privileges", tok, nil, nil), http.StatusOK, &anna)
	if anna.UserID != f.anna.ID || len(anna.Items) != 3 || anna.Level != "" {
		t.Fatalf("Anna: got %+v, want her three grants", anna)
	}
	got := grantsByID(anna.Items)
	moms := got[f.annaMoms.ID.String()]
	if !moms.InEffect || moms.Source != rights.SourceDirect || moms.Privilege.URI != f.moms.URI || moms.Privilege.ITSystem.ID != f.momsSystem.ID ||
		moms.Scope != (scopeJSON{"cvr", f.acme.CVR}) || moms.GrantorName != f.acme.Name || moms.ValidFrom == nil ||
		len(moms.Reasons) != 1 || moms.Reasons[0].Code != rights.CodeGrantDirect || moms.Reasons[0].GrantID != f.annaMoms.ID.String() {
		t.Errorf("Anna's moms: got %+v, want in effect, directly, for Jensen Byg's CVR", moms)
	}
	expired := got[f.annaExpired.ID.String()]
	if expired.InEffect || len(expired.Reasons) == 0 || expired.Reasons[0].Code != rights.CodeGrantExpired || expired.Scope.Type != "pnumber" {
		t.Errorf("Anna's expired grant: got %+v, want not in effect: grant.expired", expired)
	}

	var bo effectiveJSON
	env.decode(t, env.do(t, "GET", "/api/v1/users/"+f.bo.ID.String()+"/privileges", tok, nil, nil), http.StatusOK, &bo)
	if len(bo.Items) != 1 {
		t.Fatalf("Bo: got %+v, want one grant through the group", bo.Items)
	}
	sag := bo.Items[0]
	if sag.Source != rights.SourceGroup || sag.Group == nil || sag.Group.ID != f.group.ID || sag.Group.Name != "Bogholderi" ||
		sag.Constraints[domain.ConstraintKLE] != "25.*" || !sag.InEffect || sag.Reasons[0].Code != rights.CodeGrantGroup {
		t.Errorf("Bo's grant: got %+v, want sag through Bogholderi, KLE 25.*", sag)
	}

	// At a low login, moms (substantial) is not in effect; løn (low) is.
	var low effectiveJSON
	env.decode(t, env.do(t, "GET", "/api/v1/users/"+f.anna.ID.String()+"/privileges?level=low", tok, nil, nil), http.StatusOK, &low)
	lowGot := grantsByID(low.Items)
	if low.Level != "low" || lowGot[f.annaMoms.ID.String()].InEffect || !lowGot[f.annaLøn.ID.String()].InEffect {
		t.Errorf("at level low: got %+v, want moms out (level.too_low) and løn in", low)
	}
	// Before moms began, it was not yet valid.
	at := time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339)
	var earlier effectiveJSON
	env.decode(t, env.do(t, "GET", "/api/v1/users/"+f.anna.ID.String()+"/privileges?at="+at, tok, nil, nil), http.StatusOK, &earlier)
	if e := grantsByID(earlier.Items)[f.annaMoms.ID.String()]; e.InEffect || e.Reasons[0].Code != rights.CodeGrantNotYetValid {
		t.Errorf("two hours ago: got %+v, want moms not yet valid", e)
	}

	// The privilege document of the Moms system.
	resp := env.do(t, "GET", "/api/v1/users/"+f.anna.ID.String()+"/privileges.xml?system="+f.momsSystem.ID.String(), tok, nil, nil)
	doc := privilegeDocument(t, resp)
	if len(doc.Groups) != 1 || doc.Groups[0].Scope != (domain.Scope{Kind: domain.ScopeCVR, Value: f.acme.CVR}).URI() ||
		len(doc.Groups[0].Privileges) != 1 || doc.Groups[0].Privileges[0] != f.moms.URI {
		t.Errorf("Anna's Moms document: got %+v, want moms for Jensen Byg's CVR", doc)
	}
	// A system she holds nothing in: an empty document.
	resp = env.do(t, "GET", "/api/v1/users/"+f.anna.ID.String()+"/privileges.xml?system="+f.sagSys.ID.String(), tok, nil, nil)
	if doc := privilegeDocument(t, resp); len(doc.Groups) != 0 {
		t.Errorf("Anna's Sag document: got %+v, want no groups", doc)
	}
}

// privilegeDocument reads an OIO BPP answer.
func privilegeDocument(t *testing.T, resp *http.Response) bpp.Document {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/xml") {
		t.Fatalf("document: status %d, type %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), clip(body))
	}
	doc, err := bpp.Parse(body)
	if err != nil {
		t.Fatalf("parse the document: %v\n%s", err, body)
	}
	return doc
}

func TestUserPrivilegesOfAServiceProvider(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	env := f.env
	provider := env.token(t, f.provider, "decisions")

	// Skatteværket sees Anna's grants of its own systems, not Lønservice's.
	var anna effectiveJSON
	env.decode(t, env.do(t, "GET", "/api/v1/users/"+f.anna.ID.String()+"/privileges", provider, nil, nil), http.StatusOK, &anna)
	got := grantsByID(anna.Items)
	if len(got) != 2 || got[f.annaMoms.ID.String()].GrantID == "" || got[f.annaExpired.ID.String()].GrantID == "" {
		t.Errorf("Skatteværket on Anna: got %+v, want her two moms grants only", anna.Items)
	}
	resp := env.do(t, "GET", "/api/v1/users/"+f.anna.ID.String()+"/privileges.xml?system="+f.momsSystem.ID.String(), provider, nil, nil)
	if doc := privilegeDocument(t, resp); len(doc.Groups) != 1 {
		t.Errorf("Skatteværket's Moms document of Anna: got %+v, want one group", doc)
	}

	// Everything else looks exactly like a user that does not exist.
	unknown := env.problemOf(t, env.do(t, "GET", "/api/v1/users/"+uuid.NewString()+"/privileges", provider, nil, nil), http.StatusNotFound, "not_found")
	for _, tt := range []struct{ name, path, token string }{
		{"another provider's system", "/api/v1/users/" + f.anna.ID.String() + "/privileges.xml?system=" + f.lønSystem.ID.String(), provider},
		{"a user holding none of its privileges", "/api/v1/users/" + f.bent.ID.String() + "/privileges", provider},
		{"a user holding none of its privileges, document", "/api/v1/users/" + f.bent.ID.String() + "/privileges.xml?system=" + f.momsSystem.ID.String(), provider},
		{"another company's user", "/api/v1/users/" + f.anna.ID.String() + "/privileges", env.token(t, f.other, "rights:read", "decisions")},
		{"malformed id", "/api/v1/users/anna/privileges", provider},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := env.problemOf(t, env.do(t, "GET", tt.path, tt.token, nil, nil), http.StatusNotFound, "not_found")
			if p.Detail != unknown.Detail || p.Title != unknown.Title || len(p.Errors) != 0 {
				t.Errorf("got %+v, want the answer about an unknown user: %+v", p, unknown)
			}
		})
	}
}

func TestUserPrivilegesRefusals(t *testing.T) {
	t.Parallel()
	f := newRightsFixture(t)
	env := f.env
	tok := env.token(t, f.acme, "decisions")
	anna := "/api/v1/users/" + f.anna.ID.String()
	if _, err := env.DB.SQL().Exec(`UPDATE users SET status = 'deleted' WHERE id = $1`, f.bo.ID); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, path, token string
		status            int
		code, field       string
	}{
		{"bad level", anna + "/privileges?level=medium", tok, 400, "invalid", "level"},
		{"bad moment", anna + "/privileges?at=yesterday", tok, 400, "invalid", "at"},
		{"no system", anna + "/privileges.xml", tok, 400, "invalid", "system"},
		{"bad system", anna + "/privileges.xml?system=moms", tok, 400, "invalid", "system"},
		{"deleted user", "/api/v1/users/" + f.bo.ID.String() + "/privileges", tok, 404, "not_found", ""},
		{"missing scope", anna + "/privileges", env.token(t, f.acme, "audit:read"), 403, "forbidden", ""},
		{"missing scope, document", anna + "/privileges.xml?system=" + f.momsSystem.ID.String(), env.token(t, f.acme, "users:read"), 403, "forbidden", ""},
		{"no token", anna + "/privileges", "", 401, "unauthenticated", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := env.problemOf(t, env.do(t, "GET", tt.path, tt.token, nil, nil), tt.status, tt.code)
			if tt.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tt.field) {
				t.Errorf("errors: got %+v, want one on %s", p.Errors, tt.field)
			}
		})
	}
}
