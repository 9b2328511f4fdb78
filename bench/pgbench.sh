#!/usr/bin/env bash
# pgbench -S (8 clients, 2 threads, simple and prepared protocols) against
# PostgreSQL directly, through pgbouncer in session mode, and through the
# mandate gateway (compiled policy, decision engine, the real recorder with
# async durability, a masking rule on the column pgbench -S reads), in one
# run; "gateway-norec" is the same gateway recording nothing, and
# "go-relay" a Go TCP relay of the gateway's shape that only forwards bytes
# (runtime/pgproxy/internal/benchrelay: the floor of a Go proxy hop), and
# "go-epoll" the same relay forwarding from one epoll event loop instead of
# two goroutines per connection (the floor of an event-loop data path,
# which the gateway does not have yet). Prints TPS,
# ratios to direct, p50 latency and the p50 latency the gateway adds (also
# with one client, mode "one", where no query waits for a CPU), and the
# gateway's memory per idle client connection.
#
# Every proxy connects upstream to 127.0.0.1:5432 over TCP; the "-unix"
# targets are the same proxies connecting to PostgreSQL's Unix socket
# instead (a proxy running on the database's host; the gateway's
# connection address is then the socket file's path). The client side is
# always TCP, as an agent's would be. SOCKET=PATH names the socket file
# (default: the server's first unix_socket_directories entry); SOCKET=none
# skips the -unix targets.
#
# Needs PostgreSQL on 127.0.0.1:5432 (trust auth as postgres) and Go;
# installs pgbouncer with apt-get when missing.
# Every (mode, target) runs ROUNDS times, interleaved, and the median is
# reported: the machine is shared, and interleaving spreads load changes
# over all targets.
# GW_GOMAXPROCS=N runs both gateways with GOMAXPROCS=N (default: the
# runtime's, one per core).
# Usage: bench/pgbench.sh [DURATION_SECONDS]   (per run, default 10; ROUNDS=3)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${1:-10}
ROUNDS=${ROUNDS:-3}
CLIENTS=8
THREADS=2
SCALE=${SCALE:-10}
IDLE=${IDLE:-50}
DB=mandate_pgbench
PGBOUNCER_PORT=16432
RELAY_PORT=15600
GW_PORT=15432
GW_HTTP=15480
GW2_PORT=15434
GWU_PORT=15436
RELAYU_PORT=15601
EPOLL_PORT=15602
export PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres PGSSLMODE=disable
TMP=$(mktemp -d /tmp/mandate-pgbench.XXXXXX)
chmod 755 "$TMP"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT

if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
  echo "installing pgbouncer..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null
fi
PGBOUNCER=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)

if [ -z "${SOCKET:-}" ]; then
  dir=$(psql -X -q -d postgres -tAc "SELECT split_part(current_setting('unix_socket_directories'), ',', 1)" | tr -d ' ')
  SOCKET=none
  [ -n "$dir" ] && [ -S "$dir/.s.PGSQL.5432" ] && SOCKET=$dir/.s.PGSQL.5432
fi
TARGETS="direct pgbouncer go-relay go-epoll gateway gateway-norec"
if [ "$SOCKET" != none ]; then
  TARGETS="$TARGETS pgbouncer-unix go-relay-unix gateway-unix"
fi

echo "preparing database $DB (scale $SCALE)..." >&2
psql -q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
psql -q -d postgres -c "CREATE DATABASE $DB" >/dev/null
pgbench -i -q -s "$SCALE" "$DB" >/dev/null 2>&1

# pgbouncer, session pooling, trust auth (as the server itself).
cat >"$TMP/pgbouncer.ini" <<EOF
[databases]
$DB = host=127.0.0.1 port=5432 dbname=$DB
$([ "$SOCKET" != none ] && echo "${DB}_unix = host=$(dirname "$SOCKET") port=${SOCKET##*.} dbname=$DB")
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGBOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $TMP/userlist.txt
pool_mode = session
max_client_conn = 200
default_pool_size = 20
logfile = $TMP/pgbouncer.log
pidfile = $TMP/pgbouncer.pid
EOF
echo '"postgres" ""' >"$TMP/userlist.txt"
chmod 644 "$TMP"/pgbouncer.ini "$TMP"/userlist.txt
if [ "$(id -u)" = 0 ]; then
  chown postgres "$TMP"
  "$PGBOUNCER" -u postgres "$TMP/pgbouncer.ini" >/dev/null 2>&1 &
else
  "$PGBOUNCER" "$TMP/pgbouncer.ini" >/dev/null 2>&1 &
fi
PIDS+=($!)

# The gateway.
go build -o "$TMP/benchgw" ./runtime/pgproxy/internal/benchgw
export BENCH_TOKEN=bench-token-$RANDOM
env ${GW_GOMAXPROCS:+GOMAXPROCS=$GW_GOMAXPROCS} "$TMP/benchgw" -policy runtime/pgproxy/testdata/bench-policy -database "$DB" \
  -listen 127.0.0.1:$GW_PORT -http 127.0.0.1:$GW_HTTP >"$TMP/gw.log" 2>&1 &
PIDS+=($!)
# The same gateway recording nothing, to show what recording costs.
env ${GW_GOMAXPROCS:+GOMAXPROCS=$GW_GOMAXPROCS} "$TMP/benchgw" -policy runtime/pgproxy/testdata/bench-policy -database "$DB" -record=false \
  -listen 127.0.0.1:$GW2_PORT -http 127.0.0.1:$((GW_HTTP + 1)) >"$TMP/gw2.log" 2>&1 &
PIDS+=($!)

# The floor: a Go relay that forwards bytes and does nothing else.
go build -o "$TMP/benchrelay" ./runtime/pgproxy/internal/benchrelay
env ${GW_GOMAXPROCS:+GOMAXPROCS=$GW_GOMAXPROCS} "$TMP/benchrelay" -listen 127.0.0.1:$RELAY_PORT -upstream 127.0.0.1:5432 >"$TMP/relay.log" 2>&1 &
PIDS+=($!)
# The floor of an event loop: the same relay, one epoll loop for all.
env ${GW_GOMAXPROCS:+GOMAXPROCS=$GW_GOMAXPROCS} "$TMP/benchrelay" -loops 1 -listen 127.0.0.1:$EPOLL_PORT -upstream 127.0.0.1:5432 >"$TMP/epoll.log" 2>&1 &
PIDS+=($!)
PORTS="$PGBOUNCER_PORT $GW_PORT $GW2_PORT $RELAY_PORT $EPOLL_PORT"

# The gateway and the relay again, reaching PostgreSQL over its Unix socket.
if [ "$SOCKET" != none ]; then
  env ${GW_GOMAXPROCS:+GOMAXPROCS=$GW_GOMAXPROCS} "$TMP/benchgw" -policy runtime/pgproxy/testdata/bench-policy -database "$DB" \
    -upstream "$SOCKET" -listen 127.0.0.1:$GWU_PORT -http 127.0.0.1:$((GW_HTTP + 2)) >"$TMP/gwu.log" 2>&1 &
  PIDS+=($!)
  env ${GW_GOMAXPROCS:+GOMAXPROCS=$GW_GOMAXPROCS} "$TMP/benchrelay" -listen 127.0.0.1:$RELAYU_PORT -upstream "$SOCKET" >"$TMP/relayu.log" 2>&1 &
  PIDS+=($!)
  PORTS="$PORTS $GWU_PORT $RELAYU_PORT"
fi

for port in $PORTS; do
  for _ in $(seq 1 50); do
    pg_isready -q -h 127.0.0.1 -p $port && break
    sleep 0.2
  done
done

# run LABEL PORT USER PASSWORD DBNAME MODE [CLIENTS THREADS] -> "tps p50_us"
run() {
  local label=$1 port=$2 user=$3 pass=$4 db=$5 mode=$6 clients=${7:-$CLIENTS} threads=${8:-$THREADS}
  local dir="$TMP/log-$label-$mode"
  mkdir -p "$dir"
  local out
  out=$(cd "$dir" && PGPASSWORD=$pass pgbench -S -n -c "$clients" -j "$threads" -T "$DURATION" -M "$mode" \
    -h 127.0.0.1 -p "$port" -U "$user" -l --log-prefix=tx "$db" 2>&1) || { echo "$out" >&2; exit 1; }
  local tps p50
  tps=$(echo "$out" | awk '/^tps = / {print $3; exit}')
  p50=$(cat "$dir"/tx* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "$tps $p50"
}

declare -A TPS P50
# "simple" and "prepared" load the machine with $CLIENTS clients; "one" is
# the simple protocol with a single client, where nothing queues for the
# CPU and the p50 difference is the latency a hop adds to one query.
for round in $(seq 1 "$ROUNDS"); do
  for mode in simple prepared one; do
    proto=$mode clients=$CLIENTS threads=$THREADS
    if [ "$mode" = one ]; then proto=simple clients=1 threads=1; fi
    for target in $TARGETS; do
      case $target in
        direct) r=$(run direct 5432 postgres "" "$DB" $proto $clients $threads) ;;
        pgbouncer) r=$(run pgbouncer $PGBOUNCER_PORT postgres "" "$DB" $proto $clients $threads) ;;
        go-relay) r=$(run go-relay $RELAY_PORT postgres "" "$DB" $proto $clients $threads) ;;
        go-epoll) r=$(run go-epoll $EPOLL_PORT postgres "" "$DB" $proto $clients $threads) ;;
        gateway) r=$(run gateway $GW_PORT bench "$BENCH_TOKEN" bench $proto $clients $threads) ;;
        gateway-norec) r=$(run gateway-norec $GW2_PORT bench "$BENCH_TOKEN" bench $proto $clients $threads) ;;
        pgbouncer-unix) r=$(run pgbouncer-unix $PGBOUNCER_PORT postgres "" "${DB}_unix" $proto $clients $threads) ;;
        go-relay-unix) r=$(run go-relay-unix $RELAYU_PORT postgres "" "$DB" $proto $clients $threads) ;;
        gateway-unix) r=$(run gateway-unix $GWU_PORT bench "$BENCH_TOKEN" bench $proto $clients $threads) ;;
      esac
      TPS[$target-$mode]="${TPS[$target-$mode]:-} ${r% *}"
      P50[$target-$mode]="${P50[$target-$mode]:-} ${r#* }"
      echo "  round $round: $target $mode: ${r% *} tps, p50 ${r#* } us" >&2
      rm -rf "$TMP/log-$target-$proto"
    done
  done
done

# Idle memory: IDLE psql clients connect through the gateway and wait.
mem() { curl -s "http://127.0.0.1:$GW_HTTP/mem"; }
before=$(mem)
IDLE_PIDS=()
for _ in $(seq 1 "$IDLE"); do
  (sleep 120 | PGPASSWORD=$BENCH_TOKEN psql -X -q -h 127.0.0.1 -p $GW_PORT -U bench bench >/dev/null 2>&1) &
  IDLE_PIDS+=($!)
done
for _ in $(seq 1 100); do
  n=$(mem | python3 -c 'import json,sys; print(json.load(sys.stdin)["sessions"])')
  [ "$n" -ge "$IDLE" ] && break
  sleep 0.2
done
sleep 1
after=$(mem)
pkill -P $$ sleep 2>/dev/null || true
for p in "${IDLE_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done

python3 - "$before" "$after" "$IDLE" <<EOF
import json, sys
b, a, n = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
import statistics
tps = {k: statistics.median(map(float, v.split())) for k, v in [$(for k in "${!TPS[@]}"; do printf '("%s", "%s"),' "$k" "${TPS[$k]}"; done)]}
p50 = {k: statistics.median(map(float, v.split())) for k, v in [$(for k in "${!P50[@]}"; do printf '("%s", "%s"),' "$k" "${P50[$k]}"; done)]}
print(f"pgbench -S, $CLIENTS clients, $THREADS threads, ${DURATION}s per run, median of $ROUNDS rounds, scale $SCALE, gateway GOMAXPROCS ${GW_GOMAXPROCS:-default}, upstream socket $SOCKET")
print(f"{'mode':9} {'target':15} {'tps':>10} {'ratio':>6} {'p50 us':>8} {'+p50 us':>8}")
for mode in ("simple", "prepared", "one"):
    d = tps["direct-" + mode]
    for t in "$TARGETS".split():
        k = f"{t}-{mode}"
        print(f"{mode:9} {t:15} {tps[k]:10.0f} {tps[k]/d:6.2f} {p50[k]:8.0f} {p50[k]-p50['direct-'+mode]:8.0f}")
sessions = a["sessions"] - b["sessions"]
go = (a["heap_inuse"] + a["stack_inuse"] - b["heap_inuse"] - b["stack_inuse"]) / max(sessions, 1)
print(f"idle client connections: {sessions}; per connection: Go heap+stacks {go/1024:.1f} KiB")

EOF
