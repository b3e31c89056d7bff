package portal_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/erhverv/erhverv/internal/bpp"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// checkFixture is an organisation whose administrator is demo-jonas, with
// demo-lars holding a KLE-constrained privilege of the organisation's own IT
// system, and another organisation with an employee, demo-anders.
type checkFixture struct {
	p              *platform
	org            *domain.Organisation
	lars, stranger *domain.User
	sys            *domain.ITSystem
	priv           *domain.Privilege
}

func newCheckFixture(t *testing.T) *checkFixture {
	t.Helper()
	p := newPlatform(t, "oiosaml")
	ctx := context.Background()
	org, _ := p.employ("demo-jonas", "91234564", "Nordlys Rådgivning ApS")
	other, _ := p.employ("demo-mette", "95001238", "Havbryg Revision I/S")
	lars := p.plainUser(org, "demo-lars")
	stranger := p.plainUser(other, "demo-anders")

	rs := postgres.NewRightsService(p.db)
	sys := &domain.ITSystem{OrgID: org.ID, Name: "Sagssystem"}
	if err := rs.CreateITSystem(ctx, sys); err != nil {
		t.Fatal(err)
	}
	priv := &domain.Privilege{OrgID: org.ID, ITSystemID: sys.ID, URI: "urn:dk:test:sag:laes", NameDA: "Læs sager", NameEN: "Read cases",
		ConstraintTypes: []string{domain.ConstraintKLE}, MinLoA: domain.LoASubstantial, GroupAssignable: true}
	if err := rs.PublishPrivilege(ctx, priv); err != nil {
		t.Fatal(err)
	}
	if err := rs.CreateAssignment(ctx, &domain.Assignment{OrgID: org.ID, PrivilegeID: priv.ID, UserID: &lars.ID,
		Scope: domain.Scope{Kind: domain.ScopeCVR, Value: org.CVR}, ConstraintValues: map[string]string{domain.ConstraintKLE: "25.*"}}); err != nil {
		t.Fatal(err)
	}
	return &checkFixture{p: p, org: org, lars: lars, stranger: stranger, sys: sys, priv: priv}
}

func TestRightsCheckExplainsTheAnswer(t *testing.T) {
	t.Parallel()
	f := newCheckFixture(t)
	p, org, lars, stranger, priv := f.p, f.org, f.lars, f.stranger, f.priv

	hc := browser(t)
	p.loginAs(hc, "/login", "demo-jonas", "code_app").Body.Close()
	ask := func(user, level, constraints string) (int, string, []string) {
		t.Helper()
		q := url.Values{"user": {user}, "privilege": {priv.URI}, "scope": {"cvr:" + org.CVR}, "level": {level}, "constraints": {constraints}}
		resp := get(t, hc, p.url+"/portal/rights/check?"+q.Encode())
		doc := page(t, resp)
		answer := ""
		if doc.Find(`[data-testid="check-allow"]`).Length() == 1 {
			answer = "allow"
		} else if doc.Find(`[data-testid="check-deny"]`).Length() == 1 {
			answer = "deny"
		}
		var reasons []string
		doc.Find("[data-reason]").Each(func(_ int, s *goquery.Selection) { reasons = append(reasons, s.AttrOr("data-reason", "")) })
		return resp.StatusCode, answer, reasons
	}

	for _, tc := range []struct {
		name, user, level, constraints string
		answer, reason                 string
	}{
		{"held, within the constraint", lars.Email, "substantial", "urn:dk:kombit:KLE=25.02.01", "allow", "grant.direct"},
		{"login level too low", lars.Email, "low", "urn:dk:kombit:KLE=25.02.01", "deny", "level.too_low"},
		{"outside the constraint", lars.Email, "high", "urn:dk:kombit:KLE=26.01", "deny", "constraint.mismatch"},
		{"no value for the constraint", lars.ID.String(), "substantial", "", "deny", "constraint.missing"},
	} {
		status, answer, reasons := ask(tc.user, tc.level, tc.constraints)
		if status != http.StatusOK || answer != tc.answer || !slices.Contains(reasons, tc.reason) {
			t.Errorf("%s: got %d %q %v, want 200 %q with reason %s", tc.name, status, answer, reasons, tc.answer, tc.reason)
		}
	}

	// Another organisation's employee is not found, as if unknown.
	if status, answer, _ := ask(stranger.Email, "substantial", ""); status != http.StatusUnprocessableEntity || answer != "" {
		t.Errorf("another organisation's user: got %d %q, want 422 and no answer", status, answer)
	}
	// A malformed constraint line is a form error, not a question.
	if status, answer, _ := ask(lars.Email, "substantial", "no equals sign"); status != http.StatusUnprocessableEntity || answer != "" {
		t.Errorf("malformed constraints: got %d %q, want 422 and no answer", status, answer)
	}

	// An employee without an administrator role may not look at others' rights.
	employee := browser(t)
	p.loginAs(employee, "/login", "demo-lars", "code_app").Body.Close()
	resp := get(t, employee, p.url+"/portal/rights/check?"+url.Values{"user": {lars.Email}, "privilege": {priv.URI}}.Encode())
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("an employee asking: got %d, want 403", resp.StatusCode)
	}
}

// The rights page offers each IT system's privilege document, which parses
// back to the privilege held, for the scope and constraint assigned.
func TestUserPrivilegeDocument(t *testing.T) {
	t.Parallel()
	f := newCheckFixture(t)
	hc := browser(t)
	f.p.loginAs(hc, "/login", "demo-jonas", "code_app").Body.Close()
	rightsPage := f.p.url + "/portal/users/" + f.lars.ID.String() + "/rights"
	link, ok := page(t, get(t, hc, rightsPage)).Find(`[data-testid="privilege-documents"] a`).Attr("href")
	if !ok {
		t.Fatal("the rights page links to no privilege document")
	}
	resp := get(t, hc, f.p.url+link)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/xml") {
		t.Fatalf("GET %s: %d %s\n%s", link, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	doc, err := bpp.Parse(body)
	if err != nil {
		t.Fatalf("the document does not parse: %v\n%s", err, body)
	}
	want := bpp.Document{Groups: []bpp.Group{{Scope: "urn:dk:gov:saml:cvrNumberIdentifier:" + f.org.CVR,
		Constraints: []bpp.Constraint{{Name: domain.ConstraintKLE, Value: "25.*"}}, Privileges: []string{f.priv.URI}}}}
	if !reflect.DeepEqual(doc, want) {
		t.Errorf("document: got %+v, want %+v", doc, want)
	}

	for _, tc := range []struct {
		name, path string
		client     *http.Client
		status     int
	}{
		{"no system", rightsPage + "/privileges.xml", hc, http.StatusBadRequest},
		{"another organisation's user", f.p.url + "/portal/users/" + f.stranger.ID.String() + "/rights/privileges.xml?system=" + f.sys.ID.String(), hc, http.StatusNotFound},
	} {
		resp := get(t, tc.client, tc.path)
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: got %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
	}
	// An employee sees their own document, not a colleague's.
	employee := browser(t)
	f.p.loginAs(employee, "/login", "demo-lars", "code_app").Body.Close()
	own := get(t, employee, f.p.url+link)
	own.Body.Close()
	jonas, _, err := f.p.users.FindUsers(context.Background(), domain.UserFilter{OrgID: f.org.ID, Query: "demo-jonas@example.dk", Limit: 1})
	if err != nil || len(jonas) != 1 {
		t.Fatalf("find the administrator: %v %v", jonas, err)
	}
	colleague := get(t, employee, f.p.url+"/portal/users/"+jonas[0].ID.String()+"/rights/privileges.xml?system="+f.sys.ID.String())
	colleague.Body.Close()
	if own.StatusCode != http.StatusOK || colleague.StatusCode != http.StatusForbidden {
		t.Errorf("an employee: own document %d, a colleague's %d; want 200 and 403", own.StatusCode, colleague.StatusCode)
	}
}
