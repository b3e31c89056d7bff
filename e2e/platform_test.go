package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/erhverv/erhverv/internal/dbtest"
)

func TestFirstPageRendersWithDKFDS(t *testing.T) {
	t.Parallel()
	p := startPlatform(t)
	ctx := browser(t)
	err := chromedp.Do(ctx,
		chromedp.Navigate(p.URL+"/"),
		chromedp.WaitVisible(`[data-testid="home-heading"]`),
	)
	screenshot(t, ctx, "first-page")
	if err != nil {
		t.Fatalf("browse the first page: %v", err)
	}
	heading := run(t, ctx, chromedp.Text(`[data-testid="home-heading"]`))
	fontFamily := run(t, ctx, chromedp.Evaluate[string](`getComputedStyle(document.body).fontFamily`))
	buttonBg := run(t, ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('[data-testid="login-button"]')).backgroundColor`))
	rules := run(t, ctx, chromedp.Evaluate[int](`Array.from(document.styleSheets).reduce((n, s) => n + s.cssRules.length, 0)`))
	if !strings.Contains(heading, "identiteter") {
		t.Errorf("heading: got %q, want the Danish front page heading", heading)
	}
	if !strings.Contains(fontFamily, "IBM Plex Sans") {
		t.Errorf("body font: got %q, want DKFDS's IBM Plex Sans (the stylesheet did not apply)", fontFamily)
	}
	if rules < 100 {
		t.Errorf("CSS rules loaded: got %d, want the DKFDS stylesheet's hundreds", rules)
	}
	if buttonBg == "" || buttonBg == "rgba(0, 0, 0, 0)" {
		t.Errorf("login button background: got %q, want DKFDS's primary colour", buttonBg)
	}
	fontsOK := run(t, ctx, chromedp.Evaluate[bool](`document.fonts.ready.then(() => document.fonts.check('16px "IBM Plex Sans"'))`, chromedp.EvalAwaitPromise))
	if !fontsOK {
		t.Errorf("IBM Plex Sans did not load from the binary's static files")
	}
}

func TestReadyzAndProbes(t *testing.T) {
	t.Parallel()
	p := startPlatform(t)
	var ready struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	getJSON(t, p.URL+"/readyz", http.StatusOK, &ready)
	if ready.Status != "ready" || ready.Checks["database"] != "ok" || ready.Checks["schema"] != "ok" {
		t.Errorf("/readyz: got %+v, want ready with database and schema ok", ready)
	}
	getJSON(t, p.URL+"/healthz", http.StatusOK, &struct{}{})
	// The container HEALTHCHECK runs the binary's own probe.
	if out := erhverv(t, testEnv("postgres://unused@127.0.0.1/x", strings.TrimPrefix(p.URL, "http://")), "healthcheck"); strings.TrimSpace(out) != "ok" {
		t.Errorf("erhverv healthcheck: got %q, want ok", out)
	}
	resp, err := http.Get(p.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "erhverv_http_requests_total") {
		t.Errorf("/metrics: no erhverv_http_requests_total in the exposition")
	}
	resp, err = http.Get(p.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP: got %q, want scripts from this origin only and no unsafe-inline", csp)
	}
	// A cross-site form post is refused before any handler sees it.
	req, _ := http.NewRequest(http.MethodPost, p.URL+"/", strings.NewReader("x=1"))
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: got %d, want 403", resp.StatusCode)
	}
}

func TestSchemaBehindMakesServerNotReady(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	env := testEnv(dbtest.NewURL(t), addr)
	erhverv(t, env, "migrate", "down", "--to", "3")
	cmd := exec.Command(filepath.Join(binDir, "erhverv"), "serve")
	cmd.Env = env
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	var body struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("/readyz with an old schema: got %d, want 503", resp.StatusCode)
			}
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if body.Checks["schema"] != "failed" || body.Checks["database"] != "ok" {
		t.Errorf("/readyz checks: got %v, want schema failed and database ok", body.Checks)
	}
	// The log says what to do; the unauthenticated probe does not.
	waitLog(t, logs, "run erhverv migrate up")
}

// TestMakeRunServesAndStopsGracefully starts the platform exactly as a
// newcomer does, with `make run`, against a fresh database, and stops it
// with SIGTERM as a process manager would.
func TestMakeRunServesAndStopsGracefully(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make is not installed")
	}
	addr := freeAddr(t)
	cmd := exec.Command("make", "--no-print-directory", "run")
	cmd.Dir = repoRoot()
	// Its own ports for the simulator and the mail catcher too, so it runs
	// beside the other tests (and beside a developer's own make run).
	simAddr, mailAddr, spAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	cmd.Env = append(testEnv(dbtest.NewURL(t), addr), "ADDR="+addr,
		"SIM_ADDR="+simAddr, "MAIL_SMTP_ADDR="+freeAddr(t), "MAIL_HTTP_ADDR="+mailAddr, "DEMO_SP_ADDR="+spAddr)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("make run output:\n%s", logs.String())
		}
	})
	// make run compiles first; on a cold build cache that takes minutes.
	waitReady(t, "http://"+addr, exited, 10*time.Minute)
	if out := logs.String(); !strings.Contains(out, "http://"+addr+"/") || !strings.Contains(out, "demo-mette") || !strings.Contains(out, "MitID simulator") {
		t.Errorf("make run output: want the URL and the demo guide, got:\n%s", out)
	}
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET / after make run: got %d, want 200", resp.StatusCode)
	}
	// The simulator and the mail catcher run beside it, and the platform
	// knows the simulator as its broker.
	waitHealthy(t, "http://"+simAddr+"/healthz", exited)
	waitHealthy(t, "http://"+mailAddr+"/healthz", exited)
	if resp, err := http.Get("http://" + addr + "/login"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.Request.URL.Host != simAddr {
			t.Errorf("GET /login after make run ended at %s, want the simulator", resp.Request.URL)
		}
	}
	// The demo service runs too, and its login leads through the platform.
	waitHealthy(t, "http://"+spAddr+"/healthz", exited)
	if resp, err := http.Get("http://" + spAddr + "/login"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.Request.URL.Host != simAddr {
			t.Errorf("the demo service's login ended at %s, want the simulator by way of the platform", resp.Request.URL)
		}
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// make itself dies of the signal, as it does on Ctrl-C; what matters is
	// that the server it runs drained and exited cleanly.
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("make run did not stop within 30s of SIGTERM")
	}
	if !strings.Contains(logs.String(), "shut down cleanly") {
		t.Errorf("the server did not report a clean shutdown:\n%s", logs.String())
	}
}

func TestInvalidConfigurationExitsWithOneLine(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(filepath.Join(binDir, "erhverv"), "serve")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "DATABASE_URL=postgres://x@127.0.0.1/x", "ERHVERV_DATA_KEY=QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=", "ERHVERV_ADDR=nonsense"}
	out, err := cmd.CombinedOutput()
	exitErr, ok := err.(*exec.ExitError)
	if !ok || exitErr.ExitCode() != 2 {
		t.Fatalf("serve with ERHVERV_ADDR=nonsense: got %v, want exit code 2", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "ERHVERV_ADDR") {
		t.Errorf("output: got %q, want one line naming ERHVERV_ADDR", out)
	}
}

func getJSON(t *testing.T, url string, wantStatus int, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s: got %d, want %d", url, resp.StatusCode, wantStatus)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: decode: %v", url, err)
	}
}

// waitLog waits (boundedly) until the server's log contains want.
func waitLog(t *testing.T, logs *syncBuffer, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if strings.Contains(logs.String(), want) {
			return
		}
	}
	t.Errorf("server log: want %q, got:\n%s", want, logs.String())
}
