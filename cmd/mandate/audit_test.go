package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/audit"
	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/store"
)

// runRecordCmd runs the CLI in-process and returns stdout, stderr and the
// exit code run would return.
func runRecordCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	code := 0
	if err != nil {
		errb.WriteString(err.Error())
		var ee *exitError
		switch {
		case errors.As(err, &ee):
			code = ee.code
		case isUsageError(err):
			code = 2
		default:
			code = 1
		}
	}
	return out.String(), errb.String(), code
}

// recordFixture writes a record with a postgres session and an SSH session
// with a terminal stream and returns the state dir, db path and ids.
func recordFixture(t *testing.T) (dir, db, pgID, sshID string) {
	t.Helper()
	dir = t.TempDir()
	db = filepath.Join(dir, "record.db")
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Path: db})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rec, err := recorder.New(ctx, st, recorder.Config{StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	pg, _ := rec.StartSession(ctx, recorder.SessionInfo{Agent: "etl", Role: "reader", Grant: "sales", Connection: "sales", Protocol: "postgres"})
	pg.Record(ctx, recorder.Event{Kind: recorder.KindAuth, Auth: &recorder.Auth{OK: true, Method: "oidc", Subject: "repo:acme/etl"}})
	for i := 0; i < 3; i++ {
		pg.Record(ctx, recorder.Event{Kind: recorder.KindStatement,
			Statement: &recorder.Statement{Text: "SELECT * FROM sales.orders WHERE id = 7", Accesses: []model.Access{{Class: "select", Table: "sales.orders"}}},
			Decision:  &recorder.Decision{Result: model.Allow, Role: "reader", Grant: "sales", Source: "roles.hcl:4"},
			Result:    &recorder.Result{Rows: 1}})
	}
	pg.End(ctx, "client closed")
	ssh, _ := rec.StartSession(ctx, recorder.SessionInfo{Agent: "ops", Role: "ops", Grant: "web", Connection: "web", Protocol: "ssh"})
	t0 := time.Now()
	for i, chunk := range []string{"$ ", "uptime\r\n", "up 3 days\r\n"} {
		ssh.Record(ctx, recorder.Event{Kind: recorder.KindTerminal, Time: t0.Add(time.Duration(i) * time.Millisecond), Terminal: &recorder.Terminal{Stream: "o", Data: []byte(chunk)}})
	}
	ssh.End(ctx, "exit")
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, db, pg.ID(), ssh.ID()
}

func TestSessionsCommands(t *testing.T) {
	_, db, pgID, sshID := recordFixture(t)
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"list", []string{"sessions", "list", "--store", db}, 0, []string{pgID, sshID, "etl", "client closed"}},
		{"list agent", []string{"sessions", "list", "--store", db, "--agent", "ops", "--since", "1h"}, 0, []string{sshID}},
		{"list json", []string{"sessions", "list", "--store", db, "--format", "json", "--connection", "sales"}, 0, []string{`"id": "` + pgID}},
		{"show", []string{"sessions", "show", pgID, "--store", db}, 0, []string{"statement \"SELECT * FROM sales.orders WHERE id = ?\" -> allow (role reader, grant sales) [roles.hcl:4]", "auth oidc ok"}},
		{"show unknown", []string{"sessions", "show", "s_nope", "--store", db}, 1, nil},
		{"replay", []string{"sessions", "replay", sshID, "--store", db, "--speed", "0"}, 0, []string{"$ uptime\r\nup 3 days\r\n"}},
		{"asciicast", []string{"sessions", "replay", sshID, "--store", db, "--asciicast", "-"}, 0, []string{`"version":2`, `"o","up 3 days\r\n"]`}},
		{"no store", []string{"sessions", "list", "--store", ""}, 2, nil},
		{"bad since", []string{"sessions", "list", "--store", db, "--since", "yesterday"}, 2, nil},
		{"bad format", []string{"sessions", "list", "--store", db, "--format", "xml"}, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runRecordCmd(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.code, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	// ops's session is not filtered out by agent etl
	out, _, _ := runRecordCmd(t, "sessions", "list", "--store", db, "--agent", "etl")
	if strings.Contains(out, sshID) {
		t.Errorf("--agent etl listed the ops session:\n%s", out)
	}
}

func TestAuditCommands(t *testing.T) {
	dir, db, _, _ := recordFixture(t)
	pub := filepath.Join(dir, "record.pub")
	ev := filepath.Join(t.TempDir(), "evidence.jsonl")
	usage := filepath.Join(t.TempDir(), "usage.json")

	out, errOut, code := runRecordCmd(t, "audit", "verify", "--store", db, "--key", pub)
	if code != 0 || !strings.Contains(out, ": ok: events 1..") {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errOut)
	}
	if _, _, code := runRecordCmd(t, "audit", "export", "--store", db, "--since", "1h", "-o", ev); code != 0 {
		t.Fatalf("export exit %d", code)
	}
	out, errOut, code = runRecordCmd(t, "audit", "verify", "--file", ev, "--key", pub, "--format", "json")
	var rep audit.Report
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || !rep.OK {
		t.Fatalf("verify export: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = runRecordCmd(t, "audit", "usage", "--store", db, "--since", "90d", "--format", "json")
	if code != 0 {
		t.Fatalf("usage: exit %d %s", code, errOut)
	}
	os.WriteFile(usage, []byte(out), 0o600)
	out, errOut, code = runRecordCmd(t, "audit", "verify", "--file", usage, "--key", pub)
	if code != 0 || !strings.Contains(out, "signed usage ok") {
		t.Fatalf("verify usage: exit %d\n%s%s", code, out, errOut)
	}
	out, _, code = runRecordCmd(t, "audit", "usage", "--store", db, "--since", "90d", "--format", "markdown", "--role", "reader")
	if code != 0 || !strings.Contains(out, "| select | sales.orders |  | 3 |") || strings.Contains(out, "ops") {
		t.Errorf("usage markdown: exit %d\n%s", code, out)
	}
	if _, _, code := runRecordCmd(t, "audit", "usage", "--store", db, "--format", "json"); code != 2 {
		t.Errorf("usage without --since: exit %d, want 2", code)
	}

	// Tamper and verify again: exit 1 and the event named.
	raw, _ := sql.Open("sqlite", db)
	raw.Exec(`UPDATE events SET payload = replace(payload, 'allow', 'deny') WHERE seq = 5`)
	raw.Close()
	out, _, code = runRecordCmd(t, "audit", "verify", "--store", db, "--key", pub)
	if code != 1 || !strings.Contains(out, "first problem: event 5 altered") {
		t.Errorf("verify tampered: exit %d\n%s", code, out)
	}
}
