#!/usr/bin/env bash
# Benchmarks the compiler on a generated repository of 10,000 agents,
# 2,000 roles, 500 connections and 200 masking rules (override with
# AGENTS/ROLES/CONNS/MASKINGS). Reports wall time and peak RSS of
# `mandate validate`, best of RUNS runs (wall and CPU seconds: on a shared
# machine the CPU figure is the stable one). Targets: <= 1 s, <= 500 MB.
# Usage: bench/compile.sh   (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/.."

AGENTS=${AGENTS:-10000} ROLES=${ROLES:-2000} CONNS=${CONNS:-500} MASKINGS=${MASKINGS:-200}
RUNS=${RUNS:-5}
WORK=${WORK:-$(mktemp -d)}
trap 'rm -rf "$WORK"' EXIT

if [ ! -x /usr/bin/time ]; then
  echo "need GNU time: apt-get install -y time" >&2
  exit 2
fi

go build -o "$WORK/mandate" ./cmd/mandate
go run ./bench/genpolicy -out "$WORK/policy" -agents "$AGENTS" -roles "$ROLES" -connections "$CONNS" -maskings "$MASKINGS"
echo "repository: $AGENTS agents, $ROLES roles, $CONNS connections, $MASKINGS maskings;" \
  "$(find "$WORK/policy" -name '*.hcl' | wc -l) files, $(du -sh "$WORK/policy" | cut -f1)"

# measure CMD...: runs it RUNS times, prints best wall seconds and max RSS MB.
measure() {
  local name=$1; shift
  local best="" cpu="" rss=0
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f '%e %U %S %M' -o "$WORK/time" "$@" >/dev/null
    read -r secs user sys kb <"$WORK/time"
    if [ -z "$best" ] || awk "BEGIN{exit !($secs < $best)}"; then best=$secs; cpu=$(awk "BEGIN{print $user + $sys}"); fi
    if [ "$kb" -gt "$rss" ]; then rss=$kb; fi
  done
  printf '%-10s best of %d: %6.2f s wall (%5.2f s CPU)   peak RSS %5d MB\n' "$name" "$RUNS" "$best" "$cpu" $((rss / 1024))
}

measure validate "$WORK/mandate" validate "$WORK/policy"
