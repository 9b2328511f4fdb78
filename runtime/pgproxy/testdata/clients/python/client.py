"""psycopg2 through the gateway, for runtime/pgproxy/clients_lang_test.go.

Usage: client.py ALLOWED DENIED MASKED (schema-qualified table names).
The connection comes from the libpq environment (PGHOST, PGPORT, PGUSER,
PGPASSWORD, PGDATABASE, PGSSLMODE). Each result is one line on stdout,
"checkN what values"; the Go test compares them exactly. An unexpected
error ends the script with a traceback and a non-zero exit.
"""

import sys

import psycopg2

allowed, denied, masked = sys.argv[1:4]


def fmt(v):
    if v is None:
        return "NULL"
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


def rows(rs):
    return ";".join(",".join(fmt(v) for v in r) for r in rs)


def out(*parts):
    print(" ".join(str(p) for p in parts), flush=True)


def failing(cur, sql, args=None):
    """Runs sql, which must fail; returns the error."""
    try:
        cur.execute(sql, args)
    except psycopg2.Error as e:
        return e
    raise AssertionError("no error from " + sql)


conn = psycopg2.connect("", connect_timeout=10, application_name="psycopg2-test")
out("ssl", "on" if conn.info.ssl_in_use else "off")

# 1. A parameterized SELECT on an allowed table.
conn.autocommit = True
cur = conn.cursor()
cur.execute("SELECT id, name, active FROM " + allowed + " WHERE id >= %s AND name <> %s ORDER BY id", (2, "none"))
out("check1", rows(cur.fetchall()))

# 2. A denied table fails with 42501; the connection goes on.
e = failing(cur, "SELECT * FROM " + denied + " WHERE id = %s", (1,))
out("check2 error", e.pgcode, e.diag.message_primary)
out("check2 hint", e.diag.message_hint)
cur.execute("SELECT count(*) FROM " + allowed)
out("check2 after", cur.fetchone()[0])

# 3. In a transaction (psycopg2's implicit BEGIN): the denial aborts it,
# ROLLBACK recovers.
conn.autocommit = False
cur.execute("SELECT name FROM " + allowed + " WHERE id = %s", (1,))
out("check3 before", cur.fetchone()[0], conn.info.transaction_status)
e = failing(cur, "SELECT * FROM " + denied)
out("check3 error", e.pgcode, e.diag.message_primary)
e = failing(cur, "SELECT 1")
out("check3 aborted", e.pgcode)
conn.rollback()
cur.execute("SELECT name FROM " + allowed + " WHERE id = %s", (3,))
out("check3 after", cur.fetchone()[0])
conn.rollback()

# 4. A masked column comes back masked, the others intact.
cur.execute("SELECT id, name, ssn, email FROM " + masked + " WHERE id = %s", (1,))
out("check4", rows(cur.fetchall()))
conn.rollback()

# 5a. A named (server-side) cursor: DECLARE, then FETCH FORWARD itersize.
named = conn.cursor(name="pgproxy_named")
named.itersize = 2
named.execute("SELECT id, name FROM " + allowed + " WHERE id > %s ORDER BY id", (0,))
out("check5 named", rows(list(named)))
named.close()
named = conn.cursor(name="pgproxy_named_masked")
named.execute("SELECT name, ssn FROM " + masked)
out("check5 named-masked", rows(named.fetchmany(5)))
named.close()
conn.rollback()
named = conn.cursor(name="pgproxy_named_denied")
try:
    named.execute("SELECT * FROM " + denied)
    named.fetchall()
    out("check5 named-denied none")
except psycopg2.Error as e:
    out("check5 named-denied", e.pgcode)
conn.rollback()

# 5c. A WITH HOLD named cursor outlives its transaction's commit, masked
# still: psycopg2 declares it WITH HOLD and fetches after conn.commit().
held = conn.cursor(name="pgproxy_held", withhold=True)
held.execute("SELECT name, ssn FROM " + masked)
conn.commit()
out("check5 held-after-commit", rows(held.fetchall()))
held.close()
conn.commit()

# 5b. executemany inserts, seen in the transaction, gone after ROLLBACK.
cur.executemany("INSERT INTO " + allowed + " (id, name, active) VALUES (%s, %s, %s)",
                [(10, "ten", True), (11, "eleven", False), (12, None, None)])
out("check5 executemany", cur.rowcount)
cur.execute("SELECT id, name, active FROM " + allowed + " WHERE id >= %s ORDER BY id", (10,))
out("check5 inserted", rows(cur.fetchall()))
conn.rollback()
cur.execute("SELECT count(*) FROM " + allowed)
out("check5 rolledback", cur.fetchone()[0])
conn.rollback()
conn.close()
out("done")
