package recorder

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mandatehq/mandate/runtime/chain"
	"github.com/mandatehq/mandate/runtime/store"
)

// ErrUnavailable is wrapped by every error Record returns when the recorder
// cannot accept events; the gateway denies the statement with its message.
var ErrUnavailable = errors.New("recorder unavailable")

// ErrClosed is returned after Close.
var ErrClosed = fmt.Errorf("%w: recorder closed", ErrUnavailable)

// Ack says an event was accepted. Durable is set when Record waited for the
// commit (sync mode, RecordSync).
type Ack struct {
	Seq     uint64
	Durable bool
}

// Recorder writes a gateway's session record. It is safe for concurrent use.
type Recorder struct {
	cfg     Config
	st      store.Store
	key     *chain.Key
	gateway string
	m       *metrics

	slots chan struct{} // one token per queued event (QueueSize)
	wake  chan struct{} // cap 1: pending has items
	stop  chan struct{}
	done  chan struct{}
	// retentionDone is closed when the retention goroutine ends (at once
	// when Retention is 0).
	retentionDone chan struct{}

	mu      sync.Mutex
	pending []*item
	// pendingSync counts pending items whose caller waits (done != nil).
	pendingSync int
	nextSeq     uint64
	lastT       int64
	closed      bool
	// lingering is set while the writer lets async events gather: only a
	// full batch or a waiting caller needs to wake it then.
	lingering bool

	unhealthy atomic.Pointer[error]

	// owned by the writer goroutine
	w writerState
}

// item is one queued event.
type item struct {
	ev      store.Event
	session *store.Session // upserted with the event (start, end)
	done    chan error     // nil for async events
	queued  time.Time
}

// New opens the recorder on st: it loads the key and instance id, resumes
// the chain at the store's head after checking the events since the last
// checkpoint, records a recorder event (noting an unclean previous stop),
// and starts the writer goroutine.
func New(ctx context.Context, st store.Store, cfg Config) (*Recorder, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	r := &Recorder{cfg: cfg, st: st, key: cfg.Key, gateway: cfg.Instance,
		slots: make(chan struct{}, cfg.QueueSize), wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}), retentionDone: make(chan struct{})}
	var err error
	if r.key == nil {
		if r.key, err = chain.LoadOrCreateKey(cfg.StateDir); err != nil {
			return nil, err
		}
	}
	if r.gateway == "" {
		if r.gateway, err = loadInstanceID(cfg.StateDir); err != nil {
			return nil, err
		}
	}
	if err := st.PutKey(ctx, r.gateway, r.key.ID, r.key.Public); err != nil {
		return nil, err
	}
	note, err := r.resume(ctx)
	if err != nil {
		return nil, err
	}
	r.m = newMetrics(r)
	go r.writer()
	if cfg.Retention > 0 {
		go r.retention()
	} else {
		close(r.retentionDone)
	}
	if _, err := r.enqueue(ctx, "", "", &Event{Kind: KindRecorder, Note: note}, nil, true); err != nil {
		r.Close()
		return nil, fmt.Errorf("recording recorder start: %w", err)
	}
	return r, nil
}

// Gateway returns the instance id naming this recorder's chain.
func (r *Recorder) Gateway() string { return r.gateway }

// Durability is the configured durability mode, Sync or Async.
func (r *Recorder) Durability() string { return r.cfg.Durability }

// FlushInterval is how long an async event may wait before its commit
// starts.
func (r *Recorder) FlushInterval() time.Duration { return r.cfg.FlushInterval }

// PublicKey returns the checkpoint verification key.
func (r *Recorder) PublicKey() *chain.Key { return &chain.Key{ID: r.key.ID, Public: r.key.Public} }

// Healthy returns nil when the recorder accepts events, else the reason.
func (r *Recorder) Healthy() error {
	if p := r.unhealthy.Load(); p != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, *p)
	}
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return ErrClosed
	}
	return nil
}

// StartSession records the start of a session and returns it. The caller
// owns the session and must End it.
func (r *Recorder) StartSession(ctx context.Context, info SessionInfo) (*Session, error) {
	if info.ID == "" {
		info.ID = NewSessionID()
	}
	if info.Start.IsZero() {
		info.Start = r.cfg.Now()
	}
	s := &Session{r: r, info: info}
	row := s.row()
	if _, err := r.enqueue(ctx, info.ID, info.Agent, &Event{Kind: KindSessionStart, Time: info.Start, Session: &info}, &row, r.cfg.Durability == Sync); err != nil {
		return nil, err
	}
	return s, nil
}

// RecordAuthFailure records a failed authentication, which opens no
// session. It does not wait for the commit: a client that fails to
// authenticate must not make the gateway wait on the store. Fields the
// client chose (the claimed agent) are made valid UTF-8 and cut to a bound.
func (r *Recorder) RecordAuthFailure(ctx context.Context, a Auth) error {
	a.OK = false
	a.Agent = boundText(a.Agent)
	a.Connection = boundText(a.Connection)
	_, err := r.enqueue(ctx, "", "", &Event{Kind: KindAuth, Time: r.cfg.Now(), Auth: &a}, nil, false)
	return err
}

// maxClaimedText bounds client-chosen names kept in auth failure records.
const maxClaimedText = 128

func boundText(s string) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if len(s) > maxClaimedText {
		s = strings.ToValidUTF8(s[:maxClaimedText], "")
	}
	return s
}

// enqueue assigns the next seq and queues ev; with wait it blocks until the
// commit. Record-side work (redaction, JSON encoding) happens here, on the
// caller's goroutine.
func (r *Recorder) enqueue(ctx context.Context, sessionID, agent string, ev *Event, sess *store.Session, wait bool) (Ack, error) {
	if err := r.Healthy(); err != nil {
		r.m.rejected.Inc()
		return Ack{}, err
	}
	r.redact(ev)
	payload, err := json.Marshal(ev)
	if err != nil {
		return Ack{}, fmt.Errorf("encoding %s event: %w", ev.Kind, err)
	}
	usage := usageRows(agent, ev)
	select {
	case r.slots <- struct{}{}:
	case <-ctx.Done():
		r.m.rejected.Inc()
		return Ack{}, fmt.Errorf("%w: queue full: %v", ErrUnavailable, ctx.Err())
	}
	it := &item{session: sess, queued: time.Now()}
	if wait {
		it.done = make(chan error, 1)
	}
	t := ev.Time
	if t.IsZero() {
		t = r.cfg.Now()
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		<-r.slots
		return Ack{}, ErrClosed
	}
	ns := t.UnixNano()
	if ns < r.lastT {
		ns = r.lastT // keep event time monotonic along the chain
	}
	r.lastT = ns
	it.ev = store.Event{Gateway: r.gateway, Seq: r.nextSeq, SessionID: sessionID, Time: ns, Kind: string(ev.Kind), Payload: payload, Usage: usage}
	r.nextSeq++
	ack, done := Ack{Seq: it.ev.Seq}, it.done // the writer owns it from here
	r.pending = append(r.pending, it)
	if wait {
		r.pendingSync++
	}
	signal := !r.lingering || wait || len(r.pending) >= r.cfg.MaxBatch
	r.mu.Unlock()
	if signal {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
	if !wait {
		return ack, nil
	}
	// The commit outcome arrives even if ctx ends: the event is queued and
	// the caller must learn whether it became durable.
	if err := <-done; err != nil {
		return ack, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	ack.Durable = true
	return ack, nil
}

func (r *Recorder) redact(ev *Event) {
	if st := ev.Statement; st != nil {
		// A caller may pass the raw text apart from an already normalized
		// Text (the Postgres proxy does); otherwise Text is the raw text.
		raw := st.Raw
		if raw == "" {
			raw = st.Text
		}
		st.Text = r.cfg.Redact(st.Text)
		st.Raw = ""
		if r.cfg.KeepRawStatements {
			st.Raw = raw
		}
	}
}

// NewSessionID returns a random session id.
func NewSessionID() string {
	var b [10]byte
	rand.Read(b[:])
	return "s_" + hex.EncodeToString(b[:])
}

// loadInstanceID reads dir/instance-id or creates it.
func loadInstanceID(dir string) (string, error) {
	p := filepath.Join(dir, "instance-id")
	b, err := os.ReadFile(p)
	if err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("reading instance id %s: %w", p, err)
	}
	var rb [6]byte
	rand.Read(rb[:])
	id := "gw-" + hex.EncodeToString(rb[:])
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("creating state directory %s: %w", dir, err)
	}
	if err := os.WriteFile(p, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing instance id %s: %w", p, err)
	}
	return id, nil
}

// KeepsRawStatements reports whether statement events keep their raw
// text (keep_raw_statements).
func (r *Recorder) KeepsRawStatements() bool { return r.cfg.KeepRawStatements }
