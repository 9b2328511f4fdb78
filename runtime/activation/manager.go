package activation

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mandatehq/mandate/model"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Manager.
type Options struct {
	// Load verifies and prepares bundle bytes. Required.
	Load LoadFunc
	// StateDir is where the last good bundle is persisted; "" disables
	// persistence (tests).
	StateDir string
	// Source names where bundles come from, for Status and logs.
	Source string
	// MaxAge: past it without a confirmation, Current denies everything.
	// 0 disables the check.
	MaxAge time.Duration
	// AllowRollback accepts bundles with an older commit time.
	AllowRollback bool
	Logger        *slog.Logger
	// Registerer receives the metrics; nil uses a private registry.
	Registerer prometheus.Registerer
	// Now is the clock; nil uses time.Now.
	Now func() time.Time
}

// active is one activated bundle; it never changes after the swap.
type active struct {
	Prepared
	engine      *instrumented
	digest      [32]byte
	activatedAt time.Time
}

// Manager owns the active bundle. Its methods are safe for concurrent use.
type Manager struct {
	opts    Options
	log     *slog.Logger
	metrics *Metrics
	now     func() time.Time

	cur       atomic.Pointer[active]
	confirmed atomic.Int64 // unix nanos of the last confirmation; 0 = never
	stale     atomic.Bool  // logged transition into max_age failure
	noBundle  *instrumented

	mu        sync.Mutex // serialises Offer, Confirm bookkeeping and persistence
	highWater time.Time  // newest commit time ever activated (persisted)
	persisted time.Time  // when confirmed_at was last written
}

// New returns a Manager with no active bundle: Current denies everything
// until Restore or Offer activates one.
func New(opts Options) (*Manager, error) {
	if opts.Load == nil {
		return nil, errors.New("activation: Options.Load is required")
	}
	m := &Manager{opts: opts, log: opts.Logger, now: opts.Now}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	reg := opts.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m.metrics = NewMetrics(reg, m.ageSeconds)
	m.noBundle = &instrumented{Engine: denyAll{reason: reasonNoBundle}, m: m.metrics}
	return m, nil
}

// Current returns the engine to decide with right now: the active bundle's,
// or one that denies everything with the reason when there is none or it
// is older than max_age. Call it for every decision; do not keep it.
func (m *Manager) Current() Engine {
	a := m.cur.Load()
	if a == nil {
		return m.noBundle
	}
	if since, stale := m.staleFor(); stale {
		if m.stale.CompareAndSwap(false, true) {
			m.log.Error("bundle older than max_age; denying everything",
				"revision", a.Revision, "since_confirmed", since.String(), "max_age", m.opts.MaxAge.String())
		}
		return &instrumented{Engine: denyAll{reason: staleReason(since, m.opts.MaxAge)}, m: m.metrics}
	}
	return a.engine
}

// Policy returns the active bundle's policy, or nil when none is active or
// it is stale (callers fail closed).
func (m *Manager) Policy() *model.Policy {
	a := m.cur.Load()
	if a == nil {
		return nil
	}
	if _, stale := m.staleFor(); stale {
		return nil
	}
	return a.Policy
}

func (m *Manager) staleFor() (time.Duration, bool) {
	if m.opts.MaxAge <= 0 {
		return 0, false
	}
	since := m.now().Sub(time.Unix(0, m.confirmed.Load()))
	return since, since > m.opts.MaxAge
}

func (m *Manager) ageSeconds() float64 {
	c := m.confirmed.Load()
	if c == 0 {
		return 0
	}
	return m.now().Sub(time.Unix(0, c)).Seconds()
}

// Offer verifies data, prepares it and, if it is newer, swaps it in.
// Decisions in flight finish on the old engine. Offering the active
// bundle's exact bytes again is a confirmation. A rejection is logged,
// counted by reason and returned; the active bundle stays.
func (m *Manager) Offer(ctx context.Context, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	digest := sha256.Sum256(data)
	if a := m.cur.Load(); a != nil && bytes.Equal(a.digest[:], digest[:]) {
		m.confirmLocked()
		return nil
	}
	start := m.now()
	p, err := m.opts.Load(ctx, data)
	if err == nil && (p == nil || p.Engine == nil) {
		err = Reject(ReasonInvalid, errors.New("loader returned no engine"))
	}
	if err == nil && !m.opts.AllowRollback && p.CommitTime.Before(m.highWater) {
		err = Reject(ReasonRollback, fmt.Errorf("commit time %s is older than %s of an activated bundle; set allow_rollback = true to accept it",
			p.CommitTime.UTC().Format(time.RFC3339), m.highWater.UTC().Format(time.RFC3339)))
	}
	if err != nil {
		m.rejectLocked(err)
		return err
	}
	m.swapLocked(p, digest, start)
	m.confirmLocked()
	if err := m.persist(data); err != nil {
		m.log.Error("persisting last good bundle", "error", err.Error())
	}
	return nil
}

func (m *Manager) rejectLocked(err error) {
	reason := ReasonOf(err)
	m.metrics.rejected.WithLabelValues(reason).Inc()
	keep := ""
	if a := m.cur.Load(); a != nil {
		keep = a.Revision
	}
	m.log.Error("bundle rejected", "reason", reason, "error", err.Error(),
		"source", m.opts.Source, "active_revision", keep)
}

func (m *Manager) swapLocked(p *Prepared, digest [32]byte, start time.Time) {
	a := &active{Prepared: *p, digest: digest, activatedAt: m.now()}
	a.engine = &instrumented{Engine: p.Engine, m: m.metrics}
	old := m.cur.Swap(a)
	if p.CommitTime.After(m.highWater) {
		m.highWater = p.CommitTime
	}
	if old != nil {
		m.metrics.info.DeleteLabelValues(old.Revision)
	}
	m.metrics.info.WithLabelValues(p.Revision).Set(1)
	if p.CommitTime.IsZero() {
		m.metrics.commitTime.Set(0)
	} else {
		m.metrics.commitTime.Set(float64(p.CommitTime.Unix()))
	}
	m.metrics.activations.Inc()
	prev := ""
	if old != nil {
		prev = old.Revision
	}
	m.log.Info("bundle activated", "revision", p.Revision, "previous", prev,
		"commit_time", p.CommitTime.UTC().Format(time.RFC3339), "source", m.opts.Source,
		"prepare_ms", m.now().Sub(start).Milliseconds())
}

// Confirm records that the source still serves the active bundle (an
// unchanged file, a 304 Not Modified).
func (m *Manager) Confirm() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cur.Load() == nil {
		return
	}
	m.confirmLocked()
}

func (m *Manager) confirmLocked() {
	now := m.now()
	m.confirmed.Store(now.UnixNano())
	if m.stale.CompareAndSwap(true, false) {
		m.log.Info("bundle confirmed current again; deciding with policy", "revision", m.cur.Load().Revision)
	}
	if now.Sub(m.persisted) >= persistConfirmEvery {
		m.persisted = now
		if err := m.writeMeta(); err != nil {
			m.log.Error("persisting bundle confirmation", "error", err.Error())
		}
	}
}

// Flush persists the last confirmation time now (at shutdown), so a
// restart counts max_age from it.
func (m *Manager) Flush() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.writeMeta(); err != nil {
		m.log.Error("persisting bundle confirmation", "error", err.Error())
	}
}

// FetchFailed records that the source could not be read; the active bundle
// stays and max_age keeps counting.
func (m *Manager) FetchFailed(err error) {
	m.metrics.fetchErrors.Inc()
	m.log.Warn("fetching bundle", "source", m.opts.Source, "error", err.Error())
}

// Rejected records a bundle refused before it reached Offer (a source that
// found it oversized).
func (m *Manager) Rejected(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rejectLocked(err)
}

// Status describes the active bundle for /v1/bundle and /readyz.
type Status struct {
	Ready       bool      `json:"ready"`
	Reason      string    `json:"reason,omitempty"`
	Revision    string    `json:"revision,omitempty"`
	Source      string    `json:"source"`
	CommitTime  time.Time `json:"commit_time,omitzero"`
	ActivatedAt time.Time `json:"activated_at,omitzero"`
	ConfirmedAt time.Time `json:"confirmed_at,omitzero"`
}

// Status reports the active bundle; Ready is false with a Reason when
// Current would deny everything.
func (m *Manager) Status() Status {
	s := Status{Source: m.opts.Source}
	a := m.cur.Load()
	if a == nil {
		s.Reason = reasonNoBundle
		return s
	}
	s.Revision, s.CommitTime, s.ActivatedAt = a.Revision, a.CommitTime.UTC(), a.activatedAt.UTC()
	if c := m.confirmed.Load(); c != 0 {
		s.ConfirmedAt = time.Unix(0, c).UTC()
	}
	if since, stale := m.staleFor(); stale {
		s.Reason = staleReason(since, m.opts.MaxAge)
		return s
	}
	s.Ready = true
	return s
}
