// Command benchrelay is the floor bench/pgbench.sh measures the gateway
// against: a TCP relay in Go that forwards bytes and does nothing else (no
// protocol parsing, decisions, masking or recording). What the gateway
// costs beyond it is its own work; what it costs against direct PostgreSQL
// is the price of a Go proxy hop.
//
// By default it has the gateway's shape, two goroutines per connection
// (one per direction), each waiting in Go's netpoller. With -loops N it
// forwards instead from N event loops, each one goroutine waiting in its
// own epoll set over non-blocking sockets, as pgbouncer does: the same
// bytes and system calls, without a goroutine wake-up per message. The
// difference between the two is what an event-loop data path would save
// the gateway (docs/benchmarks.md, session 6).
package main

import (
	"flag"
	"io"
	"log"
	"net"
	"strings"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:15600", "listen address")
	upstream := flag.String("upstream", "127.0.0.1:5432", "PostgreSQL address: host:port, or the path of its Unix socket")
	loops := flag.Int("loops", 0, "forward from this many epoll event loops instead of two goroutines per connection")
	flag.Parse()
	var ls []*eventLoop
	for range *loops {
		ls = append(ls, newEventLoop())
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	for n := 0; ; n++ {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		if len(ls) == 0 {
			go relay(c, *upstream)
			continue
		}
		go func(l *eventLoop) {
			u, err := dial(*upstream)
			if err != nil {
				log.Print(err)
				c.Close()
				return
			}
			l.adopt(c, u)
		}(ls[n%len(ls)])
	}
}

// relay copies bytes both ways until either side closes.
func relay(c net.Conn, upstream string) {
	defer c.Close()
	u, err := dial(upstream)
	if err != nil {
		log.Print(err)
		return
	}
	defer u.Close()
	go func() {
		_, _ = io.Copy(u, c)
		u.Close()
	}()
	_, _ = io.Copy(c, u)
}

func dial(upstream string) (net.Conn, error) {
	network := "tcp"
	if strings.HasPrefix(upstream, "/") {
		network = "unix"
	}
	return net.Dial(network, upstream)
}
