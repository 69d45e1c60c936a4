"""The order windows a refresh keeps (segments.windows): the live count reads them, corrected
for the orders that have left the window since, and agrees with reading the orders; order
writes keep them; a full refresh drops those no segment reads."""

import datetime as dt
import random

import pytest
from django.utils import timezone

from guanxi.customers.models import Customer
from guanxi.segments import definition as rules
from guanxi.segments.models import OrderWindow
from guanxi.segments.selectors import definition_preview
from guanxi.segments.services.segments import segment_create, segments_refresh
from tests.factories import make_customer, make_order

COUNT_90 = {"field": "orders.count", "op": "gte", "value": 2, "days": 90}
DEFINITIONS = [
    COUNT_90,
    {"field": "orders.count", "op": "eq", "value": 0, "days": 90},
    {"field": "orders.count", "op": "gte", "value": 1, "days": 90, "channel": "store"},
    {"field": "orders.sum", "op": "gte", "value": 500, "days": 365},
    {"field": "orders.sum", "op": "lt", "value": 300, "days": 365},
    {"field": "orders.avg", "op": "gte", "value": 200, "days": 365},
    {"field": "orders.avg", "op": "gte", "value": 200},
    {"field": "orders.last_at", "op": "gte", "value": "-60d", "days": 90},
    {"field": "orders.first_at", "op": "lte", "value": "-80d", "days": 90},
    {"field": "orders.refund_share", "op": "gt", "value": 0, "days": 365},
    {"field": "orders.refund_share", "op": "lt", "value": 0.5, "days": 30},
    {"field": "orders.days_since_last", "op": "gte", "value": 30},
    {"field": "orders.count", "op": "is_set", "value": True, "days": 90},
    {"field": "orders.discount_share", "op": "gte", "value": 0.5, "days": 365},
    {"field": "orders.discount_share", "op": "lt", "value": 0.5},
]


def direct(admin, definition) -> set[int]:
    """The members as the orders themselves say, read now."""
    ctx = rules.Context(now=timezone.now())
    q = rules.compile_definition(rules.validate(definition), ctx)
    return set(Customer.objects.filter(q).values_list("pk", flat=True))


def live(admin, definition) -> int:
    return definition_preview(actor=admin, definition=definition, sample=0)["count"]


@pytest.fixture
def shop(admin, rep):
    rnd = random.Random(7)
    now = timezone.now()
    people = [make_customer(rep, name=f"客户{i}") for i in range(24)]
    for person in people[:-3]:
        for _ in range(rnd.randint(1, 5)):
            make_order(
                admin,
                person,
                ordered_at=now - dt.timedelta(days=rnd.uniform(1, 400)),
                status=rnd.choice(["paid", "paid", "completed", "refunded"]),
                channel=rnd.choice(["online", "store"]),
                lines=[
                    {"product_name": "茶", "quantity": 1, "unit_price": "100",
                     "discount": rnd.choice(["0", "0", "10"])}
                    for _ in range(rnd.randint(1, 3))
                ],
            )  # fmt: skip
    return people


def _segments(admin, definitions):
    for i, definition in enumerate(definitions):
        segment_create(actor=admin, data={"name": f"分群{i}", "definition": definition})


def test_windows_kept_by_a_refresh_answer_like_the_orders_long_after_it(admin, shop):
    _segments(admin, DEFINITIONS)
    # The refresh ran 20 days ago: orders placed 90 to 110 (365 to 385) days ago have left
    # those windows since; the live count takes them off.
    segments_refresh(now=timezone.now() - dt.timedelta(days=20))
    assert OrderWindow.objects.filter(days=90, channel="").exists()
    assert OrderWindow.objects.filter(days=90, channel="store").exists()
    for definition in DEFINITIONS:
        assert live(admin, definition) == len(direct(admin, definition)), definition


def test_order_writes_keep_the_windows(admin, api, shop):
    _segments(admin, DEFINITIONS[:4])
    segments_refresh(now=timezone.now() - dt.timedelta(hours=3))
    newcomer = shop[-1]  # no orders yet
    before = {str(d): live(admin, d) for d in DEFINITIONS[:4]}
    client = api(admin)
    for days in (3, 10):
        r = client.post("orders", {"customer": newcomer.pk, "number": f"W-{days}",
                                   "ordered_at": (timezone.now() - dt.timedelta(days=days))
                                   .isoformat(), "lines": [{"product_name": "茶", "quantity": 1,
                                                            "unit_price": "300"}]})  # fmt: skip
        assert r.status_code == 201, r.content
    assert newcomer.pk in direct(admin, COUNT_90)
    assert live(admin, COUNT_90) == before[str(COUNT_90)] + 1
    order = r.json()["id"]
    assert client.patch(f"orders/{order}", {"status": "refunded"}).status_code == 200
    for definition in DEFINITIONS[:4]:
        assert live(admin, definition) == len(direct(admin, definition)), definition
    assert live(admin, COUNT_90) == before[str(COUNT_90)]


def test_a_full_refresh_drops_the_windows_no_segment_reads(admin, shop):
    _segments(admin, DEFINITIONS[:2])
    segments_refresh()
    assert (90, "") in set(OrderWindow.objects.values_list("days", "channel"))
    from guanxi.segments.models import Segment

    Segment.objects.all().delete()
    _segments(admin, [DEFINITIONS[3], DEFINITIONS[5]])
    segments_refresh()
    assert set(OrderWindow.objects.values_list("days", "channel")) == {(365, "")}
    # A window that is not kept is read from the orders.
    assert live(admin, COUNT_90) == len(direct(admin, COUNT_90))


def test_a_refresh_reads_a_young_window_and_builds_an_old_one_again(admin, shop):
    _segments(admin, DEFINITIONS[:2])
    segments_refresh(now=timezone.now() - dt.timedelta(hours=5))
    kept = OrderWindow.objects.get(days=90, channel="")
    # Five hours on, the refresh reads it (taking off what has gone) and agrees.
    segments_refresh()
    assert OrderWindow.objects.get(days=90, channel="").table == kept.table
    from guanxi.segments.models import Segment

    segment = Segment.objects.get(name="分群0")
    members = set(
        segment.memberships.filter(left_at__isnull=True).values_list("customer_id", flat=True)
    )
    assert members == direct(admin, DEFINITIONS[0])
    # Two days on, it is built again; the daily rebuild builds every window again.
    segments_refresh(now=timezone.now() + dt.timedelta(days=2))
    rebuilt = OrderWindow.objects.get(days=90, channel="")
    assert rebuilt.table != kept.table
    from guanxi.segments.windows import windows_rebuild

    assert windows_rebuild() == OrderWindow.objects.count()
    assert OrderWindow.objects.get(days=90, channel="").table != rebuilt.table
    for definition in DEFINITIONS[:2]:
        assert live(admin, definition) == len(direct(admin, definition))
