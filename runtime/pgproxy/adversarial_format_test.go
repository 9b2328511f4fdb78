package pgproxy

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mandatehq/mandate/model"
)

// The format suite checks masking by type and result format: masked
// columns of every kind of type, arrays, aggregates and JSON built from
// them, and detector findings hidden by an encoding (binary arrays and
// records, jsonb, bytea, binary numbers, JSON escapes) or in column names.
// Oracle: no secret in any byte the client receives, in the simple
// protocol and in the extended one with text and binary results; a masked
// value is NULL or a masking method's output; and pgx decodes every binary
// result (a masked value of a non-text type must not be a string).

// fmtSecrets are the raw values of the fixture the client must never see.
var fmtSecrets = []string{
	"73519823", "64820.17", "1987-06-05", "04:03:02", "a1b2c3d4-e5f6", "SECRET-B",
	"zq-arr-secret", "js-secret", "jb-secret", "dom-secret", "en_secret", "vc-secret", "ch-secret", "big-secret",
	"4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "5500005555555559",
}

// fmtSecretHex is the bytea column, 'SECRET-B' in hex output.
const fmtSecretHex = "5345435245542d42"

func fmtEnv(t *testing.T) (*env, string) {
	e := newEnv(t)
	dom, enum := e.prefix+"_dom", e.prefix+"_enum"
	t.Cleanup(func() { admin(t, "DROP DOMAIN IF EXISTS "+dom+"; DROP TYPE IF EXISTS "+enum) })
	admin(t, "CREATE DOMAIN "+dom+" AS text CHECK (VALUE <> ''); CREATE TYPE "+enum+" AS ENUM ('en_secret', 'other')")
	tbl := e.table(t, "typed", "id int, n int, num numeric, d date, ts timestamp, u uuid, b bytea, ok bool, "+
		"arr text[], j json, jb jsonb, dom "+dom+", en "+enum+", vc varchar(20), ch char(12), big text, e text, nl text, note text",
		`VALUES (1, 73519823, 64820.17, '1987-06-05', '1987-06-05 04:03:02', 'a1b2c3d4-e5f6-4789-abcd-ef0123456789',
		  'SECRET-B', true, ARRAY['zq-arr-secret', 'x'], '{"k": "js-secret"}', '{"k": "jb-secret"}', 'dom-secret',
		  'en_secret', 'vc-secret', 'ch-secret', repeat('big-secret ', 7000), '', NULL, 'card 4111 1111 1111 1111 on file'),
		  (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		  'card 5500-0055-5555-5559')`)
	var cols []*model.ColumnRule
	for _, c := range strings.Fields("n num d ts u b ok arr j jb dom en vc ch big e nl") {
		cols = append(cols, &model.ColumnRule{Column: tbl + "." + c, Method: "redact"})
	}
	e.policy.set(func(p *testPolicy) {
		p.masked[tbl] = true
		p.maskings["pii"] = &model.Masking{Name: "pii", Columns: cols,
			Detectors: []*model.DetectorRule{{Detector: "credit_card", Name: "credit_card", Method: "redact"}}}
	})
	return e, tbl
}

// fmtTap is a pgconn to the gateway whose received bytes are all kept.
type fmtTap struct {
	pc  *pgconn.PgConn
	mu  sync.Mutex
	buf bytes.Buffer
}

type fmtTapConn struct {
	net.Conn
	t *fmtTap
}

func (c fmtTapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.t.mu.Lock()
	c.t.buf.Write(p[:n])
	c.t.mu.Unlock()
	return n, err
}

func (f *fmtTap) take() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := bytes.Clone(f.buf.Bytes())
	f.buf.Reset()
	return b
}

func fmtConnect(t *testing.T, e *env) *fmtTap {
	t.Helper()
	cfg, err := pgconn.ParseConfig(e.dsn("agent1", "disable"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fmtTap{}
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return fmtTapConn{c, f}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	f.pc, err = pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.pc.Close(context.Background()) })
	f.take()
	return f
}

func fmtLeak(b []byte) string {
	for _, s := range fmtSecrets {
		if bytes.Contains(b, []byte(s)) {
			return s
		}
	}
	if bytes.Contains(bytes.ToLower(b), []byte(fmtSecretHex)) {
		return fmtSecretHex
	}
	return ""
}

func TestAdversarialFormats(t *testing.T) {
	e, tbl := fmtEnv(t)
	ctx := context.Background()
	cases := []struct {
		name   string
		sql    string
		masked bool // every value must be NULL or a method's output
		null   bool // every value must be NULL (a finding behind an encoding)
	}{
		{name: "every type", sql: "SELECT n, num, d, ts, u, b, ok, arr, j, jb, dom, en, vc, ch, big, e, nl FROM T", masked: true},
		{name: "star", sql: "SELECT * FROM T"},
		{name: "casts", sql: "SELECT n::text, num::float8, d::text, u::text, b::text, en::text, dom::text, ch::varchar FROM T", masked: true},
		{name: "aggregates", sql: "SELECT array_agg(vc), array_agg(n), json_agg(d), jsonb_agg(u), string_agg(ch, ',') FROM T", masked: true},
		{name: "json builders", sql: "SELECT json_build_object('a', vc), jsonb_build_array(n, num), row_to_json(ROW(n, vc)), to_jsonb(arr), json_object_agg(id, en) FROM T GROUP BY vc, n, num, arr", masked: true},
		{name: "arrays", sql: "SELECT ARRAY[vc, ch], string_to_array(vc, '-'), ARRAY[n, n], arr[1] FROM T", masked: true},
		{name: "unnest", sql: "SELECT unnest(arr) FROM T", masked: true},
		{name: "jsonb field", sql: "SELECT jb->>'k', j->'k', jb FROM T", masked: true},
		{name: "twice and aliased", sql: "SELECT vc, vc AS v2, ch AS vc, n AS id FROM T", masked: true},
		{name: "large value", sql: "SELECT big, big || big FROM T", masked: true},
		{name: "many rows", sql: "SELECT vc, n FROM T, generate_series(1, 3000) g", masked: true},
		{name: "empty and null", sql: "SELECT e, nl, coalesce(nl, e) FROM T", masked: true},
		{name: "record of masked", sql: "SELECT ROW(n, vc, b) FROM T", masked: true},

		// Detector findings behind an encoding.
		{name: "detector text", sql: "SELECT note FROM T"},
		{name: "detector varchar char name", sql: "SELECT note::varchar(60), note::char(60), note::name FROM T"},
		{name: "detector array", sql: "SELECT ARRAY[note], ARRAY[note || repeat('x', 32)], ARRAY[substr(note, 6) || repeat(' ', 46)] FROM T"},
		{name: "detector record", sql: "SELECT ROW(substr(note, 6) || repeat(' ', 46), 1), ROW(note) FROM T"},
		{name: "detector json", sql: "SELECT to_json(note), to_jsonb(note), json_agg(note), jsonb_build_object('n', note) FROM T GROUP BY note"},
		{name: "detector json escape", sql: `SELECT ('"' || replace(note, '4', '\u0034') || '"')::json, ('"' || replace(note, '5', '\u0035') || '"')::jsonb FROM T`, null: true},
		{name: "detector bytea", sql: "SELECT convert_to(note, 'UTF8'), ARRAY[convert_to(note, 'UTF8')] FROM T", null: true},
		{name: "detector numbers", sql: "SELECT replace(replace(substr(note, 6, 19), ' ', ''), '-', '')::int8, replace(replace(substr(note, 6, 19), ' ', ''), '-', '')::numeric, (replace(replace(substr(note, 6, 19), ' ', ''), '-', '') || '.25')::numeric FROM T", null: true},
		{name: "detector number array", sql: "SELECT ARRAY[replace(replace(substr(note, 6, 19), ' ', ''), '-', '')::numeric] FROM T", null: true},
		{name: "detector large value", sql: "SELECT repeat('x ', 40000) || note, ARRAY[repeat('x ', 40000) || note], to_jsonb(repeat('x ', 40000) || note) FROM T"},
		{name: "detector many rows", sql: "SELECT s.g, note FROM T, generate_series(1, 3000) AS s(g)"},
		{name: "detector binary cursor", sql: "BEGIN; DECLARE fc BINARY CURSOR FOR SELECT note, ARRAY[note], to_jsonb(note) FROM T; FETCH ALL fc; COMMIT"},
		{name: "detector column name", sql: `SELECT 1 AS "4111111111111111", 2 AS "card 5500-0055-5555-5559" FROM T`},
		{name: "detector in error", sql: "SELECT note::int FROM T"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := fmtConnect(t, e)
			sql := strings.ReplaceAll(tc.sql, "FROM T", "FROM "+tbl)
			for _, mode := range []string{"prepared", "simple", "text", "binary"} {
				var rows [][][]byte
				var err error
				switch mode {
				case "simple":
					var res []*pgconn.Result
					res, err = f.pc.Exec(ctx, sql).ReadAll()
					for _, r := range res {
						rows = append(rows, r.Rows...)
					}
				case "prepared":
					// A fresh session's Describe of a statement, then a
					// binary Execute without a portal Describe.
					var sd *pgconn.StatementDescription
					if sd, err = f.pc.Prepare(ctx, "fmt", sql, nil); err == nil {
						r := f.pc.ExecStatement(ctx, sd, nil, nil, []int16{1}).Read()
						rows, err = r.Rows, r.Err
						_ = f.pc.Deallocate(ctx, "fmt")
					}
				default:
					var formats []int16
					if mode == "binary" {
						formats = []int16{1}
					}
					r := f.pc.ExecParams(ctx, sql, nil, nil, nil, formats).Read()
					rows, err = r.Rows, r.Err
				}
				if s := fmtLeak(f.take()); s != "" {
					t.Errorf("%s: secret %q reached the client (err %v)", mode, s, err)
				}
				if tc.masked && err != nil {
					t.Errorf("%s: %v", mode, err)
				}
				if tc.masked || tc.null {
					for _, row := range rows {
						for _, v := range row {
							if tc.null && v != nil || !maskedValue(v) {
								t.Errorf("%s: value %q of a masked column came back unmasked", mode, v)
							}
						}
					}
				}
			}
		})
	}
	// pgx decodes every result in its own formats (binary where it can):
	// a masked value of a non-text type must be NULL, not a string.
	c := e.connect(t, "require")
	for _, tc := range cases {
		if strings.Contains(tc.name, "error") || strings.Contains(tc.sql, ";") {
			continue
		}
		sql := strings.ReplaceAll(tc.sql, "FROM T", "FROM "+tbl)
		for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeCacheStatement, pgx.QueryExecModeDescribeExec, pgx.QueryExecModeSimpleProtocol} {
			rows, err := c.Query(ctx, sql, mode)
			if err != nil {
				t.Errorf("%s %s: %v", tc.name, mode, err)
				continue
			}
			for rows.Next() {
				if _, err := rows.Values(); err != nil {
					t.Errorf("%s %s: pgx cannot decode a row: %v", tc.name, mode, err)
					break
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				t.Errorf("%s %s: %v", tc.name, mode, err)
			}
		}
	}
}
