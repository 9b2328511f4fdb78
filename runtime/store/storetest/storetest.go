// Package storetest provides a PostgreSQL database for store tests.
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

var counter atomic.Int64

// Postgres creates a uniquely named database on 127.0.0.1:5432 and
// returns its DSN, dropping it at cleanup. It returns "" (after t.Skip
// unless CI is set, where it fails) when PostgreSQL does not answer.
func Postgres(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("MANDATE_TEST_PG")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	db, err := sql.Open("pgx", admin)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("postgres on 127.0.0.1:5432: %v", err)
		}
		t.Logf("skipping postgres: %v", err)
		return ""
	}
	name := fmt.Sprintf("mandate_rec_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9+counter.Add(1))
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("creating database: %v", err)
	}
	t.Cleanup(func() {
		db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		db.Close()
	})
	return fmt.Sprintf("postgres://postgres@127.0.0.1:5432/%s?sslmode=disable", name)
}
