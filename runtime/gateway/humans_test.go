package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mandatehq/mandate/review"
	"github.com/mandatehq/mandate/runtime/api"
	"github.com/mandatehq/mandate/runtime/chain"
	gt "github.com/mandatehq/mandate/runtime/gateway/gatewaytest"
)

// TestAuditorAPIEndToEnd: an agent runs statements through the gateway's
// PostgreSQL listener; an auditor (a human whose policy group holds API
// role auditor) reads the sessions and the signed usage over the API, and
// the usage verifies with the gateway's record key. The agent's own tokens
// grant nothing on the API, and dry runs need a human token by default.
func TestAuditorAPIEndToEnd(t *testing.T) {
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no PostgreSQL on 127.0.0.1:5432: %v", err)
		}
		t.Skipf("no PostgreSQL on 127.0.0.1:5432: %v", err)
	}
	table := fmt.Sprintf("gw_audit_%d", time.Now().UnixNano())
	if _, err := admin.Exec(ctx, "create table public."+table+" (id int); insert into public."+table+" values (1)"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec(context.Background(), "drop table if exists public."+table)
		admin.Close(context.Background())
	})

	dir := t.TempDir()
	is := gt.NewIssuer(t)
	s := gt.NewSigner(t)
	s.WritePublic(t, dir, "keys/bundle.pub")
	writeAtomic(t, filepath.Join(dir, "bundle.tar.gz"), s.Bundle(t, gt.Humans(gt.PolicyFor(is.URL(), "a")), gt.Rev(1), gt.Time(1)))
	cfg := writeConfig(t, dir, hcl(`
listen {
  api           = "127.0.0.1:0"
  api_plaintext = true
  postgres      = "127.0.0.1:0"
}
bundle {
  source           = "file://bundle.tar.gz"
  verification_key = "keys/bundle.pub"
  poll             = "1h"
}
issuer "test" {
  url      = "%s"
  audience = "mandate"
}
`, is.URL()))
	g := start(t, cfg, is.Client())
	base := baseURL(g)
	eventually(t, "ready", func() bool { code, _ := get(t, base+"/readyz"); return code == 200 })

	agentTok := is.Token(t, "agent:a", "mandate", 10*time.Minute, nil)
	b, _ := json.Marshal(api.TokenRequest{Token: agentTok})
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
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://a:%s@%s/app?sslmode=require", tr.Token, g.PostgresAddr()))
	if err != nil {
		t.Fatalf("connecting through the gateway: %v", err)
	}
	for i := 0; i < 2; i++ {
		var id int
		if err := conn.QueryRow(ctx, "select id from "+table).Scan(&id); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close(ctx)

	auditor := is.Token(t, "user:auditor@example.com", "mandate", 10*time.Minute, map[string]any{"email": "auditor@example.com"})
	for _, tc := range []struct {
		name, path, token string
		status            int
	}{
		{"dry run needs a token", "/v1/bundle", "", 401},
		{"agent session token", "/v1/sessions", tr.Token, 401},
		{"agent oidc token", "/v1/sessions", agentTok, 403},
		{"auditor bundle", "/v1/bundle", auditor, 200},
		{"auditor verify", "/v1/audit/verify", auditor, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", base+tc.path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}

	// Sessions: the agent's one session, once the recorder has ended it.
	var list struct {
		Sessions []struct {
			ID, Agent, Connection string
		}
	}
	eventually(t, "the session in the record", func() bool {
		req, _ := http.NewRequest("GET", base+"/v1/sessions?agent=a", nil)
		req.Header.Set("Authorization", "Bearer "+auditor)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		json.NewDecoder(resp.Body).Decode(&list)
		return len(list.Sessions) == 1
	})
	if s := list.Sessions[0]; s.Agent != "a" || s.Connection != "app" {
		t.Errorf("session = %+v", s)
	}

	data, err := review.FetchUsage(ctx, nil, base, auditor, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	key, err := chain.LoadOrCreateKey(cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := review.ParseUsage(data, key.Public)
	if err != nil {
		t.Fatal(err)
	}
	var count int64
	for _, gr := range l.Usage.Grants {
		for _, st := range gr.Statements {
			if strings.HasSuffix(st.Table, table) && st.Class == "select" {
				count += st.Count
			}
		}
	}
	if !l.Verified || count != 2 {
		t.Errorf("usage verified %v, selects on %s = %d, want 2: %s", l.Verified, table, count, l.Signed.Payload)
	}
}

// TestAuditorRoutesWithoutStore: a gateway without a recording listener
// whose store cannot be opened still serves; the auditor routes say why
// they cannot answer.
func TestAuditorRoutesWithoutStore(t *testing.T) {
	dir := t.TempDir()
	is := gt.NewIssuer(t)
	s := gt.NewSigner(t)
	s.WritePublic(t, dir, "keys/bundle.pub")
	writeAtomic(t, filepath.Join(dir, "bundle.tar.gz"), s.Bundle(t, gt.Humans(gt.PolicyFor(is.URL(), "a")), gt.Rev(1), gt.Time(1)))
	cfg := writeConfig(t, dir, hcl(`
listen {
  api           = "127.0.0.1:0"
  api_plaintext = true
}
bundle {
  source           = "file://bundle.tar.gz"
  verification_key = "keys/bundle.pub"
}
issuer "test" {
  url      = "%s"
  audience = "mandate"
}
store {
  postgres = "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"
}
`, is.URL()))
	g := start(t, cfg, is.Client())
	base := baseURL(g)
	eventually(t, "ready", func() bool { code, _ := get(t, base+"/readyz"); return code == 200 })
	req, _ := http.NewRequest("GET", base+"/v1/audit/usage?since=1d", nil)
	req.Header.Set("Authorization", "Bearer "+is.Token(t, "user:admin@example.com", "mandate", time.Minute, map[string]any{"email": "admin@example.com"}))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p api.Problem
	json.NewDecoder(resp.Body).Decode(&p)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(p.Detail, "no record store") {
		t.Errorf("status %d, problem %+v", resp.StatusCode, p)
	}
}
