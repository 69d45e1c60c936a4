from datetime import date, datetime
from decimal import Decimal

from ninja import Field, Schema

from guanxi.core.api import StrictIn

from .choices import PurchaseModelKind, SegmentScheme


class ValueChangeOut(Schema):
    as_of: date
    r_score: int | None
    f_score: int | None
    m_score: int | None
    segment: str
    segment_label: str
    segment_cn: str
    segment_named: str
    p_alive: float | None
    lifetime_value: Decimal | None
    historical_value: Decimal


class CustomerValueOut(Schema):
    customer: int
    computed: bool = Field(description="False until a refresh has computed this customer.")
    as_of: date | None
    orders: int | None
    repeat_purchases: int | None
    first_order_on: date | None
    last_order_on: date | None
    recency_days: int | None
    historical_value: Decimal | None
    average_order_value: Decimal | None
    r_score: int | None
    f_score: int | None
    m_score: int | None
    segment: str
    segment_label: str
    segment_scheme: SegmentScheme
    segment_cn: str | None
    segment_named: str | None
    p_alive: float | None
    purchases_90: float | None
    purchases_365: float | None
    expected_order_value: Decimal | None
    value_90: Decimal | None
    value_365: Decimal | None
    lifetime_value: Decimal | None
    model: str = Field(description="The purchase model of the refresh (bgnbd or mbgnbd).")
    history: list[ValueChangeOut] = Field(
        description="The scores each time they changed, newest first (at most 24)."
    )


class SegmentOut(Schema):
    segment: str
    label: str
    customers: int
    customer_share: float
    revenue: float
    revenue_share: float
    orders: int


class RfmOut(Schema):
    as_of: date | None
    scheme: SegmentScheme
    high_score: int | None
    buyers: int
    revenue: float
    segments: list[SegmentOut]


class ModelOut(Schema):
    name: str
    label: str
    parameters: dict[str, float]
    log_likelihood: float | None
    time_unit: str = Field(description="The time unit of the rate parameters (alpha): week.")
    as_of: date
    customers: int


class SpendModelOut(Schema):
    name: str
    label: str
    parameters: dict[str, float]
    log_likelihood: float | None
    customers: int


class BinOut(Schema):
    low: float | None
    high: float | None
    customers: int
    amount: float


class HoldoutGroupOut(Schema):
    purchases: int
    customers: int
    actual: float
    predicted: float


class HoldoutOut(Schema):
    until: date
    weeks: float
    actual: float
    predicted: float
    by_purchases: list[HoldoutGroupOut]


class ClvOut(Schema):
    as_of: date | None
    model: ModelOut | None
    spend_model: SpendModelOut | None
    lifetime_years: int | None
    discount_rate: float | None
    customers: int
    lifetime_value_total: float
    lifetime_value_mean: float | None
    expected_alive: float
    lifetime_value_distribution: list[BinOut]
    p_alive_distribution: list[BinOut]
    holdout: HoldoutOut | None
    problems: list[str]


class CohortOut(Schema):
    cohort: str = Field(description="First-order month, YYYY-MM.")
    customers: int
    active: list[int] = Field(description="Customers buying 0, 1, 2 … months after.")
    retention: list[float]


class CohortsOut(Schema):
    as_of: date | None
    cohorts: list[CohortOut]


class MonthOut(Schema):
    month: str
    orders: int
    revenue: float
    average_order_value: float | None
    buyers: int
    new_buyers: int
    active_at_start: int
    churned: int
    churn_rate: float | None
    churn_days: int | None


class ParetoPointOut(Schema):
    customers: float
    revenue: float


class ParetoOut(Schema):
    buyers: int
    revenue: float
    top_20_share: float | None
    curve: list[ParetoPointOut]


class RefreshIn(StrictIn):
    as_of: date | None = Field(None, description="End of the observation window; default today.")


class RefreshOut(Schema):
    id: int
    as_of: date
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str
    customers: int
    buyers: int
    repeat_buyers: int
    purchase_model: str
    purchase_params: dict
    purchase_log_likelihood: float | None
    spend_params: dict
    spend_log_likelihood: float | None
    time_unit: str
    diagnostics: dict
    timings: dict


class SettingsOut(Schema):
    segment_scheme: SegmentScheme
    high_score: int
    active_days: int
    purchase_model: PurchaseModelKind
    churn_days: int
    lifetime_years: int
    discount_rate: Decimal
    nightly: bool
    nightly_hour: int


class SettingsPatch(StrictIn):
    segment_scheme: str | None = None
    high_score: int | None = None
    active_days: int | None = None
    purchase_model: str | None = None
    churn_days: int | None = None
    lifetime_years: int | None = None
    discount_rate: Decimal | None = None
    nightly: bool | None = None
    nightly_hour: int | None = None
