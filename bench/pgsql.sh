#!/bin/sh
# Benchmarks of the SQL analyzer (runtime/pgsql): uncached analysis of the
# pgbench -S statement, the Analyzer cache by exact text and by shape, and
# the pg_query building blocks for comparison.
set -eu
cd "$(dirname "$0")/.."
go test -run '^$' -bench . -benchmem -benchtime "${BENCHTIME:-2s}" -count "${COUNT:-3}" ./runtime/pgsql/
