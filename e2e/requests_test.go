package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// An employee asks for a privilege from the catalogue on his own page; the
// rights administrator is told by mail, approves it with a comment, and the
// employee sees it approved.
func TestEmployeeRequestsAPrivilegeAndARightsAdministratorApprovesIt(t *testing.T) {
	t.Parallel()
	s := startStack(t)

	lars := browser(t)
	run(t, lars, chromedp.Navigate(s.URL+"/login"))
	mitIDLogin(t, lars, "demo-lars", "overview-heading")
	run(t, lars, chromedp.WaitVisible(sel("privilege-request-form")))
	loen := run(t, lars, chromedp.Evaluate[string](
		`[...document.querySelectorAll('#privilege option')].find(o => o.text.includes('urn:dk:skattefar:loen:administrer')).value`))
	// A KLE number in the wrong form is refused with the reason, and what
	// was typed stays.
	if err := chromedp.Do(lars,
		chromedp.SetValue(sel("field-privilege"), loen),
		chromedp.SetValue(sel("field-scope"), "p:1012345671"),
		chromedp.SendKeys(sel("field-constraint:urn:dk:kombit:KLE"), "25-02"),
		chromedp.SendKeys(sel("field-privilege_reason"), "Jeg skal godkende lønkørsler for København"),
		chromedp.Click(sel("privilege-request-submit")),
		chromedp.WaitVisible(sel("error-constraint:urn:dk:kombit:KLE")),
	); err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, lars, "error-constraint:urn:dk:kombit:KLE"); !strings.Contains(got, "KLE-nummer") {
		t.Errorf("KLE error: %q", got)
	}
	if err := chromedp.Do(lars,
		chromedp.SetValue(sel("field-constraint:urn:dk:kombit:KLE"), "25.02"),
		chromedp.Click(sel("privilege-request-submit")),
		chromedp.WaitVisible(sel("requested")),
	); err != nil {
		t.Fatal(err)
	}
	docShot(t, lars, "privilege-request")
	if got := textOf(t, lars, "my-requests"); !strings.Contains(got, "Administrer løn") || !strings.Contains(got, "afventer") {
		t.Errorf("Lars's requests: %q", got)
	}
	// The rights administrator hears of it through the real mail queue.
	s.waitMailSubject(t, "sofie@nordlys.example.dk", "Ny anmodning")

	sofie := browser(t)
	run(t, sofie, chromedp.Navigate(s.URL+"/login"))
	mitIDLogin(t, sofie, "demo-sofie", "overview-heading")
	if err := chromedp.Do(sofie,
		chromedp.Navigate(s.URL+"/portal/requests"),
		chromedp.WaitVisible(sel("request-detail")),
	); err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, sofie, "request-detail"); !strings.Contains(got, "P-nummer 1012345671") || !strings.Contains(got, "KLE-nummer 25.02") {
		t.Errorf("request detail: %q", got)
	}
	docShot(t, sofie, "requests")
	if err := chromedp.Do(sofie,
		chromedp.SendKeys(sel("field-comment"), "Godkendt for København"),
		chromedp.Click(sel("approve")),
		chromedp.WaitVisible(sel("notice")),
	); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(lars,
		chromedp.Navigate(s.URL+"/portal"),
		chromedp.WaitVisible(sel("my-requests")),
	); err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, lars, "my-request-status"); got != "godkendt" {
		t.Errorf("Lars's request after approval: %q, want godkendt", got)
	}
	s.waitMailSubject(t, "lars@nordlys.example.dk", "er godkendt")
}
