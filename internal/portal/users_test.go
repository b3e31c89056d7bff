package portal_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/portal"
	"github.com/erhverv/erhverv/internal/postgres"
)

// plainUser is an active employee without administrator roles, linked to
// the simulator's subject so they can log in.
func (p *platform) plainUser(org *domain.Organisation, subject string) *domain.User {
	p.t.Helper()
	ctx := context.Background()
	id, _ := p.sim.Identity(subject)
	u := &domain.User{OrgID: org.ID, FirstName: id.FirstName, LastName: id.LastName, Email: subject + "@example.dk", CPR: id.CPR, Status: domain.UserActive}
	if err := p.users.CreateUser(ctx, u); err != nil {
		p.t.Fatal(err)
	}
	if err := p.users.LinkPerson(ctx, &domain.PersonLink{OrgID: org.ID, UserID: u.ID, BrokerIssuer: p.sim.Issuer(), BrokerSubject: subject}); err != nil {
		p.t.Fatal(err)
	}
	return u
}

func post(t *testing.T, hc *http.Client, u string, form url.Values) *http.Response {
	t.Helper()
	resp, err := hc.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func get(t *testing.T, hc *http.Client, u string) *http.Response {
	t.Helper()
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestUserAdministration(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	org, admin := p.employ("demo-jonas", "91234564", "Nordlys Rådgivning ApS")
	// User administration is the user administrator's; Jonas holds both roles.
	if err := p.roles.AssignAdminRole(context.Background(), &domain.AdminRole{OrgID: org.ID, UserID: admin.ID, Role: domain.RoleUserAdmin}); err != nil {
		t.Fatal(err)
	}
	lars := p.plainUser(org, "demo-lars")
	other, _ := p.employ("demo-henrik", "93847261", "Skattefar Digital A/S")
	stranger := p.plainUser(other, "demo-anders")
	hc := browser(t)
	p.loginAs(hc, "/login", "demo-jonas", "code_app").Body.Close()

	// The list, its search and the menu.
	doc := page(t, get(t, hc, p.url+portal.UsersPath))
	if doc.Find(`[data-testid="user-`+lars.ID.String()+`"]`).Length() != 1 || doc.Find(`[data-testid="user-`+stranger.ID.String()+`"]`).Length() != 0 {
		t.Fatalf("users list: %s", text(doc, "users-table"))
	}
	if !strings.Contains(doc.Find("nav").Text(), "Brugere") {
		t.Error("no Users entry in the menu")
	}
	doc = page(t, get(t, hc, p.url+portal.UsersPath+"?q=vinther"))
	if n := doc.Find(`[data-testid="users-table"] tbody tr`).Length(); n != 1 {
		t.Errorf("search for vinther: %d rows, want 1", n)
	}
	// Another organisation's user is not found.
	if resp := get(t, hc, p.url+portal.UsersPath+"/"+stranger.ID.String()); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another organisation's user: %d, want 404", resp.StatusCode)
	}

	// Create: a bad form keeps what was typed and says what is wrong; then a
	// person without CPR gets a code; a duplicate email is a field error.
	resp := post(t, hc, p.url+portal.UsersPath, url.Values{"first_name": {"<b>Ida</b>"}, "email": {"ida"}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusBadRequest || text(doc, "error-email") == "" || text(doc, "error-birth_date") == "" {
		t.Fatalf("bad create: %d %q %q", resp.StatusCode, text(doc, "error-summary"), doc.Find("main").Text())
	}
	if v, _ := doc.Find(`[data-testid="field-first_name"]`).Attr("value"); v != "<b>Ida</b>" || doc.Find("main b").Length() != 0 {
		t.Errorf("markup in a field: value %q, rendered as markup: %d", v, doc.Find("main b").Length())
	}
	resp = post(t, hc, p.url+portal.UsersPath, url.Values{"first_name": {"Ida"}, "last_name": {"Holm"}, "email": {"ida@nordlys.example.dk"}, "birth_date": {"1990-02-03"}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusOK || len(text(doc, "activation-code")) != 11 {
		t.Fatalf("create without CPR: %d %q", resp.StatusCode, text(doc, "main"))
	}
	if n := p.mail.last(t); n.Template != "activation" || n.To != "ida@nordlys.example.dk" || n.Data["NeedsCode"] != "true" {
		t.Errorf("activation mail: %+v", n)
	}
	resp = post(t, hc, p.url+portal.UsersPath, url.Values{"first_name": {"Ida"}, "last_name": {"Holm"}, "email": {"IDA@nordlys.example.dk"}, "cpr": {"0302901234"}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(text(doc, "error-email"), "findes allerede") {
		t.Errorf("duplicate email: %d %q", resp.StatusCode, text(doc, "error-email"))
	}

	// Roles: make Lars user administrator.
	resp = post(t, hc, p.url+portal.UsersPath+"/"+lars.ID.String()+"/roles", url.Values{"role": {"user_admin"}})
	doc = page(t, resp)
	if !strings.Contains(text(doc, "user-roles"), "Brugeradministrator") || text(doc, "notice") == "" {
		t.Errorf("after assigning: roles %q notice %q", text(doc, "user-roles"), text(doc, "notice"))
	}
	if n := p.mail.last(t); n.Template != "admin_role_assigned" || n.To != "demo-lars@example.dk" || n.Data["Role"] != "user_admin" {
		t.Errorf("role mail: %+v", n)
	}

	// Lars's page tells what happened to him.
	if got := text(page(t, get(t, hc, p.url+portal.UsersPath+"/"+lars.ID.String())), "user-activity"); !strings.Contains(got, "Jonas Berg") {
		t.Errorf("Lars's activity: %q", got)
	}

	// Deactivate with a stale version: a conflict with the current data.
	resp = post(t, hc, p.url+portal.UsersPath+"/"+lars.ID.String()+"/status", url.Values{"to": {"deactivated"}, "version": {"0"}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(text(doc, "problem"), "En anden har ændret") || text(doc, "user-heading") != "Lars Vinther" {
		t.Errorf("stale deactivate: %d %q", resp.StatusCode, text(doc, "problem"))
	}
	cur, _ := p.users.FindUserByID(context.Background(), org.ID, lars.ID)
	resp = post(t, hc, p.url+portal.UsersPath+"/"+lars.ID.String()+"/status", url.Values{"to": {"deactivated"}, "version": {strconv.Itoa(cur.Version)}})
	doc = page(t, resp)
	if !strings.Contains(text(doc, "status"), "Deaktiveret") {
		t.Errorf("after deactivating: status %q", text(doc, "status"))
	}

	// Deleting asks once more, then erases the data; the UUID stays.
	cur, _ = p.users.FindUserByID(context.Background(), org.ID, lars.ID)
	resp = post(t, hc, p.url+portal.UsersPath+"/"+lars.ID.String()+"/status", url.Values{"to": {"deleted"}, "version": {strconv.Itoa(cur.Version)}})
	doc = page(t, resp)
	if doc.Find(`[data-testid="confirm-delete"]`).Length() != 1 {
		t.Fatalf("delete without confirming: %q", doc.Find("main").Text())
	}
	if still, _ := p.users.FindUserByID(context.Background(), org.ID, lars.ID); still.Status != domain.UserDeactivated {
		t.Errorf("status before confirming: %s", still.Status)
	}
	resp = post(t, hc, p.url+portal.UsersPath+"/"+lars.ID.String()+"/status", url.Values{"to": {"deleted"}, "confirm": {"yes"}, "version": {strconv.Itoa(cur.Version)}})
	doc = page(t, resp)
	if got, _ := p.users.FindUserByID(context.Background(), org.ID, lars.ID); got.Status != domain.UserDeleted || got.FirstName != "" || got.Email != "" {
		t.Errorf("after deleting: %+v", got)
	}

	// The last organisation administrator cannot deactivate himself; the
	// page says why.
	me, _ := p.users.FindUserByID(context.Background(), org.ID, admin.ID)
	resp = post(t, hc, p.url+portal.UsersPath+"/"+admin.ID.String()+"/status", url.Values{"to": {"deactivated"}, "version": {strconv.Itoa(me.Version)}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(doc.Find("main").Text(), "sidste aktive organisationsadministrator") {
		t.Errorf("deactivating the last org admin: %d %q", resp.StatusCode, doc.Find("main").Text())
	}

	// The dashboard counts them.
	doc = page(t, get(t, hc, p.url+portal.OverviewPath))
	if got := text(doc, "my-activity"); !strings.Contains(got, "Bruger slettet") || !strings.Contains(got, "Bruger oprettet") {
		t.Errorf("my activity: %q, want what I did", got)
	}
	for testid, want := range map[string]string{"count-active": "1", "count-pending": "1", "count-deactivated": "0"} {
		if got := strings.Fields(text(doc, testid)); len(got) == 0 || got[0] != want {
			t.Errorf("dashboard %s: %q, want %s", testid, text(doc, testid), want)
		}
	}

	// Every change is in the audit log, with who and from where.
	rows, err := p.db.SQL().Query("SELECT action, actor_id, details->>'address' FROM audit_events WHERE org_id = $1 AND actor_id = $2 ORDER BY seq", org.ID, admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var action, actorID string
		var address *string
		if err := rows.Scan(&action, &actorID, &address); err != nil {
			t.Fatal(err)
		}
		if action != "session.started" && action != "activation.issued" && (address == nil || *address == "") {
			t.Errorf("%s without the client's address", action)
		}
		got = append(got, action)
	}
	want := "session.started,user.created,activation.issued,admin_role.assigned,user.deactivated,user.deleted"
	if strings.Join(got, ",") != want {
		t.Errorf("audit by the administrator:\n got %s\nwant %s", strings.Join(got, ","), want)
	}
}

func TestEmployeeWithoutRolesIsRefusedWithTheReason(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	org, _ := p.employ("demo-jonas", "91234564", "Nordlys Rådgivning ApS")
	p.plainUser(org, "demo-lars")
	hc := browser(t)
	p.loginAs(hc, "/login", "demo-lars", "code_app").Body.Close()
	doc := page(t, get(t, hc, p.url+portal.OverviewPath))
	if strings.Contains(doc.Find("nav").Text(), "Brugere") {
		t.Error("the menu offers Users to an employee without roles")
	}
	resp := get(t, hc, p.url+portal.UsersPath)
	doc = page(t, resp)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(doc.Find("main").Text(), "Ingen af dine administratorroller") {
		t.Errorf("users list for an employee: %d %q", resp.StatusCode, doc.Find("main").Text())
	}
	resp = post(t, hc, p.url+portal.UsersPath, url.Values{"first_name": {"X"}, "last_name": {"Y"}, "email": {"x@y.dk"}, "cpr": {"0101801234"}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("create by an employee: %d, want 403", resp.StatusCode)
	}
	var n int
	if err := p.db.SQL().QueryRow("SELECT count(*) FROM users WHERE email = 'x@y.dk'").Scan(&n); err != nil || n != 0 {
		t.Errorf("users created by a refused request: %d %v", n, err)
	}
}

func TestOrganisationSettings(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	org, _ := p.employ("demo-jonas", "91234564", "Nordlys Rådgivning ApS")
	if err := p.orgs.CreateProductionUnit(context.Background(), &domain.ProductionUnit{OrgID: org.ID, PNumber: "1012345671", Name: "København"}); err != nil {
		t.Fatal(err)
	}
	hc := browser(t)
	p.loginAs(hc, "/login", "demo-jonas", "code_app").Body.Close()
	doc := page(t, get(t, hc, p.url+portal.OrganisationPath))
	if !strings.Contains(text(doc, "units"), "1012345671") || doc.Find(`[data-testid="settings-save"]`).Length() != 1 {
		t.Fatalf("organisation page: units %q", text(doc, "units"))
	}
	resp := post(t, hc, p.url+portal.OrganisationPath+"/settings", url.Values{"notification_email": {"not-an-email"}, "mandatory_user_fields": {"phone"}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusBadRequest || text(doc, "error-notification_email") == "" {
		t.Errorf("bad settings: %d %q", resp.StatusCode, text(doc, "error-summary"))
	}
	resp = post(t, hc, p.url+portal.OrganisationPath+"/settings", url.Values{"notification_email": {"it@nordlys.example.dk"},
		"mandatory_user_fields": {"phone", "department"}, "allow_private_mitid": {"yes"}})
	doc = page(t, resp)
	if text(doc, "notice") == "" {
		t.Errorf("after saving: %q", doc.Find("main").Text())
	}
	got, _ := p.orgs.FindOrganisationByID(context.Background(), org.ID)
	if got.Settings.NotificationEmail != "it@nordlys.example.dk" || len(got.Settings.MandatoryUserFields) != 2 || !got.Settings.AllowPrivateMitID {
		t.Errorf("stored settings: %+v", got.Settings)
	}
	var before, after string
	if err := p.db.SQL().QueryRow(`SELECT details->'before'->>'notification_email', details->'after'->>'notification_email'
		FROM audit_events WHERE org_id = $1 AND action = 'organisation.settings_changed'`, org.ID).Scan(&before, &after); err != nil || after != "it@nordlys.example.dk" {
		t.Errorf("settings audit: before %q after %q, %v", before, after, err)
	}

	// A user administrator reads but cannot change them.
	lars := p.plainUser(org, "demo-lars")
	if err := p.roles.AssignAdminRole(context.Background(), &domain.AdminRole{OrgID: org.ID, UserID: lars.ID, Role: domain.RoleUserAdmin}); err != nil {
		t.Fatal(err)
	}
	lhc := browser(t)
	p.loginAs(lhc, "/login", "demo-lars", "code_app").Body.Close()
	resp = get(t, lhc, p.url+portal.OrganisationPath)
	doc = page(t, resp)
	if resp.StatusCode != http.StatusOK || doc.Find(`[data-testid="settings-save"]`).Length() != 0 {
		t.Errorf("organisation page for a user administrator: %d, save button %d", resp.StatusCode, doc.Find(`[data-testid="settings-save"]`).Length())
	}
	resp = post(t, lhc, p.url+portal.OrganisationPath+"/settings", url.Values{"notification_email": {"evil@example.dk"}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("settings by a user administrator: %d, want 403", resp.StatusCode)
	}
}

func TestAdministratorRoleRequests(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	ctx := context.Background()
	org, _ := p.employ("demo-mette", "91234564", "Nordlys Rådgivning ApS")
	lars := p.plainUser(org, "demo-lars")
	jonas := p.plainUser(org, "demo-jonas")
	if err := p.roles.AssignAdminRole(ctx, &domain.AdminRole{OrgID: org.ID, UserID: jonas.ID, Role: domain.RoleUserAdmin}); err != nil {
		t.Fatal(err)
	}

	// Lars asks to become user administrator: too short a reason first.
	lhc := browser(t)
	p.loginAs(lhc, "/login", "demo-lars", "code_app").Body.Close()
	resp := post(t, lhc, p.url+portal.RequestsPath, url.Values{"role": {"user_admin"}, "reason": {"fordi"}})
	doc := page(t, resp)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(text(doc, "error-reason"), "mindst 10 tegn") {
		t.Fatalf("short reason: %d %q", resp.StatusCode, text(doc, "error-reason"))
	}
	resp = post(t, lhc, p.url+portal.RequestsPath, url.Values{"role": {"user_admin"}, "reason": {"Jeg skal oprette de nye kolleger i Aarhus"}})
	doc = page(t, resp)
	if text(doc, "requested") == "" || !strings.Contains(text(doc, "my-requests"), "afventer") {
		t.Fatalf("after requesting: %q", text(doc, "my-requests"))
	}
	reqs, err := p.db.SQL().Query("SELECT id FROM rights_requests WHERE requester_id = $1", lars.ID)
	if err != nil {
		t.Fatal(err)
	}
	var reqID string
	for reqs.Next() {
		if err := reqs.Scan(&reqID); err != nil {
			t.Fatal(err)
		}
	}
	reqs.Close()

	// Jonas, a mere user administrator, is refused with the reason.
	jhc := browser(t)
	p.loginAs(jhc, "/login", "demo-jonas", "code_app").Body.Close()
	resp = post(t, jhc, p.url+portal.RequestsPath+"/"+reqID+"/decide", url.Values{"decision": {"approve"}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(doc.Find("main").Text(), "brugeradministrator kan ikke godkende") &&
		!strings.Contains(doc.Find("main").Text(), "Ingen af dine administratorroller") {
		t.Errorf("approval by a user administrator: %d %q", resp.StatusCode, doc.Find("main").Text())
	}

	// Mette, organisation administrator: rejecting needs a comment; approving
	// gives Lars the role and tells him.
	mhc := browser(t)
	p.loginAs(mhc, "/login", "demo-mette", "code_app").Body.Close()
	if got := text(page(t, get(t, mhc, p.url+portal.OverviewPath)), "pending-requests"); got != "1" {
		t.Errorf("dashboard's pending requests: %q, want 1", got)
	}
	doc = page(t, get(t, mhc, p.url+portal.RequestsPath))
	if doc.Find(`[data-testid="request-`+reqID+`"]`).Length() != 1 {
		t.Fatalf("pending requests: %q", doc.Find("main").Text())
	}
	resp = post(t, mhc, p.url+portal.RequestsPath+"/"+reqID+"/decide", url.Values{"decision": {"reject"}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusBadRequest || text(doc, "error-comment") == "" {
		t.Errorf("reject without a comment: %d", resp.StatusCode)
	}
	resp = post(t, mhc, p.url+portal.RequestsPath+"/"+reqID+"/decide", url.Values{"decision": {"approve"}, "comment": {"God idé"}})
	doc = page(t, resp)
	if text(doc, "notice") == "" {
		t.Fatalf("after approving: %q", doc.Find("main").Text())
	}
	roles, _ := p.roles.ListAdminRolesOfUser(ctx, org.ID, lars.ID)
	if len(roles) != 1 || roles[0].Role != domain.RoleUserAdmin {
		t.Errorf("Lars's roles after approval: %+v", roles)
	}
	if n := p.mail.last(t); n.Template != "request_decided" || n.Data["Decision"] != "approved" || n.To != "demo-lars@example.dk" {
		t.Errorf("decision mail: %+v", n)
	}
	// With two organisation administrators, the role can be removed from the page.
	if err := p.roles.AssignAdminRole(ctx, &domain.AdminRole{OrgID: org.ID, UserID: lars.ID, Role: domain.RoleOrgAdmin}); err != nil {
		t.Fatal(err)
	}
	doc = page(t, get(t, mhc, p.url+portal.UsersPath+"/"+lars.ID.String()))
	if doc.Find(`[data-testid^="remove-role-"]`).Length() != 2 {
		t.Errorf("remove buttons on Lars's two roles: %d", doc.Find(`[data-testid^="remove-role-"]`).Length())
	}
	// Deciding again is a conflict, not a second role.
	resp = post(t, mhc, p.url+portal.RequestsPath+"/"+reqID+"/decide", url.Values{"decision": {"approve"}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("second decision: %d, want 409", resp.StatusCode)
	}
}

func TestEditUserWithOptimisticLocking(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	ctx := context.Background()
	org, admin := p.employ("demo-jonas", "91234564", "Nordlys Rådgivning ApS")
	if err := p.roles.AssignAdminRole(ctx, &domain.AdminRole{OrgID: org.ID, UserID: admin.ID, Role: domain.RoleUserAdmin}); err != nil {
		t.Fatal(err)
	}
	lars := p.plainUser(org, "demo-lars")
	hc := browser(t)
	p.loginAs(hc, "/login", "demo-jonas", "code_app").Body.Close()
	doc := page(t, get(t, hc, p.url+portal.UsersPath+"/"+lars.ID.String()+"/edit"))
	if v, _ := doc.Find(`[data-testid="field-email"]`).Attr("value"); v != "demo-lars@example.dk" {
		t.Fatalf("edit form email %q", v)
	}
	form := url.Values{"first_name": {"Lars Peter"}, "last_name": {"Vinther"}, "email": {"lars@nordlys.example.dk"},
		"anonymous": {"yes"}, "version": {strconv.Itoa(lars.Version)}}
	doc = page(t, post(t, hc, p.url+portal.UsersPath+"/"+lars.ID.String()+"/edit", form))
	if text(doc, "user-heading") != "Lars Peter Vinther" || text(doc, "anonymous") == "" || text(doc, "notice") == "" {
		t.Fatalf("after editing: %q %q", text(doc, "user-heading"), text(doc, "anonymous"))
	}
	// The same form again carries the old version: a conflict showing the current data.
	resp := post(t, hc, p.url+portal.UsersPath+"/"+lars.ID.String()+"/edit", form)
	doc = page(t, resp)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(text(doc, "problem"), "En anden har ændret") || text(doc, "user-heading") != "Lars Peter Vinther" {
		t.Errorf("stale edit: %d %q", resp.StatusCode, text(doc, "problem"))
	}
	// Anonymity is reversible.
	cur, _ := p.users.FindUserByID(ctx, org.ID, lars.ID)
	form.Set("version", strconv.Itoa(cur.Version))
	form.Del("anonymous")
	doc = page(t, post(t, hc, p.url+portal.UsersPath+"/"+lars.ID.String()+"/edit", form))
	if text(doc, "anonymous") != "" {
		t.Error("anonymity could not be turned off")
	}
	// Another user's email is a field error.
	cur, _ = p.users.FindUserByID(ctx, org.ID, lars.ID)
	form.Set("version", strconv.Itoa(cur.Version))
	form.Set("email", "DEMO-JONAS@example.dk")
	resp = post(t, hc, p.url+portal.UsersPath+"/"+lars.ID.String()+"/edit", form)
	doc = page(t, resp)
	if resp.StatusCode != http.StatusConflict || text(doc, "error-email") == "" {
		t.Errorf("duplicate email on edit: %d %q", resp.StatusCode, text(doc, "error-summary"))
	}
	var before, after string
	if err := p.db.SQL().QueryRow(`SELECT details->'before'->>'first_name', details->'after'->>'first_name' FROM audit_events
		WHERE org_id = $1 AND action = 'user.updated' ORDER BY seq LIMIT 1`, org.ID).Scan(&before, &after); err != nil || before != "Lars" || after != "Lars Peter" {
		t.Errorf("update audit: %q → %q, %v", before, after, err)
	}
}

func TestUserGroupsWithMembersOfOtherOrganisations(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	org, _ := p.employ("demo-mette", "91234564", "Nordlys Rådgivning ApS")
	lars := p.plainUser(org, "demo-lars")
	havbryg, _ := p.employ("demo-henrik", "95001238", "Havbryg Revision I/S")
	anders := p.plainUser(havbryg, "demo-anders")
	hc := browser(t)
	p.loginAs(hc, "/login", "demo-mette", "code_app").Body.Close()

	resp := post(t, hc, p.url+portal.GroupsPath, url.Values{"name": {""}})
	doc := page(t, resp)
	if resp.StatusCode != http.StatusBadRequest || text(doc, "error-name") == "" {
		t.Fatalf("group without a name: %d", resp.StatusCode)
	}
	// A P-number and an SE-number at once is refused.
	unit := &domain.ProductionUnit{OrgID: org.ID, PNumber: "1012345671", Name: "København"}
	se := &domain.SENumber{OrgID: org.ID, SENumber: "31234567", Name: "Løn"}
	if err := p.orgs.CreateProductionUnit(context.Background(), unit); err != nil {
		t.Fatal(err)
	}
	if err := p.orgs.CreateSENumber(context.Background(), se); err != nil {
		t.Fatal(err)
	}
	resp = post(t, hc, p.url+portal.GroupsPath, url.Values{"name": {"Begge"}, "production_unit": {unit.ID.String()}, "se_number": {se.ID.String()}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(text(doc, "error-summary"), "ikke begge") {
		t.Errorf("group with both a P- and an SE-number: %d %q", resp.StatusCode, text(doc, "error-summary"))
	}
	resp = post(t, hc, p.url+portal.GroupsPath, url.Values{"name": {"Løn"}, "description": {"<i>Lønbogholderiet</i>"}})
	doc = page(t, resp)
	groupPath := resp.Request.URL.Path
	if text(doc, "group-heading") != "Løn" || doc.Find("main i").Length() != 0 {
		t.Fatalf("after creating: %q (markup rendered: %d)", text(doc, "group-heading"), doc.Find("main i").Length())
	}
	for _, m := range []url.Values{
		{"cvr": {"91234564"}, "email": {lars.Email}},
		{"cvr": {"95001238"}, "email": {anders.Email}},
	} {
		doc = page(t, post(t, hc, p.url+groupPath+"/members", m))
		if text(doc, "notice") == "" {
			t.Fatalf("adding %v: %q", m, text(doc, "error-summary"))
		}
	}
	if doc.Find(`[data-testid="member-`+anders.ID.String()+`"] .badge`).Length() != 1 {
		t.Error("the member from Havbryg is not marked as from another organisation")
	}
	for _, bad := range []struct {
		form  url.Values
		field string
	}{
		{url.Values{"cvr": {"12345678"}, "email": {"x@y.dk"}}, "cvr"},
		{url.Values{"cvr": {"95001238"}, "email": {"nobody@havbryg.example.dk"}}, "email"},
		{url.Values{"cvr": {"91234564"}, "email": {lars.Email}}, "email"},
	} {
		resp = post(t, hc, p.url+groupPath+"/members", bad.form)
		doc = page(t, resp)
		if resp.StatusCode < 400 || text(doc, "error-"+bad.field) == "" {
			t.Errorf("adding %v: %d, want an error on %s", bad.form, resp.StatusCode, bad.field)
		}
	}
	// Havbryg's log says that Nordlys put Anders in a group.
	var seen int
	if err := p.db.SQL().QueryRow(`SELECT count(*) FROM audit_events WHERE org_id = $1 AND action = 'group.membership_by_other_org'
		AND target_id = $2`, havbryg.ID, anders.ID.String()).Scan(&seen); err != nil || seen != 1 {
		t.Errorf("member organisation's audit of the membership: %d, %v", seen, err)
	}
	// Another organisation's production unit is a form error, not a failure.
	otherUnit := &domain.ProductionUnit{OrgID: havbryg.ID, PNumber: "1034567891", Name: "Esbjerg"}
	if err := p.orgs.CreateProductionUnit(context.Background(), otherUnit); err != nil {
		t.Fatal(err)
	}
	resp = post(t, hc, p.url+portal.GroupsPath, url.Values{"name": {"Fremmed"}, "production_unit": {otherUnit.ID.String()}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("group with another organisation's unit: %d, want 400", resp.StatusCode)
	}
	// Delete asks first.
	doc = page(t, post(t, hc, p.url+groupPath+"/delete", nil))
	if doc.Find(`[data-testid="confirm-delete"]`).Length() != 1 {
		t.Fatal("delete did not ask for confirmation")
	}
	resp = post(t, hc, p.url+groupPath+"/delete", url.Values{"confirm": {"yes"}})
	doc = page(t, resp)
	if resp.Request.URL.Path != portal.GroupsPath || text(doc, "groups-none") == "" {
		t.Errorf("after deleting: %s %q", resp.Request.URL.Path, doc.Find("main").Text())
	}
	var actions string
	if err := p.db.SQL().QueryRow(`SELECT string_agg(action, ',' ORDER BY seq) FROM audit_events WHERE org_id = $1 AND action LIKE 'group.%'`, org.ID).
		Scan(&actions); err != nil || actions != "group.created,group.member_added,group.member_added,group.deleted" {
		t.Errorf("group audit: %q %v", actions, err)
	}

	// An employee without roles cannot see or change groups.
	lhc := browser(t)
	p.loginAs(lhc, "/login", "demo-lars", "code_app").Body.Close()
	for _, r := range []*http.Response{get(t, lhc, p.url+portal.GroupsPath), post(t, lhc, p.url+portal.GroupsPath, url.Values{"name": {"Hack"}})} {
		r.Body.Close()
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s by an employee: %d, want 403", r.Request.Method, r.Request.URL.Path, r.StatusCode)
		}
	}
}

func TestUsersListFiltersAndSorts(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	ctx := context.Background()
	org, admin := p.employ("demo-jonas", "91234564", "Nordlys Rådgivning ApS")
	unit := &domain.ProductionUnit{OrgID: org.ID, PNumber: "1012345672", Name: "Aarhus"}
	if err := p.orgs.CreateProductionUnit(ctx, unit); err != nil {
		t.Fatal(err)
	}
	lars := p.plainUser(org, "demo-lars")
	sofie := p.plainUser(org, "demo-sofie")
	sofie.ProductionUnitID = &unit.ID
	if err := p.users.UpdateUser(ctx, sofie); err != nil {
		t.Fatal(err)
	}
	g := &domain.Group{OrgID: org.ID, Name: "Løn"}
	if err := postgres.NewGroupService(p.db).CreateGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	if err := postgres.NewGroupService(p.db).AddGroupMember(ctx, &domain.GroupMember{OrgID: org.ID, GroupID: g.ID, UserID: lars.ID, MemberOrgID: org.ID}); err != nil {
		t.Fatal(err)
	}
	hc := browser(t)
	p.loginAs(hc, "/login", "demo-jonas", "code_app").Body.Close()
	names := func(query string) []string {
		t.Helper()
		resp := get(t, hc, p.url+portal.UsersPath+query)
		doc := page(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", query, resp.StatusCode)
		}
		var out []string
		doc.Find(`[data-testid="users-table"] tbody tr td:first-child`).Each(func(_ int, s *goquery.Selection) {
			out = append(out, strings.TrimSpace(s.Text()))
		})
		return out
	}
	for query, want := range map[string]string{
		"":                           "Jonas Berg,Sofie Dam,Lars Vinther",
		"?sort=name_desc":            "Lars Vinther,Sofie Dam,Jonas Berg",
		"?unit=" + unit.ID.String():  "Sofie Dam",
		"?role=org_admin":            "Jonas Berg",
		"?role=rights_admin":         "",
		"?group=" + g.ID.String():    "Lars Vinther",
		"?group=" + uuid.NewString(): "",
	} {
		if got := strings.Join(names(query), ","); got != want {
			t.Errorf("users%s: %q, want %q", query, got, want)
		}
	}
	// Lars's page names his group.
	if got := text(page(t, get(t, hc, p.url+portal.UsersPath+"/"+lars.ID.String())), "user-groups"); got != "Løn" {
		t.Errorf("Lars's groups: %q", got)
	}
	for _, bad := range []string{"?role=king", "?unit=nope", "?status=zombie"} {
		resp := get(t, hc, p.url+portal.UsersPath+bad)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("users%s: %d, want 400", bad, resp.StatusCode)
		}
	}
	_ = admin
}

func TestMandatoryExtraFields(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	ctx := context.Background()
	org, admin := p.employ("demo-jonas", "91234564", "Nordlys Rådgivning ApS")
	if err := p.roles.AssignAdminRole(ctx, &domain.AdminRole{OrgID: org.ID, UserID: admin.ID, Role: domain.RoleUserAdmin}); err != nil {
		t.Fatal(err)
	}
	if err := p.orgs.UpdateOrganisationSettings(ctx, org.ID, domain.OrgSettings{MandatoryUserFields: []string{"department", "employee_number"}}); err != nil {
		t.Fatal(err)
	}
	hc := browser(t)
	p.loginAs(hc, "/login", "demo-jonas", "code_app").Body.Close()
	form := url.Values{"first_name": {"Ida"}, "last_name": {"Holm"}, "email": {"ida@nordlys.example.dk"}, "cpr": {"0302901234"}}
	resp := post(t, hc, p.url+portal.UsersPath, form)
	doc := page(t, resp)
	if resp.StatusCode != http.StatusBadRequest || text(doc, "error-department") == "" || text(doc, "error-employee_number") == "" {
		t.Fatalf("missing mandatory fields: %d %q", resp.StatusCode, text(doc, "error-summary"))
	}
	form.Set("department", "Løn")
	form.Set("employee_number", "A-1042")
	doc = page(t, post(t, hc, p.url+portal.UsersPath, form))
	if text(doc, "user-created") == "" {
		t.Fatalf("create with the fields: %q", text(doc, "error-summary"))
	}
	href, _ := doc.Find(`[data-testid="user-link"]`).Attr("href")
	doc = page(t, get(t, hc, p.url+href))
	if !strings.Contains(doc.Find("dl").Text(), "A-1042") || !strings.Contains(doc.Find("dl").Text(), "Løn") {
		t.Errorf("user page lacks the extra fields: %q", doc.Find("dl").Text())
	}
}

func TestUnitLimitedAdministratorSeesTheUnit(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	ctx := context.Background()
	org, _ := p.employ("demo-mette", "91234564", "Nordlys Rådgivning ApS")
	aarhus := &domain.ProductionUnit{OrgID: org.ID, PNumber: "1012345672", Name: "Aarhus"}
	kbh := &domain.ProductionUnit{OrgID: org.ID, PNumber: "1012345671", Name: "København"}
	for _, u := range []*domain.ProductionUnit{aarhus, kbh} {
		if err := p.orgs.CreateProductionUnit(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	peter := p.plainUser(org, "demo-peter")
	lars := p.plainUser(org, "demo-lars")
	lars.ProductionUnitID = &aarhus.ID
	sofie := p.plainUser(org, "demo-sofie")
	sofie.ProductionUnitID = &kbh.ID
	for _, u := range []*domain.User{lars, sofie} {
		if err := p.users.UpdateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.roles.AssignAdminRole(ctx, &domain.AdminRole{OrgID: org.ID, UserID: peter.ID, Role: domain.RoleUserAdmin, ProductionUnitID: &aarhus.ID}); err != nil {
		t.Fatal(err)
	}
	hc := browser(t)
	p.loginAs(hc, "/login", "demo-peter", "code_app").Body.Close()
	resp := get(t, hc, p.url+portal.UsersPath)
	doc := page(t, resp)
	if resp.StatusCode != http.StatusOK || doc.Find(`[data-testid="user-`+lars.ID.String()+`"]`).Length() != 1 ||
		doc.Find(`[data-testid="user-`+sofie.ID.String()+`"]`).Length() != 0 {
		t.Fatalf("users list for Aarhus's user administrator: %d %q", resp.StatusCode, text(doc, "users-table"))
	}
	if v, _ := doc.Find(`[data-testid="field-unit"] option[selected]`).Attr("value"); v != aarhus.ID.String() {
		t.Errorf("unit filter shown as %q, want his unit", v)
	}
	if !strings.Contains(doc.Find("nav").Text(), "Brugere") || doc.Find(`[data-testid="user-new"]`).Length() != 1 {
		t.Error("the menu or the create button is missing for a unit-limited user administrator")
	}
	for path, want := range map[string]int{
		portal.UsersPath + "?unit=" + kbh.ID.String(): http.StatusForbidden,
		portal.UsersPath + "/" + sofie.ID.String():    http.StatusForbidden,
		portal.UsersPath + "/" + lars.ID.String():     http.StatusOK,
		portal.UsersPath + "/new":                     http.StatusOK,
	} {
		r := get(t, hc, p.url+path)
		r.Body.Close()
		if r.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, r.StatusCode, want)
		}
	}
	// Creating in another unit is refused; in his own it works.
	form := url.Values{"first_name": {"Ny"}, "last_name": {"Kollega"}, "email": {"ny@nordlys.example.dk"}, "cpr": {"0101851234"},
		"production_unit": {kbh.ID.String()}}
	r := post(t, hc, p.url+portal.UsersPath, form)
	r.Body.Close()
	if r.StatusCode != http.StatusForbidden {
		t.Errorf("create in another unit: %d, want 403", r.StatusCode)
	}
	form.Set("production_unit", aarhus.ID.String())
	doc = page(t, post(t, hc, p.url+portal.UsersPath, form))
	if text(doc, "user-created") == "" {
		t.Errorf("create in his own unit: %q", doc.Find("main").Text())
	}
}
