package pgproxy

import (
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/mandatehq/mandate/model"
)

func encodeAll(msgs ...pgproto3.FrontendMessage) []byte {
	var buf []byte
	for _, m := range msgs {
		buf, _ = m.Encode(buf)
	}
	return buf
}

// FuzzClientMessages feeds arbitrary bytes to a session's client loop after
// startup: it must never panic and always end. The upstream side is a pipe
// that swallows what the proxy forwards.
func FuzzClientMessages(f *testing.F) {
	seeds := [][]byte{
		encodeAll(&pgproto3.Query{String: "SELECT 1"}),
		encodeAll(&pgproto3.Query{String: "SELECT 1; SELECT * FROM public.secret"}),
		encodeAll(&pgproto3.Parse{Name: "a", Query: "SELECT $1::int"}, &pgproto3.Bind{PreparedStatement: "a", DestinationPortal: "p"},
			&pgproto3.Describe{ObjectType: 'P', Name: "p"}, &pgproto3.Execute{Portal: "p"}, &pgproto3.Sync{}),
		encodeAll(&pgproto3.Bind{PreparedStatement: "nope"}, &pgproto3.Execute{}, &pgproto3.Close{ObjectType: 'S', Name: "x"}, &pgproto3.Flush{}),
		encodeAll(&pgproto3.Parse{Query: "SELECT ssn FROM public.people"}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{}),
		encodeAll(&pgproto3.CopyData{Data: []byte("1\t2\n")}, &pgproto3.CopyDone{}, &pgproto3.CopyFail{Message: "x"}),
		encodeAll(&pgproto3.FunctionCall{Function: 1}, &pgproto3.Terminate{}),
		encodeAll(&pgproto3.Query{String: "PREPARE p AS SELECT 1; EXECUTE p; DECLARE c CURSOR FOR SELECT 1; FETCH c"}),
		{'Q', 0, 0, 0, 4},
		{'Q', 0xff, 0xff, 0xff, 0xff},
		{'p', 0, 0, 0, 5, 0},
		{'B', 0, 0, 0, 5, 0},
	}
	for _, s := range seeds {
		f.Add(s)
	}
	pol := &testPolicy{
		conns:    map[string]*model.Connection{"testdb": {Name: "testdb", Type: "postgres", Address: "127.0.0.1:1"}},
		maskings: map[string]*model.Masking{"pii": {Name: "pii", Columns: []*model.ColumnRule{{Column: "public.people.ssn", Method: "redact"}}}},
		denied:   map[string]bool{"public.secret": true}, approval: map[string]bool{},
		masked: map[string]bool{"public.people": true},
	}
	srv, err := New(Config{Plaintext: PlaintextAlways, Authenticator: testAuth{}, Policy: pol,
		MaxMessageSize: 64 << 10, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	defer srv.Close()
	f.Fuzz(func(t *testing.T, data []byte) {
		cl, clPeer := net.Pipe()
		up, upPeer := net.Pipe()
		var wg sync.WaitGroup
		wg.Add(3)
		go func() { defer wg.Done(); _, _ = io.Copy(io.Discard, upPeer) }()
		go func() { defer wg.Done(); _, _ = io.Copy(io.Discard, clPeer) }()
		go func() { defer wg.Done(); _, _ = clPeer.Write(data); _ = clPeer.Close() }()
		ss := srv.newSession(cl)
		ss.principal = &Principal{Agent: "agent1"}
		ss.conn = pol.conns["testdb"]
		ss.rec = SessionRecord{ID: "fuzz", Agent: "agent1", Connection: "testdb"}
		ss.up = up
		ss.fe = pgproto3.NewFrontend(up, up)
		_ = ss.clientLoop()
		ss.closeConns()
		upPeer.Close()
		clPeer.Close()
		wg.Wait()
	})
}
