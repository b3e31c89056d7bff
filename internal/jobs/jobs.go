// Package jobs runs erhverv's background work on PostgreSQL: email and
// periodic upkeep such as expiring rights requests left open too long
// (expiry.go) with River, and webhook delivery (webhooks.go) with a
// dispatcher of its own that claims the deliveries the database enqueued
// with each change, so the delivery log is the queue. For email, a service
// enqueues a notification in the same transaction as the change it
// announces (a transactional outbox, so the mail goes out if and only if
// the change commits), and a worker in every `erhverv serve` renders and
// sends it, retrying with backoff while the mail server is away. Links that
// grant something are sealed with the data key while they wait in the
// queue, and nothing here logs a recipient's address or a link.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"

	"github.com/erhverv/erhverv/internal/domain"
	"github.com/erhverv/erhverv/internal/mail"
	"github.com/erhverv/erhverv/internal/pii"
)

// QueueMail is the River queue emails wait in.
const QueueMail = "mail"

// MaxAttempts is how often a mail is tried before River discards it. With
// River's backoff (attempt⁴ seconds, plus jitter) the last try comes about
// eleven hours after the first, long enough to ride out a mail server's
// outage and short enough that a link in the mail is still worth having.
const MaxAttempts = 12

// emailArgs is the job: a notification with its secrets sealed. River
// stores it as JSON in river_job.args.
type emailArgs struct {
	Template string            `json:"template"`
	Lang     string            `json:"lang"`
	To       string            `json:"to"`
	OrgID    *uuid.UUID        `json:"org_id,omitempty"`
	Data     map[string]string `json:"data,omitempty"`
	Sealed   map[string][]byte `json:"sealed,omitempty"` // pii.Protector.Seal of each secret
}

func (emailArgs) Kind() string { return "email" }

func (emailArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMail, MaxAttempts: MaxAttempts}
}

// Notifier enqueues notifications. It only inserts jobs, never works them,
// so any process with a database transaction can use it.
type Notifier struct {
	client    *river.Client[*sql.Tx]
	protector *pii.Protector
}

// NewNotifier returns a Notifier that seals secrets with protector.
func NewNotifier(protector *pii.Protector) (*Notifier, error) {
	if protector == nil {
		return nil, errors.New("notifier: a protector is needed to seal links")
	}
	// An insert-only client: no pool, no queues; it writes through the
	// transaction each call is given.
	client, err := river.NewClient(riverdatabasesql.New(nil), &river.Config{Logger: slog.Default()})
	if err != nil {
		return nil, fmt.Errorf("notifier: %w", err)
	}
	return &Notifier{client: client, protector: protector}, nil
}

// NotifyTx enqueues n in tx: it is sent after tx commits, and never if tx
// rolls back. It returns an EINVALID error when n could not be rendered
// (unknown template or language, a bad address, a missing or unknown
// field), and an internal one when the insert fails.
func (nt *Notifier) NotifyTx(ctx context.Context, tx *sql.Tx, n domain.Notification) error {
	if err := mail.Validate(n); err != nil {
		return err
	}
	args := emailArgs{Template: n.Template, Lang: n.Lang, To: n.To, OrgID: n.OrgID, Data: n.Data}
	if len(n.Secrets) > 0 {
		args.Sealed = make(map[string][]byte, len(n.Secrets))
		for k, v := range n.Secrets {
			sealed, err := nt.protector.Seal(v)
			if err != nil {
				return fmt.Errorf("seal %s of %s mail: %w", k, n.Template, err)
			}
			args.Sealed[k] = sealed
		}
	}
	if _, err := nt.client.InsertTx(ctx, tx, args, nil); err != nil {
		return fmt.Errorf("enqueue %s mail: %w", n.Template, err)
	}
	return nil
}

// emailWorker opens a job's secrets, renders the mail and sends it.
type emailWorker struct {
	river.WorkerDefaults[emailArgs]
	protector *pii.Protector
	sender    mail.Sender
	logger    *slog.Logger
}

var _ river.Worker[emailArgs] = (*emailWorker)(nil)

// jobTimeout bounds one attempt: connecting and the SMTP dialogue have
// their own, shorter timeouts (mail.DefaultTimeout per step).
const jobTimeout = 2 * time.Minute

func (w *emailWorker) Work(ctx context.Context, job *river.Job[emailArgs]) error {
	err := w.work(ctx, job)
	attrs := []any{"template", job.Args.Template, "job_id", job.ID, "attempt", job.Attempt, "max_attempts", job.MaxAttempts}
	switch {
	case err == nil:
		w.logger.InfoContext(ctx, "mail sent", attrs...)
	case errors.Is(err, &river.JobCancelError{}):
		w.logger.ErrorContext(ctx, "mail not sent and given up", append(attrs, "err", err)...)
	case job.Attempt >= job.MaxAttempts:
		w.logger.ErrorContext(ctx, "mail not sent, last attempt", append(attrs, "err", err)...)
	default:
		w.logger.WarnContext(ctx, "mail not sent, will retry", append(attrs, "err", err)...)
	}
	return err
}

func (w *emailWorker) work(ctx context.Context, job *river.Job[emailArgs]) error {
	a := job.Args
	secrets := make(map[string]string, len(a.Sealed))
	for k, v := range a.Sealed {
		s, err := w.protector.Open(v)
		if err != nil {
			// Retried: a data key that was set wrongly may be put right.
			return fmt.Errorf("open sealed %s: %w", k, err)
		}
		secrets[k] = s
	}
	msg, err := mail.Render(domain.Notification{Template: a.Template, Lang: a.Lang, To: a.To, OrgID: a.OrgID, Data: a.Data, Secrets: secrets})
	if err != nil {
		// Retrying renders the same error.
		return river.JobCancel(fmt.Errorf("render: %w", err))
	}
	if err := w.sender.Send(ctx, msg); err != nil {
		if errors.Is(err, mail.ErrRejected) {
			return river.JobCancel(err)
		}
		return err
	}
	return nil
}
