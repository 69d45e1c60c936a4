"""The Gamma-Gamma model of order value: fit and expected spend."""

from dataclasses import dataclass

import numpy as np
from scipy import special

from ._numerics import (
    FitError,
    _check_counts,
    _distinct_counts,
    _dot,
    _first_bad,
    _minimize,
    _numeric,
    _positive,
    _weights,
)

SPEND_PARAMS = ("p", "q", "gamma")

MIN_SPEND_CUSTOMERS = 5  # below this the three spend parameters are not identified


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
