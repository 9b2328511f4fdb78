package recorder

import (
	"errors"
	"fmt"
	"github.com/mandatehq/mandate/runtime/chain"
	"strconv"
	"strings"
	"time"
)

// Durability modes.
const (
	Sync  = "sync"
	Async = "async"
)

// Config is the `record` block of the gateway configuration.
type Config struct {
	// Durability is "sync" (Record returns once the event is committed;
	// concurrent events share one commit) or "async" (Record returns once
	// queued; the writer commits within FlushInterval). Default: "sync".
	Durability string
	// FlushInterval bounds how long an async event waits before its commit
	// starts. Default: 100ms.
	FlushInterval time.Duration
	// QueueSize is how many events may wait for commit; Record blocks (until
	// its context ends) when it is full. Default: 65536 events.
	QueueSize int
	// MaxBatch caps the events committed in one transaction. Default: 8192.
	MaxBatch int
	// CheckpointEvery writes a signed checkpoint after this many events.
	// Default: 1000 events.
	CheckpointEvery int
	// CheckpointInterval writes a signed checkpoint when events are newer
	// than the last checkpoint for this long. Default: 10s.
	CheckpointInterval time.Duration
	// RetryInterval is the pause between attempts to commit after a store
	// failure; the recorder refuses new events meanwhile. Default: 1s.
	RetryInterval time.Duration
	// CommitTimeout bounds one commit. Default: 30s.
	CommitTimeout time.Duration
	// KeepRawStatements keeps the raw statement text next to the redacted
	// form. Raw text can hold personal data. Default: false.
	KeepRawStatements bool
	// Retention deletes events older than this, keeping the remainder
	// verifiable with a signed anchor checkpoint; 0 keeps everything.
	// Written in the config as "400d", "720h". Default: 0.
	Retention time.Duration
	// RetentionCheck is how often retention runs. Default: 1h.
	RetentionCheck time.Duration
	// Instance names this gateway's chain. Default: the id stored in
	// <StateDir>/instance-id, created on first start.
	Instance string
	// StateDir holds the record key (record.key, record.pub) and the
	// instance id. Required unless Instance and Key are set.
	StateDir string

	// Key signs checkpoints. Default: loaded from (or created in) StateDir.
	Key *chain.Key `hcl:"-"`
	// Redact replaces literal values in statement text before it is stored.
	// The gateway passes pg_query normalization plus the masking detectors.
	// Default: DefaultRedact.
	Redact func(string) string `hcl:"-"`
	// Now is the clock. Default: time.Now.
	Now func() time.Time `hcl:"-"`
}

// CheckAndSetDefaults fills defaults and rejects nonsense, naming the field.
func (c *Config) CheckAndSetDefaults() error {
	switch c.Durability {
	case "":
		c.Durability = Sync
	case Sync, Async:
	default:
		return fmt.Errorf("record.durability: %q is not sync or async", c.Durability)
	}
	setDur := func(p *time.Duration, def time.Duration, name string) error {
		if *p < 0 {
			return fmt.Errorf("record.%s: must not be negative", name)
		}
		if *p == 0 {
			*p = def
		}
		return nil
	}
	setInt := func(p *int, def int, name string) error {
		if *p < 0 {
			return fmt.Errorf("record.%s: must not be negative", name)
		}
		if *p == 0 {
			*p = def
		}
		return nil
	}
	for _, err := range []error{
		setDur(&c.FlushInterval, 100*time.Millisecond, "flush_interval"),
		setDur(&c.CheckpointInterval, 10*time.Second, "checkpoint_interval"),
		setDur(&c.RetryInterval, time.Second, "retry_interval"),
		setDur(&c.CommitTimeout, 30*time.Second, "commit_timeout"),
		setDur(&c.RetentionCheck, time.Hour, "retention_check"),
		setInt(&c.QueueSize, 65536, "queue_size"),
		setInt(&c.MaxBatch, 8192, "max_batch"),
		setInt(&c.CheckpointEvery, 1000, "checkpoint_every"),
	} {
		if err != nil {
			return err
		}
	}
	if c.Retention < 0 {
		return errors.New("record.retention: must not be negative")
	}
	if c.Retention > 0 && c.Retention < time.Hour {
		return fmt.Errorf("record.retention: %s is shorter than an hour", c.Retention)
	}
	if c.StateDir == "" && (c.Instance == "" || c.Key == nil) {
		return errors.New("record.state_dir: required to keep the record key and instance id")
	}
	if c.Redact == nil {
		c.Redact = DefaultRedact
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// ParseDuration reads a duration with an optional day unit: "400d", "36h",
// "90d12h". Days are 24 hours.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, 'd'); i > 0 {
		days, err := strconv.ParseInt(s[:i], 10, 32)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("parsing duration %q: bad day count", s)
		}
		rest := time.Duration(0)
		if s[i+1:] != "" {
			if rest, err = time.ParseDuration(s[i+1:]); err != nil {
				return 0, fmt.Errorf("parsing duration %q: %w", s, err)
			}
		}
		return time.Duration(days)*24*time.Hour + rest, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("parsing duration %q: %w", s, err)
	}
	return d, nil
}
