package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// runOptions are run's flags.
type runOptions struct {
	base, credsFile, target string
	rate                    float64
	duration, warmup        time.Duration
	warmupRate              float64
	sample, questions       int
	batchSize               int
	findMax                 bool
	rates                   []float64
	maxP99                  time.Duration
	timeout                 time.Duration
	workers                 uint64
	serverPID               int
	wait                    time.Duration
	cpuProfile              string
}

func (m *Main) run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var o runOptions
	fs.StringVar(&o.base, "base-url", "http://127.0.0.1:8080", "the server's URL")
	fs.StringVar(&o.credsFile, "credentials", "", "the credentials file erhverv-load seed wrote")
	fs.StringVar(&o.target, "target", "decisions", "decisions, batch or tokens")
	fs.Float64Var(&o.rate, "rate", 1000, "requests per second")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "how long to attack (each step with --find-max)")
	fs.DurationVar(&o.warmup, "warmup", 5*time.Second, "attack this long first, unmeasured, and at least until every sampled user was asked about once (fills the server's caches and connections; 0: no warm-up)")
	fs.Float64Var(&o.warmupRate, "warmup-rate", 1000, "questions (tokens) per second during the warm-up; at most the rate measured")
	fs.IntVar(&o.sample, "sample", 4000, "decisions: how many of the seeded users the questions are about")
	fs.IntVar(&o.questions, "questions", 100_000, "decisions: how many distinct questions to cycle through")
	fs.IntVar(&o.batchSize, "batch-size", 100, "batch: questions per request")
	fs.BoolVar(&o.findMax, "find-max", false, "step through --rates and report the highest that holds p99 <= --max-p99 with no failures")
	rates := fs.String("rates", "1000,2000,3000,4000,5000,6000,7000,8000", "--find-max: the rates to try, ascending")
	fs.DurationVar(&o.maxP99, "max-p99", 5*time.Millisecond, "--find-max: the highest p99 latency a rate may have")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "per-request timeout")
	fs.Uint64Var(&o.workers, "workers", 8, "initial vegeta workers (more are added when all are busy)")
	fs.IntVar(&o.serverPID, "server-pid", 0, "the server's process id, to report the CPU it used (optional)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write the generator's own CPU profile here (to see what the generator costs)")
	fs.DurationVar(&o.wait, "wait", 30*time.Second, "wait this long for the server's /readyz to answer 200 first")
	if err := parse(fs, args, m.Stdout); err != nil {
		return err
	}
	if o.credsFile == "" {
		return usageError("run: --credentials is required (erhverv-load seed --credentials FILE writes it)")
	}
	if o.rate < 1 || o.duration <= 0 || o.warmupRate < 1 || o.batchSize < 1 || o.batchSize > 100 {
		return usageError("run: --rate and --warmup-rate must be 1 or more, --duration positive, --batch-size 1 to 100")
	}
	if o.findMax {
		for _, r := range strings.Split(*rates, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
			if err != nil || v < 1 {
				return usageError(fmt.Sprintf("run: --rates: %q is not a rate", r))
			}
			o.rates = append(o.rates, v)
		}
	}
	creds, err := readCredentials(o.credsFile)
	if err != nil {
		return err
	}
	// The generator shares the machine with the server: collect garbage
	// less often, for less CPU (memory is plentiful).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}

	if err := waitReady(ctx, o.base, o.wait); err != nil {
		return err
	}
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	// The token refresher (decisions, batch) stops when run returns.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tgt, err := m.newTarget(ctx, o, creds)
	if err != nil {
		return err
	}

	// A vegeta Attacker stops for good after one attack; the attacks share
	// this client, so the warm-up's connections serve the measurement.
	client := &http.Client{
		Timeout: o.timeout,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: o.timeout, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 10_000,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	atk := func() *vegeta.Attacker {
		return vegeta.NewAttacker(vegeta.Client(client), vegeta.Workers(o.workers), vegeta.MaxBody(64<<10))
	}
	if o.warmup > 0 {
		m.warmUp(ctx, atk(), tgt, o)
	}
	if o.findMax {
		return m.findMax(ctx, atk, tgt, o)
	}
	s := attack(ctx, atk(), tgt.attack, tgt.check, tgt.name, o.rate, o.duration, o.serverPID)
	s.print(m.Stdout, tgt.about, o.serverPID > 0)
	if sum := s.summary(); sum.failed > 0 || sum.requests == 0 {
		return fmt.Errorf("%w: %d of %d requests did not get the answer expected", errFailed, sum.failed, sum.requests)
	}
	return nil
}

// newTarget makes the target o names; for decisions and batches it fetches
// a token and keeps it fresh until ctx ends.
func (m *Main) newTarget(ctx context.Context, o runOptions, creds credentials) (*target, error) {
	switch o.target {
	case "tokens":
		return tokensTarget(o.base, creds), nil
	case "decisions", "batch":
		plan, err := planOf(creds)
		if err != nil {
			return nil, err
		}
		ts := newTokenSource(o.base, creds, m.Stderr)
		if err := ts.start(ctx); err != nil {
			return nil, err
		}
		mx := newMix(plan, o.sample, max(o.questions, o.batchSize))
		if o.target == "decisions" {
			return decisionsTarget(o.base, mx, ts), nil
		}
		return batchTarget(o.base, mx, ts, o.batchSize), nil
	}
	return nil, usageError(fmt.Sprintf("run: unknown --target %q: decisions, batch or tokens", o.target))
}

// warmUp attacks unmeasured for --warmup, and long enough to ask about
// every sampled user once, never faster than the first rate measured: a
// warm-up that overloads the server leaves a backlog the measurement would
// pay for.
func (m *Main) warmUp(ctx context.Context, atk *vegeta.Attacker, tgt *target, o runOptions) {
	first := o.rate
	if o.findMax {
		first = o.rates[0]
	}
	rate := max(1, math.Min(o.warmupRate/float64(tgt.perRequest), first))
	d := max(o.warmup, time.Duration(float64(tgt.warmN)/rate*float64(time.Second)))
	w := attack(ctx, atk, tgt.warm, tgt.check, tgt.name+" warm-up", rate, d, 0)
	sum := w.summary()
	fmt.Fprintf(m.Stdout, "warm-up     %d requests at %.0f/s, %d failed", sum.requests, w.asked, sum.failed)
	if wrong := w.problems["wrong answer"]; wrong > 0 {
		fmt.Fprintf(m.Stdout, " (%d wrong answers)", wrong)
	}
	fmt.Fprint(m.Stdout, "\n\n")
}

// attack runs one attack and gathers its results.
func attack(ctx context.Context, atk *vegeta.Attacker, tr vegeta.Targeter, check func(*vegeta.Result) verdict,
	name string, rate float64, d time.Duration, serverPID int) *stats {
	s := newStats(name, rate)
	// vegeta's pacer counts whole hits per period: the rate is rounded to
	// whole requests a second (the flags refuse rates under 1).
	pacer := vegeta.Rate{Freq: int(math.Round(rate)), Per: time.Second}
	genBefore, serverBefore := cpuSelf(), cpuOf(serverPID)
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			atk.Stop()
		case <-done:
		}
	}()
	for r := range atk.Attack(tr, pacer, d, name) {
		s.add(r, check(r))
	}
	close(done)
	s.genCPU, s.serverCPU = cpuSelf()-genBefore, cpuOf(serverPID)-serverBefore
	return s
}

// findMax steps through the rates, lowest first, and stops at the first that
// does not hold: p99 above the limit, a failed request, or requests sent
// short of the rate asked (the generator could not keep up, so the step
// measured less than it claims; a server that falls behind shows in p99).
func (m *Main) findMax(ctx context.Context, atk func() *vegeta.Attacker, tgt *target, o runOptions) error {
	fmt.Fprintf(m.Stdout, "target      %s: %s\n", tgt.name, tgt.about)
	fmt.Fprintf(m.Stdout, "holds       p99 <= %s, no failed request, requests sent at 95%% of the rate or more; %s a step\n\n", ms(o.maxP99), o.duration)
	fmt.Fprintf(m.Stdout, "%8s %9s %11s %9s %9s %9s %9s %7s %9s %9s  %s\n",
		"rate/s", "sent/s", "through/s", "p50", "p90", "p99", "max", "failed", "gen cpu", "srv cpu", "holds")
	best, wrong := 0.0, 0
	for i, rate := range o.rates {
		if i > 0 {
			time.Sleep(2 * time.Second) // let the server settle between steps
		}
		s := attack(ctx, atk(), tgt.attack, tgt.check, tgt.name, rate, o.duration, o.serverPID)
		sum := s.summary()
		wrong += s.problems["wrong answer"]
		holds := sum.failed == 0 && sum.requests > 0 && sum.p99 <= o.maxP99 && sum.rate >= 0.95*rate
		srv := "-"
		if o.serverPID > 0 {
			srv = fmt.Sprintf("%.2f", sum.serverCores)
		}
		fmt.Fprintf(m.Stdout, "%8.0f %9.1f %11.1f %9s %9s %9s %9s %7d %9.2f %9s  %s\n", rate, sum.rate, sum.throughput,
			ms(sum.p50), ms(sum.p90), ms(sum.p99), ms(sum.pmax), sum.failed, sum.genCores, srv, yesNo(holds))
		if !holds {
			if len(s.problems) > 0 {
				fmt.Fprintf(m.Stdout, "%8s failed: %s\n", "", s.problemList(5))
			}
			break
		}
		best = rate
		if ctx.Err() != nil {
			break
		}
	}
	fmt.Fprintln(m.Stdout)
	switch {
	case wrong > 0:
		return fmt.Errorf("%w: %d wrong answers", errFailed, wrong)
	case best == 0:
		fmt.Fprintf(m.Stdout, "highest rate that holds: none of %v\n", o.rates)
		return fmt.Errorf("%w: no rate held p99 <= %s", errFailed, ms(o.maxP99))
	}
	fmt.Fprintf(m.Stdout, "highest rate that holds: %.0f/s\n", best)
	return nil
}

// waitReady polls the server's /readyz until it answers 200 or d passes.
func waitReady(ctx context.Context, base string, d time.Duration) error {
	url := strings.TrimRight(base, "/") + "/readyz"
	deadline := time.Now().Add(d)
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s", resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server at %s is not ready after %s: %v", base, d, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func numCPU() int { return runtime.NumCPU() }
