package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

func TestRightsCheckExplainsTheAnswer(t *testing.T) {
	t.Parallel()
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
		if status != http.StatusOK || answer != tc.answer || !contains(reasons, tc.reason) {
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

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
