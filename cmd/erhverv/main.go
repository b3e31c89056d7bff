// Command erhverv is the platform: the portal and API server, database
// migrations and demo data, in one binary. This file only parses arguments
// and wires the adapters of internal/ together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/erhverv/erhverv/internal/api"
	"github.com/erhverv/erhverv/internal/authz"
	"github.com/erhverv/erhverv/internal/config"
	"github.com/erhverv/erhverv/internal/cvr"
	"github.com/erhverv/erhverv/internal/jobs"
	"github.com/erhverv/erhverv/internal/login"
	"github.com/erhverv/erhverv/internal/mail"
	"github.com/erhverv/erhverv/internal/pii"
	"github.com/erhverv/erhverv/internal/portal"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/provider"
	"github.com/erhverv/erhverv/internal/rights"
	"github.com/erhverv/erhverv/internal/seed"
	"github.com/erhverv/erhverv/internal/server"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit codes: 2 for a usage or configuration error, 1 for anything else.
const (
	exitFailure = 1
	exitUsage   = 2
)

const usage = `erhverv: business identities, roles and rights on top of MitID

Usage:
  erhverv serve [--addr host:port] [--base-url URL] [--log-level level] [--migrate]
  erhverv migrate up|down|status [--to VERSION]
  erhverv seed demo
  erhverv audit verify [--org CVR]   (recompute the audit hash chains; exits 1 when one is broken)
  erhverv keys rotate [--publish-ahead DURATION]   (a new API token signing key; the old one retires once its tokens expire)
  erhverv healthcheck      (GET /healthz of the server at ERHVERV_ADDR; for container probes)
  erhverv version

Configuration comes from environment variables (see README.md); flags override them.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := (&Main{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}).Run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// Main runs one invocation of the command. Tests start it in-process with
// their own environment and output.
type Main struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Listener, when set, is used by serve instead of listening on the
	// configured address (tests pass a port they chose).
	Listener net.Listener
}

// Run executes args and returns the process exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(m.Stderr, usage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "serve":
		err = m.serve(ctx, args[1:])
	case "migrate":
		err = m.migrate(ctx, args[1:])
	case "seed":
		err = m.seed(ctx, args[1:])
	case "audit":
		err = m.audit(ctx, args[1:])
	case "keys":
		err = m.keys(ctx, args[1:])
	case "healthcheck":
		err = m.healthcheck(ctx)
	case "version", "--version", "-v":
		fmt.Fprintf(m.Stdout, "erhverv %s\n", version)
	case "help", "-h", "--help":
		fmt.Fprint(m.Stdout, usage)
	default:
		err = usageError(fmt.Sprintf("unknown command %q", args[0]))
	}
	return m.exitCode(err)
}

type usageError string

func (e usageError) Error() string { return string(e) }

func (m *Main) exitCode(err error) int {
	if err == nil {
		return 0
	}
	var cfgErr *config.Error
	var uErr usageError
	switch {
	case errors.As(err, &cfgErr):
		fmt.Fprintf(m.Stderr, "erhverv: %s\n", cfgErr.Error())
		return exitUsage
	case errors.As(err, &uErr):
		fmt.Fprintf(m.Stderr, "erhverv: %s (see erhverv help)\n", uErr)
		return exitUsage
	}
	fmt.Fprintf(m.Stderr, "erhverv: %v\n", err)
	return exitFailure
}

// load reads the environment; the first problem is returned as the one
// line to print.
func (m *Main) load() (*config.Config, error) {
	cfg, errs := config.Load(m.Getenv)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return cfg, nil
}

func (m *Main) logger(cfg *config.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(m.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(m.Stderr, opts))
}

func (m *Main) serve(ctx context.Context, args []string) error {
	cfg, err := m.load()
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by exitCode
	addr := fs.String("addr", cfg.Addr, "listen address host:port (ERHVERV_ADDR)")
	baseURL := fs.String("base-url", "", "public URL (ERHVERV_BASE_URL)")
	logLevel := fs.String("log-level", "", "debug, info, warn or error (ERHVERV_LOG_LEVEL)")
	migrate := fs.Bool("migrate", cfg.MigrateOnStart, "run pending migrations first (ERHVERV_MIGRATE_ON_START)")
	if err := fs.Parse(args); err != nil {
		return usageError("serve: " + err.Error())
	}
	if fs.NArg() > 0 {
		return usageError("serve takes no arguments, got " + strings.Join(fs.Args(), " "))
	}
	cfg.Addr, cfg.MigrateOnStart = *addr, *migrate
	if *baseURL != "" {
		if cfg.BaseURL, err = config.ParseBaseURL(*baseURL); err != nil {
			return &config.Error{Var: "--base-url", Problem: err.Error()}
		}
	}
	if *logLevel != "" {
		if err := cfg.SetLogLevel(*logLevel); err != nil {
			return &config.Error{Var: "--log-level", Problem: err.Error()}
		}
	}
	if err := cfg.ValidateServe(); err != nil {
		return err
	}
	log := m.logger(cfg)

	protector, err := pii.New(cfg.DataKey)
	if err != nil {
		return &config.Error{Var: "ERHVERV_DATA_KEY", Problem: err.Error()}
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, protector, postgres.Options{MaxConns: cfg.DBMaxConns})
	if err != nil {
		return err
	}
	defer db.Close()
	migrator, err := postgres.NewMigrator(db.SQL())
	if err != nil {
		return err
	}
	if cfg.MigrateOnStart {
		applied, err := migrator.Up(ctx)
		if err != nil {
			return err
		}
		log.Info("migrations applied", "count", len(applied), "version", migrator.Latest())
	}
	// The policies are compiled once here: a broken policy stops start-up
	// instead of failing every request.
	engine, err := authz.New(ctx, authz.Options{ExtraDir: cfg.PolicyDir})
	if err != nil {
		return fmt.Errorf("load policies: %w", err)
	}

	popts, err := portalOptions(cfg, log, db, protector)
	if err != nil {
		return err
	}
	popts.Authz = engine
	policy, err := rights.NewPolicy(ctx, authz.Options{ExtraDir: cfg.PolicyDir})
	if err != nil {
		return fmt.Errorf("load rights policy: %w", err)
	}
	popts.Runtime = rights.NewService(policy, postgres.NewRightsStore(db))
	// Every replica caches identities' grants; the database's triggers tell
	// all of them of each change (LISTEN/NOTIFY), so a removal holds at once.
	go func() {
		if err := popts.Runtime.Listen(ctx, db.Pool()); err != nil && ctx.Err() == nil {
			log.Error("rights cache listener stopped", "error", err.Error())
		}
	}()
	defer popts.Sessions.Close()
	p, err := portal.New(popts)
	if err != nil {
		return err
	}
	integrators, err := api.New(ctx, api.Options{
		Logger: log, BaseURL: cfg.BaseURL, DB: db, PolicyDir: cfg.PolicyDir,
		Clients: popts.APIClients, Keys: postgres.NewSigningKeys(db), Idempotency: postgres.NewIdempotency(db),
		Admin: popts.Administration, Users: popts.Users, Groups: popts.Groups, Roles: popts.Roles, Rights: popts.Rights,
		Orgs: popts.Orgs, Audit: popts.Audit, Runtime: popts.Runtime,
		Feed: postgres.NewChangeFeed(db), Webhooks: popts.Webhooks,
	})
	if err != nil {
		return fmt.Errorf("start the integrator API: %w", err)
	}
	// The OpenID Provider for service providers shares the API's issuer,
	// token endpoint and signing keys.
	oidcProvider, err := provider.New(provider.Options{
		BaseURL: cfg.BaseURL, Logger: log, Clients: popts.OIDCClients, Grants: postgres.NewOIDCGrants(db),
		Rights: popts.Runtime, Sessions: popts.Sessions, Broker: brokerOf(popts), Keys: integrators,
		Audit: popts.Audit, DataKey: cfg.DataKey,
	})
	if err != nil {
		return fmt.Errorf("start the OpenID Provider: %w", err)
	}
	integrators.SetCodeGrant(oidcProvider.TokenHandler())
	apiCtx, stopAPI := context.WithCancel(ctx)
	defer stopAPI()
	go integrators.Run(apiCtx)
	go oidcProvider.Run(apiCtx)
	var sender mail.Sender
	if cfg.SMTP.Addr != "" {
		smtp, err := mail.NewSMTPSender(mail.SMTPConfig{Addr: cfg.SMTP.Addr, Username: cfg.SMTP.Username,
			Password: cfg.SMTP.Password, From: cfg.SMTP.From, TLS: cfg.SMTP.TLS})
		if err != nil {
			return &config.Error{Var: "ERHVERV_SMTP_ADDR", Problem: err.Error()}
		}
		sender = smtp
	} else {
		log.Warn("ERHVERV_SMTP_ADDR is not set: emails wait in the queue for a process that can send them")
	}
	// The worker's queue is in the schema: with a schema behind the binary it
	// stays off, and /readyz says why.
	if cur, err := postgres.SchemaVersion(ctx, db.SQL()); err != nil || cur != migrator.Latest() {
		log.Warn("the database schema is not current: the background worker (mail, webhooks, expiry) is not started; run erhverv migrate up")
	} else {
		worker, err := jobs.StartWorker(ctx, db.Pool(), protector, sender, log,
			jobs.WithRequestExpiry(popts.Administration),
			jobs.WithWebhooks(popts.Webhooks, jobs.WebhookConfig{AllowPrivateNetworks: cfg.Webhooks.AllowPrivateNetworks}))
		if err != nil {
			return fmt.Errorf("start the background worker: %w", err)
		}
		defer func() {
			stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
			defer cancel()
			worker.Stop(stopCtx)
		}()
	}

	ln := m.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return fmt.Errorf("listen on %s (ERHVERV_ADDR): %w", cfg.Addr, err)
		}
	}
	var formOrigins []string
	if u, err := url.Parse(cfg.Broker.Issuer); err == nil && cfg.Broker.Issuer != "" {
		formOrigins = append(formOrigins, u.Scheme+"://"+u.Host)
	}
	srv := server.New(server.Options{
		Logger:            log,
		Version:           version,
		FormActionOrigins: formOrigins,
		Ready: map[string]server.ReadyCheck{
			"database": db.Ping,
			"api_keys": integrators.Ready,
			"schema": func(ctx context.Context) error {
				cur, err := postgres.SchemaVersion(ctx, db.SQL())
				if err != nil {
					return err
				}
				if cur != migrator.Latest() {
					return fmt.Errorf("schema version %d, want %d: run erhverv migrate up", cur, migrator.Latest())
				}
				return nil
			},
		},
	}, integrators.Mount, oidcProvider.Mount, p.Mount)
	log.Info("serving", "addr", ln.Addr().String(), "base_url", cfg.BaseURL.String(), "version", version,
		"login", cfg.Broker.Issuer != "", "mail", cfg.SMTP.Addr != "", "cvr_register", cfg.CVRRegisterFile != "")
	return srv.Serve(ctx, ln, cfg.ShutdownTimeout)
}

// portalOptions wires the portal's adapters: sessions, the broker, the CVR
// register and the services behind the pages.
func portalOptions(cfg *config.Config, log *slog.Logger, db *postgres.DB, protector *pii.Protector) (portal.Options, error) {
	notifier, err := jobs.NewNotifier(protector)
	if err != nil {
		return portal.Options{}, err
	}
	base := cfg.BaseURL.String()
	opts := portal.Options{
		Logger: log, SecureCookies: cfg.SecureCookies(), BaseURL: cfg.BaseURL,
		Sessions: login.NewSessions(db.Pool(), login.SessionOptions{
			IdleTimeout: cfg.Session.IdleTimeout, Lifetime: cfg.Session.Lifetime, Secure: cfg.SecureCookies()}),
		PII:   protector,
		Orgs:  postgres.NewOrganisationService(db),
		Users: postgres.NewUserService(db),
		Roles: postgres.NewAdminRoleService(db),
		Onboarding: postgres.NewOnboarding(db, notifier, func(secret string) string {
			return portal.ActivationLink(base, secret)
		}),
		Audit:  postgres.NewAuditLog(db),
		Levels: map[portal.Purpose]login.Level{},
	}
	opts.Administration = postgres.NewAdministration(db, opts.Onboarding, base+portal.OverviewPath)
	opts.Groups = postgres.NewGroupService(db)
	opts.Rights = postgres.NewRightsService(db)
	opts.PoA = postgres.NewPoAService(db, notifier)
	opts.APIClients = postgres.NewAPIClients(db)
	opts.Webhooks = postgres.NewWebhooks(db)
	opts.OIDCClients = postgres.NewOIDCClients(db)
	opts.Webhooks.AllowHTTP = cfg.Webhooks.AllowHTTP
	for purpose, name := range map[portal.Purpose]string{
		portal.PurposeAdmin: cfg.Broker.MinLevelAdmin, portal.PurposeConnect: cfg.Broker.MinLevelConnect,
		portal.PurposeActivate: cfg.Broker.MinLevelActivate,
	} {
		l, err := login.ParseLevelName(name)
		if err != nil {
			return portal.Options{}, err // ValidateServe has checked; kept for safety
		}
		opts.Levels[purpose] = l
	}
	if cfg.Broker.Issuer != "" {
		profile, err := login.ProfileByName(cfg.Broker.Profile)
		if err != nil {
			return portal.Options{}, &config.Error{Var: "ERHVERV_BROKER_PROFILE", Problem: err.Error()}
		}
		opts.Broker = login.NewRelyingParty(login.BrokerConfig{
			Issuer: cfg.Broker.Issuer, ClientID: cfg.Broker.ClientID, ClientSecret: cfg.Broker.ClientSecret,
			RedirectURL: base + portal.CallbackPath, Profile: profile,
		})
	} else {
		log.Warn("ERHVERV_BROKER_ISSUER is not set: nobody can log in")
	}
	if cfg.CVRRegisterFile != "" {
		reg, err := cvr.OpenFile(cfg.CVRRegisterFile)
		if err != nil {
			return portal.Options{}, &config.Error{Var: "ERHVERV_CVR_REGISTER_FILE", Problem: err.Error()}
		}
		opts.Register = reg
	}
	return opts, nil
}

func (m *Main) openDB(ctx context.Context, needKey bool) (*postgres.DB, error) {
	cfg, err := m.load()
	if err != nil {
		return nil, err
	}
	if err := cfg.ValidateDatabase(); err != nil {
		return nil, err
	}
	var protector *pii.Protector
	if needKey {
		if err := cfg.ValidateDataKey(); err != nil {
			return nil, err
		}
		if protector, err = pii.New(cfg.DataKey); err != nil {
			return nil, &config.Error{Var: "ERHVERV_DATA_KEY", Problem: err.Error()}
		}
	}
	return postgres.Open(ctx, cfg.DatabaseURL, protector, postgres.Options{MaxConns: 4})
}

func (m *Main) migrate(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageError("migrate needs up, down or status")
	}
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by exitCode
	to := fs.String("to", "", "with down: the version to roll back to (0 = empty database); default one step")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError("migrate: " + err.Error())
	}
	db, err := m.openDB(ctx, false)
	if err != nil {
		return err
	}
	defer db.Close()
	mg, err := postgres.NewMigrator(db.SQL())
	if err != nil {
		return err
	}
	switch args[0] {
	case "up":
		applied, err := mg.Up(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "applied %d migration(s); schema version %d\n", len(applied), mg.Latest())
	case "down":
		cur, err := mg.Current(ctx)
		if err != nil {
			return err
		}
		target := cur - 1
		if *to != "" {
			if target, err = strconv.ParseInt(*to, 10, 64); err != nil || target < 0 {
				return usageError("--to must be a version number, 0 or more")
			}
		}
		if target < 0 {
			fmt.Fprintln(m.Stdout, "nothing to roll back; schema version 0")
			return nil
		}
		rolled, err := mg.Down(ctx, target)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "rolled back %d migration(s); schema version %d\n", len(rolled), target)
	case "status":
		st, err := mg.Status(ctx)
		if err != nil {
			return err
		}
		for _, s := range st {
			state := "pending"
			if s.Applied {
				state = "applied"
			}
			fmt.Fprintf(m.Stdout, "%05d  %-8s %s\n", s.Version, state, s.Name)
		}
	default:
		return usageError(fmt.Sprintf("unknown migrate command %q; use up, down or status", args[0]))
	}
	return nil
}

func (m *Main) seed(ctx context.Context, args []string) error {
	if len(args) != 1 || args[0] != "demo" {
		return usageError("seed takes one argument: demo")
	}
	db, err := m.openDB(ctx, true)
	if err != nil {
		return err
	}
	defer db.Close()
	// The demo people are linked to the configured broker, so the same
	// seed works with the simulator on any address.
	cfg, err := m.load()
	if err != nil {
		return err
	}
	report, err := seed.Demo(ctx, db, cfg.Broker.Issuer)
	if err != nil {
		return fmt.Errorf("seed demo: %w", err)
	}
	fmt.Fprint(m.Stdout, report)
	// The demo service (cmd/demo-sp) logs in with a client of its own.
	spURL := m.Getenv("ERHVERV_DEMO_SP_URL")
	if spURL == "" {
		spURL = "http://127.0.0.1:8070"
	}
	clientID, err := seed.DemoServiceClient(ctx, db, spURL)
	if err != nil {
		return fmt.Errorf("seed demo: %w", err)
	}
	fmt.Fprintf(m.Stdout, "\nDemo service at %s: OIDC client %s, secret %s (development only)\n", spURL, clientID, seed.DemoServiceSecret)
	return nil
}

// healthcheck asks the local server's /healthz, so a container image without
// a shell or curl can still have a HEALTHCHECK.
func (m *Main) healthcheck(ctx context.Context) error {
	cfg, err := m.load()
	if err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return &config.Error{Var: "ERHVERV_ADDR", Problem: "must be host:port"}
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /healthz answered %d", resp.StatusCode)
	}
	fmt.Fprintln(m.Stdout, "ok")
	return nil
}

// brokerOf is the portal's broker as the provider's, nil when login is not
// configured (an untyped nil, so the provider sees none).
func brokerOf(o portal.Options) provider.Broker {
	if o.Broker == nil {
		return nil
	}
	return o.Broker
}
