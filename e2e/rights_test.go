package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/seed"
)

// The service provider's administrator publishes a privilege limited by a
// KLE number and a P-number; the customer's rights administrator finds it
// in the catalogue and gives it to an employee for one production unit;
// the employee's rights page says what he holds and why, and so does the
// list of who has which right.
func TestProviderPublishesAndCustomerAssignsAPrivilege(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	const uri = "urn:dk:skattefar:moms:afstem"

	henrik := browser(t)
	run(t, henrik, chromedp.Navigate(s.URL+"/login"))
	mitIDLogin(t, henrik, "demo-henrik", "overview-heading")
	moms := seed.ID("system:moms").String()
	if err := chromedp.Do(henrik,
		chromedp.Navigate(s.URL+"/portal/systems"),
		chromedp.WaitVisible(sel("systems")),
		chromedp.Click(sel("system-link-"+moms)),
		chromedp.WaitVisible(sel("publish-form")),
	); err != nil {
		t.Fatal(err)
	}
	// A bad identifier first: the form says what is wrong.
	if err := chromedp.Do(henrik,
		chromedp.SendKeys(sel("field-uri"), "afstem moms"),
		chromedp.SendKeys(sel("field-name_da"), "Afstem moms"),
		chromedp.SendKeys(sel("field-name_en"), "Reconcile VAT"),
		chromedp.Click(sel("publish-submit")),
		chromedp.WaitVisible(sel("error-uri")),
	); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(henrik,
		chromedp.SetValue(sel("field-uri"), uri),
		chromedp.SendKeys(sel("field-description_da"), "Afstemme momsangivelser for en produktionsenhed."),
		chromedp.SendKeys(sel("field-description_en"), "Reconcile VAT returns for a production unit."),
		chromedp.Click(sel("field-constraint-type-0")), // KLE
		chromedp.Click(sel("field-constraint-type-1")), // P-number
		chromedp.SetValue(sel("field-min_loa"), "substantial"),
		chromedp.Click(sel("publish-submit")),
		chromedp.WaitVisible(sel("notice")),
	); err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, henrik, "system-privileges"); !strings.Contains(got, uri) || !strings.Contains(got, "KLE") {
		t.Errorf("the system's privileges after publishing: %q", got)
	}
	docShot(t, henrik, "systems")

	// Sofie, Nordlys's rights administrator, finds it and gives it to Lars
	// for the Copenhagen unit, with a KLE number.
	sofie := browser(t)
	run(t, sofie, chromedp.Navigate(s.URL+"/login"))
	mitIDLogin(t, sofie, "demo-sofie", "overview-heading")
	if err := chromedp.Do(sofie,
		chromedp.Navigate(s.URL+"/portal/privileges"),
		chromedp.WaitVisible(sel("catalogue")),
		chromedp.SendKeys(sel("field-q"), "afstem"),
		chromedp.WaitVisible(`[data-testid="catalogue"] tbody tr:only-child`),
	); err != nil {
		t.Fatal(err)
	}
	docShot(t, sofie, "catalogue")
	kle, pnum := "field-constraint:"+domain.ConstraintKLE, "field-constraint:"+domain.ConstraintPNumber
	if err := chromedp.Do(sofie,
		chromedp.Click(`[data-testid="catalogue"] tbody a`),
		chromedp.WaitVisible(sel("assign-form")),
		chromedp.SendKeys(sel("field-users"), "lars@nordlys.example.dk"),
		chromedp.SetValue(sel("field-scope"), "p:1012345671"),
		chromedp.SendKeys(sel(kle), "25.2"),
		chromedp.Click(sel("assign-submit")),
		chromedp.WaitVisible(sel("error-summary")),
	); err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, sofie, "error-summary"); !strings.Contains(got, "KLE") {
		t.Errorf("a malformed KLE number: %q", got)
	}
	if err := chromedp.Do(sofie,
		chromedp.SetValue(sel(kle), "25.02.*"),
		chromedp.SendKeys(sel(pnum), "1012345671"),
		chromedp.Click(sel("assign-submit")),
		chromedp.WaitVisible(sel("notice")),
		chromedp.WaitVisible(sel("holders")),
	); err != nil {
		t.Fatal(err)
	}
	holders := textOf(t, sofie, "holders")
	for _, want := range []string{"Lars Vinther", "P-nummer 1012345671", "25.02.*"} {
		if !strings.Contains(holders, want) {
			t.Errorf("holders lack %q: %q", want, holders)
		}
	}
	docShot(t, sofie, "privilege")
	if err := chromedp.Do(sofie,
		chromedp.Navigate(s.URL+"/portal/rights?user=vinther"),
		chromedp.WaitVisible(sel("rights-table")),
	); err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, sofie, "rights-table"); !strings.Contains(got, "Afstem moms") || !strings.Contains(got, "Indberet moms") {
		t.Errorf("who has what for Lars: %q", got)
	}
	docShot(t, sofie, "who-has-what")

	// Lars's rights page, as Sofie sees it and as Lars sees his own.
	if err := chromedp.Do(sofie,
		chromedp.Navigate(s.URL+"/portal/users/"+seed.ID("user:lars").String()+"/rights"),
		chromedp.WaitVisible(sel("userrights-heading")),
	); err != nil {
		t.Fatal(err)
	}
	if got := run(t, sofie, chromedp.Text("main")); strings.Contains(got, "Vi kan ikke beregne") {
		t.Fatalf("the rights page could not explain Lars's rights: %q", got)
	}
	inEffect := textOf(t, sofie, "rights-in-effect")
	for _, want := range []string{"Afstem moms", "Tildelt direkte", "P-nummer 1012345671", "Se moms", "Gennem gruppen Bogholderi"} {
		if !strings.Contains(inEffect, want) {
			t.Errorf("Lars's rights in effect lack %q: %q", want, inEffect)
		}
	}
	docShot(t, sofie, "user-rights")

	lars := browser(t)
	run(t, lars, chromedp.Navigate(s.URL+"/login"))
	mitIDLogin(t, lars, "demo-lars", "overview-heading")
	if err := chromedp.Do(lars,
		chromedp.Navigate(s.URL+"/portal/me/rights"),
		chromedp.WaitVisible(sel("rights-in-effect")),
	); err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, lars, "rights-in-effect"); !strings.Contains(got, "Afstem moms") || !strings.Contains(got, "Tildelt direkte") {
		t.Errorf("Lars's own rights: %q", got)
	}
	if got := textOf(t, lars, "userrights-heading"); got != "Mine rettigheder" {
		t.Errorf("Lars's own page heading: %q", got)
	}
}
