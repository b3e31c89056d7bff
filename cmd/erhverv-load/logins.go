package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/erhverv/erhverv/internal/seed"
)

// demoPersons are the demo people (internal/seed, internal/mitidsim/demo.go)
// with exactly one active business identity, so a login goes straight back
// to the service without the choice of organisation.
const demoPersons = "demo-lars,demo-jonas,demo-sofie,demo-peter,demo-rasmus,demo-freja,demo-henrik,demo-anders"

// loginsOptions are the logins command's flags.
type loginsOptions struct {
	cfg                      loginConfig
	persons                  []string
	rate                     float64
	duration, warmup         time.Duration
	warmupRate               float64
	findMax                  bool
	rates                    []float64
	maxP99                   time.Duration
	maxOpen                  int
	serverPID, simPID, dbPID int
	wait                     time.Duration
	jsonOut                  bool
	cpuProfile               string
}

func (m *Main) logins(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("logins", flag.ContinueOnError)
	var o loginsOptions
	fs.StringVar(&o.cfg.issuer, "issuer", "http://127.0.0.1:8080", "the platform (the OpenID Provider's issuer)")
	fs.StringVar(&o.cfg.clientID, "client-id", seed.DemoServiceClientID.String(), "the service's client id; the default is the demo service's, which erhverv seed demo registers")
	fs.StringVar(&o.cfg.clientSecret, "client-secret", seed.DemoServiceSecret, "the service's client secret, sent with client_secret_basic")
	fs.StringVar(&o.cfg.redirectURI, "redirect-uri", "http://127.0.0.1:8070/callback", "the service's redirect URI: never fetched, the login stops there")
	fs.StringVar(&o.cfg.authenticator, "authenticator", "code_app", "the authenticator picked on the simulator's page: code_app, code_app_high, code_token, chip or password")
	persons := fs.String("persons", demoPersons, "the simulator subjects who log in, in turn (each needs one active business identity)")
	fs.Float64Var(&o.rate, "rate", 50, "logins started per second")
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "how long to start logins (each step with --find-max)")
	fs.DurationVar(&o.warmup, "warmup", 5*time.Second, "log in this long first, unmeasured (0: no warm-up)")
	fs.Float64Var(&o.warmupRate, "warmup-rate", 50, "logins per second during the warm-up; at most the first rate measured")
	fs.BoolVar(&o.findMax, "find-max", false, "step through --rates and report the highest at which every login succeeds with p99 <= --max-p99")
	rates := fs.String("rates", "50,100,150,200,250,300,350,400", "--find-max: the rates to try, ascending")
	fs.DurationVar(&o.maxP99, "max-p99", time.Second, "--find-max: the highest p99 a whole login may take")
	fs.DurationVar(&o.cfg.timeout, "timeout", 30*time.Second, "a whole login's timeout")
	fs.IntVar(&o.maxOpen, "max-open", 2000, "at most this many logins open at once; a login due when the limit is reached fails as not started")
	fs.IntVar(&o.serverPID, "server-pid", 0, "the platform's process id, to report the CPU it used (optional)")
	fs.IntVar(&o.simPID, "sim-pid", 0, "the simulator's process id, to report the CPU it used (optional)")
	fs.IntVar(&o.dbPID, "db-pid", 0, "the PostgreSQL server's (postmaster's) process id, to report the CPU it and its backends used (optional)")
	fs.DurationVar(&o.wait, "wait", 30*time.Second, "wait this long for the platform's /readyz to answer 200 first")
	fs.BoolVar(&o.jsonOut, "json", false, "write the report as JSON")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write the generator's own CPU profile here")
	if err := parse(fs, args, m.Stdout); err != nil {
		return err
	}
	for _, p := range strings.Split(*persons, ",") {
		if p = strings.TrimSpace(p); p != "" {
			o.persons = append(o.persons, p)
		}
	}
	if len(o.persons) == 0 {
		return usageError("logins: --persons names no one")
	}
	if o.rate <= 0 || o.duration <= 0 || o.warmupRate <= 0 || o.maxOpen < 1 || o.cfg.timeout <= 0 {
		return usageError("logins: --rate, --warmup-rate, --duration, --timeout and --max-open must be positive")
	}
	if o.findMax {
		var err error
		if o.rates, err = parseRates(*rates); err != nil {
			return err
		}
	}
	o.cfg.issuer = strings.TrimSuffix(o.cfg.issuer, "/")
	o.cfg.scopes = []string{"openid", "profile", "email"}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400) // the generator shares the machine: collect less often
	}
	if err := waitReady(ctx, o.cfg.issuer, o.wait); err != nil {
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
	d, err := newLoginDriver(ctx, o.cfg, &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 4096,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	})
	if err != nil {
		return err
	}
	p := &pacer{d: d, persons: o.persons, maxOpen: o.maxOpen, pids: pids{server: o.serverPID, sim: o.simPID, db: o.dbPID}}
	about := fmt.Sprintf("client %s at %s, %d persons in turn, authenticator %s", o.cfg.clientID, o.cfg.issuer, len(o.persons), o.cfg.authenticator)

	if o.warmup > 0 {
		first := o.rate
		if o.findMax {
			first = o.rates[0]
		}
		w := p.attack(ctx, min(o.warmupRate, first), o.warmup).summary()
		out := m.Stdout
		if o.jsonOut {
			out = m.Stderr
		}
		fmt.Fprintf(out, "warm-up     %d logins at %.0f/s, %d failed\n", w.Logins, w.Asked, w.Failed)
		if w.Failed > 0 {
			fmt.Fprintf(out, "            %s\n", w.failureList())
		}
		fmt.Fprintln(out)
	}
	if o.findMax {
		return m.findMaxLogins(ctx, p, o, about)
	}
	sum := p.attack(ctx, o.rate, o.duration).summary()
	if o.jsonOut {
		if err := writeJSON(m.Stdout, sum); err != nil {
			return err
		}
	} else {
		sum.print(m.Stdout, about, p.pids)
	}
	if sum.Failed > 0 || sum.Succeeded == 0 {
		return fmt.Errorf("%d of %d logins failed", sum.Failed, sum.Logins)
	}
	return nil
}

func parseRates(list string) ([]float64, error) {
	var out []float64
	for _, r := range strings.Split(list, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
		if err != nil || v <= 0 {
			return nil, usageError(fmt.Sprintf("--rates: %q is not a rate", r))
		}
		out = append(out, v)
	}
	return out, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// pacer starts logins at a fixed rate, each in its own goroutine, whatever
// the ones before are doing (an open model: a slow platform cannot slow the
// generator down and hide its latency).
type pacer struct {
	d       *loginDriver
	persons []string
	next    atomic.Uint64 // the persons take turns across attacks
	maxOpen int
	pids    pids
}

// pids are the processes whose CPU the report shows; 0 is unknown.
type pids struct{ server, sim, db int }

// attack starts rate logins a second for d and waits for all of them.
func (p *pacer) attack(ctx context.Context, rate float64, d time.Duration) *loginStats {
	s := newLoginStats(rate)
	results := make(chan loginResult, 1024)
	collected := make(chan struct{})
	go func() {
		for r := range results {
			s.add(r)
		}
		close(collected)
	}()
	before := cpuNow(p.pids)
	var open atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	n := int(math.Round(rate * d.Seconds()))
	for i := range n {
		time.Sleep(time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))))
		if ctx.Err() != nil {
			break
		}
		if open.Load() >= int64(p.maxOpen) {
			results <- loginResult{start: time.Now(), err: failAt(stepNotStarted, "%d logins open", p.maxOpen)}
			continue
		}
		person := p.persons[int(p.next.Add(1)-1)%len(p.persons)]
		open.Add(1)
		wg.Go(func() {
			defer open.Add(-1)
			results <- p.d.login(ctx, person)
		})
	}
	wg.Wait()
	close(results)
	<-collected
	s.cpu = cpuNow(p.pids).minus(before)
	return s
}

// cpuSample is CPU seconds used so far by the generator, the platform, the
// simulator, the database and the whole machine.
type cpuSample struct{ gen, server, sim, db, machine float64 }

func cpuNow(p pids) cpuSample {
	return cpuSample{gen: cpuSelf(), server: cpuOf(p.server), sim: cpuOf(p.sim), db: cpuTree(p.db), machine: cpuMachine()}
}

func (a cpuSample) minus(b cpuSample) cpuSample {
	return cpuSample{gen: a.gen - b.gen, server: a.server - b.server, sim: a.sim - b.sim, db: a.db - b.db, machine: a.machine - b.machine}
}

// cpuTree is the CPU seconds process pid and its children have used: a
// PostgreSQL server's postmaster and its backends (Linux /proc; 0 when
// unknown). A backend that exits between two samples takes its share with
// it, so keep the platform's connections open (they are pooled).
func cpuTree(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	total := cpuOf(pid)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil || child == pid {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The parent's id is the second field after the command name.
		rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
		if f := strings.Fields(rest); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			total += cpuOf(child)
		}
	}
	return total
}

// cpuMachine is the CPU seconds every core spent busy since boot (Linux
// /proc/stat, in ticks of 1/100 s; 0 when unknown): what is not idle or
// waiting for I/O.
func cpuMachine() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0
	}
	var busy float64
	for i, v := range f[1:] {
		if i >= 8 { // guest time is counted in user time already
			break
		}
		n, _ := strconv.ParseFloat(v, 64)
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy / 100
}

// loginStats gathers one attack's logins. Latencies are kept so the
// percentiles are exact.
type loginStats struct {
	asked     float64
	logins    int
	succeeded int
	first     time.Time // the first login's start
	last      time.Time // the last login's start
	end       time.Time // the last login's end
	total     []time.Duration
	steps     [numSteps][]time.Duration
	failures  [numSteps]int
	examples  [numSteps]string // the first failure's message at each step
	cpu       cpuSample
}

func newLoginStats(rate float64) *loginStats { return &loginStats{asked: rate} }

func (s *loginStats) add(r loginResult) {
	s.logins++
	if s.first.IsZero() || r.start.Before(s.first) {
		s.first = r.start
	}
	if r.start.After(s.last) {
		s.last = r.start
	}
	if e := r.start.Add(r.total); e.After(s.end) {
		s.end = e
	}
	if r.err != nil {
		st, msg := r.failedStep(), r.err.Error()
		var se *stepError
		if errors.As(r.err, &se) {
			msg = se.err.Error() // the step is named beside it
		}
		if s.failures[st] == 0 {
			s.examples[st] = msg
		}
		s.failures[st]++
		return
	}
	s.succeeded++
	s.total = append(s.total, r.total)
	for st, d := range r.steps {
		if d > 0 {
			s.steps[st] = append(s.steps[st], d)
		}
	}
}

// loginSummary is what a report shows; its JSON form is the -json output.
// Latencies are of the logins that succeeded, in milliseconds.
type loginSummary struct {
	Asked     float64 `json:"rate_asked"`
	Logins    int     `json:"logins"`
	Succeeded int     `json:"succeeded"`
	Failed    int     `json:"failed"`
	// Started is logins started per second over the attack; Completed is
	// logins that succeeded per second until the last one ended.
	Started   float64       `json:"started_per_s"`
	Completed float64       `json:"succeeded_per_s"`
	P50       float64       `json:"p50_ms"`
	P90       float64       `json:"p90_ms"`
	P99       float64       `json:"p99_ms"`
	Max       float64       `json:"max_ms"`
	Steps     []stepSummary `json:"steps"`
	// Cores used on average while the attack lasted.
	GeneratorCores float64 `json:"generator_cores"`
	ServerCores    float64 `json:"server_cores,omitempty"`
	SimCores       float64 `json:"simulator_cores,omitempty"`
	DBCores        float64 `json:"database_cores,omitempty"`
	MachineCores   float64 `json:"machine_cores"`
	CPUs           int     `json:"cpus"`
}

type stepSummary struct {
	Step    string  `json:"step"`
	P50     float64 `json:"p50_ms,omitempty"`
	P99     float64 `json:"p99_ms,omitempty"`
	Failed  int     `json:"failed,omitempty"`
	Example string  `json:"example,omitempty"`
}

func (s *loginStats) summary() loginSummary {
	sum := loginSummary{Asked: s.asked, Logins: s.logins, Succeeded: s.succeeded, Failed: s.logins - s.succeeded, CPUs: numCPU()}
	if s.logins == 0 {
		return sum
	}
	if span := s.last.Sub(s.first).Seconds(); span > 0 {
		sum.Started = float64(s.logins-1) / span
	}
	if total := s.end.Sub(s.first).Seconds(); total > 0 {
		sum.Completed = float64(s.succeeded) / total
		sum.GeneratorCores, sum.ServerCores = s.cpu.gen/total, s.cpu.server/total
		sum.SimCores, sum.DBCores, sum.MachineCores = s.cpu.sim/total, s.cpu.db/total, s.cpu.machine/total
	}
	if len(s.total) > 0 {
		q := quantiles(s.total)
		sum.P50, sum.P90, sum.P99, sum.Max = q(0.50), q(0.90), q(0.99), q(1)
	}
	for st := range numSteps {
		ss := stepSummary{Step: st.String(), Failed: s.failures[st], Example: s.examples[st]}
		if len(s.steps[st]) > 0 {
			q := quantiles(s.steps[st])
			ss.P50, ss.P99 = q(0.50), q(0.99)
		}
		if ss.P50 > 0 || ss.Failed > 0 {
			sum.Steps = append(sum.Steps, ss)
		}
	}
	return sum
}

// quantiles sorts a copy of d and returns its nearest-rank percentiles in
// milliseconds: the smallest value at least a share p of d do not exceed.
func quantiles(d []time.Duration) func(p float64) float64 {
	sorted := slices.Clone(d)
	slices.Sort(sorted)
	return func(p float64) float64 {
		i := max(0, int(math.Ceil(p*float64(len(sorted))))-1)
		return float64(sorted[i]) / 1e6
	}
}

// failureList names the steps logins failed at, most first.
func (sum loginSummary) failureList() string {
	failed := slices.DeleteFunc(slices.Clone(sum.Steps), func(s stepSummary) bool { return s.Failed == 0 })
	slices.SortStableFunc(failed, func(a, b stepSummary) int { return b.Failed - a.Failed })
	var out []string
	for _, f := range failed {
		out = append(out, fmt.Sprintf("%s ×%d (%s)", f.Step, f.Failed, f.Example))
	}
	return strings.Join(out, "; ")
}

func msf(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) + " ms" }

func (sum loginSummary) print(w io.Writer, about string, known pids) {
	fmt.Fprintf(w, "service     %s\n", about)
	fmt.Fprintf(w, "logins      %d at %.0f/s asked: started %.1f/s, succeeded %.1f/s\n", sum.Logins, sum.Asked, sum.Started, sum.Completed)
	fmt.Fprintf(w, "latency     p50 %s, p90 %s, p99 %s, max %s (a whole login, of those that succeeded)\n",
		msf(sum.P50), msf(sum.P90), msf(sum.P99), msf(sum.Max))
	fmt.Fprintf(w, "steps       %-16s %10s %10s %8s\n", "", "p50", "p99", "failed")
	for _, s := range sum.Steps {
		fmt.Fprintf(w, "            %-16s %10s %10s %8d\n", s.Step, msf(s.P50), msf(s.P99), s.Failed)
	}
	if sum.Failed == 0 {
		fmt.Fprintf(w, "failed      none\n")
	} else {
		fmt.Fprintf(w, "failed      %d: %s\n", sum.Failed, sum.failureList())
	}
	cpu := fmt.Sprintf("generator %.2f", sum.GeneratorCores)
	if known.server > 0 {
		cpu += fmt.Sprintf(", platform %.2f", sum.ServerCores)
	}
	if known.sim > 0 {
		cpu += fmt.Sprintf(", simulator %.2f", sum.SimCores)
	}
	if known.db > 0 {
		cpu += fmt.Sprintf(", database %.2f", sum.DBCores)
	}
	fmt.Fprintf(w, "cpu         %s, whole machine %.2f cores (of %d)\n", cpu, sum.MachineCores, sum.CPUs)
}

// holds reports whether a find-max step held: every login succeeded, the
// generator started them at 95% of the rate or more, and p99 is within max.
func (sum loginSummary) holds(maxP99 time.Duration) bool {
	return sum.Failed == 0 && sum.Succeeded > 0 && sum.Started >= 0.95*sum.Asked &&
		sum.P99 <= float64(maxP99)/1e6
}

// findMaxResult is find-max's JSON report.
type findMaxResult struct {
	MaxP99  float64        `json:"max_p99_ms"`
	Steps   []loginSummary `json:"steps"`
	Highest float64        `json:"highest_rate_that_holds"`
}

// findMaxLogins steps through the rates, lowest first, and stops at the
// first that does not hold.
func (m *Main) findMaxLogins(ctx context.Context, p *pacer, o loginsOptions, about string) error {
	res := findMaxResult{MaxP99: float64(o.maxP99) / 1e6}
	if !o.jsonOut {
		fmt.Fprintf(m.Stdout, "service     %s\n", about)
		fmt.Fprintf(m.Stdout, "holds       every login succeeds, p99 <= %s, logins started at 95%% of the rate or more; %s a step\n\n", ms(o.maxP99), o.duration)
		fmt.Fprintf(m.Stdout, "%8s %9s %9s %9s %9s %9s %9s %7s %6s %6s %6s %6s %6s  %s\n", "rate/s", "started/s", "ok/s",
			"p50", "p90", "p99", "max", "failed", "gen", "srv", "sim", "db", "all", "holds")
	}
	for i, rate := range o.rates {
		if i > 0 {
			time.Sleep(3 * time.Second) // let the platform settle between steps
		}
		sum := p.attack(ctx, rate, o.duration).summary()
		res.Steps = append(res.Steps, sum)
		ok := sum.holds(o.maxP99)
		if !o.jsonOut {
			fmt.Fprintf(m.Stdout, "%8.0f %9.1f %9.1f %9s %9s %9s %9s %7d %6.2f %6s %6s %6s %6.2f  %s\n", rate, sum.Started, sum.Completed,
				msf(sum.P50), msf(sum.P90), msf(sum.P99), msf(sum.Max), sum.Failed, sum.GeneratorCores,
				cores(o.serverPID, sum.ServerCores), cores(o.simPID, sum.SimCores), cores(o.dbPID, sum.DBCores), sum.MachineCores, yesNo(ok))
			if sum.Failed > 0 {
				fmt.Fprintf(m.Stdout, "%8s failed: %s\n", "", sum.failureList())
			}
		}
		if !ok {
			break
		}
		res.Highest = rate
		if ctx.Err() != nil {
			break
		}
	}
	if o.jsonOut {
		if err := writeJSON(m.Stdout, res); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(m.Stdout)
		if res.Highest > 0 {
			fmt.Fprintf(m.Stdout, "highest rate that holds: %.0f/s\n", res.Highest)
		} else {
			fmt.Fprintf(m.Stdout, "highest rate that holds: none of %v\n", o.rates)
		}
	}
	if res.Highest == 0 {
		return fmt.Errorf("no rate held: every login succeeding with p99 <= %s", ms(o.maxP99))
	}
	return nil
}

func cores(pid int, v float64) string {
	if pid <= 0 {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}
