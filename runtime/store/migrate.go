package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrations embed.FS

// migrationLock is the PostgreSQL advisory lock key that serialises
// migrations of replicas starting together.
const migrationLock = 0x6d616e64617465 // "mandate"

// usageMigration creates usage_rows; applying it also writes the usage
// rows of the events already recorded.
const usageMigration = 2

// migrate applies, in order, every migrations/<dialect>/NNNN_name.sql file
// whose version is above the highest recorded in schema_migrations, each in
// its own transaction.
func (s *sqlStore) migrate(ctx context.Context) error {
	dir := "migrations/" + s.dialect.name
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return fmt.Errorf("reading migrations: %w", err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_ns BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	for _, e := range entries {
		v, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("reading migration %s: bad version prefix", e.Name())
		}
		body, err := migrations.ReadFile(dir + "/" + e.Name())
		if err != nil {
			return fmt.Errorf("reading migration %s: %w", e.Name(), err)
		}
		if err := s.applyMigration(ctx, v, string(body)); err != nil {
			return fmt.Errorf("applying migration %s: %w", e.Name(), err)
		}
	}
	return nil
}

func (s *sqlStore) applyMigration(ctx context.Context, version int, body string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if s.dialect.postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
			return err
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT count(*) FROM schema_migrations WHERE version = ?`), version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	for _, stmt := range splitMigration(body) {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	if version == usageMigration {
		if err := s.backfillUsage(ctx, tx); err != nil {
			return fmt.Errorf("backfilling usage rows: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, applied_ns) VALUES (?, ?)`), version, time.Now().UnixNano()); err != nil {
		return err
	}
	return tx.Commit()
}

// statementBreak separates the statements of a migration that holds
// semicolons inside a statement (a trigger body); without it, statements
// are separated by semicolons.
const statementBreak = "\n-- statement-break\n"

func splitMigration(body string) []string {
	if strings.Contains(body, statementBreak) {
		return strings.Split(body, statementBreak)
	}
	return strings.Split(body, ";")
}
