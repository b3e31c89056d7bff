package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/portal"
)

const kleType = "urn:dk:kombit:KLE"

// rqPrivileges publishes two privileges of a service provider straight into
// the catalogue: "Administrer løn" needs approval and has a KLE constraint,
// "Se moms" needs none.
func (p *platform) rqPrivileges(provider *domain.Organisation) (loen, laes uuid.UUID) {
	p.t.Helper()
	var system uuid.UUID
	if err := p.db.SQL().QueryRow("INSERT INTO it_systems (org_id, name) VALUES ($1, 'Løn og moms') RETURNING id", provider.ID).Scan(&system); err != nil {
		p.t.Fatal(err)
	}
	for _, x := range []struct {
		into           *uuid.UUID
		uri, da, types string
		approval       bool
	}{{&loen, "urn:dk:test:loen", "Administrer løn", "{" + kleType + "}", true}, {&laes, "urn:dk:test:moms:laes", "Se moms", "{}", false}} {
		if err := p.db.SQL().QueryRow(`INSERT INTO privileges (org_id, it_system_id, uri, name_da, name_en, constraint_types, needs_approval)
			VALUES ($1, $2, $3, $4, $4, $5, $6) RETURNING id`, provider.ID, system, x.uri, x.da, x.types, x.approval).Scan(x.into); err != nil {
			p.t.Fatal(err)
		}
	}
	return loen, laes
}

func (p *platform) withRole(org *domain.Organisation, u *domain.User, role string) {
	p.t.Helper()
	if err := p.roles.AssignAdminRole(context.Background(), &domain.AdminRole{OrgID: org.ID, UserID: u.ID, Role: role}); err != nil {
		p.t.Fatal(err)
	}
}

func (p *platform) unit(org *domain.Organisation, pnum, name string) {
	p.t.Helper()
	if err := p.orgs.CreateProductionUnit(context.Background(), &domain.ProductionUnit{OrgID: org.ID, PNumber: pnum, Name: name}); err != nil {
		p.t.Fatal(err)
	}
}

func (p *platform) countRows(q string, args ...any) int {
	p.t.Helper()
	var n int
	if err := p.db.SQL().QueryRow(q, args...).Scan(&n); err != nil {
		p.t.Fatal(err)
	}
	return n
}

func (m *mailbox) templatesTo(address string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, n := range m.sent {
		if n.To == address {
			out = append(out, n.Template)
		}
	}
	return out
}

func TestPrivilegeRequestFromMyPageIsApprovedByARightsAdministrator(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	org, mette := p.employ("demo-mette", "91234564", "Nordlys Rådgivning ApS")
	p.unit(org, "1012345671", "Nordlys København")
	lars := p.plainUser(org, "demo-lars")
	sofie := p.plainUser(org, "demo-sofie")
	p.withRole(org, sofie, domain.RoleRightsAdmin)
	jonas := p.plainUser(org, "demo-jonas")
	p.withRole(org, jonas, domain.RoleUserAdmin)
	provider, _ := p.employ("demo-henrik", "93847261", "Skattefar Digital A/S")
	loen, laes := p.rqPrivileges(provider)

	// Lars's page offers the catalogue, his organisation's scopes and the
	// KLE constraint.
	lhc := browser(t)
	doc := page(t, p.loginAs(lhc, "/login", "demo-lars", "code_app"))
	if doc.Find(`[data-testid="privilege-request-form"]`).Length() != 1 {
		t.Fatalf("no privilege request form on the overview: %q", doc.Find("main").Text())
	}
	if doc.Find(`#privilege option[value="`+loen.String()+`"]`).Length() != 1 || doc.Find(`#scope option[value="p:1012345671"]`).Length() != 1 ||
		doc.Find(`[data-testid="field-constraint:`+kleType+`"]`).Length() != 1 {
		t.Errorf("form choices: %q", text(doc, "privilege-request-form"))
	}

	// A bad form says what is wrong with each field, and stores nothing.
	resp := post(t, lhc, p.url+portal.RequestsPath, url.Values{"kind": {"privilege"}, "privilege": {loen.String()}, "scope": {"p:1012345671"},
		"constraint:" + kleType: {"femogtyve"}, "reason": {"løn"}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(text(doc, "error-privilege_reason"), "mindst 10 tegn") ||
		!strings.Contains(text(doc, "error-constraint:"+kleType), "KLE-nummer") {
		t.Fatalf("bad request form: %d reason %q kle %q", resp.StatusCode, text(doc, "error-privilege_reason"), text(doc, "error-constraint:"+kleType))
	}
	if v, _ := doc.Find(`[data-testid="field-constraint:` + kleType + `"]`).Attr("value"); v != "femogtyve" {
		t.Errorf("the KLE value as typed: %q", v)
	}
	resp = post(t, lhc, p.url+portal.RequestsPath, url.Values{"kind": {"privilege"}, "privilege": {loen.String()}, "scope": {"p:9999999999"},
		"reason": {"Jeg skal administrere løn i København"}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusBadRequest || text(doc, "error-scope") == "" {
		t.Errorf("another organisation's P-number: %d %q", resp.StatusCode, text(doc, "error-summary"))
	}
	if n := p.countRows("SELECT count(*) FROM rights_requests"); n != 0 {
		t.Fatalf("refused requests stored: %d", n)
	}

	resp = post(t, lhc, p.url+portal.RequestsPath, url.Values{"kind": {"privilege"}, "privilege": {loen.String()}, "scope": {"p:1012345671"},
		"constraint:" + kleType: {"25.*"}, "reason": {"Jeg skal administrere løn i København"}})
	doc = page(t, resp)
	if text(doc, "requested") == "" || !strings.Contains(text(doc, "my-requests"), "Administrer løn") || !strings.Contains(text(doc, "my-requests"), "afventer") {
		t.Fatalf("after requesting: %d %q", resp.StatusCode, text(doc, "my-requests"))
	}
	var reqID string
	if err := p.db.SQL().QueryRow("SELECT id FROM rights_requests WHERE requester_id = $1", lars.ID).Scan(&reqID); err != nil {
		t.Fatal(err)
	}
	for _, u := range []*domain.User{sofie, mette} {
		if got := p.mail.templatesTo(u.Email); len(got) != 1 || got[0] != "request_created" {
			t.Errorf("mails to %s: %v, want [request_created]", u.FirstName, got)
		}
	}
	if got := p.mail.templatesTo(jonas.Email); len(got) != 0 {
		t.Errorf("mails to the user administrator: %v, want none", got)
	}

	// Lars may not decide his own request, nor see the deciders' list.
	resp = post(t, lhc, p.url+portal.RequestsPath+"/"+reqID+"/decide", url.Values{"decision": {"approve"}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("own approval: %d, want 403", resp.StatusCode)
	}
	if resp := get(t, lhc, p.url+portal.RequestsPath); resp.StatusCode != http.StatusForbidden {
		t.Errorf("requests list for the requester: %d, want 403", resp.StatusCode)
	}
	// Jonas, a user administrator, may not approve, and is told why.
	jhc := browser(t)
	p.loginAs(jhc, "/login", "demo-jonas", "code_app").Body.Close()
	resp = post(t, jhc, p.url+portal.RequestsPath+"/"+reqID+"/decide", url.Values{"decision": {"approve"}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(doc.Find("main").Text(), "brugeradministrator kan ikke godkende") &&
		!strings.Contains(doc.Find("main").Text(), "Ingen af dine administratorroller") {
		t.Errorf("approval by a user administrator: %d %q", resp.StatusCode, doc.Find("main").Text())
	}
	// Another organisation's administrator does not find it.
	hhc := browser(t)
	p.loginAs(hhc, "/login", "demo-henrik", "code_app").Body.Close()
	if resp := post(t, hhc, p.url+portal.RequestsPath+"/"+reqID+"/decide", url.Values{"decision": {"approve"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another organisation's administrator: %d, want 404", resp.StatusCode)
	}
	if n := p.countRows("SELECT count(*) FROM privilege_assignments"); n != 0 {
		t.Fatalf("refused approvals made %d assignments", n)
	}

	// Sofie sees it with its scope and constraint, and approves it.
	shc := browser(t)
	p.loginAs(shc, "/login", "demo-sofie", "code_app").Body.Close()
	doc = page(t, get(t, shc, p.url+portal.RequestsPath))
	detail := doc.Find(`[data-testid="request-` + reqID + `"] [data-testid="request-detail"]`).Text()
	if !strings.Contains(detail, "P-nummer 1012345671") || !strings.Contains(detail, "KLE-nummer 25.*") {
		t.Errorf("request detail: %q", detail)
	}
	resp = post(t, shc, p.url+portal.RequestsPath+"/"+reqID+"/decide", url.Values{"decision": {"approve"}, "comment": {"God fornøjelse"}})
	if doc = page(t, resp); text(doc, "notice") == "" {
		t.Fatalf("after approving: %d %q", resp.StatusCode, doc.Find("main").Text())
	}
	if n := p.countRows(`SELECT count(*) FROM privilege_assignments WHERE user_id = $1 AND privilege_id = $2 AND scope_kind = 'p'
		AND scope_value = '1012345671' AND constraint_values->>$3 = '25.*' AND granted_by = $4`, lars.ID, loen, kleType, sofie.ID); n != 1 {
		t.Errorf("the approved assignment: %d rows, want 1", n)
	}
	if n := p.mail.last(t); n.Template != "request_decided" || n.To != lars.Email || n.Data["Privilege"] != "Administrer løn" || n.Data["Decision"] != "approved" {
		t.Errorf("decision mail: %+v", n)
	}
	doc = page(t, get(t, lhc, p.url+portal.OverviewPath))
	if got := text(doc, "my-requests"); !strings.Contains(got, "godkendt") || !strings.Contains(got, "God fornøjelse") {
		t.Errorf("Lars's requests after approval: %q", got)
	}

	// A privilege that needs no approval is his at once.
	resp = post(t, lhc, p.url+portal.RequestsPath, url.Values{"kind": {"privilege"}, "privilege": {laes.String()}, "scope": {"cvr:91234564"},
		"reason": {"Jeg skal kunne se momsen"}})
	doc = page(t, resp)
	if text(doc, "granted") == "" {
		t.Errorf("after requesting a privilege without approval: %q", doc.Find("main").Text())
	}
	if n := p.countRows("SELECT count(*) FROM privilege_assignments WHERE user_id = $1 AND privilege_id = $2", lars.ID, laes); n != 1 {
		t.Errorf("assignment of the privilege without approval: %d, want 1", n)
	}
}

func TestPrivilegeRequestsInEnglish(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	org, _ := p.employ("demo-mette", "91234564", "Nordlys Rådgivning ApS")
	p.plainUser(org, "demo-lars")
	provider, _ := p.employ("demo-henrik", "93847261", "Skattefar Digital A/S")
	loen, _ := p.rqPrivileges(provider)
	hc := browser(t)
	p.loginAs(hc, "/login", "demo-lars", "code_app").Body.Close()
	get(t, hc, p.url+portal.OverviewPath+"?lang=en").Body.Close()
	resp := post(t, hc, p.url+portal.RequestsPath, url.Values{"kind": {"privilege"}, "privilege": {loen.String()}, "scope": {"cvr:91234564"},
		"reason": {"short"}})
	doc := page(t, resp)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(text(doc, "error-privilege_reason"), "at least 10 characters") {
		t.Errorf("English error: %d %q", resp.StatusCode, text(doc, "error-privilege_reason"))
	}
	if !strings.Contains(doc.Find("legend").Text(), "Request a privilege") {
		t.Errorf("English form: %q", doc.Find("legend").Text())
	}
}
