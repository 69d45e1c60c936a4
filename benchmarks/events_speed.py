"""How many channel events per second `POST /api/v1/events` takes in, end to end.

    python benchmarks/events_speed.py --db sqlite [--customers 100000] [--events 200000]
    python benchmarks/events_speed.py --db postgres

Starts from an empty database (SQLite in a temporary folder, or PostgreSQL's
guanxi_events_bench), loads `--customers` demo customers in bulk, serves the app with
`guanxi serve`, and posts `--events` events as NDJSON in batches of `--batch` over HTTP
from this process: 70% name a known customer (by phone, email or a channel id seen before),
30% a stranger (a lead is made for each new person), 5% repeat an earlier idempotency key.
The figure is events stored per second of wall-clock time, from the first request to the
last answer. Written to benchmarks/results/events-<db>.json. Nothing is asserted.
"""

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
CHANNELS = ["web_shop", "store", "email", "wechat", "app"]
KINDS = {"web_shop": ["page_view", "cart_add", "purchase"], "store": ["store_visit", "purchase"],
         "email": ["email_open", "email_click"], "wechat": ["follow", "message"],
         "app": ["page_view", "sign_up"]}  # fmt: skip


def guanxi(env, *args) -> str:
    done = subprocess.run([PY, "-m", "guanxi.cli", *args], env=env, capture_output=True,
                          text=True)  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def known_people(env, n: int) -> list[tuple[str, str]]:
    code = (
        "from guanxi.customers.models import CustomerPhone, CustomerEmail\n"
        f"for p in CustomerPhone.objects.order_by('?').values_list('number', flat=True)[:{n}]:\n"
        "    print('phone', p)\n"
        f"for e in CustomerEmail.objects.order_by('?').values_list('email', flat=True)[:{n}]:\n"
        "    print('email', e)\n"
    )
    out = guanxi(env, "manage", "shell", "-c", code)
    # (the shell also prints a line of its own about what it imported)
    return [
        tuple(line.split(" ", 1))
        for line in out.splitlines()
        if line.startswith(("phone ", "email "))
    ]


def make_events(n: int, people: list, seed: int) -> list[dict]:
    rng = random.Random(seed)
    events, keys = [], []
    for i in range(n):
        channel = rng.choice(CHANNELS)
        if keys and rng.random() < 0.05:
            key = rng.choice(keys)
        else:
            key = f"bench-{i}"
            keys.append(key)
        if rng.random() < 0.7 and people:
            kind, value = rng.choice(people)
            ids = {kind: value}
        else:
            stranger = rng.randrange(n // 3 + 1)
            ids = {"channel_id": f"s{stranger}", "email": f"stranger{stranger}@example.net"}
        events.append({
            "channel": channel,
            "kind": rng.choice(KINDS[channel]),
            "occurred_at": f"2026-11-{rng.randint(1, 30):02d}T{rng.randint(0, 23):02d}:00:00+08:00",
            "idempotency_key": key,
            "identifiers": ids,
            "payload": {"page": f"/p/{rng.randint(1, 500)}", "title": "青瓷茶具"},
        })  # fmt: skip
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--port", type=int, default=8141)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gx-events-bench-") as tmp:
        env = dict(os.environ, GUANXI_DATA_DIR=tmp)
        env.pop("DATABASE_URL", None)
        if args.db == "postgres":
            default = "postgres://postgres@127.0.0.1:5432/guanxi_events_bench"
            url = os.environ.get("BENCH_EVENTS_DATABASE_URL", default)
            base, name = url.rsplit("/", 1)
            drop, create = f"DROP DATABASE IF EXISTS {name}", f"CREATE DATABASE {name}"
            subprocess.run(["psql", f"{base}/postgres", "-q", "-c", drop, "-c", create], check=True)
            env["DATABASE_URL"] = url
        guanxi(env, "manage", "migrate", "-v", "0")
        guanxi(env, "demo", "--customers", str(args.customers), "--orders", "0", "--mode", "bulk")
        token = guanxi(env, "token", "create", "liu.yang", "--name", "events-bench").strip()
        people = known_people(env, 20_000)
        events = make_events(args.events, people, seed=3)
        server = subprocess.Popen(
            [PY, "-m", "guanxi.cli", "serve", "--port", str(args.port), "--demo", "0"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            for _ in range(120):
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=5)
                    conn.request("GET", "/healthz")
                    if conn.getresponse().status == 200:
                        break
                except OSError:
                    time.sleep(1)
            conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=600)
            headers = {"Authorization": f"Bearer {token}",
                       "Content-Type": "application/x-ndjson"}  # fmt: skip
            totals = {"accepted": 0, "duplicates": 0, "created_customers": 0, "errors": 0}
            times, samples = [], []  # the first few refusals, shown in the results
            started = time.perf_counter()
            for start in range(0, len(events), args.batch):
                body = "\n".join(json.dumps(e, ensure_ascii=False)
                                 for e in events[start : start + args.batch]).encode()  # fmt: skip
                t = time.perf_counter()
                conn.request("POST", "/api/v1/events", body=body, headers=headers)
                response = conn.getresponse()
                data = json.loads(response.read())
                times.append(time.perf_counter() - t)
                if response.status != 200:
                    sys.exit(f"HTTP {response.status}: {data}")
                for key in ("accepted", "duplicates", "created_customers"):
                    totals[key] += data[key]
                totals["errors"] += len(data["errors"])
                samples += data["errors"][: 5 - len(samples)]
            seconds = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=30)
    result = {
        "db": args.db,
        "customers": args.customers,
        "events": len(events),
        "batch": args.batch,
        "seconds": round(seconds, 1),
        "events_per_second": round(len(events) / seconds),
        "batch_seconds_median": round(sorted(times)[len(times) // 2], 3),
        **totals,
        "error_samples": samples,
    }
    out = ROOT / "benchmarks" / "results" / f"events-{args.db}.json"
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(f"{len(events):,} events in {seconds:.1f} s: {len(events) / seconds:,.0f} events/s "
          f"({totals['accepted']:,} stored, {totals['duplicates']:,} repeats, "
          f"{totals['created_customers']:,} new leads) → {out.relative_to(ROOT)}")  # fmt: skip


if __name__ == "__main__":
    main()
