package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/erhverv/erhverv/internal/dbtest"
	"github.com/erhverv/erhverv/internal/seed"
)

// fakeAPI answers the token endpoint and decisions as the plan implies,
// giving the wrong answer to every wrongEvery-th decision when set.
type fakeAPI struct {
	plan       seed.LoadPlan
	users      map[uuid.UUID]int
	privileges map[string]int
	wrongEvery int64
	decisions  atomic.Int64
	tokens     atomic.Int64
}

func newFakeAPI(t *testing.T, plan seed.LoadPlan) *fakeAPI {
	t.Helper()
	f := &fakeAPI{plan: plan, users: map[uuid.UUID]int{}, privileges: map[string]int{}}
	for i := range plan.Users {
		f.users[plan.UserID(i)] = i
	}
	for k := range seed.LoadPrivileges {
		f.privileges[plan.PrivilegeURI(k)] = k
	}
	return f
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/readyz":
	case "/oauth2/token":
		if r.Header.Get("Authorization") != basicAuth("client", "secret") || r.FormValue("grant_type") != "client_credentials" {
			http.Error(w, "bad client", http.StatusUnauthorized)
			return
		}
		f.tokens.Add(1)
		_ = json.NewEncoder(w).Encode(tokenResponse{AccessToken: "tok", TokenType: "Bearer", ExpiresIn: 300, Scope: "decisions"})
	case decisionsPath:
		var q decisionRequest
		if r.Header.Get("Authorization") != "Bearer tok" || json.NewDecoder(r.Body).Decode(&q) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		d, ok := f.decide(q)
		if !ok {
			http.Error(w, "not a planned question", http.StatusBadRequest)
			return
		}
		_ = json.NewEncoder(w).Encode(d)
	case batchPath:
		var b struct{ Questions []decisionRequest }
		if r.Header.Get("Authorization") != "Bearer tok" || json.NewDecoder(r.Body).Decode(&b) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		var out struct {
			Decisions []map[string]any `json:"decisions"`
		}
		for _, q := range b.Questions {
			d, ok := f.decide(q)
			if !ok {
				http.Error(w, "not a planned question", http.StatusBadRequest)
				return
			}
			out.Decisions = append(out.Decisions, d)
		}
		_ = json.NewEncoder(w).Encode(out)
	default:
		http.NotFound(w, r)
	}
}

// decide answers q as the plan implies (wrong when wrongEvery says so).
func (f *fakeAPI) decide(q decisionRequest) (map[string]any, bool) {
	i, ok := f.users[uuid.MustParse(q.UserID)]
	k, known := f.privileges[q.Privilege]
	if !ok || !known || q.Level != seed.LoadLevel {
		return nil, false
	}
	atUnit := q.Scope != nil && q.Scope.Type == scopePNumber
	allow := f.plan.Expect(i, k, atUnit)
	if n := f.decisions.Add(1); f.wrongEvery > 0 && n%f.wrongEvery == 0 {
		allow = !allow
	}
	return map[string]any{"allow": allow, "reasons": []map[string]string{{"code": "x", "message": "y"}}}, true
}

func writeCredentials(t *testing.T, plan seed.LoadPlan) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "creds.json")
	b, _ := json.Marshal(credentials{ClientID: "client", ClientSecret: "secret", Users: plan.Users, Assignments: plan.Assignments, Groups: plan.Groups})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runMain(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := (&Main{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}).Run(context.Background(), args)
	return code, out.String(), errOut.String()
}

func TestRunDecisions(t *testing.T) {
	t.Parallel()
	plan, err := seed.NewLoadPlan(seed.LoadOptions{Users: 300, Assignments: 1200, Groups: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name       string
		wrongEvery int64
		wantCode   int
		wantOut    string
	}{
		{"every answer as planned", 0, 0, "failed      none"},
		{"some answers wrong", 7, exitFailure, "wrong answer ×"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			api := newFakeAPI(t, plan)
			api.wrongEvery = c.wrongEvery
			srv := httptest.NewServer(api)
			defer srv.Close()
			code, out, errOut := runMain("run", "--base-url", srv.URL, "--credentials", writeCredentials(t, plan),
				"--target", "decisions", "--rate", "300", "--duration", "1s", "--warmup", "500ms", "--sample", "100", "--questions", "500")
			if code != c.wantCode {
				t.Errorf("exit code: got %d, want %d\nstdout:\n%s\nstderr:\n%s", code, c.wantCode, out, errOut)
			}
			if !strings.Contains(out, c.wantOut) {
				t.Errorf("report: got\n%s\nwant it to contain %q", out, c.wantOut)
			}
			if !strings.Contains(out, "allow, ") || api.tokens.Load() == 0 {
				t.Errorf("report: got\n%s\nwant decisions counted after a token (tokens fetched: %d)", out, api.tokens.Load())
			}
		})
	}
}

func TestRunBatchFindMax(t *testing.T) {
	t.Parallel()
	plan, _ := seed.NewLoadPlan(seed.LoadOptions{Users: 300, Assignments: 1200, Groups: 10})
	api := newFakeAPI(t, plan)
	srv := httptest.NewServer(api)
	defer srv.Close()
	code, out, errOut := runMain("run", "--base-url", srv.URL, "--credentials", writeCredentials(t, plan), "--target", "batch",
		"--batch-size", "10", "--find-max", "--rates", "5,10", "--max-p99", "10s", "--duration", "1s", "--warmup", "100ms",
		"--sample", "50", "--questions", "200")
	if code != 0 || !strings.Contains(out, "highest rate that holds: 10/s") {
		t.Fatalf("exit code %d, want 0 and the highest rate 10/s\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// The warm-up asks each of the 50 sampled users once, 10 a request, no
	// faster than the first rate: 5 requests; then 5 and 10 a second for a
	// second: about 200 questions. A warm-up at --warmup-rate requests a
	// second would have asked thousands.
	if got := api.decisions.Load(); got < 100 || got >= 1000 {
		t.Errorf("questions answered: got %d, want about 200", got)
	}
}

func TestRunTokensFindMax(t *testing.T) {
	t.Parallel()
	plan, _ := seed.NewLoadPlan(seed.LoadOptions{Users: 10, Assignments: 40, Groups: 2})
	api := newFakeAPI(t, plan)
	srv := httptest.NewServer(api)
	defer srv.Close()
	code, out, errOut := runMain("run", "--base-url", srv.URL, "--credentials", writeCredentials(t, plan), "--target", "tokens",
		"--find-max", "--rates", "50,100", "--max-p99", "10s", "--duration", "500ms", "--warmup", "0")
	if code != 0 {
		t.Fatalf("exit code: got %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "highest rate that holds: 100/s") {
		t.Errorf("report: got\n%s\nwant the highest rate 100/s", out)
	}
	if got := api.tokens.Load(); got < 50 {
		t.Errorf("tokens asked for: got %d, want at least 50", got)
	}
}

func TestRunFailsOnErrors(t *testing.T) {
	t.Parallel()
	plan, _ := seed.NewLoadPlan(seed.LoadOptions{Users: 10, Assignments: 40, Groups: 2})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			return
		}
		w.Header().Set("Retry-After", "1")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	}))
	defer srv.Close()
	code, out, _ := runMain("run", "--base-url", srv.URL, "--credentials", writeCredentials(t, plan), "--target", "tokens",
		"--rate", "50", "--duration", "300ms", "--warmup", "0")
	if code != exitFailure || !strings.Contains(out, "status 429 ×") {
		t.Errorf("got exit %d and report\n%s\nwant exit %d and the 429s counted", code, out, exitFailure)
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{},
		{"attack"},
		{"run"},
		{"run", "--credentials", "x", "--target", "decisions", "--rate", "0"},
		{"seed", "extra"},
		{"seed"}, // no DATABASE_URL
	} {
		if code, _, _ := runMain(args...); code != exitUsage {
			t.Errorf("%q: exit code %d, want %d", args, code, exitUsage)
		}
	}
}

func TestMix(t *testing.T) {
	t.Parallel()
	plan, _ := seed.NewLoadPlan(seed.LoadOptions{})
	m := newMix(plan, 4000, 20_000)
	if m.sampled != 4000 || len(m.warm) != 4000 || len(m.questions) != 20_000 {
		t.Fatalf("mix: got %d sampled, %d warm-up and %d questions, want 4000, 4000, 20000", m.sampled, len(m.warm), len(m.questions))
	}
	// A realistic mix allows mostly but not only.
	if share := float64(m.allows) / float64(len(m.questions)); share < 0.5 || share > 0.9 {
		t.Errorf("share expected to allow: got %.2f, want between 0.5 and 0.9", share)
	}
	again := newMix(plan, 4000, 20_000)
	if !bytes.Equal(again.questions[19_999].body, m.questions[19_999].body) {
		t.Errorf("two mixes of the same flags differ")
	}
	if got := fragmentIndex(fragment("http://h/api/v1/decisions", 1234)); got != 1234 {
		t.Errorf("fragment index: got %d, want 1234", got)
	}
	if got := fragmentIndex("http://h/api/v1/decisions"); got != -1 {
		t.Errorf("fragment index of a URL without one: got %d, want -1", got)
	}
}

func TestStatsPercentiles(t *testing.T) {
	t.Parallel()
	s := newStats("x", 100)
	start := time.Unix(0, 0)
	for i := 1; i <= 100; i++ {
		s.add(&vegeta.Result{Code: 200, Latency: time.Duration(i) * time.Millisecond, Timestamp: start.Add(time.Duration(i) * 10 * time.Millisecond)}, verdict{})
	}
	sum := s.summary()
	if sum.p50 != 50*time.Millisecond || sum.p99 != 99*time.Millisecond || sum.pmax != 100*time.Millisecond || sum.failed != 0 {
		t.Errorf("got p50 %s, p99 %s, max %s, failed %d; want 50ms, 99ms, 100ms, 0", sum.p50, sum.p99, sum.pmax, sum.failed)
	}
	if sum.rate < 99 || sum.rate > 101 {
		t.Errorf("rate: got %.1f, want 100", sum.rate)
	}
}

func TestSeedCommand(t *testing.T) {
	t.Parallel()
	// A database the command creates and migrates itself, on the test server.
	u, err := url.Parse(dbtest.NewURL(t))
	if err != nil {
		t.Fatal(err)
	}
	name := "erhverv_load_t_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	u.Path = "/" + name
	t.Cleanup(func() {
		admin, err := pgx.Connect(context.Background(), dbtest.AdminURL())
		if err != nil {
			t.Errorf("drop %s: %v", name, err)
			return
		}
		defer admin.Close(context.Background())
		if _, err := admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	creds := filepath.Join(t.TempDir(), "creds.json")
	args := []string{"seed", "--database-url", u.String(), "--create-database", "--migrate",
		"--users", "50", "--assignments", "200", "--groups", "4", "--credentials", creds}
	code, out, errOut := runMain(args...)
	if code != 0 || !strings.Contains(out, "50 active users, 4 groups (100 memberships), 20 privileges, 200 assignments") {
		t.Fatalf("first seed: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	c, err := readCredentials(creds)
	if err != nil {
		t.Fatal(err)
	}
	if c.Users != 50 || c.Assignments != 200 || c.Groups != 4 || !strings.HasPrefix(c.ClientSecret, "erh_") {
		t.Errorf("credentials: got %+v, want the plan and a secret", c)
	}
	code, out, errOut = runMain(args...)
	if code != 0 || !strings.Contains(out, "nothing inserted") {
		t.Errorf("second seed: exit %d, want 0 and nothing inserted\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	again, err := readCredentials(creds)
	if err != nil || again.ClientID == c.ClientID {
		t.Errorf("second seed: got client %s (%v), want a new client", again.ClientID, err)
	}
}

func TestReadAllow(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		body            string
		wantAllow, want bool
	}{
		{`{"allow":true,"reasons":[{"code":"grant.direct","message":"m"}]}`, true, true},
		{`{"allow":false,"reasons":[{"code":"grant.none","message":"m"}]}`, false, true},
		{"{\n  \"reasons\": [{\"code\": \"x\"}],\n  \"allow\": true\n}", true, true},
		{`{"allow":true,"reasons":[]}`, false, false},
		{`{"reasons":[{"code":"x"}]}`, false, false},
		{`not json`, false, false},
	} {
		allow, ok := readAllow([]byte(c.body))
		if allow != c.wantAllow || ok != c.want {
			t.Errorf("readAllow(%s): got %t, %t; want %t, %t", c.body, allow, ok, c.wantAllow, c.want)
		}
	}
}

func TestProblemsCountByKind(t *testing.T) {
	t.Parallel()
	s := newStats("decisions", 10)
	for i := range 3 {
		u := fragment("http://h"+decisionsPath, i)
		r := &vegeta.Result{URL: u, Error: `Post "` + u + `": context deadline exceeded`}
		s.add(r, verdict{problem: statusProblem(r)})
	}
	s.add(&vegeta.Result{Code: 429}, verdict{problem: "status 429"})
	if got, want := s.problemList(5), "Post context deadline exceeded ×3; status 429 ×1"; got != want {
		t.Errorf("problems: got %q, want %q", got, want)
	}
}
