"""What a comparison is: levels from "not given" through "exact" and similarity bands to
"different", as in Splink, and the helpers that put many pairs on them at once.

Level 0 is always "not given on one side" (weight 0); the last level is always
"different". A comparison computes the levels of the pairs (a[k], b[k]) of a `FeatureTable`
one column at a time: exact levels are integer comparisons in numpy, similarity levels are
computed by rapidfuzz for the pairs still open.
"""

from typing import NamedTuple

import numpy as np
from rapidfuzz.process import cpdist

from .table import FeatureTable

# Similarity bands (Splink's customary Jaro-Winkler thresholds; token-set ratio in percent).
JW_HIGH = 0.92
JW_LOW = 0.85
JW_PLACE = 0.9
STREET_HIGH = 90
STREET_LOW = 75
# Threads rapidfuzz may use for a batch of pairs (-1: all cores; it releases the GIL).
WORKERS = -1


class Level(NamedTuple):
    key: str
    label: str


class Comparison:
    """One field's comparison: its levels and how a pair is put on one of them."""

    key: str = ""
    label: str = ""
    levels: tuple[Level, ...] = ()
    # Levels whose weight is adjusted by how common the shared value is (see Model).
    tf_levels: tuple[int, ...] = ()
    tf_column: str = ""

    def compute(self, t: FeatureTable, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @property
    def else_level(self) -> int:
        return len(self.levels) - 1

    def __repr__(self):
        return f"<Comparison {self.key}>"


class LevelAssigner:
    """Assigns levels strongest first: each pair keeps the first level it reaches."""

    def __init__(self, n: int, else_level: int, missing: np.ndarray):
        self.out = np.full(n, else_level, dtype=np.int8)
        self.out[missing] = 0
        self.open = ~missing

    def set(self, level: int, condition: np.ndarray):
        hit = self.open & condition
        self.out[hit] = level
        self.open &= ~hit

    def open_indices(self) -> np.ndarray:
        return np.flatnonzero(self.open)

    def set_at(self, level: int, indices: np.ndarray, condition: np.ndarray):
        hit = indices[condition & self.open[indices]]
        self.out[hit] = level
        self.open[hit] = False


def similarity(texts: np.ndarray, a: np.ndarray, b: np.ndarray, scorer, **kwargs) -> np.ndarray:
    return pair_similarity(texts, texts, a, b, scorer, **kwargs)


def pair_similarity(texts_a, texts_b, a, b, scorer, **kwargs) -> np.ndarray:
    if not len(a):
        return np.zeros(0, dtype=np.float32)
    workers = WORKERS if len(a) > 20_000 else 1
    return cpdist(texts_a[a], texts_b[b], scorer=scorer, workers=workers, **kwargs).reshape(-1)


def exact(column: np.ndarray, a: np.ndarray, b: np.ndarray):
    """(missing on either side, equal) for a column of string hashes (0: not given)."""
    ca, cb = column[a], column[b]
    return (ca == 0) | (cb == 0), ca == cb
