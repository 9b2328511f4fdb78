package store

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBoxer(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []string
	}{
		{"repeats", []string{"a", "a", "a"}},
		{"changes", []string{"a", "b", "a", ""}},
		{"empty first", []string{"", "", "x", "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var bx boxer
			var got []string
			for _, s := range tc.in {
				got = append(got, bx.str(3, s).(string))
			}
			if d := cmp.Diff(tc.in, got); d != "" {
				t.Errorf("boxed values (-want +got):\n%s", d)
			}
		})
	}
}

func TestEventArgsSharedKeys(t *testing.T) {
	evs := []Event{
		{Gateway: "gw", Seq: 1, SessionID: "s1", Time: 10, Kind: "statement", Payload: []byte("{}"), Prev: []byte{0}, Hash: []byte{1}},
		{Gateway: "gw", Seq: 2, SessionID: "s2", Time: 11, Kind: "command", Payload: []byte("{}"), Prev: []byte{1}, Hash: []byte{2}},
	}
	args := eventArgs(evs)
	if len(args) != eventCols*len(evs) {
		t.Fatalf("got %d args, want %d", len(args), eventCols*len(evs))
	}
	for i, e := range evs {
		a := args[i*eventCols:]
		got := []any{a[argGateway], a[argSeq], a[argSession], a[argTime], a[4]}
		want := []any{e.Gateway, int64(e.Seq), e.SessionID, e.Time, e.Kind}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("event %d args (-want +got):\n%s", i, d)
		}
	}
}
