"""Exports of orders through the API: one row per order, scoped, filtered, audited, safe."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.accounts.models import AuditEntry
from guanxi.core.tests.export_helpers import export
from guanxi.orders.exports import order_export
from tests.factories import make_customer, make_order

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def orders(admin, rep, rep2):
    mine = make_customer(rep, name="张三")
    theirs = make_customer(rep2, name="王五")
    lines = [
        {"product_name": "茶叶", "quantity": 2, "unit_price": "50.00"},
        {"product_name": "茶杯", "quantity": "1.5", "unit_price": "10.00"},
    ]
    paid = make_order(
        admin,
        mine,
        number="SO-1",
        lines=lines,
        status="paid",
        ordered_at=datetime(2026, 11, 3, 9, 30, tzinfo=SHANGHAI),
        notes='=HYPERLINK("http://x")',
    )
    refunded = make_order(
        admin,
        mine,
        number="SO-2",
        status="refunded",
        ordered_at=datetime(2026, 11, 20, 12, 0, tzinfo=SHANGHAI),
    )
    other = make_order(admin, theirs, number="SO-3")
    return paid, refunded, other


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_order_export_has_one_row_per_order_with_its_products(rep, api, orders, fmt):
    paid, refunded, _other = orders
    rows = export(api(rep), fmt, path="orders/export")
    assert [r["Order number"] for r in rows] == ["SO-1", "SO-2"]
    first = rows[0]
    assert first["Products"] == "茶叶 × 2; 茶杯 × 1.5"
    assert (first["Customer"], first["Customer ID"]) == ("张三", str(paid.customer_id))
    assert (first["Status"], first["Channel"]) == ("Paid", "Online shop")
    assert first["Total"] == "115.00"
    assert first["Ordered at"] == "2026-11-03 09:30"
    assert first["Notes"] == '\'=HYPERLINK("http://x")'


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_order_export_keeps_the_lists_filters(rep, api, orders, fmt):
    client = api(rep)
    rows = export(client, fmt, {"status": "refunded"}, path="orders/export")
    assert [r["Order number"] for r in rows] == ["SO-2"]
    rows = export(client, fmt, {"ordered_before": "2026-11-10"}, path="orders/export")
    assert [r["Order number"] for r in rows] == ["SO-1"]


def test_rep_order_export_never_contains_another_reps_order(rep, rep2, api, orders):
    assert [r["Order number"] for r in export(api(rep2), "csv", path="orders/export")] == ["SO-3"]
    response = api(rep).get("orders/export", {"customer": orders[2].customer_id})
    assert response.status_code == 404


def test_marketer_may_not_export_orders(marketer, api, orders):
    response = api(marketer).get("orders/export", {"format": "xlsx"})
    assert response.status_code == 403 and response.json()["detail"]


def test_order_export_bad_format_or_status_is_a_422(rep, api):
    assert list(api(rep).get("orders/export", {"format": "x"}).json()["errors"]) == ["format"]
    assert "status" in api(rep).get("orders/export", {"status": "lost"}).json()["errors"]


def test_order_export_is_audited(rep, api, orders):
    export(api(rep), "csv", {"status": "paid"}, path="orders/export")
    entry = AuditEntry.objects.get(action="export")
    assert (entry.model, entry.channel, entry.actor) == ("orders.order", "api", rep)
    assert entry.changes == {"filters": [None, {"status": "paid"}], "count": [None, 1]}


def test_order_export_reads_a_fixed_number_of_queries(admin, rep, orders):
    def queries():
        with CaptureQueriesContext(connection) as ctx:
            rows = list(order_export(actor=rep).rows)
        return len(ctx.captured_queries), len(rows)

    assert queries() == (5, 2)  # grants, count, audit; the orders, their lines
    customer = orders[0].customer
    for i in range(10):
        make_order(admin, customer, number=f"X-{i}")
    assert queries() == (5, 12)
