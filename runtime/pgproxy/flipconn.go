package pgproxy

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// errWouldBlock is what a flipConn on an event loop returns from Read when
// the socket has no bytes: pgproto3's Receive passes it through and keeps
// what it read of a message, so the loop calls it again once the socket is
// readable (loop.go). It is a temporary net.Error, which crypto/tls does
// not keep as the connection's error: a TLS connection above the socket
// keeps a partial record and reads on at the next call.
var errWouldBlock error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "pgproxy: no bytes to read yet" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

// maxLoopPending is how many bytes a flipConn on an event loop holds for a
// peer that does not read them before its session leaves the loop, where a
// write that does not fit waits (backpressure) instead of queueing.
const maxLoopPending = 256 << 10

// A flipConn is a session's socket, read and written either through Go's
// netpoller (the embedded net.Conn: calls block) or, while its session is
// on an event loop, with non-blocking system calls on the same descriptor:
// Read returns errWouldBlock when there is nothing to read, and Write
// queues what the socket does not take for the loop to write when it can
// (flush). A session moves off the loop once (toGoroutines) and never back.
//
// The descriptor is reached only through the net.Conn's RawConn, so a
// descriptor closed (and reused) under the loop is never touched.
type flipConn struct {
	net.Conn
	raw syscall.RawConn // nil: never on a loop

	mu sync.Mutex // guards the fields below; Write runs on any goroutine
	// looped is set while on a loop; written under mu, read without it
	// on the paths of a session on goroutines (every read and write).
	looped  atomic.Bool
	pending []byte
	// full is set when pending passed maxLoopPending: the session must
	// leave the loop at its next chance (read by the loop).
	full bool
	// drained is set on the loop when a read found the socket empty or
	// took less than it could: the next read in the same turn returns
	// errWouldBlock without a system call (the loop's epoll set is level
	// triggered, so bytes that came since bring the loop back). The loop
	// clears it at each turn.
	drained bool
	// closeReq is set when Close was called on the loop: the descriptor
	// is closed when the session leaves it (toGoroutines).
	closeReq bool
	// wantOut is called (under mu) when pending becomes non-empty: the
	// loop then watches the socket for writability.
	wantOut func()
}

// newFlipConn wraps c; loopable when c is a plain TCP or Unix socket
// (after any startup bytes were replayed).
func newFlipConn(c net.Conn) *flipConn {
	f := &flipConn{Conn: c}
	inner := c
	if p, ok := c.(*prefixConn); ok && len(p.prefix) == 0 {
		inner = p.Conn
	}
	switch s := inner.(type) {
	case *net.TCPConn:
		f.raw, _ = s.SyscallConn()
	case *net.UnixConn:
		f.raw, _ = s.SyscallConn()
	}
	return f
}

// undrain lets the next read on the loop make its system call: the loop
// calls it when epoll reports the socket readable.
func (f *flipConn) undrain() {
	f.mu.Lock()
	f.drained = false
	f.mu.Unlock()
}

func (f *flipConn) Read(p []byte) (int, error) {
	if !f.looped.Load() {
		return f.Conn.Read(p)
	}
	f.mu.Lock()
	drained := f.drained
	f.mu.Unlock()
	if drained {
		return 0, errWouldBlock
	}
	var n int
	var err error
	if cerr := f.raw.Control(func(fd uintptr) { n, err = unix.Read(int(fd), p) }); cerr != nil {
		return 0, cerr
	}
	if (err == nil && n < len(p)) || err == unix.EAGAIN || err == unix.EINTR {
		f.mu.Lock()
		f.drained = true
		f.mu.Unlock()
	}
	switch {
	case err == unix.EAGAIN, err == unix.EINTR:
		return 0, errWouldBlock // level-triggered: the loop comes back
	case err != nil:
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: err}
	case n == 0 && len(p) > 0:
		return 0, io.EOF
	}
	return n, nil
}

func (f *flipConn) Write(p []byte) (int, error) {
	if !f.looped.Load() {
		return f.Conn.Write(p)
	}
	f.mu.Lock()
	if !f.looped.Load() { // left the loop meanwhile
		f.mu.Unlock()
		return f.Conn.Write(p)
	}
	defer f.mu.Unlock()
	if len(f.pending) > 0 {
		f.queue(p)
		return len(p), nil
	}
	w, err := f.write(p)
	if err != nil {
		return w, err
	}
	if w < len(p) {
		f.queue(p[w:])
	}
	return len(p), nil
}

// write makes one non-blocking write; called with mu held.
func (f *flipConn) write(p []byte) (int, error) {
	var w int
	var err error
	if cerr := f.raw.Control(func(fd uintptr) { w, err = unix.Write(int(fd), p) }); cerr != nil {
		return 0, cerr
	}
	if err == unix.EAGAIN || err == unix.EINTR {
		return 0, nil
	}
	if err != nil {
		return 0, &net.OpError{Op: "write", Net: "tcp", Err: err}
	}
	return w, nil
}

// queue keeps p for the loop to write; called with mu held.
func (f *flipConn) queue(p []byte) {
	if len(f.pending) == 0 && f.wantOut != nil {
		f.wantOut()
	}
	f.pending = append(f.pending, p...)
	if len(f.pending) > maxLoopPending {
		f.full = true
	}
}

// flush writes what is pending, as far as the socket takes it; it reports
// whether nothing is left.
func (f *flipConn) flush() (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.pending) > 0 {
		w, err := f.write(f.pending)
		if err != nil {
			return false, err
		}
		if w == 0 {
			return false, nil
		}
		f.pending = f.pending[w:]
	}
	f.pending = nil
	return true, nil
}

// isFull reports whether a peer that does not read has filled pending.
func (f *flipConn) isFull() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.full
}

// toLoop puts f on an event loop.
func (f *flipConn) toLoop(wantOut func()) {
	f.mu.Lock()
	f.looped.Store(true)
	f.wantOut = wantOut
	f.mu.Unlock()
}

// toGoroutines takes f off its loop: what is pending is written first,
// blocking, so the bytes keep their order, and a Close made on the loop
// takes effect.
func (f *flipConn) toGoroutines() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.looped.Store(false)
	f.wantOut, f.full = nil, false
	var err error
	if len(f.pending) > 0 {
		p := f.pending
		f.pending = nil
		_, err = f.Conn.Write(p)
	}
	if f.closeReq {
		f.Conn.Close()
	}
	return err
}

// Close closes the socket; on a loop, from any goroutine, it writes what
// the socket takes of what is pending and shuts the reading side, which
// the loop sees as the end of the connection, and the descriptor is closed
// once the session left the loop (the loop never reads a descriptor
// closed under it).
func (f *flipConn) Close() error {
	f.mu.Lock()
	if !f.looped.Load() {
		f.mu.Unlock()
		return f.Conn.Close()
	}
	f.closeReq = true
	for len(f.pending) > 0 {
		w, err := f.write(f.pending)
		if err != nil || w == 0 {
			break
		}
		f.pending = f.pending[w:]
	}
	f.mu.Unlock()
	return f.raw.Control(func(fd uintptr) { _ = unix.Shutdown(int(fd), unix.SHUT_RD) })
}
