"""How fast rule-based segments are kept current at 1,000,000 customers / 10,000,000 orders.

    python benchmarks/segments_speed.py --db sqlite   [--customers 1000000] [--orders 10000000]
    python benchmarks/segments_speed.py --db postgres [--skip-load] [--reuse-segments]

Loads `guanxi demo --customers N --orders M --mode bulk` into an empty database (SQLite in
GUANXI_DATA_DIR, default /tmp/gx-seg-bench; PostgreSQL's guanxi_segments_bench), adds
interactions and channel events set-based (the bulk demo makes none; `--interactions`,
`--events`, default 2 and 3 per customer), and runs `guanxi analytics refresh` once so the
value fields have figures. Then, each step in a fresh process under /usr/bin/time:

1. 50 typical segments (`SEGMENTS`: customer fields, value fields, order aggregates in
   windows, interactions / events, nested any / all / not, two naming other segments) are
   made through `segment_create` (which fills each at once); their members are then cleared;
2. `segments_refresh()` of all 50 — first the refresh that fills them (and builds the
   order windows it keeps, segments.windows), then a second one where few memberships
   change (reading those windows, as the hourly refresh does) — total, per segment
   (`Segment.refresh_ms`), peak memory; the compiled SQL and query plan of the slowest
   segments are kept; then the daily `windows_rebuild()`;
3. `order_create` for existing buyers (one process, after a warm-up; 50 orders on different
   customers), end to end (with the after-order hook when it calls one), then for the same
   customer `customer_reevaluate(customer_id=…, changed={"orders"})` alone and the whole
   hook (`segments.services.changes.customer_changed`) alone; median and p95 of each;
4. `definition_preview` (the live count of rules being edited) of 10 definitions for an
   admin: each three times, median and max.

Writes benchmarks/results/segments-<db>-<customers>.json. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.benchdb import bench_env, empty_database  # noqa: E402

PY = str(ROOT / ".venv" / "bin" / "python")
RESULTS = ROOT / "benchmarks" / "results"

# -- the 50 segments --------------------------------------------------------------------------
# Values follow what the bulk demo generates (guanxi/demo/bulk.py, pools.py): stages by order
# recency, sources and tags by weight, 30% companies, cities as "北京市", products in six
# categories at 24–699 yuan, 1–3 lines an order. {"ref": name} is replaced by that segment's id.


def c(field, op, value=None, **extra):
    out = {"field": field, "op": op, **extra}
    if value is not None:
        out["value"] = value
    return out


def ref(name):
    return {"ref": name}


SEGMENTS = [
    # customer fields
    ("线索 Leads", c("stage", "eq", "lead")),
    ("活跃客户 Active and new", c("stage", "in", ["active", "new"])),
    ("流失风险 At-risk stage", c("stage", "eq", "at_risk")),
    ("官网新客 Web, last 90 days",
     {"all": [c("source", "eq", "web"), c("created_at", "gte", "-90d")]}),
    ("转介绍 Referrals and partners", c("source", "in", ["referral", "partner"])),
    ("京沪 Beijing and Shanghai", c("city", "in", ["北京市", "上海市"])),
    ("广东 Guangdong", c("province", "eq", "广东省")),
    ("VIP", c("tags", "in", ["VIP"])),
    ("VIP 品牌忠诚 VIP and loyal", c("tags", "contains", ["VIP", "品牌忠诚"])),
    ("企业客户 Companies", c("kind", "eq", "company")),
    ("大企业 Large companies",
     {"all": [c("kind", "eq", "company"), c("company_size", "in", ["250-999", "1000+"])]}),
    ("新建 Created last 30 days", c("created_at", "gte", "-30d")),
    ("无标签 Untagged", c("tags", "is_set", False)),
    # value fields (analytics)
    ("重要价值 Important value", c("value.segment", "eq", "important_value")),
    ("重要挽留 Important to win back", c("value.segment", "eq", "important_win_back")),
    ("冠军与忠诚 Champions and loyal", c("value.segment", "in", ["champions", "loyal"])),
    ("不能失去 At risk, can't lose", c("value.segment", "in", ["at_risk", "cannot_lose"])),
    ("高 CLV ≥ 3000", c("value.lifetime_value", "gte", 3000)),
    ("沉睡 P(alive) < 0.3", c("value.p_alive", "lt", 0.3)),
    ("R5 F≥4", {"all": [c("value.r_score", "eq", 5), c("value.f_score", "gte", 4)]}),
    ("M5 top spenders", c("value.m_score", "eq", 5)),
    ("历史消费 ≥ 10000", c("value.historical_value", "gte", 10000)),
    ("预计年购 ≥ 3", c("value.purchases_365", "gte", 3)),
    # order aggregates in windows
    ("复购 2+ orders in 90 days", c("orders.count", "gte", 2, days=90)),
    ("年消费 ≥ 5000 in 365 days", c("orders.sum", "gte", 5000, days=365)),
    ("90 天未购 90+ days since last order", c("orders.days_since_last", "gte", 90)),
    ("30–60 天未购", c("orders.days_since_last", "between", [30, 60])),
    ("茶叶 Tea in 180 days", c("orders.category", "eq", "茶叶", days=180)),
    ("大红袍 TEA-004 in 365 days", c("orders.product", "eq", "TEA-004", days=365)),
    ("客单价 ≥ 500", c("orders.avg", "gte", 500)),
    ("从未购买 Never bought", c("orders.count", "eq", 0)),
    ("门店 30 天 Store order in 30 days", c("orders.count", "gte", 1, days=30, channel="store")),
    ("首单 60 天 First order in 60 days", c("orders.first_at", "gte", "-60d")),
    ("多品类 3+ categories in 365 days", c("orders.categories", "gte", 3, days=365)),
    ("折扣敏感 Half the lines discounted",
     c("orders.discount_share", "gte", 0.5, days=365)),
    ("有退款 Refunded in 365 days", c("orders.refund_share", "gt", 0, days=365)),
    # interactions and channel events
    ("近期联系 Contacted in 30 days", c("interactions.count", "gte", 1, days=30)),
    ("90 天未联系 Not contacted in 90 days", c("interactions.count", "eq", 0, days=90)),
    ("活跃访客 3+ events in 30 days", c("events.count", "gte", 3, days=30)),
    ("打开邮件 Opened an email in 30 days",
     c("events.count", "gte", 1, days=30, kind="email_open")),
    ("180 天无互动 No interaction for 180 days",
     c("interactions.days_since_last", "gte", 180)),
    ("弃购 Cart, no order in 7 days",
     {"all": [c("events.count", "gte", 1, days=7, kind="cart_add"),
              c("orders.count", "eq", 0, days=7)]}),
    # nested any / all / not
    ("挽回 Win back",
     {"all": [c("stage", "in", ["at_risk", "churned"]), c("value.lifetime_value", "gte", 1000),
              {"not": c("interactions.count", "gte", 1, days=30)}]}),
    ("茶客 Tea buyers in big cities or VIP",
     {"all": [c("orders.category", "eq", "茶叶", days=365),
              {"any": [c("city", "in", ["北京市", "上海市", "广州市", "深圳市"]),
                       c("tags", "in", ["VIP"])]}]}),
    ("升级 Upsell",
     {"any": [{"all": [c("value.segment", "eq", "potential_loyalist"),
                       c("orders.avg", "gte", 300)]},
              {"all": [c("orders.count", "gte", 3, days=90),
                       {"not": c("tags", "in", ["价格敏感"])}]}]}),
    ("看而不买 Engaged, not buying",
     {"all": [c("events.count", "gte", 2, days=30), c("orders.days_since_last", "gte", 60)]}),
    ("节礼 Food gift buyers",
     {"all": [c("orders.category", "in", ["食品"], days=365),
              c("orders.sum", "gte", 1000, days=365), {"not": c("stage", "eq", "churned")}]}),
    ("B2B 大单 Companies ≥ 20000 in 365 days",
     {"all": [c("kind", "eq", "company"), c("orders.sum", "gte", 20000, days=365)]}),
    # naming other segments
    ("VIP 未购 VIP, 90+ days since last order",
     {"all": [c("segment", "in", [ref("VIP")]),
              c("segment", "in", [ref("90 天未购 90+ days since last order")])]}),
    ("冠军未联系 Champions not contacted",
     {"all": [c("segment", "in", [ref("冠军与忠诚 Champions and loyal")]),
              {"not": c("segment", "in", [ref("近期联系 Contacted in 30 days")])}]}),
]  # fmt: skip

PREVIEWS = [
    "活跃客户 Active and new",
    "VIP",
    "重要价值 Important value",
    "高 CLV ≥ 3000",
    "复购 2+ orders in 90 days",
    "年消费 ≥ 5000 in 365 days",
    "茶叶 Tea in 180 days",
    "活跃访客 3+ events in 30 days",
    "挽回 Win back",
    "升级 Upsell",
]
N_SLOWEST = 6  # the slowest segments whose SQL and plan are kept


# -- the driver -------------------------------------------------------------------------------


def run(env, argv, what) -> tuple[str, float, int]:
    """Run a command in a fresh process: (stdout, seconds, peak kB of it and its children)."""
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *argv], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{what} failed:\n{done.stderr[-4000:]}")
    peak = int(done.stderr.strip().splitlines()[-1])
    return done.stdout, seconds, peak


def guanxi(env, *args):
    return run(env, [PY, "-m", "guanxi.cli", *args], f"guanxi {' '.join(args)}")


def stage(env, name, **kwargs) -> tuple[dict, float, int]:
    """One step of the benchmark in its own process; (its RESULT, seconds, peak kB)."""
    out, seconds, peak = run(
        env, [PY, __file__, "--stage", name, "--stage-args", json.dumps(kwargs)], f"stage {name}"
    )
    line = next(x for x in reversed(out.splitlines()) if x.startswith("RESULT "))
    # Other work on the machine shows in the figures: the load average when the step ended.
    return {**json.loads(line[7:]), "load_average": os.getloadavg()}, seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--interactions", type=int, help="default: 2 per customer")
    parser.add_argument("--events", type=int, help="default: 3 per customer")
    parser.add_argument("--skip-load", action="store_true", help="measure the data already there")
    parser.add_argument("--load-only", action="store_true", help="load the data, measure nothing")
    parser.add_argument(
        "--reuse-segments",
        action="store_true",
        help="keep the 50 segments of an earlier run (not timing their making); their members "
        "are cleared so the first refresh fills them",
    )
    parser.add_argument(
        "--statement-timeout",
        type=int,
        default=600,
        help="PostgreSQL: seconds after which a segment's statement is given up (0: never)",
    )
    parser.add_argument(
        "--steady",
        action="store_true",
        help="with --skip-load and --reuse-segments on a database already measured: only the "
        "steady refresh, the daily rebuild, the order hook and the live count",
    )
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--stage-args", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        return _run_stage(args.stage, json.loads(args.stage_args))
    if not args.db:
        parser.error("--db is required")
    env = bench_env(args.db, data_dir="/tmp/gx-seg-bench", pg_name="guanxi_segments_bench")
    result: dict = {
        "db": args.db,
        "customers": args.customers,
        "orders": args.orders,
        "cores": os.cpu_count(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "commit": _commit(),
    }
    if not args.skip_load:
        empty_database(env, args.db)
    Path(env["GUANXI_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    guanxi(env, "manage", "migrate", "-v", "0")
    if not args.skip_load:
        _out, seconds, _peak = guanxi(env, "demo", "--customers", str(args.customers),
                                      "--orders", str(args.orders), "--mode", "bulk")  # fmt: skip
        result["demo_load_seconds"] = round(seconds, 1)
        print(f"demo data loaded in {seconds:.1f} s", flush=True)
    # With --skip-load these run only if the database has no interactions / no value figures
    # yet (a load that stopped half-way is finished, not repeated).
    activity, seconds, _peak = stage(
        env,
        "activity",
        interactions=args.interactions if args.interactions is not None else 2 * args.customers,
        events=args.events if args.events is not None else 3 * args.customers,
        only_if_empty=args.skip_load,
    )
    result["activity"] = {**activity, "seconds": round(seconds, 1)}
    print(f"interactions and events: {activity} in {seconds:.1f} s", flush=True)
    have_values, _s, _p = stage(env, "has_values")
    if not (args.skip_load and have_values["refreshes"]):
        _out, seconds, peak = guanxi(env, "analytics", "refresh")
        result["analytics_refresh_seconds"] = round(seconds, 1)
        print(f"analytics refresh: {seconds:.1f} s, peak {peak / 1024:.0f} MB", flush=True)

    if args.load_only:
        return
    if args.db == "postgres" and args.statement_timeout:
        # The load above runs without it; each segment's statement from here on has a bound.
        env["PGOPTIONS"] = f"-c statement_timeout={args.statement_timeout * 1000}"
        result["statement_timeout_seconds"] = args.statement_timeout
    if args.steady:
        return _steady(env, result)
    created, seconds, peak = stage(env, "create", reuse=args.reuse_segments)
    result["create"] = {**created, "wall_seconds": round(seconds, 1), "peak_mb": round(peak / 1024)}
    made = (
        "kept from an earlier run"
        if created.get("reused")
        else ("made with segment_create (each filled at once)")
    )
    print(f"\n50 segments {made} in {seconds:.1f} s:")
    for s in [] if created.get("reused") else created["segments"]:
        members = "timed out" if s["members"] is None else f"{s['members']:,}"
        print(f"  {members:>9}  {s['create_ms']:>7,} ms  #{s['id']:<3} {s['name']}")
    print("", flush=True)
    ids = [s["id"] for s in created["segments"]]

    for key, label in (("refresh_first", "first refresh (fills them)"),
                       ("refresh_next", "next refresh (few changes)")):  # fmt: skip
        apart = [s["id"] for s in created["segments"] if "error" in s]
        refreshed, seconds, peak = stage(env, "refresh", ids=ids, apart=apart)
        result[key] = {**refreshed, "wall_seconds": round(seconds, 2),
                       "peak_mb": round(peak / 1024)}  # fmt: skip
        changed = sum(r["entered"] + r["left"] for r in refreshed["segments"])
        others = refreshed["other_segments"]
        print(
            f"{label}: {refreshed['seconds']:.1f} s in segments_refresh(), {seconds:.1f} s wall "
            f"(with the {len(others)} other dynamic segments: "
            f"{refreshed['other_segments_seconds']:.1f} s), peak {peak / 1024:.0f} MB, "
            f"{changed:,} memberships changed",
            flush=True,
        )

    slowest = sorted(result["refresh_first"]["segments"], key=lambda r: -r["ms"])[:N_SLOWEST]
    explained, _s, _p = stage(env, "explain", ids=[r["segment_id"] for r in slowest])
    result["slowest"] = explained["plans"]

    rebuilt, seconds, peak = stage(env, "rebuild")
    result["windows_rebuild"] = {**rebuilt, "wall_seconds": round(seconds, 1),
                                 "peak_mb": round(peak / 1024)}  # fmt: skip
    print(f"daily rebuild of the {rebuilt['windows']} kept order windows: "
          f"{rebuilt['seconds']:.1f} s", flush=True)  # fmt: skip

    orders, _s, peak = stage(env, "orders", n=50, warmup=5)
    result["order_create"] = {**orders, "peak_mb": round(peak / 1024)}
    previews, _s, _p = stage(env, "preview", names=PREVIEWS, repeat=3)
    result["previews"] = previews

    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"segments-{args.db}-{args.customers}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    _print_table(result)
    print(f"written to {path}")


def _steady(env, result: dict) -> None:
    """The steady state of a database measured before: its segments filled, its windows
    kept. Written to segments-<db>-<customers>-steady.json."""
    from_db, _s, _p = stage(env, "segment_ids")
    ids = from_db["ids"]
    refreshed, seconds, peak = stage(env, "refresh", ids=ids, apart=[])
    result["refresh_next"] = {**refreshed, "wall_seconds": round(seconds, 2),
                              "peak_mb": round(peak / 1024)}  # fmt: skip
    print(f"steady refresh: {refreshed['seconds']:.1f} s in segments_refresh() "
          f"(the 5 other dynamic segments: {refreshed['other_segments_seconds']:.1f} s)",
          flush=True)  # fmt: skip
    rebuilt, _s, _p = stage(env, "rebuild")
    result["windows_rebuild"] = rebuilt
    print(f"daily rebuild of the kept order windows: {rebuilt['seconds']:.1f} s", flush=True)
    orders, _s, peak = stage(env, "orders", n=50, warmup=5)
    result["order_create"] = {**orders, "peak_mb": round(peak / 1024)}
    o = result["order_create"]
    print(f"order_create median {o['order_create']['median_ms']} ms; reevaluate median "
          f"{o['reevaluate']['median_ms']} p95 {o['reevaluate']['p95_ms']} ms; hook median "
          f"{o['hook']['median_ms']} p95 {o['hook']['p95_ms']} ms", flush=True)  # fmt: skip
    previews, _s, _p = stage(env, "preview", names=PREVIEWS, repeat=3)
    result["previews"] = previews
    for d in previews["definitions"]:
        print(f"  {d['first_ms']:>7.0f} / {d['median_ms']:>7.0f} ms  {d['count']:>9,}  "
              f"{d['name']}")  # fmt: skip
    print(f"live count median {previews['median_ms']:.0f} ms, max {previews['max_ms']:.0f} ms")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"segments-{result['db']}-{result['customers']}-steady.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    print(f"written to {path}")


def _segment_ids() -> dict:
    from guanxi.segments.models import Segment

    names = [name for name, _d in SEGMENTS]
    by_name = dict(Segment.objects.filter(name__in=names).values_list("name", "pk"))
    return {"ids": [by_name[n] for n in names]}


def _commit() -> str:
    """The checkout measured: its commit, with "+changes" when files differ from it."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--untracked-files=no", "guanxi"],
        capture_output=True,
        text=True,
    )
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def _print_table(r: dict) -> None:
    first, nxt = r["refresh_first"], r["refresh_next"]
    o, p = r["order_create"], r["previews"]
    print(f"\n{r['db']}, {r['customers']:,} customers, {r['orders']:,} orders")

    def refresh(x):
        if not x["apart"]:
            return f"{x['seconds']:.1f} s / {x['wall_seconds']:.1f} s"
        return (f"{x['seconds']:.1f} s + {len(x['apart'])} apart {x['apart_seconds']:.0f} s "
                f"({x['failed']} timed out) / {x['wall_seconds']:.1f} s")  # fmt: skip

    rows = [
        ("50 segments, first refresh (in the service / wall)", refresh(first), "—"),
        ("50 segments, next refresh (in the service / wall)", refresh(nxt), "≤ 60 s"),
        ("peak memory of a refresh", f"{max(first['peak_mb'], nxt['peak_mb'])} MB", ""),
        ("daily rebuild of the kept order windows",
         f"{r['windows_rebuild']['seconds']:.1f} s", ""),
        ("order_create, median / p95", f"{o['order_create']['median_ms']:.1f} / "
         f"{o['order_create']['p95_ms']:.1f} ms", ""),
        ("customer_reevaluate, median / p95", f"{o['reevaluate']['median_ms']:.1f} / "
         f"{o['reevaluate']['p95_ms']:.1f} ms", "≤ 50 ms"),
        ("after-order hook (customer_changed), median / p95",
         f"{o['hook']['median_ms']:.1f} / {o['hook']['p95_ms']:.1f} ms" if o["hook"] else "—",
         ""),
        ("definition_preview of 10, median / max", f"{p['median_ms']:.0f} / {p['max_ms']:.0f} ms",
         "≤ 1 s"),
    ]  # fmt: skip
    width = max(len(a) for a, _b, _c in rows)
    for a, b, t in rows:
        print(f"  {a:<{width}}  {b:>22}  {t}")
    print("\nslowest segments (first refresh / next refresh, ms):")
    nxt_ms = {s["segment_id"]: s["ms"] for s in nxt["segments"]}
    for s in sorted(first["segments"], key=lambda s: -s["ms"])[:10]:
        members = "timed out" if s["members"] is None else f"{s['members']:,}"
        print(f"  {s['ms']:>7,} / {nxt_ms.get(s['segment_id'], 0):>7,}  {members:>9}  "
              f"{s['name']}")  # fmt: skip
    print("\npreviews (first / median of 3, ms):")
    for x in p["definitions"]:
        count = "timed out" if x["count"] is None else f"{x['count']:,}"
        print(f"  {x['first_ms']:>7.0f} / {x['median_ms']:>7.0f}  {count:>9}  {x['name']}")
    print(
        f"\nhook: order_create ran {o['segment_queries_in_order_create']} segment queries "
        f"(median {o['queries_in_order_create']} queries in all)"
    )


# -- the steps, each run in its own process ---------------------------------------------------


def _run_stage(name: str, kwargs: dict) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guanxi.settings")
    import django

    django.setup()
    out = {
        "activity": _activity,
        "has_values": _has_values,
        "create": _create,
        "refresh": _refresh,
        "explain": _explain,
        "orders": _orders,
        "preview": _preview,
        "rebuild": _rebuild,
        "segment_ids": _segment_ids,
    }[name](**kwargs)
    print("RESULT " + json.dumps(out, ensure_ascii=False, default=str), flush=True)


def _rebuild() -> dict:
    """`windows_rebuild()`: the daily task building the kept order windows again."""
    from guanxi.segments.models import OrderWindow
    from guanxi.segments.windows import windows_rebuild

    started = time.perf_counter()
    n = windows_rebuild()
    return {
        "windows": n,
        "seconds": round(time.perf_counter() - started, 2),
        "each": [
            {"days": w.days, "channel": w.channel, "rows": w.rows, "lines": w.lines,
             "built_ms": w.built_ms}
            for w in OrderWindow.objects.order_by("days", "channel")
        ],
    }  # fmt: skip


def _admin():
    from guanxi.accounts.models import User

    return User.objects.filter(role="admin", is_active=True).order_by("pk").first()


def _has_values() -> dict:
    from guanxi.analytics.models import CustomerValue, ValueRefresh

    return {
        "refreshes": ValueRefresh.objects.count(),
        "values": CustomerValue.objects.exists(),
    }


def _activity(*, interactions: int, events: int, only_if_empty: bool = False) -> dict:
    """Interactions over the last year and channel events over the last 120 days, set-based:
    interactions spread over every customer, events over a third of them (the ones online)."""
    from django.db import connection, transaction

    from guanxi.customers.models import Customer
    from guanxi.events.models import CustomerEvent
    from guanxi.interactions.models import Interaction

    if only_if_empty and (Interaction.objects.exists() or CustomerEvent.objects.exists()):
        return {
            "interactions": Interaction.objects.count(),
            "events": CustomerEvent.objects.count(),
            "added": False,
        }

    pg = connection.vendor == "postgresql"
    now = int(time.time())
    day = 86_400
    p = 2_147_483_647

    def h(k: int, n: str = "n") -> str:  # a deterministic hash of the row number, in [0, P)
        return f"((({n}) + 1) * {1_103_515_245 + 7919 * k} + {12_345 + 104_729 * k}) % {p}"

    def ts(expr: str) -> str:
        return f"to_timestamp({expr})" if pg else f"datetime({expr}, 'unixepoch')"

    def pick(expr: str, values) -> str:
        whens = " ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(values))
        return f"(CASE {expr} WHEN {len(values)} THEN '' {whens} END)"

    def seq(lo: int, hi: int) -> str:
        if pg:
            return f"(SELECT generate_series(CAST({lo} AS BIGINT), {hi - 1}) AS n) s"
        return (
            f"(WITH RECURSIVE q(n) AS (SELECT {lo} UNION ALL SELECT n + 1 FROM q "
            f"WHERE n < {hi - 1}) SELECT n FROM q) s"
        )

    lo, hi = (
        Customer.objects.order_by("pk").values_list("pk", flat=True)[:1][0],
        (Customer.objects.order_by("-pk").values_list("pk", flat=True)[:1][0]),
    )
    span = hi - lo + 1
    # (kind, direction, channel, subject): what a sales team logs.
    i_kinds = [
        ("call", "outbound", "phone", "电话回访"),
        ("call", "inbound", "phone", "客户来电咨询"),
        ("email", "outbound", "email", "新品介绍邮件"),
        ("chat", "inbound", "wechat", "微信咨询"),
        ("visit", "outbound", "in_person", "上门拜访"),
        ("meeting", "outbound", "video", "线上会议"),
        ("note", "internal", "", "备注"),
    ]
    # (kind, channel, weight in 100)
    e_kinds = [
        ("page_view", "web_shop", 45),
        ("email_open", "email", 20),
        ("email_click", "email", 8),
        ("cart_add", "web_shop", 10),
        ("store_visit", "store", 7),
        ("message", "wechat", 5),
        ("page_view", "app", 5),
    ]
    e_kind = "(CASE " + " ".join(
        f"WHEN {h(5)} % 100 < {sum(w for *_x, w in e_kinds[: i + 1])} THEN '{k}'"
        for i, (k, _ch, _w) in enumerate(e_kinds)
    ) + " END)"  # fmt: skip
    e_chan = "(CASE " + " ".join(
        f"WHEN {h(5)} % 100 < {sum(w for *_x, w in e_kinds[: i + 1])} THEN '{ch}'"
        for i, (_k, ch, _w) in enumerate(e_kinds)
    ) + " END)"  # fmt: skip
    json_empty = "'{}'::jsonb" if pg else "'{}'"
    chunk = 1_000_000
    started = time.perf_counter()
    it, et = Interaction._meta.db_table, CustomerEvent._meta.db_table
    ct = Customer._meta.db_table
    n_kinds = len(i_kinds)
    for a in range(0, interactions, chunk):
        b = min(a + chunk, interactions)
        at = ts(f"{now} - 600 - ({h(2)}) % {365 * day}")
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                f"""
                INSERT INTO {it} (customer_id, contact_id, kind, direction, channel, subject,
                    body, outcome, next_step, occurred_at, user_id, created_at, updated_at)
                SELECT c.id, NULL, {pick(f"{h(3)} % {n_kinds}", [k[0] for k in i_kinds])},
                    {pick(f"{h(3)} % {n_kinds}", [k[1] for k in i_kinds])},
                    {pick(f"{h(3)} % {n_kinds}", [k[2] for k in i_kinds])},
                    {pick(f"{h(3)} % {n_kinds}", [k[3] for k in i_kinds])},
                    '', '', '', {at}, c.owner_id, {at}, {at}
                FROM {seq(a, b)} JOIN {ct} c ON c.id = {lo} + ({h(1)}) % {span}
                """  # noqa: S608 - numbers and constants only
            )
    third = max(span // 3, 1)
    for a in range(0, events, chunk):
        b = min(a + chunk, events)
        at = ts(f"{now} - 600 - ({h(6)}) % {120 * day}")
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                f"""
                INSERT INTO {et} (customer_id, channel, kind, occurred_at, received_at,
                    idempotency_key, identifiers, payload)
                SELECT c.id, {e_chan}, {e_kind}, {at}, {at}, NULL, {json_empty}, {json_empty}
                FROM {seq(a, b)} JOIN {ct} c ON c.id = {lo} + 3 * (({h(4)}) % {third})
                """  # noqa: S608 - numbers and constants only
            )
    with connection.cursor() as cur:
        if not pg:
            cur.execute("PRAGMA analysis_limit = 1000")
        for table in (it, et):
            cur.execute(f"ANALYZE {table}")
    return {
        "interactions": Interaction.objects.count(),
        "events": CustomerEvent.objects.count(),
        "insert_seconds": round(time.perf_counter() - started, 1),
    }


def _resolve(definition, ids: dict):
    if isinstance(definition, dict):
        if set(definition) == {"ref"}:
            return ids[definition["ref"]]
        return {k: _resolve(v, ids) for k, v in definition.items()}
    if isinstance(definition, list):
        return [_resolve(v, ids) for v in definition]
    return definition


def _create(reuse: bool = False) -> dict:
    """The 50 segments through the service (each filled at once), then their members cleared
    so that the next refresh is the one that fills them. A segment whose filling the
    database gives up on (PostgreSQL's statement_timeout) is saved without members, so the
    refresh still tries it, and marked."""
    from django.db import DatabaseError

    from guanxi.segments import definition as rules
    from guanxi.segments.models import Segment, SegmentMembership
    from guanxi.segments.services import segment_create

    admin = _admin()
    names = {name for name, _d in SEGMENTS}
    old = Segment.objects.filter(name__in=names)
    if reuse and old.count() == len(names):
        SegmentMembership.objects.filter(segment__in=old)._raw_delete(SegmentMembership.objects.db)
        old.update(member_count=0, refreshed_at=None, refresh_ms=None)
        by_name = {x.name: x for x in old}
        out = [{"id": by_name[n].pk, "name": n, "members": None, "create_ms": None,
                "depends": by_name[n].depends} for n, _d in SEGMENTS]  # fmt: skip
        return {"seconds": 0, "segments": out, "failed": [], "reused": True}
    SegmentMembership.objects.filter(segment__in=old)._raw_delete(SegmentMembership.objects.db)
    old.delete()
    ids: dict[str, int] = {}
    out = []
    started = time.perf_counter()
    for name, definition in SEGMENTS:
        data = {"name": name, "definition": _resolve(definition, ids)}
        t = time.perf_counter()
        try:
            segment = segment_create(actor=admin, data=data)
        except DatabaseError as e:
            ms = round((time.perf_counter() - t) * 1000)
            stored = rules.validate(data["definition"])
            segment = Segment.objects.create(
                name=name, definition=stored, depends=rules.depends_on(stored)
            )
            out.append({"id": segment.pk, "name": name, "members": None, "create_ms": ms,
                        "error": f"{type(e).__name__}: {str(e).strip()[:200]}",
                        "depends": segment.depends})  # fmt: skip
            print(f"{name}: {e}", file=sys.stderr, flush=True)
        else:
            out.append({"id": segment.pk, "name": name, "members": segment.member_count,
                        "create_ms": round((time.perf_counter() - t) * 1000),
                        "depends": segment.depends})  # fmt: skip
        ids[name] = segment.pk
    seconds = time.perf_counter() - started
    ours = Segment.objects.filter(pk__in=ids.values())
    SegmentMembership.objects.filter(segment__in=ours)._raw_delete(SegmentMembership.objects.db)
    ours.update(member_count=0, refreshed_at=None, refresh_ms=None)
    return {"seconds": round(seconds, 2), "segments": out,
            "failed": [x["name"] for x in out if "error" in x]}  # fmt: skip


def _refresh_apart(ids: list[int], apart: list[int]) -> tuple[list[dict], float, float]:
    """`segments_refresh` of the segments that finished when made, in one call (so they share
    its per-window tables as usual), then each of those that timed out on its own, so one the
    database gives up on is recorded and the others still measured. (rows, seconds of the
    call, seconds of the ones apart)."""
    from django.db import DatabaseError, connection

    from guanxi.segments.models import Segment
    from guanxi.segments.services import segments_refresh

    together = [pk for pk in ids if pk not in set(apart)]
    started = time.perf_counter()
    rows = [
        {
            "segment_id": r.segment_id,
            "members": r.members,
            "entered": r.entered,
            "left": r.left,
            "ms": r.ms,
        }  # fmt: skip
        for r in segments_refresh(segment_ids=together)
    ]
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    for segment in Segment.objects.filter(pk__in=apart):
        t = time.perf_counter()
        try:
            [r] = segments_refresh(segment_ids=[segment.pk])
        except DatabaseError as e:
            connection.close()  # a fresh session after the cancelled statement
            rows.append({"segment_id": segment.pk, "members": None, "entered": 0, "left": 0,
                         "ms": round((time.perf_counter() - t) * 1000),
                         "error": f"{type(e).__name__}: {str(e).strip()[:200]}"})  # fmt: skip
        else:
            rows.append({"segment_id": r.segment_id, "members": r.members, "entered": r.entered,
                         "left": r.left, "ms": r.ms})  # fmt: skip
    return rows, seconds, time.perf_counter() - started


def _refresh(*, ids: list[int], apart: list[int] | None = None) -> dict:
    """`segments_refresh` of the 50; then, apart, of the other active dynamic segments (the
    behaviour tags a new installation starts with), which the nightly refresh also runs.
    `apart`: segments that timed out when made, refreshed after the others, one by one."""
    from guanxi.segments.choices import SegmentKind
    from guanxi.segments.models import Segment
    from guanxi.segments.services import RefreshResult, segments_refresh

    slowest_queries = []
    apart_seconds = None
    if apart:
        rows, seconds, apart_seconds = _refresh_apart(ids, apart)
        failed = {r["segment_id"]: r["error"] for r in rows if "error" in r}
        results = [
            RefreshResult(r["segment_id"], r["members"], r["entered"], r["left"], r["ms"])
            for r in rows
        ]
    else:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            results = segments_refresh(segment_ids=ids)
            seconds = time.perf_counter() - started
        failed = {}
        slow = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:12]
        slowest_queries = [{"seconds": float(q["time"]), "sql": q["sql"][:4000]} for q in slow]
    others = list(
        Segment.objects.filter(kind=SegmentKind.DYNAMIC, is_active=True)
        .exclude(pk__in=ids)
        .values_list("pk", flat=True)
    )
    t = time.perf_counter()
    other_results = segments_refresh(segment_ids=others) if others else []
    other_seconds = time.perf_counter() - t
    stored = {s.pk: s for s in Segment.objects.filter(pk__in=[r.segment_id for r in results])}
    names = dict(Segment.objects.filter(pk__in=others).values_list("pk", "name"))
    return {
        "seconds": round(seconds, 2),
        "apart": apart or [],
        "apart_seconds": apart_seconds and round(apart_seconds, 2),
        "failed": len(failed),
        "sum_refresh_ms": sum(r.ms for r in results),
        "other_segments_seconds": round(other_seconds, 2),
        "slowest_queries": slowest_queries,
        "other_segments": [
            {
                "segment_id": r.segment_id,
                "name": names[r.segment_id],
                "members": r.members,
                "ms": r.ms,
            }
            for r in other_results
        ],
        "segments": [
            {
                "segment_id": r.segment_id,
                "name": stored[r.segment_id].name,
                "members": r.members,
                "entered": r.entered,
                "left": r.left,
                "ms": r.ms,
                "refresh_ms_stored": stored[r.segment_id].refresh_ms,
                **({"error": failed[r.segment_id]} if r.segment_id in failed else {}),
            }
            for r in results
        ],
    }


def _explain(*, ids: list[int]) -> dict:
    """The compiled SQL of each segment on its own and its plan (PostgreSQL: EXPLAIN ANALYZE,
    BUFFERS; SQLite: EXPLAIN QUERY PLAN): what `segment_create` and the live count run. (A
    refresh of several segments reads shared per-window tables instead; its slowest
    statements are kept with the refresh.)"""
    from django.db import connection, transaction

    from guanxi.segments.models import Segment
    from guanxi.segments.services import member_query

    pg = connection.vendor == "postgresql"
    plans = []
    by_id = Segment.objects.in_bulk(ids)
    for pk in ids:
        segment = by_id[pk]
        sql, params = member_query(segment).order_by().values("id").query.sql_with_params()
        with connection.cursor() as cur:
            printable = cur.mogrify(sql, params) if pg else _sqlite_literal(sql, params)
            t = time.perf_counter()
            if pg:
                with transaction.atomic():
                    cur.execute("SET LOCAL statement_timeout = '120s'")
                    try:
                        cur.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
                    except Exception as e:  # noqa: BLE001 - too slow to analyse: the plan alone
                        transaction.set_rollback(True)
                        plan = [f"EXPLAIN ANALYZE stopped: {type(e).__name__}: {e}"]
                    else:
                        plan = [row[0] for row in cur.fetchall()]
                if plan[0].startswith("EXPLAIN ANALYZE stopped"):
                    cur.execute(f"EXPLAIN {sql}", params)
                    plan += [row[0] for row in cur.fetchall()]
            else:
                cur.execute(f"EXPLAIN QUERY PLAN {sql}", params)
                plan = [f"{row[0]}|{row[1]}| {row[3]}" for row in cur.fetchall()]
            plans.append({"segment_id": pk, "name": segment.name, "definition": segment.definition,
                          "sql": printable, "plan": plan,
                          "explain_seconds": round(time.perf_counter() - t, 2)})  # fmt: skip
    return {"plans": plans}


def _sqlite_literal(sql: str, params) -> str:
    def lit(v):
        if v is None:
            return "NULL"
        if isinstance(v, (int, float)):
            return str(v)
        return "'" + str(v).replace("'", "''") + "'"

    parts = sql.split("%s")
    return "".join(p + (lit(params[i]) if i < len(params) else "") for i, p in enumerate(parts))


def _stats(values_ms: list[float]) -> dict:
    xs = sorted(values_ms)
    p95 = xs[min(len(xs) - 1, max(0, int(round(0.95 * len(xs))) - 1))]
    return {"n": len(xs), "median_ms": round(statistics.median(xs), 2), "p95_ms": round(p95, 2),
            "max_ms": round(xs[-1], 2), "min_ms": round(xs[0], 2)}  # fmt: skip


def _orders(*, n: int, warmup: int) -> dict:
    """`order_create` end to end for existing buyers (the customer read first, as the API
    does), then, for the same customer, `customer_reevaluate(changed={"orders"})` alone and
    the whole after-order hook (`segments.services.changes.customer_changed`: lifecycle,
    tier, memberships) alone, where it exists. The queries `order_create` runs say whether
    it calls the hook itself (then its own figure includes the membership update)."""
    import random

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from guanxi.customers.models import Customer
    from guanxi.orders.services import order_create
    from guanxi.segments.services import customer_reevaluate

    try:
        from guanxi.segments.services.changes import customer_changed
    except ImportError:
        customer_changed = None
    admin = _admin()
    ids = list(
        Customer.objects.filter(stage__in=["active", "new", "at_risk", "churned"])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    chosen = random.Random(20261201).sample(ids, warmup + n)
    skus = ["TEA-001", "TEA-004", "FOO-001", "ELE-003", "APP-002", "STA-001"]
    stamp = int(time.time())
    create_ms, reeval_ms, hook_ms, queries, seg_queries, changed = [], [], [], [], [], 0
    for i, cid in enumerate(chosen):
        customer = Customer.objects.get(pk=cid)
        data = {"number": f"SEGB-{stamp}-{i}", "channel": "online",
                "lines": [{"sku": skus[i % len(skus)], "quantity": 1 + i % 3},
                          {"sku": skus[(i + 2) % len(skus)], "quantity": 1}]}  # fmt: skip
        with CaptureQueriesContext(connection) as captured:
            t0 = time.perf_counter()
            order_create(actor=admin, customer=customer, data=data)
            t1 = time.perf_counter()
        moved = customer_reevaluate(customer_id=cid, changed={"orders"})
        t2 = time.perf_counter()
        if customer_changed is not None:
            customer_changed(customer_id=cid, changed={"orders"})
        t3 = time.perf_counter()
        if i < warmup:
            continue
        create_ms.append((t1 - t0) * 1000)
        reeval_ms.append((t2 - t1) * 1000)
        hook_ms.append((t3 - t2) * 1000)
        queries.append(len(captured.captured_queries))
        seg_queries.append(sum("segments_" in q["sql"] for q in captured.captured_queries))
        changed += len(moved["entered"]) + len(moved["left"])
    with CaptureQueriesContext(connection) as captured:
        customer_reevaluate(customer_id=chosen[-1], changed={"orders"})
    out = {
        "order_create": _stats(create_ms),
        "reevaluate": _stats(reeval_ms),
        "hook": _stats(hook_ms) if customer_changed is not None else None,
        "queries_in_order_create": statistics.median(queries),
        "segment_queries_in_order_create": max(seg_queries),
        "memberships_changed_by_reevaluate": changed,
        "reevaluate_queries": [
            {"sql": q["sql"], "seconds": q["time"]} for q in captured.captured_queries
        ],
    }
    if not out["segment_queries_in_order_create"]:  # no hook yet: what it would add
        out["order_create_plus_reevaluate"] = _stats(
            [a + b for a, b in zip(create_ms, reeval_ms, strict=True)]
        )
    return out


def _preview(*, names: list[str], repeat: int) -> dict:
    from django.db import DatabaseError, connection

    from guanxi.segments.models import Segment
    from guanxi.segments.selectors import definition_preview

    admin = _admin()
    ids = dict(Segment.objects.values_list("name", "pk"))
    definitions = dict(SEGMENTS)
    out = []
    for name in names:
        times, count, error = [], None, None
        for _ in range(repeat):
            t = time.perf_counter()
            try:
                answer = definition_preview(
                    actor=admin, definition=_resolve(definitions[name], ids)
                )
            except DatabaseError as e:
                connection.close()
                times.append((time.perf_counter() - t) * 1000)
                error = f"{type(e).__name__}: {str(e).strip()[:200]}"
                break  # once is enough to know
            times.append((time.perf_counter() - t) * 1000)
            count = answer["count"]
        row = {
            "name": name,
            "count": count,
            "first_ms": round(times[0], 1),
            "median_ms": round(statistics.median(times), 1),
            "max_ms": round(max(times), 1),
        }
        out.append({**row, "error": error} if error else row)  # fmt: skip
    medians = [x["median_ms"] for x in out]
    return {
        "definitions": out,
        "median_ms": round(statistics.median(medians), 1),
        "max_ms": round(max(x["max_ms"] for x in out), 1),
        "failed": sum("error" in x for x in out),
    }


if __name__ == "__main__":
    main()
