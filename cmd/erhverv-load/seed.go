package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5"

	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/internal/seed"
)

// credentials is the file seed writes and run reads: the client and the
// plan the data set was seeded with, so run asks about the same users.
type credentials struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	Users        int    `json:"users"`
	Assignments  int    `json:"assignments"`
	Groups       int    `json:"groups"`
}

func (m *Main) seed(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	dbURL := fs.String("database-url", m.Getenv("DATABASE_URL"), "PostgreSQL URL of a migrated database (DATABASE_URL)")
	users := fs.Int("users", 50_000, "active users of the customer")
	assignments := fs.Int("assignments", 250_000, "privilege assignments, direct and to groups")
	groups := fs.Int("groups", 50, "user groups of the customer; every user is in two")
	rateLimit := fs.Int("rate-limit", 100_000, "the API client's rate limit, requests per second")
	credsFile := fs.String("credentials", "", "write the client's credentials here (JSON, mode 0600) instead of printing them")
	create := fs.Bool("create-database", false, "create the database first when it does not exist")
	migrate := fs.Bool("migrate", false, "apply pending migrations first")
	if err := parse(fs, args, m.Stdout); err != nil {
		return err
	}
	if *dbURL == "" {
		return usageError("seed: set DATABASE_URL or --database-url")
	}
	if *create {
		if err := createDatabase(ctx, *dbURL); err != nil {
			return err
		}
	}
	db, err := postgres.Open(ctx, *dbURL, nil, postgres.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	if *migrate {
		migrator, err := postgres.NewMigrator(db.SQL())
		if err != nil {
			return err
		}
		if _, err := migrator.Up(ctx); err != nil {
			return err
		}
	}
	sum, err := seed.Load(ctx, db, seed.LoadOptions{Users: *users, Assignments: *assignments, Groups: *groups, RateLimit: *rateLimit})
	if err != nil {
		return err
	}
	if sum.Inserted {
		fmt.Fprintf(m.Stdout, "Seeded in %.1fs:", sum.Took.Seconds())
	} else {
		fmt.Fprintf(m.Stdout, "The data set was in place already; nothing inserted:")
	}
	fmt.Fprintf(m.Stdout, " %d active users, %d groups (%d memberships), %d privileges, %d assignments (%d direct, %d to groups).\n",
		sum.Users, sum.Groups, sum.Memberships, sum.Privileges, sum.Assignments(), sum.DirectAssignments, sum.GroupAssignments)
	c := credentials{ClientID: sum.Client.ID.String(), ClientSecret: sum.Secret,
		Users: sum.Plan.Users, Assignments: sum.Plan.Assignments, Groups: sum.Plan.Groups}
	if *credsFile == "" {
		fmt.Fprintf(m.Stdout, "API client of %s (every scope, %d requests/s):\n  client_id     %s\n  client_secret %s\n",
			seed.LoadProviderCVR, sum.Client.RateLimit, c.ClientID, c.ClientSecret)
		return nil
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(*credsFile, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write credentials: %w", err)
	}
	fmt.Fprintf(m.Stdout, "API client %s of %s (every scope, %d requests/s): credentials in %s\n",
		c.ClientID, seed.LoadProviderCVR, sum.Client.RateLimit, *credsFile)
	return nil
}

// createDatabase creates the database url names unless it exists,
// connected to the same server's postgres database.
func createDatabase(ctx context.Context, url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("parse database url: %w", err)
	}
	name := cfg.Database
	cfg.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// readCredentials reads the file seed wrote.
func readCredentials(path string) (credentials, error) {
	var c credentials
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("read credentials: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("read credentials %s: %w", path, err)
	}
	if c.ClientID == "" || c.ClientSecret == "" {
		return c, fmt.Errorf("read credentials %s: no client_id or client_secret", path)
	}
	return c, nil
}
