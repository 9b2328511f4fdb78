package pgproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// The adversarial suite runs attacks through a gateway with a real compiled
// policy (testdata/adversarial) against the real PostgreSQL. Its fixture is
// a customers table with masked ssn, email, card and salary columns and an
// unmasked name, a view and a materialized view over it, a set-returning
// SQL function, a partitioned table and an inheritance tree whose parents
// carry masked columns, a sequence and an unmasked table.
//
// Oracles:
//   - masking: no raw secret ever appears in any byte the client receives
//     (rows in every format, CopyData, error and notice fields, parameter
//     status), whatever the statement; inference cases must be denied (42501);
//     "masked" cases must return only masked values.
//   - read-only: the database state (every fixture row, the sequence, large
//     objects, relations, advisory locks, prepared transactions, NOTIFY)
//     does not change, the statement fails or is denied, and the session
//     keeps the settings the gateway pins.

// advSecrets are the raw values the client must never see.
var advSecrets = []string{
	"918-27-3645", "827-36-4591", "736-45-5928", // cust.ssn
	"zara.secret7", "quill.hidden3", "yuri.private5", // cust.email local parts
	"4929381726354410", "5384017263549921", "6011928374650012", // cust.card
	"7351982", "8462093", "9573104", // cust.salary
	"645-18-2739", "534-29-1846", // part.ssn (partitions)
	"423-56-7190",                                              // inh.ssn (child)
	"918-27", "827-36", "736-45", "645-18", "534-29", "423-56", // ssn prefixes
	"93817263", "40172635", "19283746", // card middles
}

const advFixture = `
CREATE TABLE P_cust (id int PRIMARY KEY, name text, ssn text, email text, card text, salary int);
INSERT INTO P_cust VALUES
  (1, 'Ann', '918-27-3645', 'zara.secret7@hidden.example', '4929381726354410', 7351982),
  (2, 'Bob', '827-36-4591', 'quill.hidden3@hidden.example', '5384017263549921', 8462093),
  (3, 'Cid', '736-45-5928', 'yuri.private5@hidden.example', '6011928374650012', 9573104);
CREATE VIEW P_cust_v AS SELECT id, name, ssn, email FROM P_cust;
CREATE MATERIALIZED VIEW P_cust_mv AS SELECT id, ssn, email FROM P_cust;
CREATE TABLE P_part (id int, region text, ssn text) PARTITION BY LIST (region);
CREATE TABLE P_part_eu PARTITION OF P_part FOR VALUES IN ('eu');
CREATE TABLE P_part_us PARTITION OF P_part FOR VALUES IN ('us');
INSERT INTO P_part VALUES (1, 'eu', '645-18-2739'), (2, 'us', '534-29-1846');
CREATE TABLE P_inh (id int, ssn text);
CREATE TABLE P_inh_child (extra text) INHERITS (P_inh);
INSERT INTO P_inh_child VALUES (1, '423-56-7190', 'x');
CREATE FUNCTION P_cust_fn() RETURNS SETOF P_cust LANGUAGE sql STABLE AS 'SELECT * FROM P_cust';
CREATE FUNCTION P_noisy(text) RETURNS text LANGUAGE plpgsql AS 'BEGIN RAISE NOTICE ''checking %'', $1; RETURN $1; END';
CREATE VIEW P_cust_nv AS SELECT id, P_noisy(ssn) AS s FROM P_cust;
CREATE FUNCTION P_label(P_cust) RETURNS text LANGUAGE sql STABLE AS 'SELECT $1.name || '' '' || $1.ssn';
CREATE SEQUENCE P_seq;
CREATE TABLE P_other (id int, note text);
INSERT INTO P_other VALUES (1, 'n1'), (2, 'n2');
CREATE PROCEDURE P_proc() LANGUAGE sql AS 'DELETE FROM P_other';
CREATE FUNCTION P_writer() RETURNS int LANGUAGE sql AS 'DELETE FROM P_other RETURNING 1';
ANALYZE P_cust; ANALYZE P_part; ANALYZE P_inh; ANALYZE P_inh_child; ANALYZE P_cust_mv;
`

const advDrop = `
DROP PROCEDURE IF EXISTS P_proc();
DROP FUNCTION IF EXISTS P_writer();
DROP FUNCTION IF EXISTS P_cust_fn();
DROP VIEW IF EXISTS P_cust_nv;
DROP FUNCTION IF EXISTS P_label(P_cust);
DROP FUNCTION IF EXISTS P_noisy(text);
DROP MATERIALIZED VIEW IF EXISTS P_cust_mv;
DROP VIEW IF EXISTS P_cust_v;
DROP TABLE IF EXISTS P_cust, P_part, P_inh, P_inh_child, P_other, P_new CASCADE;
DROP SEQUENCE IF EXISTS P_seq;
`

// advEnv is a gateway with the adversarial policy and fixture.
type advEnv struct {
	*env
	p string // table prefix
}

func newAdvEnv(t *testing.T) *advEnv {
	t.Helper()
	requirePostgres(t)
	prefix := "adv_" + randHex(4)
	pol := &enginePolicy{}
	pol.cur.Store(realPolicyFrom(t, "testdata/adversarial", prefix))
	e := newEnv(t, func(c *Config) {
		c.Policy = pol
		c.LookupEnv = func(k string) (string, bool) {
			if k == "ADV_HASH_KEY" {
				return "adversarial-test-key", true
			}
			return "", false
		}
	})
	e.prefix = prefix
	a := &advEnv{env: e, p: prefix}
	t.Cleanup(func() { admin(t, a.sql(advDrop)) })
	admin(t, a.sql(advFixture))
	return a
}

// sql replaces the P_ table prefix placeholder.
func (a *advEnv) sql(s string) string { return strings.ReplaceAll(s, "P_", a.p+"_") }

// tapConn keeps a copy of every byte read from the gateway.
type tapConn struct {
	net.Conn
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *tapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.buf.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

func (c *tapConn) take() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := append([]byte(nil), c.buf.Bytes()...)
	c.buf.Reset()
	return b
}

// tapped is a plaintext (loopback) connection to the gateway for agent
// whose received bytes are all kept.
type tapped struct {
	pc  *pgconn.PgConn
	tap *tapConn
}

func (a *advEnv) connectTapped(t testing.TB, agent string, params map[string]string) (*tapped, error) {
	t.Helper()
	cfg, err := pgconn.ParseConfig(strings.Replace(a.dsn(agent, "disable"), "dbname=testdb", "dbname=adv", 1))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range params {
		cfg.RuntimeParams[k] = v
	}
	tp := &tapped{}
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tp.tap = &tapConn{Conn: c}
		return tp.tap, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pc, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	tp.pc = pc
	t.Cleanup(func() { pc.Close(context.Background()) })
	return tp, nil
}

// outcome is what one run of a statement did.
type outcome struct {
	mode   string
	denied bool   // 42501 from the gateway
	code   string // SQLSTATE of another error
	rows   [][][]byte
	err    error
}

func (o outcome) String() string {
	switch {
	case o.denied:
		return o.mode + ":denied"
	case o.err != nil:
		return o.mode + ":error " + o.code
	}
	return fmt.Sprintf("%s:ok(%d rows)", o.mode, len(o.rows))
}

func outcomeOf(mode string, rows [][][]byte, err error) outcome {
	o := outcome{mode: mode, rows: rows, err: err}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		o.code = pe.Code
		o.denied = pe.Code == CodeInsufficientPrivilege && strings.HasPrefix(pe.Message, "mandate:")
	} else if err != nil {
		o.code = "client"
	}
	return o
}

// run sends sql in one protocol mode: simple (Query), text (Parse/Bind/
// Describe portal/Execute, text results), binary (the same with binary
// results) or prepared (Parse/Describe statement, then Bind/Execute with
// binary results and no portal Describe, as libpq's prepared flow).
func (tp *tapped) run(ctx context.Context, mode, sql string) outcome {
	up := strings.ToUpper(sql)
	if strings.HasPrefix(up, "COPY") && strings.Contains(up, "STDOUT") {
		var w bytes.Buffer
		_, err := tp.pc.CopyTo(ctx, &w, sql)
		var rows [][][]byte
		if err == nil {
			rows = [][][]byte{{w.Bytes()}}
		}
		return outcomeOf("copy", rows, err)
	}
	if strings.HasPrefix(up, "COPY") && strings.Contains(up, "STDIN") {
		_, err := tp.pc.CopyFrom(ctx, strings.NewReader("9\tcopied\n"), sql)
		return outcomeOf("copy", nil, err)
	}
	switch mode {
	case "simple":
		res, err := tp.pc.Exec(ctx, sql).ReadAll()
		var rows [][][]byte
		for _, r := range res {
			rows = append(rows, r.Rows...)
			if err == nil && r.Err != nil {
				err = r.Err
			}
		}
		return outcomeOf(mode, rows, err)
	case "text", "binary":
		var formats []int16
		if mode == "binary" {
			formats = []int16{1}
		}
		r := tp.pc.ExecParams(ctx, sql, nil, nil, nil, formats).Read()
		return outcomeOf(mode, r.Rows, r.Err)
	case "prepared":
		sd, err := tp.pc.Prepare(ctx, "adv", sql, nil)
		if err != nil {
			return outcomeOf(mode, nil, err)
		}
		r := tp.pc.ExecStatement(ctx, sd, nil, nil, []int16{1}).Read()
		_ = tp.pc.Deallocate(ctx, "adv")
		return outcomeOf(mode, r.Rows, r.Err)
	}
	panic("unknown mode " + mode)
}

// leaked returns the first secret found in b.
func leaked(b []byte) string {
	for _, s := range advSecrets {
		if bytes.Contains(b, []byte(s)) {
			return s
		}
	}
	return ""
}

// maskedValue reports a value the masking methods produce (or NULL).
func maskedValue(v []byte) bool {
	s := string(v)
	return v == nil || s == "[REDACTED]" || strings.HasPrefix(s, "****") || strings.HasPrefix(s, "h:")
}

// skipOpen skips a case that shows a known open hole, unless
// MANDATE_ADV_OPEN is set (to check a fix: go test -run Adversarial with
// MANDATE_ADV_OPEN=1 runs them all).
func skipOpen(t *testing.T, open string) {
	t.Helper()
	if open != "" && os.Getenv("MANDATE_ADV_OPEN") == "" {
		t.Skip("OPEN: " + open)
	}
}

// TestAdversarialProtocol runs masked statements through extended-protocol
// flows drivers use: partial fetches (Execute with a row limit, portal
// suspended), a named statement described once and bound twice with other
// result formats, and a Describe of the statement alone.
func TestAdversarialProtocol(t *testing.T) {
	a := newAdvEnv(t)
	dsn := strings.Replace(a.dsn("reader", "require"), "dbname=testdb", "dbname=adv", 1)
	q := a.sql("SELECT ssn, card, salary, email, ROW(c.*) FROM P_cust c")
	flows := map[string][][]pgproto3.FrontendMessage{
		"row limit": {msgs(parse("", q), bind("", ""), execute("", 1), execute("", 1), execute("", 0), syncMsg)},
		"named statement, two formats": {
			msgs(parse("s1", q), &pgproto3.Describe{ObjectType: 'S', Name: "s1"}, syncMsg),
			msgs(&pgproto3.Bind{PreparedStatement: "s1", ResultFormatCodes: []int16{1}}, execute("", 0),
				&pgproto3.Bind{PreparedStatement: "s1", ResultFormatCodes: []int16{0, 1, 0, 1, 0}}, execute("", 2), syncMsg),
		},
		"describe only": {msgs(parse("s2", q), &pgproto3.Describe{ObjectType: 'S', Name: "s2"}, syncMsg)},
		"named portal": {msgs(parse("s3", q), &pgproto3.Bind{DestinationPortal: "p3", PreparedStatement: "s3"},
			&pgproto3.Describe{ObjectType: 'P', Name: "p3"}, execute("p3", 2), execute("p3", 0), syncMsg)},
	}
	for name, batches := range flows {
		t.Run(name, func(t *testing.T) {
			got := exchange(t, pgconnTo(t, dsn), batches...)
			all := strings.Join(got, "\n")
			if s := leaked([]byte(all)); s != "" {
				t.Errorf("secret %q reached the client:\n%s", s, all)
			}
			t.Logf("%s", all)
		})
	}
}
