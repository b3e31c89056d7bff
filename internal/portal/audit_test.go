package portal_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/portal"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/web"
)

// auditEmployee gives subject an active business identity in org, with the
// administrator roles given (none: an ordinary employee).
func (p *platform) auditEmployee(org *domain.Organisation, subject string, roles ...string) *domain.User {
	p.t.Helper()
	ctx := context.Background()
	id, ok := p.sim.Identity(subject)
	if !ok {
		p.t.Fatalf("no simulator identity %s", subject)
	}
	u := &domain.User{OrgID: org.ID, FirstName: id.FirstName, LastName: id.LastName, Email: subject + "@example.dk", CPR: id.CPR, Status: domain.UserActive}
	if err := p.users.CreateUser(ctx, u); err != nil {
		p.t.Fatalf("create %s: %v", subject, err)
	}
	if err := p.users.LinkPerson(ctx, &domain.PersonLink{OrgID: org.ID, UserID: u.ID, BrokerIssuer: p.sim.Issuer(), BrokerSubject: subject}); err != nil {
		p.t.Fatal(err)
	}
	for _, r := range roles {
		if err := p.roles.AssignAdminRole(ctx, &domain.AdminRole{OrgID: org.ID, UserID: u.ID, Role: r}); err != nil {
			p.t.Fatalf("assign %s: %v", r, err)
		}
	}
	return u
}

// audit appends e to org's chain (nil: the platform's).
func (p *platform) audit(org *domain.Organisation, e domain.AuditEvent) {
	p.t.Helper()
	if org != nil {
		e.OrgID = &org.ID
	}
	if err := postgres.NewAuditLog(p.db).AppendAudit(context.Background(), &e); err != nil {
		p.t.Fatalf("append %s: %v", e.Action, err)
	}
}

func (p *platform) auditCount(org *domain.Organisation) int {
	p.t.Helper()
	var n int
	if err := p.db.SQL().QueryRow("SELECT count(*) FROM audit_events WHERE org_id = $1", org.ID).Scan(&n); err != nil {
		p.t.Fatal(err)
	}
	return n
}

func mustZone(t *testing.T) *time.Location {
	t.Helper()
	l, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func fetch(t *testing.T, hc *http.Client, u string) *http.Response {
	t.Helper()
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// reasonText is how the 403 page words the policy's no_role reason.
func reasonText(action string) string {
	if s := web.T("da", "reason.no_role"); s != "reason.no_role" {
		return s
	}
	return "No role grants " + action + "."
}

func TestAuditLogShowsTheVerifiedChainAndFilters(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	org, jonas := p.employ("demo-jonas", "91234564", "Nordlys Rådgivning ApS")
	other, _ := p.employ("demo-mette", "95001238", "Havbryg Revision I/S")
	target := uuid.New()
	p.audit(org, domain.AuditEvent{ActorID: &jonas.ID, ActorLabel: "Jonas Berg", Action: "user.created", TargetType: "user",
		TargetID: target.String(), RequestID: "req-1", OccurredAt: time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC),
		Details: json.RawMessage(`{"email":"kim@nordlys.dk","fields":["phone"]}`)})
	p.audit(org, domain.AuditEvent{ActorLabel: "", Action: "test.custom", OccurredAt: time.Date(2026, 7, 1, 21, 30, 0, 0, time.UTC)})
	p.audit(other, domain.AuditEvent{ActorLabel: "Fremmed Aktør", Action: "user.created", TargetType: "user", TargetID: target.String()})
	p.audit(nil, domain.AuditEvent{ActorLabel: "Platformens Aktør", Action: "login.failed"})
	hc := browser(t)
	p.loginAs(hc, "/login", "demo-jonas", "code_app").Body.Close()
	events := p.auditCount(org)

	resp := fetch(t, hc, p.url+portal.AuditPath)
	doc := page(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("audit log: got %d, want 200: %s", resp.StatusCode, doc.Find("main").Text())
	}
	if got, want := text(doc, "audit-chain"), "Kæden er intakt: "+strconv.Itoa(events)+" hændelser."; got != want {
		t.Errorf("chain: got %q, want %q", got, want)
	}
	if got := doc.Find(`[data-testid="audit-table"] tbody tr`).Length(); got != events {
		t.Errorf("rows: got %d, want %d (every event of the organisation)", got, events)
	}
	main := doc.Find("main").Text()
	for _, stranger := range []string{"Fremmed Aktør", "Platformens Aktør", "login.failed"} {
		if strings.Contains(main, stranger) {
			t.Errorf("the page shows %q from outside the organisation", stranger)
		}
	}
	first := doc.Find(`[data-testid="audit-event-1"]`)
	for testid, want := range map[string]string{
		"audit-time": "2026-01-15 13:00:00", "audit-actor": "Jonas Berg", "audit-request": "req-1",
	} {
		if got := strings.TrimSpace(first.Find(`[data-testid="` + testid + `"]`).Text()); got != want {
			t.Errorf("event 1 %s: got %q, want %q", testid, got, want)
		}
	}
	if got := first.Find(`[data-testid="audit-action"]`).Text(); !strings.Contains(got, "Bruger oprettet") || !strings.Contains(got, "user.created") {
		t.Errorf("event 1 action: got %q, want the words and the raw action", got)
	}
	if got := first.Find(`[data-testid="audit-target"]`).Text(); !strings.Contains(got, "Bruger") || !strings.Contains(got, target.String()) {
		t.Errorf("event 1 target: got %q, want Bruger %s", got, target)
	}
	if got := first.Find(`[data-testid="audit-details"] li`).Map(func(_ int, s *goquery.Selection) string { return s.Text() }); strings.Join(got, "|") != `email: kim@nordlys.dk|fields: ["phone"]` {
		t.Errorf("event 1 details: got %q", got)
	}
	second := doc.Find(`[data-testid="audit-event-2"]`)
	if got := strings.TrimSpace(second.Find(`[data-testid="audit-action"]`).Text()); got != "test.custom" {
		t.Errorf("unknown action: got %q, want the raw action", got)
	}
	if got := strings.TrimSpace(second.Find(`[data-testid="audit-time"]`).Text()); got != "2026-07-01 23:30:00" {
		t.Errorf("summer time: got %q, want 2026-07-01 23:30:00", got)
	}
	if got := strings.TrimSpace(second.Find(`[data-testid="audit-actor"]`).Text()); got != "Systemet" {
		t.Errorf("event without an actor: got %q, want Systemet", got)
	}
	if href, _ := doc.Find(`[data-testid="audit-export"]`).Attr("href"); href != portal.AuditExportPath {
		t.Errorf("export link: got %q, want %s", href, portal.AuditExportPath)
	}

	filtered := func(q url.Values) []string {
		t.Helper()
		resp := fetch(t, hc, p.url+portal.AuditPath+"?"+q.Encode())
		doc := page(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("filter %v: got %d, want 200", q, resp.StatusCode)
		}
		var seqs []string
		doc.Find(`[data-testid="audit-table"] tbody tr`).Each(func(_ int, s *goquery.Selection) {
			id, _ := s.Attr("data-testid")
			seqs = append(seqs, strings.TrimPrefix(id, "audit-event-"))
		})
		if href, _ := doc.Find(`[data-testid="audit-export"]`).Attr("href"); href != portal.AuditExportPath+"?"+q.Encode() {
			t.Errorf("filter %v: export link %q does not keep the filter", q, href)
		}
		return seqs
	}
	for _, c := range []struct {
		q    url.Values
		want string
	}{
		{url.Values{"actor": {"jonas"}}, "3,1"}, // the login is Jonas's too
		{url.Values{"target": {target.String()}}, "1"},
		{url.Values{"action": {"user"}}, "1"},
		{url.Values{"from": {"2026-01-15"}, "to": {"2026-01-15"}}, "1"},
		{url.Values{"from": {"2026-07-01"}, "to": {"2026-07-01"}}, "2"},
		{url.Values{"actor": {"Fremmed"}}, ""},
	} {
		if got := strings.Join(filtered(c.q), ","); got != c.want {
			t.Errorf("filter %v: got events [%s], want [%s]", c.q, got, c.want)
		}
	}

	for _, c := range []struct {
		q     url.Values
		field string
	}{
		{url.Values{"from": {"2026-13-01"}}, "from"},
		{url.Values{"to": {"15-01-2026"}}, "to"},
		{url.Values{"from": {"2026-02-01"}, "to": {"2026-01-01"}}, "to"},
		{url.Values{"action": {"evil"}}, "action"},
	} {
		resp := fetch(t, hc, p.url+portal.AuditPath+"?"+c.q.Encode())
		doc := page(t, resp)
		if resp.StatusCode != http.StatusBadRequest || text(doc, "error-"+c.field) == "" {
			t.Errorf("bad filter %v: got %d with %q, want 400 with an error on %s", c.q, resp.StatusCode, text(doc, "error-"+c.field), c.field)
		}
		if n := doc.Find(`[data-testid="audit-table"], [data-testid="audit-chain"], [data-testid="audit-none"]`).Length(); n != 0 {
			t.Errorf("bad filter %v: got %d result elements, want only the form", c.q, n)
		}
	}
}

func TestAuditLogPagesAndDetectsTampering(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	org, _ := p.employ("demo-jonas", "91234564", "Nordlys Rådgivning ApS")
	for i := range 60 {
		p.audit(org, domain.AuditEvent{ActorLabel: "Import", Action: "user.updated", TargetType: "user", TargetID: strconv.Itoa(i)})
	}
	hc := browser(t)
	p.loginAs(hc, "/login", "demo-jonas", "code_app").Body.Close()
	events := p.auditCount(org)

	seen := map[string]bool{}
	next := portal.AuditPath + "?action=user"
	pages := 0
	for next != "" {
		if pages++; pages > 3 {
			t.Fatalf("the pages never end")
		}
		doc := page(t, fetch(t, hc, p.url+next))
		doc.Find(`[data-testid="audit-table"] tbody tr`).Each(func(_ int, s *goquery.Selection) {
			id, _ := s.Attr("data-testid")
			if seen[id] {
				t.Errorf("%s shown twice", id)
			}
			seen[id] = true
		})
		if pages > 1 && doc.Find(`[data-testid="audit-first"]`).Length() != 1 {
			t.Errorf("page %d has no way back to the newest events", pages)
		}
		next, _ = doc.Find(`[data-testid="audit-next"]`).Attr("href")
		if next != "" && !strings.Contains(next, "action=user") {
			t.Errorf("next link %q drops the filter", next)
		}
	}
	// employ's user and role are not audited; session.started is filtered out.
	if pages != 2 || len(seen) != 60 {
		t.Errorf("got %d events over %d pages, want 60 over 2", len(seen), pages)
	}

	// Someone with the power to switch off the trigger changes history.
	for _, stmt := range []string{
		"ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
		"UPDATE audit_events SET actor_label = 'Ingen' WHERE org_id = '" + org.ID.String() + "' AND seq = 7",
		"ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only",
	} {
		if _, err := p.db.SQL().Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	resp := fetch(t, hc, p.url+portal.AuditPath+"?lang=en")
	doc := page(t, resp)
	if resp.StatusCode != http.StatusOK || doc.Find(`[data-testid="audit-chain-broken"]`).Length() != 1 {
		t.Fatalf("after tampering: got %d, want 200 with the broken chain", resp.StatusCode)
	}
	if got := text(doc, "audit-chain"); !strings.Contains(got, "Event no. 7 ") {
		t.Errorf("broken chain: got %q, want it to name event no. 7 (of %d)", got, events)
	}
}

func TestAuditExportIsCSVForDanishExcel(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	org, _ := p.employ("demo-jonas", "91234564", "Nordlys Rådgivning ApS")
	other, _ := p.employ("demo-mette", "95001238", "Havbryg Revision I/S")
	p.audit(org, domain.AuditEvent{ActorLabel: "=HYPERLINK(\"http://evil\")", Action: "user.created", TargetType: "user",
		TargetID: "+45 1234", RequestID: "-1+1", Details: json.RawMessage(`{"note":"a;b \"c\"","æ":"ø"}`)})
	p.audit(org, domain.AuditEvent{ActorLabel: "@SUM(A1)", Action: "admin_role.assigned", TargetType: "admin_role", TargetID: "r"})
	p.audit(other, domain.AuditEvent{ActorLabel: "Fremmed Aktør", Action: "user.created"})
	hc := browser(t)
	p.loginAs(hc, "/login", "demo-jonas", "code_app").Body.Close()

	resp := fetch(t, hc, p.url+portal.AuditExportPath+"?action=user")
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export: got %d %s, want 200 text/csv: %.300s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	today := time.Now().In(mustZone(t)).Format(time.DateOnly)
	if got, want := resp.Header.Get("Content-Disposition"), `attachment; filename="audit-91234564-`+today+`.csv"`; got != want {
		t.Errorf("Content-Disposition: got %q, want %q", got, want)
	}
	if !strings.HasPrefix(string(body), "\ufeffseq;occurred_at;") {
		t.Fatalf("export: got %.40q, want a UTF-8 byte order mark, then the header with ;", body)
	}
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(body), "\ufeff")))
	r.Comma = ';'
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("parse export: %v", err)
	}
	if len(rows) != 2 {
		t.Fatalf("export ?action=user: got %d rows, want the header and 1 event: %q", len(rows), rows)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	row := rows[1]
	for name, want := range map[string]string{
		"seq": "1", "actor": `'=HYPERLINK("http://evil")`, "action": "user.created", "action_text": "Bruger oprettet",
		"target_id": "'+45 1234", "request_id": "'-1+1", "details": `{"note":"a;b \"c\"","æ":"ø"}`,
	} {
		if i, ok := col[name]; !ok || row[i] != want {
			t.Errorf("column %s: got %q, want %q", name, row[min(i, len(row)-1)], want)
		}
	}
	if len(row[col["hash"]]) != 64 || len(row[col["prev_hash"]]) != 64 {
		t.Errorf("hashes: got %q and %q, want 64 hex digits each", row[col["prev_hash"]], row[col["hash"]])
	}
	if _, err := time.Parse(time.RFC3339Nano, row[col["occurred_at"]]); err != nil {
		t.Errorf("occurred_at %q: %v", row[col["occurred_at"]], err)
	}

	// Unfiltered, the whole organisation's log and nothing else, oldest first.
	resp = fetch(t, hc, p.url+portal.AuditExportPath)
	all, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(all), "'@SUM(A1)") || strings.Contains(string(all), "Fremmed") {
		t.Errorf("unfiltered export: want the organisation's events and no other's: %s", all)
	}
	if strings.Index(string(all), "HYPERLINK") > strings.Index(string(all), "session.started") {
		t.Errorf("export: want the oldest event first: %s", all)
	}

	resp = fetch(t, hc, p.url+portal.AuditExportPath+"?from=yesterday")
	doc := page(t, resp)
	if resp.StatusCode != http.StatusBadRequest || text(doc, "error-from") == "" || resp.Header.Get("Content-Disposition") != "" {
		t.Errorf("export with a bad date: got %d, want 400 with the form's error and no file", resp.StatusCode)
	}
}

func TestAuditLogNeedsAnOrganisationAdministrator(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	org, _ := p.employ("demo-jonas", "91234564", "Nordlys Rådgivning ApS")
	p.auditEmployee(org, "demo-lars")
	p.auditEmployee(org, "demo-sofie", domain.RoleUserAdmin, domain.RoleRightsAdmin)
	for _, subject := range []string{"demo-lars", "demo-sofie"} {
		hc := browser(t)
		p.loginAs(hc, "/login", subject, "code_app").Body.Close()
		for path, action := range map[string]string{portal.AuditPath: "audit.read", portal.AuditExportPath: "audit.export"} {
			resp := fetch(t, hc, p.url+path)
			doc := page(t, resp)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s: got %d, want 403", subject, path, resp.StatusCode)
			}
			if got := doc.Find("main").Text(); !strings.Contains(got, reasonText(action)) {
				t.Errorf("%s %s: got %q, want the reason %q", subject, path, strings.TrimSpace(got), reasonText(action))
			}
			if resp.Header.Get("Content-Disposition") != "" || doc.Find(`[data-testid="audit-table"]`).Length() != 0 {
				t.Errorf("%s %s: the refusal carries the log", subject, path)
			}
		}
	}
}
