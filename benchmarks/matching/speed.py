"""What matching costs per record and per candidate pair, on a generated file of n records.

Stages, each timed on its own (wall clock, this process; rapidfuzz may use both cores for
large batches of string comparisons):

- features(): every record once, with cold caches (the first time each name, company and
  street is seen), then again with warm caches;
- blocking_keys(): every record;
- FeatureTable: the columns the comparisons read;
- candidate_pairs(): de-duplication of the whole file, and as an import does it, a file
  chunk of 20,000 new records looked up against the n existing ones
  (candidate_pairs_between);
- scoring: compare_pairs() + Model.score() of the default model, per candidate pair.
"""

import time

from .chinese_data import generate


def _timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def measure(n: int = 1_000_000, *, seed: int = 11, chunk: int = 20_000) -> dict:
    from guanxi.imports.matching import (
        FeatureTable,
        Matcher,
        blocking_keys,
        candidate_pairs,
        candidate_pairs_between,
        compare_pairs,
        features,
    )

    records, _entities = generate(n, seed=seed)
    matcher = Matcher.default()
    rows, t_features_cold = _timed(lambda: [features(r) for r in records])
    _again, t_features_warm = _timed(lambda: [features(r) for r in records])
    del _again
    keys, t_keys = _timed(lambda: [blocking_keys(f) for f in rows])
    table, t_table = _timed(lambda: FeatureTable(rows))
    pairs, t_pairs = _timed(lambda: candidate_pairs(keys, max_block=matcher.max_block))
    levels, t_compare = _timed(lambda: compare_pairs(table, pairs[:, 0], pairs[:, 1]))
    frequencies = table.name_frequencies()[pairs[:, 0]]
    _scores, t_score = _timed(lambda: matcher.model.score(levels, {"name": frequencies}))
    # An import: a chunk of new rows against the existing customers' keys.
    new_records, _ = generate(chunk, seed=seed + 1)
    new_rows = [features(r) for r in new_records]
    new_keys = [blocking_keys(f) for f in new_rows]
    chunk_pairs, t_chunk_pairs = _timed(
        lambda: candidate_pairs_between(new_keys, keys, max_block=matcher.max_block)
    )
    per_record = t_features_cold + t_keys + t_table
    per_pair = (t_compare + t_score) / max(len(pairs), 1)
    keys_per_record = sum(map(len, keys)) / n
    return {
        "records": n,
        "features_us_per_record_cold": t_features_cold / n * 1e6,
        "features_us_per_record_warm": t_features_warm / n * 1e6,
        "blocking_keys_us_per_record": t_keys / n * 1e6,
        "feature_table_us_per_record": t_table / n * 1e6,
        "keys_per_record": keys_per_record,
        "dedup_candidate_pairs": int(len(pairs)),
        "dedup_candidate_pairs_per_record": len(pairs) / n,
        "dedup_candidate_pairs_seconds": t_pairs,
        "scoring_us_per_pair": per_pair * 1e6,
        "compare_seconds": t_compare,
        "score_seconds": t_score,
        "import_chunk_records": chunk,
        "import_chunk_candidate_pairs": int(len(chunk_pairs)),
        "import_chunk_pairs_per_record": len(chunk_pairs) / chunk,
        "import_chunk_lookup_seconds": t_chunk_pairs,
        "dedup_us_per_record_overall": (per_record + t_pairs + t_compare + t_score) / n * 1e6,
        "import_us_per_record_estimate": (
            per_record / n + len(chunk_pairs) / chunk * per_pair + t_chunk_pairs / chunk
        )
        * 1e6,
    }
