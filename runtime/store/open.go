package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"
)

// DefaultFile is the SQLite file name in the gateway's state directory.
const DefaultFile = "mandate.db"

// Config says where the record is kept. It is the `store` block of the
// gateway configuration.
type Config struct {
	// Path is the SQLite database file. Default: <state_dir>/mandate.db.
	Path string
	// Postgres is a PostgreSQL connection string (URL or key=value); when
	// set, Path is ignored and the record is shared by every gateway that
	// uses the same database. Default: empty (SQLite).
	Postgres string
	// Sync makes SQLite fsync every commit (synchronous=FULL), which the
	// recorder's durability = "sync" needs; otherwise synchronous=NORMAL.
	// PostgreSQL commits are always durable. Default: false.
	Sync bool
}

// CheckAndSetDefaults fills Path from stateDir and rejects an empty config.
func (c *Config) CheckAndSetDefaults(stateDir string) error {
	if c.Postgres != "" {
		return nil
	}
	if c.Path == "" {
		if stateDir == "" {
			return errors.New("store: path is empty and there is no state directory")
		}
		c.Path = filepath.Join(stateDir, DefaultFile)
	}
	return nil
}

// IsPostgres reports whether target is a PostgreSQL connection string rather
// than a file path.
func IsPostgres(target string) bool {
	return strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://") ||
		strings.Contains(target, "host=") || strings.Contains(target, "dbname=")
}

// OpenTarget opens a SQLite file or a PostgreSQL DSN, as the CLI's --store
// flag names it. An SQLite file must already exist.
func OpenTarget(ctx context.Context, target string) (Store, error) {
	if IsPostgres(target) {
		return Open(ctx, Config{Postgres: target})
	}
	if _, err := os.Stat(target); err != nil {
		return nil, fmt.Errorf("opening record %s: %w", target, err)
	}
	return Open(ctx, Config{Path: target})
}

// Open opens the store and applies pending migrations.
func Open(ctx context.Context, c Config) (Store, error) {
	if c.Postgres != "" {
		return openPostgres(ctx, c.Postgres)
	}
	if c.Path == "" {
		return nil, errors.New("opening record: no path")
	}
	return openSQLite(ctx, c.Path, c.Sync)
}

func openSQLite(ctx context.Context, path string, sync bool) (Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating directory for %s: %w", path, err)
	}
	syncMode := "NORMAL"
	if sync {
		syncMode = "FULL"
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "cache_size(-8192)")
	q.Add("_pragma", "wal_autocheckpoint(10000)")
	// Statement journals (each multi-row INSERT keeps one) stay in memory.
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", "synchronous("+syncMode+")")
	q.Add("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening record %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	s := &sqlStore{db: db, dialect: dialectSQLite}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening record %s: %w", path, err)
	}
	return s, nil
}

func openPostgres(ctx context.Context, dsn string) (Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("opening postgres record: %w", err)
	}
	db.SetMaxOpenConns(8)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connecting to postgres record: %w", err)
	}
	s := &sqlStore{db: db, dialect: dialectPostgres}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening postgres record: %w", err)
	}
	return s, nil
}
