package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/mandatehq/mandate/runtime/chain"
	"github.com/mandatehq/mandate/runtime/store"
)

// EvidenceFormat names the export format in its header line.
const EvidenceFormat = "mandate-evidence/v1"

// line is one JSON Lines record of an export. Type is header, key,
// session, checkpoint or event.
type line struct {
	Type string `json:"type"`

	// header
	Format     string     `json:"format,omitempty"`
	Since      *time.Time `json:"since,omitempty"`
	Until      *time.Time `json:"until,omitempty"`
	ExportedAt *time.Time `json:"exported_at,omitempty"`

	// key
	KeyID     string `json:"key_id,omitempty"`
	PublicKey []byte `json:"public_key,omitempty"`

	// session
	Session *store.Session `json:"session,omitempty"`

	// checkpoint
	Checkpoint *chain.Checkpoint `json:"checkpoint,omitempty"`

	// event (and gateway for key)
	Gateway   string          `json:"gateway,omitempty"`
	Seq       uint64          `json:"seq,omitempty"`
	SessionID string          `json:"session_id,omitempty"`
	TimeNS    int64           `json:"time_ns,omitempty"`
	Kind      string          `json:"kind,omitempty"`
	Payload   json.RawMessage `json:"payload,omitempty"`
	// PayloadBytes carries a payload that is not compact JSON (a damaged
	// record), so that it is exported byte for byte.
	PayloadBytes []byte `json:"payload_bytes,omitempty"`
	Prev         string `json:"prev,omitempty"`
	Hash         string `json:"hash,omitempty"`
}

// ExportStore is what Export reads: a Source that also lists sessions.
type ExportStore interface {
	Source
	Sessions(ctx context.Context, f store.SessionFilter) ([]store.Session, error)
}

// Export writes the events with time in [since, until] as JSON Lines, with
// the checkpoints that sign them: the anchor before the first event when
// there is one, and every checkpoint up to the first one at or after the
// last event (events up to that checkpoint are included so the end is
// signed). The output verifies offline with ReadEvidence and Verify.
func Export(ctx context.Context, st ExportStore, since, until time.Time, w io.Writer) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	now := time.Now().UTC()
	if err := enc.Encode(line{Type: "header", Format: EvidenceFormat, Since: &since, Until: &until, ExportedAt: &now}); err != nil {
		return 0, fmt.Errorf("writing export: %w", err)
	}
	keys, err := st.Keys(ctx)
	if err != nil {
		return 0, err
	}
	ids := make([]string, 0, len(keys))
	for id := range keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if err := enc.Encode(line{Type: "key", KeyID: id, PublicKey: keys[id]}); err != nil {
			return 0, fmt.Errorf("writing export: %w", err)
		}
	}
	sessions, err := st.Sessions(ctx, store.SessionFilter{Since: unixNano(since)})
	if err != nil {
		return 0, err
	}
	for i := range sessions {
		if sessions[i].Start > unixNano(until) {
			continue
		}
		if err := enc.Encode(line{Type: "session", Session: &sessions[i]}); err != nil {
			return 0, fmt.Errorf("writing export: %w", err)
		}
	}
	gws, err := st.Gateways(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, gw := range gws {
		n, err := exportChain(ctx, st, gw, since, until, enc)
		if err != nil {
			return total, err
		}
		total += n
	}
	if err := bw.Flush(); err != nil {
		return total, fmt.Errorf("writing export: %w", err)
	}
	return total, nil
}

func exportChain(ctx context.Context, st ExportStore, gw string, since, until time.Time, enc *json.Encoder) (int64, error) {
	var first, last uint64
	var n int64
	write := func(e *store.Event) error {
		if first == 0 {
			first = e.Seq
		}
		last = e.Seq
		n++
		return enc.Encode(eventLine(e))
	}
	if err := st.Events(ctx, store.EventFilter{Gateway: gw, Since: unixNano(since), Until: unixNano(until)}, write); err != nil {
		return n, fmt.Errorf("exporting %s: %w", gw, err)
	}
	if first == 0 {
		return 0, nil
	}
	cps, err := st.Checkpoints(ctx, gw)
	if err != nil {
		return n, err
	}
	end := last
	for _, c := range cps {
		if c.Seq >= last {
			end = c.Seq
			break
		}
	}
	if end > last {
		if err := st.Events(ctx, store.EventFilter{Gateway: gw, FromSeq: last + 1, ToSeq: end}, write); err != nil {
			return n, fmt.Errorf("exporting %s: %w", gw, err)
		}
	}
	for i := range cps {
		if cps[i].Seq+1 >= first && cps[i].Seq <= end {
			if err := enc.Encode(line{Type: "checkpoint", Checkpoint: &cps[i]}); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func eventLine(e *store.Event) line {
	l := line{Type: "event", Gateway: e.Gateway, Seq: e.Seq, SessionID: e.SessionID, TimeNS: e.Time, Kind: e.Kind,
		Prev: hex.EncodeToString(e.Prev), Hash: hex.EncodeToString(e.Hash)}
	var c bytes.Buffer
	if json.Compact(&c, e.Payload) == nil && bytes.Equal(c.Bytes(), e.Payload) && len(e.Payload) > 0 {
		l.Payload = append(json.RawMessage(nil), e.Payload...)
	} else {
		l.PayloadBytes = append([]byte(nil), e.Payload...)
	}
	return l
}
