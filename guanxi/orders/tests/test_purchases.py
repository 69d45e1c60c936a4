"""What each customer bought, by category (`CustomerCategory`), follows every way orders are
written: the API (create, edit, refund, delete), imports and their undo, merges and unmerges.
After each, the stored facts equal the ones worked out again from the orders."""

import datetime as dt

import pytest
from django.utils import timezone

from guanxi.imports.tests.helpers import csv_bytes, post_import, start_import
from guanxi.orders.choices import REVENUE_STATUSES
from guanxi.orders.models import CustomerCategory, CustomerProduct, Order, OrderLine
from guanxi.orders.services import purchases_refresh
from guanxi.segments.selectors import definition_preview
from tests.factories import make_customer, make_order


def expected() -> set[tuple]:
    """The facts from the orders themselves, in Python."""
    out: dict[tuple, list] = {}
    for line in OrderLine.objects.select_related("order").exclude(category=""):
        order = line.order
        if order.status not in REVENUE_STATUSES:
            continue
        key = (order.customer_id, line.category)
        first, last, orders = out.setdefault(key, [order.ordered_at, order.ordered_at, set()])
        out[key] = [min(first, order.ordered_at), max(last, order.ordered_at), orders]
        orders.add(order.pk)
    return {(c, cat, first, last, len(orders)) for (c, cat), (first, last, orders) in out.items()}


def expected_products() -> set[tuple]:
    out: dict[tuple, list] = {}
    for line in OrderLine.objects.select_related("order", "product"):
        order = line.order
        if order.status not in REVENUE_STATUSES:
            continue
        key = (order.customer_id, line.product_name, line.product.sku if line.product else "")
        first, last, orders = out.setdefault(key, [order.ordered_at, order.ordered_at, set()])
        out[key] = [min(first, order.ordered_at), max(last, order.ordered_at), orders]
        orders.add(order.pk)
    return {(*key, first, last, len(orders)) for key, (first, last, orders) in out.items()}


def stored_categories() -> set[tuple]:
    return set(
        CustomerCategory.objects.values_list("customer_id", "category", "first_at", "last_at",
                                             "orders")
    )  # fmt: skip


def stored() -> set[tuple]:
    """The categories kept, having checked that the products kept are right too."""
    products = set(
        CustomerProduct.objects.values_list("customer_id", "product_name", "sku", "first_at",
                                            "last_at", "orders")
    )  # fmt: skip
    assert products == expected_products()
    return stored_categories()


def tea(n=1):
    return {"product_name": "龙井", "category": "茶叶", "quantity": n, "unit_price": "100"}


def cup():
    return {"product_name": "茶杯", "category": "茶具", "quantity": 1, "unit_price": "30"}


def ago(days):
    return (timezone.now() - dt.timedelta(days=days)).isoformat()


@pytest.fixture
def client(api, admin):
    return api(admin)


def test_orders_through_the_api_keep_the_categories_bought(client, rep):
    zhang = make_customer(rep, name="张三")
    first = client.post("orders", {"customer": zhang.pk, "number": "A-1", "ordered_at": ago(200),
                                   "lines": [tea(), cup()]})  # fmt: skip
    assert first.status_code == 201, first.content
    second = client.post("orders", {"customer": zhang.pk, "number": "A-2", "ordered_at": ago(10),
                                    "lines": [tea(2)]})  # fmt: skip
    assert stored() == expected()
    row = CustomerCategory.objects.get(customer=zhang, category="茶叶")
    assert row.orders == 2 and row.last_at > row.first_at
    # A refund takes the order out; replacing the lines changes the categories.
    r = client.patch(f"orders/{second.json()['id']}", {"status": "refunded"})
    assert r.status_code == 200, r.content
    assert CustomerCategory.objects.get(customer=zhang, category="茶叶").orders == 1
    assert stored() == expected()
    r = client.patch(f"orders/{first.json()['id']}", {"lines": [cup()]})
    assert r.status_code == 200, r.content
    assert set(CustomerCategory.objects.values_list("category", flat=True)) == {"茶具"}
    assert stored() == expected()
    # A pending order counts for nothing until it is paid; deleting it changes nothing.
    pending = client.post("orders", {"customer": zhang.pk, "number": "A-3", "status": "pending",
                                     "lines": [tea()]})  # fmt: skip
    assert stored() == expected()
    assert client.delete(f"orders/{pending.json()['id']}").status_code == 204
    assert stored() == expected()


def test_a_category_rule_reads_the_facts_in_its_window(client, admin, rep):
    zhang = make_customer(rep, name="张三")
    li = make_customer(rep, name="李四")
    make_order(admin, zhang, ordered_at=timezone.now() - dt.timedelta(days=20), lines=[tea()])
    make_order(admin, li, ordered_at=timezone.now() - dt.timedelta(days=300), lines=[tea()])
    rule = {"field": "orders.category", "op": "eq", "value": "茶叶", "days": 180}
    assert definition_preview(actor=admin, definition=rule)["count"] == 1
    rule = {"field": "orders.category", "op": "eq", "value": "茶叶"}
    assert definition_preview(actor=admin, definition=rule)["count"] == 2
    rule = {"field": "orders.categories", "op": "gte", "value": 1, "days": 180}
    assert definition_preview(actor=admin, definition=rule)["count"] == 1
    order = Order.objects.get(customer=zhang)
    r = client.patch(f"orders/{order.pk}", {"status": "refunded"})
    assert r.status_code == 200, r.content
    rule = {"field": "orders.category", "op": "eq", "value": "茶叶", "days": 180}
    assert definition_preview(actor=admin, definition=rule)["count"] == 0


def test_imports_and_their_undo_keep_the_categories_bought(client, rep, immediate_tasks):
    make_customer(rep, name="张三", external_id="M001")
    make_customer(rep, name="李四", external_id="M002")
    rows = [["Order number", "Customer ID", "Date", "Product", "Category", "Quantity", "Price"],
            ["I-1", "M001", "2024-05-01", "龙井", "茶叶", "1", "100"],
            ["I-1", "M001", "2024-05-01", "茶杯", "茶具", "1", "30"],
            ["I-2", "M002", "2024-06-01", "月饼", "食品", "2", "50"]]  # fmt: skip
    job = post_import(client, csv_bytes(rows), kind="orders").json()
    assert start_import(client, job["id"], immediate_tasks)["counts"]["created"] == 2
    assert len(stored()) == 3 and stored() == expected()
    assert client.post(f"imports/{job['id']}/undo").status_code == 200
    assert stored() == set() == expected()
    # An upsert that refunds an order, and its undo.
    rows = [["Order number", "Customer ID", "Date", "Product", "Category", "Quantity", "Price"],
            ["I-3", "M002", "2024-06-01", "月饼", "食品", "2", "50"]]  # fmt: skip
    job = post_import(client, csv_bytes(rows), kind="orders").json()
    start_import(client, job["id"], immediate_tasks)
    assert len(stored()) == 1 and stored() == expected()
    rows = [["Order number", "Customer ID", "Date", "Amount", "Status"],
            ["I-3", "M002", "2024-06-01", "100", "refunded"]]  # fmt: skip
    upsert = post_import(client, csv_bytes(rows), kind="orders", mode="upsert").json()
    assert start_import(client, upsert["id"], immediate_tasks)["counts"] == {"updated": 1}
    assert stored() == set() == expected()
    assert client.post(f"imports/{upsert['id']}/undo").status_code == 200
    assert len(stored()) == 1 and stored() == expected()


def test_a_merge_and_its_undo_move_the_categories_bought(client, admin, rep):
    keep = make_customer(rep, name="张三", phones=["13800138000"])
    dup = make_customer(rep, name="张叁", phones=["13800138000"])
    make_order(admin, keep, lines=[cup()])
    make_order(admin, dup, lines=[tea()])
    r = client.post(f"customers/{keep.pk}/merge", {"other": dup.pk})
    assert r.status_code == 200, r.content
    assert stored() == expected()
    assert set(CustomerCategory.objects.values_list("customer_id", "category")) == {
        (keep.pk, "茶具"),
        (keep.pk, "茶叶"),
    }
    merge_id = r.json()["id"]
    r = client.post(f"merges/{merge_id}/undo")
    assert r.status_code == 200, r.content
    assert stored() == expected() and len(stored()) == 2


def test_a_rebuild_of_everyone_gives_the_same_facts(admin, rep):
    for i in range(3):
        c = make_customer(rep, name=f"客户{i}")
        make_order(admin, c, lines=[tea(), cup()] if i else [tea()])
    before = stored()
    CustomerCategory.objects.all().delete()
    purchases_refresh()
    assert stored() == before == expected()


def test_a_product_rule_matches_the_sku_or_the_name_in_its_window(admin, rep):
    from guanxi.orders.services import product_upsert

    product_upsert(actor=admin, sku="TEA-004", name="大红袍", category="茶叶", unit_price=300)
    zhang = make_customer(rep, name="张三")
    li = make_customer(rep, name="李四")
    make_order(admin, zhang, ordered_at=timezone.now() - dt.timedelta(days=30),
               lines=[{"sku": "TEA-004"}])  # fmt: skip
    make_order(admin, li, ordered_at=timezone.now() - dt.timedelta(days=400),
               lines=[{"product_name": "大红袍", "quantity": 1, "unit_price": "280"}])  # fmt: skip
    assert stored() == expected()

    def count(**rule):
        rule = {"field": "orders.product", **rule}
        return definition_preview(actor=admin, definition=rule)["count"]

    assert count(op="eq", value="TEA-004", days=365) == 1
    assert count(op="eq", value="大红袍") == 2
    assert count(op="contains", value="红袍", days=365) == 1
    assert count(op="ne", value="TEA-004", days=365) == 1  # 李四: not in that window
