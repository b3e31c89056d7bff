// Package dbtest gives each test a fresh, migrated PostgreSQL database. The
// migrations run once into a template database (named after a hash of the
// migrations, so a changed schema gets a new template); each test then gets
// a cheap copy with CREATE DATABASE ... TEMPLATE, which keeps tests isolated
// and lets them run in parallel. A PostgreSQL that cannot be reached fails
// the test: a database test never silently skips.
package dbtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/erhverv/erhverv/internal/pii"
	"github.com/erhverv/erhverv/internal/postgres"
	"github.com/erhverv/erhverv/migrations"
)

// DefaultAdminURL is used when ERHVERV_TEST_DATABASE_URL is unset.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// DataKey is the fixed data key of test databases (never used elsewhere).
var DataKey = bytes.Repeat([]byte{0x42}, pii.KeySize)

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// AdminURL is the URL of a database on the test server from which databases
// can be created.
func AdminURL() string {
	if u := os.Getenv("ERHVERV_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultAdminURL
}

// NewURL creates a fresh migrated database and returns its URL; it is
// dropped when the test ends.
func NewURL(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(ctx) })
	if templateErr != nil {
		t.Fatalf("test database template: %v (is PostgreSQL running? set ERHVERV_TEST_DATABASE_URL)", templateErr)
	}
	name := "erhverv_t_" + randomHex(8)
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		t.Fatalf("connect to test PostgreSQL at %s: %v", redact(AdminURL()), err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, templateName)); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), AdminURL())
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return withDatabase(AdminURL(), name)
}

// New returns an open connection to a fresh migrated database, closed when
// the test ends.
func New(t testing.TB) *postgres.DB {
	t.Helper()
	protector, err := pii.New(DataKey)
	if err != nil {
		t.Fatal(err)
	}
	db, err := postgres.Open(context.Background(), NewURL(t), protector, postgres.Options{MaxConns: 8})
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// ensureTemplate creates the template database once per schema. An advisory
// lock on the server keeps test binaries running side by side from building
// it twice.
func ensureTemplate(ctx context.Context) (string, error) {
	sum, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "erhverv_tmpl_" + sum[:16]
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", redact(AdminURL()), err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock(7262839)"); err != nil {
		return "", err
	}
	defer admin.Exec(context.Background(), "SELECT pg_advisory_unlock(7262839)") //nolint:errcheck // released with the connection anyway
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_building"
	if _, err := admin.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", building)); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s", building)); err != nil {
		return "", err
	}
	db, err := postgres.Open(ctx, withDatabase(AdminURL(), building), nil, postgres.Options{MaxConns: 2})
	if err != nil {
		return "", err
	}
	m, err := postgres.NewMigrator(db.SQL())
	if err == nil {
		_, err = m.Up(ctx)
	}
	_ = db.Close()
	if err != nil {
		return "", fmt.Errorf("migrate template: %w", err)
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", building, name)); err != nil {
		return "", err
	}
	return name, nil
}

func migrationsHash() (string, error) {
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, err := fs.ReadFile(migrations.FS, n)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(b))
		h.Write(b)
	}
	// Go migrations have no file to hash: their versions and the River
	// schema version they pin stand in for them.
	for _, m := range migrations.GoMigrations() {
		fmt.Fprintf(h, "go\x00%d\x00", m.Version)
	}
	fmt.Fprintf(h, "river\x00%d\x00", migrations.RiverSchemaVersion)
	return hex.EncodeToString(h.Sum(nil)), nil
}

func withDatabase(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + name
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return fmt.Sprintf("%x", time.Now().UnixNano())
	}
	return hex.EncodeToString(b)
}
