"""How long a full customer-value refresh takes, and how its model fits compare with `lifetimes`.

    python benchmarks/value_speed.py --db sqlite   [--customers 1000000] [--orders 10000000]
    python benchmarks/value_speed.py --db postgres [--skip-load]

Loads `guanxi demo --customers N --orders M --mode bulk` into an empty database (SQLite in
GUANXI_DATA_DIR, default /tmp/gx-value-bench; PostgreSQL's guanxi_value_bench), then in a
fresh process:

1. `guanxi analytics refresh` — RFM for everyone, the purchase model (MBG/NBD, the default)
   and Gamma-Gamma fits, per-customer predictions, written back — timed end to end, with the
   peak memory of the process and its forked readers;
2. the value dashboard (`/admin/analytics/valuerefresh/value/`) rendered for an admin, timed
   over five requests (median);
3. the fits compared with `lifetimes` (BetaGeoFitter, ModifiedBetaGeoFitter,
   GammaGammaFitter) on the same summary data read back from the database: time of each
   fit, and the largest relative difference of the parameters.

Writes benchmarks/results/value-<db>-<customers>.json. Nothing is asserted.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.benchdb import bench_env, empty_database  # noqa: E402

PY = str(ROOT / ".venv" / "bin" / "python")
RESULTS = ROOT / "benchmarks" / "results"


def run(env, *args, timed=False) -> tuple[str, float, int]:
    """Run `guanxi …`; (stdout, seconds, peak kB of it and its children)."""
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", PY, "-m", "guanxi.cli", *args],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"guanxi {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    peak = int(done.stderr.strip().splitlines()[-1])
    return done.stdout, seconds, peak


CLEAR = """
from guanxi.analytics.models import CustomerValue, CustomerValueChange, ValueFigure
for model in (ValueFigure, CustomerValueChange, CustomerValue):
    model.objects.all()._raw_delete(model.objects.db)
"""
TIMINGS = """
import json
from guanxi.analytics.selectors import latest_refresh
print(json.dumps(latest_refresh().timings))
"""

MEASURE = r"""
import json, statistics, time
import numpy as np
from django.test import Client
from guanxi.accounts.models import User
from guanxi.analytics import lifetime, summary
from guanxi.analytics.models import AnalyticsSettings
from guanxi.analytics.selectors import latest_refresh

refresh = latest_refresh()
admin = User.objects.filter(role="admin").order_by("pk").first()
client = Client()
client.force_login(admin)
times = []
for _ in range(6):
    t = time.perf_counter()
    r = client.get("/admin/analytics/valuerefresh/value/", HTTP_ACCEPT_LANGUAGE="zh-hans",
                   HTTP_HOST="127.0.0.1")
    assert r.status_code == 200, r.status_code
    times.append(time.perf_counter() - t)
dashboard = {"median_seconds": statistics.median(times[1:]), "first_seconds": times[0]}

s = summary.read(as_of=refresh.as_of, churn_days=AnalyticsSettings.current().churn_days)
x = (s.days - 1).astype(float)
t_x = (s.last_day - s.first_day) / 7.0
T = (s.as_of_day - s.first_day) / 7.0
zbar = np.where(x > 0, (s.revenue - s.first_revenue) / np.maximum(x, 1), 0.0)
out = {"refresh": {"id": refresh.pk, "timings": refresh.timings, "buyers": refresh.buyers,
                   "params": refresh.purchase_params, "spend": refresh.spend_params},
       "dashboard": dashboard, "fits": {}}

def timed(f):
    t = time.perf_counter(); r = f(); return r, time.perf_counter() - t

def rel(a, b):
    return max(abs(a[k] - b[k]) / abs(b[k]) for k in b)

import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter
# lifetimes refuses recency > T; ours are exact day counts, so none is.
for kind, Fitter in (("bgnbd", BetaGeoFitter), ("mbgnbd", ModifiedBetaGeoFitter)):
    ours, ours_s = timed(lambda: lifetime.fit_purchases(x, t_x, T, kind=kind))
    fit = {"guanxi_seconds": ours_s, "guanxi": ours.params(),
           "guanxi_log_likelihood": ours.log_likelihood}
    try:
        theirs, theirs_s = timed(lambda: Fitter().fit(pd.Series(x), pd.Series(t_x), pd.Series(T)))
    except Exception as e:  # lifetimes' ConvergenceError: recorded, not hidden
        fit["lifetimes_error"] = f"{type(e).__name__}: {str(e).strip()[:200]}"
    else:
        p = {k: float(theirs.params_[k]) for k in ("r", "alpha", "a", "b")}
        fit.update({"lifetimes_seconds": theirs_s, "speedup": theirs_s / ours_s, "lifetimes": p,
                    "max_relative_difference": rel(ours.params(), p)})
    out["fits"][kind] = fit
rep = (x > 0) & (zbar > 0)
ours, ours_s = timed(lambda: lifetime.fit_spend(x[rep], zbar[rep]))
theirs, theirs_s = timed(lambda: GammaGammaFitter().fit(pd.Series(x[rep]), pd.Series(zbar[rep])))
p = {"p": float(theirs.params_["p"]), "q": float(theirs.params_["q"]),
     "gamma": float(theirs.params_["v"])}
out["fits"]["gamma_gamma"] = {"guanxi_seconds": ours_s, "lifetimes_seconds": theirs_s,
                              "speedup": theirs_s / ours_s, "guanxi": ours.params(),
                              "lifetimes": p, "max_relative_difference": rel(ours.params(), p)}
print("RESULT " + json.dumps(out, default=str))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--skip-load", action="store_true", help="measure the data already there")
    args = parser.parse_args()
    env = bench_env(args.db, data_dir="/tmp/gx-value-bench", pg_name="guanxi_value_bench")
    load = None
    if not args.skip_load:
        empty_database(env, args.db)
        run(env, "manage", "migrate", "-v", "0")
        _out, seconds, _peak = run(env, "demo", "--customers", str(args.customers), "--orders",
                                   str(args.orders), "--mode", "bulk")  # fmt: skip
        load = round(seconds, 1)
        print(f"demo data loaded in {load} s", flush=True)
    # The first refresh writes a history row for every buyer; later ones (nightly) only for
    # the buyers whose scores moved. Both are measured, from a value table emptied first.
    run(env, "manage", "shell", "-c", CLEAR)
    out, first_seconds, first_peak = run(env, "analytics", "refresh")
    print(out, flush=True)
    print(f"first refresh: {first_seconds:.1f} s wall (process start included), "
          f"peak {first_peak / 1024:.0f} MB", flush=True)  # fmt: skip
    first = json.loads(run(env, "manage", "shell", "-c", TIMINGS)[0].splitlines()[-1])
    out, seconds, peak = run(env, "analytics", "refresh")
    print(f"next refresh: {seconds:.1f} s wall (process start included), peak {peak / 1024:.0f} MB",
          flush=True)  # fmt: skip
    measured, _s, _p = run(env, "manage", "shell", "-c", MEASURE)
    result = json.loads(
        next(line for line in measured.splitlines() if line.startswith("RESULT "))[7:]
    )
    result.update(
        {
            "db": args.db,
            "customers": args.customers,
            "orders": args.orders,
            "demo_load_seconds": load,
            "first_refresh_wall_seconds": round(first_seconds, 2),
            "first_refresh_peak_mb": round(first_peak / 1024),
            "first_refresh_timings": first,
            "refresh_wall_seconds": round(seconds, 2),
            "refresh_peak_mb": round(peak / 1024),
            "cores": os.cpu_count(),
        }
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"value-{args.db}-{args.customers}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    keys = ("first_refresh_wall_seconds", "first_refresh_peak_mb", "refresh_wall_seconds",
            "refresh_peak_mb")  # fmt: skip
    print(json.dumps({k: result[k] for k in keys}))
    print(f"first refresh timings: {first}")
    print(f"refresh timings: {result['refresh']['timings']}")
    print(f"dashboard: {result['dashboard']}")
    for name, fit in result["fits"].items():
        if "lifetimes_error" in fit:
            print(
                f"{name}: guanxi {fit['guanxi_seconds']:.3f} s; lifetimes: {fit['lifetimes_error']}"
            )
            continue
        print(
            f"{name}: guanxi {fit['guanxi_seconds']:.3f} s, "
            f"lifetimes {fit['lifetimes_seconds']:.2f} s ({fit['speedup']:.0f}×), "
            f"max relative difference {fit['max_relative_difference']:.2e}"
        )
    print(f"written to {path}")


if __name__ == "__main__":
    main()
