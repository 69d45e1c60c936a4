"""What matching costs per record and per candidate pair, on a generated file of n records.

Stages, each timed on its own (wall clock and CPU time of this process; rapidfuzz uses
both cores for large batches of string comparisons), with the garbage collector paused as
the Matcher's bulk methods pause it (`matching.matcher.bulk`):

- features(): every record once, with cold caches (each name, company and street seen for
  the first time), then again (warm, as far as the caches hold);
- blocking_keys(): every record;
- FeatureTable: the columns the comparisons read;
- de-duplication of the whole file: candidate_pairs(), then compare_pairs() +
  Model.score() with the default model, per candidate pair;
- an import: a chunk of new records scored against the n existing records with
  Matcher.score_batch (features, keys, lookup in the existing records' KeyIndex, scoring),
  the existing records prepared once with Matcher.reference (as the importer keeps their
  keys in an indexed table).
"""

import time

from .chinese_data import generate


class _Timer:
    def __init__(self):
        self.wall = {}
        self.cpu = {}

    def __call__(self, label, fn):
        wall, cpu = time.perf_counter(), time.process_time()
        value = fn()
        self.wall[label] = time.perf_counter() - wall
        self.cpu[label] = time.process_time() - cpu
        return value


def measure(n: int = 1_000_000, *, seed: int = 11, chunk: int = 20_000) -> dict:
    from guanxi.imports.matching import (
        FeatureTable,
        KeyIndex,
        Matcher,
        blocking_keys,
        candidate_pairs,
        compare_pairs,
        features,
    )
    from guanxi.imports.matching.matcher import bulk

    records, _entities = generate(n, seed=seed)
    new_records, _ = generate(chunk, seed=seed + 1)
    matcher = Matcher.default()
    timer = _Timer()
    with bulk():
        rows = timer("features_cold", lambda: [features(r) for r in records])
        timer("features_warm", lambda: [features(r) for r in records])
        keys = timer("blocking_keys", lambda: [blocking_keys(f) for f in rows])
        table = timer("feature_table", lambda: FeatureTable(rows))
        pairs = timer(
            "dedup_candidates", lambda: candidate_pairs(keys, max_block=matcher.max_block)
        )
        levels = timer("dedup_compare", lambda: compare_pairs(table, pairs[:, 0], pairs[:, 1]))
        frequencies = table.name_frequencies()[pairs[:, 0]]
        timer("dedup_score", lambda: matcher.model.score(levels, {"name": frequencies}))
        timer("index_build", lambda: KeyIndex(keys))
        reference = timer("reference_build", lambda: matcher.reference(rows))
        found = timer("chunk_score", lambda: matcher.score_batch(new_records, reference))
        # The cap is the importer's lever on cost: the same chunk with blocks of at most 10.
        tight = Matcher.default(max_block=10)
        found_tight = timer("chunk_score_cap10", lambda: tight.score_batch(new_records, reference))
    wall, cpu = timer.wall, timer.cpu
    per_pair = (wall["dedup_compare"] + wall["dedup_score"]) / max(len(pairs), 1)
    chunk_total = wall["chunk_score"]

    def us(label, per):
        return round(wall[label] / per * 1e6, 2)

    return {
        "records": n,
        "features_us_per_record_cold": us("features_cold", n),
        "features_us_per_record_warm": us("features_warm", n),
        "features_cpu_us_per_record_cold": round(cpu["features_cold"] / n * 1e6, 2),
        "blocking_keys_us_per_record": us("blocking_keys", n),
        "keys_per_record": round(sum(map(len, keys)) / n, 2),
        "feature_table_us_per_record": us("feature_table", n),
        "dedup_candidate_pairs": int(len(pairs)),
        "dedup_candidate_pairs_per_record": round(len(pairs) / n, 2),
        "dedup_candidates_us_per_record": us("dedup_candidates", n),
        "scoring_us_per_pair": round(per_pair * 1e6, 3),
        "scoring_cpu_us_per_pair": round(
            (cpu["dedup_compare"] + cpu["dedup_score"]) / max(len(pairs), 1) * 1e6, 3
        ),
        "dedup_us_per_record_overall": round(
            sum(
                wall[k]
                for k in (
                    "features_cold",
                    "blocking_keys",
                    "feature_table",
                    "dedup_candidates",
                    "dedup_compare",
                    "dedup_score",
                )
            )
            / n
            * 1e6,
            2,
        ),
        "index_build_us_per_existing_record": us("index_build", n),
        "reference_build_us_per_existing_record": us("reference_build", n),
        "import_chunk_records": chunk,
        "import_chunk_pairs_per_record": round(len(found) / chunk, 2),
        "import_chunk_us_per_record": round(chunk_total / chunk * 1e6, 2),
        "import_chunk_cap10_pairs_per_record": round(len(found_tight) / chunk, 2),
        "import_chunk_cap10_us_per_record": us("chunk_score_cap10", chunk),
    }
