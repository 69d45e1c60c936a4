"""Value tiers: thresholds and percentiles, the re-evaluation report, the spend-rise rule."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from guanxi.segments.choices import EvaluationKind
from guanxi.segments.models import CustomerTier, Tier, TierEvaluation, TierMove, TierSettings
from guanxi.segments.services.tiers import (
    tier_on_order,
    tier_settings_update,
    tiers_evaluate,
    tiers_monthly,
)
from tests.factories import make_customer, make_order


def ago(days):
    return timezone.now() - dt.timedelta(days=days)


def tier_of(customer) -> str:
    return CustomerTier.objects.get(customer=customer).tier.name


@pytest.fixture
def spenders(rep):
    out = {}
    for name, amount in [("大客户", "30000.00"), ("中客户", "8000.00"), ("小客户", "300.00")]:
        c = make_customer(rep, name=name)
        make_order(rep, c, ordered_at=ago(30), total=amount)
        out[name] = c
    out["未购"] = make_customer(rep, name="未购")
    old = make_customer(rep, name="老账")
    make_order(rep, old, ordered_at=ago(400), total="90000.00")  # outside the rolling year
    out["老账"] = old
    return out


def test_thresholds_sort_customers_by_annual_spend(admin, spenders):
    tier_settings_update(actor=admin, data={"method": "threshold"})
    evaluation = tiers_evaluate(actor=admin)
    assert {n: tier_of(c) for n, c in spenders.items()} == {
        "大客户": "VIP", "中客户": "高潜力", "小客户": "普通", "未购": "普通", "老账": "普通",
    }  # fmt: skip
    assert evaluation.customers == 5
    assert (evaluation.moved, evaluation.up, evaluation.down) == (2, 2, 0)
    move = TierMove.objects.get(customer=spenders["大客户"])
    assert move.from_tier is None and move.to_tier.name == "VIP"
    assert "30,000.00" in move.reason and "20,000.00" in move.reason


def test_percentiles_take_the_top_shares_of_buyers(admin, rep):
    customers = []
    for i in range(20):
        c = make_customer(rep, name=f"客户{i:02d}")
        make_order(rep, c, ordered_at=ago(10), total=f"{(i + 1) * 100}.00")
        customers.append(c)
    tiers_evaluate(actor=admin)  # default: percentiles, VIP top 5%, high potential next 15%
    names = {c.name: tier_of(c) for c in customers}
    assert [n for n, t in names.items() if t == "VIP"] == ["客户19"]
    assert sorted(n for n, t in names.items() if t == "高潜力") == ["客户16", "客户17", "客户18"]
    latest = TierEvaluation.objects.first()
    vip = Tier.objects.get(name="VIP")
    assert latest.cuts[str(vip.pk)] == 2000.0


def test_the_report_says_who_moved_down_and_why(admin, rep, spenders):
    tier_settings_update(actor=admin, data={"method": "threshold"})
    tiers_evaluate(actor=admin)
    Tier.objects.filter(name="VIP").update(min_value=Decimal("50000"))
    second = tiers_evaluate(actor=admin, kind=EvaluationKind.MONTHLY)
    assert (second.moved, second.down) == (1, 1)
    move = TierMove.objects.get(evaluation=second)
    assert (move.from_tier.name, move.to_tier.name) == ("VIP", "高潜力")
    assert "below VIP" in move.reason
    high = Tier.objects.get(name="高潜力").pk
    vip = Tier.objects.get(name="VIP").pk
    assert second.summary == [{"from": vip, "to": high, "count": 1}]


def test_annual_spend_up_by_half_re_evaluates_at_once(admin, rep, spenders):
    tier_settings_update(actor=admin, data={"method": "threshold"})
    tiers_evaluate(actor=admin)
    middle = spenders["中客户"]
    make_order(rep, middle, ordered_at=ago(1), total="2000.00")  # +25%: not yet
    assert tier_of(middle) == "高潜力"
    make_order(rep, middle, ordered_at=ago(1), total="12000.00")  # 22,000: +175%
    assert tier_of(middle) == "VIP"
    move = TierMove.objects.filter(customer=middle).first()
    assert move.evaluation.kind == "spend_rise"
    assert "annual spend up 175%" in move.reason and "8,000.00 → 22,000.00" in move.reason


def test_the_spend_rule_can_be_switched_off(admin, rep, spenders):
    tier_settings_update(actor=admin, data={"method": "threshold", "rise_share": None})
    tiers_evaluate(actor=admin)
    make_order(rep, spenders["中客户"], ordered_at=ago(1), total="30000.00")
    assert tier_of(spenders["中客户"]) == "高潜力"
    assert tier_on_order(customer_id=spenders["中客户"].pk) is None


def test_monthly_runs_once_a_month(admin, spenders):
    first = tiers_monthly()
    assert first is not None and first.kind == "monthly"
    assert tiers_monthly() is None
    TierSettings.objects.update(monthly=False)
    TierEvaluation.objects.all().delete()
    assert tiers_monthly() is None


def test_a_rep_may_not_evaluate_or_configure(rep, spenders):
    from guanxi.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        tiers_evaluate(actor=rep)
    with pytest.raises(PermissionDenied):
        tier_settings_update(actor=rep, data={"method": "threshold"})


def test_bad_settings_are_named(admin):
    from guanxi.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as e:
        tier_settings_update(actor=admin, data={"method": "guess", "rise_share": -1})
    assert set(e.value.errors) == {"method", "rise_share"}
