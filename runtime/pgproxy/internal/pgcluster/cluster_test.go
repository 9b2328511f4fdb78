package pgcluster

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestStart(t *testing.T) {
	c := Start(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tests := []struct {
		name    string
		connStr string
		wantErr string // substring; "" means success
	}{
		{"scram over verify-full", c.ConnString("verify-full"), ""},
		{"scram-sha-256-plus", c.ConnString("verify-full") + " channel_binding=require", ""},
		{"wrong password", strings.Replace(c.ConnString("verify-full"), "password='pw-", "password='nope-", 1), "28P01"},
		{"plaintext rejected by pg_hba", c.ConnString("disable"), "28000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := pgx.Connect(ctx, tt.connStr)
			if tt.wantErr != "" {
				var pe *pgconn.PgError
				if !errors.As(err, &pe) || pe.Code != tt.wantErr {
					t.Fatalf("err = %v, want SQLSTATE %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			var ssl bool
			var enc string
			if err := conn.QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil || !ssl {
				t.Fatalf("ssl = %v, %v", ssl, err)
			}
			if err := conn.QueryRow(ctx, "SELECT left(rolpassword, 13) FROM pg_authid WHERE rolname = current_user").Scan(&enc); err != nil || enc != "SCRAM-SHA-256" {
				t.Fatalf("stored password = %q, %v; want a SCRAM verifier", enc, err)
			}
		})
	}
}
