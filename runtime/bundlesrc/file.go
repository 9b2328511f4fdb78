package bundlesrc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// fileSource reads a bundle file, watching its directory so a new file is
// picked up within Debounce, and polling so a missed event or a watcher
// that cannot start only delays it by one interval.
type fileSource struct {
	path string
	opts Options
	log  *slog.Logger

	// last is the digest of the last data returned (have says there is
	// one), size and modTime the file's stat then; owned by the poll loop.
	last [32]byte
	have bool
	// prev is the file's stat at the last read; settled says its mtime was
	// then old enough that a later write would show as a new mtime.
	prev    os.FileInfo
	settled bool
}

// mtimeSettle is how old an mtime must be before an unchanged stat is
// trusted to mean unchanged content (coarse filesystem timestamps).
const mtimeSettle = 2 * time.Second

var _ fetcher = (*fileSource)(nil)

func newFileSource(path string, opts Options) *fileSource {
	if !filepath.IsAbs(path) && opts.BaseDir != "" {
		path = filepath.Join(opts.BaseDir, path)
	}
	return &fileSource{path: filepath.Clean(path), opts: opts, log: opts.Logger}
}

func (s *fileSource) String() string { return "file://" + s.path }

// Run watches and polls until ctx ends. The watcher goroutine is owned by
// Run and stopped before it returns.
func (s *fileSource) Run(ctx context.Context, deliver Deliver) {
	trigger := make(chan struct{}, 1)
	done := make(chan struct{})
	w, err := fsnotify.NewWatcher()
	if err == nil {
		err = w.Add(filepath.Dir(s.path))
		if err != nil {
			w.Close()
		}
	}
	if err != nil {
		s.log.Warn("not watching bundle file; polling only", "path", s.path, "error", err.Error())
		close(done)
	} else {
		go func() {
			defer close(done)
			defer w.Close()
			s.watch(ctx, w, trigger)
		}()
	}
	poll(ctx, s, s.opts.Poll, trigger, deliver)
	<-done
}

// watch turns events on the bundle file (written in place or renamed over)
// into one trigger per quiet period of Debounce.
func (s *fileSource) watch(ctx context.Context, w *fsnotify.Watcher, trigger chan<- struct{}) {
	var timer *time.Timer
	var fire <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if filepath.Clean(ev.Name) != s.path || ev.Op == fsnotify.Chmod {
				continue
			}
			if timer == nil {
				timer = time.NewTimer(Debounce)
			} else {
				timer.Reset(Debounce)
			}
			fire = timer.C
		case <-fire:
			fire = nil
			select {
			case trigger <- struct{}{}:
			default:
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			s.log.Warn("watching bundle file", "path", s.path, "error", err.Error())
		}
	}
}

func (s *fileSource) fetch(context.Context) ([]byte, bool, error) {
	fi, err := os.Stat(s.path)
	if err != nil {
		return nil, false, fmt.Errorf("reading bundle %s: %w", s.path, err)
	}
	if fi.Size() > s.opts.MaxSize {
		return nil, false, fmt.Errorf("reading bundle %s: %d bytes: %w (%d bytes)", s.path, fi.Size(), ErrTooLarge, s.opts.MaxSize)
	}
	if s.have && s.settled && os.SameFile(s.prev, fi) && fi.Size() == s.prev.Size() && fi.ModTime().Equal(s.prev.ModTime()) {
		return nil, true, nil
	}
	f, err := os.Open(s.path)
	if err != nil {
		return nil, false, fmt.Errorf("reading bundle %s: %w", s.path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, s.opts.MaxSize+1))
	if err != nil {
		return nil, false, fmt.Errorf("reading bundle %s: %w", s.path, err)
	}
	if int64(len(data)) > s.opts.MaxSize {
		return nil, false, fmt.Errorf("reading bundle %s: %w (%d bytes)", s.path, ErrTooLarge, s.opts.MaxSize)
	}
	sum := sha256.Sum256(data)
	s.prev, s.settled = fi, time.Since(fi.ModTime()) > mtimeSettle
	if s.have && bytes.Equal(sum[:], s.last[:]) {
		return nil, true, nil
	}
	s.last, s.have = sum, true
	return data, false, nil
}
