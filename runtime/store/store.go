package store

import (
	"context"
	"errors"

	"github.com/mandatehq/mandate/runtime/chain"
)

// Store is the session record. Implementations are safe for concurrent use.
type Store interface {
	// Append writes a batch in one transaction; when it returns nil the
	// batch is durable (per the store's synchronous setting).
	Append(ctx context.Context, b *Batch) error
	// Head returns the last event of a gateway's chain (Seq 0 when empty).
	Head(ctx context.Context, gateway string) (Head, error)
	// Gateways lists the gateway instances that have events or checkpoints.
	Gateways(ctx context.Context) ([]string, error)
	// Events calls fn for each event matching f, ordered by gateway and seq.
	// fn must not keep e or its byte slices after it returns (copy them).
	Events(ctx context.Context, f EventFilter, fn func(e *Event) error) error
	// Checkpoints returns a gateway's checkpoints ordered by seq.
	Checkpoints(ctx context.Context, gateway string) ([]chain.Checkpoint, error)
	// Sessions lists sessions matching f, newest first.
	Sessions(ctx context.Context, f SessionFilter) ([]Session, error)
	// PutKey records a gateway's public record key (idempotent).
	PutKey(ctx context.Context, gateway, keyID string, pub []byte) error
	// Keys returns every recorded public key by key id.
	Keys(ctx context.Context) (map[string][]byte, error)
	// Prune deletes a gateway's events with seq <= through and its
	// checkpoints before anchor, and stores anchor, in one transaction.
	Prune(ctx context.Context, gateway string, through uint64, anchor *chain.Checkpoint) (int64, error)
	// Close releases the store.
	Close() error
}

// ErrNotFound is returned when a requested session does not exist.
var ErrNotFound = errors.New("not found")

// Event is one stored event: the hashed fields (see chain.Link) and the
// resulting hash.
type Event struct {
	Gateway   string
	Seq       uint64
	SessionID string
	// Time is nanoseconds since the Unix epoch.
	Time    int64
	Kind    string
	Payload []byte
	Prev    []byte
	Hash    []byte
	// Usage, when not nil, are the event's usage rows (UsagePayload.Rows),
	// which the recorder computes before encoding the payload; when nil,
	// Append derives them from the payload. Not hashed, not read back.
	Usage []UsageRow
}

// Link returns the hashed fields of e.
func (e *Event) Link() *chain.Link {
	return &chain.Link{Gateway: e.Gateway, Seq: e.Seq, SessionID: e.SessionID,
		TimeUnixNano: e.Time, Kind: e.Kind, Payload: e.Payload, Prev: e.Prev}
}

// Session is the index row of a session, kept for listing. The evidence is
// the session_start and session_end events, which carry the same fields.
type Session struct {
	ID             string `json:"id"`
	Gateway        string `json:"gateway"`
	Agent          string `json:"agent"`
	Subject        string `json:"subject,omitempty"`
	Issuer         string `json:"issuer,omitempty"`
	Role           string `json:"role,omitempty"`
	Grant          string `json:"grant,omitempty"`
	Connection     string `json:"connection"`
	ClientAddr     string `json:"client_addr,omitempty"`
	BundleRevision string `json:"bundle_revision,omitempty"`
	// Start and End are nanoseconds since the Unix epoch; End is 0 while open.
	Start     int64  `json:"start"`
	End       int64  `json:"end,omitempty"`
	EndReason string `json:"end_reason,omitempty"`
}

// Batch is what the recorder writes in one transaction. Sessions are
// upserted by id.
type Batch struct {
	Events      []Event
	Checkpoints []chain.Checkpoint
	Sessions    []Session
}

// Head is the last event of a chain.
type Head struct {
	Seq  uint64
	Hash []byte
	Time int64
}

// EventFilter selects events. Zero fields do not filter.
type EventFilter struct {
	Gateway   string
	SessionID string
	FromSeq   uint64
	ToSeq     uint64
	// Since and Until bound the event time (ns), inclusive.
	Since, Until int64
	Kinds        []string
}

// SessionFilter selects sessions. Zero fields do not filter.
type SessionFilter struct {
	ID         string
	Agent      string
	Connection string
	// Since keeps sessions open at or after this time (ns).
	Since int64
	// Limit caps the result; 0 means no limit.
	Limit int
}
