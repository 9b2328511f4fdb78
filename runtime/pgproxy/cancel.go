package pgproxy

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"

	"github.com/jackc/pgx/v5/pgproto3"
)

// upstreamCancel is what it takes to cancel the upstream's running query:
// the upstream backend's own key, never shown to the client.
type upstreamCancel struct {
	addr   net.Addr
	tls    *tls.Config
	pid    uint32
	secret []byte
}

func (k cancelKey) secretBytes() []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], k.secret)
	return b[:]
}

// forwardCancel maps a client's CancelRequest (the gateway's key) to the
// upstream's key. Unknown keys are ignored, as PostgreSQL does.
func (s *Server) forwardCancel(m *pgproto3.CancelRequest) {
	if len(m.SecretKey) != 4 {
		return
	}
	k := cancelKey{pid: m.ProcessID, secret: binary.BigEndian.Uint32(m.SecretKey)}
	ss := s.lookupKey(k)
	if ss == nil {
		return
	}
	// Compare in constant time even though the map lookup already matched.
	if subtle.ConstantTimeCompare(ss.key.secretBytes(), m.SecretKey) != 1 {
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, CancelTimeout)
	defer cancel()
	if err := ss.upCancel.send(ctx); err != nil {
		s.cfg.Logger.Info("forwarding cancel request", "session", ss.rec.ID, "err", err)
	}
}

// send opens a new connection to the upstream and sends a CancelRequest,
// over TLS when the session's upstream connection uses TLS.
func (u upstreamCancel) send(ctx context.Context) error {
	if u.addr == nil {
		return nil
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, u.addr.Network(), u.addr.String())
	if err != nil {
		return fmt.Errorf("dialing upstream for cancel: %w", err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	var conn net.Conn = c
	if u.tls != nil {
		req, _ := (&pgproto3.SSLRequest{}).Encode(nil)
		if _, err := c.Write(req); err != nil {
			return fmt.Errorf("requesting TLS for cancel: %w", err)
		}
		var b [1]byte
		if _, err := io.ReadFull(c, b[:]); err != nil {
			return fmt.Errorf("reading TLS answer for cancel: %w", err)
		}
		if b[0] != 'S' {
			return fmt.Errorf("upstream refused TLS for cancel")
		}
		tc := tls.Client(c, u.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("TLS handshake for cancel: %w", err)
		}
		conn = tc
	}
	msg, err := (&pgproto3.CancelRequest{ProcessID: u.pid, SecretKey: u.secret}).Encode(nil)
	if err != nil {
		return fmt.Errorf("encoding cancel request: %w", err)
	}
	if _, err := conn.Write(msg); err != nil {
		return fmt.Errorf("sending cancel request: %w", err)
	}
	// The server closes the connection when done; wait for that.
	_, _ = io.Copy(io.Discard, conn)
	return nil
}
