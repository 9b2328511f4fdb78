#!/usr/bin/env bash
# make demo: validate, compile, sign and verify examples/quickstart, explain a
# few decisions with the gateway's own engine, then (when PostgreSQL answers on
# 127.0.0.1:5432) run the gateway and use it as the quickstart's agent: psql
# through the gateway, masked rows, denials, the session record and its audit.
# Runs from a clean checkout after `make build`; writes only under build/demo
# and, in PostgreSQL, one throwaway database and role it drops again.
#
# Environment: MANDATE (the binary, default bin/mandate), POLICY (default
# examples/quickstart), DEMO_OUT (default build/demo), DEMO_PG (admin
# connection, default host=127.0.0.1 port=5432 user=postgres dbname=postgres),
# DEMO_DB (name of the demo database and role, default mandate_demo_orders),
# DEMO_OFFLINE=1 (stop after the offline part).
set -euo pipefail

cd "$(dirname "$0")/.."
MANDATE=${MANDATE:-bin/mandate}
POLICY=${POLICY:-examples/quickstart}
OUT=${DEMO_OUT:-build/demo}
[ -x "$MANDATE" ] || { echo "demo: $MANDATE is missing; run make build" >&2; exit 1; }
case "$MANDATE" in /*) ;; *) MANDATE="$PWD/$MANDATE" ;; esac

# step prints a header, bold on a terminal unless NO_COLOR is set.
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
	step() { printf '\n== %s\n' "$*"; }
fi
# run echoes a command (the binary as "mandate"), then runs it.
run() {
	local shown=("$@")
	[ "$1" = "$MANDATE" ] && shown[0]=mandate
	local arg line=
	for arg in "${shown[@]}"; do
		case "$arg" in *[[:space:]\;\'\"]*) arg="\"$arg\"" ;; esac
		line+="${line:+ }$arg"
	done
	printf '$ %s\n' "$line"
	"$@"
}

# explain prints the decision; a deny or needs_approval exits 1, which is
# the expected answer here, not a failure of the demo. The clock is pinned
# to a day when the quickstart's review (last_reviewed 2026-10-01, every
# 90d, require_approval when overdue) is current, so the answers do not
# change when it falls due.
explain() {
	local want=$1
	shift
	local rc=0
	run "$MANDATE" explain "$OUT/bundle.tar.gz" --key "$OUT/bundle.pub" --now 2026-11-01 "$@" || rc=$?
	if { [ "$want" = allow ] && [ $rc -ne 0 ]; } || { [ "$want" != allow ] && [ $rc -ne 1 ]; }; then
		echo "demo: expected $want, exit status $rc" >&2
		exit 1
	fi
}

rm -rf "$OUT"
mkdir -p "$OUT"

step "Generate a bundle signing key pair (ES256)"
run "$MANDATE" keys generate --alg ES256 --out "$OUT/bundle"

step "Validate $POLICY"
run "$MANDATE" validate "$POLICY"

step "Compile and sign $POLICY"
# The revision is the git commit; outside a git checkout, name one.
rev_flag=()
git -C "$POLICY" rev-parse HEAD >/dev/null 2>&1 || rev_flag=(--revision demo-unversioned)
run "$MANDATE" compile "$POLICY" -o "$OUT/bundle.tar.gz" --signing-key "$OUT/bundle.key" "${rev_flag[@]}"

step "Verify the bundle"
run "$MANDATE" verify "$OUT/bundle.tar.gz" --key "$OUT/bundle.pub"

step "A tampered bundle is rejected"
tampered="$OUT/tampered"
mkdir -p "$tampered"
tar -xzf "$OUT/bundle.tar.gz" -C "$tampered" 2>/dev/null
sed -i 's/"select"/"delete"/' "$tampered/mandate/data.json"
(cd "$tampered" && tar -czf ../tampered.tar.gz .manifest .signatures.json mandate)
if run "$MANDATE" verify "$OUT/tampered.tar.gz" --key "$OUT/bundle.pub"; then
	echo "demo: the tampered bundle was accepted" >&2
	exit 1
fi

step "Explain: the planner reads orders (allowed, customer PII masked)"
explain allow --agent fulfilment-planner --connection orders_db \
	--sql "SELECT o.id, o.status, c.email FROM orders o JOIN customers c ON c.id = o.customer_id"

step "Explain: filtering on a masked column (denied)"
explain deny --agent fulfilment-planner --connection orders_db \
	--sql "SELECT id FROM customers WHERE email = 'alice@example.com'"

step "Explain: updating an order (needs an approval)"
explain needs_approval --agent fulfilment-planner --connection orders_db \
	--sql "UPDATE orders SET status = 'shipped' WHERE id = 42"

step "Explain: the same update with an approved request"
explain allow --agent fulfilment-planner --connection orders_db --approval apr-1:order_reader \
	--sql "UPDATE orders SET status = 'shipped' WHERE id = 42"

step "Explain: deleting orders (denied)"
explain deny --agent fulfilment-planner --connection orders_db --sql "DELETE FROM orders"

step "Explain: the release bot reads the app's journal over SSH (allowed)"
explain allow --agent release-bot --connection build_host --command "journalctl -u app -n 50"

step "Explain: chaining another command (denied)"
explain deny --agent release-bot --connection build_host --command "journalctl -u app -n 50; rm -rf /"

echo
echo "offline part done: bundle $OUT/bundle.tar.gz (verify key $OUT/bundle.pub)"

[ "${DEMO_OFFLINE:-}" = 1 ] && exit 0
# shellcheck source=scripts/demo-gateway.sh
. scripts/demo-gateway.sh
