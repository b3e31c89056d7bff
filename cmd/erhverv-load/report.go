package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// stats gathers one attack's results. Latencies are kept (8 bytes each) so
// the percentiles are exact, not estimated.
type stats struct {
	target   string
	asked    float64 // the rate asked for, per second
	requests int
	ok       int // answered 2xx with the expected answer
	allows   int
	denials  int
	first    time.Time // the first request's start
	last     time.Time // the last request's start
	end      time.Time // the last answer's arrival
	lat      []time.Duration
	codes    map[uint16]int
	problems map[string]int
	// CPU seconds the generator (and, when known, the server) used.
	genCPU, serverCPU float64
}

func newStats(target string, rate float64) *stats {
	return &stats{target: target, asked: rate, codes: map[uint16]int{}, problems: map[string]int{}}
}

func (s *stats) add(r *vegeta.Result, v verdict) {
	s.requests++
	s.lat = append(s.lat, r.Latency)
	s.codes[r.Code]++
	if s.first.IsZero() || r.Timestamp.Before(s.first) {
		s.first = r.Timestamp
	}
	if r.Timestamp.After(s.last) {
		s.last = r.Timestamp
	}
	if e := r.End(); e.After(s.end) {
		s.end = e
	}
	s.allows += v.allow
	s.denials += v.denied
	if v.problem != "" {
		s.problems[v.problem]++
		return
	}
	s.ok++
}

// summary is what a report shows.
type summary struct {
	requests, ok, failed int
	// rate is requests sent per second over the attack; throughput is
	// requests answered as expected per second until the last answer
	// (vegeta's definitions).
	rate, throughput    float64
	p50, p90, p99, pmax time.Duration
	// genCores and serverCores are the cores used on average.
	genCores, serverCores float64
}

func (s *stats) summary() summary {
	sum := summary{requests: s.requests, ok: s.ok, failed: s.requests - s.ok}
	if s.requests == 0 {
		return sum
	}
	span := s.last.Sub(s.first).Seconds()
	if span > 0 {
		sum.rate = float64(s.requests-1) / span
	}
	if total := s.end.Sub(s.first).Seconds(); total > 0 {
		sum.throughput = float64(s.ok) / total
		sum.genCores = s.genCPU / total
		sum.serverCores = s.serverCPU / total
	}
	lat := slices.Clone(s.lat)
	slices.Sort(lat)
	// The nearest-rank percentile: the smallest latency at least p of the
	// requests had.
	q := func(p float64) time.Duration { return lat[max(0, int(math.Ceil(p*float64(len(lat))))-1)] }
	sum.p50, sum.p90, sum.p99, sum.pmax = q(0.50), q(0.90), q(0.99), lat[len(lat)-1]
	return sum
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + " ms" }

// print writes the report of one attack.
func (s *stats) print(w io.Writer, about string, serverKnown bool) {
	sum := s.summary()
	fmt.Fprintf(w, "target      %s: %s\n", s.target, about)
	fmt.Fprintf(w, "requests    %d at %.0f/s asked: rate %.1f/s, throughput %.1f/s (answered as expected)\n",
		sum.requests, s.asked, sum.rate, sum.throughput)
	fmt.Fprintf(w, "latency     p50 %s, p90 %s, p99 %s, max %s\n", ms(sum.p50), ms(sum.p90), ms(sum.p99), ms(sum.pmax))
	codes := slices.Sorted(maps.Keys(s.codes))
	var parts []string
	for _, c := range codes {
		label := strconv.Itoa(int(c))
		if c == 0 {
			label = "no answer"
		}
		parts = append(parts, fmt.Sprintf("%s: %d", label, s.codes[c]))
	}
	fmt.Fprintf(w, "status      %s\n", strings.Join(parts, ", "))
	if s.allows+s.denials > 0 {
		fmt.Fprintf(w, "decisions   %d allow, %d deny\n", s.allows, s.denials)
	}
	if len(s.problems) == 0 {
		fmt.Fprintf(w, "failed      none\n")
	} else {
		fmt.Fprintf(w, "failed      %d: %s\n", sum.failed, s.problemList(5))
	}
	cpu := fmt.Sprintf("generator %.2f cores", sum.genCores)
	if serverKnown {
		cpu += fmt.Sprintf(", server %.2f cores", sum.serverCores)
	}
	fmt.Fprintf(w, "cpu         %s (of %d)\n", cpu, numCPU())
}

// problemList names the n most frequent problems with their counts.
func (s *stats) problemList(n int) string {
	ps := slices.Collect(maps.Keys(s.problems))
	slices.SortFunc(ps, func(a, b string) int {
		if c := s.problems[b] - s.problems[a]; c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	var out []string
	for _, p := range ps[:min(n, len(ps))] {
		out = append(out, fmt.Sprintf("%s ×%d", p, s.problems[p]))
	}
	if len(ps) > n {
		out = append(out, fmt.Sprintf("%d other kinds", len(ps)-n))
	}
	return strings.Join(out, "; ")
}

// cpuSelf returns the CPU seconds this process has used.
func cpuSelf() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// cpuOf returns the CPU seconds process pid has used (Linux /proc; 0 when
// unknown). The kernel counts in ticks of 1/100 s on every Linux this runs on.
func cpuOf(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	rest := string(b[strings.LastIndexByte(string(b), ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100
}
