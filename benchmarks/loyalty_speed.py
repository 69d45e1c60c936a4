"""Loyalty speed: the bulk award of history, redemptions over the API under concurrency, the
member read, and the 12-month rule backtest.

    python benchmarks/loyalty_speed.py --db sqlite   [--customers 100000] [--orders 1000000]
    python benchmarks/loyalty_speed.py --db postgres [--skip-load] [--stages award,redeem,backtest]

1. load: `guanxi demo --customers N --orders M --mode bulk` into an empty database (SQLite in
   GUANXI_DATA_DIR, default /tmp/gx-loyalty-bench-<orders>; PostgreSQL's
   guanxi_loyalty_bench_<orders>). The bulk demo writes orders without points.
2. award: `guanxi loyalty award` in its own process (enrols every buyer, prices every revenue
   order by the rules in force when it was placed, then expires lots past their time and
   evaluates tiers; with --skip-load the loyalty tables are emptied first). The rate is
   orders awarded per second of the award itself, as the command prints it; the wall time
   with expiry and tiers is kept too.
3. redeem: `guanxi serve` (its default workers), 20 client threads, each with its own
   keep-alive connection, redeeming 1 point at a time from members of their own (so
   requests don't queue on one member's row) with an Idempotency-Key per request, `--requests`
   in all; latency per request (median, p95, p99). Then `GET /api/v1/loyalty/members/{id}`
   of the member with the longest ledger, 200 times (median): the balance is a column.
4. backtest: `guanxi loyalty backtest --months 12` of a proposal (base rate 1.2, weekend ×2,
   tea ×3, gold from 4,000) in its own process; the service's own seconds and the wall time.

Writes benchmarks/results/loyalty-<db>-<orders>.json (stages merged into what is there).
Nothing is asserted.
"""

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.benchdb import bench_env, empty_database  # noqa: E402

PY = str(ROOT / ".venv" / "bin" / "python")
RESULTS = ROOT / "benchmarks" / "results"
PROPOSAL = {
    "base_rate": "1.2",
    "rounding": "down",
    "rules": [
        {"name": "周末双倍", "kind": "multiplier", "factor": 2, "weekdays": [6, 7]},
        {"name": "茶叶三倍", "kind": "multiplier", "factor": 3, "categories": ["茶叶"]},
        {"name": "首单奖励", "kind": "bonus", "event": "first_order", "points": 100},
    ],
}


def guanxi(env, *args, check=True) -> tuple[str, float]:
    started = time.perf_counter()
    done = subprocess.run([PY, "-m", "guanxi.cli", *args], env=env, capture_output=True,
                          text=True)  # fmt: skip
    seconds = time.perf_counter() - started
    if check and done.returncode != 0:
        sys.exit(f"guanxi {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout, seconds


def shell(env, code: str) -> list[str]:
    out, _s = guanxi(env, "manage", "shell", "-c", code)
    return [line[4:] for line in out.splitlines() if line.startswith("OUT ")]


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


RESET = """
from django.db import connection
with connection.cursor() as c:
    for t in ["loyalty_redemption", "loyalty_tiermove", "loyalty_referral",
              "loyalty_idempotentrequest", "loyalty_ledgerentry", "loyalty_member"]:
        c.execute(f"DELETE FROM {t}")
    c.execute("DELETE FROM interactions_timelineevent WHERE kind = 'loyalty'")
"""


def stage_award(env, *, reset: bool) -> dict:
    if reset:  # measure the award again on the same orders
        guanxi(env, "manage", "shell", "-c", RESET)
    out, seconds = guanxi(env, "loyalty", "award", "--json")
    done = json.loads(out.strip().splitlines()[-1])
    print(done)
    return {
        "orders": done["orders"],
        "points": done["points"],
        "members": done["members"],
        "service_seconds": done["seconds"],
        "orders_per_second": round(done["orders"] / done["seconds"]) if done["seconds"] else None,
        "wall_seconds_with_expiry_and_tiers": round(seconds, 1),
        "expired": done["expired"],
    }


def _wait_up(port):
    for _ in range(180):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(1)
    sys.exit("the server did not start")


def stage_redeem(env, *, port, requests, clients) -> dict:
    token, _s = guanxi(env, "token", "create", "liu.yang", "--name", f"loyalty-bench-{time.time()}")
    token = token.strip()
    ids = [int(x) for x in shell(env, (
        "from guanxi.loyalty.models import Member\n"
        f"for c in Member.objects.filter(balance__gte=100).order_by('pk')"
        f".values_list('customer_id', flat=True)[:{clients * 50}]:\n"
        "    print('OUT', c)\n"
    ))]  # fmt: skip
    longest = shell(env, (
        "from django.db.models import Count\n"
        "from guanxi.loyalty.models import LedgerEntry\n"
        "row = LedgerEntry.objects.values('member__customer_id').annotate(n=Count('id'))"
        ".order_by('-n').first()\n"
        "print('OUT', row['member__customer_id'], row['n'])\n"
    ))[0].split()  # fmt: skip
    server = subprocess.Popen(
        [PY, "-m", "guanxi.cli", "serve", "--port", str(port), "--demo", "0"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    try:
        _wait_up(port)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        each = requests // clients

        def client(k: int):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            mine = ids[k::clients] or ids
            for i in range(each):
                customer = mine[i % len(mine)]
                t = time.perf_counter()
                conn.request(
                    "POST",
                    f"/api/v1/loyalty/members/{customer}/redeem",
                    body=json.dumps({"points": 1}),
                    headers={**headers, "Idempotency-Key": f"b-{k}-{i}-{time.time()}"},
                )
                response = conn.getresponse()
                response.read()
                took = time.perf_counter() - t
                with lock:
                    latencies.append(took)
                    statuses[response.status] = statuses.get(response.status, 0) + 1

        warm = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for _ in range(20):  # every worker process warm before measuring
            warm.request("GET", f"/api/v1/loyalty/members/{ids[0]}", headers=headers)
            warm.getresponse().read()
        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        warm = http.client.HTTPConnection("127.0.0.1", port, timeout=60)  # the idle one closed
        reads = []
        for _ in range(200):
            t = time.perf_counter()
            warm.request("GET", f"/api/v1/loyalty/members/{longest[0]}", headers=headers)
            body = json.loads(warm.getresponse().read())
            reads.append(time.perf_counter() - t)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "clients": clients,
        "requests": len(latencies),
        "statuses": statuses,
        "requests_per_second": round(len(latencies) / wall),
        "median_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "member_read": {
            "ledger_entries": int(longest[1]),
            "balance": body.get("balance"),
            "median_ms": round(statistics.median(reads) * 1000, 2),
            "p95_ms": round(percentile(reads, 0.95) * 1000, 2),
        },
    }


def stage_backtest(env, *, months) -> dict:
    proposal = Path(env["GUANXI_DATA_DIR"]) / "proposal.json"
    proposal.write_text(json.dumps(PROPOSAL, ensure_ascii=False), encoding="utf-8")
    out, seconds = guanxi(env, "loyalty", "backtest", "--rules", str(proposal), "--threshold",
                          "gold=4000", "--months", str(months), "--json")  # fmt: skip
    result = json.loads(out)
    return {
        "months": months,
        "orders": result["orders"],
        "customers": result["customers"],
        "service_seconds": result["seconds"],
        "wall_seconds": round(seconds, 1),
        "current_points": result["current"]["points"],
        "proposed_points": result["proposed"]["points"],
        "current_tiers": result["current"]["tiers"],
        "proposed_tiers": result["proposed"]["tiers"],
        "liability": [result["current"]["liability"], result["proposed"]["liability"]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--stages", default="award,redeem,backtest")
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--port", type=int, default=8151)
    args = parser.parse_args()
    env = bench_env(args.db, data_dir=f"/tmp/gx-loyalty-bench-{args.orders}",
                    pg_name=f"guanxi_loyalty_bench_{args.orders}")  # fmt: skip
    out_file = RESULTS / f"loyalty-{args.db}-{args.orders}.json"
    result = json.loads(out_file.read_text()) if out_file.exists() else {}
    result.update({"db": args.db, "customers": args.customers, "orders": args.orders,
                   "cores": os.cpu_count()})  # fmt: skip
    if not args.skip_load:
        empty_database(env, args.db)
        guanxi(env, "manage", "migrate", "-v", "0")
        _out, seconds = guanxi(env, "demo", "--customers", str(args.customers), "--orders",
                               str(args.orders), "--mode", "bulk")  # fmt: skip
        result["load_seconds"] = round(seconds, 1)
        print(f"loaded in {seconds:.0f} s")
    stages = args.stages.split(",")
    if "award" in stages:
        result["award"] = stage_award(env, reset=args.skip_load)
        print(json.dumps(result["award"], ensure_ascii=False))
    if "redeem" in stages:
        result["redeem"] = stage_redeem(env, port=args.port, requests=args.requests,
                                        clients=args.clients)  # fmt: skip
        print(json.dumps(result["redeem"], ensure_ascii=False))
    if "backtest" in stages:
        result["backtest"] = stage_backtest(env, months=args.months)
        print(json.dumps(result["backtest"], ensure_ascii=False))
    RESULTS.mkdir(exist_ok=True)
    out_file.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(f"→ {out_file.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
