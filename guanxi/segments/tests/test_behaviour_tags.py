"""The behaviour tags a new installation comes with: set and removed by their rules, shown
apart from hand-set tags with the rule that set them."""

import datetime as dt

import pytest
from django.utils import timezone

from guanxi.segments.models import Segment, SegmentMembership
from guanxi.segments.selectors import customer_segments
from guanxi.segments.services import segments_refresh
from tests.factories import make_customer, make_order


def ago(days):
    return timezone.now() - dt.timedelta(days=days)


def tagged(customer) -> set[str]:
    return {
        m.segment.name
        for m in SegmentMembership.objects.filter(
            customer=customer, left_at__isnull=True, segment__purpose="tag"
        ).select_related("segment")
    }


def line(name, price, *, discount="0", category="茶叶", sku=None):
    out = {"product_name": name, "category": category, "quantity": 1, "unit_price": price,
           "discount": discount}  # fmt: skip
    if sku:
        out["sku"] = sku
    return out


def test_the_five_tags_are_seeded_as_dynamic_segments(db):
    tags = Segment.objects.filter(purpose="tag")
    assert {t.name for t in tags} == {"折扣敏感", "新品尝鲜", "品类忠诚", "高退货率", "邮件活跃"}
    assert {t.kind for t in tags} == {"dynamic"}
    assert all(t.name_en and t.description_en for t in tags)


def test_discount_sensitive_follows_the_orders(rep):
    c = make_customer(rep, name="爱折扣")
    make_order(rep, c, ordered_at=ago(10), lines=[line("绿茶", "100", discount="20")])
    assert "折扣敏感" not in tagged(c)  # one order is not enough
    make_order(rep, c, ordered_at=ago(5), lines=[line("红茶", "80", discount="10")])
    assert "折扣敏感" in tagged(c)
    make_order(rep, c, ordered_at=ago(3), lines=[line("白茶", "90"), line("黄茶", "90"),
                                                 line("花茶", "90")])  # fmt: skip
    assert "折扣敏感" not in tagged(c)  # now 2 of 5 lines carried a discount


def test_category_loyal_needs_three_orders_in_one_category(rep):
    c = make_customer(rep, name="只买茶")
    for days in (30, 20, 10):
        make_order(rep, c, ordered_at=ago(days), lines=[line("龙井", "100")])
    assert "品类忠诚" in tagged(c)
    make_order(rep, c, ordered_at=ago(1), lines=[line("钢笔", "50", category="文具")])
    assert "品类忠诚" not in tagged(c)


def test_high_return_rate_follows_refunds(rep, admin):
    from guanxi.orders.services import order_update

    c = make_customer(rep, name="常退货")
    orders = [make_order(rep, c, ordered_at=ago(d)) for d in (40, 30, 20)]
    assert "高退货率" not in tagged(c)
    order_update(actor=admin, order=orders[0], data={"status": "refunded"})
    assert "高退货率" in tagged(c)  # one in three
    order_update(actor=admin, order=orders[0], data={"status": "completed"})
    assert "高退货率" not in tagged(c)


def test_early_adopter_bought_new_products_soon_after_launch(rep, admin):
    from guanxi.orders.services import product_upsert

    for sku in ("NEW-1", "NEW-2"):
        product_upsert(actor=admin, sku=sku, name=f"新品{sku}", category="茶叶", unit_price=99)
    c = make_customer(rep, name="尝鲜者")
    make_order(rep, c, ordered_at=timezone.now(), lines=[line("新品NEW-1", "99", sku="NEW-1")])
    assert "新品尝鲜" not in tagged(c)
    make_order(rep, c, ordered_at=timezone.now(), lines=[line("新品NEW-2", "99", sku="NEW-2")])
    assert "新品尝鲜" in tagged(c)
    late = make_customer(rep, name="后来者")
    for sku in ("NEW-1", "NEW-2"):  # bought before the products existed: not "soon after"
        make_order(rep, late, ordered_at=ago(400), lines=[line(sku, "99", sku=sku)])
    assert "新品尝鲜" not in tagged(late)
    segments_refresh()  # the full refresh (shared order figures) agrees
    assert "新品尝鲜" in tagged(c) and "新品尝鲜" not in tagged(late)


def test_email_engaged_comes_and_goes_with_time(rep, admin):
    from guanxi.events.services import events_ingest

    c = make_customer(rep, name="读邮件", emails=["reader@example.com"])
    events_ingest(
        actor=admin,
        events=[{"channel": "email", "kind": "email_open", "occurred_at": ago(20).isoformat(),
                 "identifiers": {"email": "reader@example.com"}}],
    )  # fmt: skip
    assert "邮件活跃" in tagged(c)
    segments_refresh(now=timezone.now() + dt.timedelta(days=15))  # the open is 35 days old
    assert "邮件活跃" not in tagged(c)


@pytest.mark.parametrize(
    "language, words", [("en", "Number of orders ≥ 3"), ("zh-hans", "订单数 ≥ 3")]
)
def test_the_customer_page_shows_each_tag_with_its_rule_apart_from_hand_tags(rep, language, words):
    from django.utils import translation

    from guanxi.customers.services import customers_tag

    c = make_customer(rep, name="只买茶")
    for days in (30, 20, 10):
        make_order(rep, c, ordered_at=ago(days), lines=[line("龙井", "100")])
    customers_tag(actor=rep, customer_ids=[c.pk], add=["VIP"])
    with translation.override(language):
        found = customer_segments(actor=rep, customer_id=c.pk)
    [tag] = found["behaviour_tags"]
    assert words in tag["rule"]
    assert found["segments"] == []  # the hand-set VIP tag is a tag, not a behaviour tag


def test_the_full_refresh_agrees_with_the_order_hooks(rep, admin):
    from guanxi.orders.services import order_update

    loyal = make_customer(rep, name="只买茶")
    for days in (30, 20, 10):
        make_order(rep, loyal, ordered_at=ago(days), lines=[line("龙井", "100", discount="5")])
    returns = make_customer(rep, name="常退货")
    orders = [make_order(rep, returns, ordered_at=ago(d)) for d in (40, 30, 20)]
    order_update(actor=admin, order=orders[0], data={"status": "refunded"})
    before = {"loyal": tagged(loyal), "returns": tagged(returns)}
    assert before == {"loyal": {"品类忠诚", "折扣敏感"}, "returns": {"高退货率"}}
    SegmentMembership.objects.all().delete()
    segments_refresh()
    assert {"loyal": tagged(loyal), "returns": tagged(returns)} == before
