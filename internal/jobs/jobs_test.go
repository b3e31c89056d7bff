package jobs

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/erhverv/erhverv/internal/dbtest"
	"github.com/erhverv/erhverv/internal/devmail"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/mail"
	"github.com/erhverv/erhverv/internal/pii"
	"github.com/erhverv/erhverv/internal/postgres"
)

// bundle is what every test here needs: a fresh database, a notifier and a
// place for the worker's logs.
type bundle struct {
	db        *postgres.DB
	protector *pii.Protector
	notifier  *Notifier
	logs      *syncBuffer
}

func setup(t *testing.T) *bundle {
	t.Helper()
	protector, err := pii.New(dbtest.DataKey)
	if err != nil {
		t.Fatal(err)
	}
	notifier, err := NewNotifier(protector)
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{db: dbtest.New(t), protector: protector, notifier: notifier, logs: &syncBuffer{}}
}

// retrySoon replaces River's backoff (1 s, 16 s, 81 s, ...) so that a test
// sees several attempts in a second. River sets a job whose retry is due
// within its scheduler interval straight back to available.
type retrySoon struct{}

func (retrySoon) NextRetry(*rivertype.JobRow) time.Time {
	return time.Now().Add(200 * time.Millisecond)
}

// startWorker starts a worker that sends to smtpAddr, tuned for tests: the
// fast retry policy above and frequent polling.
func (b *bundle) startWorker(t *testing.T, smtpAddr string) *Worker {
	t.Helper()
	sender, err := mail.NewSMTPSender(mail.SMTPConfig{Addr: smtpAddr, From: "erhverv <noreply@erhverv.localhost>", TLS: mail.TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w, err := startWorker(context.Background(), b.db.Pool(), b.protector, sender, logger, func(cfg *river.Config) {
		cfg.RetryPolicy = retrySoon{}
		cfg.FetchCooldown = 10 * time.Millisecond
		cfg.FetchPollInterval = 50 * time.Millisecond
		cfg.TestOnly = true
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return w
}

// startCatcher runs devmail on addr ("127.0.0.1:0" for any free port).
func startCatcher(t *testing.T, addr string) (*devmail.Server, string) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := devmail.New(nil)
	go func() { _ = c.ServeSMTP(l) }()
	t.Cleanup(func() { _ = c.Shutdown(context.Background()) })
	return c, l.Addr().String()
}

const testLink = "https://erhverv.localhost/activate/Zx9-secret-token-Q7"

func activation(to string) domain.Notification {
	return domain.Notification{
		Template: "activation", Lang: "da", To: to,
		Data:    map[string]string{"OrgName": "Nordlys Rådgivning ApS", "UserName": "Anna Jensen", "ExpiresAt": "2026-05-17T12:30:00Z", "NeedsCode": "true"},
		Secrets: map[string]string{"Link": testLink},
	}
}

// enqueue runs NotifyTx in a transaction of its own and commits or rolls
// it back.
func (b *bundle) enqueue(t *testing.T, n domain.Notification, commit bool) {
	t.Helper()
	ctx := context.Background()
	tx, err := b.db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it has nothing to do
	if err := b.notifier.NotifyTx(ctx, tx, n); err != nil {
		t.Fatalf("NotifyTx: %v", err)
	}
	if commit {
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

type jobRow struct {
	state   string
	attempt int
	nErrors int
	args    string
	errors  string
}

// job reads the job that mails to; ok is false when there is none.
func (b *bundle) job(t *testing.T, to string) (jobRow, bool) {
	t.Helper()
	var j jobRow
	err := b.db.SQL().QueryRowContext(context.Background(),
		`SELECT state::text, attempt, COALESCE(array_length(errors, 1), 0), args::text, COALESCE(errors::text, '')
		 FROM river_job WHERE args->>'to' = $1`, to).Scan(&j.state, &j.attempt, &j.nErrors, &j.args, &j.errors)
	if errors.Is(err, sql.ErrNoRows) {
		return j, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return j, true
}

// waitJob polls until the job that mails to satisfies cond.
func (b *bundle) waitJob(t *testing.T, to, what string, cond func(jobRow) bool) jobRow {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		j, ok := b.job(t, to)
		if ok && cond(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job to %s: never %s (last seen: %+v, exists %v)", to, what, j, ok)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitMail(t *testing.T, c *devmail.Server, to string) devmail.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m, err := c.Wait(ctx, func(m devmail.Message) bool { return len(m.To) == 1 && m.To[0] == to })
	if err != nil {
		t.Fatalf("mail to %s: %v", to, err)
	}
	return m
}

func TestCommittedNotificationIsSent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	catcher, addr := startCatcher(t, "127.0.0.1:0")
	b.startWorker(t, addr)

	b.enqueue(t, activation("anna@example.dk"), true)
	m := waitMail(t, catcher, "anna@example.dk")
	if !strings.Contains(m.Subject, "Nordlys Rådgivning ApS") || !strings.Contains(m.Text, testLink) || !strings.Contains(m.HTML, testLink) {
		t.Errorf("got subject %q, text %q; want the organisation in the subject and the link in both parts", m.Subject, m.Text)
	}
	j := b.waitJob(t, "anna@example.dk", "completed", func(j jobRow) bool { return j.state == "completed" })
	if j.attempt != 1 {
		t.Errorf("attempts: got %d, want 1", j.attempt)
	}
	b.assertNoSecretsAtRest(t, j)
}

func TestRolledBackNotificationIsNeverSent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	catcher, addr := startCatcher(t, "127.0.0.1:0")
	b.startWorker(t, addr)

	b.enqueue(t, activation("rolled-back@example.dk"), false)
	// A mail enqueued after it that does arrive shows the worker has had
	// its chance at everything before.
	b.enqueue(t, activation("committed@example.dk"), true)
	waitMail(t, catcher, "committed@example.dk")

	if _, ok := b.job(t, "rolled-back@example.dk"); ok {
		t.Errorf("a job for the rolled-back notification exists, want none")
	}
	for _, m := range catcher.Messages() {
		if m.To[0] == "rolled-back@example.dk" {
			t.Errorf("the rolled-back notification was sent")
		}
	}
}

func TestSentAfterTheMailServerComesBack(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// Reserve an address, then leave it closed: the mail server is down.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	b.startWorker(t, addr)

	b.enqueue(t, activation("patient@example.dk"), true)
	j := b.waitJob(t, "patient@example.dk", "failed twice", func(j jobRow) bool { return j.nErrors >= 2 })
	if j.state == "discarded" || j.state == "cancelled" {
		t.Fatalf("after a refused connection: got state %s, want the job to be retried", j.state)
	}

	catcher, _ := startCatcher(t, addr)
	waitMail(t, catcher, "patient@example.dk")
	j = b.waitJob(t, "patient@example.dk", "completed", func(j jobRow) bool { return j.state == "completed" })
	if j.attempt < 3 {
		t.Errorf("attempts: got %d, want at least 3 (two failures, then delivery)", j.attempt)
	}
	if !strings.Contains(j.errors, "connection refused") {
		t.Errorf("recorded errors: got %s, want the refused connections", j.errors)
	}
	b.assertNoSecretsAtRest(t, j)
	logs := b.logs.String()
	if !strings.Contains(logs, `"msg":"mail not sent, will retry"`) || !strings.Contains(logs, `"msg":"mail sent"`) {
		t.Errorf("logs: want a retry warning and a success:\n%s", logs)
	}
	for _, secret := range []string{testLink, "Zx9-secret-token-Q7", "patient@example.dk"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain %q:\n%s", secret, logs)
		}
	}
}

func TestUnrenderableJobIsCancelled(t *testing.T) {
	t.Parallel()
	b := setup(t)
	catcher, addr := startCatcher(t, "127.0.0.1:0")
	b.startWorker(t, addr)

	// Past NotifyTx's validation, as a job left over from an older
	// version with a template since removed would be.
	ctx := context.Background()
	tx, err := b.db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.notifier.client.InsertTx(ctx, tx, emailArgs{Template: "retired", Lang: "da", To: "old@example.dk"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	j := b.waitJob(t, "old@example.dk", "cancelled", func(j jobRow) bool { return j.state == "cancelled" })
	if j.attempt != 1 {
		t.Errorf("attempts: got %d, want 1 (rendering again cannot help)", j.attempt)
	}
	if n := len(catcher.Messages()); n != 0 {
		t.Errorf("got %d mails, want 0", n)
	}
}

func TestNotifyTxRefusesBadNotifications(t *testing.T) {
	t.Parallel()
	b := setup(t)
	cases := map[string]func(*domain.Notification){
		"unknown template": func(n *domain.Notification) { n.Template = "welcome" },
		"bad address":      func(n *domain.Notification) { n.To = "not an address" },
		"unknown language": func(n *domain.Notification) { n.Lang = "sv" },
		"missing field":    func(n *domain.Notification) { delete(n.Data, "OrgName") },
	}
	for name, change := range cases {
		n := activation(fmt.Sprintf("%s@example.dk", strings.ReplaceAll(name, " ", "-")))
		change(&n)
		tx, err := b.db.SQL().BeginTx(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		err = b.notifier.NotifyTx(context.Background(), tx, n)
		if got := domain.ErrorCode(err); got != domain.EINVALID {
			t.Errorf("%s: got %v (code %q), want %q", name, err, got, domain.EINVALID)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	var jobs int
	if err := b.db.SQL().QueryRow("SELECT count(*) FROM river_job").Scan(&jobs); err != nil {
		t.Fatal(err)
	}
	if jobs != 0 {
		t.Errorf("got %d jobs, want 0", jobs)
	}
}

// assertNoSecretsAtRest checks that the job row holds the link only sealed.
func (b *bundle) assertNoSecretsAtRest(t *testing.T, j jobRow) {
	t.Helper()
	for _, col := range []struct{ name, value string }{{"args", j.args}, {"errors", j.errors}} {
		if strings.Contains(col.value, "Zx9-secret-token-Q7") || strings.Contains(col.value, "/activate/") {
			t.Errorf("river_job.%s holds the link in clear: %s", col.name, col.value)
		}
	}
	if !strings.Contains(j.args, `"sealed": {"Link":`) {
		t.Errorf("river_job.args: want the link sealed, got %s", j.args)
	}
}

// syncBuffer is a bytes.Buffer for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
