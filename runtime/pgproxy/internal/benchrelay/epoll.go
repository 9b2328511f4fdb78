//go:build linux

package main

import (
	"errors"
	"log"
	"net"
	"runtime"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// An eventLoop forwards bytes between pairs of non-blocking sockets from one
// goroutine, locked to its thread, waiting in its own epoll set
// (level-triggered): the shape of pgbouncer's data path. A socket that
// becomes readable is read and its bytes written to its peer in the same
// turn, with no goroutine to wake in between.
type eventLoop struct {
	epfd int
	mu   sync.Mutex   // guards ends: adopt adds from other goroutines
	ends map[int]*end // by descriptor
}

// An end is one socket of a relayed pair.
type end struct {
	fd      int
	peer    *end   // nil once the pair is closed
	pending []byte // bytes for fd that did not fit its send buffer
}

func newEventLoop() *eventLoop {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		log.Fatal(err)
	}
	l := &eventLoop{epfd: epfd, ends: map[int]*end{}}
	go l.run()
	return l
}

// adopt moves the sockets of c and u from Go's netpoller to the loop (as
// duplicates; c and u are closed) and forwards between them.
func (l *eventLoop) adopt(c, u net.Conn) {
	cfd, cerr := dupNonblocking(c)
	ufd, uerr := dupNonblocking(u)
	c.Close()
	u.Close()
	if err := errors.Join(cerr, uerr); err != nil {
		log.Print(err)
		for _, fd := range []int{cfd, ufd} {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
		return
	}
	a, b := &end{fd: cfd}, &end{fd: ufd}
	a.peer, b.peer = b, a
	l.mu.Lock()
	l.ends[cfd], l.ends[ufd] = a, b
	l.mu.Unlock()
	for _, fd := range []int{cfd, ufd} {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
		if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			log.Print(err)
		}
	}
}

// dupNonblocking returns a non-blocking duplicate of c's descriptor (-1 on
// error).
func dupNonblocking(c net.Conn) (int, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return -1, errors.New("not a socket")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd, derr := -1, error(nil)
	if err := raw.Control(func(s uintptr) { fd, derr = unix.Dup(int(s)) }); err != nil {
		return -1, err
	}
	if derr != nil {
		return -1, derr
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func (l *eventLoop) run() {
	runtime.LockOSThread()
	events := make([]unix.EpollEvent, 128)
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.EpollWait(l.epfd, events, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			log.Fatal(err)
		}
		l.mu.Lock()
		for _, ev := range events[:n] {
			e := l.ends[int(ev.Fd)]
			if e == nil {
				continue
			}
			if ev.Events&unix.EPOLLOUT != 0 {
				l.flush(e)
			}
			if ev.Events&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
				l.forward(e, buf)
			}
		}
		l.mu.Unlock()
	}
}

// forward reads what e has and writes it to its peer. What the peer cannot
// take now waits in its pending bytes, and e is not read again until they
// are written.
func (l *eventLoop) forward(e *end, buf []byte) {
	p := e.peer
	if p == nil || len(p.pending) > 0 {
		return
	}
	n, err := unix.Read(e.fd, buf)
	if err == unix.EAGAIN {
		return
	}
	if n <= 0 {
		l.close(e)
		return
	}
	w, err := unix.Write(p.fd, buf[:n])
	if err == unix.EAGAIN {
		w, err = 0, nil
	}
	if err != nil {
		l.close(e)
		return
	}
	if w < n {
		p.pending = append(p.pending[:0], buf[w:n]...)
		l.rearm(e)
		l.rearm(p)
	}
}

// flush writes e's pending bytes; once they are all written, both ends are
// read again.
func (l *eventLoop) flush(e *end) {
	w, err := unix.Write(e.fd, e.pending)
	if err == unix.EAGAIN {
		return
	}
	if err != nil {
		l.close(e)
		return
	}
	e.pending = e.pending[w:]
	if len(e.pending) == 0 && e.peer != nil {
		l.rearm(e)
		l.rearm(e.peer)
	}
}

// rearm watches x for what its pair's state calls for: readable while its
// peer can take more, writable while its own bytes wait. Both directions
// of a pair can be parked at once, so the events are computed from the
// state of both ends, never set for one direction alone (which once lost
// a parked end's EPOLLOUT and stalled the pair).
func (l *eventLoop) rearm(x *end) {
	var events uint32
	if x.peer != nil && len(x.peer.pending) == 0 {
		events |= unix.EPOLLIN
	}
	if len(x.pending) > 0 {
		events |= unix.EPOLLOUT
	}
	ev := unix.EpollEvent{Events: events, Fd: int32(x.fd)}
	_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_MOD, x.fd, &ev)
}

// close closes both ends of e's pair (closing a descriptor removes it from
// the epoll set).
func (l *eventLoop) close(e *end) {
	for _, x := range []*end{e, e.peer} {
		if x != nil {
			delete(l.ends, x.fd)
			unix.Close(x.fd)
			x.peer = nil
		}
	}
}
