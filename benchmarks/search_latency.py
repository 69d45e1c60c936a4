"""Latency of customer searches over the API and of the staff customer list, from a client.

Query values are drawn from the data in the database (read directly, before the timed part):
pinyin initials (2 letters), a name prefix (surname and first given character), a fragment
of a phone number (4–7 digits), a fragment of an email's local part. Each request goes over
HTTP to a running server (`guanxi serve`) from this process; the numbers are wall-clock
times of the whole request, measured here. Nothing is asserted: figures are printed and
written as JSON.

    python benchmarks/search_latency.py --url http://127.0.0.1:8123 --token gx_… \
        --user liu.yang --password guanxi-demo-2024 --requests 200 --out results/x.json
"""

import argparse
import http.client
import json
import os
import random
import re
import statistics
import sys
import time
import urllib.parse
from http.cookies import SimpleCookie


def sample_queries(n: int, seed: int) -> dict[str, list[str]]:
    """`n` query values of each kind, from customers picked at random in the database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")
    import django

    django.setup()
    from django.db import connection

    rng = random.Random(seed)
    with connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id), MAX(id) FROM customers_customer")
        lo, hi = cursor.fetchone()
        ids = [rng.randint(lo, hi) for _ in range(n * 6)]
        marks = ", ".join(["%s"] * len(ids))
        cursor.execute(
            f"SELECT id, kind, name, name_initials FROM customers_customer WHERE id IN ({marks})",
            ids,
        )
        rows = cursor.fetchall()
        cursor.execute(
            f"SELECT number FROM customers_customerphone WHERE customer_id IN ({marks})", ids
        )
        phones = [r[0] for r in cursor.fetchall()]
        cursor.execute(
            f"SELECT email FROM customers_customeremail WHERE customer_id IN ({marks})", ids
        )
        emails = [r[0] for r in cursor.fetchall()]
    chinese = [r for r in rows if r[1] == "person" and re.match(r"[\u4e00-\u9fff]", r[2])]
    rng.shuffle(chinese)
    queries = {
        "initials": [r[3][:2] for r in chinese][:n],
        "name_prefix": [r[2][:2] for r in chinese][:n],
        "phone": [],
        "email": [],
    }
    for number in rng.sample(phones, min(n, len(phones))):
        national = number[3:]
        size = rng.randint(4, 7)
        start = rng.randint(0, len(national) - size)
        queries["phone"].append(national[start : start + size])
    for email in rng.sample(emails, min(n, len(emails))):
        local = email.split("@")[0]
        size = rng.randint(min(5, len(local)), len(local))
        queries["email"].append(local[:size])
    return queries


class Client:
    """One keep-alive HTTP connection; times each request."""

    def __init__(self, base: str):
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname, url.port or 80
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method, path, *, headers=None, body=None) -> tuple[int, bytes, float]:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        except (http.client.HTTPException, ConnectionError):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        data = response.read()
        elapsed = time.perf_counter() - started
        for header in response.headers.get_all("Set-Cookie") or []:
            for key, morsel in SimpleCookie(header).items():
                self.cookies[key] = morsel.value
        return response.status, data, elapsed

    def login(self, user: str, password: str) -> None:
        status, _data, _t = self.request("GET", "/admin/login/")
        body = urllib.parse.urlencode(
            {
                "username": user,
                "password": password,
                "csrfmiddlewaretoken": self.cookies.get("csrftoken", ""),
                "next": "/admin/",
            }
        )
        status, _data, _t = self.request(
            "POST",
            "/admin/login/",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"http://{self.host}:{self.port}/admin/login/",
            },
            body=body,
        )
        if status != 302 or "sessionid" not in self.cookies:
            sys.exit(f"login as {user} failed (HTTP {status})")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    f = int(k)
    c = min(f + 1, len(ordered) - 1)
    return ordered[f] + (ordered[c] - ordered[f]) * (k - f)


def summarize(times: list[float], counts: list[int]) -> dict:
    ms = [t * 1000 for t in times]
    return {
        "requests": len(ms),
        "p50_ms": round(percentile(ms, 0.50), 1),
        "p95_ms": round(percentile(ms, 0.95), 1),
        "mean_ms": round(statistics.fmean(ms), 1),
        "max_ms": round(max(ms), 1),
        "median_matches": statistics.median(counts) if counts else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8123")
    parser.add_argument("--token", required=True, help="bearer token (guanxi token create)")
    parser.add_argument("--user", default="liu.yang", help="staff user for the list page")
    parser.add_argument("--password", default="guanxi-demo-2024")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per kind")
    parser.add_argument("--warmup", type=int, default=10, help="untimed requests per kind")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", help="write the figures here as JSON")
    args = parser.parse_args()

    queries = sample_queries(args.requests + args.warmup, args.seed)
    client = Client(args.url)
    auth = {"Authorization": f"Bearer {args.token}"}
    results = {}
    for kind, values in queries.items():
        times, counts, errors = [], [], 0
        for i, q in enumerate(values):
            path = "/api/v1/customers?" + urllib.parse.urlencode({"q": q})
            status, data, elapsed = client.request("GET", path, headers=auth)
            if status != 200:
                errors += 1
                continue
            if i >= args.warmup:
                times.append(elapsed)
                counts.append(json.loads(data)["count"] or 0)
        results[f"api search: {kind}"] = {**summarize(times, counts), "errors": errors}
        results[f"api search: {kind}"]["examples"] = values[args.warmup : args.warmup + 5]

    client.login(args.user, args.password)
    rng = random.Random(args.seed)
    pages = {
        "list page": lambda: "/admin/customers/customer/",
        "list page, page n": lambda: f"/admin/customers/customer/?p={rng.randint(2, 200)}",
        "list page, searched": lambda: (
            "/admin/customers/customer/?"
            + urllib.parse.urlencode({"q": rng.choice(queries["name_prefix"])})
        ),
    }
    for name, make_path in pages.items():
        times, errors = [], 0
        for i in range(args.requests + args.warmup):
            status, _data, elapsed = client.request("GET", make_path())
            if status != 200:
                errors += 1
                continue
            if i >= args.warmup:
                times.append(elapsed)
        results[name] = {**summarize(times, []), "errors": errors}

    width = max(len(k) for k in results)
    print(f"{'':<{width}}  {'p50 ms':>8} {'p95 ms':>8} {'mean':>8} {'max':>8}  matches  n  err")
    for name, r in results.items():
        print(
            f"{name:<{width}}  {r['p50_ms']:>8} {r['p95_ms']:>8} {r['mean_ms']:>8} "
            f"{r['max_ms']:>8}  {r.get('median_matches') or '':>7}  {r['requests']}  {r['errors']}"
        )
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, ensure_ascii=False, indent=2)


if __name__ == "__main__":
    main()
