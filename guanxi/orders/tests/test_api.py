"""Orders over the API: lines and totals, statuses, filters, errors."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from guanxi.orders.models import Order
from guanxi.orders.services import product_upsert
from tests.factories import make_customer, make_order


def _error(response, status):
    assert response.status_code == status, response.content
    return response.json()["errors"]


def test_order_json_carries_customer_number_time_status_total_currency_and_lines(
    rep, customer, api
):
    r = api(rep).post(
        "orders",
        {
            "customer": customer.pk,
            "number": "SO-2024-001",
            "ordered_at": "2024-05-01T10:00:00+08:00",
            "channel": "wechat",
            "lines": [
                {
                    "product_name": "铁观音",
                    "category": "茶叶",
                    "quantity": 2,
                    "unit_price": "88.50",
                },
                {"product_name": "茶具", "quantity": "1", "unit_price": 300, "discount": 20},
            ],
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["customer"] == customer.pk
    assert body["number"] == "SO-2024-001"
    assert body["ordered_at"].startswith("2024-05-01")
    assert (body["status"], body["currency"], body["channel"]) == ("paid", "CNY", "wechat")
    assert Decimal(body["total"]) == Decimal("457.00")
    assert [line["product_name"] for line in body["lines"]] == ["铁观音", "茶具"]
    assert Decimal(body["lines"][0]["amount"]) == Decimal("177.00")
    assert Decimal(body["lines"][1]["amount"]) == Decimal("280.00")
    assert api(rep).get(f"orders/{body['id']}").json() == body


def test_line_from_a_product_takes_its_name_and_list_price(admin, rep, customer, api):
    product_upsert(actor=admin, sku="TEA-1", name="龙井", category="茶叶", unit_price="120.00")
    r = api(rep).post(
        "orders", {"customer": customer.pk, "number": "SO-1", "lines": [{"sku": "TEA-1"}]}
    )
    assert r.status_code == 201, r.content
    line = r.json()["lines"][0]
    assert (line["product_name"], line["sku"], line["category"]) == ("龙井", "TEA-1", "茶叶")
    assert Decimal(r.json()["total"]) == Decimal("120.00")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"lines": []}, "lines"),
        ({"lines": [{"product_name": "x"}]}, "lines[0].unit_price"),
        ({"lines": [{"unit_price": 1}]}, "lines[0].product_name"),
        ({"lines": [{"product_name": "x", "unit_price": -1}]}, "lines[0].unit_price"),
        ({"lines": [{"product_name": "x", "unit_price": 1, "quantity": 0}]}, "lines[0].quantity"),
        ({"lines": [{"product_name": "x", "unit_price": 1, "quantity": "0.0001"}]},
         "lines[0].quantity"),
        ({"lines": [{"product_name": "x", "unit_price": "1.001"}]}, "lines[0].unit_price"),
        ({"lines": [{"product_name": "x", "unit_price": 5, "discount": 6}]}, "lines[0].discount"),
        ({"lines": [{"product_name": "x", "unit_price": "9999999999", "quantity": 999999}]},
         "lines[0].quantity"),
        ({"lines": [{"sku": "NOPE"}]}, "lines[0].sku"),
        ({"lines": [{"product_name": "x", "unit_price": 1, "amount": 1}]}, "lines[0].amount"),
        ({"status": "stolen"}, "status"),
        ({"channel": "telepathy"}, "channel"),
        ({"currency": "yuan"}, "currency"),
        ({"currency": "C1Y"}, "currency"),
        ({"number": ""}, "number"),
        ({"number": "x" * 65}, "number"),
        ({"ordered_at": "0001-01-01T00:00:00+14:00"}, "ordered_at"),
        ({"total": "1.00"}, "total"),
    ],
)  # fmt: skip
def test_bad_order_input_names_the_field(rep, customer, api, data, field):
    body = {"customer": customer.pk, "number": "SO-X", **data}
    body.setdefault("lines", [{"product_name": "茶", "unit_price": 10}])
    assert field in _error(api(rep).post("orders", body), 422)
    assert not Order.objects.exists()


def test_order_total_that_would_overflow_is_refused(rep, customer, api):
    lines = [{"product_name": "x", "unit_price": "9999999999.99", "quantity": 99}] * 2
    body = {"customer": customer.pk, "number": "SO-BIG", "lines": lines}
    assert "lines" in _error(api(rep).post("orders", body), 422)


def test_duplicate_order_number_is_a_409(admin, rep, customer, api):
    make_order(admin, customer, number="SO-1")
    body = {
        "customer": customer.pk,
        "number": "SO-1",
        "lines": [{"product_name": "茶", "unit_price": 1}],
    }
    assert "number" in _error(api(rep).post("orders", body), 409)


def test_status_change_and_new_lines_recompute_and_are_recorded(rep, customer, api):
    client = api(rep)
    oid = client.post(
        "orders",
        {
            "customer": customer.pk,
            "number": "SO-1",
            "lines": [{"product_name": "茶", "unit_price": 10}],
        },
    ).json()["id"]
    r = client.patch(
        f"orders/{oid}",
        {"status": "shipped", "lines": [{"product_name": "茶", "unit_price": 10, "quantity": 3}]},
    )
    assert r.status_code == 200, r.content
    assert (r.json()["status"], Decimal(r.json()["total"])) == ("shipped", Decimal("30.00"))
    summaries = [e["summary"] for e in client.get(f"customers/{customer.pk}/timeline").json()]
    assert any("SO-1" in s and ("Shipped" in s or "已发货" in s) for s in summaries), summaries


def test_paid_orders_cannot_be_deleted_pending_ones_can(admin, rep, customer, api):
    paid = make_order(admin, customer)
    pending = make_order(admin, customer, status="pending")
    assert "status" in _error(api(rep).delete(f"orders/{paid.pk}"), 422)
    assert api(rep).delete(f"orders/{pending.pk}").status_code == 204
    assert api(rep).get(f"orders/{pending.pk}").status_code == 404


def test_agent_and_marketer_read_orders_but_cannot_write(admin, agent, marketer, customer, api):
    order = make_order(admin, customer)
    for user in (agent, marketer):
        client = api(user)
        assert client.get(f"orders/{order.pk}").status_code == 200
        assert client.patch(f"orders/{order.pk}", {"notes": "x"}).status_code == 403
        body = {
            "customer": customer.pk,
            "number": "N",
            "lines": [{"product_name": "x", "unit_price": 1}],
        }
        assert client.post("orders", body).status_code == 403


def test_order_list_filters(admin, rep, customer, api):
    other = make_customer(rep)
    now = timezone.now()
    old = make_order(admin, customer, ordered_at=now - timedelta(days=60))
    new = make_order(admin, customer, status="pending")
    theirs = make_order(admin, other)
    client = api(rep)

    def listed(**params):
        r = client.get("orders", params)
        assert r.status_code == 200, r.content
        return [o["id"] for o in r.json()["items"]]

    assert set(listed()) == {old.pk, new.pk, theirs.pk}
    assert listed(customer=customer.pk) == [new.pk, old.pk]  # newest first
    assert listed(status="pending") == [new.pk]
    month_ago = (timezone.localdate() - timedelta(days=30)).isoformat()
    assert listed(ordered_before=month_ago) == [old.pk]
    assert set(listed(ordered_after=month_ago)) == {new.pk, theirs.pk}
    assert "status" in _error(client.get("orders", {"status": "zzz"}), 422)


def test_order_list_query_count_is_flat(admin, rep, api, django_assert_max_num_queries):
    for _ in range(30):
        c = make_customer(rep)
        make_order(
            admin,
            c,
            lines=[
                {"product_name": "茶", "unit_price": 10},
                {"product_name": "杯", "unit_price": 5, "quantity": 2},
            ],
        )
    client = api(admin)
    client.get("me")
    with django_assert_max_num_queries(5):
        r = client.get("orders", {"limit": 50})
    assert len(r.json()["items"]) == 30
    assert all(len(o["lines"]) == 2 for o in r.json()["items"])
