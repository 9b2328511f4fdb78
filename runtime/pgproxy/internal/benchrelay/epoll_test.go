//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// listenLoop serves a relay to upstream from a fresh event loop.
func listenLoop(t *testing.T, upstream string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	l := newEventLoop()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := dial(upstream)
			if err != nil {
				c.Close()
				continue
			}
			l.adopt(c, u)
		}
	}()
	return ln.Addr().String()
}

// TestEventLoopForwardsEveryByte sends more than the sockets buffer through
// an echo server before reading any of it back, so the loop must park
// bytes its peer cannot take and stop reading until they are written.
func TestEventLoopForwardsEveryByte(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	closed := make(chan struct{})
	go func() {
		c, err := echo.Accept()
		if err != nil {
			return
		}
		_, _ = io.Copy(c, c)
		c.Close()
		close(closed)
	}()
	c, err := net.Dial("tcp", listenLoop(t, echo.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(time.Minute)) // lost bytes fail, not hang
	want := make([]byte, 16<<20)
	_, _ = rand.Read(want)
	got := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(c, int64(len(want))))
		got <- b
	}()
	if _, err := c.Write(want); err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("echoed %d bytes, not the %d sent (or not the same)", len(b), len(want))
	}
	c.Close()
	select {
	case <-closed: // the client's close reached the upstream
	case <-time.After(10 * time.Second):
		t.Fatal("closing the client did not close the upstream connection")
	}
}

// TestEventLoopPostgres runs queries through the loop against the real
// server.
func TestEventLoopPostgres(t *testing.T) {
	addr := listenLoop(t, "127.0.0.1:5432")
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pc, err := pgconn.Connect(ctx, "host="+host+" port="+port+" user=postgres dbname=test sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close(ctx)
	res, err := pc.Exec(ctx, "SELECT string_agg(g::text, ',') FROM generate_series(1, 100000) g").ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res[0].Rows[0][0]); n != 588894 {
		t.Fatalf("result of %d bytes, want 588894", n)
	}
}
