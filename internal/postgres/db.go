// Package postgres stores erhverv's state in PostgreSQL: the migrations run
// through goose, repositories implement the domain's service interfaces with
// gorm as the query tool (never the schema owner), and constraint violations
// become domain errors in one place (errors.go). gorm row structs stay inside
// this package; callers see only domain types.
package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	gormpg "gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/erhverv/erhverv/internal/pii"
)

// DB is the connection to the database shared by every repository.
type DB struct {
	gorm *gorm.DB
	sql  *sql.DB
	pool *pgxpool.Pool
	pii  *pii.Protector
	// Now is the clock; tests replace it to check validity windows.
	Now func() time.Time
}

// Options tune the connection pool.
type Options struct {
	MaxConns int32
}

// Open connects to url, checks the connection and returns the DB. protector
// seals CPR numbers; it may be nil for commands that never touch them.
func Open(ctx context.Context, url string, protector *pii.Protector, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	g, err := gorm.Open(gormpg.New(gormpg.Config{Conn: sqlDB}), &gorm.Config{
		Logger:                 logger.Discard, // queries carry personal data; never log them
		SkipDefaultTransaction: true,           // every service method opens its own
		TranslateError:         false,          // errors.go maps pg errors itself
		NowFunc:                func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("gorm: %w", err)
	}
	return &DB{gorm: g, sql: sqlDB, pool: pool, pii: protector, Now: time.Now}, nil
}

// Close closes every connection.
func (db *DB) Close() error {
	err := db.sql.Close()
	db.pool.Close()
	return err
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.pool.Ping(ctx) }

// SQL returns the database/sql handle (for migrations).
func (db *DB) SQL() *sql.DB { return db.sql }

// Pool returns the pgx pool (for LISTEN/NOTIFY and libraries that want pgx).
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// tx runs fn in one transaction: committed when fn returns nil, rolled back
// otherwise (and on panic, by gorm).
func (db *DB) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return db.gorm.WithContext(ctx).Transaction(fn)
}
