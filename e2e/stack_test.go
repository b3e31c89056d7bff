package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/erhverv/erhverv/internal/dbtest"
	"github.com/erhverv/erhverv/internal/seed"
)

// stack is the whole platform as `make run` starts it: a mail catcher, the
// MitID simulator and `erhverv serve` on a migrated, seeded database, each
// a real process on its own free port.
type stack struct {
	*platform
	SimURL  string
	MailURL string
	// SPURL is the demo service (cmd/demo-sp), logging in with the client
	// the seed registers for it.
	SPURL string
}

// process starts a binary from binDir and stops it when the test ends.
func process(t *testing.T, name string, env []string, args ...string) (*syncBuffer, chan error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	cmd.Env = env
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", name, logs.String())
		}
	})
	return logs, exited
}

// waitHealthy polls url until it answers 200.
func waitHealthy(t *testing.T, url string, exited <-chan error) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("%s: process exited: %v", url, err)
		default:
		}
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never became healthy", url)
}

func startStack(t *testing.T) *stack {
	t.Helper()
	addr, simAddr, smtpAddr, mailAddr, spAddr := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	base, simURL, spURL := "http://"+addr, "http://"+simAddr, "http://"+spAddr

	mailEnv := append(testEnv("", ""), "DEVMAIL_SMTP_ADDR="+smtpAddr, "DEVMAIL_HTTP_ADDR="+mailAddr)
	_, mailExited := process(t, "devmail", mailEnv)
	waitHealthy(t, "http://"+mailAddr+"/healthz", mailExited)

	simEnv := append(testEnv("", ""), "MITID_SIM_ADDR="+simAddr, "MITID_SIM_ISSUER="+simURL,
		"MITID_SIM_STORE="+filepath.Join(t.TempDir(), "identities.json"),
		"MITID_SIM_REDIRECT_URIS="+base+"/login/callback", "MITID_SIM_POST_LOGOUT_REDIRECT_URIS="+base+"/")
	_, simExited := process(t, "mitid-sim", simEnv)
	waitHealthy(t, simURL+"/healthz", simExited)

	env := append(testEnv(dbtest.NewURL(t), addr),
		"ERHVERV_BROKER_ISSUER="+simURL, "ERHVERV_BROKER_CLIENT_ID=erhverv", "ERHVERV_BROKER_CLIENT_SECRET=erhverv-dev-secret",
		"ERHVERV_SMTP_ADDR="+smtpAddr, "ERHVERV_SMTP_TLS=none",
		"ERHVERV_WEBHOOK_ALLOW_HTTP=true", "ERHVERV_WEBHOOK_ALLOW_PRIVATE=true", // as make run: the test's receiver is on loopback
		"ERHVERV_CVR_REGISTER_FILE="+filepath.Join(repoRoot(), "internal", "seed", "cvr-register.json"),
		"ERHVERV_DEMO_SP_URL="+spURL)
	erhverv(t, env, "migrate", "up")
	erhverv(t, env, "seed", "demo")
	logs, exited := process(t, "erhverv", env, "serve")
	p := &platform{URL: base, logs: logs, exited: exited}
	waitReady(t, p.URL, p.exited, time.Minute)

	spEnv := append(testEnv("", ""), "DEMO_SP_ADDR="+spAddr, "DEMO_SP_ISSUER="+base,
		"DEMO_SP_CLIENT_ID="+seed.DemoServiceClientID.String(), "DEMO_SP_CLIENT_SECRET="+seed.DemoServiceSecret)
	_, spExited := process(t, "demo-sp", spEnv)
	waitHealthy(t, spURL+"/healthz", spExited)
	return &stack{platform: p, SimURL: simURL, MailURL: "http://" + mailAddr, SPURL: spURL}
}

// caughtMail is a mail as the mail catcher's API lists it.
type caughtMail struct {
	To      []string `json:"to"`
	Subject string   `json:"subject"`
	Text    string   `json:"text"`
}

// waitMail waits for a mail at the mail catcher that match accepts; what
// describes it for the failure. A mail that never arrives is a failure
// after a generous bound, not a timing assertion.
func (s *stack) waitMail(t *testing.T, what string, match func(caughtMail) bool) caughtMail {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.MailURL + "/api/messages")
		if err == nil {
			var msgs []caughtMail
			err = json.NewDecoder(resp.Body).Decode(&msgs)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("mail catcher: %v", err)
			}
			for _, m := range msgs {
				if match(m) {
					return m
				}
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("no mail %s arrived", what)
	return caughtMail{}
}

// mailTo waits for the email to address at the mail catcher and returns
// the activation link in it.
func (s *stack) mailTo(t *testing.T, address string) (subject, link string) {
	t.Helper()
	m := s.waitMail(t, "to "+address, func(m caughtMail) bool { return len(m.To) == 1 && m.To[0] == address })
	i := strings.Index(m.Text, s.URL+"/activate?token=")
	if i < 0 {
		t.Fatalf("mail to %s has no activation link:\n%s", address, m.Text)
	}
	return m.Subject, strings.Fields(m.Text[i:])[0]
}

// waitMailSubject waits for a mail to address whose subject holds want.
func (s *stack) waitMailSubject(t *testing.T, address, want string) string {
	t.Helper()
	return s.waitMail(t, "to "+address+" about "+want, func(m caughtMail) bool {
		return len(m.To) == 1 && m.To[0] == address && strings.Contains(m.Subject, want)
	}).Subject
}

func (s *stack) String() string {
	return fmt.Sprintf("platform %s, simulator %s, mail %s", s.URL, s.SimURL, s.MailURL)
}
