# The gateway half of `make demo`, sourced by scripts/demo.sh after the
# offline part (it uses MANDATE, POLICY, OUT, step and run from there).
#
# It creates a throwaway database and role for the quickstart's orders_db
# connection, serves a demo copy of the quickstart whose agents trust a local
# issuer, and runs psql through the gateway as fulfilment-planner: a masked
# SELECT, an UPDATE that needs an approval, a filter on a masked column and
# two escapes from read-only; then stops the gateway, lists the recorded
# sessions and verifies the record. Without psql, curl or a reachable
# PostgreSQL it says so and exits 0.

PG_ADMIN=${DEMO_PG:-host=127.0.0.1 port=5432 user=postgres dbname=postgres}
DB=${DEMO_DB:-mandate_demo_orders}
ISSUER=https://mandate.local
SUBJECT=repo:acme/fulfilment:ref:refs/heads/main
GW_PID=

case "$DB" in *[!a-z0-9_]*|"") echo "demo: DEMO_DB must be lower-case letters, digits and _" >&2; exit 2 ;; esac

# admin runs psql as the administrator; admin_in in the demo database.
admin() { psql "$PG_ADMIN connect_timeout=5" -X -q -v ON_ERROR_STOP=1 "$@"; }
admin_in() { psql "$PG_ADMIN dbname=$DB connect_timeout=5" -X -q -v ON_ERROR_STOP=1 "$@"; }

skip() {
	step "Gateway demo skipped"
	echo "$*"
	echo "Start PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth) or set DEMO_PG, then rerun make demo."
	exit 0
}

command -v psql >/dev/null || skip "psql is not installed."
command -v curl >/dev/null || skip "curl is not installed."
admin -Atc 'SELECT 1' >/dev/null 2>&1 || skip "PostgreSQL is not reachable at: $PG_ADMIN"

drop_demo_db() {
	admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP ROLE IF EXISTS $DB" 2>&1 | grep -v 'does not exist' || true
}

cleanup() {
	local rc=$?
	if [ -n "$GW_PID" ] && kill -0 "$GW_PID" 2>/dev/null; then
		kill "$GW_PID" 2>/dev/null || true
		wait "$GW_PID" 2>/dev/null || true
	fi
	drop_demo_db
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# expect_denied runs psql through the gateway, which must refuse with SQLSTATE
# 42501 (insufficient privilege, the gateway's denial).
expect_denied() {
	local out rc=0
	out=$(gw_psql "$1" 2>&1) || rc=$?
	printf '%s\n' "$out"
	if [ $rc -eq 0 ] || ! grep -q 42501 <<<"$out"; then
		echo "demo: expected the gateway to deny this statement with 42501 (psql exit $rc)" >&2
		exit 1
	fi
}

step "Create the demo database and role for orders_db ($DB)"
rm -rf "$OUT/policy" "$OUT/gateway"
mkdir -p "$OUT/policy" "$OUT/gateway"
drop_demo_db
DB_PASSWORD=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
echo "$ psql \"$PG_ADMIN\" -c \"CREATE ROLE $DB LOGIN PASSWORD '...'\" -c \"CREATE DATABASE $DB\""
admin -c "CREATE ROLE $DB LOGIN PASSWORD '$DB_PASSWORD'" -c "CREATE DATABASE $DB"
cat >"$OUT/orders.sql" <<SQL
CREATE TABLE public.customers (id int PRIMARY KEY, name text NOT NULL, email text NOT NULL, ssn text NOT NULL);
CREATE TABLE public.orders (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES public.customers,
	status text NOT NULL, total numeric(10,2) NOT NULL);
CREATE TABLE public.order_items (order_id int NOT NULL REFERENCES public.orders, sku text NOT NULL, qty int NOT NULL);
INSERT INTO public.customers VALUES
	(1, 'Alice Martin', 'alice@example.com', '123-45-6789'),
	(2, 'Bob Chen', 'bob.chen@example.org', '987-65-4321'),
	(3, 'Carol Diaz', 'carol@example.net', '555-12-3456');
INSERT INTO public.orders VALUES (1, 1, 'pending', 42.50), (2, 2, 'shipped', 19.99), (3, 3, 'pending', 7.00);
INSERT INTO public.order_items VALUES (1, 'SKU-MUG', 2), (1, 'SKU-TEA', 1), (2, 'SKU-PEN', 10), (3, 'SKU-CUP', 1);
-- The role may write: the gateway, not PostgreSQL, is what stops the agent.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO $DB;
SQL
echo "$ psql \"... dbname=$DB\" -f $OUT/orders.sql   # customers (with e-mails and SSNs), orders, order_items"
admin_in -f "$OUT/orders.sql"

step "Make a demo copy of the quickstart that trusts a local issuer"
# examples/quickstart stays the contract's policy; the copy differs only in
# the agents' issuer, the database and role names, and the review date.
cp "$POLICY"/*.hcl "$OUT/policy/"
sed -i "s|https://token.actions.githubusercontent.com|$ISSUER|" "$OUT/policy/agents.hcl"
sed -i -e "s|database = \"orders\"|database = \"$DB\"|" -e "s|username = \"mandate_orders\"|username = \"$DB\"|" \
	"$OUT/policy/connections.hcl"
sed -i "s|last_reviewed = \"[0-9-]*\"|last_reviewed = \"$(date -u +%F)\"|" "$OUT/policy/roles.hcl"
for f in "$OUT"/policy/*.hcl; do
	f=${f##*/}
	diff -u --label "$POLICY/$f" --label "$OUT/policy/$f" "$POLICY/$f" "$OUT/policy/$f" || true
done
run "$MANDATE" compile "$OUT/policy" -o "$OUT/gateway/bundle.tar.gz" --signing-key "$OUT/bundle.key" --revision demo-local

step "Generate the local issuer's key and JWKS"
run "$MANDATE" keys generate --alg ES256 --out "$OUT/gateway/issuer"
echo "$ mandate keys jwks $OUT/gateway/issuer.pub > $OUT/gateway/issuer.jwks"
"$MANDATE" keys jwks "$OUT/gateway/issuer.pub" >"$OUT/gateway/issuer.jwks"
cp "$OUT/bundle.pub" "$OUT/gateway/bundle.pub"

step "Write $OUT/gateway/gateway.hcl"
cat >"$OUT/gateway/gateway.hcl" <<HCL
# Paths are relative to this file. Port 0: the OS picks a free loopback
# port; the demo reads the addresses from the gateway's log.
state_dir = "state"

listen {
  api      = "127.0.0.1:0"
  postgres = "127.0.0.1:0"
}

bundle {
  source           = "file://bundle.tar.gz"
  verification_key = "bundle.pub"
}

issuer "local" {
  url       = "$ISSUER"
  jwks_file = "issuer.jwks"
  audience  = "mandate"
}
HCL
cat "$OUT/gateway/gateway.hcl"
run "$MANDATE" serve --config "$OUT/gateway/gateway.hcl" --check

step "Start the gateway"
echo "$ ORDERS_DB_PASSWORD=... mandate serve --config $OUT/gateway/gateway.hcl 2>$OUT/gateway/gateway.log &"
ORDERS_DB_PASSWORD=$DB_PASSWORD "$MANDATE" serve --config "$OUT/gateway/gateway.hcl" 2>"$OUT/gateway/gateway.log" &
GW_PID=$!
CA=$OUT/gateway/state/tls/gateway.crt
API= PG_PORT=
for _ in $(seq 1 300); do # up to a minute on a busy machine
	kill -0 "$GW_PID" 2>/dev/null || { cat "$OUT/gateway/gateway.log" >&2; echo "demo: the gateway exited" >&2; exit 1; }
	API=$(sed -n 's/.*"msg":"API listening".*"url":"\([^"]*\)".*/\1/p' "$OUT/gateway/gateway.log" | head -1)
	PG_PORT=$(sed -n 's/.*"msg":"postgres listening".*"addr":"[^"]*:\([0-9]*\)".*/\1/p' "$OUT/gateway/gateway.log" | head -1)
	if [ -n "$API" ] && [ -n "$PG_PORT" ] && curl -fsS --cacert "$CA" "$API/readyz" >/dev/null 2>&1; then
		break
	fi
	sleep 0.2
done
echo "$ curl --cacert $CA $API/readyz"
curl -fsS --cacert "$CA" "$API/readyz" || { cat "$OUT/gateway/gateway.log" >&2; echo "demo: the gateway is not ready" >&2; exit 1; }
echo
echo "PostgreSQL listener: 127.0.0.1:$PG_PORT"

step "Mint the planner's token and exchange it for a session token"
echo "$ mandate token issue --key $OUT/gateway/issuer.key --issuer $ISSUER --subject $SUBJECT --audience mandate --ttl 10m"
OIDC_TOKEN=$("$MANDATE" token issue --key "$OUT/gateway/issuer.key" --issuer "$ISSUER" --subject "$SUBJECT" \
	--audience mandate --ttl 10m)
echo "${OIDC_TOKEN:0:24}... (a signed JWT)"
echo "$ curl --cacert $CA -X POST -H 'Authorization: Bearer ...' $API/v1/token"
exchange=$(curl -fsS --cacert "$CA" -X POST -H "Authorization: Bearer $OIDC_TOKEN" "$API/v1/token")
SESSION_TOKEN=$(sed -n 's/.*"token":"\([^"]*\)".*/\1/p' <<<"$exchange")
[ -n "$SESSION_TOKEN" ] || { echo "demo: no session token in: $exchange" >&2; exit 1; }
sed 's/"token":"[^"]*"/"token":"..."/' <<<"$exchange"

GW_DSN="host=127.0.0.1 port=$PG_PORT dbname=orders_db user=fulfilment-planner sslmode=verify-full sslrootcert=$CA"
gw_psql() {
	printf '$ PGPASSWORD=<session token> psql "%s" -c "%s"\n' "${GW_DSN/sslrootcert=*/sslrootcert=...}" "$1"
	PGPASSWORD=$SESSION_TOKEN psql "$GW_DSN" -X -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c "$1"
}

step "psql through the gateway: the planner reads orders (e-mail and SSN masked)"
out=$(gw_psql "SELECT o.id, o.status, c.name, c.email, c.ssn FROM orders o JOIN customers c ON c.id = o.customer_id ORDER BY o.id")
printf '%s\n' "$out"
if ! grep -qF 'a***@example.com' <<<"$out" || grep -qF '123-45-6789' <<<"$out"; then
	echo "demo: expected the e-mail and SSN columns masked" >&2
	exit 1
fi

step "psql through the gateway: updating an order needs an approval (denied)"
expect_denied "UPDATE orders SET status = 'shipped' WHERE id = 1"

step "psql through the gateway: filtering on a masked column (denied)"
expect_denied "SELECT id FROM customers WHERE email = 'alice@example.com'"

step "psql through the gateway: a write hidden in a read (denied)"
expect_denied "WITH gone AS (DELETE FROM order_items RETURNING sku) SELECT sku FROM gone"

step "psql through the gateway: leaving the read-only transaction mode (denied)"
expect_denied "SET default_transaction_read_only = off"

step "Nothing changed upstream"
echo "$ psql \"... dbname=$DB\" -c \"SELECT o.id, o.status, count(i.sku) AS items FROM orders o LEFT JOIN order_items i ON i.order_id = o.id GROUP BY o.id ORDER BY o.id\""
admin_in -c "SELECT o.id, o.status, count(i.sku) AS items FROM orders o LEFT JOIN order_items i ON i.order_id = o.id GROUP BY o.id ORDER BY o.id"

step "Stop the gateway (it seals the record with a signed checkpoint)"
echo "$ kill -TERM $GW_PID"
kill -TERM "$GW_PID"
wait "$GW_PID" || { cat "$OUT/gateway/gateway.log" >&2; echo "demo: the gateway did not stop cleanly" >&2; exit 1; }
GW_PID=

step "The session record"
STORE=$OUT/gateway/state/mandate.db
run "$MANDATE" sessions list --store "$STORE"
SESSION_ID=$("$MANDATE" sessions list --store "$STORE" | grep -o "s_[0-9a-f]\{20\}" | tail -1) # the first session: the masked read
[ -n "$SESSION_ID" ] && run "$MANDATE" sessions show "$SESSION_ID" --store "$STORE"

step "Verify the record (hash chain and signed checkpoints)"
run "$MANDATE" audit verify --store "$STORE" --key "$OUT/gateway/state/record.pub"

step "Done"
echo "policy copy: $OUT/policy, gateway config: $OUT/gateway/gateway.hcl, record: $STORE"
echo "The demo database $DB is dropped now; make demo recreates it."
