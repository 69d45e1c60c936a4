"""Decisions on record pairs: within one set, between two, or a batch against prepared
customers.

`Matcher` puts features, blocking, comparisons and the model together:

    matcher = Matcher.default()                    # parameters trained on generated data
    matcher = Matcher().fit(records)               # or trained by EM on the records at hand
    pairs = matcher.find_duplicates(records)       # ScoredPair for every pair ≥ matcher.low
    groups = clusters(pairs, matcher.high)         # lists of record indices (clusters.py)

A pair at or above `high` is the same customer (merge / update automatically), between `low`
and `high` it goes to a person for review, below `low` the records are different customers.
"""

import gc
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps

import numpy as np

from .blocking import (
    MAX_BLOCK,
    KeyIndex,
    blocking_keys,
    candidate_pairs,
    candidate_pairs_between,
    random_pairs,
    random_pairs_between,
)
from .comparisons import compare_pairs
from .features import Features, features
from .model import Model, weight_to_probability
from .table import FeatureTable

SAME = "same"
REVIEW = "review"
DIFFERENT = "different"


class ScoredPair:
    """Two records (indices into the lists given), their match probability and weight."""

    __slots__ = ("left", "right", "probability", "weight", "levels", "decision", "_model", "_tf")

    def __init__(self, left, right, probability, weight, levels, decision, model, tf=None):
        self.left = left
        self.right = right
        self.probability = probability
        self.weight = weight
        self.levels = levels
        self.decision = decision
        self._model = model
        self._tf = tf

    @property
    def explanation(self):
        """[(field, level label, weight)…] for a review screen, strongest evidence first."""
        return self._model.explain(self.levels, self._tf)

    def __iter__(self):  # so that `i, j, p = pair` works
        return iter((self.left, self.right, self.probability))

    def __repr__(self):
        return (
            f"ScoredPair({self.left}, {self.right}, p={self.probability:.4f}, "
            f"w={self.weight:+.1f}, {self.decision})"
        )


@dataclass
class PairScores:
    """Every candidate pair of a run, as arrays (for bulk work and benchmarks)."""

    pairs: np.ndarray  # (n × 2) record indices
    levels: np.ndarray  # (n × comparisons) level indices
    weights: np.ndarray
    probabilities: np.ndarray
    name_frequencies: np.ndarray  # estimated share of people with the pair's name (0: unused)

    def __len__(self):
        return len(self.pairs)


def _as_features(records) -> list[Features]:
    return [r if isinstance(r, Features) else features(r) for r in records]


@contextmanager
def bulk():
    """Pause the cyclic garbage collector while building many small objects.

    Features and tables hold no reference cycles, but creating millions of tuples makes
    Python walk every live object again and again; pausing it halves the cost of features()
    over a large file. The previous state is restored on exit.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _in_bulk(method):
    @wraps(method)
    def wrapper(*args, **kwargs):
        with bulk():
            return method(*args, **kwargs)

    return wrapper


class Reference:
    """Records to match batches against (the existing customers), prepared once: their
    features as a table, their blocking keys indexed, their name parts counted.

    `ids` (optional) are what `link_batch` reports for these records instead of positions.
    Build with `Matcher.reference`.
    """

    def __init__(self, rows: list[Features], ids: Sequence | None = None):
        self.table = FeatureTable(rows)
        self.index = KeyIndex([blocking_keys(f) for f in rows])
        self.part_frequencies = self.table.part_frequencies()
        self.ids = list(ids) if ids is not None else None
        if self.ids is not None and len(self.ids) != len(rows):
            raise ValueError("one id per record")

    def __len__(self):
        return self.table.size


class Matcher:
    """A trained model with the two decision thresholds and the blocking cap."""

    def __init__(
        self,
        model: Model | None = None,
        *,
        high: float = 0.99,
        low: float = 0.5,
        max_block: int = MAX_BLOCK,
        name_part_frequencies: Mapping[str, float] | None = None,
    ):
        if not 0 < low <= high < 1:
            raise ValueError("thresholds must satisfy 0 < low ≤ high < 1")
        self.model = model or Model()
        self.high = high
        self.low = low
        self.max_block = max_block
        # Share of all customers with each name part ("zhang" → 0.07, "xiaoming" → 0.0002),
        # when the caller knows it better than the records at hand (the database behind an
        # import); otherwise counted in the records being matched.
        self.name_part_frequencies = name_part_frequencies

    @classmethod
    def default(cls, **options) -> "Matcher":
        """A matcher with the parameters committed in `default_params` (no training needed)."""
        from .default_params import load

        return cls(Model.from_dict(load()), **options)

    def decide(self, probability: float) -> str:
        if probability >= self.high:
            return SAME
        if probability >= self.low:
            return REVIEW
        return DIFFERENT

    # --- training ---------------------------------------------------------------------

    def fit(
        self,
        records: Sequence,
        other: Sequence | None = None,
        *,
        random_sample: int = 1_000_000,
        seed: int = 0,
        **em_options,
    ) -> "Matcher":
        """Train the model on these records (de-duplication) or on linking them to `other`.

        u from `random_sample` random pairs, m, the prior and the household parameters by
        EM on the candidate pairs; no labels needed.
        """
        self.fit_scores(records, other, random_sample=random_sample, seed=seed, **em_options)
        return self

    @_in_bulk
    def fit_scores(
        self,
        records: Sequence,
        other: Sequence | None = None,
        *,
        random_sample: int = 1_000_000,
        seed: int = 0,
        **em_options,
    ) -> PairScores:
        """Train on the records as `fit` does and return their candidate pairs scored, with
        features, blocking and comparisons computed once for both."""
        a = _as_features(records)
        if other is None:
            rows, offset = a, 0
            pairs = candidate_pairs(a, max_block=self.max_block)
            random = random_pairs(len(a), random_sample, seed=seed)
            total = len(a) * (len(a) - 1) / 2
        else:
            b = _as_features(other)
            # One table for both sets: B's rows follow A's.
            rows, offset = a + b, len(a)
            pairs = candidate_pairs_between(a, b, max_block=self.max_block)
            random = random_pairs_between(len(a), len(b), random_sample, seed=seed)
            total = float(len(a)) * len(b)
        table = FeatureTable(rows)
        levels = compare_pairs(table, pairs[:, 0], pairs[:, 1] + offset)
        self.model.fit(
            levels,
            compare_pairs(table, random[:, 0], random[:, 1] + offset),
            total_pairs=total,
            **em_options,
        )
        frequencies = self._name_frequencies(table, rows)[pairs[:, 0]]
        weights, probabilities = self.model.score(levels, {"name": frequencies})
        return PairScores(pairs, levels, weights, probabilities, frequencies)

    # --- scoring ----------------------------------------------------------------------

    def score_table(self, table: FeatureTable, pairs: np.ndarray, rows: list[Features]):
        """Levels, weights and probabilities of the given pairs of rows of `table`."""
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
        levels = compare_pairs(table, pairs[:, 0], pairs[:, 1])
        frequencies = self._name_frequencies(table, rows)[pairs[:, 0]]
        weights, probabilities = self.model.score(levels, {"name": frequencies})
        return PairScores(pairs, levels, weights, probabilities, frequencies)

    def _name_frequencies(self, table: FeatureTable, rows: list[Features]) -> np.ndarray:
        """Per row, the estimated share of people with its name, or 0 where unknown."""
        if not self.model.tf_adjustments:
            return np.zeros(len(rows))
        if self.name_part_frequencies is not None:
            return table.name_frequencies(dict(self.name_part_frequencies))
        if not self._counts_resolve_names(len(rows), seen=2):
            return np.zeros(len(rows))
        return table.name_frequencies()

    def _counts_resolve_names(self, n: int, *, seen: int) -> bool:
        """Whether name-part counts over n records can tell a rare name from a common one.

        A name whose two parts appear only `seen` times has estimated frequency
        (seen / n)²; unless that is below the share of random pairs that agree on a name,
        a small batch would call every name common, so its counts are not used.
        """
        j = self.model.index("name")
        u_agree = float(self.model.u[j][list(self.model.comparisons[j].tf_levels)].sum())
        return (seen / max(n, 1)) ** 2 < u_agree

    @_in_bulk
    def score_duplicates(self, records: Sequence) -> PairScores:
        """Every candidate pair within one set of records, scored."""
        rows = _as_features(records)
        table = FeatureTable(rows)
        return self.score_table(table, candidate_pairs(rows, max_block=self.max_block), rows)

    @_in_bulk
    def score_links(self, records_a: Sequence, records_b: Sequence) -> PairScores:
        """Every candidate pair (record of A, record of B), scored; pairs index A and B."""
        a, b = _as_features(records_a), _as_features(records_b)
        rows = a + b
        pairs = candidate_pairs_between(a, b, max_block=self.max_block)
        scores = self.score_table(FeatureTable(rows), pairs + np.array([0, len(a)]), rows)
        scores.pairs = pairs
        return scores

    @_in_bulk
    def reference(self, records: Sequence, ids: Sequence | None = None) -> Reference:
        """Prepare records (the existing customers) for `score_batch` / `link_batch`."""
        return Reference(_as_features(records), ids)

    @_in_bulk
    def score_batch(self, records: Sequence, reference: Reference) -> PairScores:
        """Every candidate pair (record of the batch, record of the reference), scored.

        Only the batch's features are computed; the reference's rows that the batch's keys
        find are taken from its table. Name frequencies are the reference's (or the
        matcher's `name_part_frequencies`).
        """
        rows = _as_features(records)
        pairs = reference.index.lookup([blocking_keys(f) for f in rows], max_block=self.max_block)
        found = np.unique(pairs[:, 1])
        table = FeatureTable.concat([FeatureTable(rows), reference.table.take(found)])
        right = len(rows) + np.searchsorted(found, pairs[:, 1])
        levels = compare_pairs(table, pairs[:, 0], right)
        frequencies = np.zeros(len(pairs))
        if self.model.tf_adjustments and (
            self.name_part_frequencies is not None
            or self._counts_resolve_names(len(reference), seen=1)
        ):
            known = self.name_part_frequencies or reference.part_frequencies
            frequencies = table.name_frequencies(dict(known))[pairs[:, 0]]
        weights, probabilities = self.model.score(levels, {"name": frequencies})
        return PairScores(pairs, levels, weights, probabilities, frequencies)

    def link_batch(self, records: Sequence, reference: Reference, *, minimum: float | None = None):
        """Scored pairs (index in the batch, reference record or its id) that may be the same
        customer (probability ≥ `low`): an import chunk against the existing customers."""
        scores = self.score_batch(records, reference)
        found = self._scored_pairs(scores, self.low if minimum is None else minimum)
        if reference.ids is not None:
            for pair in found:
                pair.right = reference.ids[pair.right]
        return found

    def _scored_pairs(self, scores: PairScores, minimum: float) -> list[ScoredPair]:
        keep = np.flatnonzero(scores.probabilities >= minimum)
        keep = keep[np.argsort(-scores.weights[keep], kind="stable")]
        return [
            ScoredPair(
                int(scores.pairs[k, 0]),
                int(scores.pairs[k, 1]),
                float(scores.probabilities[k]),
                float(scores.weights[k]),
                tuple(int(x) for x in scores.levels[k]),
                self.decide(float(scores.probabilities[k])),
                self.model,
                {"name": float(scores.name_frequencies[k])},
            )
            for k in keep
        ]

    def find_duplicates(self, records: Sequence, *, minimum: float | None = None):
        """Scored pairs of records that may be the same customer (probability ≥ `low`)."""
        scores = self.score_duplicates(records)
        return self._scored_pairs(scores, self.low if minimum is None else minimum)

    def link(self, records_a: Sequence, records_b: Sequence, *, minimum: float | None = None):
        """Scored pairs (index in A, index in B) that may be the same customer (≥ `low`)."""
        scores = self.score_links(records_a, records_b)
        return self._scored_pairs(scores, self.low if minimum is None else minimum)

    def score(self, a, b) -> ScoredPair:
        """Score two records, whether or not they share a blocking key."""
        rows = _as_features([a, b])
        scores = self.score_table(FeatureTable(rows), np.array([[0, 1]]), rows)
        return self._scored_pairs(scores, 0.0)[0]


__all__ = [
    "DIFFERENT",
    "REVIEW",
    "SAME",
    "Matcher",
    "PairScores",
    "Reference",
    "ScoredPair",
    "weight_to_probability",
]
