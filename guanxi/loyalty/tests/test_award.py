"""The bulk award of history gives each order what the one-order path gives it."""

import datetime as dt

import pytest
from django.db.models import Min, Sum
from django.utils import timezone

from guanxi.loyalty import services
from guanxi.loyalty.models import LedgerEntry, LoyaltyProgram, Member
from guanxi.loyalty.services.award import orders_award
from guanxi.orders.services import order_update
from tests.factories import make_customer, make_order

pytestmark = pytest.mark.django_db


def _program(active: bool):
    program = LoyaltyProgram.current()
    program.is_active = active
    program.save()


def _history(rep, customer):
    now = timezone.now()
    saturday = now - dt.timedelta(days=(now.isoweekday() - 6) % 7 + 7)
    make_order(rep, customer, total="88.80", ordered_at=(now - dt.timedelta(days=400)).isoformat())
    make_order(rep, customer, ordered_at=saturday.isoformat(), channel="wechat", lines=[
        {"product_name": "龙井", "category": "茶叶", "quantity": 2, "unit_price": "120.50"},
        {"product_name": "茶杯", "category": "器具", "quantity": 1, "unit_price": "35"},
    ])  # fmt: skip
    make_order(rep, customer, total="9.99", channel="store")
    cancelled = make_order(rep, customer, total="500")
    order_update(actor=rep, order=cancelled, data={"status": "cancelled"})


def test_bulk_award_gives_what_each_order_would_have_earned(admin, rep):
    services.version_publish(actor=admin, version=services.version_draft(actor=admin, data={
        "rules": [
            {"name": "周末", "kind": "multiplier", "factor": 2, "weekdays": [6, 7]},
            {"name": "茶叶", "kind": "multiplier", "factor": "3", "categories": ["茶叶"]},
            {"name": "微信", "kind": "multiplier", "factor": "1.5", "channels": ["wechat"],
             "cap": 50},
            {"name": "首单", "kind": "bonus", "event": "first_order", "points": 88},
        ], "rounding": "nearest"},
    ), effective_from=timezone.now() - dt.timedelta(days=100))  # fmt: skip
    live = make_customer(rep, name="实时")
    _history(rep, live)
    _program(False)
    later = make_customer(rep, name="补发")
    _history(rep, later)
    assert not Member.objects.filter(customer=later).exists()
    _program(True)
    counts = orders_award()
    assert counts["orders"] == 3 and counts["enrolled"] == 1

    def points(customer):
        """(net points, rules version) of each order that holds points, oldest first."""
        net = (
            LedgerEntry.objects.filter(member__customer=customer, order__isnull=False)
            .values("order_id")
            .annotate(n=Sum("points"), v=Min("version"), at=Min("at"))
            .order_by("at")
        )
        return [(row["n"], row["v"]) for row in net if row["n"]]

    assert points(later) == points(live)
    assert points(live)[0][1] == 1 and points(live)[1][1] == 2  # v1 for the old order
    assert Member.objects.get(customer=later).balance == Member.objects.get(customer=live).balance
    assert orders_award()["orders"] == 0  # nothing twice


def test_bulk_award_fills_a_hole_before_making_lots(admin, rep, customer):
    order = make_order(rep, customer, total="300")  # 400
    services.points_redeem(actor=rep, customer=customer, points=400)
    order_update(actor=rep, order=order, data={"status": "refunded"})  # balance −400
    _program(False)
    make_order(rep, customer, total="1000")
    _program(True)
    orders_award()
    member = Member.objects.get(customer=customer)
    assert member.balance == 600
    lots = LedgerEntry.objects.filter(member=member).aggregate(n=Sum("remaining"))["n"]
    assert lots == 600


def test_bulk_award_leaves_non_members_alone_without_auto_enrolment(rep, customer):
    program = LoyaltyProgram.current()
    program.auto_enrol = False
    program.is_active = False
    program.save()
    make_order(rep, customer, total="50")
    program.is_active = True
    program.save()
    assert orders_award()["orders"] == 0
    assert not Member.objects.exists()
