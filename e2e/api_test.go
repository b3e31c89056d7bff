package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/seed"
	"github.com/erhverv/erhverv/internal/webhook"
)

// integrator is the program of a service provider: a plain HTTP client
// holding its client credentials, as an integrator would write one.
type integrator struct {
	t      *testing.T
	base   string
	token  string
	client *http.Client
}

func (in *integrator) call(method, path string, body any, hdr map[string]string, wantStatus int, out any) *http.Response {
	in.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, in.base+path, r)
	req.Header.Set("Authorization", "Bearer "+in.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := in.client.Do(req)
	if err != nil {
		in.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		in.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, wantStatus, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			in.t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	return resp
}

// delivery is one webhook request as the receiver got it.
type delivery struct {
	header http.Header
	body   []byte
}

// TestIntegratorJourney: Skattefar's administrator registers an API client
// in the portal; the service provider's program gets a token, subscribes a
// webhook, creates a user, assigns a privilege, asks for decisions, receives
// the signed webhooks and verifies them, and reads the same changes from the
// feed.
func TestIntegratorJourney(t *testing.T) {
	t.Parallel()
	s := startStack(t)

	// The administrator registers the client; the secret is shown once.
	henrik := browser(t)
	run(t, henrik, chromedp.Navigate(s.URL+"/login"))
	mitIDLogin(t, henrik, "demo-henrik", "overview-heading")
	if err := chromedp.Do(henrik,
		chromedp.Navigate(s.URL+"/portal/api-clients"),
		chromedp.WaitVisible(sel("apiclients-heading")),
		chromedp.Click(sel("apiclients-new")),
		chromedp.WaitVisible(sel("apiclient-form")),
		chromedp.Click(sel("apiclient-submit")), // nothing filled in: the form says what is missing
		chromedp.WaitVisible(sel("error-summary")),
	); err != nil {
		t.Fatal(err)
	}
	if got := textOf(t, henrik, "error-summary"); !strings.Contains(got, "navn") && !strings.Contains(got, "Navn") {
		t.Errorf("an empty registration: %q", got)
	}
	if err := chromedp.Do(henrik,
		chromedp.SendKeys(sel("field-name"), "Momsportalens back end"),
		chromedp.Click(sel("field-scope-users:write")),
		chromedp.Click(sel("field-scope-rights:write")),
		chromedp.Click(sel("field-scope-decisions")),
		chromedp.Click(sel("field-scope-events:read")),
		chromedp.Click(sel("field-auth-secret")),
		chromedp.Click(sel("apiclient-submit")),
		chromedp.WaitVisible(sel("apiclient-created")),
	); err != nil {
		t.Fatal(err)
	}
	clientID := run(t, henrik, chromedp.Value(sel("client-id")))
	secret := run(t, henrik, chromedp.Value(sel("client-secret")))
	if _, err := uuid.Parse(clientID); err != nil || !strings.HasPrefix(secret, "erh_") {
		t.Fatalf("client id %q, secret of %d characters", clientID, len(secret))
	}
	docShot(t, henrik, "api-client-created")

	// The program: a token by client credentials.
	hc := &http.Client{Timeout: 10 * time.Second}
	form := url.Values{"grant_type": {"client_credentials"}}
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	in := &integrator{t: t, base: s.URL, token: tok.AccessToken, client: hc}

	// A local receiver for the webhooks.
	got := make(chan delivery, 64)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- delivery{header: r.Header.Clone(), body: body}
	}))
	t.Cleanup(receiver.Close)
	var hook struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	in.call(http.MethodPost, "/api/v1/webhooks", map[string]any{"url": receiver.URL + "/erhverv"}, nil, http.StatusCreated, &hook)
	if hook.Secret == "" {
		t.Fatal("no webhook secret")
	}

	// Create a user (safe to retry: the same key gives the same user).
	newUser := map[string]any{"first_name": "Ida", "last_name": "Integrator", "email": "ida@skattefar.example.dk", "birth_date": "1990-04-01"}
	key := map[string]string{"Idempotency-Key": uuid.NewString()}
	var created, again struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	in.call(http.MethodPost, "/api/v1/users", newUser, key, http.StatusCreated, &created)
	replay := in.call(http.MethodPost, "/api/v1/users", newUser, key, http.StatusCreated, &again)
	if again.ID != created.ID || replay.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("a retried create: %s (replayed %q), want %s again", again.ID, replay.Header.Get("Idempotent-Replayed"), created.ID)
	}

	// Assign one of Skattefar's privileges to the new user.
	var assignment struct {
		ID string `json:"id"`
	}
	in.call(http.MethodPost, "/api/v1/assignments", map[string]any{
		"user_id": created.ID, "privilege": "urn:dk:skattefar:moms:laes",
		"scope": map[string]string{"type": "cvr", "value": seed.CVRSkattefar},
	}, nil, http.StatusCreated, &assignment)

	// Decisions. The new user is not activated yet: the answer says so.
	type decision struct {
		Allow   bool `json:"allow"`
		Reasons []struct {
			Code string `json:"code"`
		} `json:"reasons"`
	}
	var d decision
	in.call(http.MethodPost, "/api/v1/decisions", map[string]any{"user_id": created.ID, "privilege": "urn:dk:skattefar:moms:laes"}, nil, http.StatusOK, &d)
	if d.Allow || len(d.Reasons) == 0 || d.Reasons[0].Code != "identity.not_active" {
		t.Errorf("decision for a user not yet activated: %+v, want deny identity.not_active", d)
	}
	// As a service provider, Skattefar asks about a customer's employee,
	// for its own privilege: Lars of Nordlys files VAT.
	in.call(http.MethodPost, "/api/v1/decisions", map[string]any{
		"user_id": seed.ID("user:lars").String(), "privilege": "urn:dk:skattefar:moms:indberet",
		"scope": map[string]string{"type": "cvr", "value": seed.CVRNordlys},
	}, nil, http.StatusOK, &d)
	if !d.Allow || len(d.Reasons) == 0 || d.Reasons[0].Code != "grant.direct" {
		t.Errorf("decision for Lars: %+v, want allow through grant.direct", d)
	}

	// The webhooks arrive, signed; every one verifies with the secret.
	seen := map[string]webhook.Event{}
	deadline := time.After(30 * time.Second) // a generous bound, not a timing assertion
	for seen["user.created"].SubjectID != created.ID || seen["assignment.created"].SubjectID == "" {
		select {
		case dl := <-got:
			if err := webhook.Verify([]byte(hook.Secret), dl.header.Get(webhook.HeaderSignature), dl.body, time.Now(), 5*time.Minute); err != nil {
				t.Fatalf("webhook signature: %v", err)
			}
			var ev webhook.Event
			if err := json.Unmarshal(dl.body, &ev); err != nil {
				t.Fatal(err)
			}
			if dl.header.Get(webhook.HeaderEventID) != ev.ID {
				t.Errorf("event id header %q, body %q", dl.header.Get(webhook.HeaderEventID), ev.ID)
			}
			seen[ev.Type] = ev
		case <-deadline:
			t.Fatalf("webhooks received: %v; want user.created for %s and assignment.created", keys(seen), created.ID)
		}
	}
	// The feed has the same changes, in order, with the same ids.
	var feed struct {
		Items []webhook.Event `json:"items"`
		Next  string          `json:"next_cursor"`
	}
	in.call(http.MethodGet, "/api/v1/events?after=0&limit=200", nil, nil, http.StatusOK, &feed)
	var order []string
	for _, ev := range feed.Items {
		if ev.ID == seen["user.created"].ID || ev.ID == seen["assignment.created"].ID {
			order = append(order, ev.Type)
		}
	}
	if strings.Join(order, " ") != "user.created assignment.created" {
		t.Errorf("the feed's view of the journey: %v (next cursor %q)", order, feed.Next)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
