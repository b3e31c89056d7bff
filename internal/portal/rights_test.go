package portal_test

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/portal"
	"github.com/erhverv/erhverv/internal/postgres"
)

// catalogueFixture is Skattefar, a service provider with one IT system and
// two privileges (one with a KLE and a P-number constraint, only for users;
// one without, for groups too), and Nordlys, a customer with two
// production units, whose organisation administrator is Mette.
type catalogueFixture struct {
	rights    *postgres.RightsService
	provider  *domain.Organisation
	henrik    *domain.User
	system    *domain.ITSystem
	kle, read *domain.Privilege
	org       *domain.Organisation
	mette     *domain.User
	kbh, aarh *domain.ProductionUnit
}

func (p *platform) catalogueFixture() *catalogueFixture {
	p.t.Helper()
	ctx := context.Background()
	f := &catalogueFixture{rights: postgres.NewRightsService(p.db)}
	f.provider, f.henrik = p.employ("demo-henrik", "93847261", "Skattefar Digital A/S")
	actor := postgres.Actor{UserID: f.henrik.ID, Label: "Henrik Skat"}
	f.system = &domain.ITSystem{OrgID: f.provider.ID, Name: "Momsportalen"}
	if err := f.rights.RegisterITSystem(ctx, actor, f.system); err != nil {
		p.t.Fatal(err)
	}
	f.kle = &domain.Privilege{OrgID: f.provider.ID, ITSystemID: f.system.ID, URI: "urn:dk:skattefar:moms:sag", NameDA: "Behandl momssager",
		NameEN: "Handle VAT cases", ConstraintTypes: []string{domain.ConstraintKLE, domain.ConstraintPNumber}, MinLoA: domain.LoASubstantial}
	f.read = &domain.Privilege{OrgID: f.provider.ID, ITSystemID: f.system.ID, URI: "urn:dk:skattefar:moms:laes", NameDA: "Se moms",
		NameEN: "View VAT", MinLoA: domain.LoALow, GroupAssignable: true}
	for _, pr := range []*domain.Privilege{f.kle, f.read} {
		if err := f.rights.PublishOwnPrivilege(ctx, actor, pr); err != nil {
			p.t.Fatal(err)
		}
	}
	f.org, f.mette = p.employ("demo-mette", "91234564", "Nordlys Rådgivning ApS")
	f.kbh = &domain.ProductionUnit{OrgID: f.org.ID, PNumber: "1012345671", Name: "København"}
	f.aarh = &domain.ProductionUnit{OrgID: f.org.ID, PNumber: "1012345672", Name: "Aarhus"}
	for _, u := range []*domain.ProductionUnit{f.kbh, f.aarh} {
		if err := p.orgs.CreateProductionUnit(ctx, u); err != nil {
			p.t.Fatal(err)
		}
	}
	return f
}

func (p *platform) count(q string, args ...any) int {
	p.t.Helper()
	var n int
	if err := p.db.SQL().QueryRow(q, args...).Scan(&n); err != nil {
		p.t.Fatal(err)
	}
	return n
}

func status(t *testing.T, resp *http.Response) int {
	t.Helper()
	resp.Body.Close()
	return resp.StatusCode
}

func TestServiceProviderPublishesPrivileges(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	provider, _ := p.employ("demo-henrik", "93847261", "Skattefar Digital A/S")
	hc := browser(t)
	p.loginAs(hc, "/login", "demo-henrik", "code_app").Body.Close()

	doc := page(t, get(t, hc, p.url+portal.SystemsPath))
	if text(doc, "systems-none") == "" || !strings.Contains(doc.Find("nav").Text(), "Mine it-systemer") {
		t.Fatalf("systems page: %q", doc.Find("main").Text())
	}
	resp := post(t, hc, p.url+portal.SystemsPath, url.Values{"name": {"  "}, "description": {"Moms"}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusBadRequest || text(doc, "error-name") == "" {
		t.Fatalf("system without a name: %d %q", resp.StatusCode, text(doc, "error-summary"))
	}
	if v := doc.Find(`[data-testid="field-description"]`).Text(); v != "Moms" {
		t.Errorf("the form lost the description: %q", v)
	}
	resp = post(t, hc, p.url+portal.SystemsPath, url.Values{"name": {"Momsportalen"}, "description": {"Indberetning af moms"}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusOK || text(doc, "system-heading") != "Momsportalen" || text(doc, "notice") == "" {
		t.Fatalf("after creating: %d %q", resp.StatusCode, doc.Find("main").Text())
	}
	systemPath := resp.Request.URL.Path
	resp = post(t, hc, p.url+portal.SystemsPath, url.Values{"name": {"momsportalen"}})
	if doc = page(t, resp); resp.StatusCode != http.StatusConflict || !strings.Contains(text(doc, "error-name"), "allerede") {
		t.Errorf("same name again: %d %q", resp.StatusCode, text(doc, "error-name"))
	}

	// Publishing: every problem at once, and nothing stored.
	resp = post(t, hc, p.url+systemPath+"/privileges", url.Values{"uri": {"moms indberet"}, "name_da": {""}, "name_en": {"File VAT"},
		"min_loa": {"medium"}, "other_constraint_types": {"KLE"}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad privilege: %d", resp.StatusCode)
	}
	for _, f := range []string{"uri", "name_da", "min_loa", "other_constraint_types"} {
		if text(doc, "error-"+f) == "" {
			t.Errorf("bad privilege: no error for %s in %q", f, text(doc, "error-summary"))
		}
	}
	if v, _ := doc.Find(`[data-testid="field-name_en"]`).Attr("value"); v != "File VAT" {
		t.Errorf("the form lost the English name: %q", v)
	}
	if n := p.count("SELECT count(*) FROM privileges"); n != 0 {
		t.Fatalf("a refused publish stored %d privileges", n)
	}
	resp = post(t, hc, p.url+systemPath+"/privileges", url.Values{"uri": {"urn:dk:skattefar:moms:indberet"}, "name_da": {"Indberet moms"},
		"name_en": {"File VAT returns"}, "min_loa": {"substantial"}, "constraint_types": {domain.ConstraintKLE, domain.ConstraintPNumber},
		"group_assignable": {"yes"}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(text(doc, "system-privileges"), "urn:dk:skattefar:moms:indberet") {
		t.Fatalf("publish: %d %q", resp.StatusCode, doc.Find("main").Text())
	}
	var privID uuid.UUID
	if err := p.db.SQL().QueryRow("SELECT id FROM privileges WHERE uri = 'urn:dk:skattefar:moms:indberet'").Scan(&privID); err != nil {
		t.Fatal(err)
	}
	editPath := systemPath + "/privileges/" + privID.String()
	if got := text(page(t, get(t, hc, p.url+editPath)), "privilege-uri"); got != "urn:dk:skattefar:moms:indberet" {
		t.Errorf("edit form shows URI %q", got)
	}
	edit := url.Values{"uri": {"urn:dk:skattefar:moms:andet"}, "name_da": {"Indberet og ret moms"}, "name_en": {"File VAT returns"},
		"min_loa": {"high"}, "constraint_types": {domain.ConstraintKLE, domain.ConstraintPNumber}, "status": {"active"}}
	resp = post(t, hc, p.url+editPath, edit)
	if doc = page(t, resp); resp.StatusCode != http.StatusBadRequest || text(doc, "error-uri") == "" {
		t.Errorf("changing the URI: %d %q", resp.StatusCode, text(doc, "error-summary"))
	}
	edit.Del("uri")
	resp = post(t, hc, p.url+editPath, edit)
	if doc = page(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(text(doc, "system-privileges"), "Indberet og ret moms") {
		t.Errorf("saving the privilege: %d %q", resp.StatusCode, doc.Find("main").Text())
	}

	// The customer sees it in the catalogue, but another organisation's
	// system and privilege are not found for editing.
	customer, _ := p.employ("demo-mette", "91234564", "Nordlys Rådgivning ApS")
	mette := browser(t)
	p.loginAs(mette, "/login", "demo-mette", "code_app").Body.Close()
	doc = page(t, get(t, mette, p.url+portal.PrivilegesPath+"?q=indberet"))
	if doc.Find(`[data-testid="privilege-`+privID.String()+`"]`).Length() != 1 || !strings.Contains(text(doc, "catalogue"), "Skattefar") {
		t.Errorf("catalogue search for indberet: %q", doc.Find("main").Text())
	}
	if doc = page(t, get(t, mette, p.url+portal.PrivilegesPath+"?q=nothing-like-it")); text(doc, "catalogue-empty") == "" {
		t.Errorf("catalogue search for nothing: %q", text(doc, "catalogue"))
	}
	if doc = page(t, get(t, mette, p.url+portal.PrivilegesPath+"?provider="+customer.ID.String())); text(doc, "catalogue-empty") == "" {
		t.Errorf("catalogue of a provider without privileges: %q", text(doc, "catalogue"))
	}
	for _, c := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", systemPath, nil},
		{"POST", systemPath, url.Values{"name": {"Kapret"}, "status": {"active"}}},
		{"POST", systemPath + "/privileges", url.Values{"uri": {"urn:dk:nordlys:kapret"}, "name_da": {"x"}, "name_en": {"x"}, "min_loa": {"low"}}},
		{"GET", editPath, nil},
		{"POST", editPath, url.Values{"name_da": {"Kapret"}, "name_en": {"x"}, "min_loa": {"low"}, "status": {"retired"}}},
	} {
		var r *http.Response
		if c.method == "GET" {
			r = get(t, mette, p.url+c.path)
		} else {
			r = post(t, mette, p.url+c.path, c.form)
		}
		if got := status(t, r); got != http.StatusNotFound {
			t.Errorf("%s %s by another organisation: %d, want 404", c.method, c.path, got)
		}
	}
	if n := p.count("SELECT count(*) FROM privileges WHERE name_da = 'Kapret' OR uri LIKE 'urn:dk:nordlys:%'"); n != 0 {
		t.Errorf("another organisation changed the provider's catalogue: %d rows", n)
	}
	// An employee without roles manages no systems.
	p.plainUser(provider, "demo-lars")
	plain := browser(t)
	p.loginAs(plain, "/login", "demo-lars", "code_app").Body.Close()
	if got := status(t, get(t, plain, p.url+portal.SystemsPath)); got != http.StatusForbidden {
		t.Errorf("systems for an employee: %d, want 403", got)
	}
	if got := status(t, post(t, plain, p.url+portal.SystemsPath, url.Values{"name": {"Mit system"}})); got != http.StatusForbidden {
		t.Errorf("creating a system as an employee: %d, want 403", got)
	}
	// Retiring the system retires its privileges.
	resp = post(t, hc, p.url+systemPath, url.Values{"name": {"Momsportalen"}, "status": {"retired"}})
	if doc = page(t, resp); resp.StatusCode != http.StatusOK || text(doc, "publish-form") != "" {
		t.Errorf("retiring the system: %d, publish form %q", resp.StatusCode, text(doc, "publish-form"))
	}
	if n := p.count("SELECT count(*) FROM privileges WHERE status = 'active'"); n != 0 {
		t.Errorf("after retiring the system: %d active privileges", n)
	}
	actions := strings.Join(p.auditActions(&provider.ID), " ")
	for _, a := range []string{"itsystem.created", "privilege.published", "privilege.updated", "itsystem.updated"} {
		if !strings.Contains(actions, a) {
			t.Errorf("the provider's audit log lacks %s: %s", a, actions)
		}
	}
}

func TestAssignPrivilegesAndWhoHasWhat(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	f := p.catalogueFixture()
	ctx := context.Background()
	p.auditEmployee(f.org, "demo-jonas", domain.RoleUserAdmin)
	lars := p.plainUser(f.org, "demo-lars")
	freja := p.plainUser(f.org, "demo-freja")
	hc := browser(t)
	p.loginAs(hc, "/login", "demo-jonas", "code_app").Body.Close()

	privPath := p.url + portal.PrivilegesPath + "/" + f.kle.ID.String()
	doc := page(t, get(t, hc, privPath))
	if doc.Find(`[data-testid="assign-form"]`).Length() != 1 || text(doc, "holders-none") == "" {
		t.Fatalf("privilege page for a user administrator: %q", doc.Find("main").Text())
	}
	if doc.Find(`[data-testid="field-group"]`).Length() != 0 {
		t.Error("a user-only privilege offers groups")
	}
	kleField, pField := "constraint:"+domain.ConstraintKLE, "constraint:"+domain.ConstraintPNumber

	// Every problem at once; nothing stored.
	resp := post(t, hc, privPath+"/assign", url.Values{"users": {"demo-lars@example.dk\nnobody@example.dk"}, "scope": {"p:1012345671"},
		kleField: {"25.2"}, pField: {"123"}, "valid_from": {"2030-02-01"}, "valid_to": {"2030-01-01"}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad assignment: %d", resp.StatusCode)
	}
	if got := text(doc, "error-users"); !strings.Contains(got, "nobody@example.dk") {
		t.Errorf("unknown user: %q", got)
	}
	for _, fld := range []string{"valid_to"} {
		if text(doc, "error-"+fld) == "" {
			t.Errorf("no error for %s: %q", fld, text(doc, "error-summary"))
		}
	}
	if v := doc.Find(`[data-testid="field-users"]`).Text(); !strings.Contains(v, "nobody@example.dk") {
		t.Errorf("the form lost the users: %q", v)
	}
	resp = post(t, hc, privPath+"/assign", url.Values{"users": {"demo-lars@example.dk"}, "scope": {"p:1012345671"},
		kleField: {"25.2"}, pField: {"123"}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusBadRequest || text(doc, "error-"+kleField) == "" || text(doc, "error-"+pField) == "" {
		t.Errorf("bad constraint values: %d %q", resp.StatusCode, text(doc, "error-summary"))
	}
	resp = post(t, hc, privPath+"/assign", url.Values{"users": {"demo-lars@example.dk"}, "scope": {"p:1023456781"}})
	if doc = page(t, resp); resp.StatusCode != http.StatusBadRequest || text(doc, "error-scope") == "" {
		t.Errorf("another organisation's P-number: %d %q", resp.StatusCode, text(doc, "error-summary"))
	}
	if n := p.count("SELECT count(*) FROM privilege_assignments"); n != 0 {
		t.Fatalf("refused assignments stored %d rows", n)
	}

	// Two users at once, one by email and one by UUID.
	resp = post(t, hc, privPath+"/assign", url.Values{"users": {"demo-lars@example.dk\n" + freja.ID.String()}, "scope": {"p:1012345671"},
		kleField: {"25.*"}, "valid_to": {"2099-12-31"}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusOK || text(doc, "notice") == "" {
		t.Fatalf("assign: %d %q", resp.StatusCode, doc.Find("main").Text())
	}
	holders := text(doc, "holders")
	for _, want := range []string{"Lars Vinther", "Freja Lind", "1012345671", "25.*"} {
		if !strings.Contains(holders, want) {
			t.Errorf("holders lack %q: %q", want, holders)
		}
	}
	if n := p.count("SELECT count(*) FROM audit_events WHERE org_id = $1 AND action = 'assignment.created'", f.org.ID); n != 2 {
		t.Errorf("assignment.created events: %d, want 2", n)
	}
	// The same again: a conflict naming Lars.
	resp = post(t, hc, privPath+"/assign", url.Values{"users": {"demo-lars@example.dk"}, "scope": {"p:1012345671"}, kleField: {"25.*"}})
	if doc = page(t, resp); resp.StatusCode != http.StatusConflict || !strings.Contains(text(doc, "error-users"), "Lars Vinther") {
		t.Errorf("assigning twice: %d %q", resp.StatusCode, text(doc, "error-users"))
	}
	// A user administrator gives no privileges to groups.
	g := &domain.Group{OrgID: f.org.ID, Name: "Bogholderi"}
	if err := postgres.NewGroupService(p.db).CreateGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	readPath := p.url + portal.PrivilegesPath + "/" + f.read.ID.String()
	if got := status(t, post(t, hc, readPath+"/assign", url.Values{"group": {g.ID.String()}, "scope": {"cvr:91234564"}})); got != http.StatusForbidden {
		t.Errorf("a user administrator assigning to a group: %d, want 403", got)
	}

	// Who has what, with filters and the export.
	doc = page(t, get(t, hc, p.url+portal.RightsPath))
	if n := doc.Find(`[data-testid="rights-table"] tbody tr`).Length(); n != 2 {
		t.Errorf("who has what: %d rows, want 2", n)
	}
	doc = page(t, get(t, hc, p.url+portal.RightsPath+"?user=vinther"))
	if got := text(doc, "rights-table"); !strings.Contains(got, "Lars Vinther") || strings.Contains(got, "Freja") {
		t.Errorf("filtered by user: %q", got)
	}
	doc = page(t, get(t, hc, p.url+portal.RightsPath+"?unit="+f.aarh.ID.String()))
	if text(doc, "rights-empty") == "" {
		t.Errorf("filtered by the other unit: %q", text(doc, "rights-table"))
	}
	// A name a spreadsheet would run as a formula is exported as text.
	evil := &domain.User{OrgID: f.org.ID, FirstName: "=HYPERLINK(\"http://x\")", LastName: "Test", Email: "evil@example.dk",
		BirthDate: time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC), Status: domain.UserActive}
	if err := p.users.CreateUser(ctx, evil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.rights.CreateAssignments(ctx, postgres.Actor{UserID: f.mette.ID, Label: "Mette"}, postgres.NewAssignments{OrgID: f.org.ID,
		PrivilegeID: f.read.ID, UserIDs: []uuid.UUID{evil.ID}, Scope: domain.Scope{Kind: domain.ScopeCVR, Value: f.org.CVR}}); err != nil {
		t.Fatal(err)
	}
	resp = get(t, hc, p.url+portal.RightsPath+"/export?privilege="+f.read.ID.String())
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment;") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export: %d %v", resp.StatusCode, resp.Header)
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(body), "\ufeff")))
	r.Comma = ';'
	rows, err := r.ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("export: %d rows (%v):\n%s", len(rows), err, body)
	}
	if rows[0][0] != "privilege_uri" || rows[1][0] != f.read.URI || rows[1][5] != evil.ID.String() || !strings.HasPrefix(rows[1][6], "'=HYPERLINK") {
		t.Errorf("export rows: %q", rows)
	}
	if !strings.HasPrefix(string(body), "\ufeff") {
		t.Error("export lacks the byte order mark Excel needs")
	}
	resp = get(t, hc, p.url+portal.RightsPath+"/export")
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if n := strings.Count(string(body), "\r\n"); n != 4 {
		t.Errorf("full export: %d lines, want header and 3 rows:\n%s", n, body)
	}
	if n := p.count("SELECT count(*) FROM audit_events WHERE org_id = $1 AND action = 'assignments.exported'", f.org.ID); n != 2 {
		t.Errorf("exports audited: %d, want 2", n)
	}

	// Removing: another organisation's assignment is not found; our own goes.
	var larsAssignment uuid.UUID
	if err := p.db.SQL().QueryRow("SELECT id FROM privilege_assignments WHERE user_id = $1", lars.ID).Scan(&larsAssignment); err != nil {
		t.Fatal(err)
	}
	henrik := browser(t)
	p.loginAs(henrik, "/login", "demo-henrik", "code_app").Body.Close()
	if got := status(t, post(t, henrik, p.url+portal.RightsPath+"/"+larsAssignment.String()+"/remove", nil)); got != http.StatusNotFound {
		t.Errorf("another organisation removing the assignment: %d, want 404", got)
	}
	// An employee may neither assign nor remove, nor see who has what.
	plain := browser(t)
	p.loginAs(plain, "/login", "demo-lars", "code_app").Body.Close()
	for what, resp := range map[string]*http.Response{
		"assign":       post(t, plain, privPath+"/assign", url.Values{"users": {"demo-lars@example.dk"}, "scope": {"cvr:91234564"}}),
		"remove":       post(t, plain, p.url+portal.RightsPath+"/"+larsAssignment.String()+"/remove", nil),
		"who has what": get(t, plain, p.url+portal.RightsPath),
		"export":       get(t, plain, p.url+portal.RightsPath+"/export"),
		"Freja's page": get(t, plain, p.url+portal.UsersPath+"/"+freja.ID.String()+"/rights"),
	} {
		if got := status(t, resp); got != http.StatusForbidden {
			t.Errorf("an employee's %s: %d, want 403", what, got)
		}
	}
	if got := status(t, get(t, plain, p.url+portal.PrivilegesPath)); got != http.StatusOK {
		t.Errorf("an employee reading the catalogue: %d, want 200", got)
	}
	resp = post(t, hc, p.url+portal.RightsPath+"/"+larsAssignment.String()+"/remove",
		url.Values{"return": {portal.UsersPath + "/" + lars.ID.String() + "/rights"}})
	if doc = page(t, resp); resp.StatusCode != http.StatusOK || resp.Request.URL.Path != portal.UsersPath+"/"+lars.ID.String()+"/rights" || text(doc, "notice") == "" {
		t.Errorf("removing: %d at %s %q", resp.StatusCode, resp.Request.URL, text(doc, "notice"))
	}
	if n := p.count("SELECT count(*) FROM privilege_assignments WHERE id = $1", larsAssignment); n != 0 {
		t.Error("the assignment is still there")
	}
	if n := p.count("SELECT count(*) FROM audit_events WHERE org_id = $1 AND action = 'assignment.removed'", f.org.ID); n != 1 {
		t.Errorf("assignment.removed events: %d, want 1", n)
	}
	// A return address elsewhere is ignored.
	var frejaAssignment uuid.UUID
	if err := p.db.SQL().QueryRow("SELECT id FROM privilege_assignments WHERE user_id = $1", freja.ID).Scan(&frejaAssignment); err != nil {
		t.Fatal(err)
	}
	resp = post(t, hc, p.url+portal.RightsPath+"/"+frejaAssignment.String()+"/remove", url.Values{"return": {"https://example.com/"}})
	if status(t, resp); resp.Request.URL.Path != portal.RightsPath || resp.Request.URL.Host != strings.TrimPrefix(p.url, "http://") {
		t.Errorf("removing with a foreign return address landed at %s", resp.Request.URL)
	}
}

func TestGroupPrivilegesOnTheGroupPage(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	f := p.catalogueFixture()
	ctx := context.Background()
	groups := postgres.NewGroupService(p.db)
	all := &domain.Group{OrgID: f.org.ID, Name: "Alle"}
	aarhus := &domain.Group{OrgID: f.org.ID, Name: "Aarhus", ProductionUnitID: &f.aarh.ID}
	for _, g := range []*domain.Group{all, aarhus} {
		if err := groups.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	hc := browser(t)
	p.loginAs(hc, "/login", "demo-mette", "code_app").Body.Close()

	groupURL := p.url + portal.GroupsPath + "/" + all.ID.String()
	doc := page(t, get(t, hc, groupURL))
	if text(doc, "group-privileges-none") == "" || doc.Find(`[data-testid="choose-privilege"] option[value="`+f.read.ID.String()+`"]`).Length() != 1 ||
		doc.Find(`[data-testid="choose-privilege"] option[value="`+f.kle.ID.String()+`"]`).Length() != 0 {
		t.Fatalf("group page: %q", doc.Find("main").Text())
	}
	// Choosing leads to the privilege with the group filled in.
	resp := get(t, hc, p.url+portal.PrivilegesPath+"/choose?privilege="+f.read.ID.String()+"&group="+all.ID.String())
	doc = page(t, resp)
	if v, _ := doc.Find(`[data-testid="field-group"] option[selected]`).Attr("value"); v != all.ID.String() {
		t.Fatalf("the chosen privilege's form has group %q, want %s", v, all.ID)
	}
	ret, _ := doc.Find(`[data-testid="assign-form"] input[name="return"]`).Attr("value")
	// The user-only privilege is refused for a group.
	resp = post(t, hc, p.url+portal.PrivilegesPath+"/"+f.kle.ID.String()+"/assign", url.Values{"group": {all.ID.String()}, "scope": {"cvr:91234564"}})
	if doc = page(t, resp); resp.StatusCode != http.StatusBadRequest || text(doc, "error-summary") == "" {
		t.Errorf("a user-only privilege to a group: %d %q", resp.StatusCode, text(doc, "error-summary"))
	}
	// A group restricted to Aarhus takes only Aarhus's P-number.
	resp = post(t, hc, p.url+portal.PrivilegesPath+"/"+f.read.ID.String()+"/assign", url.Values{"group": {aarhus.ID.String()}, "scope": {"p:1012345671"}})
	if doc = page(t, resp); resp.StatusCode != http.StatusBadRequest || text(doc, "error-scope") == "" {
		t.Errorf("a restricted group, another unit: %d %q", resp.StatusCode, text(doc, "error-summary"))
	}
	resp = post(t, hc, p.url+portal.PrivilegesPath+"/"+f.read.ID.String()+"/assign", url.Values{"group": {all.ID.String()}, "scope": {"cvr:91234564"},
		"return": {ret}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != portal.GroupsPath+"/"+all.ID.String() || !strings.Contains(text(doc, "group-privileges"), "Se moms") {
		t.Fatalf("assigning to the group: %d at %s %q", resp.StatusCode, resp.Request.URL, doc.Find("main").Text())
	}
	var id uuid.UUID
	if err := p.db.SQL().QueryRow("SELECT id FROM privilege_assignments WHERE group_id = $1", all.ID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	resp = post(t, hc, p.url+portal.RightsPath+"/"+id.String()+"/remove", url.Values{"return": {"/portal/groups/" + all.ID.String()}})
	if doc = page(t, resp); text(doc, "group-privileges-none") == "" || text(doc, "notice") == "" {
		t.Errorf("after removing: %q", doc.Find("main").Text())
	}
}

func TestUnitLimitedAdministratorAssignsWithinTheUnit(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	f := p.catalogueFixture()
	ctx := context.Background()
	peter := p.plainUser(f.org, "demo-peter")
	if err := p.roles.AssignAdminRole(ctx, &domain.AdminRole{OrgID: f.org.ID, UserID: peter.ID, Role: domain.RoleUserAdmin, ProductionUnitID: &f.aarh.ID}); err != nil {
		t.Fatal(err)
	}
	lars := p.plainUser(f.org, "demo-lars") // no unit
	freja := p.plainUser(f.org, "demo-freja")
	freja.ProductionUnitID = &f.aarh.ID
	if err := p.users.UpdateUser(ctx, freja); err != nil {
		t.Fatal(err)
	}
	if _, err := f.rights.CreateAssignments(ctx, postgres.Actor{UserID: f.mette.ID, Label: "Mette"}, postgres.NewAssignments{OrgID: f.org.ID,
		PrivilegeID: f.read.ID, UserIDs: []uuid.UUID{lars.ID}, Scope: domain.Scope{Kind: domain.ScopeCVR, Value: f.org.CVR}}); err != nil {
		t.Fatal(err)
	}
	hc := browser(t)
	p.loginAs(hc, "/login", "demo-peter", "code_app").Body.Close()
	assign := p.url + portal.PrivilegesPath + "/" + f.read.ID.String() + "/assign"
	for what, form := range map[string]url.Values{
		"a user of no unit":               {"users": {"demo-lars@example.dk"}, "scope": {"p:1012345672"}},
		"the whole CVR":                   {"users": {"demo-freja@example.dk"}, "scope": {"cvr:91234564"}},
		"another unit's P-number":         {"users": {"demo-freja@example.dk"}, "scope": {"p:1012345671"}},
		"a user of the unit with another": {"users": {"demo-freja@example.dk\ndemo-lars@example.dk"}, "scope": {"p:1012345672"}},
	} {
		if got := status(t, post(t, hc, assign, form)); got != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", what, got)
		}
	}
	if n := p.count("SELECT count(*) FROM privilege_assignments"); n != 1 {
		t.Fatalf("refusals stored assignments: %d rows", n)
	}
	resp := post(t, hc, assign, url.Values{"users": {"demo-freja@example.dk"}, "scope": {"p:1012345672"}})
	if status(t, resp); resp.StatusCode != http.StatusOK {
		t.Errorf("within the unit: %d", resp.StatusCode)
	}
	// The list shows his unit's only, and another unit is refused.
	doc := page(t, get(t, hc, p.url+portal.RightsPath))
	if got := text(doc, "rights-table"); !strings.Contains(got, "Freja") || strings.Contains(got, "Lars") {
		t.Errorf("who has what for Aarhus's administrator: %q", got)
	}
	if got := status(t, get(t, hc, p.url+portal.RightsPath+"?unit="+f.kbh.ID.String())); got != http.StatusForbidden {
		t.Errorf("another unit's list: %d, want 403", got)
	}
	if got := status(t, get(t, hc, p.url+portal.UsersPath+"/"+lars.ID.String()+"/rights")); got != http.StatusForbidden {
		t.Errorf("the rights of a user outside the unit: %d, want 403", got)
	}
}

func TestUserRightsPageExplainsWhy(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	f := p.catalogueFixture()
	ctx := context.Background()
	lars := p.plainUser(f.org, "demo-lars")
	g := &domain.Group{OrgID: f.org.ID, Name: "Bogholderi"}
	if err := postgres.NewGroupService(p.db).CreateGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	if err := postgres.NewGroupService(p.db).AddGroupMember(ctx, &domain.GroupMember{OrgID: f.org.ID, GroupID: g.ID, UserID: lars.ID, MemberOrgID: f.org.ID}); err != nil {
		t.Fatal(err)
	}
	actor := postgres.Actor{UserID: f.mette.ID, Label: "Mette Nordlys"}
	until := time.Now().AddDate(1, 0, 0)
	later := time.Now().AddDate(0, 1, 0)
	for _, n := range []postgres.NewAssignments{
		{PrivilegeID: f.kle.ID, UserIDs: []uuid.UUID{lars.ID}, Scope: domain.Scope{Kind: domain.ScopeP, Value: f.kbh.PNumber},
			ConstraintValues: map[string]string{domain.ConstraintKLE: "25.*"}, ValidTo: &until},
		{PrivilegeID: f.read.ID, GroupID: &g.ID, Scope: domain.Scope{Kind: domain.ScopeCVR, Value: f.org.CVR}},
		{PrivilegeID: f.read.ID, UserIDs: []uuid.UUID{lars.ID}, Scope: domain.Scope{Kind: domain.ScopeCVR, Value: f.org.CVR}, ValidFrom: &later},
	} {
		n.OrgID = f.org.ID
		if _, err := f.rights.CreateAssignments(ctx, actor, n); err != nil {
			t.Fatal(err)
		}
	}
	// Lars sees his own, with why.
	hc := browser(t)
	p.loginAs(hc, "/login", "demo-lars", "code_app").Body.Close()
	resp := get(t, hc, p.url+"/portal/me/rights")
	doc := page(t, resp)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != portal.UsersPath+"/"+lars.ID.String()+"/rights" {
		t.Fatalf("my rights: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	if msg := text(doc, "effective-problem"); msg != "" {
		t.Fatalf("the rights service could not explain: %q", msg)
	}
	inEffect := text(doc, "rights-in-effect")
	for _, want := range []string{"Behandl momssager", "Tildelt direkte", "P-nummer 1012345671", "25.*", "Se moms", "Gennem gruppen Bogholderi",
		domain.FormatDate(until, "da")} {
		if !strings.Contains(inEffect, want) {
			t.Errorf("in effect lacks %q: %q", want, inEffect)
		}
	}
	if strings.Contains(inEffect, "Bogholderi (Nordlys") {
		t.Errorf("the user's own organisation is named again for its group: %q", inEffect)
	}
	if got := text(doc, "rights-not-in-effect"); !strings.Contains(got, "Se moms") || !strings.Contains(got, "gælder ikke endnu") {
		t.Errorf("not in effect: %q", got)
	}
	if doc.Find(`[data-testid="direct-assignments"]`).Length() != 0 || doc.Find(`[data-testid="choose-privilege"]`).Length() != 0 {
		t.Error("an employee is offered to manage their own assignments")
	}
	// Mette sees Lars's, with the direct assignments to manage, in English.
	mette := browser(t)
	p.loginAs(mette, "/login", "demo-mette", "code_app").Body.Close()
	doc = page(t, get(t, mette, p.url+portal.UsersPath+"/"+lars.ID.String()))
	if href, _ := doc.Find(`[data-testid="user-rights"]`).Attr("href"); href != portal.UsersPath+"/"+lars.ID.String()+"/rights" {
		t.Errorf("the user's page links the rights page as %q", href)
	}
	doc = page(t, get(t, mette, p.url+portal.UsersPath+"/"+lars.ID.String()+"/rights?lang=en"))
	if got := text(doc, "rights-in-effect"); !strings.Contains(got, "Through the group Bogholderi") || !strings.Contains(got, "Handle VAT cases") {
		t.Errorf("in effect, in English: %q", got)
	}
	if n := doc.Find(`[data-testid="direct-assignments"] tbody tr`).Length(); n != 2 {
		t.Errorf("direct assignments: %d, want 2", n)
	}
	if doc.Find(`[data-testid="choose-privilege"]`).Length() != 1 {
		t.Error("no assign form for the organisation administrator")
	}
	// Another organisation's user is not found.
	henrik := browser(t)
	p.loginAs(henrik, "/login", "demo-henrik", "code_app").Body.Close()
	if got := status(t, get(t, henrik, p.url+portal.UsersPath+"/"+lars.ID.String()+"/rights")); got != http.StatusNotFound {
		t.Errorf("another organisation's user's rights: %d, want 404", got)
	}
}

// An administrator limited to a unit removes only what they could have
// given: a privilege of the unit's user for the unit's P-number, not one
// for the whole CVR or another unit's P-number, nor one passed on from a
// power of attorney (that takes assignment.remove for the whole
// organisation, as on the power of attorney's page). "Who has which right",
// on the page and exported, shows them the unit's users' assignments only,
// not another user's assignment for the unit's P-number.
func TestUnitLimitedAdministratorRemovesAndSeesWithinTheUnit(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	f := p.catalogueFixture()
	ctx := context.Background()
	peter := p.plainUser(f.org, "demo-peter")
	if err := p.roles.AssignAdminRole(ctx, &domain.AdminRole{OrgID: f.org.ID, UserID: peter.ID, Role: domain.RoleUserAdmin, ProductionUnitID: &f.aarh.ID}); err != nil {
		t.Fatal(err)
	}
	lars := p.plainUser(f.org, "demo-lars") // no unit
	freja := p.plainUser(f.org, "demo-freja")
	freja.ProductionUnitID = &f.aarh.ID
	if err := p.users.UpdateUser(ctx, freja); err != nil {
		t.Fatal(err)
	}
	mette := postgres.Actor{UserID: f.mette.ID, Label: "Mette"}
	give := func(u *domain.User, sc domain.Scope) uuid.UUID {
		t.Helper()
		out, err := f.rights.CreateAssignments(ctx, mette, postgres.NewAssignments{OrgID: f.org.ID, PrivilegeID: f.read.ID, UserIDs: []uuid.UUID{u.ID}, Scope: sc})
		if err != nil {
			t.Fatal(err)
		}
		return out[0].ID
	}
	whole := give(freja, domain.Scope{Kind: domain.ScopeCVR, Value: f.org.CVR})
	kbh := give(freja, domain.Scope{Kind: domain.ScopeP, Value: f.kbh.PNumber})
	own := give(freja, domain.Scope{Kind: domain.ScopeP, Value: f.aarh.PNumber})
	larsAarhus := give(lars, domain.Scope{Kind: domain.ScopeP, Value: f.aarh.PNumber})
	// Skattefar's power of attorney to Nordlys, passed on to Freja.
	var poaID uuid.UUID
	if err := p.db.SQL().QueryRow(`INSERT INTO powers_of_attorney (org_id, grantee_org_id, status, scope_kind, scope_value)
		VALUES ($1, $2, 'active', 'cvr', $3) RETURNING id`, f.provider.ID, f.org.ID, f.provider.CVR).Scan(&poaID); err != nil {
		t.Fatal(err)
	}
	passed := &domain.Assignment{OrgID: f.org.ID, PrivilegeID: f.read.ID, UserID: &freja.ID,
		Scope: domain.Scope{Kind: domain.ScopeCVR, Value: f.provider.CVR}, ViaPoAID: &poaID, GrantedBy: &f.mette.ID}
	if err := f.rights.CreateAssignment(ctx, passed); err != nil {
		t.Fatal(err)
	}

	hc := browser(t)
	p.loginAs(hc, "/login", "demo-peter", "code_app").Body.Close()
	doc := page(t, get(t, hc, p.url+portal.RightsPath))
	if got := text(doc, "rights-table"); !strings.Contains(got, "Freja") || strings.Contains(got, "Lars") {
		t.Errorf("who has what for Aarhus's administrator: %q", got)
	}
	if n := doc.Find(`[data-testid="rights-table"] tbody tr`).Length(); n != 4 {
		t.Errorf("who has what for Aarhus's administrator: %d rows, want Freja's 4", n)
	}
	// The privilege's own page lists the same holders.
	holders := text(page(t, get(t, hc, p.url+"/portal/privileges/"+f.read.ID.String())), "holders")
	if !strings.Contains(holders, "Freja") || strings.Contains(holders, "Lars") {
		t.Errorf("the privilege's holders for Aarhus's administrator: %q", holders)
	}
	for id, want := range map[uuid.UUID]bool{whole: false, kbh: false, passed.ID: false, own: true} {
		if got := doc.Find(`[data-testid="remove-assignment-`+id.String()+`"]`).Length() == 1; got != want {
			t.Errorf("remove button for %s: %v, want %v", id, got, want)
		}
	}
	for _, q := range []string{"", "?unit=" + f.aarh.ID.String()} {
		resp := get(t, hc, p.url+portal.RightsPath+"/export"+q)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		r := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(body), "\ufeff")))
		r.Comma = ';'
		rows, err := r.ReadAll()
		if resp.StatusCode != http.StatusOK || err != nil || len(rows) != 5 {
			t.Fatalf("export%s: %d, %d rows (%v):\n%s", q, resp.StatusCode, len(rows), err, body)
		}
		for _, row := range rows[1:] {
			if row[5] != freja.ID.String() {
				t.Errorf("export%s shows %q, want Freja's only", q, row)
			}
		}
	}

	remove := func(hc *http.Client, id uuid.UUID) int {
		t.Helper()
		return status(t, post(t, hc, p.url+portal.RightsPath+"/"+id.String()+"/remove", nil))
	}
	for what, id := range map[string]uuid.UUID{"for the whole CVR": whole, "for another unit's P-number": kbh,
		"passed on from a power of attorney": passed.ID, "of a user of no unit": larsAarhus} {
		if got := remove(hc, id); got != http.StatusForbidden {
			t.Errorf("removing Freja's privilege %s: %d, want 403", what, got)
		}
	}
	if n := p.count("SELECT count(*) FROM privilege_assignments"); n != 5 {
		t.Fatalf("refusals removed assignments: %d rows left, want 5", n)
	}
	if got := remove(hc, own); got != http.StatusOK {
		t.Errorf("removing Freja's privilege for the unit's P-number: %d, want 200", got)
	}
	if n := p.count("SELECT count(*) FROM privilege_assignments WHERE id = $1", own); n != 0 {
		t.Error("the unit's assignment is still there")
	}

	// The organisation administrator takes the passed-on privilege back
	// from "who has which right": Skattefar's log says so, as when it is
	// taken back on the power of attorney's page.
	mhc := browser(t)
	p.loginAs(mhc, "/login", "demo-mette", "code_app").Body.Close()
	if got := remove(mhc, passed.ID); got != http.StatusOK {
		t.Fatalf("the organisation administrator removing the passed-on privilege: %d, want 200", got)
	}
	for _, c := range []struct {
		org    *domain.Organisation
		action string
	}{{f.org, "assignment.removed"}, {f.provider, "poa.passed_on_removed"}} {
		want := 1
		if c.org == f.org {
			want = 2 // Peter's and Mette's
		}
		if n := p.count("SELECT count(*) FROM audit_events WHERE org_id = $1 AND action = $2", c.org.ID, c.action); n != want {
			t.Errorf("%s in %s's log: %d, want %d", c.action, c.org.Name, n, want)
		}
	}
	if v, err := postgres.NewAuditLog(p.db).VerifyAudit(ctx, &f.provider.ID); err != nil || v.BrokenAt != 0 {
		t.Errorf("Skattefar's chain: %+v (%v)", v, err)
	}
}
