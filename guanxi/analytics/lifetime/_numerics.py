"""Shared pieces of the value models: input checks, the optimiser, fast sums."""

import numpy as np
from scipy import optimize, special

# Log-parameters live in [-_LOG_BOUND, _LOG_BOUND] (on the rescaled units): one pinned at
# the edge is an artefact of the range, reported instead of returned as an estimate.
_LOG_BOUND = 18.0


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
