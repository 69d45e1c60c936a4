"""Orders and products in the staff UI: lines edited inline, saved by the order services."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from guanxi.orders.models import Order
from guanxi.orders.services import product_upsert
from tests.factories import make_customer, make_order

ORDERS = "/admin/orders/order/"


def order_form(customer, lines, **fields):
    now = timezone.localtime()
    data = {
        "customer": str(customer.pk),
        "number": "SO-1",
        "ordered_at_0": now.strftime("%Y-%m-%d"),
        "ordered_at_1": now.strftime("%H:%M:%S"),
        "status": "paid",
        "channel": "online",
        "currency": "CNY",
        "notes": "",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for i, line in enumerate(lines):
        for key in ("product", "product_name", "category", "quantity", "unit_price", "discount"):
            data[f"lines-{i}-{key}"] = str(line.get(key, ""))
    data.update(fields)
    return data


@pytest.mark.parametrize(
    ("role", "add_status"),
    [("admin", 200), ("manager", 200), ("rep", 200), ("agent", 403), ("marketer", 403)],
)
def test_order_pages_follow_the_role_matrix(client, request, role, add_status, customer):
    client.force_login(request.getfixturevalue(role))
    assert client.get(ORDERS).status_code == 200
    assert client.get("/admin/orders/product/").status_code == 200
    assert client.get(ORDERS + "add/").status_code == add_status


def test_rep_records_an_order_with_lines(client, rep, admin, customer):
    product_upsert(actor=admin, sku="TEA-1", name="龙井茶", category="茶", unit_price="88.00")
    client.force_login(rep)
    from guanxi.orders.models import Product

    tea = Product.objects.get(sku="TEA-1")
    r = client.post(
        ORDERS + "add/",
        order_form(
            customer,
            [
                {"product": tea.pk, "quantity": "2"},
                {"product_name": "紫砂壶", "quantity": "1", "unit_price": "399", "discount": "9"},
            ],
        ),
    )
    assert r.status_code == 302, r.context["adminform"].form.errors if r.context else ""
    order = Order.objects.get(number="SO-1")
    assert order.total == Decimal("566.00")
    assert [line.product_name for line in order.lines.all()] == ["龙井茶", "紫砂壶"]
    page = client.get(reverse("admin:customers_customer_360", args=[customer.pk])).content
    assert "SO-1" in page.decode() and "紫砂壶" in page.decode()


def test_a_bad_line_is_reported_on_its_row(client, rep, customer):
    client.force_login(rep)
    r = client.post(
        ORDERS + "add/",
        order_form(
            customer,
            [
                {"product_name": "好的", "quantity": "1", "unit_price": "10"},
                {"product_name": "折扣太大", "quantity": "1", "unit_price": "10", "discount": "50"},
            ],
        ),
    )
    assert r.status_code == 200
    formset = r.context["inline_admin_formsets"][0].formset
    assert not formset.forms[0].errors
    assert "discount" in formset.forms[1].errors
    assert not Order.objects.exists()


def test_an_order_without_lines_is_refused(client, rep, customer):
    client.force_login(rep)
    r = client.post(ORDERS + "add/", order_form(customer, []))
    assert r.status_code == 200
    assert not Order.objects.exists()
    assert "lines" in r.content.decode() or r.context["adminform"].form.non_field_errors()


def test_duplicate_order_number_is_an_error_on_the_number(client, rep, customer):
    make_order(rep, customer, number="SO-1")
    client.force_login(rep)
    r = client.post(
        ORDERS + "add/",
        order_form(customer, [{"product_name": "茶", "quantity": "1", "unit_price": "1"}]),
    )
    assert r.status_code == 200
    assert "number" in r.context["adminform"].form.errors


def test_order_status_change_goes_through_the_service(client, rep, customer):
    order = make_order(rep, customer, number="SO-9", status="pending")
    client.force_login(rep)
    url = reverse("admin:orders_order_change", args=[order.pk])
    line = order.lines.get()
    data = order_form(
        customer,
        [],
        number="SO-9",
        status="shipped",
        **{
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "1",
            "lines-0-id": str(line.pk),
            "lines-0-order": str(order.pk),
            "lines-0-product": "",
            "lines-0-product_name": line.product_name,
            "lines-0-category": line.category,
            "lines-0-quantity": str(line.quantity),
            "lines-0-unit_price": str(line.unit_price),
            "lines-0-discount": str(line.discount),
            "ordered_at_0": timezone.localtime(order.ordered_at).strftime("%Y-%m-%d"),
            "ordered_at_1": timezone.localtime(order.ordered_at).strftime("%H:%M:%S"),
        },
    )
    r = client.post(url, data)
    assert r.status_code == 302, r.context["adminform"].form.errors if r.context else ""
    order.refresh_from_db()
    assert order.status == "shipped"
    assert customer.timeline.filter(kind="order", data__action="status").exists()


def test_orders_are_scoped_to_the_reps_customers(client, rep, rep2, customer):
    mine = make_order(rep, customer, number="MINE-1")
    other = make_customer(rep2, name="他的客户")
    theirs = make_order(rep2, other, number="THEIRS-1")
    client.force_login(rep)
    body = client.get(ORDERS).content.decode()
    assert "MINE-1" in body and "THEIRS-1" not in body
    assert client.get(reverse("admin:orders_order_change", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("admin:orders_order_change", args=[mine.pk])).status_code == 200
    r = client.get(ORDERS, {"q": "THEIRS-1"})
    assert list(r.context["cl"].result_list) == []
