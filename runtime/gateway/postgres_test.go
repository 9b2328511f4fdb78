package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mandatehq/mandate/runtime/api"
	"github.com/mandatehq/mandate/runtime/gateway"
	gt "github.com/mandatehq/mandate/runtime/gateway/gatewaytest"
)

// pgGateway starts a gateway with a postgres listener in front of a fresh
// table and returns it with a DSN template for agent a and the table name.
func pgGateway(t *testing.T) (g *gateway.Gateway, dsn, table string, bundlePath string, s *gt.Signer, is *oidcIssuer) {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no PostgreSQL on 127.0.0.1:5432: %v", err)
		}
		t.Skipf("no PostgreSQL on 127.0.0.1:5432: %v", err)
	}
	table = fmt.Sprintf("gw_orders_%d", time.Now().UnixNano())
	if _, err := admin.Exec(ctx, "create table public."+table+" (id int); insert into public."+table+" values (1)"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec(context.Background(), "drop table if exists public."+table)
		admin.Close(context.Background())
	})
	dir := t.TempDir()
	is = newIssuer(t)
	s = gt.NewSigner(t)
	s.WritePublic(t, dir, "keys/bundle.pub")
	bundlePath = filepath.Join(dir, "bundle.tar.gz")
	writeAtomic(t, bundlePath, s.Bundle(t, gt.PolicyFor(is.srv.URL, "a", "b"), gt.Rev(1), gt.Time(1)))
	cfg := writeConfig(t, dir, hcl(`
listen {
  api           = "127.0.0.1:0"
  api_plaintext = true
  postgres      = "127.0.0.1:0"
}
api { open_dry_run = true }
bundle {
  source           = "file://bundle.tar.gz"
  verification_key = "keys/bundle.pub"
  poll             = "1h"
}
issuer "test" {
  url      = "%s"
  audience = "mandate"
}
`, is.srv.URL))
	g = start(t, cfg, is.srv.Client())
	base := baseURL(g)
	eventually(t, "ready", func() bool { code, _ := get(t, base+"/readyz"); return code == 200 })
	b, _ := json.Marshal(api.TokenRequest{Token: is.token(t, "agent:a", "mandate", 10*time.Minute)})
	resp, err := http.Post(base+"/v1/token", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var tr api.TokenResponse
	json.NewDecoder(resp.Body).Decode(&tr)
	resp.Body.Close()
	if tr.Token == "" {
		t.Fatalf("no session token (status %d)", resp.StatusCode)
	}
	return g, fmt.Sprintf("postgres://a:%s@%s/app?sslmode=require", tr.Token, g.PostgresAddr()), table, bundlePath, s, is
}

// TestShutdownDrains: Shutdown waits for an open session to end; past its
// deadline it closes the session.
func TestShutdownDrains(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		deadline bool
	}{{"client ends its session", false}, {"deadline closes the session", true}} {
		t.Run(tc.name, func(t *testing.T) {
			g, dsn, table, _, _, _ := pgGateway(t)
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			sctx, cancel := context.WithCancel(ctx)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- g.Shutdown(sctx) }()
			eventually(t, "the listener to close", func() bool {
				c, err := net.DialTimeout("tcp", g.PostgresAddr().String(), time.Second)
				if err == nil {
					c.Close()
				}
				return err != nil
			})
			var id int
			if err := conn.QueryRow(ctx, "select id from "+table).Scan(&id); err != nil {
				t.Fatalf("the open session stopped working while draining: %v", err)
			}
			select {
			case <-done:
				t.Fatal("Shutdown returned while a session was open")
			default:
			}
			if tc.deadline {
				cancel()
				<-done
				if err := conn.QueryRow(ctx, "select id from "+table).Scan(&id); err == nil {
					t.Fatal("session still works after the shutdown deadline")
				}
				return
			}
			conn.Close(ctx)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestPostgresRevocationOnOpenConnection connects an agent through the
// gateway to the real PostgreSQL with a session token, then activates a
// bundle that revokes the agent: the next statement on the same, already
// open connection is denied.
func TestPostgresRevocationOnOpenConnection(t *testing.T) {
	ctx := context.Background()
	g, dsn, table, bundlePath, s, is := pgGateway(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connecting through the gateway: %v", err)
	}
	defer conn.Close(ctx)
	var id int
	if err := conn.QueryRow(ctx, "select id from "+table).Scan(&id); err != nil || id != 1 {
		t.Fatalf("allowed select: id %d, %v", id, err)
	}
	if m := metric(t, g, `mandate_sessions_active{protocol="postgres"}`); m != "1" {
		t.Errorf("sessions gauge = %q, want 1", m)
	}

	writeAtomic(t, bundlePath, s.Bundle(t, gt.PolicyFor(is.srv.URL, "b"), gt.Rev(2), gt.Time(2)))
	eventually(t, "revision 2", func() bool { return revision(t, g) == gt.Rev(2) })
	err = conn.QueryRow(ctx, "select id from "+table).Scan(&id)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42501" || !strings.Contains(pe.Message, `"a"`) {
		t.Fatalf("select after revocation on the open connection: %v, want SQLSTATE 42501 naming agent a", err)
	}
	// Both statements and their decisions reached the record (durability
	// sync: committed before the statement ran).
	if m := metric(t, g, "mandate_recorder_events_written_total"); m == "" || m == "0" {
		t.Errorf("recorder events written = %q, want some", m)
	}
}

// TestPostgresSessionEndsWithItsToken: a session opened with a token that
// expires ends then, even while it is open and idle.
func TestPostgresSessionEndsWithItsToken(t *testing.T) {
	g, _, table, _, _, is := pgGateway(t)
	ctx := context.Background()
	tok := is.token(t, "agent:a", "mandate", 2*time.Second)
	c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://a:%s@%s/app?sslmode=require", tok, g.PostgresAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var id int
	if err := c.QueryRow(ctx, "SELECT id FROM public."+table).Scan(&id); err != nil {
		t.Fatalf("before the token expires: %v", err)
	}
	time.Sleep(3500 * time.Millisecond)
	err = c.QueryRow(ctx, "SELECT id FROM public."+table).Scan(&id)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "08006" || pe.Severity != "FATAL" || !strings.Contains(pe.Message, "expired") {
		t.Fatalf("after the token expired: %v, want FATAL 08006 saying the session expired", err)
	}
}
