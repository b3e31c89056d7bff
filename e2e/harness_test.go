package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/erhverv/erhverv/internal/dbtest"
)

// binDir holds the binaries built once for the whole run.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "erhverv-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	// Built as the Makefile builds, so `make run` in the smoke test finds
	// the packages compiled already.
	build := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./cmd/erhverv", "./cmd/mitid-sim", "./cmd/devmail", "./cmd/demo-sp")
	build.Dir = repoRoot()
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build the binaries:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// platform is one running `erhverv serve` process.
type platform struct {
	URL    string
	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func testEnv(dbURL, addr string) []string {
	return append(os.Environ(),
		"DATABASE_URL="+dbURL,
		"ERHVERV_ADDR="+addr,
		"ERHVERV_DATA_KEY=QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=",
		"ERHVERV_LOG_LEVEL=debug",
	)
}

// erhverv runs a one-shot subcommand and returns its output.
func erhverv(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "erhverv"), args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("erhverv %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// startPlatform migrates and seeds a fresh database, starts the server and
// waits until /readyz says ready: the sequence `make run` follows.
func startPlatform(t *testing.T) *platform {
	t.Helper()
	addr := freeAddr(t)
	env := testEnv(dbtest.NewURL(t), addr)
	erhverv(t, env, "migrate", "up")
	erhverv(t, env, "seed", "demo")
	cmd := exec.Command(filepath.Join(binDir, "erhverv"), "serve")
	cmd.Env = env
	p := &platform{URL: "http://" + addr, cmd: cmd, logs: &syncBuffer{}, exited: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start erhverv serve: %v", err)
	}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("server log:\n%s", p.logs.String())
		}
	})
	waitReady(t, p.URL, p.exited, time.Minute)
	return p
}

// waitReady polls /readyz until it answers 200, the process exits, or a
// generous bound passes (a start-up that never becomes ready is a failure,
// not a timing assertion).
func waitReady(t *testing.T, base string, exited <-chan error, bound time.Duration) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("server exited before it was ready: %v", err)
		default:
		}
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"ready"`) {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s/readyz never answered ready", base)
}

// browser starts headless Chromium with a fresh profile and the flags this
// network needs (no background traffic to the outside).
func browser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("ERHVERV_CHROMIUM")
	if path == "" {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		t.Fatal("Chromium not found: install it (Debian: apt-get install chromium) or set ERHVERV_CHROMIUM")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// screenshot saves the page to e2e/artifacts/NAME.png.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: lossless PNG
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	dir := filepath.Join(repoRoot(), "e2e", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err == nil {
		path := filepath.Join(dir, name+".png")
		if err := os.WriteFile(path, png, 0o644); err == nil {
			t.Logf("screenshot: %s", path)
		}
	}
}

// run runs one browser action and fails the test on error.
func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}
