package pgproxy

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// panicRecorder panics in Decided (the client loop) or Completed (the
// relay) for statements naming a marker, as a bug reached through data
// would.
type panicRecorder struct{ memRecorder }

func (r *panicRecorder) Decided(ctx context.Context, s *SessionRecord, st *StatementRecord) error {
	if strings.Contains(st.Raw(), "panic_in_client_loop") {
		panic("test: a bug in the client loop")
	}
	return r.memRecorder.Decided(ctx, s, st)
}

func (r *panicRecorder) Completed(ctx context.Context, s *SessionRecord, st *StatementRecord) {
	if strings.Contains(st.Raw(), "panic_in_relay") {
		panic("test: a bug in the relay")
	}
	r.memRecorder.Completed(ctx, s, st)
}

// TestPanicEndsOnlyItsSession: a panic in either goroutine of a session
// ends that session with FATAL XX000 and a recorded reason; the gateway
// keeps serving the others, and no goroutine is left behind.
func TestPanicEndsOnlyItsSession(t *testing.T) {
	leaks := checkGoroutines(t)
	rec := &panicRecorder{}
	e := newEnv(t, func(c *Config) { c.Recorder = rec })
	bystander := e.connect(t, "disable")
	for _, tc := range []struct{ marker, reason string }{
		{"panic_in_client_loop", "internal error: test: a bug in the client loop"},
		{"panic_in_relay", "internal error: test: a bug in the relay"},
	} {
		t.Run(tc.marker, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			pc, err := pgconn.Connect(ctx, e.dsn("agent1", "disable"))
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close(context.Background())
			_, err = pc.Exec(ctx, "SELECT '"+tc.marker+"'").ReadAll()
			if err == nil {
				// The relay records a result after the client has it: the
				// FATAL follows the result; read it without writing.
				err = pc.WaitForNotification(ctx)
			}
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != CodeInternalError || pe.Severity != "FATAL" {
				t.Fatalf("error = %v, want FATAL %s", err, CodeInternalError)
			}
			if _, err := pc.Exec(ctx, "SELECT 1").ReadAll(); err == nil {
				t.Fatal("the session survived its panic")
			}
			var one int
			if err := bystander.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
				t.Fatalf("another session after the panic: %d, %v", one, err)
			}
			waitFor(t, "the session's end to be recorded", func() bool {
				rec.mu.Lock()
				defer rec.mu.Unlock()
				for _, r := range rec.ended {
					if r == tc.reason {
						return true
					}
				}
				return false
			})
		})
	}
	bystander.Close(context.Background())
	e.srv.Close()
	leaks()
}
