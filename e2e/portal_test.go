package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// docShot saves a screenshot of the page in e2e/artifacts and, when
// ERHVERV_DOC_SCREENSHOTS=1, also in docs/screenshots, where the README shows
// what the portal looks like (refresh them with
// `ERHVERV_DOC_SCREENSHOTS=1 make test`).
func docShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	screenshot(t, ctx, name)
	if os.Getenv("ERHVERV_DOC_SCREENSHOTS") != "1" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join(repoRoot(), "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A user administrator creates a user and deactivates another; an
// organisation administrator makes the new user a user administrator and
// finds all of it in the audit log, with the chain intact.
func TestAdministratorsManageUsersAndTheAuditLogShowsIt(t *testing.T) {
	t.Parallel()
	s := startStack(t)

	jonas := browser(t)
	run(t, jonas, chromedp.Navigate(s.URL+"/login"))
	mitIDLogin(t, jonas, "demo-jonas", "overview-heading")
	docShot(t, jonas, "dashboard")
	if err := chromedp.Do(jonas,
		chromedp.Navigate(s.URL+"/portal/users"),
		chromedp.WaitVisible(sel("users-table")),
	); err != nil {
		t.Fatal(err)
	}
	docShot(t, jonas, "users")
	if err := chromedp.Do(jonas,
		chromedp.Click(sel("user-new")),
		chromedp.WaitVisible(sel("user-form-heading")),
		chromedp.SendKeys(sel("field-first_name"), "Ida"),
		chromedp.SendKeys(sel("field-last_name"), "Holm"),
		chromedp.SendKeys(sel("field-email"), "ida@nordlys.example.dk"),
		chromedp.SendKeys(sel("field-cpr"), "0302901234"),
		// Nordlys makes the phone number mandatory: the form says so first.
		chromedp.Click(sel("user-create")),
		chromedp.WaitVisible(sel("error-phone")),
		chromedp.SendKeys(sel("field-phone"), "+4522334455"),
		chromedp.Click(sel("user-create")),
		chromedp.WaitVisible(sel("user-created")),
	); err != nil {
		t.Fatal(err)
	}
	if _, link := s.mailTo(t, "ida@nordlys.example.dk"); link == "" {
		t.Fatal("no activation link mailed to the new user")
	}
	// Deactivate Lars, found by typing in the search field: the results
	// follow as one types (htmx), without pressing the button.
	if err := chromedp.Do(jonas,
		chromedp.Navigate(s.URL+"/portal/users"),
		chromedp.WaitVisible(sel("users-table")),
		chromedp.SendKeys(sel("field-q"), "vinther"),
		chromedp.WaitVisible(`[data-testid="users-table"] tbody tr:only-child`),
		chromedp.Click(`[data-testid="users-table"] tbody a`),
		chromedp.WaitVisible(sel("status-deactivated")),
	); err != nil {
		t.Fatal(err)
	}
	docShot(t, jonas, "user")
	if err := chromedp.Do(jonas,
		chromedp.Click(sel("status-deactivated")),
		chromedp.WaitVisible(sel("notice")),
	); err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, jonas, "status"); got != "Deaktiveret" {
		t.Errorf("Lars's status after deactivating: %q", got)
	}

	// Sofie asks to become user administrator; Jonas, a mere user
	// administrator, may not decide it, and the page says why.
	sofie := browser(t)
	run(t, sofie, chromedp.Navigate(s.URL+"/login"))
	mitIDLogin(t, sofie, "demo-sofie", "overview-heading")
	if err := chromedp.Do(sofie,
		chromedp.SetValue(sel("field-request-role"), "user_admin"),
		chromedp.SendKeys(sel("field-reason"), "Jeg skal hjælpe med at oprette brugere i Aarhus"),
		chromedp.Click(sel("request-submit")),
		chromedp.WaitVisible(sel("requested")),
	); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(jonas,
		chromedp.Navigate(s.URL+"/portal/requests"),
		chromedp.WaitVisible("h1"),
	); err != nil {
		t.Fatal(err)
	}
	if got := run(t, jonas, chromedp.Text("main")); !strings.Contains(got, "En brugeradministrator kan ikke godkende") {
		t.Errorf("requests page for a user administrator: %q", got)
	}

	// Mette, organisation administrator, makes Ida user administrator.
	mette := browser(t)
	run(t, mette, chromedp.Navigate(s.URL+"/login"))
	mitIDLogin(t, mette, "demo-mette", "choose-91234564")
	if err := chromedp.Do(mette,
		chromedp.Click(sel("choose-91234564")),
		chromedp.WaitVisible(sel("overview-heading")),
		chromedp.Navigate(s.URL+"/portal/users?q=ida"),
		chromedp.WaitVisible(sel("users-table")),
		chromedp.Click(`[data-testid="users-table"] tbody a`),
		chromedp.WaitVisible(sel("assign-role")),
		chromedp.SetValue(sel("field-role"), "user_admin"),
		chromedp.Click(sel("assign-role-submit")),
		chromedp.WaitVisible(sel("notice")),
	); err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, mette, "user-roles"); !strings.Contains(got, "Brugeradministrator") {
		t.Errorf("Ida's roles: %q", got)
	}
	// The audit log shows all three changes, and the chain holds.
	if err := chromedp.Do(mette,
		chromedp.Navigate(s.URL+"/portal/audit"),
		chromedp.WaitVisible(sel("audit-table")),
	); err != nil {
		t.Fatal(err)
	}
	docShot(t, mette, "audit-log")
	table := textOf(t, mette, "audit-table")
	for _, who := range []string{"Jonas Berg", "Mette Nordlys"} {
		if !strings.Contains(table, who) {
			t.Errorf("audit log does not name %s:\n%s", who, table)
		}
	}
	actions := run(t, mette, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('[data-testid="audit-action"]')).map(e => e.textContent.trim())`))
	joined := strings.Join(actions, " | ")
	for _, want := range []string{"user.created", "user.deactivated", "admin_role.assigned"} {
		found := false
		for _, a := range actions {
			if strings.Contains(a, want) || strings.Contains(strings.ToLower(a), strings.Split(want, ".")[1][:4]) {
				found = true
			}
		}
		if !found {
			t.Errorf("audit log lacks %s: %s", want, joined)
		}
	}
	if textOf(t, mette, "audit-chain-ok") == "" {
		t.Error("the audit log does not show an intact chain")
	}
}
