"""Every field family, operator and nesting of segment rules, answered by the database."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from guanxi.core.errors import ValidationFailed
from guanxi.customers.services import customers_tag
from guanxi.segments import definition as rules
from guanxi.segments.selectors import definition_preview
from tests.factories import make_customer, make_order


def ago(days, hour=10):
    return timezone.now() - dt.timedelta(days=days, hours=0) + dt.timedelta(minutes=hour)


def names(admin, definition) -> set[str]:
    preview = definition_preview(actor=admin, definition=definition, sample=100)
    return {row["name"] for row in preview["sample"]}


@pytest.fixture
def people(rep, rep2, admin):
    from guanxi.customers.services import customer_update

    a = make_customer(
        rep,
        name="张北京",
        company_name="北京星辰科技有限公司",
        birthday=dt.date(1990, 5, 20),
        source="web",
        addresses=[{"province": "北京", "city": "北京"}],
    )
    b = make_customer(rep, name="李上海", source="store", addresses=[{"city": "上海"}])
    c = make_customer(rep2, name="王杭州", industry="制造", addresses=[{"city": "杭州"}])
    d = make_customer(rep2, name="赵无单")
    for days in (5, 40, 200):
        make_order(rep, a, ordered_at=ago(days), total="300.00")
    make_order(rep, b, ordered_at=ago(100), total="50.00")
    make_order(
        rep2,
        c,
        ordered_at=ago(10),
        total="80.00",
        channel="store",
        lines=[
            {
                "product_name": "绿茶",
                "category": "茶叶",
                "quantity": 1,
                "unit_price": "100.00",
                "discount": "20.00",
            },
        ],
    )
    customers_tag(actor=admin, customer_ids=[a.pk, c.pk], add=["VIP"])
    customers_tag(actor=admin, customer_ids=[a.pk], add=["老客户"])
    customer_update(actor=admin, customer=d, data={"stage": "at_risk"})
    return {"a": a, "b": b, "c": c, "d": d}


ALL = {"张北京", "李上海", "王杭州", "赵无单"}


CONDITIONS = [
    ({"field": "name", "op": "eq", "value": "张北京"}, {"张北京"}),
    ({"field": "name", "op": "ne", "value": "张北京"}, ALL - {"张北京"}),
    ({"field": "name", "op": "in", "value": ["张北京", "李上海"]}, {"张北京", "李上海"}),
    ({"field": "name", "op": "not_in", "value": ["张北京"]}, ALL - {"张北京"}),
    ({"field": "company_name", "op": "contains", "value": "星辰"}, {"张北京"}),
    ({"field": "company_name", "op": "not_contains", "value": "星辰"}, ALL - {"张北京"}),
    ({"field": "company_name", "op": "is_set", "value": True}, {"张北京"}),
    ({"field": "industry", "op": "is_set", "value": False}, ALL - {"王杭州"}),
    ({"field": "source", "op": "eq", "value": "store"}, {"李上海"}),
    ({"field": "stage", "op": "in", "value": ["at_risk"]}, {"赵无单"}),
    ({"field": "birthday", "op": "lt", "value": "1991-01-01"}, {"张北京"}),
    ({"field": "birthday", "op": "between", "value": ["1990-05-20", "1990-05-20"]}, {"张北京"}),
    ({"field": "birthday_month", "op": "eq", "value": 5}, {"张北京"}),
    ({"field": "birthday", "op": "is_set", "value": True}, {"张北京"}),
    ({"field": "created_at", "op": "gte", "value": "today"}, ALL),
    ({"field": "created_at", "op": "lt", "value": "-1d"}, set()),
    ({"field": "city", "op": "eq", "value": "北京"}, {"张北京"}),
    ({"field": "city", "op": "ne", "value": "北京"}, ALL - {"张北京"}),
    ({"field": "city", "op": "in", "value": ["上海", "杭州"]}, {"李上海", "王杭州"}),
    ({"field": "province", "op": "is_set", "value": True}, {"张北京"}),
    ({"field": "tags", "op": "contains", "value": ["VIP", "老客户"]}, {"张北京"}),
    ({"field": "tags", "op": "in", "value": ["VIP"]}, {"张北京", "王杭州"}),
    ({"field": "tags", "op": "not_in", "value": ["VIP"]}, {"李上海", "赵无单"}),
    ({"field": "tags", "op": "is_set", "value": False}, {"李上海", "赵无单"}),
    ({"field": "owner", "op": "eq", "value": "rep1"}, {"张北京", "李上海"}),
    ({"field": "owner", "op": "not_in", "value": ["rep1"]}, {"王杭州", "赵无单"}),
    ({"field": "orders.count", "op": "gte", "value": 2}, {"张北京"}),
    ({"field": "orders.count", "op": "gte", "value": 1, "days": 30}, {"张北京", "王杭州"}),
    ({"field": "orders.count", "op": "eq", "value": 0, "days": 30}, {"李上海", "赵无单"}),
    ({"field": "orders.count", "op": "lt", "value": 1}, {"赵无单"}),
    ({"field": "orders.count", "op": "eq", "value": 1, "channel": "store"}, {"王杭州"}),
    ({"field": "orders.sum", "op": "gt", "value": 500}, {"张北京"}),
    ({"field": "orders.sum", "op": "between", "value": [50, 100]}, {"李上海", "王杭州"}),
    ({"field": "orders.sum", "op": "lte", "value": 0}, {"赵无单"}),
    ({"field": "orders.avg", "op": "lt", "value": 100}, {"李上海", "王杭州"}),
    ({"field": "orders.last_at", "op": "lt", "value": "-90d"}, {"李上海"}),
    ({"field": "orders.first_at", "op": "gte", "value": "-30d"}, {"王杭州"}),
    ({"field": "orders.last_at", "op": "is_set", "value": False}, {"赵无单"}),
    ({"field": "orders.days_since_last", "op": "gte", "value": 90}, {"李上海"}),
    ({"field": "orders.days_since_last", "op": "lt", "value": 7}, {"张北京"}),
    ({"field": "orders.days_since_last", "op": "between", "value": [6, 11]}, {"王杭州"}),
    ({"field": "orders.product", "op": "eq", "value": "绿茶"}, {"王杭州"}),
    ({"field": "orders.product", "op": "contains", "value": "茶", "days": 30}, {"王杭州"}),
    ({"field": "orders.category", "op": "in", "value": ["茶叶"]}, {"王杭州"}),
    ({"field": "orders.category", "op": "ne", "value": "茶叶"}, ALL - {"王杭州"}),
    ({"field": "orders.categories", "op": "eq", "value": 1}, {"王杭州"}),
    ({"field": "orders.discount_share", "op": "gte", "value": 0.5}, {"王杭州"}),
    ({"field": "orders.refund_share", "op": "eq", "value": 0}, {"张北京", "李上海", "王杭州"}),
]


@pytest.mark.parametrize("condition, expected", CONDITIONS)
def test_each_operator_selects_the_right_customers(people, admin, condition, expected):
    assert names(admin, condition) == expected


def test_a_refresh_of_many_segments_shares_order_figures_and_agrees(people, admin):
    """A refresh of several segments answers order conditions from shared per-customer
    tables: every condition selects exactly what it selects alone."""
    from guanxi.segments.models import Segment
    from guanxi.segments.services import segment_create, segments_refresh

    made = []
    for i, (condition, expected) in enumerate(CONDITIONS):
        if condition["field"].startswith("orders."):
            seg = segment_create(actor=admin, data={"name": f"s{i}", "definition": condition})
            made.append((seg, condition, expected))
    Segment.objects.filter(pk__in=[m[0].pk for m in made]).update(member_count=0)
    from guanxi.segments.models import SegmentMembership

    SegmentMembership.objects.all().delete()
    segments_refresh(segment_ids=[m[0].pk for m in made])
    for seg, condition, expected in made:
        got = {
            m.customer.name
            for m in SegmentMembership.objects.filter(segment=seg, left_at__isnull=True)
        }
        assert got == expected, condition


def test_groups_nest_all_any_and_not(people, admin):
    definition = {
        "any": [
            {
                "all": [
                    {"field": "tags", "op": "in", "value": ["VIP"]},
                    {"not": {"field": "city", "op": "eq", "value": "北京"}},
                ]
            },
            {"all": [{"field": "orders.count", "op": "eq", "value": 0}]},
        ]
    }
    assert names(admin, definition) == {"王杭州", "赵无单"}
    assert names(admin, {"all": []}) == ALL
    assert names(admin, {"any": []}) == set()
    assert names(admin, {"not": {"any": [{"field": "name", "op": "eq", "value": "李上海"}]}}) == (
        ALL - {"李上海"}
    )


def test_a_rep_counts_only_their_own_customers(people, rep, admin):
    everyone = definition_preview(actor=admin, definition={"all": []})
    own = definition_preview(actor=rep, definition={"all": []})
    assert (everyone["count"], own["count"]) == (4, 2)
    assert {r["name"] for r in own["sample"]} == {"张北京", "李上海"}


def test_value_fields_read_the_latest_refresh(people, admin):
    from guanxi.analytics.services import value_refresh

    assert names(admin, {"field": "value.f_score", "op": "is_set", "value": True}) == set()
    value_refresh(actor=admin)
    assert names(admin, {"field": "value.f_score", "op": "is_set", "value": True}) == (
        ALL - {"赵无单"}
    )
    assert names(admin, {"field": "value.historical_value", "op": "gte", "value": 900}) == {
        "张北京"
    }
    assert names(admin, {"field": "value.r_score", "op": "between", "value": [1, 5]}) == (
        ALL - {"赵无单"}
    )
    assert names(admin, {"field": "value.segment", "op": "is_set", "value": False}) == {"赵无单"}


def test_interactions_and_channel_events_in_a_window(people, admin):
    from guanxi.events.services import events_ingest
    from guanxi.interactions.services import interaction_log

    interaction_log(
        actor=admin,
        customer=people["b"],
        data={"kind": "call", "subject": "回访", "occurred_at": ago(3)},
    )
    people["d"].emails.create(email="zhao@example.com")
    result = events_ingest(
        actor=admin,
        events=[
            {
                "channel": "email",
                "kind": "email_open",
                "occurred_at": ago(2).isoformat(),
                "identifiers": {"email": "zhao@example.com"},
            },
            {
                "channel": "store",
                "kind": "store_visit",
                "occurred_at": ago(60).isoformat(),
                "identifiers": {"email": "zhao@example.com"},
            },
        ],
    )
    assert not result.errors
    assert names(
        admin, {"field": "interactions.count", "op": "gte", "value": 1, "days": 7, "kind": "call"}
    ) == {"李上海"}
    assert (
        names(admin, {"field": "interactions.count", "op": "gte", "value": 1, "kind": "meeting"})
        == set()
    )
    assert names(admin, {"field": "interactions.days_since_last", "op": "lte", "value": 5}) == {
        "李上海"
    }
    opened = {"field": "events.count", "op": "gte", "value": 1, "days": 30, "kind": "email_open"}
    assert names(admin, opened) == {"赵无单"}
    visited = {"field": "events.count", "op": "gte", "value": 1, "days": 30, "kind": "store_visit"}
    assert names(admin, visited) == set()
    assert names(admin, {**visited, "days": 90}) == {"赵无单"}
    assert names(admin, {"field": "events.count", "op": "eq", "value": 0}) == ALL - {"赵无单"}


@pytest.mark.parametrize(
    "definition, field, words",
    [
        ({"field": "colour", "op": "eq", "value": "red"}, "definition.field", "colour"),
        ({"field": "city", "op": "like", "value": "x"}, "definition.op", "like"),
        ({"field": "city", "op": "gte", "value": "x"}, "definition.op", "gte"),
        ({"all": [{"field": "city", "op": "eq"}]}, "definition.all[0].value", "value"),
        (
            {"any": [{"field": "name", "op": "eq", "value": "x"}, {"field": "zz", "op": "eq"}]},
            "definition.any[1].field",
            "zz",
        ),
        ({"field": "orders.count", "op": "gte", "value": "many"}, "definition.value", "many"),
        ({"field": "orders.count", "op": "gte", "value": 2, "days": 0}, "definition.days", "days"),
        ({"field": "name", "op": "eq", "value": "x", "days": 30}, "definition.days", "days"),
        ({"field": "stage", "op": "eq", "value": "sleepy"}, "definition.value", "sleepy"),
        ({"field": "birthday", "op": "lt", "value": "May"}, "definition.value", "May"),
        ({"field": "orders.sum", "op": "between", "value": [5]}, "definition.value", "between"),
        ({"all": [], "any": []}, "definition", "one key"),
        ({"field": "owner", "op": "eq", "value": "nobody-here"}, "definition.value", "nobody"),
        ({"not": {"field": "x", "op": "eq", "value": 1}}, "definition.not.field", "x"),
    ],
)
def test_bad_rules_name_the_place_and_the_problem(db, definition, field, words):
    with pytest.raises(ValidationFailed) as e:
        rules.validate(definition)
    assert field in e.value.errors, e.value.errors
    assert words in " ".join(e.value.errors[field])


def test_stored_rules_keep_relative_dates_and_normalise_numbers(db):
    stored = rules.validate(
        {
            "all": [
                {"field": "orders.last_at", "op": "gte", "value": "-30d"},
                {"field": "orders.sum", "op": "gte", "value": "1000.50"},
            ]
        }
    )
    assert stored["all"][0]["value"] == "-30d"
    assert stored["all"][1]["value"] == Decimal("1000.50") or stored["all"][1]["value"] == 1000.5
    assert rules.depends_on(stored) == ["orders", "time"]
    assert "Order revenue ≥ 1000.5" in rules.describe(stored)
