package api

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/postgres"
)

// apiCount runs a count(*) query on the test database.
func apiCount(t testing.TB, e *testEnv, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.DB.SQL().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// auditedByClient counts the organisation's audit events of action on
// target recorded with an API client as the actor.
func auditedByClient(t testing.TB, e *testEnv, org *domain.Organisation, action, target string) int {
	t.Helper()
	return apiCount(t, e, `SELECT count(*) FROM audit_events WHERE org_id = $1 AND action = $2 AND target_id = $3
		AND actor_label LIKE 'API client %'`, org.ID, action, target)
}

// forgedToken is a well-formed access token for a client of org, signed
// with a key the platform never published.
func forgedToken(t testing.TB, e *testEnv, org *domain.Organisation, scopes ...string) string {
	t.Helper()
	client, _ := e.registerClient(t, org, scopes...)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "stranger"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(accessClaims{Claims: jwt.Claims{Issuer: e.API.issuer(), Audience: jwt.Audience{e.API.audience()},
		Subject: client.ID.String(), Expiry: jwt.NewNumericDate(time.Now().Add(time.Minute))},
		ClientID: client.ID.String(), OrgID: org.ID.String(), Scope: strings.Join(scopes, " ")}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// storedUser reads a user from the database, bypassing the API.
func storedUser(t testing.TB, e *testEnv, u *domain.User) *domain.User {
	t.Helper()
	got, err := e.Users.FindUserByID(context.Background(), u.OrgID, u.ID)
	if err != nil {
		t.Fatalf("read user %s: %v", u.ID, err)
	}
	return got
}

// sentMails is a copy of the mails the services enqueued so far.
func sentMails(e *testEnv) []domain.Notification {
	e.Mail.mu.Lock()
	defer e.Mail.mu.Unlock()
	return slices.Clone(e.Mail.sent)
}

// ifMatch is an If-Match header.
func ifMatch(etag string) http.Header { return http.Header{"If-Match": {etag}} }

func TestUsersCreateReadUpdate(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	org := e.org(t, "", "Solsikke ApS")
	tok := e.token(t, org, "users:write")

	// With a CPR number: the number is never echoed, the birth date comes from it.
	resp := e.do(t, http.MethodPost, "/api/v1/users", tok, map[string]any{
		"first_name": "Jens", "last_name": "Jensen", "email": "jens@example.dk", "cpr": "010180-1234", "employee_number": "E-17"}, nil)
	var jens userCreated
	e.decode(t, resp, http.StatusCreated, &jens)
	if strings.Contains(mustBody(t, resp), "1234") {
		t.Errorf("the answer repeats the CPR number: %s", mustBody(t, resp))
	}
	if got, want := resp.Header.Get("Location"), "/api/v1/users/"+jens.ID.String(); got != want {
		t.Errorf("Location: got %q, want %q", got, want)
	}
	if got := resp.Header.Get("ETag"); got != `"1"` {
		t.Errorf("ETag: got %q, want \"1\"", got)
	}
	if jens.Status != domain.UserPending || !jens.HasCPR || jens.BirthDate != "1980-01-01" || jens.EmployeeNumber != "E-17" ||
		jens.Activation.Code != "" || jens.Activation.ExpiresAt.IsZero() {
		t.Errorf("created user: got %+v, want pending with CPR, born 1980-01-01, no code", jens)
	}
	mails := sentMails(e)
	if len(mails) != 1 || mails[0].Template != "activation" || mails[0].Lang != "da" || mails[0].To != "jens@example.dk" {
		t.Errorf("mails: got %+v, want one Danish activation mail to jens@example.dk", mails)
	}
	if n := auditedByClient(t, e, org, "user.created", jens.ID.String()); n != 1 {
		t.Errorf("user.created by the client: got %d events, want 1", n)
	}

	// Without CPR: a date of birth, and a one-time code to hand over.
	var ida userCreated
	e.decode(t, e.do(t, http.MethodPost, "/api/v1/users", tok, map[string]any{
		"first_name": "Ida", "last_name": "Holm", "email": "ida@example.dk", "birth_date": "1990-02-03", "phone": "+4512345678"}, nil),
		http.StatusCreated, &ida)
	if ida.HasCPR || ida.BirthDate != "1990-02-03" || ida.Activation.Code == "" || ida.Phone != "+4512345678" {
		t.Errorf("created user without CPR: got %+v, want born 1990-02-03 with a code", ida)
	}

	resp = e.do(t, http.MethodGet, "/api/v1/users/"+jens.ID.String(), tok, nil, nil)
	var got userJSON
	e.decode(t, resp, http.StatusOK, &got)
	if got.ID != jens.ID || got.Email != "jens@example.dk" || resp.Header.Get("ETag") != `"1"` {
		t.Errorf("GET: got %+v (ETag %s), want Jens with ETag \"1\"", got, resp.Header.Get("ETag"))
	}

	// A merge patch with the ETag: only the fields given change.
	resp = e.do(t, http.MethodPatch, "/api/v1/users/"+ida.ID.String(), tok,
		map[string]any{"last_name": "Holm-Berg", "department": "Løn"}, ifMatch(`"1"`))
	got = userJSON{}
	e.decode(t, resp, http.StatusOK, &got)
	if got.LastName != "Holm-Berg" || got.FirstName != "Ida" || got.Phone != "+4512345678" || got.Department != "Løn" ||
		got.Version != 2 || resp.Header.Get("ETag") != `"2"` {
		t.Errorf("PATCH: got %+v (ETag %s), want last name Holm-Berg, department Løn, the rest kept, version 2", got, resp.Header.Get("ETag"))
	}
	// null removes an optional field; no If-Match is allowed too.
	got = userJSON{}
	e.decode(t, e.do(t, http.MethodPatch, "/api/v1/users/"+ida.ID.String(), tok,
		`{"phone": null, "birth_date": "1990-02-04"}`, http.Header{"Content-Type": {"application/merge-patch+json"}}), http.StatusOK, &got)
	if got.Phone != "" || got.BirthDate != "1990-02-04" || got.Version != 3 {
		t.Errorf("PATCH null: got %+v, want no phone, born 1990-02-04, version 3", got)
	}
	stored := storedUser(t, e, &domain.User{OrgID: org.ID, ID: ida.ID})
	if stored.Phone != "" || stored.LastName != "Holm-Berg" || stored.ExtraFields["department"] != "Løn" {
		t.Errorf("stored: got %+v, want the patched user", stored)
	}
	if n := auditedByClient(t, e, org, "user.updated", ida.ID.String()); n != 2 {
		t.Errorf("user.updated by the client: got %d events, want 2", n)
	}
}

// mustBody is the body of a response the harness read (it stays readable).
func mustBody(t testing.TB, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return string(b)
}

func TestUsersListPagesWithoutDuplicates(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	org := e.org(t, "", "Mange Brugere A/S")
	other := e.org(t, "", "Naboen A/S")
	tok := e.token(t, org, "users:read")
	want := map[uuid.UUID]bool{}
	for _, n := range []string{"Hansen", "Andersen", "Nielsen", "Berg", "Olsen", "Madsen", "Berg"} {
		want[e.user(t, org, "Anne", n).ID] = true
	}
	gone := e.user(t, org, "Gone", "Away")
	if err := e.Users.SetUserStatus(context.Background(), org.ID, gone.ID, gone.Version, domain.UserDeleted); err != nil {
		t.Fatal(err)
	}
	foreign := e.user(t, other, "Anne", "Andersen")

	seen := map[uuid.UUID]bool{}
	var last string
	path := "/api/v1/users?limit=3"
	for pages := 0; path != ""; pages++ {
		if pages > len(want) {
			t.Fatal("more pages than users")
		}
		resp := e.do(t, http.MethodGet, path, tok, nil, nil)
		var page Page[userJSON]
		e.decode(t, resp, http.StatusOK, &page)
		for _, u := range page.Items {
			if seen[u.ID] {
				t.Errorf("user %s on two pages", u.ID)
			}
			seen[u.ID] = true
			key := u.LastName + "\x00" + u.FirstName + "\x00" + u.ID.String()
			if key < last {
				t.Errorf("users out of order: %q after %q", key, last)
			}
			last = key
		}
		path = ""
		if page.NextCursor != "" {
			if link := resp.Header.Get("Link"); !strings.Contains(link, `rel="next"`) {
				t.Errorf("Link header: got %q, want a next link", link)
			}
			path = "/api/v1/users?limit=3&cursor=" + page.NextCursor
		}
	}
	if len(seen) != len(want) {
		t.Errorf("listed %d users, want %d", len(seen), len(want))
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("user %s never listed", id)
		}
	}
	if seen[gone.ID] || seen[foreign.ID] {
		t.Errorf("the list has the deleted user or another organisation's")
	}

	var page Page[userJSON]
	e.decode(t, e.do(t, http.MethodGet, "/api/v1/users?status=deleted", tok, nil, nil), http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].ID != gone.ID || page.Items[0].FirstName != "" || page.Items[0].BirthDate != "" {
		t.Errorf("status=deleted: got %+v, want the deleted user, erased", page.Items)
	}
	e.decode(t, e.do(t, http.MethodGet, "/api/v1/users?q=berg", tok, nil, nil), http.StatusOK, &page)
	if len(page.Items) != 2 {
		t.Errorf("q=berg: got %d users, want 2", len(page.Items))
	}
	for q, field := range map[string]string{"status=retired": "status", "cursor=!!": "cursor", "limit=0": "limit", "limit=201": "limit"} {
		p := e.problemOf(t, e.do(t, http.MethodGet, "/api/v1/users?"+q, tok, nil, nil), http.StatusBadRequest, domain.EINVALID)
		if len(p.Errors) != 1 || p.Errors[0].Field != field {
			t.Errorf("?%s: got errors %+v, want one about %s", q, p.Errors, field)
		}
	}
}

func TestUserStatusChanges(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	org := e.org(t, "", "Skiftende ApS")
	tok := e.token(t, org, "users:write")
	u := e.user(t, org, "Karen", "Lund")
	path := "/api/v1/users/" + u.ID.String()
	status := func(action, etag string, want int, wantStatus string) {
		t.Helper()
		var hdr http.Header
		if etag != "" {
			hdr = ifMatch(etag)
		}
		resp := e.do(t, http.MethodPost, path+"/"+action, tok, nil, hdr)
		var got userJSON
		e.decode(t, resp, want, &got)
		if got.Status != wantStatus || resp.Header.Get("ETag") != `"`+strconv.Itoa(got.Version)+`"` {
			t.Errorf("%s: got status %s, ETag %s (version %d), want %s", action, got.Status, resp.Header.Get("ETag"), got.Version, wantStatus)
		}
	}
	// A stale ETag changes nothing.
	e.problemOf(t, e.do(t, http.MethodPost, path+"/deactivate", tok, nil, ifMatch(`"7"`)), http.StatusPreconditionFailed, CodePreconditionFailed)
	if s := storedUser(t, e, u); s.Status != domain.UserActive || s.Version != 1 {
		t.Fatalf("after a stale deactivate: got %s v%d, want active v1", s.Status, s.Version)
	}
	status("deactivate", `"1"`, http.StatusOK, domain.UserDeactivated)
	status("deactivate", "", http.StatusOK, domain.UserDeactivated) // again: nothing to do
	if s := storedUser(t, e, u); s.Version != 2 {
		t.Errorf("deactivating twice: version %d, want 2", s.Version)
	}
	status("reactivate", `"2"`, http.StatusOK, domain.UserActive)
	if n := auditedByClient(t, e, org, "user.deactivated", u.ID.String()) + auditedByClient(t, e, org, "user.reactivated", u.ID.String()); n != 2 {
		t.Errorf("status events by the client: got %d, want 2", n)
	}

	// The last active organisation administrator stays.
	if err := postgres.NewAdminRoleService(e.DB).AssignAdminRole(context.Background(),
		&domain.AdminRole{OrgID: org.ID, UserID: u.ID, Role: domain.RoleOrgAdmin}); err != nil {
		t.Fatal(err)
	}
	for _, req := range []struct{ method, path string }{{http.MethodPost, path + "/deactivate"}, {http.MethodDelete, path}} {
		p := e.problemOf(t, e.do(t, req.method, req.path, tok, nil, nil), http.StatusConflict, domain.ECONFLICT)
		if !strings.Contains(p.Detail, "last active organisation administrator") {
			t.Errorf("%s %s: detail %q, want it to name the last organisation administrator", req.method, req.path, p.Detail)
		}
	}
	if s := storedUser(t, e, u); s.Status != domain.UserActive || s.Version != 3 {
		t.Errorf("after refusals: got %s v%d, want active v3", s.Status, s.Version)
	}

	// A pending user activates themselves; deleting erases the data.
	var p userCreated
	e.decode(t, e.do(t, http.MethodPost, "/api/v1/users", tok, map[string]any{
		"first_name": "Ny", "last_name": "Ansat", "email": "ny@example.dk", "birth_date": "2000-01-01"}, nil), http.StatusCreated, &p)
	for _, action := range []string{"reactivate", "deactivate"} {
		e.problemOf(t, e.do(t, http.MethodPost, "/api/v1/users/"+p.ID.String()+"/"+action, tok, nil, nil), http.StatusConflict, domain.ECONFLICT)
	}
	for range 2 { // deleting a deleted user changes nothing
		resp := e.do(t, http.MethodDelete, "/api/v1/users/"+p.ID.String(), tok, nil, nil)
		e.decode(t, resp, http.StatusNoContent, nil)
	}
	deleted := storedUser(t, e, &domain.User{OrgID: org.ID, ID: p.ID})
	if deleted.Status != domain.UserDeleted || deleted.FirstName != "" || deleted.Email != "" || !deleted.BirthDate.IsZero() {
		t.Errorf("deleted user: got %+v, want status deleted with the data erased", deleted)
	}
	if n := auditedByClient(t, e, org, "user.deleted", p.ID.String()); n != 1 {
		t.Errorf("user.deleted by the client: got %d events, want 1", n)
	}
	e.problemOf(t, e.do(t, http.MethodPost, "/api/v1/users/"+p.ID.String()+"/reactivate", tok, nil, nil), http.StatusConflict, domain.ECONFLICT)
	e.problemOf(t, e.do(t, http.MethodPatch, "/api/v1/users/"+p.ID.String(), tok, map[string]any{"first_name": "X"}, nil),
		http.StatusConflict, domain.ECONFLICT)
}

// TestChangeProblemTellsStaleFromConcurrent covers the race no HTTP test can
// time: a change saved by someone else between the handler's read and its
// write is 412 for a client that sent If-Match and 409 for one that did not.
func TestChangeProblemTellsStaleFromConcurrent(t *testing.T) {
	t.Parallel()
	base, _ := url.Parse("http://erhverv.test")
	a := &API{opts: Options{BaseURL: base}}
	for _, c := range []struct {
		ifMatch bool
		want    int
	}{{true, http.StatusPreconditionFailed}, {false, http.StatusConflict}} {
		w := httptest.NewRecorder()
		ctx, _ := gin.CreateTestContext(w)
		ctx.Request = httptest.NewRequest(http.MethodPatch, "/api/v1/users/x", nil)
		a.changeProblem(ctx, postgres.ErrStale, c.ifMatch)
		if w.Code != c.want {
			t.Errorf("If-Match %v: got %d, want %d", c.ifMatch, w.Code, c.want)
		}
	}
}
