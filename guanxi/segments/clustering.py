"""Customer clustering on standardised value and behaviour features (pure: numpy arrays in,
results out; no database, no models; only the describing words go through gettext).

Pipeline (`cluster`):

1. `standardise`: optional signed log1p on heavy-tailed money/count columns, then each column
   centred and divided by its standard deviation; a column that does not vary gets scale 1 and
   is all zeros, so it neither divides by zero nor pulls clusters apart.
2. `suggest_k` (when k is not given): k-means for each k in k_min..k_max on a random sample,
   scored by the exact mean silhouette of that sample; the best score wins, ties go to the
   smaller k.
3. `kmeans` on all rows: greedy k-means++ seeding, Lloyd iterations, best of `n_init` runs.
4. Per cluster: size, centroid in raw units (mean of members), centroid in z, and words for it
   (`describe`).

Why silhouette and not the elbow: inertia always falls as k grows, so the elbow method needs a
judgement of where the curve "bends", which is ill-defined on real customer data (the curve is
usually smooth) and gives no number to compare two k by. The silhouette of a point,
(b - a) / max(a, b) with a its mean distance to its own cluster and b to the nearest other one,
is scale-free, lies in [-1, 1], and its mean peaks at the k whose clusters are both tight and
apart, so k is chosen without a human in the loop and the scores can be shown to one. It costs
O(m^2) distances, hence the sample (20,000 points: 4e8 distances, streamed in chunks, never
held at once); the silhouette itself is exact on that sample, not approximated.

Memory and speed: row-to-centroid distances are computed in chunks of rows small enough to
stay in the CPU cache (`CHUNK_ELEMENTS`), and each Lloyd iteration is one pass over the data that
assigns a chunk and adds it to the cluster sums (a one-hot product) while it is in cache; the
silhouette streams its sample x sample distances in chunks of `PAIRWISE_CHUNK_BYTES`. Nothing of
size rows x k or sample x sample is ever held: a fit on 1,000,000 x 6 needs the data, its z
copy and a few vectors of length n.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.utils.translation import get_language, gettext

# A chunk of rows against centroids has at most CHUNK_ELEMENTS = rows x centroids x features:
# such a product stays in the CPU cache and OpenBLAS runs it on one thread (it threads a GEMM
# only above m·n·k = 65536·4). Many small threaded products are slower, and under CPU
# contention from other processes they can be ten times slower.
CHUNK_ELEMENTS = 1 << 18
PAIRWISE_CHUNK_BYTES = 32 << 20  # per chunk of the silhouette's rows x sample distances
Z_THRESHOLD = 0.5  # |z| from which a centroid's feature is worth a word
MAX_PHRASES = 3
TOL = 1e-4  # Lloyd stops when the centroids move less than this share of the data's variance


class TooFewDistinctRows(ValueError):
    """The data have fewer distinct rows than the clusters asked for."""


@dataclass(frozen=True, eq=False)
class KMeansResult:
    labels: np.ndarray  # (n,) int32, cluster of each row, 0..k-1
    centroids: np.ndarray  # (k, d) in the units of Z
    inertia: float  # sum of squared distances of the rows to their centroid
    iterations: int  # Lloyd iterations of the best run
    converged: bool  # whether that run stopped before max_iter


@dataclass(frozen=True, eq=False)
class Suggestion:
    k: int
    scores: dict[int, float]  # k -> mean silhouette on the sample
    sample_size: int


@dataclass(frozen=True, eq=False)
class Highlight:
    feature: str  # the feature's name
    label: str  # its words ("spend")
    direction: str  # "high" or "low"
    z: float  # the standardised centroid
    raw: float | None  # the centroid in raw units, when given


@dataclass(frozen=True, eq=False)
class Description:
    text: str  # "high spend, high orders, low recency" or "average customers"
    name: str  # the first two phrases: a suggested cluster name
    highlights: tuple[Highlight, ...]  # the features behind the phrases, by |z|

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, eq=False)
class Cluster:
    index: int  # 0..k-1; clusters are numbered largest first
    size: int
    share: float  # size / rows
    centroid_raw: np.ndarray  # (d,) mean of the members in the caller's units
    centroid_z: np.ndarray  # (d,) mean of the members in z
    description: Description


@dataclass(frozen=True, eq=False)
class ClusteringResult:
    k: int
    labels: np.ndarray  # (n,) int32, index of each row's cluster
    clusters: tuple[Cluster, ...]  # largest first
    feature_names: tuple[str, ...]
    log_columns: tuple[int, ...]  # columns standardised after a signed log1p
    mean: np.ndarray  # (d,) of the (logged) columns, for standardising new rows
    scale: np.ndarray  # (d,)
    inertia: float
    iterations: int
    suggestion: Suggestion | None  # None when k was given


# -- standardising -----------------------------------------------------------------------------


def signed_log1p(x: np.ndarray) -> np.ndarray:
    """log1p for values >= 0; sign(x)·log1p(|x|) below, so a refund never makes a NaN."""
    return np.sign(x) * np.log1p(np.abs(x))


def standardise(
    X: np.ndarray, *, log_columns: Sequence[int] = ()
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Z = (T(X) - mean) / scale, where T is a signed log1p on `log_columns` (indices) and the
    identity elsewhere; mean and scale (the population standard deviation) are of T(X).

    A column with no spread (its standard deviation below 1e-12 of its magnitude, so constant up
    to rounding) gets scale 1 and an all-zero Z column."""
    T = np.array(X, dtype=np.float64, copy=True)
    if T.ndim != 2:
        raise ValueError("X must be a 2-D array (rows x features)")
    if not np.isfinite(T).all():
        raise ValueError("X has NaN or infinite values")
    d = T.shape[1]
    for c in _column_indices(log_columns, d):
        T[:, c] = signed_log1p(T[:, c])
    if T.shape[0] == 0:
        return T, np.zeros(d), np.ones(d)
    mean = T.mean(axis=0)
    T -= mean
    std = np.sqrt(np.einsum("ij,ij->j", T, T) / T.shape[0])
    flat = std <= 1e-12 * np.maximum(np.abs(mean), 1.0)
    scale = np.where(flat, 1.0, std)
    T /= scale
    T[:, flat] = 0.0
    return T, mean, scale


def _column_indices(columns: Sequence[int], d: int) -> tuple[int, ...]:
    out = set()
    for c in columns:
        c = int(c)
        if not -d <= c < d:
            raise ValueError(f"log column {c} is out of range for {d} features")
        out.add(c % d)
    return tuple(sorted(out))


# -- distances ---------------------------------------------------------------------------------


def _rows_per_chunk(points: int, d: int) -> int:
    """Rows per chunk when each row meets `points` centroids (or candidates) in d features."""
    return max(256, CHUNK_ELEMENTS // max(points * d, 1))


def _sqdist(Zc: np.ndarray, xxc: np.ndarray, C: np.ndarray, cc: np.ndarray) -> np.ndarray:
    """Squared distances of a chunk of rows to the points C, by |x|² - 2x·c + |c|²; values
    within rounding of zero (relative 1e-12) are set to zero, so a row that is a copy of a
    point is at distance 0 and is never drawn as a seed again."""
    out = Zc @ C.T
    out *= -2.0
    out += xxc[:, None]
    out += cc
    out[out <= 1e-12 * (xxc[:, None] + cc)] = 0.0
    return out


def _assign(
    Z: np.ndarray, xx: np.ndarray, C: np.ndarray, *, sums: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Nearest centroid of each row and the squared distance to it, chunk by chunk; with
    `sums`, also each cluster's sum of rows and count, added up while the chunk is in cache."""
    n = Z.shape[0]
    k, d = C.shape
    cc = np.einsum("ij,ij->i", C, C)
    labels = np.empty(n, dtype=np.int32)
    d2 = np.empty(n)
    total = np.zeros((k, d)) if sums else None
    counts = np.zeros(k) if sums else None
    clusters = np.arange(k, dtype=np.int32)[:, None]
    step = _rows_per_chunk(k, d)
    for s in range(0, n, step):
        e = min(n, s + step)
        rows = Z[s:e]
        block = rows @ C.T
        block *= -2.0
        block += cc  # |x|² is the same for every centroid: not needed for the argmin
        lab = block.argmin(axis=1)
        labels[s:e] = lab
        d2[s:e] = np.take_along_axis(block, lab[:, None], axis=1)[:, 0]
        if sums:
            onehot = (lab == clusters).astype(np.float64)  # k x chunk
            total += onehot @ rows
            counts += onehot.sum(axis=1)
    d2 += xx
    np.maximum(d2, 0.0, out=d2)
    return labels, d2, total, counts


def _inertia(Z: np.ndarray, C: np.ndarray, labels: np.ndarray) -> float:
    """Sum of squared distances to the assigned centroids, from the differences (exact)."""
    total = 0.0
    step = _rows_per_chunk(1, Z.shape[1])
    for s in range(0, Z.shape[0], step):
        diff = Z[s : s + step] - C[labels[s : s + step]]
        total += float(np.einsum("ij,ij->", diff, diff))
    return total


# -- k-means -----------------------------------------------------------------------------------


def _kmeans_plusplus(Z: np.ndarray, xx: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy k-means++ (Arthur & Vassilvitskii 2007, with 2 + ln k candidates per step as in
    scikit-learn): each next seed is the candidate, drawn with probability ∝ D², that most
    lowers the sum of D²."""
    n, d = Z.shape
    trials = 2 + int(np.log(k))
    centers = np.empty((k, d))
    centers[0] = Z[rng.integers(n)]
    closest = _distances_to(Z, xx, centers[:1])[:, 0]
    step = _rows_per_chunk(trials, d)
    for c in range(1, k):
        cumulative = np.cumsum(closest)
        pot = cumulative[-1]
        if not pot > 0.0:
            raise TooFewDistinctRows(f"the data have fewer than {k} distinct rows")
        ids = np.searchsorted(cumulative, rng.random(trials) * pot, side="right")
        candidates = Z[np.minimum(ids, n - 1)]
        cand_cc = np.einsum("ij,ij->i", candidates, candidates)
        pots = np.zeros(trials)
        for s in range(0, n, step):
            e = min(n, s + step)
            block = _sqdist(Z[s:e], xx[s:e], candidates, cand_cc)
            np.minimum(block, closest[s:e, None], out=block)
            pots += block.sum(axis=0)
        best = candidates[int(np.argmin(pots))]
        centers[c] = best
        np.minimum(closest, _distances_to(Z, xx, best[None, :])[:, 0], out=closest)
    return centers


def _distances_to(Z: np.ndarray, xx: np.ndarray, C: np.ndarray) -> np.ndarray:
    cc = np.einsum("ij,ij->i", C, C)
    out = np.empty((Z.shape[0], C.shape[0]))
    step = _rows_per_chunk(C.shape[0], Z.shape[1])
    for s in range(0, Z.shape[0], step):
        out[s : s + step] = _sqdist(Z[s : s + step], xx[s : s + step], C, cc)
    return out


def _sqdist_to_point(Z: np.ndarray, p: np.ndarray) -> np.ndarray:
    out = np.empty(Z.shape[0])
    step = _rows_per_chunk(1, Z.shape[1])
    for s in range(0, Z.shape[0], step):
        diff = Z[s : s + step] - p
        out[s : s + step] = np.einsum("ij,ij->i", diff, diff)
    return out


def _update(
    Z: np.ndarray,
    labels: np.ndarray,
    d2: np.ndarray,
    sums: np.ndarray,
    counts: np.ndarray,
    old: np.ndarray,
) -> tuple[np.ndarray, bool]:
    """Mean of each cluster's rows. An empty cluster is re-seeded at the row farthest from its
    centroid (taken out of its cluster, which keeps at least one row), one empty cluster at a
    time, each next one at the row farthest from both the centroids and the new seeds.
    `labels`, `sums` and `counts` are changed in place for the moved rows. Returns the
    centroids and whether any cluster was re-seeded."""
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        far = d2.copy()
        far[counts[labels] <= 1] = -1.0
        for j in empty:
            i = int(np.argmax(far))
            if far[i] <= 0.0:  # every row sits on a centroid: nothing to move
                break
            source = labels[i]
            sums[source] -= Z[i]
            counts[source] -= 1
            sums[j] = Z[i]
            counts[j] = 1
            labels[i] = j
            far[i] = -1.0
            if counts[source] <= 1:
                far[labels == source] = -1.0
            # the next seed goes far from this one too (masked rows stay at -1)
            np.minimum(far, _sqdist_to_point(Z, Z[i]), out=far)
    centers = old.copy()
    filled = counts > 0
    centers[filled] = sums[filled] / counts[filled, None]
    return centers, bool(empty.size)


def _lloyd(
    Z: np.ndarray, xx: np.ndarray, centers: np.ndarray, max_iter: int, tol: float
) -> KMeansResult:
    previous = None
    converged = strict = False
    iterations = 0
    for _ in range(max_iter):
        iterations += 1
        labels, d2, sums, counts = _assign(Z, xx, centers, sums=True)
        new, reseeded = _update(Z, labels, d2, sums, counts, centers)
        shift = float(np.sum((new - centers) ** 2))
        centers = new
        if not reseeded:
            if previous is not None and np.array_equal(labels, previous):
                converged = strict = True  # no row moved: the centroids are their means
                break
            if shift <= tol:
                converged = True
                break
        previous = labels
    if not strict:  # the labels of the last centroids
        labels = _assign(Z, xx, centers)[0]
    return KMeansResult(
        labels=labels,
        centroids=centers,
        inertia=_inertia(Z, centers, labels),
        iterations=iterations,
        converged=converged,
    )


def _as_matrix(Z) -> np.ndarray:
    Z = np.ascontiguousarray(Z, dtype=np.float64)
    if Z.ndim != 2:
        raise ValueError("Z must be a 2-D array (rows x features)")
    if not np.isfinite(Z).all():
        raise ValueError("Z has NaN or infinite values")
    return Z


def kmeans(
    Z: np.ndarray,
    k: int,
    *,
    seed: int = 0,
    n_init: int = 4,
    max_iter: int = 100,
    tol: float = TOL,
    init: np.ndarray | None = None,
) -> KMeansResult:
    """k-means of the rows of Z: the best (lowest inertia) of `n_init` runs, each seeded by
    greedy k-means++ and refined by Lloyd iterations until no row changes cluster, or the
    centroids move (sum of squared shifts) less than `tol` times the mean column variance, or
    `max_iter`. `init` (k x d) replaces the seeding with given centroids (one run).
    Deterministic for a seed. Raises TooFewDistinctRows when k-means++ runs out of distinct
    rows to seed with."""
    Z = _as_matrix(Z)
    n = Z.shape[0]
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and the number of rows ({n}), not {k}")
    if n_init < 1 or max_iter < 1:
        raise ValueError("n_init and max_iter must be at least 1")
    xx = np.einsum("ij,ij->i", Z, Z)
    mean = Z.mean(axis=0)
    variance = np.einsum("ij,ij->j", Z, Z) / n - mean * mean  # no n x d temporary
    tol_abs = tol * float(np.mean(np.maximum(variance, 0.0)))
    if init is not None:
        init = np.array(init, dtype=np.float64)
        if init.shape != (k, Z.shape[1]):
            raise ValueError(f"init must have shape {(k, Z.shape[1])}")
        return _lloyd(Z, xx, init, max_iter, tol_abs)
    best = None
    for child in np.random.SeedSequence(seed).spawn(n_init):
        rng = np.random.default_rng(child)
        run = _lloyd(Z, xx, _kmeans_plusplus(Z, xx, k, rng), max_iter, tol_abs)
        if best is None or run.inertia < best.inertia:
            best = run
    return best


# -- silhouette and choosing k -----------------------------------------------------------------


def _silhouettes(Z: np.ndarray, labelings: Sequence[np.ndarray]) -> list[float]:
    """Exact mean silhouette (Euclidean) of each labeling of the same rows, in one pass over
    the pairwise distances: per chunk of rows, the distances to all rows (chunk x n) times a
    one-hot matrix of every labeling give each row's distance sums to every cluster.

    As in scikit-learn: a row alone in its cluster scores 0; a = sum to own / (size - 1)."""
    n = Z.shape[0]
    codes, counts, offsets = [], [], [0]
    for labels in labelings:
        _, code = np.unique(np.asarray(labels), return_inverse=True)
        code = code.reshape(-1)
        if code.shape[0] != n:
            raise ValueError("labels must have one entry per row")
        k = int(code.max()) + 1 if n else 0
        if not 2 <= k <= n - 1:
            raise ValueError(f"the silhouette needs 2 to n - 1 clusters, not {k}")
        codes.append(code)
        counts.append(np.bincount(code, minlength=k).astype(np.float64))
        offsets.append(offsets[-1] + k)
    onehot = np.zeros((n, offsets[-1]))
    rows = np.arange(n)
    for j, code in enumerate(codes):
        onehot[rows, offsets[j] + code] = 1.0
    # |x - y|² = [x, |x|², 1] · [-2y, 1, |y|²]: one product per chunk, no broadcast passes
    Zc = Z - Z.mean(axis=0)
    xx = np.einsum("ij,ij->i", Zc, Zc)
    left = np.column_stack([Zc, xx, np.ones(n)])
    right = np.ascontiguousarray(np.column_stack([-2.0 * Zc, np.ones(n), xx]).T)
    totals = np.zeros(len(codes))
    step = max(1, PAIRWISE_CHUNK_BYTES // (8 * n))
    for s in range(0, n, step):
        e = min(n, s + step)
        r = np.arange(e - s)
        D = left[s:e] @ right
        np.maximum(D, 0.0, out=D)
        np.sqrt(D, out=D)
        D[r, s + r] = 0.0
        sums = D @ onehot
        for j, code in enumerate(codes):
            own = code[s:e]
            block = sums[:, offsets[j] : offsets[j + 1]]
            with np.errstate(divide="ignore", invalid="ignore"):
                intra = block[r, own] / (counts[j][own] - 1.0)
                mean = block / counts[j]
                mean[r, own] = np.inf
                inter = mean.min(axis=1)
                score = (inter - intra) / np.maximum(intra, inter)
            totals[j] += np.nan_to_num(score).sum()
    return [float(t / n) for t in totals]


def silhouette(Z: np.ndarray, labels: np.ndarray) -> float:
    """Exact mean silhouette coefficient of `labels` on the rows of Z (Euclidean)."""
    return _silhouettes(_as_matrix(Z), [labels])[0]


def suggest_k(
    Z: np.ndarray, *, k_min: int = 2, k_max: int = 8, sample: int = 20000, seed: int = 0
) -> Suggestion:
    """The k in k_min..k_max with the best mean silhouette (ties: the smaller k). k-means is
    fitted, and the silhouette computed exactly, on one random sample of at most `sample` rows
    (the same sample for every k); see the module's docstring for why silhouette."""
    Z = _as_matrix(Z)
    n = Z.shape[0]
    if k_min < 2 or k_max < k_min:
        raise ValueError("need 2 <= k_min <= k_max")
    if n > sample:
        rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
        Z = Z[np.sort(rng.choice(n, size=sample, replace=False))]
    m = Z.shape[0]
    ks, labelings = [], []
    for k in range(k_min, min(k_max, m - 1) + 1):
        try:
            fit = kmeans(Z, k, seed=seed)
        except TooFewDistinctRows:
            break
        if np.unique(fit.labels).size < k:
            break
        ks.append(k)
        labelings.append(fit.labels)
    if not ks:
        raise TooFewDistinctRows(f"too few distinct rows to compare {k_min} or more clusters")
    scores = dict(zip(ks, _silhouettes(Z, labelings), strict=True))
    best = ks[0]
    for k in ks[1:]:
        if scores[k] > scores[best]:
            best = k
    return Suggestion(k=best, scores=scores, sample_size=m)


# -- words -------------------------------------------------------------------------------------


def _joiner() -> str:
    return "、" if (get_language() or "").lower().startswith("zh") else ", "


def describe(
    centroid_z: np.ndarray,
    centroid_raw: np.ndarray | None,
    feature_names: Sequence[str],
    labels: dict[str, str],
    *,
    threshold: float = Z_THRESHOLD,
    limit: int = MAX_PHRASES,
) -> Description:
    """Words for a cluster from its standardised centroid: each feature with |z| >= threshold
    becomes "high <label>" or "low <label>" (label from `labels`, else the feature's name), by
    |z| (ties in feature order), at most `limit`, joined with ", " (、 in Chinese); with none,
    "average customers". `name` is the first two phrases. `centroid_raw` only rides along
    in the highlights (for showing the value next to the words)."""
    centroid_z = np.asarray(centroid_z, dtype=np.float64).reshape(-1)
    if len(feature_names) != centroid_z.size:
        raise ValueError("one feature name per centroid coordinate")
    raw = None if centroid_raw is None else np.asarray(centroid_raw, dtype=np.float64)
    strong = [
        i
        for i in range(centroid_z.size)
        if np.isfinite(centroid_z[i]) and abs(centroid_z[i]) >= threshold
    ]
    strong.sort(key=lambda i: -abs(centroid_z[i]))  # stable: ties keep the feature order
    highlights, phrases = [], []
    for i in strong[:limit]:
        name = feature_names[i]
        label = str(labels.get(name, name))
        z = float(centroid_z[i])
        if z > 0:
            direction, phrase = "high", gettext("high %(feature)s") % {"feature": label}
        else:
            direction, phrase = "low", gettext("low %(feature)s") % {"feature": label}
        phrases.append(phrase)
        highlights.append(
            Highlight(
                feature=name,
                label=label,
                direction=direction,
                z=z,
                raw=None if raw is None else float(raw[i]),
            )
        )
    if not phrases:
        average = gettext("average customers")
        return Description(text=average, name=average, highlights=())
    joiner = _joiner()
    return Description(
        text=joiner.join(phrases), name=joiner.join(phrases[:2]), highlights=tuple(highlights)
    )


# -- all together ------------------------------------------------------------------------------


def cluster(
    X: np.ndarray,
    feature_names: Sequence[str],
    *,
    k: int | None = None,
    log_columns: Sequence[int | str] = (),
    seed: int = 0,
    feature_labels: dict[str, str] | None = None,
) -> ClusteringResult:
    """Standardise X (signed log1p on `log_columns`, given by index or feature name), choose k
    by silhouette when it is None (`suggest_k`), fit k-means on all rows, and describe each
    cluster. Clusters are numbered by size, largest first (ties: the smaller centroid in z,
    feature by feature), and `labels` follows that numbering. `feature_labels` maps a feature
    name to its words for `describe` (default: the name)."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError("X must be a 2-D array (rows x features)")
    names = tuple(str(f) for f in feature_names)
    if len(names) != X.shape[1]:
        raise ValueError(f"{X.shape[1]} features but {len(names)} names")
    indices = []
    for c in log_columns:
        if isinstance(c, str):
            if c not in names:
                raise ValueError(f"unknown log column {c!r}")
            c = names.index(c)
        indices.append(c)
    logged = _column_indices(indices, len(names))
    Z, mean, scale = standardise(X, log_columns=logged)
    suggestion = None
    if k is None:
        suggestion = suggest_k(Z, seed=seed)
        k = suggestion.k
    fit = kmeans(Z, k, seed=seed)

    n, d = X.shape
    counts = np.bincount(fit.labels, minlength=k)
    raw = np.empty((k, d))
    zc = np.empty((k, d))
    for f in range(d):
        raw[:, f] = np.bincount(fit.labels, weights=X[:, f], minlength=k)
        zc[:, f] = np.bincount(fit.labels, weights=Z[:, f], minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw /= counts[:, None]
        zc /= counts[:, None]
    kept = [c for c in range(k) if counts[c] > 0]  # none is empty unless max_iter cut a reseed
    kept.sort(key=lambda c: (-counts[c], *zc[c].tolist()))
    renumber = np.full(k, -1, dtype=np.int32)
    renumber[kept] = np.arange(len(kept), dtype=np.int32)
    labels = renumber[fit.labels]
    words = feature_labels or {}
    clusters = tuple(
        Cluster(
            index=new,
            size=int(counts[old]),
            share=float(counts[old] / n),
            centroid_raw=raw[old],
            centroid_z=zc[old],
            description=describe(zc[old], raw[old], names, words),
        )
        for new, old in enumerate(kept)
    )
    return ClusteringResult(
        k=len(kept),
        labels=labels,
        clusters=clusters,
        feature_names=names,
        log_columns=logged,
        mean=mean,
        scale=scale,
        inertia=fit.inertia,
        iterations=fit.iterations,
        suggestion=suggestion,
    )
