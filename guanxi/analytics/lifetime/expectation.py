"""E[purchases while alive]: Euler-transformed 2F1, its series and Gauss rules (BG/NBD, MBG/NBD)."""

import numpy as np
from scipy import linalg, special

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
