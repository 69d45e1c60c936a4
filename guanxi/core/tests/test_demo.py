"""`guanxi demo`: deterministic bilingual demo data, through the services or in bulk."""

from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Sum

from guanxi.accounts.models import AuditEntry, User
from guanxi.customers.cleaning import build_search_text, name_keys, normalize_phone
from guanxi.customers.models import Customer, StageChange
from guanxi.interactions.models import Interaction, Task, TimelineEvent
from guanxi.orders.models import Order
from tests.factories import ApiClient


def demo(*args):
    out = StringIO()
    call_command("guanxi_demo", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def names():
    return list(Customer.objects.order_by("name", "id").values_list("name", flat=True))


def test_demo_creates_users_of_every_role_in_two_teams(db):
    out = demo("--users")
    roles = Counter(User.objects.values_list("role", flat=True))
    assert roles["admin"] >= 1 and roles["manager"] >= 2 and roles["rep"] >= 4
    assert roles["agent"] >= 2 and roles["marketer"] >= 2
    managers = User.objects.filter(role="manager")
    assert managers.values("team").distinct().count() == 2
    assert all(u.display_name for u in User.objects.all())
    assert "wang.fang" in out and "guanxi-demo" in out
    assert User.objects.get(username="wang.fang").check_password("guanxi-demo-2024")


def test_same_seed_gives_the_same_customers_and_another_seed_others(db):
    demo("--customers", "12", "--orders", "30", "--seed", "7")
    first = names()
    demo("--customers", "12", "--orders", "30", "--seed", "7", "--reset")
    assert names() == first
    demo("--customers", "12", "--orders", "30", "--seed", "8", "--reset")
    assert names() != first


def test_small_demo_goes_through_the_services_with_a_complete_history(db):
    demo("--customers", "40", "--orders", "120")
    assert Customer.objects.count() == 40
    assert Order.objects.count() == 120
    assert set(Customer.objects.values_list("kind", flat=True)) == {"person", "company"}
    assert any("\u4e00" <= c[0] <= "\u9fff" for c in names())  # Chinese names
    assert any(c[0].isascii() for c in names())  # and English ones
    # Every customer and every order is on the timeline, and the audit log says "cli".
    created = TimelineEvent.objects.filter(kind="created").count()
    assert created == 40
    assert TimelineEvent.objects.filter(kind="order").count() == 120
    assert Interaction.objects.exists() and Task.objects.exists()
    assert set(AuditEntry.objects.values_list("channel", flat=True)) == {"cli"}
    # Orders are customers' history: spread over the past, before now, after the customer.
    for order in Order.objects.select_related("customer")[:50]:
        assert order.customer.created_at <= order.ordered_at
    # Customers who bought moved on from "lead", with the change recorded.
    bought = Customer.objects.filter(orders__isnull=False).distinct()
    assert not bought.filter(stage="lead", orders__status="completed").exists()
    assert StageChange.objects.filter(from_stage="lead").exists()


def test_demo_will_not_add_to_a_database_with_customers(db):
    demo("--customers", "3", "--orders", "0")
    err = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("guanxi_demo", "--customers", "3", stdout=StringIO(), stderr=err)
    assert exit_info.value.code == 2
    assert "customers" in err.getvalue() and "--reset" in err.getvalue()


@pytest.fixture
def bulk(db):
    demo("--customers", "2000", "--orders", "5000", "--mode", "bulk")


def test_bulk_demo_stores_what_the_services_would(bulk):
    assert Customer.objects.count() == 2000
    assert Order.objects.count() == 5000
    customers = Customer.objects.prefetch_related("phones", "emails", "contacts")
    for customer in customers:
        phones = [p.number for p in customer.phones.all()]
        assert phones, customer.pk
        for number in phones:
            assert number.startswith("+86") and normalize_phone(number)[0] == number
        assert (customer.name_pinyin, customer.name_initials) == name_keys(customer.name)
        assert customer.search_text == build_search_text(
            name=customer.name,
            company_name=customer.company_name,
            phones=phones,
            emails=[e.email for e in customer.emails.all()],
            external_id=customer.external_id,
            contact_names=[c.name for c in customer.contacts.all()],
        )
    # Each customer was created (timeline and stage history) and has an owner who is a rep.
    assert TimelineEvent.objects.filter(kind="created").count() == 2000
    assert StageChange.objects.filter(from_stage="").count() == 2000
    assert set(Customer.objects.values_list("owner__role", flat=True)) == {"rep"}
    # An order's total is the sum of its lines; customers with orders are not leads.
    orders = Order.objects.annotate(lines_total=Sum("lines__amount"), n=Count("lines"))
    assert not [o.pk for o in orders if o.total != o.lines_total or not o.n]
    assert not Customer.objects.filter(stage="lead", orders__isnull=False).exists()


def test_bulk_demo_customers_are_found_by_pinyin_initials_name_phone_and_email(bulk):
    admin = User.objects.get(username="liu.yang")
    client = ApiClient(admin)
    customer = Customer.objects.filter(kind="person").exclude(name__regex=r"^[A-Za-z]").first()
    email = customer.emails.first()
    queries = [
        customer.name_initials,  # "zwh" → 张伟华
        customer.name_initials[:2],
        customer.name[:2],
        customer.name_pinyin,
        customer.phones.first().number[-7:],
    ]
    if email:
        queries.append(email.email.split("@")[0])
    for q in queries:
        response = client.get("customers", {"q": q, "limit": 200})
        assert response.status_code == 200, response.content
        assert customer.pk in [c["id"] for c in response.json()["items"]], q


@pytest.mark.django_db(transaction=True)
def test_bulk_demo_in_two_sessions_makes_the_same_data_as_in_one(monkeypatch):
    """On PostgreSQL a large load is shared between two database sessions (SQLite keeps one);
    chunks are small here so that 2,000 customers are enough to take that path. (The data
    depends on the chunk size, not on the number of sessions.)"""
    from guanxi.demo import bulk

    def content():
        customers = Customer.objects.order_by("pk").values_list("name", "search_text", "stage")
        orders = Order.objects.order_by("pk").values_list("customer__name", "total", "status")
        return list(customers), list(orders)

    sides = []

    class CountedSide(bulk._SideSession):
        def __init__(self, loader):
            sides.append(self)
            super().__init__(loader)

    monkeypatch.setattr(bulk, "_SideSession", CountedSide)
    monkeypatch.setattr(bulk, "CUSTOMER_CHUNK", 500)
    monkeypatch.setattr(bulk, "ORDER_CHUNK", 200)
    demo("--customers", "2000", "--orders", "4000", "--mode", "bulk")
    shared = content()
    assert len(sides) == (1 if connection.vendor == "postgresql" else 0)
    assert len(shared[0]) == 2000 and len(shared[1]) == 4000
    monkeypatch.setattr(bulk, "SESSIONS", 1)
    demo("--customers", "2000", "--orders", "4000", "--mode", "bulk", "--reset")
    assert content() == shared
