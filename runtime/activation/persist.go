package activation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// persistConfirmEvery bounds how often a confirmation alone rewrites the
// persisted metadata (each one still resets max_age in memory).
var persistConfirmEvery = time.Minute

// Files under StateDir/bundle.
const (
	lastGoodBundle = "last-good.tar.gz"
	lastGoodMeta   = "last-good.json"
)

// meta is what survives a restart besides the bundle bytes. ConfirmedAt
// keeps max_age counting across restarts; HighWater keeps rollback
// protection.
type meta struct {
	Revision    string    `json:"revision"`
	SHA256      string    `json:"sha256"`
	Source      string    `json:"source"`
	CommitTime  time.Time `json:"commit_time"`
	HighWater   time.Time `json:"high_water_commit_time"`
	ActivatedAt time.Time `json:"activated_at"`
	ConfirmedAt time.Time `json:"confirmed_at"`
}

func (m *Manager) dir() string { return filepath.Join(m.opts.StateDir, "bundle") }

// persist writes the bundle and its metadata atomically (temp file, fsync,
// rename). Called with m.mu held after a swap.
func (m *Manager) persist(data []byte) error {
	if m.opts.StateDir == "" {
		return nil
	}
	if err := os.MkdirAll(m.dir(), 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", m.dir(), err)
	}
	if err := writeAtomic(filepath.Join(m.dir(), lastGoodBundle), data); err != nil {
		return err
	}
	m.persisted = m.now()
	return m.writeMeta()
}

func (m *Manager) writeMeta() error {
	a := m.cur.Load()
	if m.opts.StateDir == "" || a == nil {
		return nil
	}
	md := meta{
		Revision: a.Revision, SHA256: hex.EncodeToString(a.digest[:]), Source: m.opts.Source,
		CommitTime: a.CommitTime.UTC(), HighWater: m.highWater.UTC(), ActivatedAt: a.activatedAt.UTC(),
		ConfirmedAt: time.Unix(0, m.confirmed.Load()).UTC(),
	}
	b, err := json.MarshalIndent(md, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding bundle metadata: %w", err)
	}
	if err := os.MkdirAll(m.dir(), 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", m.dir(), err)
	}
	return writeAtomic(filepath.Join(m.dir(), lastGoodMeta), append(b, '\n'))
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("creating temp file for %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("syncing %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("renaming %s: %w", path, err)
	}
	return nil
}

// Restore re-verifies the persisted last good bundle and activates it, so a
// gateway restarts while its source is down. Its last confirmation time is
// restored too: a restart does not reset max_age. No persisted bundle is
// not an error; a persisted bundle that no longer verifies (a rotated key)
// is rejected, logged and returned.
func (m *Manager) Restore(ctx context.Context) error {
	if m.opts.StateDir == "" {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var md meta
	if b, err := os.ReadFile(filepath.Join(m.dir(), lastGoodMeta)); err == nil {
		if err := json.Unmarshal(b, &md); err != nil {
			m.log.Warn("ignoring unreadable bundle metadata", "error", err.Error())
			md = meta{}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading bundle metadata: %w", err)
	}
	m.highWater = md.HighWater
	data, err := os.ReadFile(filepath.Join(m.dir(), lastGoodBundle))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading last good bundle: %w", err)
	}
	start := m.now()
	p, err := m.opts.Load(ctx, data)
	if err == nil && (p == nil || p.Engine == nil) {
		err = Reject(ReasonInvalid, errors.New("loader returned no engine"))
	}
	if err != nil {
		err = fmt.Errorf("re-verifying the persisted bundle: %w", err)
		m.rejectLocked(err)
		return err
	}
	m.swapLocked(p, sha256.Sum256(data), start)
	confirmed := md.ConfirmedAt
	if md.Revision != p.Revision || confirmed.IsZero() {
		// Metadata from another bundle: count max_age from its activation
		// time at best, never from now.
		confirmed = md.ActivatedAt
	}
	if !confirmed.IsZero() {
		m.confirmed.Store(confirmed.UnixNano())
	}
	m.persisted = m.now()
	m.log.Info("restored last good bundle", "revision", p.Revision,
		"confirmed_at", confirmed.UTC().Format(time.RFC3339))
	return nil
}
