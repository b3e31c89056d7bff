package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/erhverv/erhverv/internal/mail"
	"github.com/erhverv/erhverv/internal/pii"
)

// Worker sends the queued mails (and, with WithRequestExpiry, expires
// rights requests left open too long). Every `erhverv serve` may run one: River
// hands each job to one worker at a time, and one of them (elected through
// the database) also does River's upkeep, such as deleting old jobs.
type Worker struct {
	client *river.Client[pgx.Tx]
	logger *slog.Logger
}

// mailWorkers is how many mails one process sends at once.
const mailWorkers = 4

// StartWorker starts working the mail queue. Cancelling ctx does not stop
// it (a process on its way down should still finish the mail in hand):
// call Stop. pool needs a connection to spare for River's LISTEN.
// Options add periodic upkeep (WithRequestExpiry).
func StartWorker(ctx context.Context, pool *pgxpool.Pool, protector *pii.Protector, sender mail.Sender, logger *slog.Logger, opts ...Option) (*Worker, error) {
	return startWorker(ctx, pool, protector, sender, logger, nil, opts...)
}

// startWorker is StartWorker with a hook to change River's configuration;
// tests use it to retry in milliseconds rather than River's seconds to hours.
func startWorker(ctx context.Context, pool *pgxpool.Pool, protector *pii.Protector, sender mail.Sender, logger *slog.Logger, tune func(*river.Config), opts ...Option) (*Worker, error) {
	if pool == nil || protector == nil || sender == nil {
		return nil, errors.New("mail worker: pool, protector and sender are all needed")
	}
	if logger == nil {
		logger = slog.Default()
	}
	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &emailWorker{protector: protector, sender: sender, logger: logger}); err != nil {
		return nil, fmt.Errorf("mail worker: %w", err)
	}
	cfg := &river.Config{
		Queues:  map[string]river.QueueConfig{QueueMail: {MaxWorkers: mailWorkers}},
		Workers: workers,
		Logger:  logger,
		// A completed job's args still hold the sealed link: keep them
		// only as long as is useful to look into a delivery.
		CompletedJobRetentionPeriod: time.Hour,
		MaxAttempts:                 MaxAttempts,
		JobTimeout:                  jobTimeout,
	}
	var o workerOptions
	for _, opt := range opts {
		opt(&o)
	}
	if err := addMaintenance(cfg, workers, o, logger); err != nil {
		return nil, fmt.Errorf("mail worker: %w", err)
	}
	if tune != nil {
		tune(cfg)
	}
	client, err := river.NewClient(riverpgxv5.New(pool), cfg)
	if err != nil {
		return nil, fmt.Errorf("mail worker: %w", err)
	}
	if err := client.Start(context.WithoutCancel(ctx)); err != nil {
		return nil, fmt.Errorf("start mail worker: %w", err)
	}
	return &Worker{client: client, logger: logger}, nil
}

// Stop stops fetching mails and waits for those being sent. When ctx ends
// first, it cancels them (they are tried again by the next worker to run)
// and waits a few more seconds for that.
func (w *Worker) Stop(ctx context.Context) error {
	err := w.client.Stop(ctx)
	if err == nil || ctx.Err() == nil {
		return err
	}
	w.logger.Warn("mail worker: sends still running at shutdown are cancelled and will be retried")
	hard, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := w.client.StopAndCancel(hard); err != nil {
		return fmt.Errorf("stop mail worker: %w", err)
	}
	return nil
}
