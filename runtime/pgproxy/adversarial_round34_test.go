package pgproxy

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// Round 34 of the red team: an over-denial sweep. About 150 statements an
// analytics or support agent runs on a table with masked text, numeric,
// date, timestamp and jsonb columns, each decided against PostgreSQL 15:
// whether the expression can fail, or behave otherwise, for some stored
// value of the column's type given its literal arguments (checked on the
// values at the ends of each range, the infinities, NaN, empty and huge
// values, under time zones of every offset: runtime/pgsql's
// TestToCharAgainstPostgres, TestTypedCastsAgainstPostgres,
// TestChoiceTypesAgainstPostgres, TestRegexLiteralsAgainstPostgres).
//
// Denied before this round, masked now (r34Masked):
//   - position('@' IN email) and strpos(email, '@') with a one-byte literal
//     needle, starts_with, to_hex, array_to_string, cardinality,
//     array_length, jsonb_typeof, json_build_object with constant keys,
//     sum and avg of char_length, octet_length and strpos (pgsql:
//     fallible.go);
//   - regexp_replace, regexp_match, regexp_like, regexp_count,
//     regexp_substr, regexp_instr and substring(x FROM 'pattern') with a
//     literal pattern PostgreSQL surely compiles (pgsql: regexlit.go);
//   - typed reads (the column's type decides): to_char(col, 'format') of a
//     timestamp or timestamptz, or with a plain number format of a number
//     column; col::date of a timestamp or timestamptz; CASE and COALESCE
//     of several columns whose types convert to one another without
//     failing (text, varchar, integer, jsonb, ...); sum and avg of
//     length(col) of a string column (pgsql: typed.go, typedbuiltin.go).
//
// Masked before this round, an oracle (r34Leaks): replace, split_part (and
// the new strpos, position, starts_with, regular expressions) under a
// nondeterministic collation fail ("not supported for substring
// searches") on a non-empty value only, and strpos with a needle of n
// bytes on values of n bytes or more. A COLLATE naming a collation outside
// pg_catalog is now no total expression: replace(ssn COLLATE
// public.nd, '-', '') and the same through a derived table are filters.
// Output-size amplification (r34Amplification): total functions composed
// (quote_literal nested over translate(substr(ssn, 1, 1), ...), nested
// replace, JSON escapes, a value beside repeat) reach the 1 GB limit of a
// value by an amount that depends on the masked content, and the failure
// (54000) tells it; an expression whose output may pass a bounded
// multiple of what it reads is now a filter (pgsql/growth.go).
// Open (r34Open, skipped unless MANDATE_ADV_OPEN): a column declared with
// a nondeterministic collation (the gateway does not read attcollation),
// and amplification by row count (string_agg over a cross join with
// generate_series), through derived tables, or across output columns.
//
// Not added, as they fail on some values: jsonb_pretty (its indentation
// grows with the depth: a 30 kB document of depth 5000 prints past 1 GB),
// bit_length (octet_length * 8 overflows past 256 MB), to_char of a
// timestamptz naming a day or the zone (below, and "time zone format value
// too long" for a zone whose summer abbreviation is long).
//
// Found, outside this round's files: PostgreSQL 15.20 crashes (SIGSEGV)
// on to_char('4714-11-26 00:00+00 BC'::timestamptz, 'Dy') under SET
// TimeZone = 'XXX167:59' (a negative day of the week indexes the day
// names' array); every agent may SET TimeZone and call to_char on
// constants. Not run here: it restarts the shared server.
//
// The remaining denials are deliberate, each with its reason
// (r34Denied); statements that cannot fail but stay denied for reasons
// outside this round's files are marked "lead" there.
//
// Fixture: round 30's (newAdvEnv30: P_x30 text/numeric/date, P_x30b
// uuid/bytea/int4/timestamptz/jsonb, masked by pattern on ssn, email,
// salary, dob, notes) and P_x30_k34 (text ssn, varchar email, numeric
// salary, timestamp dob, jsonb notes; unmasked name, region, qty,
// created), P_x30_c34 (ssn text declared with the nondeterministic
// collation P_nd34), P_nd34 itself, and P_x30_g34 (a path in notes).

const round34Fixture = `
CREATE COLLATION P_nd34 (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE P_x30_k34 (id int PRIMARY KEY, name text, region text, qty int, created timestamp,
  ssn text, email varchar(80), salary numeric, dob timestamp, notes jsonb);
INSERT INTO P_x30_k34 VALUES
  (1, 'Ann', 'eu', 3, '2024-01-02 03:04:05', '318-42-7765', 'kestrel.vault1@deep.example', 81234.56, '1971-03-14 08:09:10',
   '{"pin": "pinq5519", "tags": ["lanternqx"], "n": 81234}'),
  (2, 'Bob', 'us', 5, '2024-02-03 04:05:06', '429-53-8876', 'osprey.cache2@deep.example', 92345.67, '1982-07-29 11:12:13',
   '{"pin": "pinq6620", "tags": ["violetzp"]}'),
  (3, 'Cid', 'eu', 7, '2024-03-04 05:06:07', '530-64-9987', 'merlin.stash3@deep.example', 73456.78, '1993-11-05 14:15:16',
   '{"pin": null, "tags": []}');
CREATE TABLE P_x30_c34 (id int PRIMARY KEY, ssn text COLLATE P_nd34);
INSERT INTO P_x30_c34 VALUES (1, '318-42-7765'), (2, '');
CREATE TABLE P_x30_g34 (id int PRIMARY KEY, notes path);
INSERT INTO P_x30_g34 VALUES (1, '[(0,0),(3,4)]');
`

const round34Drop = `DROP TABLE IF EXISTS P_x30_k34, P_x30_c34, P_x30_g34; DROP COLLATION IF EXISTS P_nd34`

// r34Secrets are the forms the fixture's masked values take through the
// statements below (r30Secrets has the stored ones): grouped and
// scientific numbers, year and month of a date.
var r34Secrets = []string{"81,234", "92,345", "73,456", "8.12e+04", "9.23e+04", "1971-03", "1982-07", "1993-11", "1969-07", "1975-01",
	"318427765", "kestrel", "osprey", "merlin"}

// r34Masked: statements the specification says run masked. The first
// ones were masked before this round too (kept against regressions); the
// rest were denied.
var r34Masked = []r30Case{
	// sum and avg of a numeric(p, s) column: its values stay under
	// 10^(p-s), far from numeric's limit (typed reads).
	{name: "avg of numeric(p,s)", sql: "SELECT avg(salary) FROM P_x30", want: "masked"},
	{name: "round avg of numeric(p,s)", sql: "SELECT round(avg(salary), 2) FROM P_x30", want: "masked"},
	{name: "sum of numeric(p,s)", sql: "SELECT sum(salary) FROM P_x30", want: "masked"},
	// String functions over text columns.
	{name: "left", sql: "SELECT left(ssn, 3) FROM P_x30", want: "masked"},
	{name: "right", sql: "SELECT right(ssn, 4) FROM P_x30", want: "masked"},
	{name: "substr", sql: "SELECT substr(ssn, 1, 3) FROM P_x30", want: "masked"},
	{name: "substring from for", sql: "SELECT substring(ssn FROM 5 FOR 2) FROM P_x30", want: "masked"},
	{name: "substring from position", sql: "SELECT substring(email, 8) FROM P_x30", want: "masked"},
	{name: "lpad", sql: "SELECT lpad(right(ssn, 4), 11, '*') FROM P_x30", want: "masked"},
	{name: "rpad", sql: "SELECT rpad(email, 40, '.') FROM P_x30", want: "masked"},
	{name: "md5", sql: "SELECT md5(ssn) FROM P_x30", want: "masked"},
	{name: "lengths", sql: "SELECT length(notes), char_length(email), octet_length(ssn), character_length(ssn) FROM P_x30", want: "masked"},
	{name: "replace", sql: "SELECT replace(ssn, '-', '') FROM P_x30", want: "masked"},
	{name: "translate", sql: "SELECT translate(ssn, '0123456789', 'xxxxxxxxxx') FROM P_x30", want: "masked"},
	{name: "split_part", sql: "SELECT split_part(email, '@', 2) FROM P_x30", want: "masked"},
	{name: "split_part from the end", sql: "SELECT split_part(email, '.', -1) FROM P_x30", want: "masked"},
	{name: "reverse", sql: "SELECT reverse(ssn) FROM P_x30", want: "masked"},
	{name: "trims", sql: "SELECT trim(notes), btrim(ssn, '-'), ltrim(email, 'k'), rtrim(email, 'e') FROM P_x30", want: "masked"},
	{name: "trim both from", sql: "SELECT trim(BOTH '-' FROM ssn), trim(LEADING 'k' FROM email) FROM P_x30", want: "masked"},
	{name: "masking idiom", sql: "SELECT upper(left(email, 1)) || '***@' || split_part(email, '@', 2) FROM P_x30", want: "masked"},
	{name: "last four", sql: "SELECT concat('***-**-', right(ssn, 4)) FROM P_x30", want: "masked"},
	{name: "lower", sql: "SELECT lower(email) FROM P_x30", want: "masked"},
	{name: "format", sql: "SELECT format('%s <%s>', name, email) FROM P_x30", want: "masked"},
	{name: "quote_literal", sql: "SELECT quote_literal(ssn) FROM P_x30", want: "masked"},
	{name: "varchar column", sql: "SELECT left(email, 3), md5(email), length(email), split_part(email, '@', 2) FROM P_x30_k34", want: "masked"},
	{name: "position", sql: "SELECT position('@' IN email) FROM P_x30", want: "masked"},
	{name: "strpos", sql: "SELECT strpos(email, '@') FROM P_x30", want: "masked"},
	{name: "strpos of a varchar", sql: "SELECT strpos(email, '.') FROM P_x30_k34", want: "masked"},
	{name: "starts_with", sql: "SELECT starts_with(ssn, '3') FROM P_x30", want: "masked"},
	{name: "to_hex of a length", sql: "SELECT to_hex(length(ssn)) FROM P_x30", want: "masked"},
	{name: "regexp_replace digits", sql: "SELECT regexp_replace(ssn, '[0-9]', 'X', 'g') FROM P_x30", want: "masked"},
	{name: "regexp_replace backreference", sql: `SELECT regexp_replace(email, '^(.)[^@]*@', '\1***@') FROM P_x30`, want: "masked"},
	{name: "regexp_replace case-insensitive", sql: `SELECT regexp_replace(notes, '\w+', 'w', 'gi') FROM P_x30`, want: "masked"},
	{name: "regexp_replace of a varchar", sql: `SELECT regexp_replace(email, '\d', '#', 'g') FROM P_x30_k34`, want: "masked"},
	{name: "regexp_match", sql: "SELECT regexp_match(email, '@(.*)$') FROM P_x30", want: "masked"},
	{name: "regexp_like", sql: "SELECT regexp_like(email, 'example$') FROM P_x30", want: "masked"},
	{name: "regexp_count", sql: "SELECT regexp_count(notes, 'e') FROM P_x30", want: "masked"},
	{name: "regexp_substr", sql: "SELECT regexp_substr(email, '[a-z]+') FROM P_x30", want: "masked"},
	{name: "regexp_instr", sql: "SELECT regexp_instr(email, '@') FROM P_x30", want: "masked"},
	{name: "substring of a pattern", sql: "SELECT substring(email FROM '@(.*)$') FROM P_x30", want: "masked"},
	{name: "substring of digits", sql: `SELECT substring(ssn, '\d{4}$') FROM P_x30`, want: "masked"},

	// CASE and COALESCE.
	{name: "case else literal", sql: "SELECT CASE WHEN region = 'eu' THEN ssn ELSE 'n/a' END FROM P_x30_k34", want: "masked"},
	{name: "case simple", sql: "SELECT CASE region WHEN 'eu' THEN email END FROM P_x30_k34", want: "masked"},
	{name: "coalesce literal", sql: "SELECT coalesce(ssn, 'unknown') FROM P_x30", want: "masked"},
	{name: "coalesce numeric", sql: "SELECT coalesce(salary, 0) FROM P_x30", want: "masked"},
	{name: "coalesce date", sql: "SELECT coalesce(dob, '1900-01-01') FROM P_x30", want: "masked"},
	{name: "case nullness", sql: "SELECT CASE WHEN ssn IS NULL THEN 'missing' ELSE 'present' END FROM P_x30", want: "masked"},
	{name: "case of two masked columns", sql: "SELECT CASE WHEN id = 1 THEN ssn ELSE email END FROM P_x30", want: "masked"},
	{name: "case of text and varchar", sql: "SELECT CASE WHEN region = 'eu' THEN ssn ELSE email END FROM P_x30_k34", want: "masked"},
	{name: "case of masked and unmasked", sql: "SELECT CASE WHEN qty > 4 THEN name ELSE ssn END FROM P_x30_k34", want: "masked"},
	{name: "case on a masked null test", sql: "SELECT CASE WHEN email IS NULL THEN ssn ELSE email END FROM P_x30", want: "masked"},
	{name: "coalesce of two masked columns", sql: "SELECT coalesce(email, ssn) FROM P_x30", want: "masked"},
	{name: "coalesce of three", sql: "SELECT coalesce(email, ssn, name, '-') FROM P_x30_k34", want: "masked"},
	{name: "coalesce of jsonb", sql: "SELECT coalesce(k.notes, b.notes) FROM P_x30_k34 k JOIN P_x30b b USING (id)", want: "masked"},
	{name: "coalesce of two integers", sql: "SELECT coalesce(b.salary, k.qty) FROM P_x30b b JOIN P_x30_k34 k USING (id)", want: "masked"},

	// Dates and times.
	{name: "extract from date", sql: "SELECT extract(year FROM dob) FROM P_x30", want: "masked"},
	{name: "date_part of timestamp", sql: "SELECT date_part('month', dob) FROM P_x30_k34", want: "masked"},
	{name: "date_trunc of timestamp", sql: "SELECT date_trunc('day', dob) FROM P_x30_k34", want: "masked"},
	{name: "date_trunc week", sql: "SELECT date_trunc('week', dob) FROM P_x30_k34", want: "masked"},
	{name: "extract epoch", sql: "SELECT extract(epoch FROM dob) FROM P_x30_k34", want: "masked"},
	{name: "extract dow of timestamptz", sql: "SELECT extract(dow FROM dob) FROM P_x30b", want: "masked"},
	{name: "date as text", sql: "SELECT dob::text FROM P_x30", want: "masked"},
	{name: "to_char of timestamp", sql: "SELECT to_char(dob, 'YYYY-MM-DD HH24:MI') FROM P_x30_k34", want: "masked"},
	{name: "to_char of timestamp with names", sql: "SELECT to_char(dob, 'Day, DD Month YYYY') FROM P_x30_k34", want: "masked"},
	{name: "to_char of timestamp quarter", sql: `SELECT to_char(dob, 'YYYY "Q"Q'), to_char(dob, 'IYYY-IW') FROM P_x30_k34`, want: "masked"},
	{name: "to_char of timestamptz", sql: "SELECT to_char(dob, 'YYYY-MM-DD HH24:MI:SS OF') FROM P_x30b", want: "masked"},
	{name: "to_char of timestamptz month", sql: "SELECT to_char(dob, 'FMMonth YYYY') FROM P_x30b", want: "masked"},
	{name: "to_char of numeric", sql: "SELECT to_char(salary, 'FM999,999.00') FROM P_x30", want: "masked"},
	{name: "to_char of numeric scientific", sql: "SELECT to_char(salary, '9.99EEEE') FROM P_x30_k34", want: "masked"},
	{name: "to_char of numeric with currency", sql: "SELECT to_char(salary, 'L999G999D99') FROM P_x30", want: "masked"},
	{name: "to_char of integer", sql: "SELECT to_char(salary, '999G999') FROM P_x30b", want: "masked"},
	{name: "timestamp to date", sql: "SELECT dob::date FROM P_x30_k34", want: "masked"},
	{name: "timestamptz to date", sql: "SELECT CAST(dob AS date) FROM P_x30b", want: "masked"},
	{name: "grouped by month, masked birthdays", sql: "SELECT to_char(created, 'YYYY-MM'), min(dob), max(dob) FROM P_x30_k34 GROUP BY 1", want: "some"},

	// Numbers and aggregates.
	{name: "round", sql: "SELECT round(salary) FROM P_x30", want: "masked"},
	{name: "trunc", sql: "SELECT trunc(salary, -3) FROM P_x30", want: "masked"},
	{name: "sum and avg of an integer", sql: "SELECT sum(salary), avg(salary) FROM P_x30b", want: "masked"},
	{name: "round avg of an integer", sql: "SELECT round(avg(salary), 2) FROM P_x30b", want: "masked"},
	{name: "numeric as text", sql: "SELECT salary::text FROM P_x30", want: "masked"},
	{name: "count", sql: "SELECT count(ssn), count(DISTINCT email) FROM P_x30", want: "masked"},
	{name: "min max", sql: "SELECT min(dob), max(salary), min(ssn), max(email) FROM P_x30", want: "masked"},
	{name: "min max grouped", sql: "SELECT region, min(dob), max(salary) FROM P_x30_k34 GROUP BY region", want: "some"},
	{name: "string_agg", sql: "SELECT string_agg(email, ', ') FROM P_x30", want: "masked"},
	{name: "string_agg distinct", sql: "SELECT string_agg(DISTINCT ssn, ', ') FROM P_x30", want: "masked"},
	{name: "string_agg ordered by an unmasked column", sql: "SELECT string_agg(ssn, ', ' ORDER BY id) FROM P_x30", want: "masked"},
	{name: "array_agg", sql: "SELECT array_agg(ssn) FROM P_x30", want: "masked"},
	{name: "json_agg", sql: "SELECT json_agg(email) FROM P_x30", want: "masked"},
	{name: "jsonb_agg", sql: "SELECT jsonb_agg(ssn) FROM P_x30", want: "masked"},
	{name: "bool_or of a null test", sql: "SELECT bool_or(ssn IS NULL) FROM P_x30", want: "masked"},
	{name: "array_to_string", sql: "SELECT array_to_string(array_agg(ssn), ', ') FROM P_x30", want: "masked"},
	{name: "cardinality", sql: "SELECT cardinality(array_agg(email)), array_length(array_agg(email), 1) FROM P_x30", want: "masked"},
	{name: "avg length", sql: "SELECT avg(length(notes)) FROM P_x30", want: "masked"},
	{name: "sum char_length", sql: "SELECT sum(char_length(ssn)), avg(octet_length(email)) FROM P_x30", want: "masked"},
	{name: "avg length by region", sql: "SELECT region, round(avg(length(email)), 1) FROM P_x30_k34 GROUP BY region", want: "some"},

	// Window functions.
	{name: "row_number beside masked", sql: "SELECT row_number() OVER (ORDER BY id), ssn FROM P_x30", want: "some"},
	{name: "first_value", sql: "SELECT first_value(ssn) OVER (PARTITION BY region ORDER BY id) FROM P_x30_k34", want: "masked"},
	{name: "lag", sql: "SELECT lag(email) OVER (ORDER BY id) FROM P_x30", want: "masked"},
	{name: "lead with a default", sql: "SELECT lead(ssn, 1, 'none') OVER (ORDER BY id) FROM P_x30", want: "masked"},
	{name: "count over", sql: "SELECT count(ssn) OVER () FROM P_x30", want: "masked"},
	{name: "max over a partition", sql: "SELECT max(salary) OVER (PARTITION BY region) FROM P_x30_k34", want: "masked"},
	{name: "sum of an integer over", sql: "SELECT sum(salary) OVER (ORDER BY id) FROM P_x30b", want: "masked"},
	{name: "running length", sql: "SELECT sum(char_length(notes)) OVER (ORDER BY id) FROM P_x30", want: "masked"},

	// FROM items, JSON.
	{name: "lateral subquery", sql: "SELECT s.u FROM P_x30 c, LATERAL (SELECT upper(c.ssn) AS u) s", want: "masked"},
	{name: "json_build_object", sql: "SELECT json_build_object('id', id, 'ssn', ssn) FROM P_x30", want: "masked"},
	{name: "json_build_object of several", sql: "SELECT json_build_object('email', email, 'dob', dob, 'salary', salary) FROM P_x30", want: "masked"},
	{name: "jsonb_build_object", sql: "SELECT jsonb_build_object('id', id, 'email', email) FROM P_x30", want: "masked"},
	{name: "row_to_json", sql: "SELECT row_to_json(c) FROM P_x30 c", want: "masked"},
	{name: "row_to_json of a row", sql: "SELECT row_to_json(ROW(id, ssn)) FROM P_x30", want: "masked"},
	{name: "to_jsonb", sql: "SELECT to_jsonb(email) FROM P_x30", want: "masked"},
	{name: "jsonb arrows", sql: "SELECT notes->>'pin', notes->'tags'->0 FROM P_x30_k34", want: "masked"},
	{name: "jsonb_typeof", sql: "SELECT jsonb_typeof(notes), jsonb_typeof(notes->'tags') FROM P_x30_k34", want: "masked"},

	// Unmasked reads beside.
	{name: "to_char of an unmasked column", sql: "SELECT to_char(created, 'YYYY-MM'), ssn FROM P_x30_k34", want: "some"},
	{name: "explain of an unmasked table", sql: "EXPLAIN SELECT note FROM P_y30", want: "ok"},
}

// r34Leaks: masked before this round, where the value decides whether
// the statement fails.
var r34Leaks = []r30Case{
	// replace under a nondeterministic collation fails on '318-42-7765'
	// and not on '' (0A000): an oracle on the value.
	{name: "replace under a user collation", sql: "SELECT replace(ssn COLLATE P_nd34, '-', '') FROM P_x30 WHERE id = 1", want: "denied"},
	{name: "split_part under a user collation", sql: "SELECT split_part(email COLLATE public.P_nd34, '@', 1) FROM P_x30", want: "denied"},
	{name: "collation through a derived table", sql: "SELECT replace(s, '-', '') FROM (SELECT ssn COLLATE P_nd34 AS s FROM P_x30) q", want: "denied"},
	{name: "collation through a cte", sql: "WITH q AS (SELECT email COLLATE P_nd34 AS e FROM P_x30) SELECT split_part(e, '@', 2) FROM q", want: "denied"},
	{name: "built-in collation", sql: `SELECT replace(ssn COLLATE "C", '-', ''), split_part(email COLLATE pg_catalog."default", '@', 2) FROM P_x30`, want: "masked"},
}

// r34Open: a column declared with a nondeterministic collation. replace
// fails on row 1 and not on row 2 (empty): the gateway would need the
// column's collation from the catalog (pg_attribute.attcollation) to make
// replace, split_part, strpos, position, starts_with and the regular
// expressions typed reads of it.
var r34Open = []r30Case{
	{name: "replace of a column with a nondeterministic collation", sql: "SELECT replace(ssn, '-', '') FROM P_x30_c34 WHERE id = 1",
		want: "safe", open: "a column's declared nondeterministic collation makes replace fail on a non-empty value"},
	// Output-size amplification by the number of rows an aggregate joins
	// (pgsql/growth.go does not count rows): string_agg of
	// replace(ssn, '3', '') over a cross join with generate_series is
	// 10^8 times 8 to 11 bytes, past 1 GB or not as the value holds more
	// or fewer 3s. (Runs allocate about 1 GB on the server.)
	{name: "rows of a string_agg", sql: "SELECT length(string_agg(replace(ssn, '3', ''), ',')) FROM P_x30 CROSS JOIN generate_series(1, 100000000) WHERE id = 1",
		want: "safe", modes: []string{"simple"}, open: "output-size amplification by row count: an aggregate over generate_series or a cross join reaches the 1 GB limit by an amount that depends on the masked value"},
}

// r34Amplification: masked before, an oracle (54000 as the output passes
// the 1 GB limit of a value by an amount that depends on the masked
// content), denied now (pgsql/growth.go). quote_literal doubles the quotes
// of its argument: nested 28 times over the first character of ssn,
// made a quote when it is 3 (r34Amplified), it makes 805 MB when the
// first character is 3, 537 MB when not,
// and the concatenation with 300 MB of itself fails in the first case
// only. Denied before any of it runs.
var r34Amplification = []r30Case{
	{name: "amplified first character", sql: "SELECT length(concat(" + r34Amplified + ", left(" + r34Amplified + ", 300000000))) FROM P_x30 WHERE id = 1"},
	{name: "replace beside repeat", sql: "SELECT length(concat(replace(ssn, '3', '" + strings.Repeat("a", 40) + "'), repeat('y', 1073741000))) FROM P_x30 WHERE id = 1"},
	{name: "length beside repeat", sql: "SELECT length(concat(ssn, repeat('y', 1073741000))) FROM P_x30 WHERE id = 1"},
	{name: "long replacement", sql: "SELECT length(replace(ssn, '3', '" + strings.Repeat("a", 5000) + "')) FROM P_x30"},
	{name: "nested replace", sql: "SELECT replace(replace(ssn, '3', '" + strings.Repeat("a", 100) + "'), 'a', '" + strings.Repeat("b", 100) + "') FROM P_x30"},
	{name: "nested regexp_replace", sql: "SELECT regexp_replace(regexp_replace(ssn, '3', '" + strings.Repeat("a", 40) + "', 'g'), 'a', '" + strings.Repeat("b", 40) + "', 'g') FROM P_x30"},
	{name: "nested json escapes", sql: "SELECT to_json(to_json(to_json(to_json(ssn)::text)::text)::text) FROM P_x30"},
	{name: "amplifier in a subquery", sql: "SELECT concat(ssn, (SELECT string_agg('x', '') FROM generate_series(1, 100000000))) FROM P_x30"},
}

// r34Amplified is quote_literal nested 28 times over the first character
// of ssn, made a quote when it is 3.
var r34Amplified = strings.Repeat("quote_literal(", 28) + "translate(substr(ssn, 1, 1), '3', '''')" + strings.Repeat(")", 28)

// r34Denied: the statements that stay denied, each with why. "lead":
// provably total, denied for a reason outside this round's files.
var r34Denied = []r30Case{
	// Strings.
	{name: "ascii", sql: "SELECT ascii(ssn) FROM P_x30"},                                                 // fails on a non-ASCII first character in a multibyte server encoding other than UTF8, which the analyzer does not know
	{name: "length comparison", sql: "SELECT id, length(notes) > 10 FROM P_x30"},                         // an operator: only || and the jsonb operators are typed
	{name: "string_to_array", sql: "SELECT string_to_array(ssn, '-') FROM P_x30"},                        // fails past 134217727 fields (128 MB of separators), an oracle below the size limits left open
	{name: "strpos of a longer needle", sql: "SELECT strpos(notes, 'lantern') FROM P_x30"},               // under a nondeterministic collation a needle of n bytes fails on values of n bytes or more
	{name: "position of a column", sql: "SELECT position(name IN ssn) FROM P_x30"},                       // the same, with a needle of any length
	{name: "nullif", sql: "SELECT nullif(ssn, '') FROM P_x30"},                                           // its NULL says whether the value equals the literal
	{name: "greatest", sql: "SELECT greatest(ssn, email) FROM P_x30"},                                    // lead: compares; cannot fail on two text columns (round 20 keeps it a filter)
	{name: "array of two columns", sql: "SELECT ARRAY[ssn, email] FROM P_x30"},                           // lead: cannot fail on text columns (outsider_test keeps ARRAY[x] a filter)
	{name: "regexp_matches", sql: "SELECT id, regexp_matches(notes, 'e', 'g') FROM P_x30"},               // returns a row per match: the row count
	{name: "regexp not compiling", sql: "SELECT regexp_replace(ssn, '(', 'x') FROM P_x30"},               // fails on every row it runs for, which a CASE turns into an oracle
	{name: "regexp of a pattern column", sql: "SELECT regexp_replace(ssn, name, 'x') FROM P_x30"},        // a pattern that is no literal may not compile
	{name: "regexp expanded syntax", sql: "SELECT regexp_replace(ssn, '3 1', 'x', 'x') FROM P_x30"},      // flags beyond g i c n s p w change the syntax checked
	{name: "substring similar", sql: `SELECT substring(ssn SIMILAR '%#"-__-#"%' ESCAPE '#') FROM P_x30`}, // SQL regular expressions: not checked
	{name: "sha256 of a cast", sql: "SELECT sha256(ssn::bytea) FROM P_x30"},                              // text to bytea fails on a backslash not followed by an escape
	{name: "regexp_match element", sql: "SELECT (regexp_match(email, '^([^@]+)@'))[1] FROM P_x30"},       // a subscript: none is typed
	{name: "domain by position", sql: "SELECT substr(email, position('@' IN email) + 1) FROM P_x30"},     // + is an operator: only || and the jsonb operators are typed
	// CASE, COALESCE and conversions.
	{name: "coalesce of two numerics", sql: "SELECT coalesce(k.salary, x.salary) FROM P_x30_k34 k JOIN P_x30 x USING (id)"}, // numeric converts to float8 (past 1e308) beside a float; types are checked one column at a time
	{name: "coalesce of numeric and integer", sql: "SELECT coalesce(x.salary, b.salary) FROM P_x30 x JOIN P_x30b b USING (id)"},
	{name: "case of date and timestamp", sql: "SELECT CASE WHEN x.id = 1 THEN x.dob ELSE k.dob END FROM P_x30 x JOIN P_x30_k34 k USING (id)"}, // a date past 294276 fails as a timestamp
	{name: "coalesce of date and now", sql: "SELECT coalesce(dob, now()) FROM P_x30"},                                                         // the same, to timestamptz
	{name: "case of two timestamps", sql: "SELECT CASE WHEN qty > 4 THEN created ELSE dob END FROM P_x30_k34"},                                // a timestamp converts to timestamptz beside one, failing near the ends of the range
	{name: "numeric to int", sql: "SELECT salary::int FROM P_x30"},                                                                            // overflows
	{name: "integer widening casts", sql: "SELECT salary::bigint, salary::numeric FROM P_x30b"},                                               // lead: cannot fail (adversarial_mask_test keeps int casts filters)
	{name: "date to timestamp", sql: "SELECT dob::timestamp FROM P_x30"},                                                                      // past 294276
	// Dates and times.
	{name: "to_char of date", sql: "SELECT to_char(dob, 'YYYY-MM') FROM P_x30"},                     // to_char converts a date to timestamptz, failing past 294276 AD
	{name: "to_char of timestamptz day names", sql: "SELECT to_char(dob, 'Dy DD Mon') FROM P_x30b"}, // a negative day of the week in zones past a day west: a wrong name or a crashed server
	{name: "to_char of timestamptz zone", sql: "SELECT to_char(dob, 'HH24:MI TZ') FROM P_x30b"},     // fails on a long abbreviation, which a zone may have in summer only
	{name: "to_char localized", sql: "SELECT to_char(dob, 'TMMonth') FROM P_x30_k34"},               // TM's names depend on lc_time
	{name: "to_char roman numerals", sql: "SELECT to_char(salary, 'RN') FROM P_x30"},                // RN fails past 2^31
	{name: "to_char of a computed format", sql: "SELECT to_char(salary, region) FROM P_x30_k34"},    // a format that is no literal
	{name: "date_trunc of date", sql: "SELECT date_trunc('month', dob) FROM P_x30"},                 // converts a date to timestamptz
	{name: "date plus interval", sql: "SELECT dob + interval '1 year' FROM P_x30"},                  // past the end of the range
	{name: "date plus days", sql: "SELECT dob + 30 FROM P_x30"},                                     // the same
	{name: "date difference", sql: "SELECT current_date - dob FROM P_x30"},                          // fails on an infinite date
	{name: "age", sql: "SELECT age(dob) FROM P_x30_k34"},                                            // fails on an infinite timestamp
	// Aggregates, windows, FROM.
	{name: "avg of an unconstrained numeric", sql: "SELECT avg(salary) FROM P_x30_k34"},                                 // a sum of numerics overflows near 10^131072, past a value an agent may store beside the masked one; numeric(p, s) is masked (r34Masked)
	{name: "sum of an unconstrained numeric", sql: "SELECT sum(salary) FROM P_x30_k34"},                                 // the same
	{name: "abs of an integer", sql: "SELECT abs(salary) FROM P_x30b"},                                                  // fails on -2147483648
	{name: "percentile_cont of numeric", sql: "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY salary) FROM P_x30"},  // converts numeric to float8, failing past 1e308
	{name: "percentile_cont of integer", sql: "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY salary) FROM P_x30b"}, // lead: cannot fail; a WITHIN GROUP ordering is walked as a filter (pgsql/expr.go funcCall)
	{name: "percentile_disc", sql: "SELECT percentile_disc(0.9) WITHIN GROUP (ORDER BY dob) FROM P_x30"},                // lead: the same, for any sortable built-in type
	{name: "mode", sql: "SELECT mode() WITHIN GROUP (ORDER BY email) FROM P_x30"},                                       // lead: the same
	{name: "string_agg ordered by masked", sql: "SELECT string_agg(ssn, ', ' ORDER BY ssn) FROM P_x30"},                 // lead: an aggregate's ORDER BY is a filter though its result is masked
	{name: "count filter", sql: "SELECT count(*) FILTER (WHERE ssn IS NOT NULL) FROM P_x30"},                            // FILTER is a filter
	{name: "nth_value", sql: "SELECT nth_value(ssn, 2) OVER (ORDER BY id) FROM P_x30"},                                  // lead: cannot fail with a literal n > 0 (round 6 keeps it a filter)
	{name: "rank by masked", sql: "SELECT rank() OVER (ORDER BY salary) FROM P_x30"},                                    // a window's ORDER BY is a filter
	{name: "lateral scalar function", sql: "SELECT x FROM P_x30 c, LATERAL upper(c.ssn) AS x"},                          // lead: the arguments of a function in FROM are filters (pgsql/from.go), though a scalar one returns one row
	{name: "lateral left", sql: "SELECT x.l FROM P_x30 c CROSS JOIN LATERAL left(c.ssn, 3) AS x(l)"},                    // lead: the same
	{name: "lateral unnest", sql: "SELECT u FROM P_x30 c, LATERAL unnest(string_to_array(c.notes, ' ')) u"},             // the row count
	{name: "json_object_agg", sql: "SELECT json_object_agg(id, ssn) FROM P_x30"},                                        // fails on a NULL key (of an unmasked column here; not split by argument)
	{name: "jsonb_array_length", sql: "SELECT jsonb_array_length(notes->'tags') FROM P_x30_k34"},                        // fails on a scalar or an object
	{name: "jsonb_pretty", sql: "SELECT jsonb_pretty(notes) FROM P_x30_k34"},                                            // indentation grows with depth: a 30 kB document of depth 5000 prints past 1 GB and fails
	{name: "bit_length", sql: "SELECT bit_length(ssn) FROM P_x30"},                                                      // octet_length * 8 in SQL: "integer out of range" past 256 MB
	{name: "jsonb key exists", sql: "SELECT notes ? 'pin' FROM P_x30_k34"},                                              // an operator (cannot fail on jsonb; not typed)
	// EXPLAIN and ordering.
	{name: "explain a masked read", sql: "EXPLAIN SELECT ssn FROM P_x30"},                             // its estimates give the column's average width
	{name: "explain without costs", sql: "EXPLAIN (COSTS OFF) SELECT upper(email) FROM P_x30"},        // the plan's shape follows the relation's size
	{name: "explain execute", sql: "PREPARE q34 AS SELECT ssn FROM P_x30; EXPLAIN EXECUTE q34"},       // lead: EXPLAIN EXECUTE of a statement the gateway prepared is never allowed
	{name: "order by masked", sql: "SELECT id FROM P_x30 ORDER BY ssn"},                               // ordering is a filter
	{name: "order by a masked expression", sql: "SELECT id, left(ssn, 3) FROM P_x30 ORDER BY 2"},      // the same
	{name: "order by a to_char", sql: "SELECT id FROM P_x30_k34 ORDER BY to_char(dob, 'MM-DD')"},      // the same
	{name: "distinct masked", sql: "SELECT DISTINCT left(ssn, 3) FROM P_x30"},                         // DISTINCT compares
	{name: "group by masked", sql: "SELECT to_char(dob, 'YYYY'), count(*) FROM P_x30_k34 GROUP BY 1"}, // grouping compares
}

func TestAdversarialRound34(t *testing.T) {
	a := newAdvEnv30(t)
	t.Cleanup(func() { adminTry(t, a.sql(round34Drop)) })
	admin(t, a.sql(round34Fixture))
	saved := r30Secrets
	r30Secrets = append(slices.Clone(r30Secrets), r34Secrets...)
	t.Cleanup(func() { r30Secrets = saved })
	var all []oResult
	for _, g := range []struct {
		name  string
		cases []r30Case
	}{
		{"masked", r34Masked},
		{"leaks", r34Leaks},
		{"amplification", r34Amplification},
		{"open", r34Open},
		{"denied", r34Denied},
	} {
		t.Run(g.name, func(t *testing.T) {
			cases := slices.Clone(g.cases)
			for i := range cases {
				if cases[i].want == "" {
					cases[i].want = "denied"
				}
			}
			all = append(all, runR30(t, a, cases)...)
		})
	}
	if os.Getenv("R30_DEBUG") != "" {
		logOutsider(t, all)
	}
}

// TestAdversarialRound34TypedHint: a typed read of this round denied as a
// filter says why in its hint.
func TestAdversarialRound34TypedHint(t *testing.T) {
	a := newAdvEnv30(t)
	t.Cleanup(func() { adminTry(t, a.sql(round34Drop)) })
	admin(t, a.sql(round34Fixture))
	for _, tc := range []struct{ sql, hint string }{
		{"SELECT to_char(dob, 'YYYY') FROM P_x30", "to_char over a masked column is masked for a timestamp or timestamptz"},
		{"SELECT to_char(dob, 'Dy') FROM P_x30b", "(day names and the zone: a timestamp only)"},
		{"SELECT ssn::date FROM P_x30", "a cast of a masked column to date is masked when the column is a date, timestamp or timestamptz"},
		{"SELECT coalesce(x.dob, k.dob) FROM P_x30 x JOIN P_x30_k34 k USING (id)", "CASE and COALESCE over masked columns are masked when"},
		{"SELECT sum(length(notes)) FROM P_x30_g34", "sum(length(x)) over a masked column is masked when length() of its type is an integer"},
	} {
		tp, err := a.connectTapped(t, "reader30", nil)
		if err != nil {
			t.Fatal(err)
		}
		o := tp.run(context.Background(), "simple", a.sql(tc.sql))
		var pe *pgconn.PgError
		if !o.denied || !errors.As(o.err, &pe) {
			t.Errorf("%s: want a denial, got %s %v", tc.sql, outsiderGot(o), o.err)
		} else if !strings.Contains(pe.Hint, tc.hint) {
			t.Errorf("%s: hint %q, want it to say %q", tc.sql, pe.Hint, tc.hint)
		}
		tp.pc.Close(context.Background())
	}
}
