package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// sel is the CSS selector of a data-testid hook.
func sel(testid string) string { return `[data-testid="` + testid + `"]` }

// mitIDLogin picks a test identity on the simulator's login page with the
// MitID app (Substantial) and waits for the platform's next page.
func mitIDLogin(t *testing.T, ctx context.Context, subject string, next string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(sel("identity-"+subject)),
		chromedp.SetValue(sel("authenticator"), "code_app"),
		chromedp.Click(sel("identity-"+subject)),
		chromedp.WaitVisible(sel(next)),
	); err != nil {
		t.Fatalf("MitID login as %s, then %s: %v", subject, next, err)
	}
}

func textOf(t *testing.T, ctx context.Context, testid string) string {
	t.Helper()
	return strings.TrimSpace(run(t, ctx, chromedp.Text(sel(testid))))
}

// A management representative connects a new company and appoints its
// first administrator; the administrator opens the emailed link, logs in
// with MitID and lands in the portal of that company.
func TestRepresentativeConnectsACompanyAndTheAdministratorActivates(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	ctx := browser(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/connect"),
	); err != nil {
		t.Fatal(err)
	}
	mitIDLogin(t, ctx, "demo-rikke", "connect-heading")
	if got := textOf(t, ctx, "connected-91234564"); got == "" {
		t.Error("Nordlys is not marked as connected")
	}
	screenshot(t, ctx, "connect-list")
	if err := chromedp.Do(ctx,
		chromedp.Click(sel("connect-30264878")),
		chromedp.WaitVisible(sel("connect-form-heading")),
		// Submitting without the terms shows the errors, and keeps what was typed.
		chromedp.SendKeys(sel("field-first_name"), "Emma"),
		chromedp.Click(sel("connect-submit")),
		chromedp.WaitVisible(sel("error-summary")),
	); err != nil {
		t.Fatal(err)
	}
	if got := run(t, ctx, chromedp.Value(sel("field-first_name"))); got != "Emma" {
		t.Errorf("first name after a refused submit: %q, want it kept", got)
	}
	screenshot(t, ctx, "connect-form-errors")
	if err := chromedp.Do(ctx,
		chromedp.Click(sel("field-accept_terms")),
		chromedp.SendKeys(sel("field-last_name"), "Krogh"),
		chromedp.SendKeys(sel("field-email"), "emma@solbaer.example.dk"),
		chromedp.SendKeys(sel("field-cpr"), "030995-1241"),
		chromedp.Click(sel("connect-submit")),
		chromedp.WaitVisible(sel("connect-done")),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "connect-done")

	subject, link := s.mailTo(t, "emma@solbaer.example.dk")
	if !strings.Contains(subject, "Solbær") {
		t.Errorf("mail subject %q does not name the company", subject)
	}
	// Emma, in her own browser.
	emma := browser(t)
	if err := chromedp.Do(emma,
		chromedp.Navigate(link),
		chromedp.WaitVisible(sel("activate-login")),
	); err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, emma, "activate-org"); got != "Solbær ApS" {
		t.Errorf("activation page organisation %q", got)
	}
	screenshot(t, emma, "activate-start")
	run(t, emma, chromedp.Click(sel("activate-login")))
	mitIDLogin(t, emma, "demo-emma", "activate-submit")
	if err := chromedp.Do(emma,
		chromedp.Click(sel("activate-submit")),
		chromedp.WaitVisible(sel("overview-heading")),
	); err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, emma, "overview-heading"); got != "Solbær ApS" {
		t.Errorf("portal after activation shows %q", got)
	}
	if got := textOf(t, emma, "overview-roles"); !strings.Contains(got, "Organisationsadministrator") {
		t.Errorf("roles %q", got)
	}
	screenshot(t, emma, "activated-portal")
	// The link is single use.
	if err := chromedp.Do(emma, chromedp.Navigate(link), chromedp.WaitVisible(sel("error-back"))); err != nil {
		t.Fatal(err)
	}
	if got := run(t, emma, chromedp.Text("h1")); !strings.Contains(got, "Aktiveringen kunne ikke gennemføres") {
		t.Errorf("used link: %q", got)
	}
}

// A first administrator created with a date of birth instead of a CPR
// number activates with the one-time code the representative was shown.
func TestAdministratorWithoutCPRActivatesWithACode(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	ctx := browser(t)
	run(t, ctx, chromedp.Navigate(s.URL+"/connect/30264878"))
	mitIDLogin(t, ctx, "demo-rikke", "connect-form-heading")
	if err := chromedp.Do(ctx,
		chromedp.Click(sel("field-accept_terms")),
		chromedp.SendKeys(sel("field-first_name"), "Ahmed"),
		chromedp.SendKeys(sel("field-last_name"), "Nasser"),
		chromedp.SendKeys(sel("field-email"), "ahmed@solbaer.example.dk"),
		chromedp.SendKeys(sel("field-birth_date"), "1991-06-14"),
		chromedp.Click(sel("connect-submit")),
		chromedp.WaitVisible(sel("activation-code")),
	); err != nil {
		t.Fatal(err)
	}
	code := textOf(t, ctx, "activation-code")
	if len(code) != 11 {
		t.Fatalf("activation code %q", code)
	}
	_, link := s.mailTo(t, "ahmed@solbaer.example.dk")

	ahmed := browser(t)
	run(t, ahmed, chromedp.Navigate(link))
	run(t, ahmed, chromedp.Click(sel("activate-login")))
	mitIDLogin(t, ahmed, "demo-ahmed", "field-code")
	// A wrong code first: the page says so, in Danish, and nothing happens.
	if err := chromedp.Do(ahmed,
		chromedp.SendKeys(sel("field-code"), "AAAAA-AAAAA"),
		chromedp.Click(sel("activate-submit")),
		chromedp.WaitVisible(sel("error-code")),
	); err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, ahmed, "error-code"); !strings.Contains(got, "ikke rigtig") {
		t.Errorf("wrong code message %q", got)
	}
	screenshot(t, ahmed, "activate-wrong-code")
	if err := chromedp.Do(ahmed,
		chromedp.SetValue(sel("field-code"), strings.ToLower(code)),
		chromedp.Click(sel("activate-submit")),
		chromedp.WaitVisible(sel("overview-heading")),
	); err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, ahmed, "overview-user"); got != "Ahmed Nasser" {
		t.Errorf("portal user %q", got)
	}
}

// A person with two business identities picks the organisation after
// login and switches from the header.
func TestPersonWithTwoIdentitiesPicksAndSwitches(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	ctx := browser(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/"),
		chromedp.Click(sel("login-button")),
	); err != nil {
		t.Fatal(err)
	}
	mitIDLogin(t, ctx, "demo-mette", "choose-heading")
	screenshot(t, ctx, "choose-organisation")
	if err := chromedp.Do(ctx,
		chromedp.Click(sel("choose-95001238")),
		chromedp.WaitVisible(sel("overview-heading")),
	); err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, ctx, "overview-heading"); got != "Havbryg Revision I/S" {
		t.Fatalf("after choosing Havbryg: %q", got)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(sel("header-switch-org")),
		chromedp.WaitVisible(sel("choose-91234564")),
		chromedp.Click(sel("choose-91234564")),
		chromedp.WaitVisible(sel("overview-heading")),
	); err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, ctx, "overview-heading"); got != "Nordlys Rådgivning ApS" {
		t.Errorf("after switching: %q", got)
	}
	if got := textOf(t, ctx, "header-user"); !strings.Contains(got, "Nordlys Rådgivning ApS") {
		t.Errorf("header %q does not name the organisation", got)
	}
	screenshot(t, ctx, "switched-organisation")
	// Signing out ends the session here and at the broker and returns home.
	if err := chromedp.Do(ctx,
		chromedp.Click(`[data-testid="page-header"] .portal-user button.log-off`),
		chromedp.WaitVisible(sel("login-button")),
	); err != nil {
		t.Fatal(err)
	}
	if loc := run(t, ctx, chromedp.Location()); loc != s.URL+"/" {
		t.Errorf("after logout: %s", loc)
	}
}
