package pgproxy

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

func TestConnectRefusals(t *testing.T) {
	e := newEnv(t)
	tlsOnly := newEnv(t, func(c *Config) { c.Plaintext = PlaintextNever })
	cases := []struct {
		name     string
		dsn      string
		wantCode string
		wantMsg  string
	}{
		{"bad token", strings.Replace(e.dsn("agent1", "require"), "password=tok-agent1", "password=nope", 1), CodeInvalidPassword, "password authentication failed"},
		{"unknown connection", strings.Replace(e.dsn("agent1", "require"), "dbname=testdb", "dbname=nosuch", 1), CodeInvalidAuthorization, "no postgres connection"},
		{"replication", e.dsn("agent1", "require") + " replication=database", CodeFeatureNotSupported, "replication"},
		{"options", e.dsn("agent1", "require") + " options='-c role=postgres'", CodeInvalidParameterValue, "options"},
		{"plaintext refused", tlsOnly.dsn("agent1", "disable"), CodeInvalidAuthorization, "requires TLS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := pgconn.Connect(ctx, tc.dsn)
			if err == nil {
				c.Close(ctx)
				t.Fatal("connected, want refusal")
			}
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != tc.wantCode || !strings.Contains(pe.Message, tc.wantMsg) {
				t.Fatalf("err = %v, want %s %q", err, tc.wantCode, tc.wantMsg)
			}
		})
	}
}

func TestDirectTLS(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgconn.Connect(ctx, e.dsn("agent1", "require")+" sslnegotiation=direct")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	res := c.ExecParams(ctx, "SELECT 42", nil, nil, nil, nil).Read()
	if res.Err != nil || string(res.Rows[0][0]) != "42" {
		t.Fatalf("res = %v %v", res.Rows, res.Err)
	}
	// Direct TLS without the "postgresql" ALPN protocol is refused.
	raw, err := tls.Dial("tcp", e.addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	if err == nil {
		raw.Close()
		t.Fatal("TLS without ALPN postgresql accepted")
	}
}

// raw opens a plain TCP connection to the gateway.
func (e *env) raw(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", e.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// passwordLogin starts a plaintext session as user to database db,
// answers the gateway's password request with password, and returns what
// the gateway sends up to its first ErrorResponse (until's lines).
func (e *env) passwordLogin(t *testing.T, user, db, password string) []string {
	t.Helper()
	c := e.raw(t)
	send(t, c, &pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": user, "database": db}})
	fe := pgproto3.NewFrontend(c, c)
	if m, err := fe.Receive(); err != nil {
		t.Fatal(err)
	} else if _, ok := m.(*pgproto3.AuthenticationCleartextPassword); !ok {
		t.Fatalf("got %T, want a password request", m)
	}
	send(t, c, &pgproto3.PasswordMessage{Password: password})
	return until[*pgproto3.ErrorResponse](t, fe)
}

func send(t *testing.T, w io.Writer, msgs ...pgproto3.FrontendMessage) {
	t.Helper()
	var buf []byte
	for _, m := range msgs {
		var err error
		if buf, err = m.Encode(buf); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Write(buf); err != nil {
		t.Fatal(err)
	}
}

func TestStartupPackets(t *testing.T) {
	e := newEnv(t)
	t.Run("GSSENC refused then plaintext startup", func(t *testing.T) {
		c := e.raw(t)
		send(t, c, &pgproto3.GSSEncRequest{})
		var b [1]byte
		if _, err := io.ReadFull(c, b[:]); err != nil || b[0] != 'N' {
			t.Fatalf("GSSENC answer %q %v", b, err)
		}
		send(t, c, &pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
			Parameters: map[string]string{"user": "agent1", "database": "testdb"}})
		fe := pgproto3.NewFrontend(c, c)
		m, err := fe.Receive()
		if _, ok := m.(*pgproto3.AuthenticationCleartextPassword); !ok {
			t.Fatalf("got %T %v, want a password request", m, err)
		}
	})
	t.Run("unknown protocol version", func(t *testing.T) {
		c := e.raw(t)
		pkt := binary.BigEndian.AppendUint32(nil, 8)
		pkt = binary.BigEndian.AppendUint32(pkt, 4<<16)
		c.Write(pkt)
		m, _ := pgproto3.NewFrontend(c, c).Receive()
		er, ok := m.(*pgproto3.ErrorResponse)
		if !ok || er.Code != CodeFeatureNotSupported {
			t.Fatalf("got %#v", m)
		}
	})
	t.Run("protocol 3.2 negotiated down", func(t *testing.T) {
		c := e.raw(t)
		send(t, c, &pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion32,
			Parameters: map[string]string{"user": "agent1", "database": "testdb", "_pq_.x": "1"}})
		fe := pgproto3.NewFrontend(c, c)
		m, _ := fe.Receive()
		nv, ok := m.(*pgproto3.NegotiateProtocolVersion)
		if !ok || nv.NewestMinorProtocol != 0 || len(nv.UnrecognizedOptions) != 1 {
			t.Fatalf("got %#v", m)
		}
	})
	t.Run("malformed startup", func(t *testing.T) {
		c := e.raw(t)
		c.Write([]byte{0, 0, 0, 2, 0, 0})
		m, _ := pgproto3.NewFrontend(c, c).Receive()
		if er, ok := m.(*pgproto3.ErrorResponse); !ok || er.Code != CodeProtocolViolation {
			t.Fatalf("got %#v", m)
		}
	})
}

// startSession runs startup and authentication on a raw connection and
// returns a frontend positioned after the first ReadyForQuery.
func (e *env) startSession(t *testing.T) (net.Conn, *pgproto3.Frontend) {
	t.Helper()
	c := e.raw(t)
	send(t, c, &pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
		Parameters: map[string]string{"user": "agent1", "database": "testdb"}})
	fe := pgproto3.NewFrontend(c, c)
	for {
		m, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		switch m := m.(type) {
		case *pgproto3.AuthenticationCleartextPassword:
			send(t, c, &pgproto3.PasswordMessage{Password: "tok-agent1"})
		case *pgproto3.ErrorResponse:
			t.Fatalf("startup: %s", m.Message)
		case *pgproto3.ReadyForQuery:
			return c, fe
		}
	}
}

// until reads messages up to one of type T and returns everything read.
func until[T pgproto3.BackendMessage](t *testing.T, fe *pgproto3.Frontend) []string {
	t.Helper()
	var got []string
	for {
		m, err := fe.Receive()
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		got = append(got, describe(m))
		if _, ok := m.(T); ok {
			return got
		}
	}
}

func describe(m pgproto3.BackendMessage) string {
	switch m := m.(type) {
	case *pgproto3.ErrorResponse:
		return "E " + m.Severity + " " + m.Code
	case *pgproto3.ReadyForQuery:
		return "Z " + string(m.TxStatus)
	case *pgproto3.DataRow:
		var s []string
		for _, v := range m.Values {
			s = append(s, string(v))
		}
		return "D " + strings.Join(s, ",")
	case *pgproto3.CommandComplete:
		return "C " + string(m.CommandTag)
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", m), "*pgproto3.")
}
