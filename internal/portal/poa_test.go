package portal_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/portal"
)

// poaIDOf is the power of attorney's id from the page a redirect landed on.
func poaIDOf(t *testing.T, resp *http.Response) string {
	t.Helper()
	id, ok := strings.CutPrefix(resp.Request.URL.Path, portal.PoAPath+"/")
	if !ok || strings.Contains(id, "/") {
		t.Fatalf("landed on %s, want a power of attorney's page", resp.Request.URL)
	}
	return id
}

// Nordlys (A) offers Havbryg (B) a power of attorney; Havbryg accepts and
// passes it on to an employee, within it; Nordlys ends it and what was
// passed on goes. Skattefar (C) sees none of it.
func TestPowerOfAttorneyOfferedAcceptedPassedOnAndEnded(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	nordlys, _ := p.employ("demo-mette", "91234564", "Nordlys Rådgivning ApS")
	p.unit(nordlys, "1012345671", "Nordlys København")
	havbryg, anders := p.employ("demo-anders", "95001238", "Havbryg Revision I/S")
	employee := p.plainUser(havbryg, "demo-lars")
	jonas := p.plainUser(havbryg, "demo-jonas")
	p.withRole(havbryg, jonas, domain.RoleUserAdmin)
	skattefar, _ := p.employ("demo-henrik", "93847261", "Skattefar Digital A/S")
	loen, _ := p.rqPrivileges(skattefar)

	mhc := browser(t)
	p.loginAs(mhc, "/login", "demo-mette", "code_app").Body.Close()
	doc := page(t, get(t, mhc, p.url+portal.PoAPath+"/new"))
	if doc.Find(`[data-testid="privilege-`+loen.String()+`"]`).Length() != 1 || doc.Find(`#scope option[value="p:1012345671"]`).Length() != 1 {
		t.Fatalf("offer form: %q", doc.Find("main").Text())
	}
	// A bad offer says what is wrong and stores nothing.
	kle := "constraint:" + loen.String() + ":" + kleType
	resp := post(t, mhc, p.url+portal.PoAPath, url.Values{"grantee_cvr": {"91234564"}, "scope": {"cvr:91234564"}, "valid_to": {"31-12-2030"}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(text(doc, "error-grantee_cvr"), "sig selv") ||
		text(doc, "error-privileges") == "" || text(doc, "error-valid_to") == "" {
		t.Fatalf("bad offer: %d cvr %q privileges %q to %q", resp.StatusCode, text(doc, "error-grantee_cvr"), text(doc, "error-privileges"), text(doc, "error-valid_to"))
	}
	resp = post(t, mhc, p.url+portal.PoAPath, url.Values{"grantee_cvr": {"95001238"}, "privilege": {loen.String()}, kle: {"25-x"}, "scope": {"cvr:91234564"}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(text(doc, "error-"+kle), "KLE-nummer") {
		t.Fatalf("bad KLE: %d %q", resp.StatusCode, text(doc, "error-summary"))
	}
	if v, ok := doc.Find(`[data-testid="privilege-` + loen.String() + `"]`).Attr("checked"); !ok {
		t.Errorf("the chosen privilege is not kept checked (%q)", v)
	}
	if n := p.countRows("SELECT count(*) FROM powers_of_attorney"); n != 0 {
		t.Fatalf("refused offers stored: %d", n)
	}
	resp = post(t, mhc, p.url+portal.PoAPath, url.Values{"grantee_cvr": {"95001238"}, "privilege": {loen.String()}, kle: {"25.*"},
		"scope": {"cvr:91234564"}, "valid_to": {"2099-12-31"}})
	doc = page(t, resp)
	id := poaIDOf(t, resp)
	if text(doc, "notice") == "" || text(doc, "poa-detail-status") != "Tilbudt" || !strings.Contains(text(doc, "poa-period"), "31. december 2099") {
		t.Fatalf("after offering: %q %q", text(doc, "poa-detail-status"), text(doc, "poa-period"))
	}
	if got := p.mail.templatesTo(anders.Email); len(got) != 1 || got[0] != "poa_offered" {
		t.Errorf("mails to Havbryg's administrator: %v", got)
	}

	// Skattefar finds nothing, whatever it tries.
	hhc := browser(t)
	p.loginAs(hhc, "/login", "demo-henrik", "code_app").Body.Close()
	for _, r := range []struct{ method, path string }{{"GET", ""}, {"POST", "/accept"}, {"POST", "/end"}, {"POST", "/reject"}, {"POST", "/assignments"}} {
		var resp *http.Response
		if r.method == "GET" {
			resp = get(t, hhc, p.url+portal.PoAPath+"/"+id)
		} else {
			resp = post(t, hhc, p.url+portal.PoAPath+"/"+id+r.path, url.Values{"comment": {"Nej tak"}})
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("Skattefar %s %s: %d, want 404", r.method, r.path, resp.StatusCode)
		}
	}
	if doc := page(t, get(t, hhc, p.url+portal.PoAPath)); doc.Find(`[data-testid="poa-`+id+`"]`).Length() != 0 {
		t.Error("Skattefar's list shows the power of attorney")
	}
	// Havbryg's user administrator may not see powers of attorney.
	jhc := browser(t)
	p.loginAs(jhc, "/login", "demo-jonas", "code_app").Body.Close()
	if resp := get(t, jhc, p.url+portal.PoAPath); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a user administrator's list: %d, want 403", resp.StatusCode)
	}

	// Nordlys cannot accept its own offer; Havbryg cannot grant it.
	if resp := post(t, mhc, p.url+portal.PoAPath+"/"+id+"/accept", nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the grantor accepts: %d, want 403", resp.StatusCode)
	}
	ahc := browser(t)
	p.loginAs(ahc, "/login", "demo-anders", "code_app").Body.Close()
	doc = page(t, get(t, ahc, p.url+portal.PoAPath))
	if !strings.Contains(doc.Find(`[data-testid="poa-received"] [data-testid="poa-`+id+`"]`).Text(), "Venter på jeres svar") {
		t.Errorf("Havbryg's received list: %q", text(doc, "poa-received"))
	}
	if resp := post(t, ahc, p.url+portal.PoAPath+"/"+id+"/grant", url.Values{"scope": {"cvr:91234564"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the grantee grants: %d, want 403", resp.StatusCode)
	}
	resp = post(t, ahc, p.url+portal.PoAPath+"/"+id+"/accept", nil)
	doc = page(t, resp)
	if text(doc, "poa-detail-status") != "Aktiv" || doc.Find(`[data-testid="pass-on-form"]`).Length() != 1 {
		t.Fatalf("after accepting: %q", doc.Find("main").Text())
	}

	// Passing on beyond it is refused with the reason; within it works.
	kleField := "constraint:" + kleType
	resp = post(t, ahc, p.url+portal.PoAPath+"/"+id+"/assignments", url.Values{"user": {employee.ID.String()}, "privilege": {loen.String()},
		"scope": {"p:1012345671"}, kleField: {"26.01"}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(text(doc, "error-"+kleField), "går ud over fuldmagten") {
		t.Errorf("passing on beyond the KLE: %d %q", resp.StatusCode, text(doc, "error-summary"))
	}
	resp = post(t, ahc, p.url+portal.PoAPath+"/"+id+"/assignments", url.Values{"user": {employee.ID.String()}, "privilege": {loen.String()},
		"scope": {"cvr:95001238"}, kleField: {"25.02"}})
	if doc = page(t, resp); resp.StatusCode != http.StatusBadRequest || text(doc, "error-scope") == "" {
		t.Errorf("passing on for Havbryg's own CVR: %d %q", resp.StatusCode, text(doc, "error-summary"))
	}
	if n := p.countRows("SELECT count(*) FROM privilege_assignments"); n != 0 {
		t.Fatalf("refused passing on stored %d", n)
	}
	resp = post(t, ahc, p.url+portal.PoAPath+"/"+id+"/assignments", url.Values{"user": {employee.ID.String()}, "privilege": {loen.String()},
		"scope": {"p:1012345671"}, kleField: {"25.02"}})
	doc = page(t, resp)
	if !strings.Contains(text(doc, "passed-on"), "Lars Vinther") {
		t.Fatalf("after passing on: %d %q", resp.StatusCode, doc.Find("main").Text())
	}
	// Nordlys sees that it is passed on, not to whom.
	doc = page(t, get(t, mhc, p.url+portal.PoAPath+"/"+id))
	if doc.Find(`[data-testid="passed-on"]`).Length() != 0 || strings.Contains(doc.Find("main").Text(), "Lars Vinther") {
		t.Error("the grantor's page names Havbryg's employee")
	}

	// Nordlys ends it: what was passed on goes, and both logs say so.
	resp = post(t, mhc, p.url+portal.PoAPath+"/"+id+"/end", nil)
	if doc = page(t, resp); text(doc, "poa-detail-status") != "Ophørt" {
		t.Fatalf("after ending: %q", doc.Find("main").Text())
	}
	if n := p.countRows("SELECT count(*) FROM privilege_assignments WHERE via_poa_id = $1", id); n != 0 {
		t.Errorf("passed-on assignments after the end: %d", n)
	}
	doc = page(t, get(t, ahc, p.url+portal.PoAPath+"/"+id))
	if text(doc, "poa-detail-status") != "Ophørt" || doc.Find(`[data-testid="pass-on-form"]`).Length() != 0 || doc.Find(`[data-testid="poa-end"]`).Length() != 0 {
		t.Errorf("Havbryg's page after the end: %q", doc.Find("main").Text())
	}
	if got := p.mail.templatesTo(anders.Email); got[len(got)-1] != "poa_ended" {
		t.Errorf("mails to Havbryg: %v", got)
	}
	for _, c := range []struct {
		org    *domain.Organisation
		action string
	}{{nordlys, "poa.ended"}, {havbryg, "poa.ended"}, {havbryg, "assignment.removed"}, {nordlys, "poa.passed_on"}, {havbryg, "poa.accepted"}} {
		if n := p.countRows("SELECT count(*) FROM audit_events WHERE org_id = $1 AND action = $2", c.org.ID, c.action); n != 1 {
			t.Errorf("%s in %s's log: %d, want 1", c.action, c.org.Name, n)
		}
	}
}

// Havbryg asks Nordlys for a power of attorney; Nordlys's rights
// administrator grants it for one P-number, and it is active at once.
func TestPowerOfAttorneyAskedForAndGranted(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	nordlys, _ := p.employ("demo-mette", "91234564", "Nordlys Rådgivning ApS")
	p.unit(nordlys, "1012345672", "Nordlys Aarhus")
	sofie := p.plainUser(nordlys, "demo-sofie")
	p.withRole(nordlys, sofie, domain.RoleRightsAdmin)
	p.employ("demo-anders", "95001238", "Havbryg Revision I/S")
	skattefar, _ := p.employ("demo-henrik", "93847261", "Skattefar Digital A/S")
	_, laes := p.rqPrivileges(skattefar)

	ahc := browser(t)
	p.loginAs(ahc, "/login", "demo-anders", "code_app").Body.Close()
	doc := page(t, get(t, ahc, p.url+portal.PoAPath+"/ask?lang=en"))
	if doc.Find(`[data-testid="field-grantor_cvr"]`).Length() != 1 || !strings.Contains(text(doc, "poa-form-heading"), "Ask for a power of attorney") {
		t.Errorf("the ask form in English: %q", doc.Find("main").Text())
	}
	get(t, ahc, p.url+portal.PoAPath+"?lang=da").Body.Close()
	resp := post(t, ahc, p.url+portal.PoAPath+"/ask", url.Values{"grantor_cvr": {"12345678"}, "privilege": {laes.String()}, "reason": {"kort"}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusBadRequest || text(doc, "error-grantor_cvr") == "" || text(doc, "error-reason") == "" {
		t.Fatalf("bad ask: %d %q", resp.StatusCode, text(doc, "error-summary"))
	}
	resp = post(t, ahc, p.url+portal.PoAPath+"/ask", url.Values{"grantor_cvr": {"91234564"}, "privilege": {laes.String()},
		"reason": {"Vi fører regnskabet for Nordlys"}})
	doc = page(t, resp)
	id := poaIDOf(t, resp)
	if text(doc, "poa-detail-status") != "Anmodet" || doc.Find(`[data-testid="poa-grant-form"]`).Length() != 0 {
		t.Fatalf("after asking: %q", doc.Find("main").Text())
	}
	if got := p.mail.templatesTo(sofie.Email); len(got) != 1 || got[0] != "poa_requested" {
		t.Errorf("mails to Nordlys's rights administrator: %v", got)
	}
	shc := browser(t)
	p.loginAs(shc, "/login", "demo-sofie", "code_app").Body.Close()
	doc = page(t, get(t, shc, p.url+portal.PoAPath+"/"+id))
	if doc.Find(`[data-testid="poa-grant-form"]`).Length() != 1 || !strings.Contains(text(doc, "poa-reason"), "regnskabet") {
		t.Fatalf("the grantor's page of a request: %q", doc.Find("main").Text())
	}
	resp = post(t, shc, p.url+portal.PoAPath+"/"+id+"/grant", url.Values{"scope": {"p:1012345672"}})
	doc = page(t, resp)
	if text(doc, "poa-detail-status") != "Aktiv" || !strings.Contains(text(doc, "poa-scope"), "1012345672") {
		t.Errorf("after granting: %q %q", text(doc, "poa-detail-status"), text(doc, "poa-scope"))
	}
	// Havbryg passes on for that P-number only: the form offers no other.
	doc = page(t, get(t, ahc, p.url+portal.PoAPath+"/"+id))
	if n := doc.Find(`[data-testid="pass-on-form"] #scope option`).Length(); n != 1 {
		t.Errorf("pass-on scopes: %d, want 1", n)
	}
}
