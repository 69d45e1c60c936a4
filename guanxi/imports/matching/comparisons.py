"""Comparisons: each maps a pair of records to a level, from "not given" through "exact" and
similarity bands to "different", as in Splink. Level 0 is always "not given on one side"
(weight 0); the last level is always "different".

`compare_pairs(table, a, b)` computes the pairs × comparisons matrix of level indices for the
record pairs (a[k], b[k]) of a `FeatureTable`, one column at a time: exact levels are integer
comparisons in numpy, similarity levels are computed by rapidfuzz for the pairs still open.
"""

import numpy as np

from .contacts import (
    AddressComparison,
    BirthdayComparison,
    EmailComparison,
    ExternalIdComparison,
    GenderComparison,
    IdNumberComparison,
    KindComparison,
    PhoneComparison,
)
from .levels import Comparison, Level
from .names import CompanyComparison, NameComparison
from .table import FeatureTable

COMPARISONS: tuple[Comparison, ...] = (
    NameComparison(),
    CompanyComparison(),
    PhoneComparison(),
    EmailComparison(),
    IdNumberComparison(),
    ExternalIdComparison(),
    BirthdayComparison(),
    GenderComparison(),
    AddressComparison(),
    KindComparison(),
)


def compare_pairs(
    table: FeatureTable,
    a: np.ndarray,
    b: np.ndarray,
    comparisons: tuple[Comparison, ...] = COMPARISONS,
) -> np.ndarray:
    """The (pairs × comparisons) matrix of level indices for rows a[k] and b[k] of `table`."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    levels = np.empty((len(a), len(comparisons)), dtype=np.int8)
    for j, comparison in enumerate(comparisons):
        levels[:, j] = comparison.compute(table, a, b)
    return levels


__all__ = ["COMPARISONS", "Comparison", "Level", "compare_pairs"]
