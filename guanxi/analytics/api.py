"""Customer value analytics over REST: a customer's value, RFM, lifetime value, cohorts."""

from ninja import Router, Status

from guanxi.core.api import ERRORS, READ_ERRORS

from . import selectors, services
from .choices import SegmentScheme
from .models import AnalyticsSettings
from .schemas import (
    ClvOut,
    CohortsOut,
    CustomerValueOut,
    MonthOut,
    ParetoOut,
    RefreshIn,
    RefreshOut,
    RfmOut,
    SettingsOut,
    SettingsPatch,
)

router = Router(tags=["analytics"])


@router.get("/customers/{int:customer_id}/value", response={200: CustomerValueOut, **READ_ERRORS})
def customer_value(request, customer_id: int):
    """A customer's recency, frequency, monetary value, RFM scores and segment, historical
    and predicted value, P(alive), each as of the latest refresh."""
    return selectors.customer_value(actor=request.user, customer_id=customer_id)


@router.get("/analytics/rfm", response={200: RfmOut, **READ_ERRORS})
def rfm(request, scheme: SegmentScheme | None = None):
    """RFM segment sizes and revenue shares of the customers you may see."""
    return selectors.rfm_summary(actor=request.user, scheme=scheme)


@router.get("/analytics/clv", response={200: ClvOut, **READ_ERRORS})
def clv(request):
    """The fitted purchase and spend models and the lifetime-value and P(alive)
    distributions of the customers you may see."""
    return selectors.clv_summary(actor=request.user)


@router.get("/analytics/cohorts", response={200: CohortsOut, **READ_ERRORS})
def cohorts(request):
    """Retention by first-order month, of the customers you may see."""
    return selectors.cohorts(actor=request.user)


@router.get("/analytics/months", response={200: list[MonthOut], **READ_ERRORS})
def months(request):
    """Revenue, orders, average order value, buyers and churn rate per month."""
    return selectors.months(actor=request.user)


@router.get("/analytics/pareto", response={200: ParetoOut, **READ_ERRORS})
def pareto(request):
    """What share of revenue the best customers bring (the Pareto curve)."""
    return selectors.pareto(actor=request.user)


@router.post("/analytics/refresh", response={202: RefreshOut, **ERRORS})
def refresh(request, payload: RefreshIn):
    """Queue a recomputation of every customer's value as of a date (managers, admins)."""
    job = services.value_refresh_request(actor=request.user, as_of=payload.as_of)
    return Status(202, job)


@router.get("/analytics/refreshes/{int:refresh_id}", response={200: RefreshOut, **READ_ERRORS})
def refresh_get(request, refresh_id: int):
    """A refresh: its status, the models it fitted, their diagnostics and timings."""
    return selectors.refresh_get(actor=request.user, refresh_id=refresh_id)


@router.get("/analytics/settings", response={200: SettingsOut, **READ_ERRORS})
def settings_get(request):
    """How value is scored and predicted."""
    return AnalyticsSettings.current()


@router.patch("/analytics/settings", response={200: SettingsOut, **ERRORS})
def settings_update(request, payload: SettingsPatch):
    """Change the value settings (admins)."""
    return services.analytics_settings_update(
        actor=request.user, data=payload.dict(exclude_unset=True)
    )
