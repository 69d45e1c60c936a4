"""The Fellegi–Sunter model: m- and u-probabilities per comparison level and a prior.

For a record pair with levels γ, the match weight is

    log2(λ / (1 − λ)) + Σ_c log2(m_c[γ_c] / u_c[γ_c])  (+ term-frequency adjustment)

and the match probability is 2^w / (1 + 2^w). m_c[l] = P(level l | same customer),
u_c[l] = P(level l | different customers), λ = P(two records picked at random match).
Level 0 ("not given") has weight 0. Training is in `em.py`.

Households. Relatives share a phone or an address, and then often a surname, so among the
non-matching pairs that share a phone, names and addresses are not distributed as among
random pairs: with random-pair u-probabilities alone a shared phone would make every
household one customer. So the model has household contexts: a pair is in the phone
context if it shares a number, else in the address context if it shares the address.

- The u of the context level itself (same number; same address, number not shared) counts
  households too, so it is estimated by EM rather than from random pairs, where households
  are too rare to be seen.
- Within a context, a field relatives share (the name, the address in the phone context)
  has u_ctx[l] = s · u[l | shared levels] + (1 − s) · u[l]: the non-matches are relatives
  with probability s (estimated by EM), whose levels look like those of random pairs
  restricted to the shared levels (a name that is not entirely different; the same
  address), and strangers otherwise. A relative's birthday, gender or ID number is as
  unrelated as a stranger's, so those keep u.

m is the same everywhere: errors in a record do not depend on who else shares its phone.
"""

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from django.utils.translation import gettext_lazy as _

from .comparisons import COMPARISONS, Comparison

FORMAT_VERSION = 3
# (comparison, level) that puts a pair in a household context, first match wins.
HOUSEHOLD_CONTEXTS = (("phone", 1), ("address", 1))
# What relatives share, and the levels that sharing shows as: a surname (any name level but
# "different"), the address.
HOUSEHOLD_SHARED = {"name": "all_but_different", "address": (1,)}


class Explanation(NamedTuple):
    """One line of a pair's explanation: "phone: same number +8.1"."""

    field: str
    field_label: str
    level: str
    level_label: str
    weight: float

    def __str__(self):
        return f"{self.field_label}: {self.level_label} {self.weight:+.1f}"


def logit2(p: float) -> float:
    p = min(max(p, 1e-300), 1 - 1e-16)
    return math.log2(p / (1.0 - p))


def weight_to_probability(weight):
    """Match probability from a match weight (log2 odds); works on numpy arrays."""
    return 1.0 / (1.0 + np.exp2(-np.asarray(weight, dtype=np.float64)))


class Model:
    """Fellegi–Sunter parameters for a tuple of comparisons, with household contexts."""

    def __init__(
        self,
        comparisons: tuple[Comparison, ...] = COMPARISONS,
        *,
        m: Sequence[Sequence[float]] | None = None,
        u: Sequence[Sequence[float]] | None = None,
        prior: float = 1e-4,
        contexts: Sequence[tuple[str, int]] = HOUSEHOLD_CONTEXTS,
        shares: Sequence[dict[str, float]] | None = None,
        tf_adjustments: bool = True,
        observed: Sequence[Sequence[bool]] | None = None,
        metadata: dict | None = None,
    ):
        self.comparisons = tuple(comparisons)
        sizes = self.sizes
        self.m = [np.asarray(x, dtype=np.float64) for x in m] if m else initial_m(sizes)
        self.u = [np.asarray(x, dtype=np.float64) for x in u] if u else uniform(sizes)
        self.prior = float(prior)
        keys = [c.key for c in self.comparisons]
        self.contexts = tuple((key, int(level)) for key, level in contexts if key in keys)
        # Per context, the share of relatives among its non-matches, per shared field.
        self.shares = [dict(s) for s in shares] if shares else self.initial_shares()
        self.tf_adjustments = tf_adjustments
        # Levels seen neither among candidates nor among random pairs carry no evidence.
        self.observed = (
            [np.asarray(x, dtype=bool) for x in observed]
            if observed
            else [np.ones(s, dtype=bool) for s in sizes]
        )
        self.metadata = dict(metadata or {})
        self.history: list[dict] = []

    @property
    def sizes(self) -> list[int]:
        return [len(c.levels) for c in self.comparisons]

    def index(self, key: str) -> int:
        return next(j for j, c in enumerate(self.comparisons) if c.key == key)

    def initial_shares(self) -> list[dict[str, float]]:
        """Half relatives, half strangers, for each field a context does not already fix."""
        keys = {c.key for c in self.comparisons}
        out, fixed = [], set()
        for key, _level in self.contexts:
            fixed.add(key)
            out.append({k: 0.5 for k in HOUSEHOLD_SHARED if k in keys and k not in fixed})
        return out

    def shared_levels(self, key: str) -> np.ndarray:
        """Mask of the levels of comparison `key` that relatives show."""
        size = len(self.comparisons[self.index(key)].levels)
        spec = HOUSEHOLD_SHARED[key]
        mask = np.zeros(size, dtype=bool)
        if spec == "all_but_different":
            mask[1:-1] = True
        else:
            mask[list(spec)] = True
        return mask

    def related_u(self, key: str) -> np.ndarray:
        """u restricted to the shared levels: how two relatives compare."""
        j = self.index(key)
        q = np.where(self.shared_levels(key), self.u[j], 0.0)
        q[0] = 0.0
        total = q.sum()
        return q / total if total > 0 else q

    def context_u(self, k: int) -> list[np.ndarray]:
        """u-probabilities of the non-matching pairs of context k, per comparison."""
        out = [u.copy() for u in self.u]
        for key, share in self.shares[k].items():
            j = self.index(key)
            out[j] = share * self.related_u(key) + (1 - share) * self.u[j]
            out[j][0] = self.u[j][0]
        return out

    def context_of(self, levels: np.ndarray) -> np.ndarray:
        """Per pair, the index of its household context, or −1."""
        levels = np.asarray(levels).reshape(-1, len(self.comparisons))
        ctx = np.full(len(levels), -1, dtype=np.int64)
        for k, (key, level) in enumerate(self.contexts):
            ctx[(ctx < 0) & (levels[:, self.index(key)] == level)] = k
        return ctx

    # --- weights ----------------------------------------------------------------------

    def level_weights(self, u: Sequence[np.ndarray] | None = None) -> list[np.ndarray]:
        """log2(m / u) per comparison and level; 0 for "not given" and unobserved levels."""
        out = []
        for m, u_, seen in zip(self.m, u or self.u, self.observed, strict=True):
            w = np.log2(np.maximum(m, 1e-300) / np.maximum(u_, 1e-300))
            w[0] = 0.0
            w[~seen] = 0.0
            out.append(w)
        return out

    def prior_weight(self) -> float:
        return logit2(self.prior)

    def tf_weight(self, levels: np.ndarray, frequencies: dict[str, np.ndarray]) -> np.ndarray:
        """Term-frequency adjustment per pair: log2(u_agree / frequency of the shared value).

        A pair agreeing on a name that one person in a thousand has (张伟) gets less weight
        than one agreeing on a rare name; `frequencies[key]` holds, per pair, the estimated
        share of people with the shared value (0 when unknown: no adjustment).
        """
        levels = np.asarray(levels).reshape(-1, len(self.comparisons))
        adjust = np.zeros(len(levels))
        if not self.tf_adjustments:
            return adjust
        for j, c in enumerate(self.comparisons):
            freq = frequencies.get(c.key)
            if not c.tf_levels or freq is None:
                continue
            u_agree = float(self.u[j][list(c.tf_levels)].sum())
            freq = np.asarray(freq, dtype=np.float64)
            use = np.isin(levels[:, j], c.tf_levels) & (freq > 0)
            adjust[use] += np.log2(u_agree / freq[use])
        return adjust

    def comparison_weights(
        self, levels: np.ndarray, frequencies: dict[str, np.ndarray] | None = None
    ) -> np.ndarray:
        """The (pairs × comparisons) weights that, with the prior, add up to the match weight."""
        levels = np.asarray(levels, dtype=np.int64).reshape(-1, len(self.comparisons))
        weights = np.empty(levels.shape)
        for j, w in enumerate(self.level_weights()):
            weights[:, j] = w[levels[:, j]]
        ctx = self.context_of(levels)
        for k in range(len(self.contexts)):
            rows = np.flatnonzero(ctx == k)
            if not rows.size:
                continue
            context_weights = self.level_weights(self.context_u(k))
            for key in self.shares[k]:
                j = self.index(key)
                weights[rows, j] = context_weights[j][levels[rows, j]]
        if frequencies:
            tf = self.tf_weight(levels, frequencies)
            for j, c in enumerate(self.comparisons):
                if c.tf_levels and c.key in frequencies:
                    weights[:, j] += tf
        return weights

    def score(self, levels: np.ndarray, frequencies: dict[str, np.ndarray] | None = None):
        """(match weights, match probabilities) for a (pairs × comparisons) level matrix.

        The same sum as `comparison_weights`, without building the matrix: one table
        lookup per comparison, and for pairs in a household context the difference its
        shared fields make.
        """
        levels = np.asarray(levels).reshape(-1, len(self.comparisons))
        total = np.full(len(levels), self.prior_weight())
        weights = self.level_weights()
        for j, w in enumerate(weights):
            total += w[levels[:, j]]
        ctx = self.context_of(levels)
        for k in range(len(self.contexts)):
            rows = np.flatnonzero(ctx == k)
            if not rows.size:
                continue
            context_weights = self.level_weights(self.context_u(k))
            for key in self.shares[k]:
                j = self.index(key)
                total[rows] += (context_weights[j] - weights[j])[levels[rows, j]]
        if frequencies:
            total += self.tf_weight(levels, frequencies)
        return total, weight_to_probability(total)

    def explain(self, levels: Sequence[int], frequencies: dict[str, float] | None = None):
        """The weight of each comparison for one pair, strongest evidence first."""
        row = np.asarray([levels], dtype=np.int64)
        freq = {k: np.asarray([v], dtype=np.float64) for k, v in (frequencies or {}).items()}
        weights = self.comparison_weights(row, freq)[0]
        lines = []
        for j, c in enumerate(self.comparisons):
            level = int(row[0, j])
            if level == 0:
                continue
            lv = c.levels[level]
            lines.append(Explanation(c.key, c.label, lv.key, lv.label, round(float(weights[j]), 2)))
        lines.sort(key=lambda e: -abs(e.weight))
        return lines

    def prior_explanation(self) -> Explanation:
        return Explanation(
            "prior", _("prior"), "prior", _("two records picked at random"), self.prior_weight()
        )

    # --- training (see em.py) ---------------------------------------------------------

    def fit(self, candidate_levels, random_levels, *, total_pairs: float, **options) -> "Model":
        """u from random pairs, then m, λ and the household parameters by EM on the candidates."""
        from .em import estimate_m, estimate_u

        estimate_u(self, random_levels)
        estimate_m(self, candidate_levels, total_pairs=total_pairs, **options)
        return self

    # --- storage ----------------------------------------------------------------------

    def to_dict(self) -> dict:
        def floats(xs):
            return [float(x) for x in xs]

        return {
            "format": FORMAT_VERSION,
            "prior": self.prior,
            "tf_adjustments": self.tf_adjustments,
            "comparisons": [
                {
                    "key": c.key,
                    "levels": [lv.key for lv in c.levels],
                    "m": floats(m),
                    "u": floats(u),
                    "observed": [bool(x) for x in seen],
                }
                for c, m, u, seen in zip(
                    self.comparisons, self.m, self.u, self.observed, strict=True
                )
            ],
            "contexts": [
                {"comparison": key, "level": level, "shares": dict(self.shares[k])}
                for k, (key, level) in enumerate(self.contexts)
            ],
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: dict, comparisons: tuple[Comparison, ...] = COMPARISONS) -> "Model":
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(f"unknown model format {data.get('format')!r}")
        by_key = {c["key"]: c for c in data["comparisons"]}
        m, u, observed = [], [], []
        for c in comparisons:
            stored = by_key.get(c.key)
            if stored is None or stored["levels"] != [lv.key for lv in c.levels]:
                raise ValueError(f"the stored model does not fit the comparison {c.key!r}")
            m.append(stored["m"])
            u.append(stored["u"])
            observed.append(stored["observed"])
        contexts = data.get("contexts", [])
        return cls(
            comparisons,
            m=m,
            u=u,
            prior=data["prior"],
            contexts=[(ctx["comparison"], ctx["level"]) for ctx in contexts],
            shares=[ctx["shares"] for ctx in contexts],
            tf_adjustments=data.get("tf_adjustments", True),
            observed=observed,
            metadata=data.get("metadata"),
        )

    def __repr__(self):
        return f"<Model prior={self.prior:.3g} comparisons={[c.key for c in self.comparisons]}>"


def uniform(sizes):
    return [np.full(s, 1.0 / max(s - 1, 1)) for s in sizes]


def initial_m(sizes):
    """A neutral start for EM: each level half as likely for a match as the one above it."""
    out = []
    for s in sizes:
        m = np.zeros(s)
        m[1:] = 0.5 ** np.arange(s - 1)
        m[1:] /= m[1:].sum()
        out.append(m)
    return out
