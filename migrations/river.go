package migrations

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"
)

// RiverSchemaVersion is the version of River's own schema (its river_job,
// river_queue, ... tables) that migration 6 brings the database to: the
// newest one River v0.51.2 ships. It is pinned rather than "latest" so that
// upgrading River never changes the schema behind our back; when a River
// release adds a schema version, a new numbered Go migration raises it
// explicitly (and TestRiverSchemaVersionIsLatest says so).
const RiverSchemaVersion = 8

// GoMigrations are the migrations written in Go rather than SQL, to be
// registered with goose beside FS. Each call returns fresh values, since
// goose keeps state in them.
func GoMigrations() []*goose.Migration {
	return []*goose.Migration{
		// River runs each of its schema versions in a transaction of its own
		// (some cannot share one: a new enum value must be committed before a
		// later version uses it), so this migration runs outside goose's
		// transaction. A run cut short resumes where it stopped: River
		// records each version it applied in river_migration.
		goose.NewGoMigration(6,
			&goose.GoFunc{RunDB: riverUp(RiverSchemaVersion)},
			&goose.GoFunc{RunDB: riverDown(-1)}, // -1: remove River's schema entirely
		),
	}
}

// riverUp migrates River's schema up to and including version target.
func riverUp(target int) func(context.Context, *sql.DB) error {
	return func(ctx context.Context, db *sql.DB) error {
		m, err := riverMigrator(db)
		if err != nil {
			return err
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{TargetVersion: target}); err != nil {
			return fmt.Errorf("river schema up to version %d: %w", target, err)
		}
		return nil
	}
}

// riverDown migrates River's schema down to version target (excluded), or
// removes it when target is -1.
func riverDown(target int) func(context.Context, *sql.DB) error {
	return func(ctx context.Context, db *sql.DB) error {
		m, err := riverMigrator(db)
		if err != nil {
			return err
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionDown, &rivermigrate.MigrateOpts{TargetVersion: target}); err != nil {
			return fmt.Errorf("river schema down to version %d: %w", target, err)
		}
		return nil
	}
}

func riverMigrator(db *sql.DB) (*rivermigrate.Migrator[*sql.Tx], error) {
	// goose reports what it applied; River's own per-version log lines would
	// only repeat it.
	m, err := rivermigrate.New(riverdatabasesql.New(db), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, fmt.Errorf("river migrator: %w", err)
	}
	return m, nil
}
