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

// Worker does the background work of one `erhverv serve`: it sends the
// queued mails (when it has a mail sender), expires rights requests left
// open too long (WithRequestExpiry) and delivers webhooks (WithWebhooks).
// Every replica may run one: River hands each job to one worker at a time
// and one of them (elected through the database) does River's upkeep, and
// webhook deliveries are claimed with SKIP LOCKED.
type Worker struct {
	client *river.Client[pgx.Tx] // nil when there is no River work
	logger *slog.Logger

	dispatcher   *dispatcher // nil without WithWebhooks
	stopDispatch context.CancelFunc
	cancelSends  context.CancelFunc
	dispatchDone chan struct{}
}

// mailWorkers is how many mails one process sends at once.
const mailWorkers = 4

// StartWorker starts the background work. sender may be nil: the mail
// queue is then left for a process that can send (mails still wait in it),
// while request expiry and webhooks run all the same. Cancelling ctx does
// not stop the worker (a process on its way down should still finish the
// mail and deliveries in hand): call Stop. pool needs a connection to
// spare for each LISTEN (River's and the webhook dispatcher's).
func StartWorker(ctx context.Context, pool *pgxpool.Pool, protector *pii.Protector, sender mail.Sender, logger *slog.Logger, opts ...Option) (*Worker, error) {
	return startWorker(ctx, pool, protector, sender, logger, nil, opts...)
}

// startWorker is StartWorker with a hook to change River's configuration;
// tests use it to retry in milliseconds rather than River's seconds to hours.
func startWorker(ctx context.Context, pool *pgxpool.Pool, protector *pii.Protector, sender mail.Sender, logger *slog.Logger, tune func(*river.Config), opts ...Option) (*Worker, error) {
	if pool == nil || protector == nil {
		return nil, errors.New("worker: a pool and a protector are needed")
	}
	if logger == nil {
		logger = slog.Default()
	}
	var o workerOptions
	for _, opt := range opts {
		opt(&o)
	}
	w := &Worker{logger: logger}
	client, err := startRiver(ctx, pool, protector, sender, logger, tune, o)
	if err != nil {
		return nil, err
	}
	w.client = client
	if o.webhooks != nil {
		w.dispatcher = newDispatcher(o.webhooks, pool, o.webhookCfg, logger)
		loopCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
		sendCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		w.stopDispatch, w.cancelSends, w.dispatchDone = stop, cancel, make(chan struct{})
		go func() {
			defer close(w.dispatchDone)
			w.dispatcher.run(loopCtx, sendCtx)
		}()
	}
	return w, nil
}

// startRiver starts the River client for mail and periodic upkeep; nil
// when there is neither.
func startRiver(ctx context.Context, pool *pgxpool.Pool, protector *pii.Protector, sender mail.Sender, logger *slog.Logger, tune func(*river.Config), o workerOptions) (*river.Client[pgx.Tx], error) {
	if sender == nil && o.expirer == nil {
		return nil, nil
	}
	workers := river.NewWorkers()
	cfg := &river.Config{
		Queues:  map[string]river.QueueConfig{},
		Workers: workers,
		Logger:  logger,
		// A completed job's args still hold the sealed link: keep them
		// only as long as is useful to look into a delivery.
		CompletedJobRetentionPeriod: time.Hour,
		MaxAttempts:                 MaxAttempts,
		JobTimeout:                  jobTimeout,
	}
	if sender != nil {
		if err := river.AddWorkerSafely(workers, &emailWorker{protector: protector, sender: sender, logger: logger}); err != nil {
			return nil, fmt.Errorf("mail worker: %w", err)
		}
		cfg.Queues[QueueMail] = river.QueueConfig{MaxWorkers: mailWorkers}
	}
	if err := addMaintenance(cfg, workers, o, logger); err != nil {
		return nil, fmt.Errorf("maintenance worker: %w", err)
	}
	if tune != nil {
		tune(cfg)
	}
	client, err := river.NewClient(riverpgxv5.New(pool), cfg)
	if err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	if err := client.Start(context.WithoutCancel(ctx)); err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	return client, nil
}

// Stop stops taking new work and waits for the mails and webhook
// deliveries in hand. When ctx ends first, it cancels them (they are tried
// again by the next worker to run) and waits a few more seconds for that.
func (w *Worker) Stop(ctx context.Context) error {
	var errs []error
	if w.dispatcher != nil {
		w.stopDispatch()
		<-w.dispatchDone
		sent := make(chan struct{})
		go func() { w.dispatcher.wait(); close(sent) }()
		select {
		case <-sent:
		case <-ctx.Done():
			w.logger.Warn("worker: webhook deliveries still running at shutdown are cancelled and will be retried")
			w.cancelSends()
			<-sent
		}
		w.cancelSends()
	}
	if w.client != nil {
		errs = append(errs, w.stopRiver(ctx))
	}
	return errors.Join(errs...)
}

func (w *Worker) stopRiver(ctx context.Context) error {
	err := w.client.Stop(ctx)
	if err == nil || ctx.Err() == nil {
		return err
	}
	w.logger.Warn("worker: sends still running at shutdown are cancelled and will be retried")
	hard, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := w.client.StopAndCancel(hard); err != nil {
		return fmt.Errorf("stop worker: %w", err)
	}
	return nil
}
