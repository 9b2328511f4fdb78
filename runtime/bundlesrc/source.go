package bundlesrc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// ErrTooLarge is wrapped by fetch errors for a bundle over the size limit.
var ErrTooLarge = errors.New("bundle exceeds the size limit")

// Event is the outcome of one check of a source. Exactly one of Data,
// NotModified and Err is set.
type Event struct {
	// Data is a bundle the source had not delivered before (unverified).
	Data []byte
	// NotModified says the source still serves the bundle last delivered,
	// and that bundle was accepted.
	NotModified bool
	Err         error
}

// Deliver receives events; it returns an error when it refused Data, so the
// source does not later confirm the refused bundle as current.
type Deliver func(Event) error

// Source delivers bundles until its context ends.
type Source interface {
	Run(ctx context.Context, deliver Deliver)
	String() string
}

// Options configure a source.
type Options struct {
	// Poll is the interval between checks. Required (> 0).
	Poll time.Duration
	// MaxSize is the largest bundle accepted, in bytes. Required (> 0).
	MaxSize int64
	// Client fetches https sources; nil uses a client with TLS verification
	// and a FetchTimeout.
	Client *http.Client
	Logger *slog.Logger
	// BaseDir resolves relative file:// paths.
	BaseDir string
}

// Timing of the poll loop; variables so tests can shorten them.
var (
	// FetchTimeout bounds one fetch.
	FetchTimeout = 30 * time.Second
	// MinBackoff is the first retry delay after an error; it doubles up to
	// the poll interval (at least MaxBackoff).
	MinBackoff = time.Second
	MaxBackoff = 5 * time.Minute
	// Debounce is how long a watched file must stay quiet before it is read.
	Debounce = 250 * time.Millisecond
)

// New returns the source for url: file://path or https://host/path (http://
// is accepted for tests and loopback; config refuses it elsewhere).
func New(url string, opts Options) (Source, error) {
	if opts.Poll <= 0 || opts.MaxSize <= 0 {
		return nil, errors.New("bundle source: Poll and MaxSize must be positive")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	switch {
	case strings.HasPrefix(url, "file://"):
		return newFileSource(strings.TrimPrefix(url, "file://"), opts), nil
	case strings.HasPrefix(url, "https://"), strings.HasPrefix(url, "http://"):
		return newHTTPSource(url, opts), nil
	}
	return nil, fmt.Errorf("bundle source %q: unsupported scheme (want file:// or https://)", url)
}

// fetcher checks a source once. A new kind of source implements it.
type fetcher interface {
	// fetch returns new bundle bytes, notModified, or an error.
	fetch(ctx context.Context) (data []byte, notModified bool, err error)
}

// poll checks f every interval, and right away on a trigger, until ctx
// ends. After an error it retries with a jittered exponential backoff.
func poll(ctx context.Context, f fetcher, interval time.Duration, trigger <-chan struct{}, deliver Deliver) {
	failures := 0
	acceptedLast := false
	for {
		fctx, cancel := context.WithTimeout(ctx, FetchTimeout)
		data, notModified, err := f.fetch(fctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		wait := jitter(interval, 0.1)
		switch {
		case err != nil:
			failures++
			wait = backoff(failures, interval)
			deliver(Event{Err: err})
		case notModified:
			failures = 0
			if acceptedLast {
				deliver(Event{NotModified: true})
			}
		default:
			failures = 0
			// A refused bundle is never confirmed as current: the
			// source keeps serving it (304, same file) until it changes.
			acceptedLast = deliver(Event{Data: data}) == nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-trigger:
			t.Stop()
		case <-t.C:
		}
	}
}

// backoff is MinBackoff doubled per consecutive failure, capped at the
// larger of interval and MaxBackoff, with jitter in [d/2, d).
func backoff(failures int, interval time.Duration) time.Duration {
	limit := max(interval, MaxBackoff)
	d := MinBackoff
	for i := 1; i < failures && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// jitter spreads d by ±frac so that replicas do not poll in lockstep.
func jitter(d time.Duration, frac float64) time.Duration {
	delta := time.Duration(float64(d) * frac)
	if delta <= 0 {
		return d
	}
	return d - delta + time.Duration(rand.Int64N(int64(2*delta)+1))
}
