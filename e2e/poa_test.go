package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// checkByHint ticks the privilege checkbox whose hint (the privilege's URI)
// is uri, on the power of attorney form.
func checkByHint(t *testing.T, ctx context.Context, uri string) {
	t.Helper()
	id := run(t, ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('[data-testid="poa-form"] .form-group-checkbox')]
		.find(g => g.querySelector('.form-hint').textContent.trim() === '`+uri+`').querySelector('input').dataset.testid`))
	run(t, ctx, chromedp.Click(sel(id)))
}

// rightsShow reports whether the identity's own rights page lists the
// privilege, as in effect or among its assignments.
func rightsShow(t *testing.T, ctx context.Context, base, privilege string) bool {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/portal/me/rights"),
		chromedp.WaitVisible(sel("userrights-heading")),
	); err != nil {
		t.Fatal(err)
	}
	return run(t, ctx, chromedp.Evaluate[bool](`[...document.querySelectorAll('[data-testid="rights-in-effect"], [data-testid="direct-assignments"]')]
		.some(t => t.textContent.includes('`+privilege+`'))`))
}

// Nordlys gives Havbryg a power of attorney; Havbryg's administrator
// accepts it and passes it on to an employee, who then holds the privilege;
// Nordlys ends it, and the employee's privilege is gone.
func TestPowerOfAttorneyGivenAcceptedPassedOnAndEnded(t *testing.T) {
	t.Parallel()
	s := startStack(t)

	// Mette, organisation administrator of Nordlys (and of Havbryg).
	mette := browser(t)
	run(t, mette, chromedp.Navigate(s.URL+"/login"))
	mitIDLogin(t, mette, "demo-mette", "choose-91234564")
	if err := chromedp.Do(mette,
		chromedp.Click(sel("choose-91234564")),
		chromedp.WaitVisible(sel("overview-heading")),
		chromedp.Navigate(s.URL+"/portal/poa"),
		chromedp.WaitVisible(sel("poa-heading")),
		chromedp.Click(sel("poa-new")),
		chromedp.WaitVisible(sel("poa-form")),
		chromedp.SendKeys(sel("field-grantee_cvr"), "95001238"),
	); err != nil {
		t.Fatal(err)
	}
	checkByHint(t, mette, "urn:dk:skattefar:moms:indberet")
	if err := chromedp.Do(mette,
		chromedp.SetValue(sel("field-scope"), "cvr:91234564"),
		chromedp.Click(sel("poa-submit")),
		chromedp.WaitVisible(sel("poa-detail-status")),
	); err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, mette, "poa-detail-status"); got != "Tilbudt" {
		t.Fatalf("after offering: %q", got)
	}
	poaURL := run(t, mette, chromedp.Location())
	poaURL = poaURL[:strings.Index(poaURL, "?")]
	s.waitMailSubject(t, "anders@havbryg.example.dk", "tilbyder Havbryg Revision I/S en erhvervsfuldmagt")

	// Anders, Havbryg's administrator, accepts and passes it on to Mette's
	// Havbryg identity.
	anders := browser(t)
	run(t, anders, chromedp.Navigate(s.URL+"/login"))
	mitIDLogin(t, anders, "demo-anders", "overview-heading")
	if err := chromedp.Do(anders,
		chromedp.Navigate(s.URL+"/portal/poa"),
		chromedp.WaitVisible(sel("poa-received")),
	); err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, anders, "poa-received"); !strings.Contains(got, "Nordlys Rådgivning ApS") || !strings.Contains(got, "Venter på jeres svar") {
		t.Errorf("Havbryg's received list: %q", got)
	}
	docShot(t, anders, "poa-list")
	if err := chromedp.Do(anders,
		chromedp.Click(`[data-testid="poa-received"] a`),
		chromedp.WaitVisible(sel("poa-accept")),
		chromedp.Click(sel("poa-accept")),
		chromedp.WaitVisible(sel("pass-on-form")),
	); err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, anders, "poa-detail-status"); got != "Aktiv" {
		t.Fatalf("after accepting: %q", got)
	}
	metteHavbryg := run(t, anders, chromedp.Evaluate[string](
		`[...document.querySelectorAll('#user option')].find(o => o.text.includes('mette@havbryg.example.dk')).value`))
	privilege := run(t, anders, chromedp.Evaluate[string](`document.querySelectorAll('#privilege option')[1].value`))
	if err := chromedp.Do(anders,
		chromedp.SetValue(sel("field-user"), metteHavbryg),
		chromedp.SetValue(sel("field-privilege"), privilege),
		chromedp.SetValue(sel("field-scope"), "p:1012345671"),
		chromedp.Click(sel("pass-on-submit")),
		chromedp.WaitVisible(sel("passed-on")),
	); err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, anders, "passed-on"); !strings.Contains(got, "Mette Nordlys") || !strings.Contains(got, "P-nummer 1012345671") {
		t.Errorf("passed on: %q", got)
	}
	docShot(t, anders, "poa")

	// Mette, acting for Havbryg, holds the privilege through it.
	metteB := browser(t)
	run(t, metteB, chromedp.Navigate(s.URL+"/login"))
	mitIDLogin(t, metteB, "demo-mette", "choose-95001238")
	run(t, metteB, chromedp.Click(sel("choose-95001238")))
	run(t, metteB, chromedp.WaitVisible(sel("overview-heading")))
	if !rightsShow(t, metteB, s.URL, "urn:dk:skattefar:moms:indberet") {
		t.Errorf("before the end, Mette's rights at Havbryg lack Indberet moms: %q", run(t, metteB, chromedp.Text("main")))
	}

	// Nordlys ends it.
	if err := chromedp.Do(mette,
		chromedp.Navigate(poaURL),
		chromedp.WaitVisible(sel("poa-end")),
		chromedp.Click(sel("poa-end")),
		chromedp.WaitVisible(sel("notice")),
	); err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, mette, "poa-detail-status"); got != "Ophørt" {
		t.Errorf("after ending: %q", got)
	}
	s.waitMailSubject(t, "anders@havbryg.example.dk", "er ophørt")
	// What Havbryg passed on is gone, and the employee no longer holds it.
	if err := chromedp.Do(anders,
		chromedp.Navigate(poaURL),
		chromedp.WaitVisible(sel("poa-detail-status")),
	); err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, anders, "poa-detail-status"); got != "Ophørt" {
		t.Errorf("Havbryg's page after the end: %q", got)
	}
	if n := run(t, anders, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="passed-on"] tbody tr, [data-testid="pass-on-form"]').length`)); n != 0 {
		t.Errorf("Havbryg's page after the end still lists %d passed-on rows or the form", n)
	}
	if rightsShow(t, metteB, s.URL, "urn:dk:skattefar:moms:indberet") {
		t.Errorf("after the end, Mette's rights at Havbryg still show Indberet moms: %q", run(t, metteB, chromedp.Text("main")))
	}
}
