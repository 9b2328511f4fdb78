#!/usr/bin/env bash
# Gateway CPU per pgbench -S query: builds runtime/pgproxy/internal/benchgw
# (or takes BIN), runs it against database mandate_pgbench (created at
# scale 10 when missing), warms up for 2 s, runs pgbench -S -c 8 -j 2 -T 10
# in MODE (simple or prepared) through it and prints the gateway's
# utime+stime from /proc divided by the transactions, user and system
# apart. The machine is shared: compare builds by running them alternately
# (BIN=old, BIN=new, again), not by tps. PROFILE=1 also saves a 9 s CPU
# profile to gwcpu-NAME.pprof. UPSTREAM=ADDRESS connects the gateway to
# PostgreSQL there (host:port, or the path of its Unix socket file, such as
# /var/run/postgresql/.s.PGSQL.5432) instead of 127.0.0.1:5432. LOOPS=N runs
# the gateway with N event loops (default 0: none, every session on
# goroutines).
# Usage: bench/gwcpu.sh NAME [MODE] [RECORD=true|false]
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=${1:?usage: bench/gwcpu.sh NAME [simple|prepared] [true|false]}
MODE=${2:-simple}
REC=${3:-true}
DB=mandate_pgbench
export PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres PGSSLMODE=disable
if ! psql -q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$DB'" | grep -q 1; then
  psql -q -d postgres -c "CREATE DATABASE $DB"
  pgbench -i -q -s 10 "$DB" >/dev/null 2>&1
fi
TMP=$(mktemp -d /tmp/mandate-gwcpu.XXXXXX)
BIN=${BIN:-}
if [ -z "$BIN" ]; then
  BIN=$TMP/benchgw
  go build -o "$BIN" ./runtime/pgproxy/internal/benchgw
fi
export BENCH_TOKEN=tok$RANDOM
"$BIN" -policy runtime/pgproxy/testdata/bench-policy -database "$DB" -record="$REC" ${UPSTREAM:+-upstream "$UPSTREAM"} ${LOOPS:+-loops "$LOOPS"} \
  -listen 127.0.0.1:15532 -http 127.0.0.1:15580 >"$TMP/gw.log" 2>&1 &
GW=$!
trap 'kill $GW 2>/dev/null; wait $GW 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 15532 && break; sleep 0.2; done
run() { PGPASSWORD=$BENCH_TOKEN pgbench -S -n -c 8 -j 2 -T "$1" -M "$MODE" -h 127.0.0.1 -p 15532 -U bench bench 2>&1; }
run 2 >/dev/null
u0=$(awk '{print $14}' /proc/$GW/stat); s0=$(awk '{print $15}' /proc/$GW/stat)
PROF=
if [ "${PROFILE:-0}" = 1 ]; then
  curl -s -o "gwcpu-$NAME.pprof" "http://127.0.0.1:15580/debug/pprof/profile?seconds=9" &
  PROF=$!
fi
out=$(run 10)
u1=$(awk '{print $14}' /proc/$GW/stat); s1=$(awk '{print $15}' /proc/$GW/stat)
[ -n "$PROF" ] && wait "$PROF"
tx=$(echo "$out" | awk '/number of transactions actually processed/ {print $NF}' | cut -d/ -f1)
tps=$(echo "$out" | awk '/^tps = / {print $3}')
hz=$(getconf CLK_TCK)
python3 - "$NAME" "$MODE" "$REC" "$tps" "$tx" "$u0" "$u1" "$s0" "$s1" "$hz" <<'PY'
import sys
name, mode, rec, tps, tx, u0, u1, s0, s1, hz = sys.argv[1:]
tx, hz = int(tx), int(hz)
us = lambda a, b: (int(b) - int(a)) * 1e6 / hz / tx
u, s = us(u0, u1), us(s0, s1)
print(f"{name} {mode} record={rec} tps={float(tps):.0f} tx={tx} gateway CPU per query: {u+s:.1f} us (user {u:.1f}, system {s:.1f})")
PY
