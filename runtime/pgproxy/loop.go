package pgproxy

import (
	"errors"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Event loops. In its steady state a session runs on an event loop: one
// goroutine waits for any of its sessions' sockets to become readable in
// an epoll set of its own, and runs that side of the session (the client
// loop or the relay, the same code as on goroutines) until its socket has
// no more bytes. Forwarding a query and its result then costs no goroutine
// wake-up per message, which is most of what a Go proxy hop costs beyond
// the system calls (docs/benchmarks.md, session 6).
//
// A session leaves its loop for good, to two goroutines of its own as
// sessions without a loop have, before anything that waits on its own
// connections: an answer the client loop must wait for (names.go,
// copyin.go), a peer that does not read what the loop queued for it, and
// its end. The goroutine running the session when it leaves keeps running
// it and hands the loop to a new goroutine (handoff): the loop's other
// sessions do not wait behind it.
//
// A catalog lookup (catalog.go) runs on the loop: it is rare (each answer
// is cached for CatalogTTL), serialised across all sessions anyway, and a
// session leaving its loop at every cache miss would soon leave every
// session on goroutines. Its cost is that a lookup the upstream does not
// answer holds up the loop's other sessions for up to HandshakeTimeout;
// sessions coming back to a loop after they left would lift that.
//
// Ownership: a loop's goroutine owns the sessions it runs until they leave;
// adopt and handoff change the set under mu. The epoll set is level
// triggered, so events a goroutine that handed the loop off did not get to
// come back to the next one.

// An eventLoop is one epoll set and the goroutine waiting on it.
type eventLoop struct {
	srv  *Server
	epfd int // the epoll set
	// wake is an eventfd in the set, written to end the loop: a
	// goroutine waiting in epoll_wait is not woken by closing epfd.
	wake   int
	closed atomic.Bool
	mu     sync.Mutex // guards ends and next
	ends   map[uint64]*loopEnd
	next   uint64
}

// A loopEnd is one socket of a session on a loop.
type loopEnd struct {
	ss     *session
	conn   *flipConn
	client bool // the client's socket; else the upstream's
	token  uint64
}

func newEventLoop(s *Server) (*eventLoop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN} // token 0
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wake)
		return nil, err
	}
	l := &eventLoop{srv: s, epfd: epfd, wake: wake, ends: map[uint64]*loopEnd{}}
	s.loopWG.Add(1)
	go l.run()
	return l, nil
}

// loopFor returns the loop ss should run on, or nil when it runs on
// goroutines: loops are off (the default), a socket is not a plain TCP or Unix socket
// (TLS runs on a loop, above such a socket), or the Recorder's calls may
// wait.
func (s *Server) loopFor(ss *session) *eventLoop {
	if s.cfg.EventLoops == 0 || ss.cflip == nil || ss.cflip.raw == nil || ss.uflip == nil || ss.uflip.raw == nil {
		return nil
	}
	if q, ok := s.cfg.Recorder.(queuingRecorder); !ok || !q.Queues() {
		return nil
	}
	s.loopsOnce.Do(func() {
		for range s.cfg.EventLoops {
			l, err := newEventLoop(s)
			if err != nil {
				s.cfg.Logger.Warn("postgres event loop; sessions run on goroutines", "err", err)
				s.loops = nil
				return
			}
			s.loops = append(s.loops, l)
		}
	})
	if len(s.loops) == 0 {
		return nil
	}
	return s.loops[s.nextLoop.Add(1)%uint64(len(s.loops))]
}

// closeLoops ends the loops' goroutines once no session runs on them.
func (s *Server) closeLoops() {
	for _, l := range s.loops {
		l.closed.Store(true)
		_, _ = unix.Write(l.wake, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	}
	s.loopWG.Wait()
	for _, l := range s.loops {
		unix.Close(l.epfd)
		unix.Close(l.wake)
	}
}

// adopt puts ss on l; false when its client socket is already gone (ss
// then runs on goroutines).
func (l *eventLoop) adopt(ss *session) bool {
	l.mu.Lock()
	ce := &loopEnd{ss: ss, conn: ss.cflip, client: true, token: l.next + 1}
	ue := &loopEnd{ss: ss, conn: ss.uflip, token: l.next + 2}
	l.next += 2
	l.ends[ce.token], l.ends[ue.token] = ce, ue
	l.mu.Unlock()
	ss.loop, ss.loopEnds = l, [2]*loopEnd{ce, ue}
	ss.adopted.Store(true)
	ce.conn.toLoop(func() { l.watch(ce, unix.EPOLLIN|unix.EPOLLOUT) })
	ue.conn.toLoop(func() { l.watch(ue, unix.EPOLLIN|unix.EPOLLOUT) })
	// EPOLLOUT fires at once: each side gets a first turn for what was
	// read ahead during startup.
	if err := l.ctl(unix.EPOLL_CTL_ADD, ce, unix.EPOLLIN|unix.EPOLLOUT); err != nil {
		l.forget(ss)
		_ = ce.conn.toGoroutines()
		_ = ue.conn.toGoroutines()
		ss.loop = nil
		ss.adopted.Store(false)
		return false
	}
	// A failure here means the upstream socket is closed: the client
	// side finds out at its next write.
	_ = l.ctl(unix.EPOLL_CTL_ADD, ue, unix.EPOLLIN|unix.EPOLLOUT)
	return true
}

func (l *eventLoop) ctl(op int, e *loopEnd, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(uint32(e.token)), Pad: int32(uint32(e.token >> 32))}
	var err error
	if cerr := e.conn.raw.Control(func(fd uintptr) { err = unix.EpollCtl(l.epfd, op, int(fd), &ev) }); cerr != nil {
		return cerr
	}
	return err
}

// watch sets what e's socket is watched for.
func (l *eventLoop) watch(e *loopEnd, events uint32) { _ = l.ctl(unix.EPOLL_CTL_MOD, e, events) }

// forget drops ss's sockets from the loop.
func (l *eventLoop) forget(ss *session) {
	l.mu.Lock()
	for _, e := range ss.loopEnds {
		delete(l.ends, e.token)
	}
	l.mu.Unlock()
	for _, e := range ss.loopEnds {
		_ = l.ctl(unix.EPOLL_CTL_DEL, e, 0)
	}
}

// run waits for events and gives each its session's turn, until the loop
// is closed or this goroutine hands it off. It waits in epoll_wait itself,
// a blocking system call: the kernel wakes this goroutine's thread
// directly, where parking in Go's netpoller would cost a scheduler wake-up
// as well.
func (l *eventLoop) run() {
	defer l.srv.loopWG.Done()
	events := make([]unix.EpollEvent, 64)
	for {
		n, err := unix.EpollWait(l.epfd, events, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil || l.closed.Load() {
			return
		}
		for _, ev := range events[:n] {
			token := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if token == 0 {
				continue // wake
			}
			l.mu.Lock()
			e := l.ends[token]
			l.mu.Unlock()
			if e != nil && !l.turn(e, ev.Events) {
				return // another goroutine runs the loop now
			}
		}
	}
}

// turn runs e's side of its session for what e's socket has. It reports
// false when the session left the loop in it: this goroutine then ran
// that side to its end, and no longer runs the loop.
func (l *eventLoop) turn(e *loopEnd, events uint32) (stay bool) {
	ss := e.ss
	if events&unix.EPOLLOUT != 0 {
		if done, err := e.conn.flush(); done && err == nil {
			l.watch(e, unix.EPOLLIN)
		}
	}
	if events&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR|unix.EPOLLRDHUP) == 0 && events&unix.EPOLLOUT == 0 {
		return true
	}
	side := sideRelay
	if e.client {
		side = sideClient
	}
	defer func() {
		if p := recover(); p != nil {
			if !ss.handedOff.Load() {
				l.handoff(ss)
			}
			ss.srv.panicked(ss.client, ss, p)
			ss.endSide(side, errPanicked)
			stay = false
		}
	}()
	ss.loopSide = side
	e.conn.undrain()
	for {
		var err error
		if side == sideClient {
			err = ss.clientLoop()
		} else {
			err = ss.relayLoop()
		}
		if errors.Is(err, errWouldBlock) && !ss.handedOff.Load() {
			ss.backpressure()
			if !ss.handedOff.Load() {
				return true
			}
			continue // a peer that does not read: wait for it off the loop
		}
		if !ss.handedOff.Load() {
			l.handoff(ss)
		}
		ss.endSide(side, err)
		return false
	}
}

// errPanicked ends a side that panicked (already logged and told).
var errPanicked = errors.New("panicked")

// handoff takes ss off the loop, from the goroutine running ss's side
// ss.loopSide: a new goroutine runs the loop from here, a new goroutine
// runs ss's other side, and this one goes on with its side, blocking.
func (l *eventLoop) handoff(ss *session) {
	ss.handedOff.Store(true)
	l.forget(ss)
	l.srv.loopWG.Add(1)
	go l.run()
	// Errors surface at the sockets' next use.
	_ = ss.cflip.toGoroutines()
	_ = ss.uflip.toGoroutines()
	ss.relayDone = make(chan struct{})
	if ss.loopSide == sideClient {
		go ss.relayGoroutine()
	} else {
		go ss.clientGoroutine()
	}
}

// mayBlock is called before anything that may wait: on a loop, the
// session leaves it first.
func (ss *session) mayBlock() {
	if ss.loop != nil && !ss.handedOff.Load() {
		ss.loop.handoff(ss)
	}
}

// backpressure takes the session off its loop when a peer does not read
// what the loop queued for it: off the loop, writing to it waits.
func (ss *session) backpressure() {
	if ss.loop != nil && !ss.handedOff.Load() && (ss.cflip.isFull() || ss.uflip.isFull()) {
		ss.loop.handoff(ss)
	}
}

// Sides of a session.
const (
	sideClient byte = 'c'
	sideRelay  byte = 'r'
)

// endSide ends a side that ran on a loop once its loop returned err.
func (ss *session) endSide(side byte, err error) {
	if side == sideRelay {
		defer ss.closeRelayDone()
		if !errors.Is(err, errPanicked) {
			ss.relayEnded(err)
		}
		return
	}
	defer ss.closeLoopDone()
	if !errors.Is(err, errPanicked) {
		ss.clientEnded(err)
	}
	<-ss.relayDone
}

// clientGoroutine runs the client side of a session that left its loop
// from the relay side.
func (ss *session) clientGoroutine() {
	defer ss.closeLoopDone()
	defer func() {
		if p := recover(); p != nil {
			ss.srv.panicked(ss.client, ss, p)
			<-ss.relayDone
		}
	}()
	ss.clientEnded(ss.clientLoop())
	<-ss.relayDone
}

func (ss *session) closeRelayDone() { ss.relayOnce.Do(func() { close(ss.relayDone) }) }
func (ss *session) closeLoopDone()  { ss.loopOnce.Do(func() { close(ss.loopDone) }) }
