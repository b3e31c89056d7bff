package e2e

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/erhverv/erhverv/internal/dbtest"
	"github.com/erhverv/erhverv/internal/seed"
)

// TestReplicasShareRightsChanges runs two `erhverv serve` processes on one
// database, as a deployment behind a load balancer does. Replica B has the
// employee's rights cached (the test proves it: a change made behind the
// replicas' backs does not reach B) when a rights administrator removes a
// privilege through replica A; B must honour the removal within a second,
// which only PostgreSQL's notification from A's transaction can make happen.
func TestReplicasShareRightsChanges(t *testing.T) {
	addrA, addrB, simAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	baseA, baseB, simURL := "http://"+addrA, "http://"+addrB, "http://"+simAddr

	simEnv := append(testEnv("", ""), "MITID_SIM_ADDR="+simAddr, "MITID_SIM_ISSUER="+simURL,
		"MITID_SIM_STORE="+filepath.Join(t.TempDir(), "identities.json"),
		"MITID_SIM_REDIRECT_URIS="+baseA+"/login/callback,"+baseB+"/login/callback",
		"MITID_SIM_POST_LOGOUT_REDIRECT_URIS="+baseA+"/,"+baseB+"/")
	_, simExited := process(t, "mitid-sim", simEnv)
	waitHealthy(t, simURL+"/healthz", simExited)

	dbURL := dbtest.NewURL(t)
	replica := func(addr string) []string {
		return append(testEnv(dbURL, addr),
			"ERHVERV_BROKER_ISSUER="+simURL, "ERHVERV_BROKER_CLIENT_ID=erhverv", "ERHVERV_BROKER_CLIENT_SECRET=erhverv-dev-secret",
			"ERHVERV_CVR_REGISTER_FILE="+filepath.Join(repoRoot(), "internal", "seed", "cvr-register.json"))
	}
	erhverv(t, replica(addrA), "migrate", "up")
	erhverv(t, replica(addrA), "seed", "demo")
	logsA, exitedA := process(t, "erhverv", replica(addrA), "serve")
	logsB, exitedB := process(t, "erhverv", replica(addrB), "serve")
	waitReady(t, baseA, exitedA, time.Minute)
	waitReady(t, baseB, exitedB, time.Minute)
	_, _ = logsA, logsB

	// Sessions live in PostgreSQL and cookies do not depend on the port:
	// one login serves both replicas, as behind a load balancer.
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	loginOverHTTP(t, hc, baseA, simURL, "demo-sofie")

	check := baseB + "/portal/rights/check?" + url.Values{
		"user": {"lars@nordlys.example.dk"}, "privilege": {"urn:dk:skattefar:moms:indberet"},
		"scope": {"cvr:" + seed.CVRNordlys}, "level": {"substantial"},
	}.Encode()
	if got := checkAnswer(t, hc, check); got != "allow" {
		t.Fatalf("before the removal, replica B answers %s, want allow", got)
	}
	// Prove that B answers from its cache: end the assignment behind the
	// platform's back, with the triggers that notify the replicas switched
	// off for that one change. B, not told, still allows; then put it back
	// as it was, again silently.
	silently(t, dbURL, `UPDATE privilege_assignments SET valid_to = now() - interval '1 day' WHERE id = $1`, seed.ID("assign:lars:moms:indberet"))
	if got := checkAnswer(t, hc, check); got != "allow" {
		t.Fatalf("replica B answers %s after an unannounced change, want allow from its cache", got)
	}
	silently(t, dbURL, `UPDATE privilege_assignments SET valid_to = NULL WHERE id = $1`, seed.ID("assign:lars:moms:indberet"))

	removeAssignmentOverHTTP(t, hc, baseA, seed.ID("assign:lars:moms:indberet").String())
	removed := time.Now()

	var answer string
	for time.Since(removed) < time.Second {
		if answer = checkAnswer(t, hc, check); answer == "deny" {
			t.Logf("replica B honoured the removal after %v", time.Since(removed).Round(time.Millisecond))
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("a second after the removal through replica A, replica B still answers %s, want deny", answer)
}

// loginOverHTTP logs subject in at base through the simulator, with plain
// HTTP: the portal sends the browser to the broker, the simulator's form is
// posted, and the redirects lead back.
func loginOverHTTP(t *testing.T, hc *http.Client, base, simURL, subject string) {
	t.Helper()
	resp, err := hc.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("id")
	if !strings.HasPrefix(resp.Request.URL.String(), simURL+"/login") || id == "" {
		t.Fatalf("login start led to %s, not the simulator's login page", resp.Request.URL)
	}
	resp, err = hc.PostForm(simURL+"/login", url.Values{"id": {id}, "subject": {subject}, "authenticator": {"code_app"}})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.String(), base+"/portal") {
		t.Fatalf("login as %s ended at %s with %d, want the portal", subject, resp.Request.URL, resp.StatusCode)
	}
}

// checkAnswer asks the rights check page and returns "allow" or "deny".
func checkAnswer(t *testing.T, hc *http.Client, target string) string {
	t.Helper()
	resp, err := hc.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch page := string(body); {
	case resp.StatusCode != http.StatusOK:
		t.Fatalf("GET %s: %d\n%s", target, resp.StatusCode, page)
	case strings.Contains(page, `data-testid="check-allow"`):
		return "allow"
	case strings.Contains(page, `data-testid="check-deny"`):
		return "deny"
	default:
		t.Fatalf("GET %s: the page gives no answer\n%s", target, page)
	}
	return ""
}

// silently runs one statement with the database's triggers off
// (session_replication_role = replica), so no replica is notified of it.
func silently(t *testing.T, dbURL, statement string, args ...any) {
	t.Helper()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET session_replication_role = replica"); err != nil {
		t.Fatal(err)
	}
	res, err := conn.ExecContext(ctx, statement, args...)
	if err != nil {
		t.Fatalf("%s: %v", statement, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%s changed %d rows, want 1", statement, n)
	}
}

// removeAssignmentOverHTTP removes an assignment through base's "who has
// what" page, as the rights administrator's remove button does.
func removeAssignmentOverHTTP(t *testing.T, hc *http.Client, base, assignmentID string) {
	t.Helper()
	resp, err := hc.PostForm(base+"/portal/rights/"+assignmentID+"/remove", url.Values{"return": {"/portal/rights"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/portal/rights" {
		t.Fatalf("removing assignment %s through %s: %d at %s\n%s", assignmentID, base, resp.StatusCode, resp.Request.URL, body)
	}
}
