"""The Fellegi–Sunter model: m- and u-probabilities per comparison level and a prior.

For a record pair with levels γ, the match weight is

    log2(λ / (1 − λ)) + Σ_c log2(m_c[γ_c] / u_c[γ_c])  (+ term-frequency adjustment)

and the match probability is 2^w / (1 + 2^w). m_c[l] = P(level l | same customer),
u_c[l] = P(level l | different customers), λ = P(two records picked at random match).
Level 0 ("not given") has weight 0.

Training follows Splink: u from record pairs drawn at random (nearly all non-matches), m
and λ by expectation–maximisation. EM runs over every record pair, but only the candidate
pairs from blocking are materialised: a pair sharing no blocking key agrees on nothing
that matters, so its match probability is ≈ 0 and it adds nothing to the m-step; it does
count in the denominator of λ (`total_pairs`).

Household contexts. Relatives share a phone or an address, and then often a surname, so
among the non-matching pairs that share a phone names and addresses are far from
distributed as among random pairs, and a shared phone would make every household look like
one customer. For pairs in a context (same phone; else same address) the model keeps a prior
λ_ctx = P(match | context), and for each field relatives share (name, phone, address) a
share s: the non-matching pairs of the context are relatives with probability s, whose
levels are distributed like those of random pairs restricted to the "shared" levels (names
that are not entirely different; the same phone; the same address), and strangers
otherwise:  u_ctx[l] = s · u[l | shared levels] + (1 − s) · u[l].  λ_ctx and the shares
are estimated by EM on the candidate pairs in the context; m and the other fields' u are
those of the whole model. Such a pair's weight is

    log2(λ / (1 − λ)) + [log2(λ_ctx / (1 − λ_ctx)) − log2(λ / (1 − λ))]
                      + Σ_{c ≠ context} log2(m_c[γ_c] / u_ctx,c[γ_c])

where the bracket is what the shared phone (or address) itself says, shown as its weight.
"""

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from django.utils.translation import gettext_lazy as _

from .comparisons import COMPARISONS, Comparison

FORMAT_VERSION = 2
# (comparison, levels) that put a pair in a household context, first match wins.
HOUSEHOLD_CONTEXTS = (("phone", (1,)), ("address", (1,)))
# What relatives share besides the context itself, and the levels that sharing shows as:
# a surname (any name level but "different"), the phone, the address. A relative's birthday,
# gender or ID number is as unrelated as a stranger's.
HOUSEHOLD_SHARED = {"name": "all_but_different", "phone": (1,), "address": (1,)}


class Explanation(NamedTuple):
    """One line of a pair's explanation: "phone: same number +8.1"."""

    field: str
    field_label: str
    level: str
    level_label: str
    weight: float

    def __str__(self):
        return f"{self.field_label}: {self.level_label} {self.weight:+.1f}"


def _logit2(p: float) -> float:
    p = min(max(p, 1e-300), 1 - 1e-16)
    return math.log2(p / (1.0 - p))


def weight_to_probability(weight):
    """Match probability from a match weight (log2 odds); works on numpy arrays."""
    return 1.0 / (1.0 + np.exp2(-np.asarray(weight, dtype=np.float64)))


def _pattern_counts(levels: np.ndarray, sizes: Sequence[int], weights=None):
    """Distinct rows of `levels` and how many pairs (or how much weight) each stands for."""
    levels = np.asarray(levels, dtype=np.int64).reshape(-1, len(sizes))
    if not len(levels):
        return levels, np.zeros(0)
    code = np.zeros(len(levels), dtype=np.int64)
    for j, size in enumerate(sizes):
        code = code * size + levels[:, j]
    _unique, first, inverse = np.unique(code, return_index=True, return_inverse=True)
    counts = np.bincount(inverse, weights=weights, minlength=len(first)).astype(np.float64)
    return levels[first], counts


def _distribution(patterns, mass, sizes, prior=None):
    """Per comparison, the share of `mass` at each level (level 0 excluded), smoothed.

    One pseudo-pair, spread evenly over the levels (or like `prior`), keeps every
    probability above zero, so a level never seen among matches gets a large negative
    weight rather than −∞, and a context with few pairs stays close to `prior`.
    """
    dists = []
    for j, s in enumerate(sizes):
        per_level = np.bincount(patterns[:, j], weights=mass, minlength=s).astype(np.float64)
        per_level[0] = 0.0
        spread = prior[j][1:] if prior is not None else np.full(s - 1, 1.0 / (s - 1))
        dist = np.zeros(s)
        dist[1:] = (per_level[1:] + spread) / (per_level[1:].sum() + spread.sum())
        dists.append(dist)
    return dists


def _seen(patterns, counts, sizes):
    return [
        np.bincount(patterns[:, j], weights=counts, minlength=s) > 0 for j, s in enumerate(sizes)
    ]


class Model:
    """Fellegi–Sunter parameters for a tuple of comparisons, with household contexts."""

    def __init__(
        self,
        comparisons: tuple[Comparison, ...] = COMPARISONS,
        *,
        m: Sequence[Sequence[float]] | None = None,
        u: Sequence[Sequence[float]] | None = None,
        prior: float = 1e-4,
        contexts: Sequence[tuple[str, Sequence[int]]] = HOUSEHOLD_CONTEXTS,
        context_priors: Sequence[float] | None = None,
        context_shares: Sequence[dict[str, float]] | None = None,
        tf_adjustments: bool = True,
        observed: Sequence[Sequence[bool]] | None = None,
        metadata: dict | None = None,
    ):
        self.comparisons = tuple(comparisons)
        sizes = self.sizes
        self.m = [np.asarray(x, dtype=np.float64) for x in m] if m else _initial_m(sizes)
        self.u = [np.asarray(x, dtype=np.float64) for x in u] if u else _uniform(sizes)
        self.prior = float(prior)
        keys = [c.key for c in self.comparisons]
        self.contexts = tuple(
            (key, tuple(int(x) for x in lv)) for key, lv in contexts if key in keys
        )
        self.context_priors = list(context_priors or [0.5] * len(self.contexts))
        # Per context, the share of relatives among its non-matches, per shared field.
        self.context_shares = [
            {k: float(v) for k, v in shares.items()}
            for shares in (context_shares or [self._initial_shares(k) for k, _ in self.contexts])
        ]
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

    def _index(self, key: str) -> int:
        return next(j for j, c in enumerate(self.comparisons) if c.key == key)

    def _initial_shares(self, context_key: str) -> dict[str, float]:
        keys = {c.key for c in self.comparisons}
        return {k: 0.5 for k in HOUSEHOLD_SHARED if k in keys and k != context_key}

    def _shared_levels(self, key: str) -> np.ndarray:
        """Mask of the levels of comparison `key` that relatives' sharing shows as."""
        size = len(self.comparisons[self._index(key)].levels)
        spec = HOUSEHOLD_SHARED[key]
        mask = np.zeros(size, dtype=bool)
        if spec == "all_but_different":
            mask[1:-1] = True
        else:
            mask[list(spec)] = True
        return mask

    def _related_u(self, key: str) -> np.ndarray:
        """u restricted to the shared levels: the levels of two relatives."""
        j = self._index(key)
        q = np.where(self._shared_levels(key), self.u[j], 0.0)
        q[0] = 0.0
        total = q.sum()
        return q / total if total > 0 else q

    def context_u(self, k: int) -> list[np.ndarray]:
        """u-probabilities of the non-matching pairs of context k, per comparison."""
        out = [u.copy() for u in self.u]
        for key, share in self.context_shares[k].items():
            j = self._index(key)
            out[j] = share * self._related_u(key) + (1 - share) * self.u[j]
            out[j][0] = self.u[j][0]
        return out

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
        return _logit2(self.prior)

    def context_of(self, levels: np.ndarray) -> np.ndarray:
        """Per pair, the index of its household context, or −1."""
        levels = np.asarray(levels).reshape(-1, len(self.comparisons))
        ctx = np.full(len(levels), -1, dtype=np.int64)
        for k, (key, ctx_levels) in enumerate(self.contexts):
            hit = (ctx < 0) & np.isin(levels[:, self._index(key)], ctx_levels)
            ctx[hit] = k
        return ctx

    def tf_weight(self, levels: np.ndarray, frequencies: dict[str, np.ndarray]) -> np.ndarray:
        """Term-frequency adjustment per pair: log2(u_agree / frequency of the shared value).

        A pair agreeing on a name that one record in a thousand has (张伟) gets less weight
        than one agreeing on a name seen once; `frequencies[key]` holds, per pair, the share
        of records with the shared value (0 when unknown: no adjustment).
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
        for k, (key, _levels) in enumerate(self.contexts):
            rows = np.flatnonzero(ctx == k)
            if not rows.size:
                continue
            for j, w in enumerate(self.level_weights(self.context_u(k))):
                weights[rows, j] = w[levels[rows, j]]
            weights[rows, self._index(key)] = _logit2(self.context_priors[k]) - self.prior_weight()
        if frequencies:
            tf = self.tf_weight(levels, frequencies)
            for j, c in enumerate(self.comparisons):
                if c.tf_levels and c.key in frequencies:
                    weights[:, j] += tf
        return weights

    def score(self, levels: np.ndarray, frequencies: dict[str, np.ndarray] | None = None):
        """(match weights, match probabilities) for a (pairs × comparisons) level matrix."""
        total = self.prior_weight() + self.comparison_weights(levels, frequencies).sum(axis=1)
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

    # --- training ---------------------------------------------------------------------

    def estimate_u(self, random_levels: np.ndarray) -> None:
        """u-probabilities from the levels of record pairs drawn at random."""
        patterns, counts = _pattern_counts(random_levels, self.sizes)
        self.u = _distribution(patterns, counts, self.sizes)
        self._seen_random = _seen(patterns, counts, self.sizes)

    def estimate_m(
        self,
        candidate_levels: np.ndarray,
        *,
        total_pairs: float,
        max_iterations: int = 300,
        tolerance: float = 1e-6,
    ) -> None:
        """m, the priors and the household contexts' u by EM over the candidate pairs."""
        sizes = self.sizes
        patterns, counts = _pattern_counts(candidate_levels, sizes)
        n_candidates = counts.sum()
        if not n_candidates:
            return
        seen = _seen(patterns, counts, sizes)
        random_seen = getattr(self, "_seen_random", seen)
        self.observed = [a | b for a, b in zip(seen, random_seen, strict=True)]
        ctx = self.context_of(patterns)
        in_context = [ctx == k for k in range(len(self.contexts))]
        outside = ctx < 0
        context_pairs = [counts[rows].sum() for rows in in_context]
        context_keys = {key for key, _levels in self.contexts}
        # Start as if half the candidate pairs were matches; EM finds the real share.
        self.prior = min(0.5, max(1e-12, 0.5 * counts[outside].sum() / total_pairs))
        self.context_priors = [0.5 for _ in self.contexts]
        self.context_shares = [self._initial_shares(key) for key, _ in self.contexts]
        self.history = []
        for iteration in range(max_iterations):
            _weights, p = self.score(patterns)
            match = p * counts
            new_m = _distribution(patterns, match, sizes)
            # Within a household context relatives look half like matches while EM settles,
            # so m of the fields they share comes from the pairs outside every context.
            if outside.any():
                outside_m = _distribution(patterns[outside], match[outside], sizes)
                for j, c in enumerate(self.comparisons):
                    if c.key in HOUSEHOLD_SHARED and c.key not in context_keys:
                        new_m[j] = outside_m[j]
            rest = total_pairs - sum(context_pairs)
            new_prior = min(0.5, max(1e-12, match[outside].sum() / max(rest, 1.0)))
            new_context_priors, new_shares = [], []
            for k, rows in enumerate(in_context):
                # Half a pseudo-pair each way keeps λ_ctx off 0 and 1.
                new_context_priors.append((match[rows].sum() + 0.5) / (context_pairs[k] + 1.0))
                non_match = (1 - p[rows]) * counts[rows]
                shares = {}
                for key, share in self.context_shares[k].items():
                    j = self._index(key)
                    level = patterns[rows, j]
                    given = level > 0
                    related = share * self._related_u(key)[level]
                    stranger = (1 - share) * self.u[j][level]
                    responsibility = related / np.maximum(related + stranger, 1e-300)
                    mass = non_match[given].sum()
                    # Half a pseudo-pair each way: a share of exactly 1 would make a stranger
                    # sharing the phone impossible, and an entirely different name proof.
                    shares[key] = float(
                        ((non_match[given] * responsibility[given]).sum() + 0.5) / (mass + 1.0)
                    )
                new_shares.append(shares)
            change = max(float(np.abs(a - b).max()) for a, b in zip(new_m, self.m, strict=True))
            change = max(change, abs(new_prior - self.prior) / self.prior)
            for old, new in zip(self.context_priors, new_context_priors, strict=True):
                change = max(change, abs(new - old))
            for old, new in zip(self.context_shares, new_shares, strict=True):
                change = max([change] + [abs(new[k] - old[k]) for k in old])
            self.m = new_m
            self.prior = new_prior
            self.context_priors = new_context_priors
            self.context_shares = new_shares
            self.history.append({"iteration": iteration, "prior": self.prior, "change": change})
            if change < tolerance:
                break

    def fit(
        self,
        candidate_levels: np.ndarray,
        random_levels: np.ndarray,
        *,
        total_pairs: float,
        **em_options,
    ) -> "Model":
        """u from random pairs, then m, the priors and the contexts' u by EM on the candidates."""
        self.estimate_u(random_levels)
        self.estimate_m(candidate_levels, total_pairs=total_pairs, **em_options)
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
                {
                    "comparison": key,
                    "levels": list(levels),
                    "prior": float(self.context_priors[k]),
                    "shares": dict(self.context_shares[k]),
                }
                for k, (key, levels) in enumerate(self.contexts)
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
            contexts=[(ctx["comparison"], ctx["levels"]) for ctx in contexts],
            context_priors=[ctx["prior"] for ctx in contexts],
            context_shares=[ctx["shares"] for ctx in contexts],
            tf_adjustments=data.get("tf_adjustments", True),
            observed=observed,
            metadata=data.get("metadata"),
        )

    def __repr__(self):
        return f"<Model prior={self.prior:.3g} comparisons={[c.key for c in self.comparisons]}>"


def _uniform(sizes):
    return [np.full(s, 1.0 / max(s - 1, 1)) for s in sizes]


def _initial_m(sizes):
    """A neutral start for EM: each level half as likely for a match as the one above it."""
    out = []
    for s in sizes:
        m = np.zeros(s)
        m[1:] = 0.5 ** np.arange(s - 1)
        m[1:] /= m[1:].sum()
        out.append(m)
    return out
