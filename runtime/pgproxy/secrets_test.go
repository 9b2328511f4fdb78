package pgproxy_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/pgproxy"
	"github.com/mandatehq/mandate/runtime/pgproxy/internal/pgcluster"
	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/recorder/pgrecord"
	"github.com/mandatehq/mandate/runtime/store"
)

// jwtLike returns a random three-part token shaped like a compact JWS.
func jwtLike(t *testing.T) (token, signature string) {
	t.Helper()
	part := func(n int) string {
		b := make([]byte, n)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	sig := part(48)
	return "eyJhbGciOiJFUzI1NiJ9." + part(24) + "." + sig, sig
}

// secretAuth accepts one token for agent1. Its error quotes the signature
// of a rejected token, as a careless verifier library might: the proxy must
// not pass it on.
type secretAuth struct{ token string }

func (a secretAuth) Authenticate(_ context.Context, r pgproxy.AuthRequest) (*pgproxy.Principal, error) {
	if r.Agent != "agent1" || r.Token != a.token {
		sig := r.Token[strings.LastIndex(r.Token, ".")+1:]
		return nil, fmt.Errorf("token rejected: signature %q does not verify", sig)
	}
	return &pgproxy.Principal{Agent: r.Agent, Subject: "sub-agent1"}, nil
}

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

// TestSecretsNeverLeak drives every path a secret could travel through the
// Postgres gateway (a good session, a bad token, a denial, a masked column
// that errors, a notice, upstream failures) with the real recorder and a
// debug log, then searches the log, every recorded event, the sessions and
// everything the clients received for the agent's token (and its
// signature), the upstream passwords and the masked values.
func TestSecretsNeverLeak(t *testing.T) {
	ctx := context.Background()
	up := pgcluster.Start(t, pgcluster.Options{NoTLS: true})
	dir := t.TempDir()
	st, err := store.Open(ctx, store.Config{Path: filepath.Join(dir, "record.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rec, err := recorder.New(ctx, st, recorder.Config{Durability: recorder.Async, StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	token, sig := jwtLike(t)
	badToken, badSig := jwtLike(t)
	wrongPW := "wrong-pw-" + strings.TrimRight(base64.RawURLEncoding.EncodeToString([]byte(sig[:12])), "=")
	vars := map[string]string{"UP_PW": up.Password, "UP_PW_WRONG": wrongPW}
	e := pgproxy.NewTestEnvConfig(t, pgrecord.New(rec, func() string { return "rev-1" }, log), func(c *pgproxy.Config) {
		c.Logger = log
		c.Authenticator = secretAuth{token: token}
		c.LookupEnv = func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downAddr := ln.Addr().String()
	ln.Close()
	for name, c := range map[string]struct{ addr, pwVar string }{
		"up": {up.Addr(), "UP_PW"}, "wrongpw": {up.Addr(), "UP_PW_WRONG"}, "down": {downAddr, "UP_PW"},
	} {
		e.AddConnection(&model.Connection{Name: name, Type: "postgres", Address: c.addr, Database: "postgres",
			Credential: model.Credential{Username: "postgres", Password: &model.SecretRef{Kind: "env", Name: c.pwVar}},
			TLSMode:    "disable"})
	}
	const ssn, note = "873-41-9920", "zq-note-secret-55"
	tbl := e.Table(t, "people", "id int, ssn text, note text", "VALUES (1, '"+ssn+"', '"+note+"')")
	e.Mask(tbl, "ssn", "note")
	denied := e.Table(t, "vault", "id int", "")
	e.Deny(denied)

	var client strings.Builder // everything the clients saw
	seeErr := func(err error) {
		if err == nil {
			return
		}
		client.WriteString(err.Error() + "\n")
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			fmt.Fprintf(&client, "%s %s %s %s %s %s\n", pe.Code, pe.Message, pe.Detail, pe.Hint, pe.Where, pe.InternalQuery)
		}
	}
	connect := func(conn, tok string) (*pgx.Conn, error) {
		cfg, err := pgx.ParseConfig(e.DSN("agent1", conn, tok))
		if err != nil {
			t.Fatal(err)
		}
		cfg.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
			fmt.Fprintf(&client, "notice %s %s %s %s\n", n.Code, n.Message, n.Detail, n.Hint)
		}
		c, err := pgx.ConnectConfig(ctx, cfg)
		seeErr(err)
		return c, err
	}

	// Failed authentication: a wrong token (the authenticator quotes it).
	if c, err := connect("testdb", badToken); err == nil {
		c.Close(ctx)
		t.Fatal("a wrong token connected")
	}
	// Upstream failures: wrong upstream password, upstream down.
	for _, conn := range []string{"wrongpw", "down"} {
		if c, err := connect(conn, token); err == nil {
			c.Close(ctx)
			t.Fatalf("connection %s connected", conn)
		}
	}
	// A good session upstream with a SCRAM password, with a notice.
	c, err := connect("up", token)
	if err != nil {
		t.Fatalf("connecting to the SCRAM upstream: %v", err)
	}
	var one int
	seeErr(c.QueryRow(ctx, "SELECT 1").Scan(&one))
	_, err = c.Exec(ctx, "DO $$BEGIN RAISE NOTICE 'hello from upstream'; END$$")
	seeErr(err)
	c.Close(ctx)
	// A session on the masked table: reads, a failing cast, a denial, a
	// literal the record must not keep.
	c, err = connect("testdb", token)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"SELECT id, ssn, note FROM " + tbl,
		"SELECT ssn::int FROM " + tbl,
		"SELECT note::int FROM " + tbl,
		"SELECT id FROM " + tbl + " WHERE ssn = '" + ssn + "'",
		"SELECT * FROM " + denied,
	} {
		for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeExec} {
			rows, err := c.Query(ctx, q, mode)
			if err == nil {
				for rows.Next() {
					vals, _ := rows.Values()
					fmt.Fprintf(&client, "row %v\n", vals)
				}
				rows.Close()
				err = rows.Err()
			}
			seeErr(err)
		}
	}
	c.Close(ctx)
	pgproxy.WaitFor(t, "sessions to end", func() bool { return e.Server().Sessions() == 0 })
	e.Server().Close()
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}

	var events strings.Builder
	kinds := map[string]int{}
	if err := st.Events(ctx, store.EventFilter{}, func(ev *store.Event) error {
		kinds[ev.Kind]++
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

	// The test saw what it meant to: the paths were taken.
	for what, ok := range map[string]bool{
		"a failed authentication recorded":   strings.Contains(events.String(), `"ok":false`),
		"a denial recorded":                  strings.Contains(events.String(), "deny"),
		"two sessions recorded":              len(sessions) == 2,
		"the notice reached the client":      strings.Contains(client.String(), "hello from upstream"),
		"the cast error reached the client":  strings.Contains(client.String(), "22P02"),
		"the upstream failures were logged":  strings.Count(logs.String(), "postgres upstream connect") == 2,
		"the auth failure was logged":        strings.Contains(logs.String(), "postgres authentication failed"),
		"the masked read reached the client": strings.Contains(client.String(), "row [1 "),
		"statement events recorded":          kinds["statement"] > 0,
	} {
		if !ok {
			t.Errorf("expected %s; log:\n%s\nevents:\n%s\nclient:\n%s", what, logs.String(), events.String(), client.String())
		}
	}
	secrets := map[string]string{
		"the token": token, "the token's signature": sig, "the rejected token": badToken, "the rejected token's signature": badSig,
		"the upstream password": up.Password, "the wrong upstream password": wrongPW,
		"the masked ssn": ssn, "the masked ssn's digits": "873419920", "the masked note": note,
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
