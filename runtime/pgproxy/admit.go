package pgproxy

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/jackc/pgx/v5/pgproto3"
)

// Startup packet codes (the first four bytes after the length).
const (
	codeSSLRequest    = 80877103
	codeGSSENCRequest = 80877104
	codeCancelRequest = 80877102
	maxStartupPacket  = 10000 // MAX_STARTUP_PACKET_LENGTH in PostgreSQL
	tlsHandshakeByte  = 0x16  // first byte of a TLS record carrying a handshake
	alpnPostgres      = "postgresql"
)

// admitted is what admit hands to authenticate.
type admitted struct {
	conn    net.Conn // the client connection, TLS when isTLS
	isTLS   bool
	startup *pgproto3.StartupMessage
}

// admit reads startup packets until a StartupMessage, negotiating TLS on the
// way. It answers cancel requests and refusals itself and then returns nil.
// It never closes raw; the caller does.
func (s *Server) admit(raw net.Conn) (*admitted, error) {
	conn := raw
	isTLS := false
	var first [1]byte
	if _, err := io.ReadFull(raw, first[:]); err != nil {
		return nil, fmt.Errorf("reading first byte: %w", err)
	}
	if first[0] == tlsHandshakeByte {
		// Postgres 17 direct TLS: the handshake starts at once and ALPN
		// must name "postgresql".
		if s.cfg.TLS == nil {
			return nil, errors.New("direct TLS requested but TLS is not configured")
		}
		tc := tls.Server(&prefixConn{Conn: raw, prefix: first[:]}, s.tlsConfig())
		if err := tc.Handshake(); err != nil {
			return nil, fmt.Errorf("direct TLS handshake: %w", err)
		}
		if tc.ConnectionState().NegotiatedProtocol != alpnPostgres {
			tc.Close()
			return nil, errors.New("direct TLS without ALPN \"postgresql\"")
		}
		conn, isTLS = tc, true
	} else {
		conn = &prefixConn{Conn: raw, prefix: first[:]}
	}
	for {
		msg, err := readStartupPacket(conn)
		if err != nil {
			var ue *unsupportedVersionError
			if errors.As(err, &ue) {
				writeMsgs(conn, fatal(CodeFeatureNotSupported, ue.Error()))
			} else if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				writeMsgs(conn, fatal(CodeProtocolViolation, "invalid startup packet"))
			}
			return nil, fmt.Errorf("reading startup packet: %w", err)
		}
		switch m := msg.(type) {
		case *pgproto3.SSLRequest:
			if isTLS || s.cfg.TLS == nil {
				if _, err := conn.Write([]byte{'N'}); err != nil {
					return nil, fmt.Errorf("refusing TLS: %w", err)
				}
				continue
			}
			if _, err := conn.Write([]byte{'S'}); err != nil {
				return nil, fmt.Errorf("accepting TLS: %w", err)
			}
			// The prefix buffer is empty here (one byte, consumed by the
			// length), so no plaintext byte can leak into the TLS stream.
			tc := tls.Server(raw, s.tlsConfig())
			if err := tc.Handshake(); err != nil {
				return nil, fmt.Errorf("TLS handshake: %w", err)
			}
			conn, isTLS = tc, true
		case *pgproto3.GSSEncRequest:
			if _, err := conn.Write([]byte{'N'}); err != nil {
				return nil, fmt.Errorf("refusing GSS encryption: %w", err)
			}
		case *pgproto3.CancelRequest:
			s.forwardCancel(m)
			return nil, nil
		case *pgproto3.StartupMessage:
			if pc, ok := conn.(*prefixConn); ok && len(pc.prefix) == 0 {
				conn = raw // the replayed byte is consumed: skip the wrapper
			}
			return &admitted{conn: conn, isTLS: isTLS, startup: m}, nil
		}
	}
}

func (s *Server) tlsConfig() *tls.Config {
	c := s.cfg.TLS.Clone()
	c.NextProtos = []string{alpnPostgres}
	return c
}

type unsupportedVersionError struct{ major, minor uint32 }

func (e *unsupportedVersionError) Error() string {
	return fmt.Sprintf("unsupported frontend protocol %d.%d: server supports 3.0 to 3.0", e.major, e.minor)
}

// readStartupPacket reads exactly one startup packet (no read-ahead, so a
// TLS handshake can follow) and decodes it with pgproto3.
func readStartupPacket(r io.Reader) (pgproto3.FrontendMessage, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(int32(binary.BigEndian.Uint32(hdr[:]))) - 4
	if n < 4 || n > maxStartupPacket {
		return nil, fmt.Errorf("invalid startup packet length %d", n+4)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	code := binary.BigEndian.Uint32(body)
	var msg pgproto3.FrontendMessage
	switch code {
	case codeSSLRequest:
		msg = &pgproto3.SSLRequest{}
	case codeGSSENCRequest:
		msg = &pgproto3.GSSEncRequest{}
	case codeCancelRequest:
		msg = &pgproto3.CancelRequest{}
	default:
		major, minor := code>>16, code&0xffff
		if major != 3 {
			return nil, &unsupportedVersionError{major, minor}
		}
		// 3.x: decode as 3.0; authenticate negotiates the minor version down.
		binary.BigEndian.PutUint32(body, pgproto3.ProtocolVersion30)
		sm := &pgproto3.StartupMessage{}
		if err := sm.Decode(body); err != nil {
			return nil, err
		}
		sm.ProtocolVersion = code
		return sm, nil
	}
	if err := msg.Decode(body); err != nil {
		return nil, err
	}
	return msg, nil
}

// prefixConn replays prefix before reading from Conn.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// writeMsgs encodes msgs with pgproto3 and writes them; errors are ignored
// (the connection is about to close).
func writeMsgs(w io.Writer, msgs ...pgproto3.BackendMessage) {
	var buf []byte
	for _, m := range msgs {
		b, err := m.Encode(buf)
		if err != nil {
			return
		}
		buf = b
	}
	_, _ = w.Write(buf)
}
