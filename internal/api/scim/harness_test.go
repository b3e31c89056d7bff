package scim

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/erhverv/erhverv/internal/dbtest"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/mail"
	"github.com/erhverv/erhverv/internal/postgres"
)

// testEnv is the SCIM endpoints over real HTTP on a fresh database, with
// two organisations: each bearer token in tokens stands for one.
type testEnv struct {
	db     *postgres.DB
	users  *postgres.UserService
	base   string
	srv    *httptest.Server
	org    *domain.Organisation // the organisation of token "org"
	other  *domain.Organisation // of token "other"
	mail   *recordingNotifier
	client uuid.UUID // the API client's id, the actor of every change
}

const clientLabel = "API client Directory sync"

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	db := dbtest.New(t)
	ctx := context.Background()
	orgs := postgres.NewOrganisationService(db)
	env := &testEnv{db: db, users: postgres.NewUserService(db), mail: &recordingNotifier{}, client: uuid.New()}
	for _, o := range []struct {
		p         **domain.Organisation
		cvr, name string
	}{{&env.org, "30264878", "Solbær ApS"}, {&env.other, "91234564", "Anden A/S"}} {
		now := time.Now()
		org := &domain.Organisation{CVR: o.cvr, Name: o.name, Status: domain.OrgActive, ConnectedAt: &now}
		if err := orgs.CreateOrganisation(ctx, org); err != nil {
			t.Fatalf("CreateOrganisation: %v", err)
		}
		*o.p = org
	}
	onboard := postgres.NewOnboarding(db, env.mail, func(s string) string { return "https://erhverv.test/activate?token=" + s })
	admin := postgres.NewAdministration(db, onboard, "https://erhverv.test/portal")
	gin.SetMode(gin.TestMode)
	engine := gin.New()
	env.srv = httptest.NewServer(engine)
	t.Cleanup(env.srv.Close)
	env.base = env.srv.URL + "/scim/v2"
	Mount(engine.Group("/scim/v2"), Options{
		Directory: NewDirectory(admin, env.users, postgres.NewSCIM(db, admin)),
		BaseURL:   env.base,
		Logger:    slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		Principal: func(c *gin.Context) (uuid.UUID, postgres.Actor, bool) {
			org := map[string]*domain.Organisation{"Bearer org": env.org, "Bearer other": env.other}[c.GetHeader("Authorization")]
			if org == nil {
				return uuid.Nil, postgres.Actor{}, false
			}
			return org.ID, postgres.Actor{UserID: env.client, Label: clientLabel, RequestID: "req-1", Address: "192.0.2.1"}, true
		},
	})
	return env
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// recordingNotifier stands in for the mail queue, refusing what the real
// one would refuse.
type recordingNotifier struct {
	mu   sync.Mutex
	sent []domain.Notification
}

func (n *recordingNotifier) NotifyTx(_ context.Context, _ *sql.Tx, msg domain.Notification) error {
	if err := mail.Validate(msg); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent = append(n.sent, msg)
	return nil
}

func (n *recordingNotifier) to(address string) []domain.Notification {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []domain.Notification
	for _, m := range n.sent {
		if m.To == address {
			out = append(out, m)
		}
	}
	return out
}

// response is an answer read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request as the organisation of token ("org" or "other");
// body is marshalled unless it is a string. hdr are name, value pairs.
func (e *testEnv) do(t *testing.T, token, method, path string, body any, hdr ...string) *response {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.base+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && resp.Header.Get("Content-Type") != contentType {
		t.Errorf("%s %s: got Content-Type %q, want %q", method, path, resp.Header.Get("Content-Type"), contentType)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}
}

// call sends a request as "org", checks the status and decodes the body
// into out (when not nil), which is zeroed first.
func (e *testEnv) call(t *testing.T, method, path string, body any, want int, out any, hdr ...string) *response {
	t.Helper()
	resp := e.do(t, "org", method, path, body, hdr...)
	if resp.status != want {
		t.Fatalf("%s %s: got status %d, want %d: %s", method, path, resp.status, want, resp.body)
	}
	if out != nil {
		reflect.ValueOf(out).Elem().SetZero() // nothing left over from an earlier answer
		if err := json.Unmarshal(resp.body, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, resp.body, err)
		}
	}
	return resp
}

// wantError checks a SCIM error answer.
func wantError(t *testing.T, what string, resp *response, status int, scimType string) errorBody {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal(resp.body, &e); err != nil {
		t.Fatalf("%s: error body %s: %v", what, resp.body, err)
	}
	if resp.status != status || e.Status != strconv.Itoa(status) || e.ScimType != scimType ||
		!slices.Equal(e.Schemas, []string{schemaError}) || e.Detail == "" {
		t.Errorf("%s: got %d %+v, want status %d scimType %q with a detail", what, resp.status, e, status, scimType)
	}
	return e
}

type userList struct {
	TotalResults int            `json:"totalResults"`
	StartIndex   int            `json:"startIndex"`
	ItemsPerPage int            `json:"itemsPerPage"`
	Resources    []userResource `json:"Resources"`
	Schemas      []string       `json:"schemas"`
}

type groupList struct {
	TotalResults int             `json:"totalResults"`
	StartIndex   int             `json:"startIndex"`
	ItemsPerPage int             `json:"itemsPerPage"`
	Resources    []groupResource `json:"Resources"`
}

// audit lists the organisation's audit events, oldest first.
func (e *testEnv) audit(t *testing.T, org *domain.Organisation) []*domain.AuditEvent {
	t.Helper()
	events, _, err := postgres.NewAuditLog(e.db).ListAuditEvents(context.Background(), postgres.AuditFilter{OrgID: org.ID, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(events)
	return events
}

// wantAudit checks that the organisation's log has, in this order and
// among others, events with these actions about target, each made by the
// API client.
func (e *testEnv) wantAudit(t *testing.T, org *domain.Organisation, target string, actions ...string) {
	t.Helper()
	var got []string
	for _, ev := range e.audit(t, org) {
		if ev.TargetID != target {
			continue
		}
		got = append(got, ev.Action)
		if ev.ActorLabel != clientLabel || ev.ActorID == nil || *ev.ActorID != e.client || ev.RequestID != "req-1" {
			t.Errorf("audit %s on %s: got actor %q %v request %q, want the API client", ev.Action, target, ev.ActorLabel, ev.ActorID, ev.RequestID)
		}
	}
	rest := got
	for _, a := range actions {
		i := slices.Index(rest, a)
		if i < 0 {
			t.Errorf("audit of %s: got %v, want %v in this order", target, got, actions)
			return
		}
		rest = rest[i+1:]
	}
}

// activate stands in for the person activating their business identity.
func (e *testEnv) activate(t *testing.T, id string) {
	t.Helper()
	u, err := e.users.FindUserByID(context.Background(), e.org.ID, uuid.MustParse(id))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.users.SetUserStatus(context.Background(), e.org.ID, u.ID, u.Version, domain.UserActive); err != nil {
		t.Fatalf("activate: %v", err)
	}
}

// user creates a user of the organisation through SCIM.
func (e *testEnv) user(t *testing.T, userName, given, family string) userResource {
	t.Helper()
	var u userResource
	e.call(t, "POST", "/Users", map[string]any{
		"schemas":  []string{schemaUser, schemaErhverv},
		"userName": userName, "name": map[string]string{"givenName": given, "familyName": family},
		schemaErhverv: map[string]string{"birthDate": "1985-05-17"},
	}, http.StatusCreated, &u)
	return u
}

func patchOps(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{schemaPatchOp}, "Operations": ops}
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// totalOf reads the totalResults of a list response.
func totalOf(t *testing.T, resp *response) int {
	t.Helper()
	var l struct{ TotalResults *int }
	if err := json.Unmarshal(resp.body, &l); err != nil || l.TotalResults == nil {
		t.Fatalf("not a list response: %s", resp.body)
	}
	return *l.TotalResults
}
