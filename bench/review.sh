#!/usr/bin/env bash
# Review bot benchmark (issue 6): 1,000,000 recorded events across 200 roles.
# Prints wall and CPU seconds for the recorder's usage aggregation
# (runtime/audit.Usage over the events in memory), the proposal step over the
# resulting model.Usage, and the proposals plus hclwrite edits and evidence
# for all 200 roles (what `mandate review --dry-run` computes); with
# MANDATE_BENCH_STORE=1 also the aggregation read from a SQLite record file
# (its usage index) and the review end to end from it (review-sqlite).
set -euo pipefail
cd "$(dirname "$0")/.."
MANDATE_BENCH_STORE=1 go test ./review -run '^$' -bench 'BenchmarkReview1M' -benchtime 1x -benchmem -timeout 30m
