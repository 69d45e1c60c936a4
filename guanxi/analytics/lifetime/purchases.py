"""BG/NBD and MBG/NBD: likelihood, fit, P(alive) and expected purchases."""

from collections.abc import Mapping, Sequence
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
    _rising,
    _softplus_expit,
    _weights,
)
from .expectation import _expected_while_alive

KINDS = ("bgnbd", "mbgnbd")
PURCHASE_PARAMS = ("r", "alpha", "a", "b")
# t_x may exceed T by this share of the longest T: summaries rounded to two decimals of a week
# can put the last purchase a hair after the end of observation.
_T_X_TOLERANCE = 1e-3


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
