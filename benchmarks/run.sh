#!/usr/bin/env bash
# Generate demo data in bulk and measure search latency against a real server.
#
#   benchmarks/run.sh sqlite   [CUSTOMERS] [ORDERS]
#   benchmarks/run.sh postgres [CUSTOMERS] [ORDERS]
#
# Defaults: 1,000,000 customers and 10,000,000 orders. Uses its own data folder
# (GUANXI_DATA_DIR, default /tmp/gx-bench) and, for PostgreSQL, the database guanxi_bench
# (BENCH_DATABASE_URL), both recreated from scratch. Results go to benchmarks/results/.
# Set SKIP_LOAD=1 to measure an existing data set again without regenerating it.
set -euo pipefail
cd "$(dirname "$0")/.."

DB=${1:?usage: benchmarks/run.sh sqlite|postgres [customers] [orders]}
CUSTOMERS=${2:-1000000}
ORDERS=${3:-10000000}
PORT=${BENCH_PORT:-8123}
REQUESTS=${BENCH_REQUESTS:-200}
export GUANXI_DATA_DIR=${GUANXI_DATA_DIR:-/tmp/gx-bench}
GUANXI=.venv/bin/guanxi
OUT=benchmarks/results
mkdir -p "$OUT"
STAMP="$DB-$CUSTOMERS"

case "$DB" in
  sqlite) unset DATABASE_URL ;;
  postgres)
    export DATABASE_URL=${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/guanxi_bench}
    ;;
  *) echo "unknown database $DB (sqlite or postgres)" >&2; exit 2 ;;
esac

if [ -z "${SKIP_LOAD:-}" ]; then
  if [ "$DB" = sqlite ]; then
    rm -rf "$GUANXI_DATA_DIR"
  else
    base=${DATABASE_URL%/*}
    name=${DATABASE_URL##*/}
    psql "$base/postgres" -q -c "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name"
  fi
  mkdir -p "$GUANXI_DATA_DIR"
  $GUANXI manage migrate -v 0
  echo "== guanxi demo --customers $CUSTOMERS --orders $ORDERS ($DB)"
  /usr/bin/time -v $GUANXI demo --customers "$CUSTOMERS" --orders "$ORDERS" --mode bulk \
    2> >(grep -E "Elapsed|Maximum resident" >&2) | tee "$OUT/$STAMP-demo.txt"
fi

TOKEN=$($GUANXI token create liu.yang --name benchmark)
$GUANXI serve --port "$PORT" --demo 0 > "$OUT/$STAMP-server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 1
done

echo "== search latency ($DB, $REQUESTS requests each)"
.venv/bin/python benchmarks/search_latency.py --url "http://127.0.0.1:$PORT" --token "$TOKEN" \
  --requests "$REQUESTS" --out "$OUT/$STAMP-latency.json" | tee "$OUT/$STAMP-latency.txt"
$GUANXI token list liu.yang | awk -F'\t' '$3 == "benchmark" {print $1}' \
  | while read -r id; do $GUANXI token revoke "$id" >/dev/null; done
