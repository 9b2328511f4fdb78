package pgproxy

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
)

// Server accepts PostgreSQL clients. Ownership: Serve owns each listener it
// is given until Close; each accepted connection is owned by one goroutine
// (serveConn) that owns the session's upstream connection too and starts one
// more goroutine (the relay) that it waits for before returning. Close stops
// the listeners, closes every session's connections and waits for all of
// those goroutines.
type Server struct {
	cfg     Config
	catalog *catalog
	masks   *maskCache
	slots   chan struct{} // upstream connection slots; nil = no cap

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	sessions  map[*session]struct{}
	conns     map[net.Conn]struct{} // accepted, not yet closed
	keys      map[cancelKey]*session
	closed    bool

	wg     sync.WaitGroup
	nextID atomic.Uint64

	// Event loops (loop.go), started with the first session that can run
	// on one; loopWG counts their goroutines.
	loops     []*eventLoop
	loopsOnce sync.Once
	nextLoop  atomic.Uint64
	loopWG    sync.WaitGroup
	once      sync.Once
}

// cancelKey is the BackendKeyData the gateway gives a client.
type cancelKey struct {
	pid    uint32
	secret uint32
}

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("pgproxy: server closed")

// New checks cfg and returns a Server.
func New(cfg Config) (*Server, error) {
	if err := cfg.CheckAndSetDefaults(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:       cfg,
		ctx:       ctx,
		cancel:    cancel,
		listeners: map[net.Listener]struct{}{},
		sessions:  map[*session]struct{}{},
		conns:     map[net.Conn]struct{}{},
		keys:      map[cancelKey]*session{},
	}
	s.catalog = newCatalog(s)
	s.masks = newMaskCache(s)
	if cfg.MaxUpstreamConns > 0 {
		s.slots = make(chan struct{}, cfg.MaxUpstreamConns)
	}
	return s, nil
}

// Serve accepts connections on ln until Close or an accept error. It
// always closes ln.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if s.ctx.Err() != nil {
				return ErrServerClosed
			}
			return fmt.Errorf("accepting postgres client: %w", err)
		}
		if !s.track(c) {
			c.Close()
			return ErrServerClosed
		}
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			defer func() {
				if p := recover(); p != nil { // before the session exists
					s.panicked(c, nil, p)
				}
			}()
			s.serveConn(c)
		}()
	}
}

// track adds one connection and its goroutine unless the server is closed.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Close stops accepting, ends every session and waits for their
// goroutines. It is safe to call more than once.
func (s *Server) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		for ln := range s.listeners {
			ln.Close()
		}
		sessions := make([]*session, 0, len(s.sessions))
		for ss := range s.sessions {
			sessions = append(sessions, ss)
		}
		s.mu.Unlock()
		s.cancel()
		// All at once: a session whose client stopped reading takes up to
		// its write deadline (a second) to end.
		var ending sync.WaitGroup
		for _, ss := range sessions {
			ending.Go(func() { ss.shutdown("gateway shutting down") })
		}
		ending.Wait()
		// Connections still in startup: closing them unblocks their reads.
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
		s.closeLoops()
		s.catalog.close()
	})
	return nil
}

// Sessions returns the number of sessions past startup.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// LoopSessions returns the number of sessions running on an event loop
// (loop.go); the others run on goroutines of their own.
func (s *Server) LoopSessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for ss := range s.sessions {
		if ss.adopted.Load() && !ss.handedOff.Load() {
			n++
		}
	}
	return n
}

// register adds ss and gives it a fresh cancel key.
func (s *Server) register(ss *session) (cancelKey, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return cancelKey{}, false
	}
	var k cancelKey
	for {
		var b [8]byte
		_, _ = rand.Read(b[:])
		k = cancelKey{pid: binary.BigEndian.Uint32(b[:4]) &^ (1 << 31), secret: binary.BigEndian.Uint32(b[4:])}
		if _, dup := s.keys[k]; !dup && k.pid != 0 {
			break
		}
	}
	s.keys[k] = ss
	s.sessions[ss] = struct{}{}
	return k, true
}

func (s *Server) unregister(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, ss)
	if s.keys[ss.key] == ss {
		delete(s.keys, ss.key)
	}
}

func (s *Server) lookupKey(k cancelKey) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[k]
}

func (s *Server) newSessionID() string {
	return "pg-" + strconv.FormatUint(s.nextID.Add(1), 10)
}
