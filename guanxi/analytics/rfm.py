"""RFM scores and segments, vectorised (pure: numpy arrays in, arrays out).

A score is the quantile of a customer's value among the active base, in `levels` steps:
the mid-rank of the value among the base's values (ties share a score, so two customers
with the same number of orders never get different F scores), times `levels`, rounded up.
Customers outside the base are scored against the base's values the same way.
"""

import numpy as np

from .choices import CHINESE_BY_HML, NAMED_GRID

LEVELS = 5


def quantile_scores(values, base, *, levels: int = LEVELS) -> np.ndarray:
    """Scores 1..levels of `values` by their mid-rank among `base` (higher value, higher score)."""
    values = np.asarray(values, dtype=float)
    base = np.sort(np.asarray(base, dtype=float))
    if base.size == 0:
        return np.zeros(values.shape, dtype=np.int8)
    lo = np.searchsorted(base, values, side="left")
    hi = np.searchsorted(base, values, side="right")
    share = (lo + hi) / (2.0 * base.size)  # the mid-rank as a share of the base, in [0, 1]
    return np.clip(np.ceil(share * levels), 1, levels).astype(np.int8)


def rfm_scores(recency_days, frequency, monetary, in_base) -> tuple[np.ndarray, ...]:
    """R, F and M scores; R is higher for fewer days since the last order."""
    recency_days = np.asarray(recency_days, dtype=float)
    frequency = np.asarray(frequency, dtype=float)
    monetary = np.asarray(monetary, dtype=float)
    in_base = np.asarray(in_base, dtype=bool)
    r = quantile_scores(-recency_days, -recency_days[in_base])
    f = quantile_scores(frequency, frequency[in_base])
    m = quantile_scores(monetary, monetary[in_base])
    return r, f, m


_CHINESE = np.array(
    [CHINESE_BY_HML[f"{r}{f}{m}"].value for r in "LH" for f in "LH" for m in "LH"], dtype=object
)
_NAMED = np.array([[s.value for s in row] for row in NAMED_GRID], dtype=object)


def chinese_segments(r, f, m, *, high: int) -> np.ndarray:
    """The eight-class model: each of R, F, M is high when its score is at least `high`."""
    r, f, m = (np.asarray(a) >= high for a in (r, f, m))
    return _CHINESE[r.astype(int) * 4 + f.astype(int) * 2 + m.astype(int)]


def named_segments(r, f) -> np.ndarray:
    """The named segments of the customary recency × frequency grid."""
    r = np.clip(np.asarray(r, dtype=int), 1, LEVELS)
    f = np.clip(np.asarray(f, dtype=int), 1, LEVELS)
    return _NAMED[r - 1, f - 1]
