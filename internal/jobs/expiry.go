package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
)

// QueueMaintenance is the River queue of the platform's periodic upkeep,
// such as expiring rights requests.
const QueueMaintenance = "maintenance"

// ExpiryInterval is how often open rights requests are checked for expiry.
// A request lives 30 days; an hour late is of no consequence, and the
// portal never shows an expired request as pending in the meantime.
const ExpiryInterval = time.Hour

// ExpiryLang is the language of the mail telling a requester that the
// request expired: the platform does not know a person's language outside
// a request, and Danish is the portal's own.
const ExpiryLang = "da"

// RequestExpirer marks the rights requests left open past their time as
// expired, audits it and tells each requester, returning how many it
// marked (at most one batch per call). postgres.Administration is one.
type RequestExpirer interface {
	ExpireRequests(ctx context.Context, lang string) (int, error)
}

// Option adds work to a Worker beyond sending mail: request expiry
// (WithRequestExpiry) and webhook delivery (WithWebhooks).
type Option func(*workerOptions)

type workerOptions struct {
	expirer    RequestExpirer
	interval   time.Duration
	webhooks   DeliveryStore
	webhookCfg WebhookConfig
}

// WithRequestExpiry makes the worker expire open rights requests every
// ExpiryInterval (and once at start). Only the worker River elects leader
// schedules it, so running it in every process is safe.
func WithRequestExpiry(e RequestExpirer) Option {
	return func(o *workerOptions) { o.expirer = e }
}

// expireRequestsArgs is the periodic job. It carries nothing: each run
// sweeps whatever has expired by then.
type expireRequestsArgs struct{}

func (expireRequestsArgs) Kind() string { return "expire_requests" }

func (expireRequestsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 5}
}

// expireRequestsWorker sweeps expired requests, batch after batch, until
// none are left (or maxExpiryBatches, leaving the rest for the next run).
type expireRequestsWorker struct {
	river.WorkerDefaults[expireRequestsArgs]
	expirer RequestExpirer
	logger  *slog.Logger
}

const maxExpiryBatches = 20

var _ river.Worker[expireRequestsArgs] = (*expireRequestsWorker)(nil)

func (w *expireRequestsWorker) Work(ctx context.Context, job *river.Job[expireRequestsArgs]) error {
	total := 0
	for range maxExpiryBatches {
		n, err := w.expirer.ExpireRequests(ctx, ExpiryLang)
		if err != nil {
			return fmt.Errorf("expire rights requests: %w", err)
		}
		total += n
		if n == 0 {
			break
		}
	}
	if total > 0 {
		w.logger.InfoContext(ctx, "rights requests expired", "count", total, "job_id", job.ID)
	}
	return nil
}

// addMaintenance registers the periodic jobs o asks for in cfg.
func addMaintenance(cfg *river.Config, workers *river.Workers, o workerOptions, logger *slog.Logger) error {
	if o.expirer == nil {
		return nil
	}
	if err := river.AddWorkerSafely(workers, &expireRequestsWorker{expirer: o.expirer, logger: logger}); err != nil {
		return err
	}
	interval := o.interval
	if interval <= 0 {
		interval = ExpiryInterval
	}
	cfg.Queues[QueueMaintenance] = river.QueueConfig{MaxWorkers: 1}
	cfg.PeriodicJobs = append(cfg.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return expireRequestsArgs{}, nil },
		&river.PeriodicJobOpts{ID: "expire_requests", RunOnStart: true}))
	return nil
}
