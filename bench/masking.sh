#!/usr/bin/env bash
# Benchmarks the masking Scanner (every built-in detector, redact) against a
# baseline measured in the same run: one naive regular expression for cards,
# SSNs, emails and IBANs (which checks less). Prints ns/op of both and the
# ratio per value. Target: a typical 100-byte value with nothing to mask costs
# well under 1 us.
# Usage: bench/masking.sh   (from the repository root; BENCHTIME=1s COUNT=3)
set -euo pipefail
cd "$(dirname "$0")/.."
BENCHTIME=${BENCHTIME:-1s}
COUNT=${COUNT:-3}
out=$(go test -run '^$' -bench 'ScannerMask|BaselineRegexp' -benchtime "$BENCHTIME" -count "$COUNT" -benchmem ./masking)
echo "$out" | grep -E '^(cpu|Benchmark)'
echo
# best (lowest) ns/op per benchmark, then the ratio scanner / baseline
echo "$out" | awk '
  /^Benchmark(ScannerMask|BaselineRegexp)\// {
    split($1, p, "/"); kind = p[1]; sub(/^Benchmark/, "", kind); val = p[2]; sub(/-[0-9]+$/, "", val)
    ns = $3 + 0
    key = kind SUBSEP val
    if (!(key in best) || ns < best[key]) best[key] = ns
    vals[val] = 1
  }
  END {
    for (v in vals) {
      s = best["ScannerMask", v]; r = best["BaselineRegexp", v]
      printf "%-10s %14.0f %14.0f %8.2f\n", v, s, r, (r > 0 ? s / r : 0)
    }
  }' | sort | { printf "%-10s %14s %14s %8s\n" value "scanner ns/op" "regexp ns/op" ratio; cat; }
