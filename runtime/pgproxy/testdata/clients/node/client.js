// node-postgres through the gateway, for runtime/pgproxy/clients_lang_test.go.
//
// Usage: node client.js ALLOWED DENIED MASKED (schema-qualified table names).
// The connection comes from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE
// and PGSSLMODE. Each result is one line on stdout, "checkN what values";
// the Go test compares them exactly. An unexpected error ends the script
// with exit code 1.
'use strict';

const { Client } = require('pg');

const [allowed, denied, masked] = process.argv.slice(2);

function fmt(v) {
  if (v === null || v === undefined) return 'NULL';
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

function rows(res) {
  return res.rows.map((r) => r.map(fmt).join(',')).join(';');
}

function out(...parts) {
  process.stdout.write(parts.join(' ') + '\n');
}

// failing runs a query that must fail and returns the error.
async function failing(c, q, values) {
  try {
    await c.query(q, values);
  } catch (e) {
    return e;
  }
  throw new Error('no error from ' + JSON.stringify(q));
}

async function main() {
  const c = new Client({
    host: process.env.PGHOST,
    port: Number(process.env.PGPORT),
    user: process.env.PGUSER,
    password: process.env.PGPASSWORD,
    database: process.env.PGDATABASE,
    ssl: process.env.PGSSLMODE === 'disable' ? false : { rejectUnauthorized: false },
    connectionTimeoutMillis: 10000,
    application_name: 'node-postgres-test',
  });
  await c.connect();
  out('connected');
  // Rows as arrays, in column order.
  const q = (text, values, name) => c.query({ text, values, name, rowMode: 'array' });

  // 1. A parameterized SELECT on an allowed table.
  out('check1', rows(await q(`SELECT id, name, active FROM ${allowed} WHERE id >= $1 AND name <> $2 ORDER BY id`, [2, 'none'])));

  // 2. A denied table fails with 42501; the connection goes on.
  let e = await failing(c, `SELECT * FROM ${denied} WHERE id = $1`, [1]);
  out('check2 error', e.code, e.message);
  out('check2 hint', e.hint);
  out('check2 after', rows(await q(`SELECT count(*) FROM ${allowed}`)));

  // 3. In a transaction (simple protocol): the denial aborts it, ROLLBACK
  // recovers.
  await c.query('BEGIN');
  out('check3 before', rows(await q(`SELECT name FROM ${allowed} WHERE id = 1`)));
  e = await failing(c, `SELECT * FROM ${denied}`);
  out('check3 error', e.code, e.message);
  e = await failing(c, 'SELECT 1');
  out('check3 aborted', e.code);
  await c.query('ROLLBACK');
  out('check3 after', rows(await q(`SELECT name FROM ${allowed} WHERE id = $1`, [3])));

  // 4. A masked column comes back masked, the others intact.
  out('check4', rows(await q(`SELECT id, name, ssn, email FROM ${masked} WHERE id = $1`, [1])));

  // 5a. Named prepared statements ({name, text, values}), each run twice:
  // the second run binds the statement the first one parsed.
  const byID = `SELECT name FROM ${allowed} WHERE id = $1`;
  out('check5 named', rows(await q(byID, [1], 'by_id')) + ';' + rows(await q(byID, [2], 'by_id')));
  const ssn = `SELECT name, ssn FROM ${masked} WHERE id = $1`;
  out('check5 named-masked', rows(await q(ssn, [1], 'ssn')) + ';' + rows(await q(ssn, [1], 'ssn')));
  e = await failing(c, { name: 'denied', text: `SELECT * FROM ${denied} WHERE id = $1`, values: [1] });
  out('check5 named-denied', e.code);
  out('check5 named-again', rows(await q(byID, [3], 'by_id')));

  // 5b. Parameters of several types: int, text, timestamptz, bool, null.
  const ts = new Date('2024-01-02T03:04:05.678Z');
  out('check5 types', rows(await q(
    `SELECT id, $1::int + 1, $2::text || '!', $3::timestamptz, NOT $4::bool, $5::text IS NULL, $5::text
     FROM ${allowed} WHERE id = $1 AND created = $3 AND active = $4 AND name <> $2`,
    [2, 'hi', ts, false, null])));

  await c.end();
  out('done');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
