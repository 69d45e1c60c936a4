"""Customer-base models for lifetime value, fitted by maximum likelihood (pure: numpy arrays in,
arrays out).

- BG/NBD (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way"): while alive a
  customer buys at rate lambda ~ Gamma(r, alpha); after each repeat purchase they drop out
  with probability p ~ Beta(a, b).
- MBG/NBD (Batislam, Denizel & Filiztekin 2007; Wagner & Hoppe 2008 erratum): the same, but the
  customer may also drop out right after the first purchase, so a one-time buyer is not
  certainly alive.
- Gamma-Gamma (Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary Value"): the values of a
  customer's orders are Gamma(p, nu) with nu ~ Gamma(q, gamma); fitted on repeat buyers.

Inputs per customer: x repeat purchases, t_x the time of the last one after the first purchase
(0 when x is 0), T the time from the first purchase to the end of observation, all in one time
unit, and zbar the mean value of the repeat purchases.

Numerics: likelihoods and P(alive) are sums of logs (log-Gamma ratios, log1p, expit), so a
customer with thousands of purchases neither overflows nor loses the dropout term. Fits work on
terms aggregated by distinct x and distinct T plus one vector over the rows that carry a
dropout term, with an analytic gradient in log-parameters (L-BFGS-B). Time (and, for spend,
money) is rescaled inside the fit so every parameter is of order one; results are in the
caller's units. The conditional expectation uses Euler's transformation of 2F1, which keeps the
hypergeometric's arguments from growing with the number of purchases, and a Gauss rule over
the dropout probability where its Beta is narrow (see `_expected_while_alive`).

Data that show no spread in dropout (or in purchase rates) have their maximum at infinity:
a, b -> inf with a/(a+b) fixed (or r, alpha -> inf). The fit then stops on the flat ridge and
returns that limit model, whose predictions are sound although its a and b are arbitrary; a
parameter pinned at the edge of the search range raises FitError, and a penalizer keeps them
finite.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import linalg, optimize, special

KINDS = ("bgnbd", "mbgnbd")
PURCHASE_PARAMS = ("r", "alpha", "a", "b")
SPEND_PARAMS = ("p", "q", "gamma")

MIN_SPEND_CUSTOMERS = 5  # below this the three spend parameters are not identified

# Log-parameters live in [-_LOG_BOUND, _LOG_BOUND] (on the rescaled units): one pinned at
# the edge is an artefact of the range, reported instead of returned as an estimate.
_LOG_BOUND = 18.0
# t_x may exceed T by this share of the longest T: summaries rounded to two decimals of a week
# can put the last purchase a hair after the end of observation.
_T_X_TOLERANCE = 1e-3
# Distance from the points where scipy's hyp2f1 (or the ratio built on it) degenerates at
# which it is evaluated instead, then interpolated (see `_c_ratio_hyp`).
_DEGENERATE_STEP = 1e-3
# Where the terms of 2F1's series shrink at least this fast it is summed directly.
_SERIES_BOUND = 0.25
# From this a, or this b + x, on the expectation over the dropout probability is a Gauss rule
# (see `_expected_while_alive`) of 32 nodes, doubled where it has not settled.
_GAUSS_A = 20.0
_GAUSS_B = 1e4
_GAUSS_NODES = 32
_GAUSS_MAX_NODES = 2048
_GAUSS_CHUNK = 1 << 21  # rows x nodes per block


class FitError(ValueError):
    """A model could not be fitted to the data given."""


# --- inputs -----------------------------------------------------------------------------------


def _numeric(name, value) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric") from exc
    return arr


def _first_bad(mask) -> str:
    index = np.flatnonzero(np.ravel(mask))
    return f"{index.size} value(s), first at index {int(index[0])}"


def _check_counts(x: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(x)):
        raise ValueError(f"x must be finite ({_first_bad(~np.isfinite(x))} not)")
    if np.any(x < 0):
        raise ValueError(f"x must not be negative ({_first_bad(x < 0)} negative)")
    whole = np.round(x)
    if np.any(np.abs(x - whole) > 1e-6):
        raise ValueError(
            f"x must be whole numbers of repeat purchases ({_first_bad(x != whole)} not)"
        )
    return whole


def _history(x, t_x, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, t_x and T as broadcast float arrays, checked; t_x a rounding error past T clipped."""
    arrays = _numeric("x", x), _numeric("t_x", t_x), _numeric("T", T)
    try:
        x, t_x, T = np.broadcast_arrays(*arrays)
    except ValueError:
        shapes = ", ".join(str(a.shape) for a in arrays)
        raise ValueError(f"x, t_x and T must have one shape (or broadcast), got {shapes}") from None
    x = _check_counts(x)
    for name, arr in (("t_x", t_x), ("T", T)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite ({_first_bad(~np.isfinite(arr))} not)")
        if np.any(arr < 0):
            raise ValueError(f"{name} must not be negative ({_first_bad(arr < 0)} negative)")
    if x.size:
        over = t_x > T + _T_X_TOLERANCE * T.max()
        if np.any(over):
            raise ValueError(f"t_x must not exceed T ({_first_bad(over)} do)")
    if np.any((x == 0) & (t_x > 0)):
        raise ValueError(
            f"t_x must be 0 where x is 0 ({_first_bad((x == 0) & (t_x > 0))} not): t_x is the "
            "time of the last repeat purchase after the first purchase, not time since it"
        )
    return x, np.minimum(t_x, T), T.copy()


def _weights(weights, shape) -> np.ndarray:
    if weights is None:
        return np.ones(shape)
    try:
        w = np.broadcast_to(_numeric("weights", weights), shape).astype(float)
    except ValueError as exc:
        raise ValueError(f"weights must have one value per customer row {shape}") from exc
    if not np.all(np.isfinite(w)):
        raise ValueError(f"weights must be finite ({_first_bad(~np.isfinite(w))} not)")
    if np.any(w < 0):
        raise ValueError(f"weights must not be negative ({_first_bad(w < 0)} negative)")
    return w


def _positive(name: str, value) -> float:
    value = float(value)
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value}")
    return value


def _purchase_params(params) -> tuple[float, float, float, float]:
    if isinstance(params, Mapping):
        missing = [k for k in PURCHASE_PARAMS if k not in params]
        if missing:
            raise ValueError(f"params lacks {', '.join(missing)}")
        values = [params[k] for k in PURCHASE_PARAMS]
    elif isinstance(params, Sequence | np.ndarray) and len(params) == 4:
        values = list(params)
    else:
        raise ValueError("params must be a mapping with r, alpha, a, b or a sequence of four")
    r, alpha, a, b = (_positive(k, v) for k, v in zip(PURCHASE_PARAMS, values, strict=True))
    return r, alpha, a, b


def _check_kind(kind: str) -> int:
    """The kind's shift: MBG/NBD's extra dropout chance at the first purchase acts as b + 1."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return KINDS.index(kind)


# --- purchase models --------------------------------------------------------------------------


def _log_odds_dead(r, alpha, a, b, x, t_x, T, shift) -> np.ndarray:
    """log P(dropped out after the last purchase) - log P(alive at T), given the history.

    BG/NBD: log a/(b+x-1) + (r+x) log((alpha+T)/(alpha+t_x)), meaningful for x > 0 only;
    MBG/NBD (shift 1): a/(b+x) in place of a/(b+x-1), for every x.
    """
    # log1p of the gap keeps the precision when the last purchase is close to T
    return np.log(a) - np.log(b + x + (shift - 1)) + (r + x) * np.log1p((T - t_x) / (alpha + t_x))


def _dropout_rows(x: np.ndarray, shift: int) -> np.ndarray:
    """Customers who may have dropped out: in BG/NBD only those with a repeat purchase."""
    return x > 0 if shift == 0 else np.ones(x.shape, dtype=bool)


def purchases_log_likelihood(params, x, t_x, T, *, kind="bgnbd") -> np.ndarray:
    """Log-likelihood of each customer's (x, t_x, T) under BG/NBD or MBG/NBD parameters."""
    shift = _check_kind(kind)
    r, alpha, a, b = _purchase_params(params)
    x, t_x, T = _history(x, t_x, T)
    alive = np.asarray(
        special.gammaln(r + x)
        - special.gammaln(r)
        + special.betaln(a, b + x + shift)
        - special.betaln(a, b)
        + r * np.log(alpha)
        - (r + x) * np.log(alpha + T)
    )
    # log(L_alive + L_dead) = log L_alive + log(1 + exp(odds)), without forming either
    d = _dropout_rows(x, shift)
    odds = _log_odds_dead(r, alpha, a, b, x[d], t_x[d], T[d], shift)
    alive[d] += np.logaddexp(0.0, odds)
    return alive


@dataclass(frozen=True)
class _PurchaseData:
    """A fit's data reduced to what the likelihood needs, time already rescaled."""

    n: float  # total weight
    ux: np.ndarray  # distinct x, with their total weight
    wx: np.ndarray
    uT: np.ndarray  # distinct T, with total weight and total weighted x
    wT: np.ndarray
    xT: np.ndarray
    dx: np.ndarray  # rows that carry a dropout term: x, t_x, T - t_x, x + shift - 1, weight
    dtx: np.ndarray
    dgap: np.ndarray
    dbx: np.ndarray
    dw: np.ndarray


def _distinct_counts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of the whole numbers x and the index of each x among them."""
    top = int(x.max()) if x.size else 0
    if top > 4 * x.size + 1024:  # sparse: a sort is cheaper than a table that long
        return np.unique(x, return_inverse=True)
    # counting is linear where sorting a million values takes a tenth of a second
    xi = x.astype(np.int64)
    present = np.bincount(xi, minlength=top + 1) > 0
    position = np.cumsum(present) - 1
    return np.flatnonzero(present).astype(float), position[xi]


def _purchase_data(x, t_x, T, w, shift) -> _PurchaseData:
    keep = w > 0
    x, t_x, T, w = x[keep], t_x[keep], T[keep], w[keep]
    ux, ix = _distinct_counts(x)
    uT, iT = np.unique(T, return_inverse=True)
    wT = np.bincount(iT, weights=w, minlength=uT.size)
    rep = x > 0
    dx, dtx, dT, dw = x[rep], t_x[rep], T[rep], w[rep]
    if shift:
        # MBG/NBD: one-time buyers carry the dropout term too; with t_x = 0 it depends on T
        # alone, so they collapse to one row per distinct T.
        w0 = np.bincount(iT[~rep], weights=w[~rep], minlength=uT.size)
        T0, w0 = uT[w0 > 0], w0[w0 > 0]
        dx = np.concatenate([dx, np.zeros(T0.size)])
        dtx = np.concatenate([dtx, np.zeros(T0.size)])
        dT = np.concatenate([dT, T0])
        dw = np.concatenate([dw, w0])
    return _PurchaseData(
        n=float(w.sum()),
        ux=ux,
        wx=np.bincount(ix, weights=w, minlength=ux.size),
        uT=uT,
        wT=wT,
        xT=np.bincount(iT, weights=w * x, minlength=uT.size),
        dx=dx,
        dtx=dtx,
        dgap=dT - dtx,
        dbx=dx + (shift - 1),
        dw=dw,
    )


def _dot(u: np.ndarray, v: np.ndarray) -> float:
    """u . v; long vectors through einsum's single-threaded loop, because OpenBLAS threads its
    dot above ~10k elements and waking those threads between the optimiser's calls costs more
    (tens of ms on two cores) than the sum itself."""
    return float(u @ v) if u.size < 8192 else float(np.einsum("i,i->", u, v))


def _softplus_expit(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log(1 + exp(v)) and 1 / (1 + exp(-v)) from one exp (np.logaddexp and expit are each
    several times slower than exp and log1p together, and this is the fit's inner loop)."""
    e = np.exp(-np.abs(v))
    return np.maximum(v, 0.0) + np.log1p(e), np.where(v >= 0, 1.0, e) / (1.0 + e)


# Longest table of log-Pochhammer sums worth building per evaluation; beyond it gammaln.
_POCHHAMMER_TABLE = 50_000


def _rising(v: float, n: np.ndarray, top: int) -> tuple[np.ndarray, np.ndarray]:
    """log Gamma(v + n) - log Gamma(v) and psi(v + n) - psi(v) for whole n <= top.

    As sums over j < n of log(v + j) and 1 / (v + j) they stay exact for a v in the millions
    (a Beta that has all but collapsed to a point), where the difference of two gammaln of
    size 1e9 keeps only a few digits and the optimiser's line search stalls on the noise.
    """
    if v < 1e3 or top > _POCHHAMMER_TABLE:  # below 1e3 the gammaln keep 1e-12: cheaper
        return special.gammaln(v + n) - special.gammaln(v), special.psi(v + n) - special.psi(v)
    j = np.arange(top)
    log_rise = np.concatenate(([0.0], np.cumsum(np.log1p(j / v)))) + np.log(v) * np.arange(top + 1)
    digamma_rise = np.concatenate(([0.0], np.cumsum(1.0 / (v + j))))
    index = n.astype(np.int64)
    return log_rise[index], digamma_rise[index]


def _purchase_objective(log_params, data: _PurchaseData, shift: int, penalizer: float):
    """Mean negative log-likelihood (plus penalty) and its gradient in log-parameters."""
    params = np.exp(log_params)
    r, alpha, a, b = params
    ux, wx = data.ux, data.wx
    top = int(ux[-1]) + shift
    # terms that depend on x alone: log Gamma(r+x)/Gamma(r) + log B(a, b+x+shift)/B(a, b)
    rise_r, psi_r = _rising(r, ux, top)
    rise_b, psi_b = _rising(b, ux + shift, top)
    rise_ab, psi_ab = _rising(a + b, ux + shift, top)
    ll = _dot(wx, rise_r + rise_b - rise_ab)
    g_r = _dot(wx, psi_r)
    g_a = -_dot(wx, psi_ab)
    g_b = _dot(wx, psi_b - psi_ab)
    # terms that depend on T alone: r log alpha - (r + x) log(alpha + T), as
    # -r log(1 + T/alpha) - x log(alpha + T) to stay exact when r and alpha run off together
    far = alpha + data.uT
    lift = np.log1p(data.uT / alpha)
    ll -= r * _dot(data.wT, lift) + _dot(data.xT, np.log(far))
    g_r -= _dot(data.wT, lift)
    g_alpha = r * _dot(data.wT, data.uT / (alpha * far)) - _dot(data.xT, 1.0 / far)
    # the dropout term log(1 + exp(odds)), row by row; its derivative is expit(odds) * d odds
    rx = r + data.dx
    near = alpha + data.dtx
    ratio = data.dgap / near
    log_ratio = np.log1p(ratio)
    odds = rx * log_ratio + (np.log(a) - np.log(b + data.dbx))
    softplus, dead = _softplus_expit(odds)
    ll += _dot(data.dw, softplus)
    s = data.dw * dead
    g_r += _dot(s, log_ratio)
    g_alpha -= _dot(s, rx * ratio / (near + data.dgap))
    g_a += s.sum() / a
    g_b -= _dot(s, 1.0 / (b + data.dbx))
    grad = -np.array([g_r, g_alpha, g_a, g_b]) * params / data.n
    value = -ll / data.n
    if penalizer:
        value += penalizer * (params @ params)
        grad += 2.0 * penalizer * params * params
    return value, grad


def _minimize(objective, x0, args, names):
    """L-BFGS-B on log-parameters; FitError unless it converged inside the bounds."""
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(x0)
    with np.errstate(over="ignore", under="ignore"):
        res = optimize.minimize(
            objective,
            x0,
            args=args,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-8},
        )
    if not (np.isfinite(res.fun) and np.all(np.isfinite(res.x))):
        raise FitError(f"did not converge: the likelihood is not finite ({res.message})")
    # A line search that stalls at the optimum (round-off in the last digits) is still a
    # solution; a real failure leaves a gradient far from zero.
    if not res.success and np.max(np.abs(res.jac)) > 1e-6:
        raise FitError(
            f"did not converge after {res.nit} iterations ({res.message.strip(': ')}): the "
            "likelihood is flat where the search ended, as when the data do not identify "
            "every parameter"
        )
    edge = [n for n, v in zip(names, res.x, strict=True) if abs(v) > _LOG_BOUND - 1e-3]
    if edge:
        raise FitError(
            f"did not converge: {', '.join(edge)} ran to the edge of its range, so the data do "
            "not identify it (e.g. nobody seems to drop out, or everyone buys at one rate)"
        )
    return res


def _interpolate_around(f, value, centre, step):
    """f(value) interpolated (cubic) from f at centre -2, -1, +1 and +2 steps, for a smooth f
    that cannot be evaluated accurately near the centre itself."""
    tau = (value - centre) / step
    nodes = (-2.0, -1.0, 1.0, 2.0)
    out = 0.0
    for j, s_j in enumerate(nodes):
        weight = 1.0
        for s_m in nodes[:j] + nodes[j + 1 :]:
            weight = weight * (tau - s_m) / (s_j - s_m)
        out = out + weight * f(centre + s_j * step)
    return out


def _c_ratio_hyp(e: float, beta, c, z) -> np.ndarray:
    """c (2F1(e, beta; c; z) - 1) / e by scipy's hyp2f1, stepping around its weak points.

    hyp2f1 returns nan, or loses digits, when c - e - beta is (within ~1e-8 of) an integer and
    z is near 1 (its z -> 1 - z transformation degenerates; e.g. r = 1.6, a = 2.6), and the
    ratio itself is 0/0 at e = 0 (a = 1) and 0 * inf at c = 0 (BG/NBD x = 0 with a + b = 1).
    The function is smooth in each argument, so within half a step of such a point it is
    interpolated (cubic) from points one and two _DEGENERATE_STEP away, where scipy is
    accurate: ~1e-12 relative error where scipy would give nan or a 1e-2 error.
    """
    step = _DEGENERATE_STEP
    if abs(e) < step / 2:
        return _interpolate_around(lambda v: _c_ratio_hyp(v, beta, c, z), e, 0.0, step)
    out = np.empty(z.shape)
    gap = c - e - beta
    frac = gap - np.round(gap)
    bad_c = np.abs(c) < step / 2
    bad_gap = ~bad_c & (np.abs(frac) < step / 2)
    good = ~(bad_c | bad_gap)
    out[good] = c[good] * (special.hyp2f1(e, beta[good], c[good], z[good]) - 1.0) / e
    if np.any(bad_c):
        b, zz = beta[bad_c], z[bad_c]
        out[bad_c] = _interpolate_around(
            lambda v: _c_ratio_hyp(e, b, np.full(b.shape, v), zz), c[bad_c], 0.0, step
        )
    if np.any(bad_gap):
        b, cc, zz = beta[bad_gap], c[bad_gap], z[bad_gap]
        out[bad_gap] = _interpolate_around(
            lambda v: _c_ratio_hyp(e, v, cc, zz), b, b + frac[bad_gap], step
        )
    return out


def _c_ratio(e: float, beta, c, z) -> np.ndarray:
    """c (2F1(e, beta; c; z) - 1) / e, finite at e = 0 and c = 0 (its limits there)."""
    out = np.empty(z.shape)
    # Where the series' term ratio (e+n)(beta+n)z / ((c+n)(n+1)) is at most 1/4 for every
    # n >= 1, sum the series from n = 1 with e and c divided out: subtracting 1 from 2F1 would
    # lose the digits of a small z (t much shorter than alpha + T).
    bound = z * max(1.0, abs(e)) * np.maximum(1.0, (np.abs(beta) + 1.0) / (c + 1.0))
    near = bound <= _SERIES_BOUND
    zs, bs, cs = z[near], beta[near], c[near]
    term = bs * zs
    total = term.copy()
    for n in range(1, 64):
        term = term * ((e + n) * (bs + n) * zs / ((cs + n) * (n + 1)))
        total += term
        if np.all(np.abs(term) <= 1e-17 * np.abs(total)):
            break
    out[near] = total
    far = ~near
    out[far] = _c_ratio_hyp(e, beta[far], c[far], z[far])
    return out


def _beta_gauss(a: float, B: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the n-point Gauss rule for the Beta(a, B) density on (0, 1): the
    eigen-decomposition of the Jacobi matrix of its orthogonal polynomials (Golub-Welsch),
    built in p itself so that nodes near 0 keep their relative precision."""
    al, be = B - 1.0, a - 1.0  # Jacobi's (1-y)^al (1+y)^be on (-1, 1), p = (1+y)/2
    j = np.arange(n, dtype=float)
    s = 2 * j + al + be
    # (1 + diagonal in y) / 2 with the 1 + ... done analytically: no cancellation near p = 0
    diagonal = ((2 * j + be) * (s + al) + 2 * s + be * be) / (2 * s * (s + 2))
    diagonal[0] = a / (a + B)  # the mean
    j, s = j[1:], s[1:]
    off = np.sqrt(j * (j + al) * (j + be) * (j + al + be) / (s * s * (s + 1) * (s - 1)))
    nodes, vectors = linalg.eigh_tridiagonal(diagonal, off)
    # a node far below the matrix's scale can come out as 0 or a hair below: the integrand's
    # value there is its limit k u, which the smallest positive p gives
    return np.maximum(nodes, 1e-300), vectors[0] ** 2


def _gauss_expectation(t, k, m, a: float, B, n: int) -> np.ndarray:
    """E[(1 - (1 + p t/m)^-k) / p], p ~ Beta(a, B), by the n-point Gauss rule of each B."""
    out = np.empty(t.shape)
    distinct, index = np.unique(B, return_inverse=True)
    rules = [_beta_gauss(a, v, n) for v in distinct]  # one per distinct x
    nodes = np.array([r[0] for r in rules])
    weights = np.array([r[1] for r in rules])
    u = t / m
    chunk = max(1, _GAUSS_CHUNK // n)  # bounded memory: rows x nodes at a time
    for lo in range(0, t.size, chunk):
        rows = slice(lo, lo + chunk)
        p = nodes[index[rows]]
        per_p = -np.expm1(-k[rows, None] * np.log1p(p * u[rows, None])) / p
        out[rows] = np.sum(weights[index[rows]] * per_p, axis=1)
    return out


def _expected_by_quadrature(t, k, m, a: float, B) -> np.ndarray:
    """The Gauss estimate, doubling the nodes for the rows where it has not settled yet.

    A Gauss rule converges geometrically, the slower the closer the integrand's branch point
    at p = -1/u comes to where the Beta has its mass, relative to the width of that mass: a
    few dozen nodes mostly; hundreds for a small a with k u of 1e6 (a customer of hundreds of
    purchases, t a thousand times alpha + T).
    """
    n = _GAUSS_NODES
    out = _gauss_expectation(t, k, m, a, B, n)
    open_rows = np.arange(t.size)
    while open_rows.size and n < _GAUSS_MAX_NODES:
        n *= 2
        finer = _gauss_expectation(t[open_rows], k[open_rows], m[open_rows], a, B[open_rows], n)
        settled = np.abs(finer - out[open_rows]) <= 1e-13 * np.abs(finer)
        out[open_rows] = finer
        open_rows = open_rows[~settled]
    return out


def _expected_while_alive(t, k, m, a: float, B) -> np.ndarray:
    """E[(1 - (1 + p t/m)^-k) / p] for p ~ Beta(a, B): purchases in the next t of a customer
    who is alive now, lambda ~ Gamma(k, m) and p ~ Beta(a, B) being their posteriors.

    The closed form (FHL 2005 eq. 10) is (a+B-1)/(a-1) [1 - (1-z)^k 2F1(k, B; a+B-1; z)] with
    z = t/(m+t). For k in the thousands that 2F1 overflows (it grows like (1-z)^-k) while the
    product stays below one, so Euler's transformation is used instead:
        (1-z)^k 2F1(k, B; c; z) = (1-z)^(a-1) 2F1(a-1, c-k; c; z),   c = a+B-1,
    whose first two arguments (a-1 and a+b-r-1, plus 1 in MBG/NBD) do not grow with x, and
    whose series converges the faster the larger c is. With e = a - 1 and L = log(1-z) the
    bracket divided by e is
        -L exprel(e L) - (1-z)^e (2F1 - 1) / e,
    which avoids the 0/0 at a = 1 and the cancellation of 1 - (a number near 1) for small t.
    For a large a or B (a Beta all but collapsed, as when the data show no spread in dropout)
    hyp2f1 loses digits (1e-8 at a = 1e4, 1e-5 at B = 3e5, nan at a = 2e5), but the integrand
    is smooth over the Beta's narrow support, where a Gauss rule of 32 nodes (doubled until
    it settles) is exact to machine precision from a = 20 or B = 1e4 on; it also takes the
    rows where hyp2f1 gives up.
    """
    t, k, m, B = np.broadcast_arrays(t, k, m, B)
    c = a + B - 1.0
    e = a - 1.0
    out = np.empty(t.shape)
    finite = np.isfinite(t)
    tf, kf, mf, Bf = t[finite], k[finite], m[finite], B[finite]
    value = np.empty(tf.shape)
    # a Beta that has all but collapsed (a or B large): the Gauss rule
    narrow = np.full(tf.shape, True) if a >= _GAUSS_A else Bf >= _GAUSS_B
    if np.any(narrow):
        value[narrow] = _expected_by_quadrature(tf[narrow], kf[narrow], mf[narrow], a, Bf[narrow])
    wide = ~narrow
    if np.any(wide):
        u = tf[wide] / mf[wide]
        z = u / (1.0 + u)
        L = -np.log1p(u)
        cw = c[finite][wide]
        with np.errstate(invalid="ignore", over="ignore"):
            cg = _c_ratio(e, cw - kf[wide], cw, z)
            hyp = cw * (-L * special.exprel(e * L)) - np.exp(e * L) * cg
        # hyp2f1 gives up (nan) when c - k is in the hundreds (b in the hundreds: hardly
        # anyone drops out) and t is hundreds of times alpha + T: the Gauss rule there too
        lost = ~np.isfinite(hyp)
        if np.any(lost):
            rows = np.flatnonzero(wide)[lost]
            hyp[lost] = _expected_by_quadrature(tf[rows], kf[rows], mf[rows], a, Bf[rows])
        value[wide] = hyp
    out[finite] = value
    # t = inf: every purchase the customer will ever make, finite only when E[1/p] is (a > 1)
    out[~finite] = c[~finite] / e if a > 1 else np.inf
    return out


@dataclass(frozen=True)
class PurchaseModel:
    """A fitted BG/NBD or MBG/NBD model; time in the unit of the data it was fitted on."""

    kind: str
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float = float("nan")
    customers: int = 0
    iterations: int = 0

    def __post_init__(self):
        _check_kind(self.kind)
        _purchase_params(self.params())

    def params(self) -> dict[str, float]:
        """The parameters by name: r, alpha, a, b."""
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}

    @property
    def _shift(self) -> int:
        return KINDS.index(self.kind)

    def p_alive(self, x, t_x, T) -> np.ndarray:
        """P(the customer is still alive at T | x, t_x, T), shaped like the broadcast inputs."""
        x, t_x, T = _history(x, t_x, T)
        alive = np.ones(x.shape)
        # BG/NBD: nobody drops out before their first repeat purchase
        d = _dropout_rows(x, self._shift)
        odds = _log_odds_dead(self.r, self.alpha, self.a, self.b, x[d], t_x[d], T[d], self._shift)
        alive[d] = special.expit(-odds)
        return alive

    def expected_purchases(self, t, x, t_x, T) -> np.ndarray:
        """E[repeat purchases in (T, T+t] | x, t_x, T]; t may be inf (for a > 1)."""
        t = _numeric("t", t)
        if np.any(np.isnan(t)) or np.any(t < 0):
            raise ValueError("t must be a non-negative time (or inf)")
        x, t_x, T = _history(x, t_x, T)
        # alive customers' posterior: lambda ~ Gamma(r+x, alpha+T), p ~ Beta(a, b+x+shift)
        while_alive = _expected_while_alive(
            t, self.r + x, self.alpha + T, self.a, self.b + x + self._shift
        )
        return self.p_alive(x, t_x, T) * while_alive

    def expected_purchases_new(self, t) -> np.ndarray:
        """E[X(t)]: repeat purchases in its first t of a customer just acquired."""
        # a new customer is one observed for T = 0; for MBG/NBD that includes the chance
        # b/(a+b) of surviving the first purchase, for BG/NBD P(alive) is 1
        return self.expected_purchases(t, 0.0, 0.0, 0.0)


def fit_purchases(x, t_x, T, *, kind="bgnbd", weights=None, penalizer=0.0) -> PurchaseModel:
    """Fit BG/NBD or MBG/NBD by maximum likelihood to per-customer (x, t_x, T) (rows weighted)."""
    shift = _check_kind(kind)
    x, t_x, T = (np.ravel(a) for a in _history(x, t_x, T))
    w = np.ravel(_weights(weights, x.shape))
    penalizer = float(penalizer)
    if not (np.isfinite(penalizer) and penalizer >= 0):
        raise ValueError(f"penalizer must be a non-negative number, got {penalizer}")
    if x.size == 0 or w.sum() == 0:
        raise FitError("no customers to fit")
    if (w * x).sum() == 0:
        raise FitError("no repeat purchases to fit")
    scale = float(T.max())
    if scale == 0:
        raise FitError("no time observed: T is 0 for every customer")
    # Rescale time so the longest T is 1: alpha is then of order one whatever the time unit,
    # which conditions the problem and makes the penalty unit-free (as in `lifetimes`).
    data = _purchase_data(x, t_x / scale, T / scale, w, shift)
    # Start at r = 1 with alpha matching the mean purchase rate, and p ~ Beta(1, 3) (a dropout
    # chance of about 1/4 after each purchase).
    rate = _dot(w, x) / _dot(w, T) * scale
    x0 = np.log([1.0, 1.0 / rate, 1.0, 3.0])
    res = _minimize(_purchase_objective, x0, (data, shift, penalizer), PURCHASE_PARAMS)
    r, alpha, a, b = np.exp(res.x)
    alpha *= scale
    # back to the caller's time unit: each of the x purchase-time densities scales by 1/scale
    mean_ll = -_purchase_objective(res.x, data, shift, 0.0)[0]
    ll = data.n * mean_ll - _dot(w, x) * np.log(scale)
    return PurchaseModel(
        kind=kind,
        r=float(r),
        alpha=float(alpha),
        a=float(a),
        b=float(b),
        log_likelihood=float(ll),
        customers=int(round(w.sum())),
        iterations=int(res.nit),
    )


# --- spend model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpendModel:
    """A fitted Gamma-Gamma model of the mean value of a customer's orders."""

    p: float
    q: float
    gamma: float
    log_likelihood: float = float("nan")
    customers: int = 0
    iterations: int = 0

    def __post_init__(self):
        for name in SPEND_PARAMS:
            _positive(name, getattr(self, name))
        if self.q <= 1:
            raise ValueError(f"q must exceed 1 for the mean order value to be finite, got {self.q}")

    def params(self) -> dict[str, float]:
        """The parameters by name: p, q, gamma."""
        return {"p": self.p, "q": self.q, "gamma": self.gamma}

    def expected_spend(self, x, zbar) -> np.ndarray:
        """E[mean value per order | x, zbar]; the population mean p*gamma/(q-1) where x is 0."""
        x, zbar = _spend_history(x, zbar)
        rep = x > 0
        if np.any(rep & ~(np.isfinite(zbar) & (zbar >= 0))):
            raise ValueError("zbar must be a finite, non-negative value where x > 0")
        p, q, g = self.p, self.q, self.gamma
        # posterior mean of p/nu: a weighted average of the population mean and zbar
        zb = np.where(rep, zbar, 0.0)
        return (p * g + p * x * zb) / (p * x + q - 1.0)


def _spend_history(x, zbar) -> tuple[np.ndarray, np.ndarray]:
    x, zbar = _numeric("x", x), _numeric("zbar", zbar)
    try:
        x, zbar = np.broadcast_arrays(x, zbar)
    except ValueError:
        raise ValueError(f"x and zbar must have one shape, got {x.shape}, {zbar.shape}") from None
    return _check_counts(x), zbar


def _log_gamma_ratio(z: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """log Gamma(z + q) - log Gamma(z) and psi(z + q) - psi(z).

    For z of 100 and more from Stirling's series written as a difference, because the
    difference of two gammaln of size z log z keeps only 1e-16 z log z of absolute precision
    (1e-8 at z = 1e9: a spend model whose p runs off when every order of a customer has the
    same value), and the line search then stalls on the noise.
    """
    big = z >= 100.0
    if not big.any():  # the common case, taken whole
        return special.gammaln(z + q) - special.gammaln(z), special.psi(z + q) - special.psi(z)
    zs, zb = z[~big], z[big]
    log_ratio, psi_ratio = np.empty(z.shape), np.empty(z.shape)
    log_ratio[~big] = special.gammaln(zs + q) - special.gammaln(zs)
    psi_ratio[~big] = special.psi(zs + q) - special.psi(zs)
    w = zb + q
    inv_w, inv_z = 1.0 / w, 1.0 / zb
    # log Gamma(v) = (v - 1/2) log v - v + log(2 pi)/2 + 1/(12 v) - 1/(360 v^3) + 1/(1260 v^5)
    log_ratio[big] = (
        (zb - 0.5) * np.log1p(q * inv_z)
        + q * np.log(w)
        - q
        + (inv_w - inv_z) / 12.0
        - (inv_w**3 - inv_z**3) / 360.0
        + (inv_w**5 - inv_z**5) / 1260.0
    )
    # psi(v) = log v - 1/(2 v) - 1/(12 v^2) + 1/(120 v^4) - 1/(252 v^6)
    psi_ratio[big] = (
        np.log1p(q * inv_z)
        - (inv_w - inv_z) / 2.0
        - (inv_w**2 - inv_z**2) / 12.0
        + (inv_w**4 - inv_z**4) / 120.0
        - (inv_w**6 - inv_z**6) / 252.0
    )
    return log_ratio, psi_ratio


def _spend_objective(log_params, ux, wx, n, xm, w, wx_rows, const_xm, const_m):
    """Mean negative Gamma-Gamma log-likelihood and its gradient in log-parameters.

    Per repeat buyer (m = zbar rescaled): log Gamma(px+q)/Gamma(px) - log Gamma(q) - log m
    - p x log(1 + gamma/(x m)) - q log(1 + x m/gamma), the log1p forms keeping the terms
    exact when p or q is large instead of differences of large logarithms.
    """
    params = np.exp(log_params)
    p, q, g = params
    px = p * ux
    ratio, psi_ratio = _log_gamma_ratio(px, q)
    ll = _dot(wx, ratio) - n * special.gammaln(q) - const_m
    g_p = _dot(wx * ux, psi_ratio)
    g_q = _dot(wx, special.psi(px + q)) - n * special.psi(q)
    near = g + xm
    lift = np.log1p(g / xm)  # log(1 + gamma/(x m)); log(1 + x m/gamma) is lift + log(x m/gamma)
    sum_x_lift = _dot(wx_rows, lift)
    sum_far = _dot(w, lift) + const_xm - n * np.log(g)
    ll -= p * sum_x_lift + q * sum_far
    g_p -= sum_x_lift
    g_q -= sum_far
    inv_near = 1.0 / near
    g_g = n * q / g - p * _dot(wx_rows, inv_near) - q * _dot(w, inv_near)
    return -ll / n, -np.array([g_p, g_q, g_g]) * params / n


def fit_spend(x, zbar, *, weights=None) -> SpendModel:
    """Fit the Gamma-Gamma spend model by maximum likelihood on the repeat buyers (x > 0)."""
    x, zbar = (np.ravel(a) for a in _spend_history(x, zbar))
    w = np.ravel(_weights(weights, x.shape))
    rep = (x > 0) & (w > 0)
    if np.any(rep & ~np.isfinite(zbar)):
        raise ValueError(
            f"zbar must be finite where x > 0 ({_first_bad(rep & ~np.isfinite(zbar))})"
        )
    if np.any(np.isfinite(zbar) & (zbar < 0)):
        raise ValueError(f"zbar must not be negative ({_first_bad(zbar < 0)} negative)")
    if np.any(rep & (zbar == 0)):
        raise ValueError(
            f"zbar must be positive where x > 0 ({_first_bad(rep & (zbar == 0))} zero): "
            "leave out repeat buyers whose orders were all free"
        )
    x, zbar, w = x[rep], zbar[rep], w[rep]
    n = float(w.sum())
    if n == 0:
        raise FitError("no repeat purchases to fit")
    if n < MIN_SPEND_CUSTOMERS:
        raise FitError(f"need at least {MIN_SPEND_CUSTOMERS} repeat buyers, got {n:g}")
    # Rescale money so the mean zbar is 1 (gamma is then of order one whatever the currency).
    scale = float(_dot(w, zbar) / n)
    m = zbar / scale
    ux, ix = _distinct_counts(x)
    wx = np.bincount(ix, weights=w, minlength=ux.size)
    const_xm = _dot(w, np.log(x * m))
    const_m = _dot(w, np.log(m))
    # start at p = 1, q = 2 and gamma matching the population mean p*gamma/(q-1) to mean zbar
    x0 = np.log([1.0, 2.0, 1.0])
    args = (ux, wx, n, x * m, w, w * x, const_xm, const_m)
    res = _minimize(_spend_objective, x0, args, SPEND_PARAMS)
    p, q, g = np.exp(res.x)
    g *= scale
    # back to the caller's money: the density of zbar scales by 1/scale
    ll = -n * _spend_objective(res.x, *args)[0] - n * np.log(scale)
    if q <= 1:
        raise FitError(f"q = {q:.4g} <= 1: the mean order value would be infinite")
    return SpendModel(
        p=float(p),
        q=float(q),
        gamma=float(g),
        log_likelihood=float(ll),
        customers=int(round(n)),
        iterations=int(res.nit),
    )
