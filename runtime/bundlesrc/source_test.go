package bundlesrc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func init() {
	MinBackoff = 5 * time.Millisecond
	Debounce = 20 * time.Millisecond
}

// runner collects the events of a running source.
type runner struct {
	events chan Event
	stop   func()
}

func start(t *testing.T, src Source) *runner {
	t.Helper()
	r := &runner{events: make(chan Event, 100)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		src.Run(ctx, func(ev Event) error {
			r.events <- ev
			return nil
		})
	}()
	r.stop = func() { cancel(); wg.Wait() }
	t.Cleanup(r.stop)
	return r
}

func (r *runner) next(t *testing.T) Event {
	t.Helper()
	select {
	case ev := <-r.events:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event from the source")
		return Event{}
	}
}

// nextData skips confirmations and returns the next Data or Err event.
func (r *runner) nextData(t *testing.T) Event {
	t.Helper()
	for {
		if ev := r.next(t); !ev.NotModified {
			return ev
		}
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil { // how CI publishes: atomically
		t.Fatal(err)
	}
}

func TestFileSourceWatches(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bundle.tar.gz")
	writeFile(t, path, []byte("v1"))
	// A poll interval of an hour: only the watcher can deliver v2 in time.
	src, err := New("file://"+path, Options{Poll: time.Hour, MaxSize: 1024, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, src)
	if ev := r.next(t); string(ev.Data) != "v1" {
		t.Fatalf("first event = %+v", ev)
	}
	writeFile(t, path, []byte("v2"))
	if ev := r.nextData(t); string(ev.Data) != "v2" {
		t.Fatalf("after rewrite = %+v", ev)
	}
	writeFile(t, path, bytes.Repeat([]byte("x"), 2048))
	if ev := r.nextData(t); !errors.Is(ev.Err, ErrTooLarge) {
		t.Fatalf("oversized file = %+v", ev)
	}
}

func TestFileSourcePollsAndConfirms(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "b.tar.gz")
	src, _ := New("file://b.tar.gz", Options{Poll: 10 * time.Millisecond, MaxSize: 1024, Logger: quiet(), BaseDir: dir})
	r := start(t, src)
	if ev := r.next(t); ev.Err == nil || !errors.Is(ev.Err, os.ErrNotExist) {
		t.Fatalf("missing file = %+v", ev)
	}
	writeFile(t, path, []byte("v1"))
	if ev := r.nextData(t); string(ev.Data) != "v1" {
		t.Fatalf("created file = %+v", ev)
	}
	if ev := r.next(t); !ev.NotModified {
		t.Fatalf("unchanged file = %+v, want a confirmation", ev)
	}
}

func TestFileSourceNeverConfirmsRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "b.tar.gz")
	writeFile(t, path, []byte("bad"))
	src, _ := New("file://"+path, Options{Poll: 5 * time.Millisecond, MaxSize: 1024, Logger: quiet()})
	bad := []byte("bad")
	r := startRefusing(t, src, bad)
	if ev := r.next(t); string(ev.Data) != "bad" {
		t.Fatalf("first = %+v", ev)
	}
	select {
	case ev := <-r.events:
		t.Fatalf("event after a refused, unchanged file: %+v", ev)
	case <-time.After(100 * time.Millisecond):
	}
}

// startRefusing runs src with a deliver that refuses Data equal to refuse.
func startRefusing(t *testing.T, src Source, refuse []byte) *runner {
	r := &runner{events: make(chan Event, 100)}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		src.Run(ctx, func(ev Event) error {
			r.events <- ev
			if ev.Data != nil && bytes.Equal(refuse, ev.Data) {
				return errors.New("refused")
			}
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return r
}

// bundleServer serves body with an ETag, answers If-None-Match with 304,
// and can fail or lie about its length.
type bundleServer struct {
	mu       sync.Mutex
	body     []byte
	fail     int // next n requests get 503
	chunked  bool
	requests []string // If-None-Match of each request
}

func (s *bundleServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.Header.Get("If-None-Match"))
	if s.fail > 0 {
		s.fail--
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	etag := fmt.Sprintf(`"%x"`, len(s.body)) + fmt.Sprintf(`"%s"`, s.body[:min(4, len(s.body))])
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	if s.chunked {
		w.(http.Flusher).Flush()
	}
	w.Write(s.body)
}

func (s *bundleServer) set(body []byte, fail int, chunked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.fail, s.chunked = body, fail, chunked
}

func TestHTTPSourceETag(t *testing.T) {
	bs := &bundleServer{body: []byte("v1")}
	srv := httptest.NewTLSServer(bs)
	defer srv.Close()
	src, _ := New(srv.URL+"/bundle.tar.gz", Options{Poll: 5 * time.Millisecond, MaxSize: 1024, Client: srv.Client(), Logger: quiet()})
	r := start(t, src)
	if ev := r.next(t); string(ev.Data) != "v1" {
		t.Fatalf("first = %+v", ev)
	}
	if ev := r.next(t); !ev.NotModified {
		t.Fatalf("second = %+v, want 304 -> confirmation", ev)
	}
	bs.set([]byte("v2"), 2, false)
	for i := range 2 {
		if ev := r.next(t); ev.Err == nil {
			t.Fatalf("failure %d = %+v", i, ev)
		}
	}
	if ev := r.nextData(t); string(ev.Data) != "v2" {
		t.Fatalf("after recovery = %+v", ev)
	}
	bs.set(bytes.Repeat([]byte("y"), 2048), 0, false)
	if ev := r.nextData(t); !errors.Is(ev.Err, ErrTooLarge) {
		t.Fatalf("oversized with Content-Length = %+v", ev)
	}
	bs.set(bytes.Repeat([]byte("z"), 2048), 0, true)
	if ev := r.nextData(t); !errors.Is(ev.Err, ErrTooLarge) {
		t.Fatalf("oversized, chunked = %+v", ev)
	}
	r.stop()
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if bs.requests[0] != "" || bs.requests[1] == "" {
		t.Errorf("If-None-Match headers = %q", bs.requests[:2])
	}
}

func TestHTTPSourceNeverConfirmsRefused(t *testing.T) {
	bs := &bundleServer{body: []byte("bad")}
	srv := httptest.NewTLSServer(bs)
	defer srv.Close()
	src, _ := New(srv.URL, Options{Poll: 5 * time.Millisecond, MaxSize: 1024, Client: srv.Client(), Logger: quiet()})
	r := startRefusing(t, src, []byte("bad"))
	if ev := r.next(t); string(ev.Data) != "bad" {
		t.Fatalf("first = %+v", ev)
	}
	select {
	case ev := <-r.events:
		t.Fatalf("event after a refused bundle answered 304: %+v", ev)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestBackoff(t *testing.T) {
	old := MinBackoff
	MinBackoff = time.Second
	defer func() { MinBackoff = old }()
	for _, tc := range []struct {
		failures int
		lo, hi   time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{3, 2 * time.Second, 4 * time.Second},
		{30, MaxBackoff / 2, MaxBackoff},
	} {
		t.Run(fmt.Sprint(tc.failures), func(t *testing.T) {
			for range 50 {
				if d := backoff(tc.failures, 10*time.Second); d < tc.lo || d > tc.hi {
					t.Fatalf("backoff(%d) = %s, want in [%s, %s]", tc.failures, d, tc.lo, tc.hi)
				}
			}
		})
	}
}

func TestNewRejectsSchemes(t *testing.T) {
	for _, u := range []string{"ftp://x/b", "s3://bucket/b", "b.tar.gz"} {
		if _, err := New(u, Options{Poll: time.Second, MaxSize: 1}); err == nil {
			t.Errorf("New(%q) succeeded", u)
		}
	}
}
