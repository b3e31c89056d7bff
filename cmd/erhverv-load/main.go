// Command erhverv-load is the platform's load test. For the integrators'
// API it seeds a database with the load-test data set (internal/seed,
// LoadPlan) and drives the token and decision endpoints of a running server
// at a fixed rate with vegeta, checking every answer against the plan. For
// services it drives complete logins through the MitID simulator, as a
// browser and a service would. The figures and the exact commands are in
// docs/PERFORMANCE.md, "Integrator API" and "Logins to services".
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes: 1 when requests failed or the seed did, 2 for bad usage.
const (
	exitFailure = 1
	exitUsage   = 2
)

const usage = `erhverv-load: load test of the integrators' API and of logins to services (docs/PERFORMANCE.md)

Usage:
  erhverv-load seed [--database-url URL] [--create-database] [--migrate]
                    [--users 50000] [--assignments 250000] [--groups 50]
                    [--rate-limit 100000] [--credentials FILE]
      Seed a database (DATABASE_URL) with the load-test data set and register
      an API client of the service provider with every scope. Prints the
      client's id and secret, or writes them with the data set's size to FILE
      (mode 0600), which run reads.

  erhverv-load run --credentials FILE [--base-url http://127.0.0.1:8080]
                   [--target decisions|batch|tokens] [--rate 1000] [--duration 30s]
                   [--warmup 5s] [--sample 4000] [--server-pid PID]
                   [--find-max --rates 1000,2000,... --max-p99 5ms]
      Attack the server at a fixed rate and report requests, the rate achieved,
      throughput, latency percentiles, status codes and failures. Exits 1 when
      a request failed or a decision was not the one the data set implies
      (with --find-max: when no rate held, or any answer was wrong).

  erhverv-load logins [--issuer http://127.0.0.1:8080] [--client-id ID]
                      [--client-secret S] [--redirect-uri URI] [--persons demo-lars,...]
                      [--rate 50] [--duration 30s] [--warmup 5s] [--json]
                      [--server-pid PID] [--sim-pid PID] [--db-pid PID]
                      [--find-max --rates 50,100,... --max-p99 1s]
      Log in to a service at a fixed rate, each login complete and from a new
      browser: the service's request (PKCE, state, nonce), the platform, the
      MitID simulator's login page and form, back to the service, the token
      exchange and the ID token verified. Defaults to the demo service's client
      and the demo people that erhverv seed demo makes. Reports logins/s,
      failures by step, and the latency of a whole login and of each step.
      Exits 1 when a login failed (with --find-max: when no rate held).

Run "erhverv-load seed -h", "erhverv-load run -h" or "erhverv-load logins -h" for every flag.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := (&Main{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}).Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// Main runs one invocation; tests may start it with their own environment.
type Main struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

type usageError string

func (e usageError) Error() string { return string(e) }

// errFailed reports a run whose requests failed; the report says how.
var errFailed = errors.New("requests failed")

// Run executes args and returns the exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "seed":
		err = m.seed(ctx, args[1:])
	case "run":
		err = m.run(ctx, args[1:])
	case "logins":
		err = m.logins(ctx, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(m.Stdout, usage)
	default:
		err = usageError(fmt.Sprintf("unknown command %q", args[0]))
	}
	var uErr usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return 0
	case errors.As(err, &uErr):
		fmt.Fprintf(m.Stderr, "erhverv-load: %s (see erhverv-load help)\n", uErr)
		return exitUsage
	}
	fmt.Fprintf(m.Stderr, "erhverv-load: %v\n", err)
	return exitFailure
}

// errHelp: -h was asked for and answered.
var errHelp = errors.New("help shown")

// parse parses flags that take no positional arguments; -h prints them to w.
func parse(fs *flag.FlagSet, args []string, w io.Writer) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(w, "Flags of erhverv-load %s:\n", fs.Name())
			fs.SetOutput(w)
			fs.PrintDefaults()
			return errHelp
		}
		return usageError(fs.Name() + ": " + err.Error())
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("%s takes no arguments, got %q", fs.Name(), fs.Args()))
	}
	return nil
}
