// Command benchrelay is the floor bench/pgbench.sh measures the gateway
// against: a TCP relay in Go with the gateway's shape (two goroutines per
// connection, one per direction) that forwards bytes and does nothing
// else: no protocol parsing, decisions, masking or recording. What the
// gateway costs beyond it is its own work; what it costs against direct
// PostgreSQL is the price of a Go proxy hop.
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
	flag.Parse()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go relay(c, *upstream)
	}
}

// relay copies bytes both ways until either side closes.
func relay(c net.Conn, upstream string) {
	defer c.Close()
	network := "tcp"
	if strings.HasPrefix(upstream, "/") {
		network = "unix"
	}
	u, err := net.Dial(network, upstream)
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
