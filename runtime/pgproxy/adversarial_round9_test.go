package pgproxy

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// Round 9 works on the session and protocol layer: startup parameters,
// cancel keys, limits on what one session may make the gateway hold or
// parse.

// TestAdversarialRound9Nesting sends left-associative chains PostgreSQL's
// grammar builds iteratively however long they are. pg_query writes the
// tree out recursively in C: past about 25,000 levels that overflowed the
// thread's stack and the SIGSEGV killed the whole gateway, every agent's
// session with it. They must be denied (42501) and the gateway keep
// serving; moderately nested statements still run.
func TestAdversarialRound9Nesting(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	deep := map[string]string{
		"operator chain":   "SELECT 1" + strings.Repeat("+1", 30000),
		"cast chain":       "SELECT 1" + strings.Repeat("::int", 30000),
		"is null chain":    "SELECT 1" + strings.Repeat(" IS NULL", 30000),
		"join chain":       "SELECT 1 FROM pg_class a" + strings.Repeat(" JOIN pg_class ON true", 30000),
		"union chain":      "SELECT 1" + strings.Repeat(" UNION SELECT 1", 60000),
		"collate chain":    "SELECT 'a'" + strings.Repeat(` COLLATE "C"`, 30000),
		"second statement": "SELECT 1; SELECT 1" + strings.Repeat("||'a'", 30000),
		"parens and chain": "SELECT " + strings.Repeat("(", 5000) + "1" + strings.Repeat("+1", 8000) + strings.Repeat(")", 5000),
	}
	c := pgconnTo(t, e.dsn("agent1", "require"))
	for name, sql := range deep {
		t.Run(name, func(t *testing.T) {
			for _, mode := range []string{"simple", "extended"} {
				var err error
				if mode == "simple" {
					_, err = c.Exec(ctx, sql).ReadAll()
				} else {
					err = c.ExecParams(ctx, sql, nil, nil, nil, nil).Read().Err
				}
				var pe *pgconn.PgError
				if !errors.As(err, &pe) || pe.Code != CodeInsufficientPrivilege || !strings.Contains(pe.Message, "nests too deeply") {
					t.Errorf("%s: err = %v, want a denial (42501) for nesting", mode, err)
				}
			}
		})
	}
	// Legitimate nesting and long flat lists still run.
	for _, sql := range []string{
		"SELECT " + strings.Repeat("(", 500) + "1" + strings.Repeat("+1", 500) + strings.Repeat(")", 500),
		"SELECT 1 WHERE 1 IN (" + strings.TrimSuffix(strings.Repeat("-1,", 50000), ",") + ")",
		"SELECT true" + strings.Repeat(" AND 1 = 1", 20000),
		"VALUES " + strings.TrimSuffix(strings.Repeat("(-1, 'a' || 'b'),", 20000), ","),
	} {
		if _, err := c.Exec(ctx, sql).ReadAll(); err != nil {
			t.Errorf("a legitimate statement of %d bytes failed: %v", len(sql), err)
		}
	}
	other := pgconnTo(t, e.dsn("agent1", "require"))
	if _, err := other.Exec(ctx, "SELECT 1").ReadAll(); err != nil {
		t.Fatalf("the gateway stopped serving: %v", err)
	}
}

// TestAdversarialRound9PreparedLimit parses named statements without
// closing them. The gateway keeps each one's text and verdict, the denied
// ones too, which the server never holds: without a bound one session
// grew the gateway's memory without end. Past the bound a Parse of a new
// name fails with 54000; names it holds can be parsed again, and closing
// one makes room.
func TestAdversarialRound9PreparedLimit(t *testing.T) {
	e := newEnv(t)
	tbl := e.table(t, "lim", "id int", "VALUES (1)")
	e.policy.set(func(p *testPolicy) { p.denied[tbl] = true })
	c := pgconnTo(t, e.dsn("agent1", "require"))
	fe := c.Frontend()
	_ = c.Conn().SetDeadline(time.Now().Add(2 * time.Minute))
	// Denied statements count: the server holds none of them.
	for i := 0; i < maxSessionStatements; i += 500 {
		for j := i; j < i+500 && j < maxSessionStatements; j++ {
			fe.Send(parse(fmt.Sprintf("s%d", j), "SELECT id FROM "+tbl))
			fe.Send(syncMsg)
		}
		if err := fe.Flush(); err != nil {
			t.Fatal(err)
		}
		for n := 0; n < 500 && i+n < maxSessionStatements; {
			m, err := fe.Receive()
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := m.(*pgproto3.ReadyForQuery); ok {
				n++
			}
		}
	}
	_ = c.Conn().SetDeadline(time.Time{})
	got := exchange(t, c, msgs(parse("one_more", "SELECT 1"), syncMsg))
	if len(got) != 2 || !strings.HasPrefix(got[0], "error "+CodeProgramLimitExceeded) {
		t.Fatalf("Parse past the limit: %q, want 54000", got)
	}
	got = exchange(t, c, msgs(parse("s1", "SELECT 1"), bind("", "s1"), execute("", 0), syncMsg))
	if strings.Join(got, "|") != "parsed|bound|row 1|complete SELECT 1|ready I" {
		t.Errorf("Parse of a held name: %q", got)
	}
	got = exchange(t, c, msgs(&pgproto3.Close{ObjectType: 'S', Name: "s2"}, parse("one_more", "SELECT 2"),
		bind("", "one_more"), execute("", 0), syncMsg))
	if strings.Join(got, "|") != "closed|parsed|bound|row 2|complete SELECT 1|ready I" {
		t.Errorf("Parse after a Close: %q", got)
	}
	got = exchange(t, c, msgs(parse("", "SELECT 3"), bind("", ""), execute("", 0), syncMsg))
	if strings.Join(got, "|") != "parsed|bound|row 3|complete SELECT 1|ready I" {
		t.Errorf("the unnamed statement: %q", got)
	}
}

// TestAdversarialRound9PreparedBytes: the statements a session holds are
// bounded in text too (10,000 denied statements of 1 MiB would be 10 GB):
// past maxSessionStatementBytes a Parse that adds text fails with 54000,
// and closing a statement makes room.
func TestAdversarialRound9PreparedBytes(t *testing.T) {
	e := newEnv(t)
	tbl := e.table(t, "limb", "id int", "VALUES (1)")
	e.policy.set(func(p *testPolicy) { p.denied[tbl] = true })
	c := pgconnTo(t, e.dsn("agent1", "disable"))
	big := "SELECT id FROM " + tbl + " WHERE '" + strings.Repeat("x", 1<<20-200) + "' <> ''"
	fit := maxSessionStatementBytes / len(big)
	for i := range fit {
		got := exchange(t, c, msgs(parse(fmt.Sprintf("b%d", i), big), syncMsg))
		if len(got) != 2 || !strings.HasPrefix(got[0], "error "+CodeInsufficientPrivilege) {
			t.Fatalf("Parse %d within the limit: %q, want the policy's 42501", i, got)
		}
	}
	got := exchange(t, c, msgs(parse("past", big), syncMsg))
	if len(got) != 2 || !strings.HasPrefix(got[0], "error "+CodeProgramLimitExceeded) {
		t.Fatalf("Parse past the limit: %q, want 54000", got)
	}
	got = exchange(t, c, msgs(&pgproto3.Close{ObjectType: 'S', Name: "b0"}, parse("past", big), syncMsg))
	if len(got) != 3 || got[0] != "closed" || !strings.HasPrefix(got[1], "error "+CodeInsufficientPrivilege) {
		t.Errorf("Parse after a Close: %q, want the policy's 42501", got)
	}
	got = exchange(t, c, msgs(parse("small", "SELECT 1"), bind("", "small"), execute("", 0), syncMsg))
	if strings.Join(got, "|") != "parsed|bound|row 1|complete SELECT 1|ready I" {
		t.Errorf("a small statement at the limit: %q", got)
	}
}

// TestAdversarialRound9PortalLimit: named portals a client never closes
// are bounded. In autocommit the server drops them at each Sync, and so
// does the gateway once it reaches its bound: binding on works. Only that
// many live in one transaction make a Bind fail (54000).
func TestAdversarialRound9PortalLimit(t *testing.T) {
	e := newEnv(t)
	c := pgconnTo(t, e.dsn("agent1", "disable"))
	fe := c.Frontend()
	_ = c.Conn().SetDeadline(time.Now().Add(3 * time.Minute))
	// bindMany binds n new named portals from prefix, each with a Sync
	// when sync is set (else one Sync at the end), and returns the error
	// codes the server answered.
	bindMany := func(prefix string, n int, sync bool) []string {
		var codes []string
		for i := 0; i < n; i += 500 {
			want := 0
			for j := i; j < i+500 && j < n; j++ {
				fe.Send(bind(fmt.Sprintf("%s%d", prefix, j), "s"))
				if sync {
					fe.Send(syncMsg)
					want++
				}
			}
			if !sync && i+500 >= n {
				fe.Send(syncMsg)
				want++
			}
			if err := fe.Flush(); err != nil {
				t.Fatal(err)
			}
			for got := 0; got < want; {
				m, err := fe.Receive()
				if err != nil {
					t.Fatal(err)
				}
				switch m := m.(type) {
				case *pgproto3.ErrorResponse:
					codes = append(codes, m.Code)
				case *pgproto3.ReadyForQuery:
					got++
				}
			}
		}
		return codes
	}
	if got := exchange(t, c, msgs(parse("s", "SELECT 1"), syncMsg)); strings.Join(got, "|") != "parsed|ready I" {
		t.Fatalf("parse: %q", got)
	}
	if codes := bindMany("auto", maxSessionPortals+500, true); len(codes) != 0 {
		t.Fatalf("autocommit portals past the bound: errors %v", codes[:min(len(codes), 5)])
	}
	if got := exchange(t, c, msgs(&pgproto3.Query{String: "BEGIN"})); strings.Join(got, "|") != "complete BEGIN|ready T" {
		t.Fatalf("BEGIN: %q", got)
	}
	codes := bindMany("tx", maxSessionPortals+1, false)
	if len(codes) != 1 || codes[0] != CodeProgramLimitExceeded {
		t.Fatalf("live portals past the bound: errors %v, want one 54000", codes[:min(len(codes), 5)])
	}
	_ = c.Conn().SetDeadline(time.Time{})
	if got := exchange(t, c, msgs(&pgproto3.Query{String: "ROLLBACK"})); strings.Join(got, "|") != "complete ROLLBACK|ready I" {
		t.Fatalf("ROLLBACK: %q", got)
	}
	if got := exchange(t, c, msgs(bind("after", "s"), execute("after", 0), syncMsg)); strings.Join(got, "|") != "bound|row 1|complete SELECT 1|ready I" {
		t.Errorf("a portal after the transaction: %q", got)
	}
}

// TestAdversarialRound9StartupParams sends startup parameters that would
// change identity, name resolution, the read-only wall or the language of
// the messages the gateway masks, in their several spellings: each is
// refused (22023 or 0A000) before the password is asked for.
func TestAdversarialRound9StartupParams(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name   string
		params map[string]string
		code   string
	}{
		{"options with long form", map[string]string{"options": "--search_path=pg_temp,public"}, CodeInvalidParameterValue},
		{"options read-only off", map[string]string{"options": "-c default_transaction_read_only=off"}, CodeInvalidParameterValue},
		{"role", map[string]string{"role": "postgres"}, CodeInvalidParameterValue},
		{"Role capitalised", map[string]string{"Role": "postgres"}, CodeInvalidParameterValue},
		{"search_path", map[string]string{"search_path": "pg_temp"}, CodeInvalidParameterValue},
		{"SEARCH_PATH capitalised", map[string]string{"SEARCH_PATH": "pg_temp"}, CodeInvalidParameterValue},
		{"session_authorization", map[string]string{"session_authorization": "postgres"}, CodeInvalidParameterValue},
		{"default_transaction_read_only", map[string]string{"default_transaction_read_only": "off"}, CodeInvalidParameterValue},
		{"standard_conforming_strings", map[string]string{"standard_conforming_strings": "off"}, CodeInvalidParameterValue},
		{"lc_messages", map[string]string{"lc_messages": "C"}, CodeInvalidParameterValue},
		{"unknown setting", map[string]string{"mandate.anything": "x"}, CodeInvalidParameterValue},
		{"session_replication_role", map[string]string{"session_replication_role": "replica"}, CodeInvalidParameterValue},
		{"client_encoding SJIS", map[string]string{"client_encoding": "SJIS"}, CodeInvalidParameterValue},
		{"Client_Encoding BIG5", map[string]string{"Client_Encoding": "BIG5"}, CodeInvalidParameterValue},
		{"replication true", map[string]string{"replication": "true"}, CodeFeatureNotSupported},
		{"replication on", map[string]string{"replication": "on"}, CodeFeatureNotSupported},
		{"replication 1", map[string]string{"replication": "1"}, CodeFeatureNotSupported},
		{"replication yes", map[string]string{"replication": "yes"}, CodeFeatureNotSupported},
		{"replication database", map[string]string{"replication": "database"}, CodeFeatureNotSupported},
		{"replication empty", map[string]string{"replication": ""}, CodeFeatureNotSupported},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.raw(t)
			p := map[string]string{"user": "agent1", "database": "testdb"}
			for k, v := range tc.params {
				p[k] = v
			}
			send(t, c, &pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: p})
			got := until[*pgproto3.ErrorResponse](t, pgproto3.NewFrontend(c, c))
			if want := []string{"E FATAL " + tc.code}; strings.Join(got, "|") != want[0] {
				t.Errorf("got %q, want %q (refused before the password request)", got, want)
			}
		})
	}
	// Allowed formatting parameters still connect, and the pinned settings
	// hold whatever the client asked for.
	cfg, err := pgconn.ParseConfig(e.dsn("agent1", "require"))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"DateStyle": "SQL, DMY", "IntervalStyle": "iso_8601", "TimeZone": "Asia/Tokyo",
		"extra_float_digits": "3", "bytea_output": "escape", "application_name": "r9", "client_encoding": "unicode",
		"replication": "off"} {
		cfg.RuntimeParams[k] = v
	}
	ctx := context.Background()
	pc, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("allowed startup parameters refused: %v", err)
	}
	defer pc.Close(ctx)
	res, err := pc.Exec(ctx, "SHOW client_encoding; SHOW search_path; SHOW standard_conforming_strings; SHOW DateStyle").ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res {
		got = append(got, string(r.Rows[0][0]))
	}
	if strings.Join(got, "|") != "UTF8|public|on|SQL, DMY" {
		t.Errorf("session settings: %q", got)
	}
}

// TestAdversarialRound9Identity connects with a user name that differs
// from the token's agent by case or trailing space, and to database names
// no policy connection has: all refused.
func TestAdversarialRound9Identity(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, user, token, db, code string
	}{
		{"user upper case", "Agent1", "tok-agent1", "testdb", CodeInvalidPassword},
		{"user trailing space", "agent1 ", "tok-agent1", "testdb", CodeInvalidPassword},
		{"user with NUL-free control", "agent1\t", "tok-agent1", "testdb", CodeInvalidPassword},
		{"database upper case", "agent1", "tok-agent1", "TESTDB", CodeInvalidAuthorization},
		{"database trailing space", "agent1", "tok-agent1", "testdb ", CodeInvalidAuthorization},
		{"database with options", "agent1", "tok-agent1", "testdb options=-crole=postgres", CodeInvalidAuthorization},
		{"database connection string", "agent1", "tok-agent1", "postgresql://postgres@127.0.0.1/test", CodeInvalidAuthorization},
		{"database quote", "agent1", "tok-agent1", `test"db`, CodeInvalidAuthorization},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := e.passwordLogin(t, tc.user, tc.db, tc.token)
			if strings.Join(got, "|") != "E FATAL "+tc.code {
				t.Errorf("got %q, want FATAL %s", got, tc.code)
			}
		})
	}
}

// TestAdversarialRound9InSessionStartup sends startup packets (a second
// StartupMessage, an SSLRequest, a GSSENCRequest, a CancelRequest) inside
// an authenticated session: a protocol violation (FATAL 08P01) that ends
// the session, not a renegotiation; the gateway keeps serving.
func TestAdversarialRound9InSessionStartup(t *testing.T) {
	e := newEnv(t)
	packets := map[string]pgproto3.FrontendMessage{
		"second startup": &pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30,
			Parameters: map[string]string{"user": "agent2", "database": "testdb"}},
		"ssl request":    &pgproto3.SSLRequest{},
		"gssenc request": &pgproto3.GSSEncRequest{},
		"cancel request": &pgproto3.CancelRequest{ProcessID: 1, SecretKey: []byte{0, 0, 0, 1}},
	}
	for name, pkt := range packets {
		t.Run(name, func(t *testing.T) {
			c, fe := e.startSession(t)
			send(t, c, pkt)
			got := until[*pgproto3.ErrorResponse](t, fe)
			if strings.Join(got, "|") != "E FATAL 08P01" {
				t.Errorf("got %q, want FATAL 08P01", got)
			}
			if _, err := fe.Receive(); err == nil {
				t.Error("session still open")
			}
		})
	}
	c := pgconnTo(t, e.dsn("agent1", "require"))
	if _, err := c.Exec(context.Background(), "SELECT 1").ReadAll(); err != nil {
		t.Fatal(err)
	}
}

// TestAdversarialRound9Cancel: a cancel request carrying another session's
// gateway pid with a wrong secret, the upstream backend's own pid, or the
// key of a session that has ended, must not cancel a running query; and
// the key the client sees is never the upstream's.
func TestAdversarialRound9Cancel(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// An ended session's key.
	old := pgconnTo(t, e.dsn("agent1", "require"))
	oldPID, oldKey := old.PID(), old.SecretKey()
	old.Close(ctx)
	waitFor(t, "old session gone", func() bool { return e.srv.Sessions() == 0 })

	victim := pgconnTo(t, e.dsn("agent1", "require"))
	res, err := victim.Exec(ctx, "SELECT pg_backend_pid()").ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var upPID uint32
	fmt.Sscan(string(res[0].Rows[0][0]), &upPID)
	if upPID == victim.PID() {
		t.Errorf("the client's cancel pid is the upstream backend's (%d)", upPID)
	}
	app := "pgproxy-r9-" + randHex(4)
	if _, err := victim.Exec(ctx, "SET application_name = '"+app+"'").ReadAll(); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := victim.Exec(ctx, "SELECT pg_sleep(60)").ReadAll()
		errc <- err
	}()
	waitFor(t, "query running upstream", func() bool { return activeCount(t, app, "active") == 1 })
	sk := victim.SecretKey()
	wrong := append([]byte(nil), sk...)
	wrong[3] ^= 1
	upKey := binary.BigEndian.AppendUint32(nil, 0)
	for name, req := range map[string]*pgproto3.CancelRequest{
		"wrong secret":      {ProcessID: victim.PID(), SecretKey: wrong},
		"upstream pid":      {ProcessID: upPID, SecretKey: upKey},
		"upstream pid, key": {ProcessID: upPID, SecretKey: sk},
		"ended session":     {ProcessID: oldPID, SecretKey: oldKey},
		"long secret (3.2)": {ProcessID: victim.PID(), SecretKey: append(append([]byte(nil), sk...), make([]byte, 28)...)},
		"short secret":      {ProcessID: victim.PID(), SecretKey: sk[:2]},
	} {
		c := e.raw(t)
		send(t, c, req)
		// The gateway handles a cancel request before closing its connection.
		if _, err := io.ReadAll(c); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n := activeCount(t, app, "active"); n != 1 {
			t.Fatalf("%s: the victim's query was cancelled", name)
		}
	}
	// The right key still works.
	if err := victim.CancelRequest(ctx); err != nil {
		t.Fatal(err)
	}
	var pe *pgconn.PgError
	if err := <-errc; !errors.As(err, &pe) || pe.Code != "57014" {
		t.Fatalf("err = %v, want 57014", err)
	}
}
