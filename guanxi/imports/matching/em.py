"""Training a `Model`: u from random pairs, the rest by expectation–maximisation.

EM runs over every record pair, but only the candidate pairs from blocking are
materialised: a pair sharing no blocking key agrees on nothing that matters, so its match
probability is ≈ 0 and it adds nothing to the m-step; it does count in the denominator of
λ (`total_pairs`). u stays as measured on random pairs, except the u of the household
context levels (same phone; same address), which random pairs are too few to measure and
which EM estimates from the non-matching candidate pairs that share a phone or address.
All updates are over the distinct level patterns, weighted by how many pairs have them.
"""

from collections.abc import Sequence

import numpy as np

from .model import HOUSEHOLD_SHARED, Model


def pattern_counts(levels: np.ndarray, sizes: Sequence[int], weights=None):
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


def distribution(patterns, mass, sizes):
    """Per comparison, the share of `mass` at each level (level 0 excluded), smoothed.

    One pseudo-pair, spread evenly over the levels, keeps every probability above zero, so
    a level never seen among matches gets a large negative weight rather than −∞.
    """
    dists = []
    for j, s in enumerate(sizes):
        per_level = np.bincount(patterns[:, j], weights=mass, minlength=s).astype(np.float64)
        per_level[0] = 0.0
        dist = np.zeros(s)
        dist[1:] = (per_level[1:] + 1.0 / (s - 1)) / (per_level[1:].sum() + 1.0)
        dists.append(dist)
    return dists


def _seen(patterns, counts, sizes):
    return [
        np.bincount(patterns[:, j], weights=counts, minlength=s) > 0 for j, s in enumerate(sizes)
    ]


def estimate_u(model: Model, random_levels: np.ndarray) -> None:
    """u-probabilities from the levels of record pairs drawn at random."""
    patterns, counts = pattern_counts(random_levels, model.sizes)
    model.u = distribution(patterns, counts, model.sizes)
    model.u_random = [u.copy() for u in model.u]
    model.seen_random = _seen(patterns, counts, model.sizes)


def _with_level(u: np.ndarray, level: int, value: float) -> np.ndarray:
    """u with one level set to `value` and the other given levels rescaled to fit."""
    out = u.copy()
    others = out[1:].sum() - out[level]
    if others > 0:
        out[1:] *= (1.0 - value) / others
    out[level] = value
    return out


def estimate_m(
    model: Model,
    candidate_levels: np.ndarray,
    *,
    total_pairs: float,
    max_iterations: int = 300,
    tolerance: float = 1e-6,
) -> None:
    """m, λ, the u of the household context levels and the relatives' shares, by EM."""
    sizes = model.sizes
    patterns, counts = pattern_counts(candidate_levels, sizes)
    if not counts.sum():
        return
    seen = _seen(patterns, counts, sizes)
    random_seen = getattr(model, "seen_random", seen)
    model.observed = [a | b for a, b in zip(seen, random_seen, strict=True)]
    u_random = getattr(model, "u_random", None) or [u.copy() for u in model.u]
    contexts = model.context_of(patterns)
    in_context = [contexts == k for k in range(len(model.contexts))]
    outside = contexts < 0
    context_keys = {key for key, _level in model.contexts}
    # Relatives look half like matches while EM settles, so m of the fields they share comes
    # from the pairs outside every household context.
    guarded = [
        j
        for j, c in enumerate(model.comparisons)
        if c.key in HOUSEHOLD_SHARED and c.key not in context_keys
    ]
    # Start as if half the candidate pairs were matches; EM finds the real share.
    model.prior = min(0.5, 0.5 * counts.sum() / total_pairs)
    model.shares = model.initial_shares()
    model.history = []
    for iteration in range(max_iterations):
        _weights, p = model.score(patterns)
        match = p * counts
        non_match = counts - match
        m = distribution(patterns, match, sizes)
        if outside.any() and guarded:
            outside_m = distribution(patterns[outside], match[outside], sizes)
            for j in guarded:
                m[j] = outside_m[j]
        prior = min(0.5, max(1e-12, match.sum() / total_pairs))
        u = [x.copy() for x in u_random]
        remaining = total_pairs - match.sum()
        for k, (key, level) in enumerate(model.contexts):
            j = model.index(key)
            mass = non_match[in_context[k]].sum()
            # The random-pair estimate counts as one pseudo-pair.
            u[j] = _with_level(u[j], level, (mass + u_random[j][level]) / (remaining + 1.0))
            remaining -= mass
        shares = []
        for k, rows in enumerate(in_context):
            shares.append({})
            for key, share in model.shares[k].items():
                j = model.index(key)
                level = patterns[rows, j]
                given = level > 0
                related = share * model.related_u(key)[level]
                stranger = (1 - share) * model.u[j][level]
                responsibility = related / np.maximum(related + stranger, 1e-300)
                mass = non_match[rows][given]
                # Half a pseudo-pair each way: a share of exactly 1 would make a stranger
                # sharing the phone impossible, and an entirely different name proof.
                shares[k][key] = float(
                    ((mass * responsibility[given]).sum() + 0.5) / (mass.sum() + 1.0)
                )
        change = max(float(np.abs(a - b).max()) for a, b in zip(m, model.m, strict=True))
        change = max(change, abs(prior - model.prior) / model.prior)
        for old, new in zip(model.shares, shares, strict=True):
            change = max([change] + [abs(new[key] - old[key]) for key in old])
        model.m, model.prior, model.u, model.shares = m, prior, u, shares
        model.history.append({"iteration": iteration, "prior": prior, "change": change})
        if change < tolerance:
            break
