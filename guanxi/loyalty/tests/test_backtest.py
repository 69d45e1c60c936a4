"""The rule backtest over real orders: the current side is what the ledger holds, the
proposal is priced the same way, tiers and liability follow."""

import datetime as dt

import pytest
from django.db.models import Sum
from django.utils import timezone

from guanxi.core.errors import PermissionDenied, ValidationFailed
from guanxi.loyalty.models import LedgerEntry, Member
from guanxi.loyalty.services.backtest import backtest
from tests.factories import make_customer, make_order

pytestmark = pytest.mark.django_db


def _orders(rep):
    now = timezone.now()
    a, b = make_customer(rep, name="甲"), make_customer(rep, name="乙")
    make_order(rep, a, total="1000", ordered_at=(now - dt.timedelta(days=500)).isoformat())
    make_order(rep, a, total="2000", ordered_at=(now - dt.timedelta(days=100)).isoformat())
    make_order(rep, b, total="300", ordered_at=(now - dt.timedelta(days=20)).isoformat())
    make_order(rep, b, total="4500", ordered_at=(now - dt.timedelta(days=10)).isoformat())
    return a, b


def test_the_current_side_is_what_the_orders_earned(admin, rep):
    a, b = _orders(rep)
    result = backtest(actor=admin, proposal={}, months=12)
    window = timezone.now() - dt.timedelta(days=365)
    # Orders within the year, priced at the tiers the current thresholds give today: a has
    # spent 2,000 (silver) and b 4,800 (silver), so no multiplier; b's first order +100.
    earned = LedgerEntry.objects.filter(at__gte=window, order__isnull=False).aggregate(
        n=Sum("points"))["n"]  # fmt: skip
    assert result["current"]["points"] == earned == 2000 + 300 + 100 + 4500
    assert result["orders"] == 3 and result["customers"] == 2
    assert sum(result["current"]["per_month"]) == result["current"]["points"]
    assert result["current"]["tiers"] == {"silver": 2, "gold": 0, "platinum": 0}
    assert result["current"]["liability"] == sum(Member.objects.values_list("balance", flat=True))


def test_a_proposal_with_double_points_and_lower_thresholds(admin, rep):
    _orders(rep)
    result = backtest(
        actor=admin,
        proposal={"base_rate": "2", "rules": [], "thresholds": {"gold": 4000}},
        months=12,
    )
    # Gold from 4,000 (b, 4,800 spent) multiplies b's orders by 1.5 (×2 base: +1 × base).
    assert result["proposed"]["tiers"] == {"silver": 1, "gold": 1, "platinum": 0}
    assert result["proposed"]["points"] == 2000 * 2 + (300 + 4500) * 2 + (300 + 4500) * 1
    assert (
        result["difference"]["points"] == result["proposed"]["points"] - result["current"]["points"]
    )
    assert result["proposed"]["liability"] == (
        result["current"]["liability"] + result["difference"]["points"]
    )


def test_backtest_names_bad_input_and_is_for_managers_of_the_program(admin, rep):
    with pytest.raises(ValidationFailed) as e:
        backtest(actor=admin, proposal={"rules": [{"kind": "x"}], "thresholds": {"nope": 1}},
                 months=0)  # fmt: skip
    assert {"months", "rules[0].kind", "thresholds.nope"} <= set(e.value.errors)
    with pytest.raises(PermissionDenied):
        backtest(actor=rep, proposal={}, months=12)


def test_backtest_over_the_api_and_its_page(admin, rep, client, api):
    _orders(rep)
    r = api(admin).post("loyalty/backtest", {"base_rate": "2", "rules": [], "months": 12})
    assert r.status_code == 200, r.content
    assert r.json()["proposed"]["points"] == (2000 + 300 + 4500) * 2
    assert api(rep).post("loyalty/backtest", {"months": 12}).status_code == 403
    bad = api(admin).post("loyalty/backtest", {"rules": [{"kind": "multiplier"}]})
    assert bad.status_code == 422 and "rules[0].name" in bad.json()["errors"]
    from guanxi.loyalty.models import RuleVersion

    version = RuleVersion.objects.get(number=1)
    client.force_login(admin)
    url = f"/admin/loyalty/ruleversion/{version.pk}/backtest/"
    assert client.get(url).status_code == 200
    page = client.post(url, {"months": 12, "threshold_silver": "0", "threshold_gold": "4000",
                             "threshold_platinum": "20000"})  # fmt: skip
    assert page.status_code == 200
    assert "3 orders of 2 customers" in page.content.decode()
    client.force_login(rep)
    assert client.get(url).status_code == 404


def test_a_category_rule_counts_only_the_lines_of_its_category(admin, rep, customer):
    make_order(rep, customer, lines=[
        {"product_name": "龙井", "category": "茶叶", "quantity": 1, "unit_price": "200"},
        {"product_name": "茶杯", "category": "器具", "quantity": 1, "unit_price": "50"},
    ])  # fmt: skip
    rules = [{"name": "茶叶", "kind": "multiplier", "factor": 3, "categories": ["茶叶"]}]
    result = backtest(actor=admin, proposal={"rules": rules}, months=12)
    assert result["proposed"]["points"] == 250 + 2 * 200
