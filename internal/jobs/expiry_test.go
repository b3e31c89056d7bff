package jobs

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/erhverv/erhverv/internal/devmail"
	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/mail"
	"github.com/erhverv/erhverv/internal/postgres"
)

// countingExpirer answers with the counts given, one per call, then 0.
type countingExpirer struct {
	mu     sync.Mutex
	counts []int
	err    error
	calls  int
	langs  []string
}

func (e *countingExpirer) ExpireRequests(_ context.Context, lang string) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls++
	e.langs = append(e.langs, lang)
	if e.err != nil {
		return 0, e.err
	}
	if len(e.counts) == 0 {
		return 0, nil
	}
	n := e.counts[0]
	e.counts = e.counts[1:]
	return n, nil
}

func TestExpiryWorkerSweepsUntilNothingIsLeft(t *testing.T) {
	t.Parallel()
	e := &countingExpirer{counts: []int{500, 3}}
	w := &expireRequestsWorker{expirer: e, logger: slog.New(slog.DiscardHandler)}
	if err := w.Work(context.Background(), &river.Job[expireRequestsArgs]{JobRow: &rivertype.JobRow{ID: 1}}); err != nil {
		t.Fatal(err)
	}
	if e.calls != 3 {
		t.Errorf("calls: got %d, want 3 (two batches, then an empty one)", e.calls)
	}
	if e.langs[0] != ExpiryLang {
		t.Errorf("language: got %q, want %q", e.langs[0], ExpiryLang)
	}
	failing := &countingExpirer{err: errors.New("database away")}
	w = &expireRequestsWorker{expirer: failing, logger: slog.New(slog.DiscardHandler)}
	if err := w.Work(context.Background(), &river.Job[expireRequestsArgs]{JobRow: &rivertype.JobRow{ID: 1}}); err == nil || !strings.Contains(err.Error(), "database away") {
		t.Errorf("a failing sweep: got %v, want the error (River retries the job)", err)
	}
}

// The worker schedules the sweep by itself: a request left open for 31
// days is marked expired and its requester gets the mail, through the real
// queue and a real SMTP server.
func TestWorkerExpiresOldRequestsAndMailsTheRequester(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	orgs, users := postgres.NewOrganisationService(b.db), postgres.NewUserService(b.db)
	org := &domain.Organisation{CVR: "91234564", Name: "Nordlys Rådgivning ApS"}
	if err := orgs.CreateOrganisation(ctx, org); err != nil {
		t.Fatal(err)
	}
	lars := &domain.User{OrgID: org.ID, FirstName: "Lars", LastName: "Vinther", Email: "lars@nordlys.example.dk",
		BirthDate: time.Date(1985, 3, 15, 0, 0, 0, 0, time.UTC), Status: domain.UserActive}
	if err := users.CreateUser(ctx, lars); err != nil {
		t.Fatal(err)
	}
	ob := postgres.NewOnboarding(b.db, b.notifier, func(s string) string { return "https://erhverv.localhost/activate?token=" + s })
	adm := postgres.NewAdministration(b.db, ob, "https://erhverv.localhost/portal")
	// The request was made 31 days ago.
	b.db.Now = func() time.Time { return time.Now().Add(-31 * 24 * time.Hour) }
	req, err := adm.RequestAdminRole(ctx, postgres.Actor{UserID: lars.ID, Label: "Lars Vinther"}, org.ID, domain.RoleUserAdmin, "Jeg skal oprette kolleger", "da")
	if err != nil {
		t.Fatal(err)
	}
	b.db.Now = time.Now

	catcher, addr := startCatcher(t, "127.0.0.1:0")
	sender, err := mail.NewSMTPSender(mail.SMTPConfig{Addr: addr, From: "erhverv <noreply@erhverv.localhost>", TLS: mail.TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	w, err := startWorker(ctx, b.db.Pool(), b.protector, sender, slog.New(slog.NewJSONHandler(b.logs, nil)), func(cfg *river.Config) {
		cfg.FetchCooldown = 10 * time.Millisecond
		cfg.FetchPollInterval = 50 * time.Millisecond
		cfg.TestOnly = true
	}, WithRequestExpiry(adm))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = w.Stop(stop)
	})
	// A generous bound for River to elect itself leader and run the job at
	// start; not a timing assertion.
	waitCtx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	m, err := catcher.Wait(waitCtx, func(m devmail.Message) bool {
		return len(m.To) == 1 && m.To[0] == "lars@nordlys.example.dk"
	})
	if err != nil {
		t.Fatalf("no expiry mail: %v\nlogs:\n%s", err, b.logs.String())
	}
	if !strings.Contains(m.Subject, "udløbet") || !strings.Contains(m.Text, "brugeradministrator") {
		t.Errorf("expiry mail: %q\n%s", m.Subject, m.Text)
	}
	var status string
	if err := b.db.SQL().QueryRow("SELECT status FROM rights_requests WHERE id = $1", req.ID).Scan(&status); err != nil || status != domain.RequestExpired {
		t.Errorf("request status: %q %v, want expired", status, err)
	}
}
