"""`guanxi loyalty …` through the command line."""

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from guanxi.loyalty.models import LoyaltyProgram, Member
from tests.factories import make_order

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("guanxi_loyalty", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_award_gives_history_its_points_then_expires_and_evaluates(admin, rep, customer):
    program = LoyaltyProgram.current()
    program.is_active = False
    program.save()
    make_order(
        rep, customer, total="100", ordered_at=(timezone.now() - dt.timedelta(days=900)).isoformat()
    )
    make_order(rep, customer, total="6000")
    program.is_active = True
    program.save()
    out, _err = run("award")
    assert "Awarded 6,200 points to 2 orders of 1 members (1 enrolled)" in out
    assert "Expired 200 points" in out  # the old order's lot (100 + first-order bonus)
    assert "1 up" in out
    member = Member.objects.get(customer=customer)
    assert (member.balance, member.tier.key) == (6000, "gold")


def test_expire_with_a_time_and_evaluate_tiers(admin, rep, customer):
    make_order(rep, customer, total="50")
    later = (timezone.now() + dt.timedelta(days=800)).date().isoformat()
    out, _err = run("expire", "--at", later)
    assert "Expired 150 points of 1 members" in out
    out, _err = run("evaluate-tiers")
    assert "Tiers evaluated for 1 members" in out


def test_a_bad_date_names_the_option_and_exits_2(db, capsys):
    with pytest.raises(SystemExit) as e:
        call_command("guanxi_loyalty", "expire", "--at", "soon", stderr=io.StringIO())
    assert e.value.code == 2


def test_backtest_prints_both_sides_and_json(admin, rep, customer, tmp_path):
    make_order(rep, customer, total="1000")
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"base_rate": "2", "rules": []}), encoding="utf-8")
    out, _err = run("backtest", "--rules", str(rules), "--threshold", "gold=500")
    assert "current" in out and "proposed" in out
    assert "1,100" in out and "3,000" in out  # v1: 1000 + 100; proposal: 2 × 1000 × 1.5 (gold)
    out, _err = run("backtest", "--json", "--months", "3")
    result = json.loads(out)
    assert result["current"]["points"] == 1100 and result["months"] == 3
