#!/bin/sh
# Benchmarks of the session recorder (runtime/recorder) and audit verify
# (runtime/audit): SQLite async events/s (one writer), SQLite sync with 16
# concurrent writers (synchronous=FULL, group commit), PostgreSQL batched
# (async) and sync with 16 writers against 127.0.0.1:5432, and verify over
# a 1,000,000-event chain. Each benchmark also reports events/commit.
# Targets: >= 50,000/s async, >= 5,000/s sync16, >= 20,000/s PostgreSQL
# batched, <= 10 s per verify of 1,000,000 events.
# Because the machine is shared, the process CPU time is printed too.
set -eu
cd "$(dirname "$0")/.."
N="${EVENTS:-200000}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/recorder.test" ./runtime/recorder
go test -c -o "$tmp/audit.test" ./runtime/audit
for b in SQLiteAsync SQLiteSync16 PostgresBatched PostgresSync16; do
  n="$N"
  case "$b" in *Sync16) n=$((N / 4)) ;; esac
  /usr/bin/time -f "  $b: user %Us sys %Ss wall %es" \
    "$tmp/recorder.test" -test.run '^$' -test.bench "^Benchmark$b\$" -test.benchtime "${n}x" -test.benchmem
done
/usr/bin/time -f "  Verify1M: user %Us sys %Ss wall %es (includes building the chain)" \
  "$tmp/audit.test" -test.run '^$' -test.bench '^BenchmarkVerify1M$' -test.benchtime 1x
