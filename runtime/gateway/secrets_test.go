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
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/api"
	"github.com/mandatehq/mandate/runtime/gateway"
	gt "github.com/mandatehq/mandate/runtime/gateway/gatewaytest"
	"github.com/mandatehq/mandate/runtime/store"
)

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestPostgresSecretsNeverLeak runs the whole gateway (real OIDC issuer,
// session tokens, recorder on SQLite, JSON log at debug) and drives a good
// session, rejected tokens (expired, tampered, another agent's, garbage) and
// an upstream that is down; no token, token signature or upstream password
// may reach the log, the record or what clients received.
func TestPostgresSecretsNeverLeak(t *testing.T) {
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, "postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no PostgreSQL on 127.0.0.1:5432: %v", err)
		}
		t.Skipf("no PostgreSQL on 127.0.0.1:5432: %v", err)
	}
	admin.Close(ctx)
	upPW := "up-pw-" + fmt.Sprint(time.Now().UnixNano())
	t.Setenv("MANDATE_TEST_UP_PW", upPW)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downAddr := ln.Addr().String()
	ln.Close()

	dir := t.TempDir()
	is := newIssuer(t)
	s := gt.NewSigner(t)
	s.WritePublic(t, dir, "keys/bundle.pub")
	pol := gt.PolicyFor(is.srv.URL, "a", "b")
	pol.Connections["down"] = &model.Connection{Name: "down", Type: "postgres", Address: downAddr, Database: "test", TLSMode: "disable",
		Credential: model.Credential{Username: "postgres", Password: &model.SecretRef{Kind: "env", Name: "MANDATE_TEST_UP_PW"}},
		Source:     model.Source{File: "connections.hcl", Line: 9, Column: 1}}
	g := *pol.Roles["reader"].Postgres["app"]
	g.Connection = "down"
	pol.Roles["reader"].Postgres["down"] = &g
	writeAtomic(t, filepath.Join(dir, "bundle.tar.gz"), s.Bundle(t, pol, gt.Rev(1), gt.Time(1)))
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
`, is.srv.URL))
	logs := &syncBuffer{}
	gw, err := gateway.New(cfg, gateway.Options{Logger: gateway.NewLogger(logs, "debug"), HTTPClient: is.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if err := gw.Start(ctx); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			sctx, cancel := context.WithTimeout(ctx, gateway.ShutdownTimeout)
			defer cancel()
			gw.Shutdown(sctx)
		}
	}
	t.Cleanup(stop)
	base := baseURL(gw)
	eventually(t, "ready", func() bool { code, _ := get(t, base+"/readyz"); return code == 200 })

	oidcA := is.token(t, "agent:a", "mandate", 10*time.Minute)
	oidcB := is.token(t, "agent:b", "mandate", 10*time.Minute)
	// The issuer mints no expired tokens: this one expires (exp has whole
	// seconds) before it is used below.
	expired := is.token(t, "agent:a", "mandate", time.Second)
	expiry := time.Now().Add(2 * time.Second)
	b, _ := json.Marshal(api.TokenRequest{Token: oidcA})
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
	session := tr.Token
	cut := strings.LastIndex(session, ".")
	tampered := session[:cut+1] + strings.Repeat("A", len(session)-cut-1)

	time.Sleep(time.Until(expiry))
	var client strings.Builder
	connect := func(agent, conn, tok string) error {
		c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=require", agent, tok, gw.PostgresAddr(), conn))
		if err != nil {
			client.WriteString(err.Error() + "\n")
			var pe *pgconn.PgError
			if errors.As(err, &pe) {
				fmt.Fprintf(&client, "%s %s %s %s\n", pe.Code, pe.Message, pe.Detail, pe.Hint)
			}
			return err
		}
		defer c.Close(ctx)
		var one int
		return c.QueryRow(ctx, "SELECT 1").Scan(&one)
	}
	for _, tc := range []struct {
		name, agent, conn, token string
		ok                       bool
	}{
		{"session token", "a", "app", session, true},
		{"oidc token", "a", "app", oidcA, true},
		{"expired oidc token", "a", "app", expired, false},
		{"tampered session token", "a", "app", tampered, false},
		{"another agent's token", "a", "app", oidcB, false},
		{"not a token", "a", "app", "not-a-jwt-" + session[cut+1:], false},
		{"upstream down", "a", "down", session, false},
	} {
		if err := connect(tc.agent, tc.conn, tc.token); (err == nil) != tc.ok {
			t.Errorf("%s: connecting gave %v, want success %v", tc.name, err, tc.ok)
		}
	}
	stop()

	st, err := store.Open(ctx, store.Config{Path: cfg.Store.SQLite})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var events strings.Builder
	if err := st.Events(ctx, store.EventFilter{}, func(ev *store.Event) error {
		events.Write(ev.Payload)
		events.WriteByte('\n')
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sessions, err := st.Sessions(ctx, store.SessionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	sj, _ := json.Marshal(sessions)
	if n := strings.Count(events.String(), `"ok":false`); n != 4 {
		t.Errorf("%d failed authentications recorded, want 4:\n%s", n, events.String())
	}
	if !strings.Contains(logs.String(), "postgres upstream connect") {
		t.Errorf("the upstream failure was not logged:\n%s", logs.String())
	}
	secrets := map[string]string{"the upstream password": upPW}
	for name, tok := range map[string]string{"session token": session, "oidc token": oidcA,
		"other agent's token": oidcB, "expired token": expired, "tampered token": tampered} {
		secrets[name] = tok
		secrets[name+"'s signature"] = tok[strings.LastIndex(tok, ".")+1:]
	}
	for where, text := range map[string]string{
		"the log": logs.String(), "the recorded events": events.String(), "the sessions": string(sj), "the client": client.String(),
	} {
		for what, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s contains %s:\n%s", where, what, text)
			}
		}
	}
}
