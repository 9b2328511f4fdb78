package pgproxy

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// Round 18 works on authentication and admission: which tokens open a
// session, over which transport, and what a refusal writes down.

// authFailRecorder is memRecorder that also keeps failed authentications.
type authFailRecorder struct {
	*memRecorder
	mu     sync.Mutex
	failed []AuthFailure
}

func (r *authFailRecorder) AuthFailed(_ context.Context, f AuthFailure) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = append(r.failed, f)
}

func (r *authFailRecorder) failures() []AuthFailure {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]AuthFailure(nil), r.failed...)
}

// TestAdversarialRound18AuthFailureNames: a client that sends its token as
// the database name (fields swapped, or a DSN built wrongly) and fails
// authentication. The user name was already written down only when it can
// be an agent's name; the database name went to the log and the record
// verbatim, the token with it. Both must keep the token out, and the
// failure must still be logged and recorded.
func TestAdversarialRound18AuthFailureNames(t *testing.T) {
	const token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhZ2VudDphIn0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
	logs := &lockedBuffer{}
	rec := &authFailRecorder{memRecorder: &memRecorder{}}
	e := newEnv(t, func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.Recorder = rec
	})
	for _, tc := range []struct{ name, user, db, password string }{
		{"token as database, wrong password", "agent1", token, "nope"},
		{"token as database and user", token, token, "nope"},
		{"token as database and password", "agent1", token, token},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := e.passwordLogin(t, tc.user, tc.db, tc.password); strings.Join(got, "|") != "E FATAL "+CodeInvalidPassword {
				t.Fatalf("got %q, want FATAL %s", got, CodeInvalidPassword)
			}
		})
	}
	fails := rec.failures()
	if len(fails) != 3 {
		t.Fatalf("%d failed authentications recorded, want 3: %+v", len(fails), fails)
	}
	sig := token[strings.LastIndex(token, ".")+1:]
	for _, f := range fails {
		if rec := f.Agent + " " + f.Connection + " " + f.Reason; strings.Contains(rec, sig) {
			t.Errorf("the recorded failure holds the token: %+v", f)
		}
		if want := fmt.Sprintf("[not a connection name: %d bytes]", len(token)); f.Connection != want {
			t.Errorf("recorded connection %q, want the placeholder", f.Connection)
		}
	}
	if l := logs.String(); !strings.Contains(l, "postgres authentication failed") || strings.Contains(l, sig) {
		t.Errorf("log missing the failure or holding the token:\n%s", l)
	}
}
