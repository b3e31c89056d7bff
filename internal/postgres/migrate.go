package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/erhverv/erhverv/migrations"
)

// Migrator runs the embedded goose migrations: the SQL files and the Go
// migrations (River's job tables). A session lock (a PostgreSQL advisory
// lock) keeps replicas that start together from migrating at once.
type Migrator struct {
	provider *goose.Provider
	latest   int64
}

// NewMigrator prepares the migrations of the migrations package.
func NewMigrator(db *sql.DB) (*Migrator, error) {
	return newMigrator(db, migrations.FS)
}

func newMigrator(db *sql.DB, fsys fs.FS) (*Migrator, error) {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithSessionLocker(locker),
		goose.WithGoMigrations(migrations.GoMigrations()...), // River's schema
	)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	srcs := p.ListSources()
	var latest int64
	if len(srcs) > 0 {
		latest = srcs[len(srcs)-1].Version
	}
	return &Migrator{provider: p, latest: latest}, nil
}

// ErrSchemaNewer is returned when the database was migrated by a newer
// version of erhverv than this one.
var ErrSchemaNewer = errors.New("database schema is newer than this binary")

// Latest is the version of the newest embedded migration.
func (m *Migrator) Latest() int64 { return m.latest }

// Current is the database's schema version (0 for an empty database).
func (m *Migrator) Current(ctx context.Context) (int64, error) {
	return m.provider.GetDBVersion(ctx)
}

// SchemaVersion reads the applied version straight from goose's table,
// without the migration lock Current takes: readiness probes call it, and
// they must not wait for (or fail during) another replica's migration.
func SchemaVersion(ctx context.Context, db *sql.DB) (int64, error) {
	var v int64
	err := db.QueryRowContext(ctx, "SELECT COALESCE(max(version_id), 0) FROM goose_db_version WHERE is_applied").Scan(&v)
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "42P01" { // undefined_table: never migrated
		return 0, nil
	}
	return v, err
}

// Up applies every pending migration and returns the versions applied. It
// refuses a database whose schema is newer than this binary knows.
func (m *Migrator) Up(ctx context.Context) ([]int64, error) {
	cur, err := m.Current(ctx)
	if err != nil {
		return nil, fmt.Errorf("read schema version: %w", err)
	}
	if cur > m.latest {
		return nil, fmt.Errorf("%w: database is at version %d, this binary knows up to %d; upgrade erhverv instead", ErrSchemaNewer, cur, m.latest)
	}
	res, err := m.provider.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate up: %w", err)
	}
	return versions(res), nil
}

// Down rolls back migrations down to (not including) version, newest first.
func (m *Migrator) Down(ctx context.Context, version int64) ([]int64, error) {
	cur, err := m.Current(ctx)
	if err != nil {
		return nil, fmt.Errorf("read schema version: %w", err)
	}
	if cur > m.latest {
		return nil, fmt.Errorf("%w: database is at version %d, this binary knows up to %d", ErrSchemaNewer, cur, m.latest)
	}
	res, err := m.provider.DownTo(ctx, version)
	if err != nil {
		return nil, fmt.Errorf("migrate down: %w", err)
	}
	return versions(res), nil
}

// MigrationState is one migration's status.
type MigrationState struct {
	Version int64
	Name    string
	Applied bool
}

// Status lists every embedded migration and whether it is applied.
func (m *Migrator) Status(ctx context.Context) ([]MigrationState, error) {
	st, err := m.provider.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]MigrationState, 0, len(st))
	for _, s := range st {
		name := s.Source.Path
		if s.Source.Type == goose.TypeGo && name == "" {
			name = "(Go migration, see migrations/river.go)"
		}
		out = append(out, MigrationState{Version: s.Source.Version, Name: name, Applied: s.State == goose.StateApplied})
	}
	return out, nil
}

func versions(res []*goose.MigrationResult) []int64 {
	v := make([]int64, 0, len(res))
	for _, r := range res {
		v = append(v, r.Source.Version)
	}
	return v
}
