package pgrecord

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mandatehq/mandate/model"
	"github.com/mandatehq/mandate/runtime/audit"
	"github.com/mandatehq/mandate/runtime/pgproxy"
	"github.com/mandatehq/mandate/runtime/recorder"
	"github.com/mandatehq/mandate/runtime/store"
)

// run is one statement a repeat case drives.
type run struct {
	text     string // redacted text; "" did not parse
	result   string // decision result (allow when empty)
	complete bool   // Completed is called right after Decided
}

// recorded is what a statement event says of its runs, in order.
type recorded struct {
	ids     []string
	results []bool // the run carries a result
}

// TestRepeatsCoalesce: under async durability, statements a session runs
// again with the same redacted text and decision go into the held event of
// the first, each with its own id and result, and usage counts every run.
// A different text or decision, an unparsed text and keep_raw_statements
// keep events apart.
func TestRepeatsCoalesce(t *testing.T) {
	const a, b = "SELECT abalance FROM pgbench_accounts WHERE aid = $1", "SELECT 1"
	many := make([]run, maxRepeats+2)
	for i := range many {
		many[i] = run{text: a, complete: true}
	}
	manyIDs := make([]string, maxRepeats+1)
	for i := range manyIDs {
		manyIDs[i] = strconv.Itoa(i + 1)
	}
	for _, tc := range []struct {
		name    string
		raw     bool
		runs    []run
		want    []recorded
		allowed int64 // usage count of the grant
	}{
		{name: "repeats of one statement",
			runs:    []run{{a, "", true}, {a, "", true}, {a, "", true}},
			want:    []recorded{{ids: []string{"1", "2", "3"}, results: []bool{true, true, true}}},
			allowed: 3},
		{name: "interleaved statements",
			runs: []run{{a, "", true}, {b, "", true}, {a, "", true}, {b, "", true}, {a, "", true}},
			want: []recorded{
				{ids: []string{"1", "3", "5"}, results: []bool{true, true, true}},
				{ids: []string{"2", "4"}, results: []bool{true, true}},
			},
			allowed: 5},
		{name: "another decision",
			runs: []run{{a, "", true}, {a, model.Deny, true}, {a, "", true}, {a, model.Deny, true}},
			want: []recorded{
				{ids: []string{"1", "3"}, results: []bool{true, true}},
				{ids: []string{"2", "4"}, results: []bool{true, true}},
			},
			allowed: 2},
		{name: "runs without a result",
			runs:    []run{{a, "", true}, {a, "", false}, {a, "", true}},
			want:    []recorded{{ids: []string{"1", "2", "3"}, results: []bool{true, false, true}}},
			allowed: 3},
		{name: "unparsed text",
			runs:    []run{{"", "", true}, {"", "", true}},
			want:    []recorded{{ids: []string{"1"}, results: []bool{true}}, {ids: []string{"2"}, results: []bool{true}}},
			allowed: 2},
		{name: "raw statements kept", raw: true,
			runs:    []run{{a, "", true}, {a, "", true}},
			want:    []recorded{{ids: []string{"1"}, results: []bool{true}}, {ids: []string{"2"}, results: []bool{true}}},
			allowed: 2},
		{name: "full event", runs: many,
			want: []recorded{
				{ids: manyIDs, results: trues(maxRepeats + 1)},
				{ids: []string{strconv.Itoa(maxRepeats + 2)}, results: []bool{true}},
			},
			allowed: maxRepeats + 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ad, db := newAdapter(t, recorder.Config{Durability: recorder.Async, FlushInterval: time.Hour, KeepRawStatements: tc.raw})
			s := &pgproxy.SessionRecord{ID: "1", Agent: "etl", Connection: "bank", Started: time.Now()}
			if err := ad.SessionStart(context.Background(), s); err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			for i, r := range tc.runs {
				st := statement(int64(i+1), r, t0.Add(time.Duration(i)*time.Millisecond))
				decide(t, ad, s, st)
				if r.complete {
					ad.Completed(context.Background(), s, st)
				}
			}
			ad.SessionEnd(context.Background(), s, "client closed")
			if err := ad.rec.Close(); err != nil {
				t.Fatal(err)
			}

			evs := events(t, db, recorder.KindStatement)
			var got []recorded
			for _, ev := range evs {
				got = append(got, runsOf(ev))
				if !ev.Decision.Time.Equal(t0.Add(idMillis(t, ev.Decision.ID))) {
					t.Errorf("event %s: decision time %v, want t0+%v", ev.Decision.ID, ev.Decision.Time, idMillis(t, ev.Decision.ID))
				}
				prev := time.Duration(0) // runs are decided a millisecond apart
				for _, r := range ev.Repeats {
					if at := ev.Decision.Time.Add(r.Offset); !at.Equal(t0.Add(idMillis(t, r.ID))) {
						t.Errorf("repeat %s decided at %v, want t0+%v", r.ID, at, idMillis(t, r.ID))
					}
					if r.Offset <= prev {
						t.Errorf("repeat %s: offset %v after %v", r.ID, r.Offset, prev)
					}
					prev = r.Offset
				}
				if tc.raw && ev.Statement.Raw == "" {
					t.Errorf("event %s lost its raw text", ev.Decision.ID)
				}
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(recorded{})); diff != "" {
				t.Errorf("statement events (-want +got):\n%s", diff)
			}
			var text bytes.Buffer
			ss, err := db.Sessions(context.Background(), store.SessionFilter{})
			if err != nil || len(ss) != 1 {
				t.Fatalf("sessions = %+v, %v", ss, err)
			}
			tl, err := audit.SessionTimeline(context.Background(), db, ss[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := audit.WriteTimelineText(&text, tl); err != nil {
				t.Fatal(err)
			}
			for _, r := range tc.want {
				if runs := fmt.Sprintf("(%d runs)", len(r.ids)); len(r.ids) > 1 && !strings.Contains(text.String(), runs) {
					t.Errorf("timeline does not say %s:\n%s", runs, text.String())
				}
			}
			if n := len(events(t, db, recorder.KindResult)); n != 0 {
				t.Errorf("%d result events; every result arrived within the hold", n)
			}
			u, err := audit.Usage(context.Background(), db, audit.UsageFilter{Since: t0.Add(-time.Hour), Until: t0.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			var allowed int64
			for _, g := range u.Grants {
				allowed += g.Count
			}
			if allowed != tc.allowed {
				t.Errorf("usage counts %d allowed runs, want %d", allowed, tc.allowed)
			}
			if rep, err := audit.Verify(context.Background(), db, audit.VerifyOptions{}); err != nil || !rep.OK {
				t.Fatalf("verify: %+v, %v", rep, err)
			}
		})
	}
}

// TestRepeatResultAfterHold: a repeat still running when its event's hold
// ends is written without a result, and its result follows as a result
// event naming it, after the statement event.
func TestRepeatResultAfterHold(t *testing.T) {
	const flush = 100 * time.Millisecond
	ad, db := newAdapter(t, recorder.Config{Durability: recorder.Async, FlushInterval: flush})
	s := &pgproxy.SessionRecord{ID: "1", Agent: "etl", Connection: "bank", Started: time.Now()}
	if err := ad.SessionStart(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	r := run{text: "SELECT 1"}
	first, second := statement(1, r, time.Now()), statement(2, r, time.Now())
	decide(t, ad, s, first)
	ad.Completed(context.Background(), s, first)
	decide(t, ad, s, second)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(flush) { // the hold ends
		if len(events(t, db, recorder.KindStatement)) == 1 || time.Now().After(deadline) {
			break
		}
	}
	ad.Completed(context.Background(), s, second)
	ad.SessionEnd(context.Background(), s, "client closed")
	if err := ad.rec.Close(); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	err := db.Events(context.Background(), store.EventFilter{}, func(e *store.Event) error {
		kinds = append(kinds, e.Kind)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"recorder", "session_start", "auth", "statement", "result", "session_end"}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Fatalf("kinds (-want +got):\n%s", diff)
	}
	st := events(t, db, recorder.KindStatement)[0]
	if diff := cmp.Diff(recorded{ids: []string{"1", "2"}, results: []bool{true, false}}, runsOf(st), cmp.AllowUnexported(recorded{})); diff != "" {
		t.Errorf("statement event (-want +got):\n%s", diff)
	}
	res := events(t, db, recorder.KindResult)[0]
	if res.Decision == nil || res.Decision.ID != "2" || res.Result == nil || res.Result.Rows != 1 {
		t.Errorf("result event = %+v", res)
	}
}

func statement(seq int64, r run, at time.Time) *pgproxy.StatementRecord {
	result := r.result
	if result == "" {
		result = model.Allow
	}
	d := model.Decision{Result: result, Role: "reader", Grant: "bank"}
	if result != model.Allow {
		d.Reason = "no grant"
	}
	st := &pgproxy.StatementRecord{Seq: seq, Decision: d, Decided: at,
		Statement: &model.Statement{Tag: "SELECT", Accesses: []model.Access{{Class: "select", Table: "public.pgbench_accounts"}}},
		Result:    pgproxy.Result{Tag: "SELECT 1", Rows: 1, Bytes: 4}}
	st.SetText("select "+strconv.FormatInt(seq, 10), r.text)
	return st
}

func events(t *testing.T, db store.Store, kind recorder.Kind) []recorder.Event {
	t.Helper()
	var out []recorder.Event
	err := db.Events(context.Background(), store.EventFilter{Kinds: []string{string(kind)}}, func(e *store.Event) error {
		var ev recorder.Event
		if err := json.Unmarshal(e.Payload, &ev); err != nil {
			return err
		}
		out = append(out, ev)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func runsOf(ev recorder.Event) recorded {
	r := recorded{ids: []string{ev.Decision.ID}, results: []bool{ev.Result != nil}}
	for _, x := range ev.Repeats {
		r.ids = append(r.ids, x.ID)
		r.results = append(r.results, x.Result != nil)
	}
	return r
}

func trues(n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = true
	}
	return out
}

// idMillis is the decision time of run id after t0: runs are decided a
// millisecond apart from seq 1 on.
func idMillis(t *testing.T, id string) time.Duration {
	t.Helper()
	n, err := strconv.Atoi(id)
	if err != nil {
		t.Fatalf("decision id %q", id)
	}
	return time.Duration(n-1) * time.Millisecond
}
