package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// serviceLogin picks a test identity at the simulator with authenticator
// and waits for the next page (testid), at the platform or the service.
func serviceLogin(t *testing.T, ctx context.Context, subject, authenticator, next string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(sel("identity-"+subject)),
		chromedp.SetValue(sel("authenticator"), authenticator),
		chromedp.Click(sel("identity-"+subject)),
		chromedp.WaitVisible(sel(next)),
	); err != nil {
		t.Fatalf("MitID login as %s (%s), then %s: %v", subject, authenticator, next, err)
	}
}

// An employee logs in to a professional service (the demo service) with
// MitID through the platform and the service shows what it received: who,
// for which organisation, how strongly, and the privileges for its IT
// system. Then the same at a lower level with a step-up, a person with two
// organisations choosing one, and a deactivated user refused.
func TestEmployeeLogsInToAService(t *testing.T) {
	t.Parallel()
	s := startStack(t)

	t.Run("privileges", func(t *testing.T) {
		ctx := browser(t)
		act(t, ctx, chromedp.Navigate(s.SPURL+"/"), chromedp.Click(sel("login")))
		serviceLogin(t, ctx, "demo-lars", "code_app", "privileges")
		if got := textOf(t, ctx, "org-name"); got != "Nordlys Rådgivning ApS" {
			t.Errorf("organisation %q", got)
		}
		if got := textOf(t, ctx, "cvr"); got != "91234564" {
			t.Errorf("CVR %q", got)
		}
		if got := textOf(t, ctx, "acr"); !strings.Contains(got, "Substantial") {
			t.Errorf("acr %q", got)
		}
		privs := textOf(t, ctx, "privileges")
		for _, want := range []string{"urn:dk:skattefar:moms:indberet", "urn:dk:skattefar:moms:laes"} {
			if !strings.Contains(privs, want) {
				t.Errorf("privileges lack %s: %q", want, privs)
			}
		}
		if strings.Contains(privs, "loen") {
			t.Errorf("another IT system's privilege reached the service: %q", privs)
		}
		if got := textOf(t, ctx, "bpp"); !strings.Contains(got, "urn:dk:skattefar:moms:indberet") {
			t.Errorf("BPP %q", got)
		}
		if got := textOf(t, ctx, "userinfo"); !strings.Contains(got, "same claims") {
			t.Errorf("userinfo %q", got)
		}
		docShot(t, ctx, "service-login")
		// RP-initiated logout ends the session at the platform too.
		act(t, ctx, chromedp.Click(sel("logout")), chromedp.WaitVisible(sel("notice")))
		if got := textOf(t, ctx, "notice"); !strings.Contains(got, "logget ud") {
			t.Errorf("after logout: %q", got)
		}
		act(t, ctx, chromedp.Click(sel("login")), chromedp.WaitVisible(sel("identity-demo-lars")))
	})

	t.Run("step-up", func(t *testing.T) {
		ctx := browser(t)
		act(t, ctx, chromedp.Navigate(s.SPURL+"/"), chromedp.Click(sel("login")))
		serviceLogin(t, ctx, "demo-lars", "password", "privileges")
		if got := textOf(t, ctx, "acr"); !strings.Contains(got, "Low") {
			t.Fatalf("a password login: acr %q", got)
		}
		if privs := textOf(t, ctx, "privileges"); strings.Contains(privs, "indberet") || !strings.Contains(privs, "moms:laes") {
			t.Errorf("a Low login's privileges: %q", privs)
		}
		// The service asks for Substantial: the platform sends Lars to MitID again.
		act(t, ctx, chromedp.Click(sel("login-substantial")))
		serviceLogin(t, ctx, "demo-lars", "code_app", "privileges")
		if got := textOf(t, ctx, "acr"); !strings.Contains(got, "Substantial") {
			t.Errorf("after step-up: acr %q", got)
		}
		if privs := textOf(t, ctx, "privileges"); !strings.Contains(privs, "indberet") {
			t.Errorf("after step-up the privilege is missing: %q", privs)
		}
	})

	t.Run("two organisations", func(t *testing.T) {
		ctx := browser(t)
		act(t, ctx, chromedp.Navigate(s.SPURL+"/"), chromedp.Click(sel("login")))
		serviceLogin(t, ctx, "demo-mette", "code_app", "sso-heading")
		docShot(t, ctx, "service-login-choose")
		act(t, ctx, chromedp.Click(sel("sso-choose-95001238")), chromedp.WaitVisible(sel("org-name")))
		if got := textOf(t, ctx, "org-name"); got != "Havbryg Revision I/S" {
			t.Errorf("chose Havbryg, the service got %q", got)
		}
	})

	t.Run("deactivated", func(t *testing.T) {
		ctx := browser(t)
		act(t, ctx, chromedp.Navigate(s.SPURL+"/"), chromedp.Click(sel("login")))
		serviceLogin(t, ctx, "demo-karen", "code_app", "sso-blocked")
		if got := textOf(t, ctx, "sso-blocked"); !strings.Contains(got, "deaktiveret") {
			t.Errorf("blocked page: %q", got)
		}
		screenshot(t, ctx, "service-login-deactivated")
		act(t, ctx, chromedp.Click(sel("sso-cancel")), chromedp.WaitVisible(sel("provider-error")))
		if got := textOf(t, ctx, "provider-error"); got != "access_denied" {
			t.Errorf("the service got %q", got)
		}
	})
}

// act runs browser actions and fails the test on error.
func act(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}
