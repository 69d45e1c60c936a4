"""Lifecycle stages moving by their rules, and the churn early warning."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from guanxi.customers.models import StageChange
from guanxi.interactions.models import Task, TimelineEvent
from guanxi.segments.models import ChurnCase, LifecycleSettings
from guanxi.segments.services.lifecycle import lifecycle_run, lifecycle_settings_update
from tests.factories import make_customer, make_order


def ago(days):
    return timezone.now() - dt.timedelta(days=days)


def stage(customer):
    customer.refresh_from_db()
    return customer.stage


def test_first_order_makes_a_lead_new_and_a_repeat_order_active(rep):
    c = make_customer(rep, name="新客")
    assert stage(c) == "lead"
    make_order(rep, c, ordered_at=ago(3))
    assert stage(c) == "new"
    make_order(rep, c, ordered_at=ago(1))
    assert stage(c) == "active"
    change = StageChange.objects.filter(customer=c).order_by("-at", "-id").first()
    assert (change.from_stage, change.to_stage) == ("new", "active")
    assert "repeat order" in change.cause
    assert TimelineEvent.objects.filter(customer=c, kind="stage_changed").count() == 2


def test_no_order_for_n_days_puts_a_customer_at_risk_with_the_reason(rep):
    quiet = make_customer(rep, name="沉默", emails=["quiet@example.com"])
    make_order(rep, quiet, ordered_at=ago(120), total="800.00")
    make_order(rep, quiet, ordered_at=ago(100), total="200.00")
    busy = make_customer(rep, name="活跃")
    make_order(rep, busy, ordered_at=ago(10))
    make_order(rep, busy, ordered_at=ago(5))
    result = lifecycle_run()
    assert result["at_risk"] == 1
    assert stage(quiet) == "at_risk" and stage(busy) == "active"
    case = ChurnCase.objects.get(customer=quiet)
    assert case.status == "open"
    assert [r["rule"] for r in case.reasons] == ["no_order"]
    assert case.reasons[0]["days"] == 100 and case.reasons[0]["threshold"] == 90
    assert case.value_at_risk == Decimal("1000.00")
    change = StageChange.objects.filter(customer=quiet, to_stage="at_risk").get()
    assert "no order for 100 days" in change.cause


def test_thresholds_are_settings(admin, rep):
    c = make_customer(rep, name="六十天")
    make_order(rep, c, ordered_at=ago(60))
    lifecycle_run()
    assert stage(c) == "new"
    lifecycle_settings_update(actor=admin, data={"at_risk_days": 30, "churned_days": 45})
    lifecycle_run()
    assert stage(c) == "at_risk"
    lifecycle_run()
    assert stage(c) == "churned"
    assert ChurnCase.objects.get(customer=c).status == "churned"


def test_settings_refuse_bad_values_and_reps(admin, rep):
    from guanxi.core.errors import PermissionDenied, ValidationFailed

    with pytest.raises(ValidationFailed) as e:
        lifecycle_settings_update(actor=admin, data={"at_risk_days": 200, "churned_days": 100})
    assert "churned_days" in e.value.errors
    with pytest.raises(ValidationFailed) as e:
        lifecycle_settings_update(actor=admin, data={"at_risk_p_alive": 2})
    assert "at_risk_p_alive" in e.value.errors
    with pytest.raises(PermissionDenied):
        lifecycle_settings_update(actor=rep, data={"at_risk_days": 30})
    assert LifecycleSettings.current().at_risk_days == 90


def test_low_p_alive_is_a_reason_of_its_own(rep, admin):
    from guanxi.analytics.models import CustomerValue

    c = make_customer(rep, name="概率低")
    make_order(rep, c, ordered_at=ago(40))
    make_order(rep, c, ordered_at=ago(20))
    CustomerValue.objects.create(
        customer=c, as_of=timezone.localdate(), orders=2, p_alive=0.12,
        historical_value=Decimal("200"), lifetime_value=Decimal("350.00"),
    )  # fmt: skip
    lifecycle_run()
    case = ChurnCase.objects.get(customer=c)
    assert [r["rule"] for r in case.reasons] == ["p_alive"]
    assert case.reasons[0]["p_alive"] == 0.12
    assert case.value_at_risk == Decimal("350.00")


def test_spend_drop_is_named_among_the_reasons(rep):
    c = make_customer(rep, name="降级")
    make_order(rep, c, ordered_at=ago(500), total="5000.00")
    make_order(rep, c, ordered_at=ago(100), total="500.00")
    lifecycle_run()
    rules = {r["rule"]: r for r in ChurnCase.objects.get(customer=c).reasons}
    assert set(rules) == {"no_order", "spend_drop"}
    assert rules["spend_drop"]["drop"] == 0.9


def test_the_owner_is_alerted_in_the_app_and_by_email_and_given_a_task(rep, immediate_tasks):
    from guanxi.notifications.models import Notification

    rep.email = "rep1@example.com"
    rep.save()
    c = make_customer(rep, name="沉默")
    make_order(rep, c, ordered_at=ago(100))
    with immediate_tasks(execute=True):
        lifecycle_run()
    note = Notification.objects.get(recipient=rep, kind="churn_risk")
    assert note.customer_id == c.pk and "沉默" in note.params["name"]
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["rep1@example.com"]
    task = Task.objects.get(customer=c)
    assert task.owner == rep and task.priority == "high" and "沉默" in task.title
    assert ChurnCase.objects.get(customer=c).task_id == task.pk


def test_an_order_wins_back_an_at_risk_or_churned_customer(rep):
    c = make_customer(rep, name="回来了")
    make_order(rep, c, ordered_at=ago(100))
    lifecycle_run()
    assert stage(c) == "at_risk"
    make_order(rep, c, ordered_at=ago(300))  # an old order entered late is no win-back
    assert stage(c) == "at_risk"
    make_order(rep, c, ordered_at=timezone.now())
    assert stage(c) == "active"
    case = ChurnCase.objects.get(customer=c)
    assert case.status == "won_back" and case.closed_at is not None
    change = StageChange.objects.filter(customer=c).order_by("-at", "-id").first()
    assert "win-back" in change.cause


def test_terminated_customers_are_left_alone(rep, manager):
    from guanxi.customers.models import Customer

    c = make_customer(rep, name="已终止")
    make_order(rep, c, ordered_at=ago(200))
    Customer.objects.filter(pk=c.pk).update(stage="terminated")
    lifecycle_run()
    assert stage(c) == "terminated"
    assert not ChurnCase.objects.filter(customer=c).exists()


def test_switched_off_nothing_moves(admin, rep):
    lifecycle_settings_update(actor=admin, data={"enabled": False})
    c = make_customer(rep, name="关")
    make_order(rep, c, ordered_at=ago(3))
    make_order(rep, c, ordered_at=ago(2))
    assert stage(c) == "new"
    assert lifecycle_run()["at_risk"] == 0


def test_the_daily_run_catches_up_with_orders_that_came_in_bulk(rep):
    from guanxi.orders.models import Order

    lead = make_customer(rep, name="导入一单")
    two = make_customer(rep, name="导入两单")
    for i, (c, n) in enumerate([(lead, 1), (two, 2)]):
        for j in range(n):  # as an import writes them: no per-order hook
            Order.objects.create(
                customer=c, number=f"IMP-{i}-{j}", ordered_at=ago(5 + j), status="paid",
                total=Decimal("10"),
            )  # fmt: skip
    result = lifecycle_run()
    assert (result["new"], result["active"]) == (1, 1)
    assert (stage(lead), stage(two)) == ("new", "active")
