package pgrecord

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/audit"
	"github.com/mandatehq/mandate/runtime/pgproxy"
	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/store"
)

// TestKeepRawStatements: the raw text, literals and all, reaches the record
// only when the recorder keeps raw statements; so does a server error's
// message, which quotes them.
func TestKeepRawStatements(t *testing.T) {
	const (
		raw      = "SELECT * FROM sales.customers WHERE ssn = '123-45-6789'"
		redacted = "SELECT * FROM sales.customers WHERE ssn = $1"
	)
	for _, keep := range []bool{false, true} {
		t.Run(map[bool]string{false: "redacted only", true: "raw kept"}[keep], func(t *testing.T) {
			dir := t.TempDir()
			ctx := context.Background()
			dbPath := filepath.Join(dir, "mandate.db")
			st, err := store.Open(ctx, store.Config{Path: dbPath})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			rec, err := recorder.New(ctx, st, recorder.Config{StateDir: dir, KeepRawStatements: keep})
			if err != nil {
				t.Fatal(err)
			}
			a := New(rec, nil, nil)
			s := &pgproxy.SessionRecord{ID: "1", Agent: "etl", Connection: "sales", Started: time.Now()}
			if err := a.SessionStart(ctx, s); err != nil {
				t.Fatal(err)
			}
			stmt := &pgproxy.StatementRecord{Seq: 1, Statement: &model.Statement{Tag: "SELECT"},
				Decision: model.Decision{Result: model.Allow}, Decided: time.Now()}
			stmt.SetText(raw, redacted)
			if err := a.Decided(ctx, s, stmt); err != nil {
				t.Fatal(err)
			}
			// The server's error quotes the literal: kept with the raw text only.
			const serverErr = `invalid input syntax for type integer: "123-45-6789"`
			stmt.Result = pgproxy.Result{SQLState: "22P02", Error: serverErr}
			a.Completed(ctx, s, stmt)
			a.SessionEnd(ctx, s, "client closed")
			if err := rec.Close(); err != nil {
				t.Fatal(err)
			}

			ss, err := st.Sessions(ctx, store.SessionFilter{})
			if err != nil || len(ss) != 1 {
				t.Fatalf("sessions = %+v, %v", ss, err)
			}
			tl, err := audit.SessionTimeline(ctx, st, ss[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			var got *recorder.Statement
			var res *recorder.Result
			for _, e := range tl.Entries {
				if e.Kind == recorder.KindStatement {
					got = e.Event.Statement
				}
				if e.Event.Result != nil {
					res = e.Event.Result
				}
			}
			if res == nil || res.SQLState != "22P02" {
				t.Fatalf("result = %+v, want SQLSTATE 22P02", res)
			}
			if wantErr := map[bool]string{false: "", true: serverErr}[keep]; res.Error != wantErr {
				t.Errorf("result error = %q, want %q", res.Error, wantErr)
			}
			if got == nil {
				t.Fatal("no statement event recorded")
			}
			if got.Text != redacted {
				t.Errorf("text = %q, want %q", got.Text, redacted)
			}
			wantRaw := ""
			if keep {
				wantRaw = raw
			}
			if got.Raw != wantRaw {
				t.Errorf("raw = %q, want %q", got.Raw, wantRaw)
			}
			st.Close()
			if !keep {
				// Not in the database file, the WAL or anywhere in the state dir.
				files, _ := filepath.Glob(filepath.Join(dir, "*"))
				for _, f := range files {
					b, err := os.ReadFile(f)
					if err == nil && bytes.Contains(b, []byte("123-45-6789")) {
						t.Errorf("%s holds the literal", filepath.Base(f))
					}
				}
			}
		})
	}
}
