"""BG/NBD, MBG/NBD and Gamma-Gamma: the published CDNOW estimates, and every prediction checked
against the model computed another way (closed forms written out with `math`, integration over
the latent rate and dropout probability, simulation). Pure numpy/scipy: no database."""

import math

import numpy as np
import pytest
from scipy import integrate, optimize

from guanxi.analytics import lifetime
from guanxi.analytics.lifetime import (
    FitError,
    PurchaseModel,
    SpendModel,
    fit_purchases,
    fit_spend,
    purchases,
    purchases_log_likelihood,
    spend,
)

from .cdnow import cdnow_file

PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_SPEND = {"p": 6.25, "q": 3.74, "gamma": 15.44}
# the CDNOW fits (each agrees with `lifetimes` to 1e-6), for the prediction tests
CDNOW_BGNBD = PurchaseModel("bgnbd", r=0.2425929, alpha=4.4135315, a=0.7928861, b=2.4257534)
CDNOW_MBGNBD = PurchaseModel("mbgnbd", r=0.5248377, alpha=6.1829897, a=0.8913563, b=1.6140005)


def cdnow_summary() -> dict[str, np.ndarray]:
    path = cdnow_file("cdnow_customers_summary_with_transactions.csv")
    data = np.genfromtxt(path, delimiter=",", names=True)
    return {name: data[name] for name in data.dtype.names}


def collapse(*columns):
    """The distinct rows of the columns and how many times each occurs."""
    rows, counts = np.unique(np.column_stack(columns), axis=0, return_counts=True)
    return (*rows.T, counts)


def simulate(kind, n, *, r, alpha, a, b, seed, T=None):
    """(x, t_x, T) of n customers drawn from the model itself, observed for T (or U(26, 78))."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(26.0, 78.0, n) if T is None else np.full(n, float(T))
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    possible = rng.poisson(lam * T)  # purchases by T had the customer never dropped out
    # repeat purchases before dropping out: BG/NBD can drop out only after one, MBG/NBD also
    # right after the first purchase
    lasting = rng.geometric(p) - (kind == "mbgnbd")
    x = np.minimum(possible, lasting)
    t_x = np.zeros(n)
    rep = x > 0
    # given `possible` arrivals in (0, T), the x-th of them is T times a Beta(x, possible-x+1)
    t_x[rep] = T[rep] * rng.beta(x[rep], possible[rep] - x[rep] + 1)
    return x.astype(float), t_x, T


def relative(got, want):
    return abs(got / want - 1.0)


# --- written out independently of the module -------------------------------------------------


def bgnbd_likelihood_by_hand(params, x, t_x, T, kind):
    """FHL (2005) eq. 6 / Batislam et al. (2007): the likelihood as the sum of its two branches."""
    r, alpha, a, b = params
    shift = kind == "mbgnbd"

    def log_beta(u, v):
        return math.lgamma(u) + math.lgamma(v) - math.lgamma(u + v)

    rate = math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha)
    alive = log_beta(a, b + x + shift) - log_beta(a, b) + rate - (r + x) * math.log(alpha + T)
    if x == 0 and not shift:
        return alive
    dead = log_beta(a + 1, b + x - 1 + shift) - log_beta(a, b) + rate
    dead -= (r + x) * math.log(alpha + t_x)
    top = max(alive, dead)
    return top + math.log(math.exp(alive - top) + math.exp(dead - top))


def p_alive_by_hand(params, x, t_x, T, kind):
    """FHL's note 021 (BG/NBD) and Batislam et al. (2007) eq. 5 (MBG/NBD)."""
    r, alpha, a, b = params
    if kind == "bgnbd":
        if x == 0:
            return 1.0
        odds = a / (b + x - 1)
    else:
        odds = a / (b + x)
    return 1.0 / (1.0 + odds * math.exp((r + x) * math.log((alpha + T) / (alpha + t_x))))


TIGHT = {"epsabs": 0.0, "epsrel": 1e-10}  # relative only: the integrals are rescaled


def posterior_by_integration(kind, params, x, t_x, T, t):
    """P(alive at T) and E[purchases in (T, T+t]] given (x, t_x, T), by integrating the model
    numerically over the latent purchase rate lam and dropout probability p.

    Prior: lam ~ Gamma(r, alpha), p ~ Beta(a, b). The history has two branches: alive at T,
    (1-p)^x lam^x e^(-lam T) (one more (1-p) in MBG/NBD, for surviving the first purchase), or
    dropped out right after the last purchase, p (1-p)^(x-1) lam^x e^(-lam t_x) (x > 0; with
    (1-p)^x in MBG/NBD, for every x). An alive customer then buys at rate lam and drops out
    after each purchase with probability p: E[count in t] = sum over n of (1-p)^(n-1) P(N(t) >=
    n) = (1 - exp(-lam p t)) / p.
    """
    r, alpha, a, b = params
    mbg = kind == "mbgnbd"
    k = r + x

    def log_alive(lam, p):
        return (k - 1) * math.log(lam) - lam * (alpha + T) + (b - 1 + x + mbg) * math.log1p(-p)

    def log_dead(lam, p):
        log_p = math.log(p) if p > 0 else -math.inf
        return (
            (k - 1) * math.log(lam)
            - lam * (alpha + t_x)
            + log_p
            + (b - 2 + x + mbg) * math.log1p(-p)
        )

    # everything relative to the alive branch's peak, so exp() stays in range for large x
    lam_mode = max(k - 1, 1e-3) / (alpha + T)
    shift = log_alive(lam_mode, 0.0)
    lam_top = (k + 40 * math.sqrt(k) + 40) / (alpha + t_x)
    peaks = sorted({lam_mode, max(k - 1, 1e-3) / (alpha + t_x)})
    p_cut = min(0.5, 50.0 / (b + x))

    def integral(f):
        def over_lam(p):
            value, _ = integrate.quad(
                lambda lam: f(lam, p), 0, lam_top, points=peaks, limit=400, **TIGHT
            )
            return value

        # the p^(a-1) of the prior as quad's algebraic weight near 0, where it is singular
        near, _ = integrate.quad(
            over_lam, 0, p_cut, weight="alg", wvar=(a - 1, 0), limit=200, **TIGHT
        )
        far, _ = integrate.quad(lambda p: over_lam(p) * p ** (a - 1), p_cut, 1, **TIGHT)
        return near + far

    def future(lam, p):
        per_p = -math.expm1(-lam * p * t) / p if p > 0 else lam * t
        return math.exp(log_alive(lam, p) - shift) * per_p

    alive = integral(lambda lam, p: math.exp(log_alive(lam, p) - shift))
    dead = integral(lambda lam, p: math.exp(log_dead(lam, p) - shift)) if x > 0 or mbg else 0.0
    return alive / (alive + dead), integral(future) / (alive + dead)


def expected_by_integration_over_p(model, x, t_x, T, t):
    """E[purchases in (T, T+t]] as P(alive) times an integral over the dropout probability
    alone: given p, the Gamma(r+x, alpha+T) posterior of lam turns the (1 - exp(-lam p t)) / p
    of an alive customer into (1 - (1 + p t/(alpha+T))^-(r+x)) / p, and p ~ Beta(a, b+x[+1]).
    For Betas too narrow for `posterior_by_integration`: quad over a window around the mode."""
    r, alpha, a, b = model.params().values()
    k, u = r + x, t / (alpha + T)
    B = b + x + (model.kind == "mbgnbd")
    mode = (a - 1) / (a + B - 2) if a > 1 else 0.5 / (a + B)
    width = math.sqrt(a * B / ((a + B) ** 2 * (a + B + 1)))

    def log_density(p):  # relative to the mode, normalised below by integrating it too
        return (a - 1) * math.log(p / mode) + (B - 1) * (math.log1p(-p) - math.log1p(-mode))

    def per_p(p):
        return -math.expm1(-k * math.log1p(p * u)) / p

    # break the range at the Beta's bulk and, for a long horizon, where p t/(alpha+T) is 1
    breaks = {mode + j * width for j in (-40, -8, -2, 0, 2, 8, 40)} | {1.0 / max(u, 1.0)}
    pieces = [0.0, *sorted(v for v in breaks if 0 < v < 1), 1.0]
    # the mass is about `width` (the density is 1 at the mode): far pieces hold next to none
    opts = {"epsabs": 1e-13 * width, "epsrel": 1e-11, "limit": 200}
    total = mass = 0.0
    for lo, hi in zip(pieces[:-1], pieces[1:], strict=True):
        value, _ = integrate.quad(lambda p: per_p(p) * math.exp(log_density(p)), lo, hi, **opts)
        weight, _ = integrate.quad(lambda p: math.exp(log_density(p)), lo, hi, **opts)
        total, mass = total + value, mass + weight
    total /= mass
    return p_alive_by_hand(tuple(model.params().values()), x, t_x, T, model.kind) * total


def cdnow_summary_from_transactions():
    """The calibration summary rebuilt from the transaction log as the README describes it:
    up to 1997-09-30 inclusive, purchases on one day counted as one, time in weeks."""
    raw = np.loadtxt(cdnow_file("CDNOW_sample.txt"), dtype=str)
    customer = raw[:, 1].astype(int)
    day = np.array([f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in raw[:, 2]], dtype="datetime64[D]")
    value = raw[:, 4].astype(float)
    end = np.datetime64("1997-09-30")
    keep = day <= end
    customer, day, value = customer[keep], day[keep].astype(np.int64), value[keep]
    days, index = np.unique(np.column_stack([customer, day]), axis=0, return_inverse=True)
    day_value = np.bincount(index.ravel(), weights=value)  # rows come sorted by customer, day
    first = np.flatnonzero(np.r_[True, days[1:, 0] != days[:-1, 0]])
    count = np.diff(np.r_[first, len(days)])
    x = count - 1
    t_x = (days[first + count - 1, 1] - days[first, 1]) / 7.0
    T = (end.astype(np.int64) - days[first, 1]) / 7.0
    repeat_total = np.add.reduceat(day_value, first) - day_value[first]
    zbar = np.where(x > 0, repeat_total / np.maximum(x, 1), 0.0)
    return days[first, 0], x.astype(float), t_x, T, zbar


# --- fitting CDNOW ----------------------------------------------------------------------------


def test_bgnbd_fit_on_cdnow_reproduces_the_published_estimates():
    data = cdnow_summary()
    model = fit_purchases(data["x"], data["t_x"], data["T"])
    assert model.kind == "bgnbd"
    for name, published in PUBLISHED_BGNBD.items():
        assert relative(model.params()[name], published) < 0.01, name
    assert abs(model.log_likelihood - -9582.4) < 0.5
    assert model.customers == 2357
    assert model.iterations > 0


def test_spend_fit_on_cdnow_repeat_buyers_reproduces_the_published_estimates():
    data = cdnow_summary()
    model = fit_spend(data["x"], data["zbar"])
    assert model.customers == 946
    for name, published in PUBLISHED_SPEND.items():
        assert relative(model.params()[name], published) < 0.01, name


def test_fit_on_summary_rebuilt_from_the_transaction_log_matches_the_csv():
    ids, x, t_x, T, zbar = cdnow_summary_from_transactions()
    data = cdnow_summary()
    # the CSV is the same summary rounded to two decimals
    assert np.array_equal(ids, data["ID"].astype(int))
    assert np.array_equal(x, data["x"])
    for got, want in ((t_x, data["t_x"]), (T, data["T"]), (zbar, data["zbar"])):
        assert np.max(np.abs(got - want)) <= 0.0051
    model = fit_purchases(x, t_x, T)
    for name, published in PUBLISHED_BGNBD.items():
        assert relative(model.params()[name], published) < 0.01, name
    spend = fit_spend(x, zbar)
    for name, published in PUBLISHED_SPEND.items():
        assert relative(spend.params()[name], published) < 0.01, name


@pytest.mark.parametrize("kind", lifetime.KINDS)
def test_fit_on_collapsed_rows_with_weights_equals_the_fit_on_every_customer(kind):
    data = cdnow_summary()
    plain = fit_purchases(data["x"], data["t_x"], data["T"], kind=kind)
    x, t_x, T, counts = collapse(data["x"], data["t_x"], data["T"])
    assert len(counts) < 1100  # 2,357 customers, 1,016 distinct histories
    weighted = fit_purchases(x, t_x, T, kind=kind, weights=counts)
    for name, value in plain.params().items():
        assert relative(weighted.params()[name], value) < 1e-6, name
    assert relative(weighted.log_likelihood, plain.log_likelihood) < 1e-9
    assert weighted.customers == plain.customers == 2357


def test_spend_fit_on_collapsed_rows_with_weights_equals_the_fit_on_every_customer():
    data = cdnow_summary()
    plain = fit_spend(data["x"], data["zbar"])
    x, zbar, counts = collapse(data["x"], data["zbar"])
    weighted = fit_spend(x, zbar, weights=counts)
    for name, value in plain.params().items():
        assert relative(weighted.params()[name], value) < 1e-6, name
    assert relative(weighted.log_likelihood, plain.log_likelihood) < 1e-9
    assert weighted.customers == plain.customers == 946


def test_zero_weights_leave_rows_out_of_the_fit():
    data = cdnow_summary()
    half = np.arange(len(data["x"])) % 2 == 0
    subset = fit_purchases(data["x"][half], data["t_x"][half], data["T"][half])
    weighted = fit_purchases(data["x"], data["t_x"], data["T"], weights=half.astype(float))
    for name, value in subset.params().items():
        assert relative(weighted.params()[name], value) < 1e-9, name
    assert weighted.customers == subset.customers


@pytest.mark.parametrize("kind", lifetime.KINDS)
def test_reported_log_likelihood_is_the_sum_of_the_per_customer_likelihoods(kind):
    data = cdnow_summary()
    model = fit_purchases(data["x"], data["t_x"], data["T"], kind=kind)
    per_customer = purchases_log_likelihood(
        model.params(), data["x"], data["t_x"], data["T"], kind=kind
    )
    assert per_customer.shape == (2357,)
    assert relative(per_customer.sum(), model.log_likelihood) < 1e-12


@pytest.mark.parametrize("kind", lifetime.KINDS)
def test_per_customer_log_likelihood_matches_the_likelihood_written_out(kind):
    params = (0.4, 5.0, 0.8, 2.2)
    for x, t_x, T in [(0, 0, 38.86), (1, 1.71, 38.86), (2, 30.43, 38.86), (29, 38, 38.86)]:
        got = purchases_log_likelihood(params, x, t_x, T, kind=kind)
        assert got.shape == ()
        assert float(got) == pytest.approx(bgnbd_likelihood_by_hand(params, x, t_x, T, kind))


def test_spend_log_likelihood_matches_the_gamma_gamma_density_written_out():
    data = cdnow_summary()
    model = fit_spend(data["x"], data["zbar"])
    p, q, g = model.p, model.q, model.gamma
    total = 0.0
    for x, z in zip(data["x"], data["zbar"], strict=True):
        if x > 0:  # Fader & Hardie (2013) eq. 3, the density of zbar given x
            total += (
                math.lgamma(p * x + q)
                - math.lgamma(p * x)
                - math.lgamma(q)
                + q * math.log(g)
                + (p * x - 1) * math.log(z)
                + p * x * math.log(x)
                - (p * x + q) * math.log(g + x * z)
            )
    assert relative(model.log_likelihood, total) < 1e-10


@pytest.mark.parametrize("kind", lifetime.KINDS)
@pytest.mark.parametrize("penalizer", [0.0, 0.05])
def test_analytic_gradient_matches_finite_differences(kind, penalizer):
    data = cdnow_summary()
    shift = lifetime.KINDS.index(kind)
    scale = data["T"].max()
    reduced = purchases._purchase_data(
        data["x"], data["t_x"] / scale, data["T"] / scale, np.ones(2357), shift
    )
    # the last: r, a and b in the thousands, where log-Gamma ratios are sums over tables
    starts = (
        [0.0, 1.0, 0.0, 1.0],
        [-1.4, -2.2, -0.2, 0.9],
        [1.0, 3.0, 1.5, -1.0],
        [8, 9, 7.5, 9.5],
    )
    for start in starts:
        value, grad = purchases._purchase_objective(np.array(start), reduced, shift, penalizer)
        numeric = optimize.approx_fprime(
            np.array(start),
            lambda v: purchases._purchase_objective(v, reduced, shift, penalizer)[0],
            1e-7,
        )
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)


def test_spend_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    x = rng.integers(1, 40, 500).astype(float)
    m = rng.gamma(3.0, 1.0, 500)
    w = rng.integers(1, 4, 500).astype(float)
    ux, inverse = np.unique(x, return_inverse=True)
    args = (ux, np.bincount(inverse, weights=w), w.sum(), x * m, w, w * x, 1.0, 2.0)
    # p x from below 1 to the thousands: both sides of the Stirling switch in log Gamma ratios
    for start in ([0.0, 0.5, 0.0], [1.8, 1.3, 2.7], [-1.0, 0.1, -0.5], [5.0, 1.0, 0.5]):
        _, grad = spend._spend_objective(np.array(start), *args)
        numeric = optimize.approx_fprime(
            np.array(start), lambda v: spend._spend_objective(v, *args)[0], 1e-7
        )
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", lifetime.KINDS)
def test_fit_recovers_the_parameters_of_simulated_customers(kind):
    true = {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5}
    x, t_x, T = simulate(kind, 50_000, **true, seed=11)
    model = fit_purchases(x, t_x, T, kind=kind)
    for name, value in true.items():
        assert relative(model.params()[name], value) < 0.15, name


def test_fit_spend_recovers_the_parameters_of_simulated_spend():
    rng = np.random.default_rng(5)
    n, p, q, gamma = 20_000, 4.0, 3.0, 20.0
    x = rng.integers(1, 12, n).astype(float)
    nu = rng.gamma(q, 1.0 / gamma, n)
    # the mean of x Gamma(p, nu) order values is Gamma(p x, nu x)
    zbar = rng.gamma(p * x, 1.0 / (nu * x))
    model = fit_spend(x, zbar)
    for name, value in {"p": p, "q": q, "gamma": gamma}.items():
        assert relative(model.params()[name], value) < 0.1, name


def test_the_fit_does_not_depend_on_the_time_unit():
    data = cdnow_summary()
    weeks = fit_purchases(data["x"], data["t_x"], data["T"])
    days = fit_purchases(data["x"], data["t_x"] * 7, data["T"] * 7)
    assert relative(days.alpha, weeks.alpha * 7) < 1e-6
    for name in ("r", "a", "b"):
        assert relative(days.params()[name], weeks.params()[name]) < 1e-6
    # the likelihood of a density in time changes by the unit: x log 7 per customer
    assert days.log_likelihood == pytest.approx(
        weeks.log_likelihood - data["x"].sum() * math.log(7)
    )


def test_penalizer_shrinks_the_parameters():
    data = cdnow_summary()
    plain = fit_purchases(data["x"], data["t_x"], data["T"])
    shrunk = fit_purchases(data["x"], data["t_x"], data["T"], penalizer=0.1)
    assert shrunk.b < plain.b
    assert shrunk.log_likelihood < plain.log_likelihood


# --- predictions ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [CDNOW_BGNBD, CDNOW_MBGNBD], ids=lambda m: m.kind)
def test_p_alive_matches_the_closed_form_written_out(model):
    data = cdnow_summary()
    got = model.p_alive(data["x"], data["t_x"], data["T"])
    params = tuple(model.params().values())
    want = [
        p_alive_by_hand(params, x, t_x, T, model.kind)
        for x, t_x, T in zip(data["x"], data["t_x"], data["T"], strict=True)
    ]
    np.testing.assert_allclose(got, want, rtol=1e-12)


CUSTOMERS = [
    pytest.param(0, 0.0, 38.86, 39.0, id="one-time buyer"),
    pytest.param(2, 30.43, 38.86, 39.0, id="typical"),
    pytest.param(300, 38.5, 38.86, 39.0, id="hundreds of purchases"),
    pytest.param(2000, 38.8, 38.86, 52.0, id="two thousand purchases"),
    pytest.param(5, 10.0, 50.0, 500.0, id="lapsed, long horizon"),
]


@pytest.mark.parametrize("model", [CDNOW_BGNBD, CDNOW_MBGNBD], ids=lambda m: m.kind)
@pytest.mark.parametrize(("x", "t_x", "T", "t"), CUSTOMERS)
def test_p_alive_and_expected_purchases_match_integration_over_rate_and_dropout(
    model, x, t_x, T, t
):
    alive, expected = posterior_by_integration(
        model.kind, tuple(model.params().values()), x, t_x, T, t
    )
    assert float(model.p_alive(x, t_x, T)) == pytest.approx(alive, rel=1e-8)
    assert float(model.expected_purchases(t, x, t_x, T)) == pytest.approx(expected, rel=1e-7)


@pytest.mark.parametrize(
    "model",
    [
        # a = 1: (a+b+x-1)/(a-1) of the closed form is 0/0
        PurchaseModel("bgnbd", r=0.5, alpha=3.0, a=1.0, b=3.0),
        # a + b = 1: the hypergeometric's c is 0 for a BG/NBD one-time buyer
        PurchaseModel("bgnbd", r=0.3, alpha=2.0, a=0.4, b=0.6),
        # r - a whole: scipy's hyp2f1 returns nan for t much longer than alpha + T
        PurchaseModel("mbgnbd", r=1.6, alpha=1.0, a=2.6, b=0.9),
        # a > 1 with a customer far beyond the purchases of the others
        PurchaseModel("bgnbd", r=1.3, alpha=2.0, a=2.5, b=7.0),
    ],
    ids=["a=1", "a+b=1", "r-a whole", "a>1"],
)
@pytest.mark.parametrize(("x", "t_x", "T", "t"), [(0, 0.0, 5.0, 5000.0), (3, 20.0, 30.0, 300.0)])
def test_expected_purchases_at_awkward_parameters_match_integration(model, x, t_x, T, t):
    _, expected = posterior_by_integration(model.kind, tuple(model.params().values()), x, t_x, T, t)
    assert float(model.expected_purchases(t, x, t_x, T)) == pytest.approx(expected, rel=1e-7)


@pytest.mark.parametrize(
    ("model", "x", "t_x", "T", "t"),
    [
        # no spread in dropout at all: the MBG/NBD fit of 41 look-alike customers and a heavy
        # buyer runs off to a = 2.2e5, b = 6.4e7 (p = 0.0034 for everyone)
        (PurchaseModel("mbgnbd", r=0.45, alpha=1.62, a=2.2e5, b=6.4e7), 4, 20.0, 30.0, 52.0),
        (PurchaseModel("mbgnbd", r=0.45, alpha=1.62, a=2.2e5, b=6.4e7), 299, 42.7, 52.0, 52.0),
        # a or b + x large (the Gauss rule's side): hyp2f1 would be off by 1e-5 in the second
        (PurchaseModel("bgnbd", r=0.5, alpha=10.0, a=100.0, b=300.0), 0, 0.0, 0.0, 10.0),
        (PurchaseModel("bgnbd", r=0.047, alpha=3.0, a=14.17, b=2.787e5), 0, 0.0, 7.0, 6.6),
        # b in the hundreds and t a thousand times alpha + T: hyp2f1 gives nan
        (PurchaseModel("bgnbd", r=0.5, alpha=1.0, a=0.64, b=338.0), 3, 20.0, 30.0, 5e4),
        (PurchaseModel("bgnbd", r=0.5, alpha=1.0, a=0.38, b=1.5e4), 300, 29.0, 30.0, 1e5),
    ],
    ids=["collapsed", "collapsed, heavy buyer", "a=100", "b in 1e5", "b in 100s", "b in 1e4"],
)
def test_expected_purchases_when_the_dropout_beta_is_narrow_match_integration(model, x, t_x, T, t):
    got = float(model.expected_purchases(t, x, t_x, T))
    assert np.isfinite(got)
    assert got == pytest.approx(expected_by_integration_over_p(model, x, t_x, T, t), rel=1e-8)


@pytest.mark.parametrize("model", [CDNOW_BGNBD, CDNOW_MBGNBD], ids=lambda m: m.kind)
def test_expected_purchases_of_a_new_customer_match_simulation(model):
    n, t = 400_000, 39.0
    # a customer observed for 0 weeks has made no repeat purchase yet; simulate the next t
    x, _, _ = simulate(model.kind, n, **model.params(), seed=7, T=t)
    mean, error = x.mean(), x.std() / math.sqrt(n)
    assert abs(float(model.expected_purchases_new(t)) - mean) < 4 * error
    # ... and it is the conditional expectation of a customer observed for no time at all
    assert float(model.expected_purchases_new(t)) == pytest.approx(
        float(model.expected_purchases(t, 0, 0, 0)), rel=1e-15
    )


@pytest.mark.parametrize("model", [CDNOW_BGNBD, CDNOW_MBGNBD], ids=lambda m: m.kind)
def test_expected_purchases_grow_from_zero_with_the_horizon(model):
    t = np.array([0.0, 1e-9, 1.0, 10.0, 100.0, 1e4, 1e7])
    got = model.expected_purchases(t, 2, 30.43, 38.86)
    assert got[0] == 0.0
    assert np.all(np.diff(got) > 0)
    # over a vanishing horizon: P(alive) times the posterior mean rate (r+x)/(alpha+T)
    rate = (model.r + 2) / (model.alpha + 38.86)
    assert got[1] == pytest.approx(float(model.p_alive(2, 30.43, 38.86)) * rate * 1e-9, rel=1e-6)
    # with a < 1, E[1/p] is infinite and so is the lifetime count
    assert model.a < 1 and np.isinf(model.expected_purchases(np.inf, 2, 30.43, 38.86))


def test_expected_purchases_over_an_infinite_horizon_are_the_expected_lifetime_count():
    model = PurchaseModel("bgnbd", r=1.3, alpha=2.0, a=2.5, b=7.0)
    x, t_x, T = 3, 20.0, 30.0
    # alive: 1/p more purchases on average, p ~ Beta(a, b + x) a posteriori
    lifetime_count = (model.a + model.b + x - 1) / (model.a - 1)
    want = float(model.p_alive(x, t_x, T)) * lifetime_count
    assert float(model.expected_purchases(np.inf, x, t_x, T)) == pytest.approx(want, rel=1e-12)
    assert float(model.expected_purchases(1e9, x, t_x, T)) == pytest.approx(want, rel=1e-6)


def test_predictions_broadcast_and_keep_the_shape_of_their_inputs():
    horizons = np.array([13.0, 26.0, 52.0])[:, None]
    got = CDNOW_BGNBD.expected_purchases(horizons, [0, 2, 7], [0.0, 30.43, 35.0], 38.86)
    assert got.shape == (3, 3)
    assert np.all(np.diff(got, axis=0) > 0)
    assert CDNOW_BGNBD.p_alive(2, 30.43, 38.86).shape == ()
    assert CDNOW_BGNBD.expected_purchases_new([13.0, 26.0]).shape == (2,)


def test_expected_spend_weighs_the_customers_mean_against_the_population_mean():
    model = SpendModel(p=6.25, q=3.74, gamma=15.44)
    population = model.p * model.gamma / (model.q - 1)
    x = np.array([0, 1, 4, 100])
    zbar = np.array([np.nan, 20.0, 55.0, 30.0])  # no spend to average where x is 0
    got = model.expected_spend(x, zbar)
    # Fader & Hardie (2013) eq. 5
    share = model.p * x / (model.p * x + model.q - 1)
    want = (1 - share) * population + share * np.nan_to_num(zbar)
    np.testing.assert_allclose(got, want, rtol=1e-14)
    assert got[0] == pytest.approx(population)
    assert abs(got[3] - 30.0) < abs(got[2] - 55.0)  # the more orders, the closer to zbar


def test_predictions_match_lifetimes_for_the_same_parameters():
    fitters = pytest.importorskip("lifetimes")
    pd = pytest.importorskip("pandas")
    data = cdnow_summary()
    x, t_x, T = data["x"], data["t_x"], data["T"]
    for model, fitter in (
        (CDNOW_BGNBD, fitters.BetaGeoFitter()),
        (CDNOW_MBGNBD, fitters.ModifiedBetaGeoFitter()),
    ):
        fitter.params_ = pd.Series(model.params())  # lifetimes predicting at our parameters
        np.testing.assert_allclose(
            model.p_alive(x, t_x, T), fitter.conditional_probability_alive(x, t_x, T), rtol=1e-10
        )
        for t in (1.0, 39.0, 520.0):
            want = fitter.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, T)
            np.testing.assert_allclose(model.expected_purchases(t, x, t_x, T), want, rtol=1e-9)
            want_new = fitter.expected_number_of_purchases_up_to_time(t)
            assert float(model.expected_purchases_new(t)) == pytest.approx(want_new, rel=1e-9)


def test_mbgnbd_fit_on_cdnow_matches_lifetimes():
    fitters = pytest.importorskip("lifetimes")
    data = cdnow_summary()
    reference = fitters.ModifiedBetaGeoFitter().fit(data["x"], data["t_x"], data["T"])
    model = fit_purchases(data["x"], data["t_x"], data["T"], kind="mbgnbd")
    for name, value in reference.params_.items():
        assert relative(model.params()[name], value) < 1e-3, name
    # the one-time buyers are not certainly alive in this model
    assert np.all(model.p_alive(np.zeros(3), np.zeros(3), data["T"][:3]) < 1)


def test_bgnbd_and_spend_fits_on_cdnow_match_lifetimes():
    fitters = pytest.importorskip("lifetimes")
    data = cdnow_summary()
    reference = fitters.BetaGeoFitter().fit(data["x"], data["t_x"], data["T"])
    model = fit_purchases(data["x"], data["t_x"], data["T"])
    for name, value in reference.params_.items():
        assert relative(model.params()[name], value) < 1e-4, name
    rep = data["x"] > 0
    spend_reference = fitters.GammaGammaFitter().fit(data["x"][rep], data["zbar"][rep])
    spend = fit_spend(data["x"], data["zbar"])
    for name, value in zip(("p", "q", "gamma"), spend_reference.params_, strict=True):
        assert relative(spend.params()[name], value) < 1e-4, name


def test_penalizer_is_the_penalizer_coef_of_lifetimes():
    fitters = pytest.importorskip("lifetimes")
    data = cdnow_summary()
    for kind, fitter in (
        ("bgnbd", fitters.BetaGeoFitter(penalizer_coef=0.1)),
        ("mbgnbd", fitters.ModifiedBetaGeoFitter(penalizer_coef=0.1)),
    ):
        reference = fitter.fit(data["x"], data["t_x"], data["T"])
        model = fit_purchases(data["x"], data["t_x"], data["T"], kind=kind, penalizer=0.1)
        for name, value in reference.params_.items():
            assert relative(model.params()[name], value) < 1e-4, (kind, name)


# --- edges ------------------------------------------------------------------------------------


def test_one_time_buyers_are_certainly_alive_in_bgnbd_but_not_in_mbgnbd():
    T = np.array([0.0, 1.0, 38.86, 500.0])
    zeros = np.zeros(4)
    assert np.all(CDNOW_BGNBD.p_alive(zeros, zeros, T) == 1.0)
    alive = CDNOW_MBGNBD.p_alive(zeros, zeros, T)
    assert np.all(alive < 1) and np.all(np.diff(alive) < 0)
    # just acquired: the chance b/(a+b) of not dropping out right after the first purchase
    m = CDNOW_MBGNBD
    assert alive[0] == pytest.approx(m.b / (m.a + m.b))


def test_fitting_only_one_time_buyers_raises_fit_error():
    with pytest.raises(FitError, match="no repeat purchases"):
        fit_purchases(np.zeros(100), np.zeros(100), np.full(100, 38.86))
    with pytest.raises(FitError, match="no repeat purchases"):
        fit_purchases(np.zeros(100), np.zeros(100), np.full(100, 38.86), kind="mbgnbd")


@pytest.mark.parametrize("kind", lifetime.KINDS)
def test_customer_with_two_thousand_purchases_gets_finite_results(kind):
    data = cdnow_summary()
    x = np.r_[data["x"], 2000.0]
    t_x = np.r_[data["t_x"], 38.8]
    T = np.r_[data["T"], 38.86]
    model = fit_purchases(x, t_x, T, kind=kind)
    assert all(np.isfinite(v) and v > 0 for v in model.params().values())
    assert np.isfinite(model.log_likelihood)
    alive = model.p_alive(2000, 38.8, 38.86)
    expected = model.expected_purchases(52.0, 2000, 38.8, 38.86)
    assert 0 < alive <= 1
    assert 0 < expected < 2000 * 52 / 38.8  # fewer than at the rate they have been buying
    assert np.isfinite(purchases_log_likelihood(model.params(), 2000, 38.8, 38.86, kind=kind))
    # more purchases never make the customer buy less
    more = model.expected_purchases(52.0, [500, 1000, 2000, 5000], 38.8, 38.86)
    assert np.all(np.isfinite(more)) and np.all(np.diff(more) > 0)


def test_empty_input_raises_fit_error():
    with pytest.raises(FitError, match="no customers"):
        fit_purchases([], [], [])
    with pytest.raises(FitError, match="no customers"):
        fit_purchases([1, 2], [3.0, 4.0], [5.0, 6.0], weights=[0, 0])
    with pytest.raises(FitError, match="no repeat purchases"):
        fit_spend([], [])


def test_spend_fit_without_repeat_buyers_raises_fit_error():
    with pytest.raises(FitError, match="no repeat purchases"):
        fit_spend(np.zeros(50), np.zeros(50))
    with pytest.raises(FitError, match="at least 5 repeat buyers"):
        fit_spend([0, 0, 1, 2, 3], [0.0, 0.0, 10.0, 12.0, 9.0])


def test_spend_fit_with_infinite_mean_raises_fit_error():
    # spend so heavy-tailed across customers that q falls to 1 or below
    rng = np.random.default_rng(1)
    zbar = np.exp(rng.normal(0.0, 4.0, 400))
    with pytest.raises(FitError, match="mean order value would be infinite"):
        fit_spend(np.ones(400), zbar)


def test_fit_that_cannot_identify_dropout_raises_fit_error():
    # every repeat buyer bought at the very end: no sign that anybody ever drops out
    rng = np.random.default_rng(0)
    T = np.full(2000, 52.0)
    x = rng.poisson(0.2 * T).astype(float)
    t_x = np.where(x > 0, T, 0.0)
    with pytest.raises(FitError, match="did not converge: a ran to the edge"):
        fit_purchases(x, t_x, T, penalizer=0.1)


def test_data_without_spread_in_dropout_give_the_limit_model_and_sound_predictions():
    # 40 look-alike customers (1 to 5 orders over half a year) and one who bought daily for
    # 300 days: MBG/NBD's likelihood grows towards a, b -> inf with a/(a+b) fixed
    rows = []
    for k in range(40):
        days = sorted({(k * 7 + j * 31) % 170 for j in range(k % 5 + 1)})
        rows.append((len(days) - 1, (days[-1] - days[0]) / 7, (178 - days[0]) / 7))
    rows.append((299, 299 / 7, 364 / 7))
    x, t_x, T = (np.array(column, dtype=float) for column in zip(*rows, strict=True))
    model = fit_purchases(x, t_x, T, kind="mbgnbd")
    assert model.a + model.b > 1e4
    assert 0.001 < model.a / (model.a + model.b) < 0.01
    assert (
        model.log_likelihood
        > fit_purchases(x, t_x, T, kind="mbgnbd", penalizer=1e-3).log_likelihood
    )
    alive = model.p_alive(x, t_x, T)
    expected = model.expected_purchases(52.0, x, t_x, T)
    assert np.all((alive >= 0) & (alive <= 1)) and np.all(np.isfinite(expected))
    # the heavy buyer stopped 65 days ago after buying daily: gone
    assert alive[-1] < 1e-10 and expected[-1] < 1e-8


def test_t_x_a_rounding_error_past_t_is_clipped_to_t():
    model = CDNOW_BGNBD
    assert float(model.p_alive(3, 38.865, 38.86)) == float(model.p_alive(3, 38.86, 38.86))
    ll = purchases_log_likelihood(model.params(), 3, 38.865, 38.86)
    assert float(ll) == float(purchases_log_likelihood(model.params(), 3, 38.86, 38.86))
    with pytest.raises(ValueError, match="t_x must not exceed T"):
        model.p_alive(3, 40.0, 38.86)


def test_repeat_purchases_on_the_day_of_the_first_are_allowed():
    model = fit_purchases([0, 1, 2, 3, 1], [0.0, 0.0, 10.0, 20.0, 5.0], [30.0] * 5)
    assert np.isfinite(model.log_likelihood)
    assert 0 < float(model.p_alive(1, 0.0, 30.0)) < 1


@pytest.mark.parametrize(
    ("x", "t_x", "T", "message"),
    [
        ([1, -1], [1.0, 1.0], [2.0, 2.0], "x must not be negative"),
        ([1, 1.5], [1.0, 1.0], [2.0, 2.0], "x must be whole numbers"),
        ([1, 1], [1.0, -1.0], [2.0, 2.0], "t_x must not be negative"),
        ([1, 1], [1.0, 1.0], [2.0, -2.0], "T must not be negative"),
        ([1, 1], [1.0, 3.0], [2.0, 2.0], "t_x must not exceed T"),
        ([1, 0], [1.0, 1.0], [2.0, 2.0], "t_x must be 0 where x is 0"),
        ([1, np.nan], [1.0, 1.0], [2.0, 2.0], "x must be finite"),
        ([1, 1], [1.0, 1.0], [2.0, np.inf], "T must be finite"),
        ([1, 1], [1.0, 1.0], [2.0, 2.0, 2.0], "shape"),
        (["a", 1], [1.0, 1.0], [2.0, 2.0], "x must be numeric"),
    ],
)
def test_invalid_histories_are_refused_naming_the_array(x, t_x, T, message):
    with pytest.raises(ValueError, match=message):
        fit_purchases(x, t_x, T)
    with pytest.raises(ValueError, match=message):
        CDNOW_BGNBD.p_alive(x, t_x, T)


def test_invalid_arguments_are_refused_with_a_clear_message():
    x, t_x, T = [1, 2], [1.0, 1.5], [2.0, 2.0]
    with pytest.raises(ValueError, match="kind must be one of"):
        fit_purchases(x, t_x, T, kind="pareto")
    with pytest.raises(ValueError, match="weights must not be negative"):
        fit_purchases(x, t_x, T, weights=[1, -1])
    with pytest.raises(ValueError, match="weights must have one value per customer"):
        fit_purchases(x, t_x, T, weights=[1, 1, 1])
    with pytest.raises(ValueError, match="penalizer"):
        fit_purchases(x, t_x, T, penalizer=-1)
    with pytest.raises(ValueError, match="t must be"):
        CDNOW_BGNBD.expected_purchases(-1.0, x, t_x, T)
    with pytest.raises(ValueError, match="zbar must be positive where x > 0"):
        fit_spend([1, 2, 3, 4, 5], [0.0, 1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="zbar must not be negative"):
        fit_spend([1, 2, 3, 4, 5], [-1.0, 1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="alpha must be a positive number"):
        PurchaseModel("bgnbd", r=1.0, alpha=0.0, a=1.0, b=1.0)
    with pytest.raises(ValueError, match="kind must be one of"):
        PurchaseModel("nbd", r=1.0, alpha=1.0, a=1.0, b=1.0)
    with pytest.raises(ValueError, match="q must exceed 1"):
        SpendModel(p=1.0, q=0.9, gamma=1.0)
    with pytest.raises(ValueError, match="x and zbar must have one shape"):
        fit_spend([1, 2, 3], [1.0, 2.0])
    with pytest.raises(FitError, match="no time observed"):
        fit_purchases([1, 2], [0.0, 0.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="params lacks b"):
        purchases_log_likelihood({"r": 1, "alpha": 1, "a": 1}, x, t_x, T)
