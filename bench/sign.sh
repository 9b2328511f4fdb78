#!/usr/bin/env bash
# Benchmarks `mandate compile` (load, validate, build, sign with ES256,
# write) and `mandate verify` on a generated repository of 10,000 agents,
# 2,000 roles, 500 connections and 200 masking rules (override with
# AGENTS/ROLES/CONNS/MASKINGS), against `mandate validate` on the same
# repository measured in the same run as the baseline. Reports the best of
# RUNS runs: wall and CPU seconds (on a shared machine the CPU figure is the
# stable one) and peak RSS. Targets: compile <= 3 s, RSS <= 500 MB.
# Usage: bench/sign.sh   (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."

AGENTS=${AGENTS:-10000} ROLES=${ROLES:-2000} CONNS=${CONNS:-500} MASKINGS=${MASKINGS:-200}
RUNS=${RUNS:-3}
WORK=${WORK:-$(mktemp -d)}
trap 'rm -rf "$WORK"' EXIT

if [ ! -x /usr/bin/time ]; then
  echo "need GNU time: apt-get install -y time" >&2
  exit 2
fi

go build -o "$WORK/mandate" ./cmd/mandate
go run ./bench/genpolicy -out "$WORK/policy" -agents "$AGENTS" -roles "$ROLES" -connections "$CONNS" -maskings "$MASKINGS"
"$WORK/mandate" keys generate --alg ES256 --out "$WORK/key" >/dev/null
echo "repository: $AGENTS agents, $ROLES roles, $CONNS connections, $MASKINGS maskings;" \
  "$(find "$WORK/policy" -name '*.hcl' | wc -l) files, $(du -sh "$WORK/policy" | cut -f1)"

# measure NAME CMD...: runs CMD RUNS times, prints best wall and CPU seconds
# and the largest peak RSS.
measure() {
  local name=$1; shift
  local best="" cpu="" rss=0
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f '%e %U %S %M' -o "$WORK/time" "$@" >/dev/null
    read -r secs user sys kb <"$WORK/time"
    if [ -z "$best" ] || awk "BEGIN{exit !($secs < $best)}"; then best=$secs; cpu=$(awk "BEGIN{print $user + $sys}"); fi
    if [ "$kb" -gt "$rss" ]; then rss=$kb; fi
  done
  printf '%-16s best of %d: %6.2f s wall (%5.2f s CPU)   peak RSS %5d MB\n' "$name" "$RUNS" "$best" "$cpu" $((rss / 1024))
}

measure "validate (base)" "$WORK/mandate" validate "$WORK/policy"
measure "compile+sign" "$WORK/mandate" compile "$WORK/policy" -o "$WORK/bundle.tar.gz" \
  --signing-key "$WORK/key.key" --revision bench
measure "verify" "$WORK/mandate" verify "$WORK/bundle.tar.gz" --key "$WORK/key.pub"
echo "bundle: $(du -h "$WORK/bundle.tar.gz" | cut -f1) compressed, data.json $(tar -xzOf "$WORK/bundle.tar.gz" --wildcards '*mandate/data.json' 2>/dev/null | wc -c) bytes"
