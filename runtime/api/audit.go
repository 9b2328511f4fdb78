package api

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mandatehq/mandate/runtime/audit"
	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/store"
)

// Session list limits of GET /v1/sessions.
const (
	DefaultSessionLimit = 100
	MaxSessionLimit     = 10000
)

// Record is what the auditor routes read: the gateway's record store.
type Record interface {
	audit.ExportStore
}

// auditor routes need a record; without one they answer 503.
func (s *Server) record(w http.ResponseWriter, r *http.Request) (Record, bool) {
	if s.deps.Record == nil {
		writeProblem(w, r, problem(http.StatusServiceUnavailable, "no-record", "No record store",
			"This gateway has no record store open, so there is nothing to audit."))
		return nil, false
	}
	return s.deps.Record, true
}

func badQuery(name, detail string) *Problem {
	return problem(http.StatusBadRequest, "invalid-query", "Invalid query parameter", fmt.Sprintf("%q: %s", name, detail))
}

// queryTime reads a time parameter: RFC 3339, a date (YYYY-MM-DD, UTC) or
// a duration ago ("90d", "24h"). Empty gives the zero time.
func queryTime(r *http.Request, name string, now time.Time) (time.Time, *Problem) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	d, err := recorder.ParseDuration(v)
	if err != nil || d < 0 {
		return time.Time{}, badQuery(name, fmt.Sprintf("want a duration ago (90d, 24h), a date (2026-01-31) or an RFC 3339 time; got %q.", v))
	}
	return now.Add(-d), nil
}

// GET /v1/sessions?agent=&connection=&since=&limit=
func (s *Server) sessions(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.record(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	since, p := queryTime(r, "since", s.deps.Now())
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	limit := DefaultSessionLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxSessionLimit {
			writeProblem(w, r, badQuery("limit", fmt.Sprintf("want a whole number from 1 to %d; got %q.", MaxSessionLimit, v)))
			return
		}
		limit = n
	}
	f := store.SessionFilter{Agent: q.Get("agent"), Connection: q.Get("connection"), Limit: limit}
	if !since.IsZero() {
		f.Since = since.UnixNano()
	}
	ss, err := audit.ListSessions(r.Context(), rec, f)
	if err != nil {
		s.internal(w, r, "listing sessions", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sessions": ss})
}

// GET /v1/sessions/{id}
func (s *Server) session(w http.ResponseWriter, r *http.Request) {
	tl, ok := s.timeline(w, r)
	if ok {
		writeJSON(w, http.StatusOK, tl)
	}
}

// GET /v1/sessions/{id}/asciicast
func (s *Server) asciicast(w http.ResponseWriter, r *http.Request) {
	tl, ok := s.timeline(w, r)
	if !ok {
		return
	}
	var buf bytes.Buffer
	if err := audit.Asciicast(&buf, tl); err != nil {
		if errors.Is(err, audit.ErrNoTerminal) {
			writeProblem(w, r, problem(http.StatusNotFound, "no-terminal", "No terminal recording",
				fmt.Sprintf("Session %s recorded no terminal output (only SSH sessions do).", tl.Session.ID)))
			return
		}
		s.internal(w, r, "writing asciicast", err)
		return
	}
	w.Header().Set("Content-Type", "application/x-asciicast")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) timeline(w http.ResponseWriter, r *http.Request) (*audit.Timeline, bool) {
	rec, ok := s.record(w, r)
	if !ok {
		return nil, false
	}
	id := r.PathValue("id")
	tl, err := audit.SessionTimeline(r.Context(), rec, id)
	if errors.Is(err, store.ErrNotFound) {
		writeProblem(w, r, problem(http.StatusNotFound, "no-session", "No such session",
			fmt.Sprintf("No session %q is in the record.", id)))
		return nil, false
	}
	if err != nil {
		s.internal(w, r, "reading session", err)
		return nil, false
	}
	return tl, true
}

// GET /v1/audit/usage?since=90d&until=&role=&agent=: the signed usage
// export (model.SignedUsage) `mandate review --usage URL` reads.
func (s *Server) usage(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.record(w, r)
	if !ok {
		return
	}
	if s.deps.UsageKey == nil {
		writeProblem(w, r, problem(http.StatusServiceUnavailable, "no-usage-key", "No signing key",
			"This gateway has no record key to sign usage with."))
		return
	}
	now := s.deps.Now()
	f, p := usageFilter(r, now)
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	extendDeadline(w)
	u, err := audit.Usage(r.Context(), rec, f)
	if err != nil {
		s.internal(w, r, "computing usage", err)
		return
	}
	su, err := audit.SignUsage(u, s.deps.UsageKey)
	if err != nil {
		s.internal(w, r, "signing usage", err)
		return
	}
	writeJSON(w, http.StatusOK, su)
}

func usageFilter(r *http.Request, now time.Time) (audit.UsageFilter, *Problem) {
	q := r.URL.Query()
	if q.Get("since") == "" {
		return audit.UsageFilter{}, badQuery("since", "required: the start of the window, such as 90d or 2026-01-31T00:00:00Z.")
	}
	since, until, p := window(r, now)
	if p != nil {
		return audit.UsageFilter{}, p
	}
	return audit.UsageFilter{Since: since, Until: until, Role: q.Get("role"), Agent: q.Get("agent")}, nil
}

// GET /v1/audit/verify: the chain verification report; 200 whether or not
// the record verifies (see "ok").
func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.record(w, r)
	if !ok {
		return
	}
	extendDeadline(w)
	rep, err := audit.Verify(r.Context(), rec, audit.VerifyOptions{Keys: s.deps.VerifyKeys})
	if err != nil {
		s.internal(w, r, "verifying the record", err)
		return
	}
	if rep.Chains == nil {
		rep.Chains = []audit.ChainReport{}
	}
	writeJSON(w, http.StatusOK, rep)
}

// GET /v1/audit/export?since=&until=: offline evidence as JSON Lines.
func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.record(w, r)
	if !ok {
		return
	}
	since, until, p := window(r, s.deps.Now())
	if p != nil {
		writeProblem(w, r, p)
		return
	}
	extendDeadline(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", `attachment; filename="mandate-evidence.jsonl"`)
	if n, err := audit.Export(r.Context(), rec, since, until, w); err != nil {
		// The status is sent: the truncated stream fails ReadEvidence,
		// and the log says why.
		s.log.Error("exporting the record", "error", err.Error(), "events", n)
	}
}

// window reads since (default the beginning) and until (default now).
func window(r *http.Request, now time.Time) (time.Time, time.Time, *Problem) {
	since, p := queryTime(r, "since", now)
	if p != nil {
		return since, since, p
	}
	until, p := queryTime(r, "until", now)
	if p != nil {
		return since, until, p
	}
	if until.IsZero() {
		until = now
	}
	if until.Before(since) {
		return since, until, badQuery("until", "is before since.")
	}
	return since.UTC(), until.UTC(), nil
}

// extendDeadline lifts the server's write timeout for long answers.
func extendDeadline(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, what string, err error) {
	s.log.Error("API "+what, "path", r.URL.Path, "error", err.Error())
	writeProblem(w, r, problem(http.StatusInternalServerError, "internal", "Internal error",
		strings.ToUpper(what[:1])+what[1:]+" failed; the gateway's log says why."))
}
