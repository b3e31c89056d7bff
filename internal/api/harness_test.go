package api

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	vErrors "github.com/pb33f/libopenapi-validator/errors"

	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/dbtest"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/rights"
	"github.com/erhverv/erhverv/internal/server"
)

// testEnv is the API on a real HTTP server over a fresh database. Every
// exchange under /api/v1 is checked against the OpenAPI document: every
// response must match a documented response, and every request that
// succeeded must match its documented request. So a test that exercises an
// endpoint also proves that the document describes it.
type testEnv struct {
	DB      *postgres.DB
	API     *API
	URL     string
	Clients *postgres.APIClients
	Admin   *postgres.Administration
	Users   *postgres.UserService
	Orgs    *postgres.OrganisationService
	Rights  *postgres.RightsService
	Mail    *notifications
	hc      *http.Client
	check   validator.Validator
	checkMu sync.Mutex
}

// notifications records the mails the services enqueue.
type notifications struct {
	mu   sync.Mutex
	sent []domain.Notification
}

func (n *notifications) NotifyTx(_ context.Context, _ *sql.Tx, m domain.Notification) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent = append(n.sent, m)
	return nil
}

var (
	rightsPolicyOnce sync.Once
	rightsPolicy     *rights.Policy
	rightsPolicyErr  error
	docOnce          sync.Once
	docJSON          []byte
	docErr           error
)

func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	db := dbtest.New(t)
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	baseURL, _ := url.Parse(base)
	mail := &notifications{}
	onboarding := postgres.NewOnboarding(db, mail, func(s string) string { return base + "/activate/" + s })
	rightsPolicyOnce.Do(func() { rightsPolicy, rightsPolicyErr = rights.NewPolicy(context.Background(), authz.Options{}) })
	if rightsPolicyErr != nil {
		t.Fatal(rightsPolicyErr)
	}
	env := &testEnv{DB: db, URL: base, Clients: postgres.NewAPIClients(db), Users: postgres.NewUserService(db),
		Orgs: postgres.NewOrganisationService(db), Rights: postgres.NewRightsService(db), Mail: mail,
		Admin: postgres.NewAdministration(db, onboarding, base+"/portal")}
	a, err := New(context.Background(), Options{
		Logger: slog.New(slog.DiscardHandler), BaseURL: baseURL, DB: db,
		Clients: env.Clients, Keys: postgres.NewSigningKeys(db), Idempotency: postgres.NewIdempotency(db),
		Admin: env.Admin, Users: env.Users, Groups: postgres.NewGroupService(db), Roles: postgres.NewAdminRoleService(db),
		Rights: env.Rights, Orgs: env.Orgs, Audit: postgres.NewAuditLog(db),
		Runtime: rights.NewService(rightsPolicy, postgres.NewRightsStore(db)),
		Feed:    postgres.NewChangeFeed(db), Webhooks: postgres.NewWebhooks(db),
	})
	if err != nil {
		t.Fatal(err)
	}
	env.API = a
	srv := server.New(server.Options{Logger: slog.New(slog.DiscardHandler)}, a.Mount)
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	env.hc = ts.Client()
	env.check = documentValidator(t)
	return env
}

// documentValidator builds a validator of the merged OpenAPI document. Each
// test gets its own parse of it: the validator caches into the document's
// model, which is not safe to share between parallel tests.
func documentValidator(t testing.TB) validator.Validator {
	t.Helper()
	docOnce.Do(func() { docJSON, docErr = DocumentJSON() })
	if docErr != nil {
		t.Fatalf("openapi document: %v", docErr)
	}
	doc, err := libopenapi.NewDocument(docJSON)
	if err != nil {
		t.Fatalf("openapi document: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("openapi validator: %v", errs)
	}
	return v
}

var cvrCounter atomic.Int64

// validCVR returns a CVR number with a correct check digit, different on
// every call.
func validCVR() string {
	weights := []int{2, 7, 6, 5, 4, 3, 2}
	for {
		n := 2000000 + cvrCounter.Add(1)*7 + time.Now().UnixNano()%7
		s := fmt.Sprintf("%07d", n%10000000)
		sum := 0
		for i := range 7 {
			sum += int(s[i]-'0') * weights[i]
		}
		check := (11 - sum%11) % 11
		if check == 10 {
			continue
		}
		return s + fmt.Sprint(check)
	}
}

// org creates an active organisation (cvr "" picks a valid new one).
func (e *testEnv) org(t testing.TB, cvr, name string) *domain.Organisation {
	t.Helper()
	if cvr == "" {
		cvr = validCVR()
	}
	now := time.Now()
	o := &domain.Organisation{CVR: cvr, Name: name, Status: domain.OrgActive, ConnectedAt: &now}
	if err := e.Orgs.CreateOrganisation(context.Background(), o); err != nil {
		t.Fatalf("create organisation %s: %v", cvr, err)
	}
	return o
}

// user creates an active user of org directly in the database.
func (e *testEnv) user(t testing.TB, org *domain.Organisation, first, last string) *domain.User {
	t.Helper()
	u := &domain.User{OrgID: org.ID, FirstName: first, LastName: last,
		Email:     strings.ToLower(first+"."+last) + "." + uuid.NewString()[:8] + "@example.dk",
		BirthDate: time.Date(1980, 5, 5, 0, 0, 0, 0, time.UTC), Status: domain.UserActive}
	if err := e.Users.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("create user %s %s: %v", first, last, err)
	}
	return u
}

// registerClient registers a secret client of org with scopes.
func (e *testEnv) registerClient(t testing.TB, org *domain.Organisation, scopes ...string) (*domain.APIClient, string) {
	t.Helper()
	c, secret, err := e.Clients.Register(context.Background(), postgres.Actor{Label: "test"},
		postgres.NewAPIClient{OrgID: org.ID, Name: "test client", Scopes: scopes, AuthMethod: domain.APIAuthSecret, RateLimit: 10000})
	if err != nil {
		t.Fatalf("register client: %v", err)
	}
	return c, secret
}

// token registers a client of org with scopes and returns an access token.
func (e *testEnv) token(t testing.TB, org *domain.Organisation, scopes ...string) string {
	t.Helper()
	c, secret := e.registerClient(t, org, scopes...)
	return e.tokenFor(t, c.ID.String(), secret)
}

// tokenFor gets a token with client credentials over HTTP Basic.
func (e *testEnv) tokenFor(t testing.TB, clientID, secret string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.URL+TokenPath, strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &out) != nil || out.AccessToken == "" {
		t.Fatalf("token: status %d, body %s", resp.StatusCode, body)
	}
	return out.AccessToken
}

// do sends a request: body may be nil, a string or []byte (sent as is), or
// any value (sent as JSON). JSON bodies get Content-Type application/json
// unless hdr sets one. The response's body is read and checked against the
// OpenAPI document; it stays readable.
func (e *testEnv) do(t testing.TB, method, path, token string, body any, hdr http.Header) *http.Response {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, e.URL+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range hdr {
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if strings.HasPrefix(path, "/api/v1/") {
		e.validate(t, req, raw, resp, respBody)
	}
	return resp
}

// validate checks one exchange against the document.
func (e *testEnv) validate(t testing.TB, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	t.Helper()
	// The validator reads the bodies; give it fresh copies.
	vreq := req.Clone(context.Background())
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	vresp := *resp
	vresp.Body = io.NopCloser(bytes.NewReader(respBody))
	vresp.Request = vreq
	e.checkMu.Lock()
	defer e.checkMu.Unlock()
	if ok, errs := e.check.ValidateHttpResponse(vreq, &vresp); !ok {
		t.Errorf("%s %s: response %d does not match the OpenAPI document: %s\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, validationText(errs), clip(respBody))
	}
	if resp.StatusCode < 300 {
		vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
		if ok, errs := e.check.ValidateHttpRequest(vreq); !ok {
			t.Errorf("%s %s: the request succeeded but does not match the OpenAPI document: %s", req.Method, req.URL.Path, validationText(errs))
		}
	}
}

func validationText(errs []*vErrors.ValidationError) string {
	var b strings.Builder
	for _, e := range errs {
		fmt.Fprintf(&b, "\n  - %s: %s", e.Message, e.Reason)
		for _, f := range e.SchemaValidationErrors {
			fmt.Fprintf(&b, "\n      %s: %s", f.FieldPath, f.Reason)
		}
	}
	return b.String()
}

func clip(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// decode checks the status and decodes the JSON body into v (v may be nil);
// on a different status it fails with the body, usually a problem document.
func (e *testEnv) decode(t testing.TB, resp *http.Response, status int, v any) {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, clip(body))
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("decode %s: %v", clip(body), err)
		}
	}
}

// problemOf decodes a problem document and checks its status and code.
func (e *testEnv) problemOf(t testing.TB, resp *http.Response, status int, code string) Problem {
	t.Helper()
	var p Problem
	e.decode(t, resp, status, &p)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("content type %q, want application/problem+json", ct)
	}
	if p.Code != code || p.Status != status {
		t.Fatalf("problem %s/%d, want %s/%d: %+v", p.Code, p.Status, code, status, p)
	}
	return p
}
