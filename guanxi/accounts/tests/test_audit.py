"""The audit log: who created, changed (field: old → new) or deleted what, when, and how."""

from datetime import timedelta

from django.test import RequestFactory
from django.utils import timezone

from guanxi.accounts.models import AuditEntry
from guanxi.core.context import channel
from guanxi.core.middleware import RequestChannelMiddleware
from guanxi.customers.services import customer_create, customer_update
from tests.factories import make_customer, make_order


def _entries(model, action=None, **filters):
    qs = AuditEntry.objects.filter(model=model, **filters)
    if action:
        qs = qs.filter(action=action)
    return list(qs.order_by("id"))


def test_customer_create_change_delete_through_the_api(manager, api):
    client = api(manager)
    start = timezone.now() - timedelta(seconds=1)
    cid = client.post("customers", {"name": "张三", "phones": ["13800138000"]}).json()["id"]
    client.patch(f"customers/{cid}", {"name": "张三丰", "industry": "制造业", "tags": ["VIP"]})
    client.delete(f"customers/{cid}")

    create, change, delete = _entries("customers.customer", object_id=str(cid))
    for entry in (create, change, delete):
        assert entry.actor_id == manager.pk
        assert entry.channel == "api"
        assert entry.customer_id == cid
        assert entry.at >= start
    assert (create.action, change.action, delete.action) == ("create", "update", "delete")
    assert create.changes["name"] == [None, "张三"]
    assert create.changes["phones"] == [None, ["+8613800138000"]]
    assert change.changes["name"] == ["张三", "张三丰"]
    assert change.changes["industry"] == ["", "制造业"]
    assert change.changes["tags"] == [[], ["VIP"]]
    assert "phones" not in change.changes  # unchanged fields are not listed
    assert delete.changes["name"] == ["张三丰", None]
    assert delete.object_repr == "张三丰"


def test_stage_owner_and_bulk_changes_are_audited(manager, rep, rep2, customer, api):
    client = api(manager)
    client.post(f"customers/{customer.pk}/stage", {"stage": "active", "cause": "签约"})
    client.post("customers/bulk/assign-owner", {"ids": [customer.pk], "owner": rep2.pk})
    client.post("customers/bulk/tag", {"ids": [customer.pk], "add": ["VIP"]})
    changes = [e.changes for e in _entries("customers.customer", "update")]
    assert {"stage": ["lead", "active"]} in changes
    assert {"owner_id": [rep.pk, rep2.pk]} in changes
    assert {"tags": [[], ["VIP"]]} in changes
    assert {e.channel for e in _entries("customers.customer", "update")} == {"api"}


def test_contacts_interactions_orders_and_tasks_are_audited(admin, rep, api):
    client = api(rep)
    company = make_customer(rep, kind="company")
    contact = client.post("contacts", {"customer": company.pk, "name": "王经理"}).json()
    client.patch(f"contacts/{contact['id']}", {"title": "总监"})
    client.delete(f"contacts/{contact['id']}")

    interaction = client.post(
        "interactions", {"customer": company.pk, "kind": "call", "subject": "电话"}
    ).json()
    client.patch(f"interactions/{interaction['id']}", {"subject": "回电"})
    client.delete(f"interactions/{interaction['id']}")

    order = client.post(
        "orders",
        {
            "customer": company.pk,
            "number": "SO-1",
            "status": "pending",
            "lines": [{"product_name": "茶", "unit_price": 10}],
        },
    ).json()
    client.patch(f"orders/{order['id']}", {"status": "cancelled"})
    client.delete(f"orders/{order['id']}")

    task = client.post("tasks", {"customer": company.pk, "title": "回访"}).json()
    client.patch(f"tasks/{task['id']}", {"status": "done"})
    client.delete(f"tasks/{task['id']}")

    for model, pk, field, old, new in [
        ("customers.contact", contact["id"], "title", "", "总监"),
        ("interactions.interaction", interaction["id"], "subject", "电话", "回电"),
        ("orders.order", order["id"], "status", "pending", "cancelled"),
        ("interactions.task", task["id"], "status", "open", "done"),
    ]:
        entries = _entries(model, object_id=str(pk))
        assert [e.action for e in entries] == ["create", "update", "delete"], model
        assert entries[1].changes[field] == [old, new], model
        assert all(e.customer_id == company.pk for e in entries), model
        assert all(e.actor_id == rep.pk and e.channel == "api" for e in entries), model


def test_cli_channel_is_recorded_when_active(admin):
    with channel("cli"):
        customer = customer_create(actor=admin, data={"name": "命令行客户"})
    entry = _entries("customers.customer", object_id=str(customer.pk))[0]
    assert (entry.channel, entry.actor_id) == ("cli", admin.pk)


def test_pages_record_the_ui_channel_and_the_api_its_own(admin, customer):
    def edit(request):
        customer_update(actor=admin, customer=customer, data={"industry": request.path})
        from django.http import HttpResponse

        return HttpResponse()

    middleware = RequestChannelMiddleware(edit)
    middleware(RequestFactory().get("/admin/customers/customer/1/change/"))
    middleware(RequestFactory().get("/api/v1/customers/1"))
    channels = [e.channel for e in _entries("customers.customer", "update")]
    assert channels == ["ui", "api"]


def test_system_changes_have_no_actor(admin, customer):
    from guanxi.customers.services import customer_change_stage

    customer_change_stage(actor=None, customer=customer, stage="at_risk", cause="规则")
    entry = _entries("customers.customer", "update")[-1]
    assert entry.actor_id is None
    assert entry.changes == {"stage": ["lead", "at_risk"]}


def test_order_create_is_audited_with_number_and_total(admin, customer):
    order = make_order(admin, customer, number="SO-9", total="99.50")
    entry = _entries("orders.order", "create", object_id=str(order.pk))[0]
    assert entry.changes["number"] == [None, "SO-9"]
    assert entry.changes["total"] == [None, "99.50"]


def test_user_changes_are_audited(admin, rep, api):
    api(admin).patch(f"users/{rep.pk}", {"role": "manager"})
    entry = _entries("accounts.user", "update", object_id=str(rep.pk))[-1]
    assert entry.changes["role"] == ["rep", "manager"]
    assert entry.actor_id == admin.pk
