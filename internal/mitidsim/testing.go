package mitidsim

import (
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// NewTestServer starts a simulator for a test on a loopback listener and
// closes it when the test ends. The issuer is the listener's URL, known
// before the simulator is built; identities live in memory only. Clients
// whose redirect URIs are known only later can be added with RegisterClient.
func NewTestServer(t testing.TB, clients ...Client) (*Server, *httptest.Server) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	s, err := New(context.Background(), Config{
		Issuer:  "http://" + ts.Listener.Addr().String(),
		Clients: clients,
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		ts.Close()
		t.Fatalf("mitidsim: new test server: %v", err)
	}
	ts.Config.Handler = s.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	return s, ts
}

// LoginAs logs in the way a tester would, with plain HTTP. hc fetches
// startURL (a relying party's login start or an authorization URL) and
// follows its redirects to the simulator's login page; LoginAs then picks
// the identity with the authenticator (code_app, code_app_high, code_token,
// chip or password) and follows the redirects back to the relying party.
// hc needs a cookie jar when the relying party keeps state in cookies. The
// returned response is the last one, and the caller closes its body. A login
// the simulator refuses is an error with the page's message.
func (s *Server) LoginAs(ctx context.Context, hc *http.Client, startURL, subject, authenticator string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, startURL, nil)
	if err != nil {
		return nil, fmt.Errorf("login as %s: %w", subject, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("login as %s: %w", subject, err)
	}
	final := resp.Request.URL
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	id := final.Query().Get("id")
	if resp.StatusCode != http.StatusOK || !s.isLoginPage(final) || id == "" {
		return nil, fmt.Errorf("login as %s: %s led to %s (status %d), not the simulator's login page", subject, startURL, final.Redacted(), resp.StatusCode)
	}

	form := url.Values{"id": {id}, "subject": {subject}, "authenticator": {authenticator}}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, s.issuer+pathLogin, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("login as %s: %w", subject, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("login as %s: %w", subject, err)
	}
	if s.isLoginPage(resp.Request.URL) && resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return nil, fmt.Errorf("login as %s refused (status %d): %s", subject, resp.StatusCode, pageError(string(body)))
	}
	return resp, nil
}

func (s *Server) isLoginPage(u *url.URL) bool {
	return u.Scheme+"://"+u.Host == s.issuer && u.Path == pathLogin
}

// pageError is the text of the login page's error message.
func pageError(page string) string {
	const marker = `data-testid="login-error">`
	_, rest, ok := strings.Cut(page, marker)
	if !ok {
		return "no message on the page"
	}
	msg, _, _ := strings.Cut(rest, "<")
	return html.UnescapeString(msg)
}
