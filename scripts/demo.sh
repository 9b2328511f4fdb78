#!/usr/bin/env bash
# make demo: validate, compile, sign and verify examples/quickstart, then
# explain a few decisions with the gateway's own engine. Runs from a clean
# checkout after `make build`; writes only under build/.
set -euo pipefail

cd "$(dirname "$0")/.."
MANDATE=${MANDATE:-bin/mandate}
POLICY=${POLICY:-examples/quickstart}
OUT=build/demo
[ -x "$MANDATE" ] || { echo "demo: $MANDATE is missing; run make build" >&2; exit 1; }

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# explain prints the decision; a deny or needs_approval exits 1, which is
# the expected answer here, not a failure of the demo.
explain() {
	local want=$1
	shift
	local rc=0
	"$MANDATE" explain "$OUT/bundle.tar.gz" --key "$OUT/bundle.pub" "$@" || rc=$?
	if { [ "$want" = allow ] && [ $rc -ne 0 ]; } || { [ "$want" != allow ] && [ $rc -ne 1 ]; }; then
		echo "demo: expected $want, exit status $rc" >&2
		exit 1
	fi
}

rm -rf "$OUT"
mkdir -p "$OUT"

step "Generate a bundle signing key pair (ES256)"
"$MANDATE" keys generate --alg ES256 --out "$OUT/bundle"

step "Validate $POLICY"
"$MANDATE" validate "$POLICY"

step "Compile and sign $POLICY"
# The revision is the git commit; outside a git checkout, name one.
rev_flag=()
git -C "$POLICY" rev-parse HEAD >/dev/null 2>&1 || rev_flag=(--revision demo-unversioned)
"$MANDATE" compile "$POLICY" -o "$OUT/bundle.tar.gz" --signing-key "$OUT/bundle.key" "${rev_flag[@]}"

step "Verify the bundle"
"$MANDATE" verify "$OUT/bundle.tar.gz" --key "$OUT/bundle.pub"

step "A tampered bundle is rejected"
tampered="$OUT/tampered"
mkdir -p "$tampered"
tar -xzf "$OUT/bundle.tar.gz" -C "$tampered" 2>/dev/null
sed -i 's/"select"/"delete"/' "$tampered/mandate/data.json"
(cd "$tampered" && tar -czf ../tampered.tar.gz .manifest .signatures.json mandate)
if "$MANDATE" verify "$OUT/tampered.tar.gz" --key "$OUT/bundle.pub"; then
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

step "Done"
echo "bundle: $OUT/bundle.tar.gz (verify key $OUT/bundle.pub)"
