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

// noRedirects is hc that reports redirects instead of following them.
func noRedirects(hc *http.Client) *http.Client {
	c := *hc
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func TestEndSessionsSignsTheUserOut(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	org, mette := p.employ("demo-mette", "91234564", "Nordlys Rådgivning ApS")
	p.withRole(org, mette, domain.RoleUserAdmin)
	lars := p.plainUser(org, "demo-lars")
	larsBrowser := browser(t)
	p.loginAs(larsBrowser, "/login", "demo-lars", "code_app").Body.Close()
	signedIn := func(want bool) {
		t.Helper()
		resp := get(t, noRedirects(larsBrowser), p.url+portal.OverviewPath)
		resp.Body.Close()
		if want && resp.StatusCode != http.StatusOK {
			t.Fatalf("Lars's portal: got %d → %q, want 200", resp.StatusCode, resp.Header.Get("Location"))
		}
		if !want && (resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login")) {
			t.Fatalf("Lars's portal after his sessions ended: got %d → %q, want a redirect to login", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	signedIn(true)

	hc := browser(t)
	p.loginAs(hc, "/login", "demo-mette", "code_app").Body.Close()
	userPage := p.url + portal.UsersPath + "/" + lars.ID.String()
	doc := page(t, get(t, hc, userPage))
	if got := text(doc, "end-sessions"); got != "Afslut brugerens sessioner" {
		t.Fatalf("the user's page offers %q, want the button Afslut brugerens sessioner", got)
	}

	// The first press asks; nothing happens yet.
	resp := post(t, hc, userPage+"/end-sessions", nil)
	if doc = page(t, resp); resp.Request.URL.Path != portal.UsersPath+"/"+lars.ID.String() || text(doc, "confirm-end-sessions") == "" {
		t.Fatalf("end sessions without confirming: got %d at %s, want the question on the user's page", resp.StatusCode, resp.Request.URL)
	}
	if actions := p.auditActions(&org.ID); count(actions, "user.sessions_ended") != 0 {
		t.Fatal("asking ended the sessions")
	}
	signedIn(true)

	resp = post(t, hc, userPage+"/end-sessions", url.Values{"confirm": {"yes"}})
	doc = page(t, resp)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != portal.UsersPath+"/"+lars.ID.String() || text(doc, "notice") == "" {
		t.Fatalf("end sessions: got %d at %s, notice %q", resp.StatusCode, resp.Request.URL, text(doc, "notice"))
	}
	if n := p.count("SELECT count(*) FROM audit_events WHERE org_id = $1 AND action = 'user.sessions_ended' AND target_id = $2 AND actor_id = $3",
		org.ID, lars.ID.String(), mette.ID); n != 1 {
		t.Errorf("audit events user.sessions_ended for Lars by Mette: got %d, want 1", n)
	}
	// Lars's own portal session is over; a new MitID login works.
	signedIn(false)
	resp = p.loginAs(larsBrowser, "/login", "demo-lars", "code_app")
	resp.Body.Close()
	if resp.Request.URL.Path != portal.OverviewPath || resp.StatusCode != http.StatusOK {
		t.Errorf("Lars logging in again: got %d at %s", resp.StatusCode, resp.Request.URL)
	}
	signedIn(true)
	// Mette's own session is untouched.
	if got := status(t, get(t, noRedirects(hc), p.url+portal.OverviewPath)); got != http.StatusOK {
		t.Errorf("Mette's portal after ending Lars's sessions: got %d, want 200", got)
	}
}

func TestEndSessionsRefusals(t *testing.T) {
	t.Parallel()
	p := newPlatform(t, "oiosaml")
	org, mette := p.employ("demo-mette", "91234564", "Nordlys Rådgivning ApS")
	p.withRole(org, mette, domain.RoleUserAdmin)
	p.plainUser(org, "demo-lars")
	_, rikke := p.employ("demo-rikke", "30264878", "Solbær ApS")
	ended := func(u *domain.User) bool {
		t.Helper()
		got, err := p.users.FindUserByID(context.Background(), u.OrgID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.SessionsEndedAt != nil
	}

	// Another organisation's user, an unknown one and a malformed id: 404.
	hc := browser(t)
	p.loginAs(hc, "/login", "demo-mette", "code_app").Body.Close()
	for _, id := range []string{rikke.ID.String(), uuid.NewString(), "x"} {
		for _, form := range []url.Values{nil, {"confirm": {"yes"}}} {
			if got := status(t, post(t, hc, p.url+portal.UsersPath+"/"+id+"/end-sessions", form)); got != http.StatusNotFound {
				t.Errorf("end sessions of %s %v: got %d, want 404", id, form, got)
			}
		}
	}
	if ended(rikke) {
		t.Error("another organisation's user had their sessions ended")
	}

	// Without the right to deactivate users: an employee, and an
	// organisation administrator who is not a user administrator.
	p.employ("demo-jonas", "91234564", "")
	for _, subject := range []string{"demo-lars", "demo-jonas"} {
		hc := browser(t)
		p.loginAs(hc, "/login", subject, "code_app").Body.Close()
		if subject == "demo-jonas" {
			doc := page(t, get(t, hc, p.url+portal.UsersPath+"/"+mette.ID.String()))
			if text(doc, "user-heading") == "" || doc.Find(`[data-testid="end-sessions"]`).Length() != 0 {
				t.Errorf("%s: the user's page %q offers to end the sessions", subject, text(doc, "user-heading"))
			}
		}
		for _, form := range []url.Values{nil, {"confirm": {"yes"}}} {
			if got := status(t, post(t, hc, p.url+portal.UsersPath+"/"+mette.ID.String()+"/end-sessions", form)); got != http.StatusForbidden {
				t.Errorf("%s ending Mette's sessions %v: got %d, want 403", subject, form, got)
			}
		}
	}
	if ended(mette) {
		t.Error("a refused request ended Mette's sessions")
	}
	if count(p.auditActions(&org.ID), "user.sessions_ended") != 0 {
		t.Error("a refused request was audited")
	}
}
