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

from ._numerics import FitError
from .purchases import (
    KINDS,
    PURCHASE_PARAMS,
    PurchaseModel,
    fit_purchases,
    purchases_log_likelihood,
)
from .spend import MIN_SPEND_CUSTOMERS, SPEND_PARAMS, SpendModel, fit_spend

__all__ = [
    "KINDS", "MIN_SPEND_CUSTOMERS", "PURCHASE_PARAMS", "SPEND_PARAMS", "FitError",
    "PurchaseModel", "SpendModel", "fit_purchases", "fit_spend", "purchases_log_likelihood",
]  # fmt: skip
