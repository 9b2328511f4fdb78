#!/usr/bin/env bash
# Gateway core benchmarks: activation of a 10,000-agent bundle against a
# one-agent baseline measured in the same run, and the resident memory of a
# gateway holding the 10,000-agent bundle. Targets: activation <= 500 ms,
# idle RSS < 300 MB. Usage: bench/gateway.sh [count]
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-5}"
out=$(go test -run '^$' -bench 'Activate10kAgents|ActivateBaseline' -benchtime "${count}x" -timeout 30m ./runtime/gateway
  go test -run '^$' -bench 'IdleRSS10kAgents' -benchtime 1x -timeout 30m ./runtime/gateway)
echo "$out" | grep -E '^(Benchmark|goos|goarch|cpu)'
echo "$out" | awk '
  /^BenchmarkActivateBaseline/ { base = $3 / 1e6; basecpu = $5 }
  /^BenchmarkActivate10kAgents/ { big = $3 / 1e6; for (i = 4; i < NF; i++) if ($(i+1) == "cpu-ms/op") bigcpu = $i }
  /^BenchmarkIdleRSS10kAgents/ { for (i = 4; i < NF; i++) if ($(i+1) == "rss-MiB") rss = $i }
  END {
    printf "activation 10k agents: %.0f ms wall (%.0f ms CPU), baseline 1 agent: %.0f ms wall; ratio %.1fx\n", big, bigcpu, base, big / base
    printf "idle RSS holding 10k agents: %.0f MiB\n", rss
  }'
