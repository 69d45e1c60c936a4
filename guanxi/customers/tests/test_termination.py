"""Ending a relationship (关系终止): a request with a reason, a manager's approval once no
order or task is open, and the customer read-only and suppressed afterwards; through the
API, the pages and the services."""

import pytest
from django.urls import reverse

from guanxi.accounts.models import AuditEntry
from guanxi.accounts.services import grant_create
from guanxi.core.errors import Conflict
from guanxi.customers.models import Customer, TerminationRequest
from guanxi.customers.selectors import contactable_q, customer_ids_editable
from guanxi.customers.services import (
    contact_create,
    termination_approve,
    termination_request,
)
from guanxi.interactions.models import TimelineEvent
from guanxi.interactions.services import interaction_log, task_create
from guanxi.interactions.timeline import describe
from guanxi.orders.models import Order
from tests.factories import make_customer, make_order, make_user

READ_ONLY = "The relationship with this customer has ended; its records are read-only."


def _error(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["detail"]
    return body


def _steps(customer):
    """The termination steps on the customer's timeline, oldest first."""
    return [
        e.data["action"]
        for e in TimelineEvent.objects.filter(customer=customer, kind="termination").order_by(
            "at", "id"
        )
    ]


@pytest.fixture
def company(rep):
    return make_customer(rep, name="远山贸易", kind="company", phones=["13900139000"])


@pytest.fixture
def ended(rep, manager, company, admin):
    """The company, its relationship ended (with a contact, a completed order, a done task)."""
    contact_create(actor=rep, customer=company, data={"name": "王经理"})
    make_order(admin, company, number="E-1", status="completed")
    task = task_create(actor=rep, customer=company, data={"title": "结清尾款"})
    from guanxi.interactions.services import task_complete

    task_complete(actor=rep, task=task)
    request = termination_request(actor=rep, customer=company, reason="客户违约")
    termination_approve(actor=manager, request=request, note="同意")
    company.refresh_from_db()
    return company


# The flow through the API ---------------------------------------------------------------------


def test_rep_asks_manager_approves_and_the_customer_is_terminated(api, rep, manager, company):
    r = api(rep).post(f"customers/{company.pk}/termination", {"reason": "  客户要求终止合作  "})
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["status"], body["reason"], body["requested_by"]) == (
        "pending",
        "客户要求终止合作",
        "rep1",
    )
    assert api(rep).get(f"customers/{company.pk}/termination").json()[0]["id"] == body["id"]

    pending = api(manager).get("terminations", {"status": "pending"}).json()
    assert [item["id"] for item in pending["items"]] == [body["id"]]

    r = api(manager).post(f"terminations/{body['id']}/approve", {"note": "已结清"})
    assert r.status_code == 200, r.content
    decided = r.json()
    assert (decided["status"], decided["decided_by"], decided["decision_note"]) == (
        "approved",
        "manager1",
        "已结清",
    )
    assert decided["settlement"]["open_orders"] == [] == decided["settlement"]["open_tasks"]
    assert decided["settlement"]["checked_at"]

    customer = api(rep).get(f"customers/{company.pk}").json()
    assert customer["stage"] == "terminated"
    history = api(rep).get(f"customers/{company.pk}/stage-history").json()
    assert (history[0]["to_stage"], history[0]["cause"], history[0]["actor"]) == (
        "terminated",
        "客户要求终止合作",
        manager.pk,
    )
    assert _steps(company) == ["requested", "approved"]
    assert api(manager).get("terminations", {"status": "pending"}).json()["items"] == []
    audited = AuditEntry.objects.filter(model="customers.terminationrequest", object_id=body["id"])
    assert sorted(e.changes["status"][1] for e in audited) == ["approved", "pending"]
    assert AuditEntry.objects.filter(
        model="customers.customer", object_id=str(company.pk), changes__stage__1="terminated"
    ).exists()


def test_a_request_needs_a_reason(api, rep, company):
    r = api(rep).post(f"customers/{company.pk}/termination", {"reason": "   "})
    assert "reason" in _error(r, 422)["errors"]
    assert not TerminationRequest.objects.exists()


def test_only_one_request_waits_at_a_time(api, rep, manager, company):
    assert api(rep).post(f"customers/{company.pk}/termination", {"reason": "a"}).status_code == 201
    r = api(manager).post(f"customers/{company.pk}/termination", {"reason": "b"})
    assert "already waiting" in _error(r, 409)["errors"]["customer"][0]
    assert TerminationRequest.objects.count() == 1


def test_an_ended_relationship_cannot_be_asked_to_end_again(api, rep, ended):
    r = api(rep).post(f"customers/{ended.pk}/termination", {"reason": "again"})
    assert "has ended" in _error(r, 409)["errors"]["customer"][0]


def test_rep_cannot_approve_or_reject(api, rep, company):
    pk = termination_request(actor=rep, customer=company, reason="不合作").pk
    assert _error(api(rep).post(f"terminations/{pk}/approve", {}), 403)
    assert _error(api(rep).post(f"terminations/{pk}/reject", {"note": "x"}), 403)
    assert TerminationRequest.objects.get(pk=pk).status == "pending"
    assert Customer.objects.get(pk=company.pk).stage != "terminated"


def test_agents_and_marketers_may_neither_ask_nor_decide(api, rep, agent, marketer, company):
    pk = termination_request(actor=rep, customer=company, reason="不合作").pk
    for user in (agent, marketer):
        assert _error(api(user).post(f"customers/{company.pk}/termination", {"reason": "x"}), 403)
        assert _error(api(user).post(f"terminations/{pk}/approve", {}), 403)
        assert _error(api(user).post(f"terminations/{pk}/withdraw"), 403)


def test_another_reps_customer_is_not_found(api, rep, rep2, far_rep, other_team, company):
    far_manager = make_user("manager2", "manager", team=other_team)
    pk = termination_request(actor=rep, customer=company, reason="不合作").pk
    for user in (rep2, far_rep):
        assert _error(api(user).post(f"customers/{company.pk}/termination", {"reason": "x"}), 404)
        assert _error(api(user).get(f"customers/{company.pk}/termination"), 404)
        assert _error(api(user).get(f"terminations/{pk}"), 404)
        assert _error(api(user).post(f"terminations/{pk}/withdraw"), 404)
    assert _error(api(far_manager).post(f"terminations/{pk}/approve", {}), 404)
    assert api(far_manager).get("terminations").json()["items"] == []
    # An id that does not exist answers alike.
    missing = api(rep2).get("terminations/987654321").json()
    assert missing == api(rep2).get(f"terminations/{pk}").json()
    assert TerminationRequest.objects.get(pk=pk).status == "pending"


def test_an_unknown_status_filter_is_a_422(api, manager):
    assert api(manager).get("terminations", {"status": "zzz"}).status_code == 422


# The settlement check -------------------------------------------------------------------------


def test_open_orders_block_the_approval_and_nothing_changes(api, rep, manager, admin, company):
    make_order(admin, company, number="SO-OPEN-1", status="pending")
    make_order(admin, company, number="SO-OPEN-2", status="shipped")
    make_order(admin, company, number="SO-DONE", status="completed")
    pk = termination_request(actor=rep, customer=company, reason="不合作").pk
    client = api(manager)
    audit_before = AuditEntry.objects.count()
    stage_before = Customer.objects.get(pk=company.pk).stage

    body = _error(client.post(f"terminations/{pk}/approve", {"note": "x"}), 409)
    assert [o["number"] for o in body["open_orders"]] == ["SO-OPEN-1", "SO-OPEN-2"]
    assert body["open_tasks"] == []
    assert "2 open orders (SO-OPEN-1, SO-OPEN-2)" in body["errors"]["customer"][0]
    assert "SO-DONE" not in body["detail"]

    request = TerminationRequest.objects.get(pk=pk)
    assert (request.status, request.decided_by, request.settlement) == ("pending", None, {})
    assert Customer.objects.get(pk=company.pk).stage == stage_before
    assert AuditEntry.objects.count() == audit_before
    assert _steps(company) == ["requested"]

    # Settled, the approval goes through.
    for number in ("SO-OPEN-1", "SO-OPEN-2"):
        order = Order.objects.get(number=number)
        assert api(rep).patch(f"orders/{order.pk}", {"status": "cancelled"}).status_code == 200
    r = api(manager).post(f"terminations/{pk}/approve", {})
    assert r.status_code == 200, r.content
    assert r.json()["settlement"]["orders"] == {"cancelled": 2, "completed": 1}


def test_an_open_task_blocks_the_approval(api, rep, manager, company):
    task = task_create(actor=rep, customer=company, data={"title": "回访客户"})
    pk = termination_request(actor=rep, customer=company, reason="不合作").pk
    body = _error(api(manager).post(f"terminations/{pk}/approve", {}), 409)
    assert body["open_tasks"] == [{"id": task.pk, "title": "回访客户", "owner": "rep1"}]
    assert "1 open task (“回访客户”)" in body["detail"]
    assert TerminationRequest.objects.get(pk=pk).status == "pending"

    assert api(rep).patch(f"tasks/{task.pk}", {"status": "done"}).status_code == 200
    assert api(manager).post(f"terminations/{pk}/approve", {}).status_code == 200


# Read-only and suppressed afterwards ----------------------------------------------------------


def test_every_write_to_an_ended_relationship_is_refused_with_the_reason(
    api, rep, manager, admin, marketer, ended
):
    contact = ended.contacts.get()
    order = ended.orders.get()
    pk = ended.pk
    refused = [
        api(rep).patch(f"customers/{pk}", {"industry": "制造业"}),
        api(manager).patch(f"customers/{pk}", {"addresses": [{"city": "上海"}]}),
        api(marketer).patch(f"customers/{pk}", {"tags": ["VIP"]}),
        api(manager).post(f"customers/{pk}/stage", {"stage": "active", "cause": "回来了"}),
        api(admin).delete(f"customers/{pk}"),
        api(rep).post("contacts", {"customer": pk, "name": "新联系人"}),
        api(rep).patch(f"contacts/{contact.pk}", {"title": "总监"}),
        api(rep).delete(f"contacts/{contact.pk}"),
        api(rep).post("interactions", {"customer": pk, "kind": "call", "subject": "回访"}),
        api(rep).post(
            "orders",
            {"customer": pk, "number": "N-1", "lines": [{"product_name": "x", "unit_price": 1}]},
        ),
        api(admin).patch(f"orders/{order.pk}", {"notes": "改"}),
        api(rep).post("tasks", {"customer": pk, "title": "再联系"}),
    ]
    for r in refused:
        body = _error(r, 409)
        assert body["errors"]["customer"] == [READ_ONLY], r.request["PATH_INFO"]
    # Set-based actions pass it over.
    assert api(admin).post("customers/bulk/tag", {"ids": [pk], "add": ["活动"]}).json() == {
        "changed": 0
    }
    r = api(admin).post("customers/bulk/assign-owner", {"ids": [pk], "owner": manager.pk})
    assert r.json() == {"changed": 0}
    stored = Customer.objects.get(pk=pk)
    assert (stored.stage, stored.industry, stored.owner_id) == ("terminated", "", rep.pk)
    assert not stored.tags.exists() and not stored.addresses.exists()
    assert stored.contacts.count() == 1 and stored.orders.count() == 1


def test_an_ended_relationships_records_stay_readable(api, rep, agent, ended):
    pk = ended.pk
    for user in (rep, agent):
        client = api(user)
        for path in [
            f"customers/{pk}",
            f"customers/{pk}/timeline",
            f"customers/{pk}/stage-history",
            f"customers/{pk}/termination",
        ]:
            assert client.get(path).status_code == 200, path
        assert client.get("orders", {"customer": pk}).json()["count"] == 1
        assert client.get("contacts", {"customer": pk}).json()["count"] == 1
    assert ended.pk in {c["id"] for c in api(rep).get("customers").json()["items"]}


def test_contact_and_marketing_leave_ended_relationships_out(rep, admin, ended):
    other = make_customer(rep, name="近水公司")
    assert set(Customer.objects.filter(contactable_q()).values_list("pk", flat=True)) == {other.pk}
    make_order(admin, other, number="C-1")
    orders = Order.objects.filter(contactable_q("customer__"))
    assert set(orders.values_list("number", flat=True)) == {"C-1"}
    # Imports and channel events do not write to them either.
    assert customer_ids_editable(actor=admin, ids=[ended.pk, other.pk]) == {other.pk}


def test_services_refuse_outbound_contact_and_bulk_writes(rep, admin, ended):
    from guanxi.orders.services import orders_bulk_create, orders_prepare

    with pytest.raises(Conflict) as refused:
        interaction_log(actor=rep, customer=ended, data={"kind": "email", "subject": "促销"})
    assert refused.value.errors == {"customer": [READ_ONLY]}
    prepared = orders_prepare(
        orders=[{"number": "B-1", "lines": [{"product_name": "x", "unit_price": 1}]}]
    )
    with pytest.raises(Conflict, match=f"#{ended.pk}"):
        orders_bulk_create(actor=admin, orders=[(ended.pk, prepared[0])])
    assert not Order.objects.filter(number="B-1").exists()


def test_an_ended_relationship_is_not_merged(api, admin, rep, ended):
    other = make_customer(rep, name="远山贸易有限公司")
    for survivor, absorbed in ((ended, other), (other, ended)):
        r = api(admin).post(f"customers/{survivor.pk}/merge", {"other": absorbed.pk})
        assert _error(r, 409)["errors"]["customer"] == [READ_ONLY]
    assert Customer.objects.filter(pk__in=[ended.pk, other.pk]).count() == 2


def test_a_waiting_request_is_not_lost_in_a_merge(api, admin, rep, company):
    keep = make_customer(rep, name="远山")
    termination_request(actor=rep, customer=company, reason="不合作")
    r = api(admin).post(f"customers/{keep.pk}/merge", {"other": company.pk})
    assert "other" in _error(r, 409)["errors"]


# Rejecting and withdrawing --------------------------------------------------------------------


def test_reject_needs_a_note_and_keeps_the_relationship(api, rep, manager, company):
    pk = termination_request(actor=rep, customer=company, reason="不合作").pk
    assert "note" in _error(api(manager).post(f"terminations/{pk}/reject", {}), 422)["errors"]
    r = api(manager).post(f"terminations/{pk}/reject", {"note": "客户还有潜力"})
    assert r.status_code == 200, r.content
    assert (r.json()["status"], r.json()["decision_note"]) == ("rejected", "客户还有潜力")
    assert Customer.objects.get(pk=company.pk).stage == "lead"
    # Decided once, for good; a new request may follow.
    assert _error(api(manager).post(f"terminations/{pk}/approve", {}), 409)["errors"]["status"]
    assert (
        api(rep).post(f"customers/{company.pk}/termination", {"reason": "再议"}).status_code == 201
    )
    assert _steps(company) == ["requested", "rejected", "requested"]


def test_the_requester_or_a_manager_may_withdraw(api, rep, rep2, manager, company):
    grant_create(actor=rep, grantee=rep2, owner=rep, can_edit=True)
    pk = termination_request(actor=rep, customer=company, reason="不合作").pk
    assert _error(api(rep2).post(f"terminations/{pk}/withdraw"), 403)  # not theirs
    r = api(rep).post(f"terminations/{pk}/withdraw")
    assert (r.status_code, r.json()["status"], r.json()["decided_by"]) == (200, "withdrawn", "rep1")
    assert _error(api(rep).post(f"terminations/{pk}/withdraw"), 409)

    pk = termination_request(actor=rep2, customer=company, reason="再议").pk
    assert api(manager).post(f"terminations/{pk}/withdraw").status_code == 200
    assert _steps(company) == ["requested", "withdrawn", "requested", "withdrawn"]
    assert Customer.objects.get(pk=company.pk).stage == "lead"


def test_each_step_reads_well_on_the_timeline(rep, manager, company):
    from guanxi.customers.services import termination_reject, termination_withdraw

    first = termination_request(actor=rep, customer=company, reason="客户违约")
    termination_reject(actor=manager, request=first, note="再跟进")
    second = termination_request(actor=rep, customer=company, reason="客户违约")
    termination_withdraw(actor=rep, request=second)
    third = termination_request(actor=rep, customer=company, reason="客户要求")
    termination_approve(actor=manager, request=third)
    events = TimelineEvent.objects.filter(
        customer=company, kind__in=["termination", "stage_changed"]
    )
    events = list(events.order_by("at", "id"))
    lines = [describe(e) for e in events]
    assert lines == [
        "Asked to end the relationship: 客户违约",
        "Request to end the relationship rejected (再跟进)",
        "Asked to end the relationship: 客户违约",
        "Request to end the relationship withdrawn",
        "Asked to end the relationship: 客户要求",
        "Ending the relationship approved; the records are now read-only",
        "Stage: Lead / potential → Terminated (客户要求)",
    ]
    assert all(e.object_model == "customers.terminationrequest" for e in events[:6])


# The pages ------------------------------------------------------------------------------------


def _page(customer):
    return reverse("admin:customers_customer_360", args=[customer.pk])


def test_rep_asks_on_the_360_page_and_sees_it_wait(client, rep, company):
    client.force_login(rep)
    page = client.get(_page(company)).content.decode()
    assert 'id="termination-ask"' in page and "End relationship" in page
    r = client.post(
        reverse("admin:customers_customer_termination", args=[company.pk]),
        {"reason": "客户要求终止合作"},
    )
    assert r.status_code == 302 and r["Location"] == _page(company)
    page = client.get(_page(company)).content.decode()
    assert 'id="termination"' in page and "客户要求终止合作" in page
    assert 'value="withdraw"' in page and 'value="approve"' not in page
    assert 'id="termination-ask"' not in page


def test_a_rep_cannot_ask_for_another_reps_customer_on_the_page(client, rep2, company):
    client.force_login(rep2)
    r = client.post(
        reverse("admin:customers_customer_termination", args=[company.pk]), {"reason": "x"}
    )
    assert r.status_code == 404
    assert not TerminationRequest.objects.exists()


def test_manager_sees_the_settlement_check_and_approves_on_the_page(
    client, rep, manager, admin, company
):
    order = make_order(admin, company, number="SO-9", status="paid")
    request = termination_request(actor=rep, customer=company, reason="不合作")
    client.force_login(manager)
    page = client.get(_page(company)).content.decode()
    assert 'id="termination-open"' in page and "SO-9" in page
    assert 'value="approve"' in page and "disabled" in page

    decide = reverse("admin:customers_terminationrequest_decide", args=[request.pk])
    r = client.post(decide, {"decision": "approve"}, follow=True)
    assert "SO-9" in r.content.decode()  # the refusal names the open order
    assert TerminationRequest.objects.get(pk=request.pk).status == "pending"

    Order.objects.filter(pk=order.pk).update(status="completed")
    before = page = client.get(_page(company)).content.decode()
    assert 'id="termination-settled"' in page
    r = client.post(decide, {"decision": "approve", "note": "同意"})
    assert r.status_code == 302 and r["Location"] == _page(company)

    controls = (
        f'href="{reverse("admin:customers_customer_change", args=[company.pk])}"><span',
        f'href="{reverse("admin:interactions_interaction_add")}?customer=',
        f'href="{reverse("admin:orders_order_add")}?customer=',
        f'href="{reverse("admin:interactions_task_add")}?customer=',
        'id="stage-form"',
    )
    assert all(control in before for control in controls)
    page = client.get(_page(company)).content.decode()
    assert 'id="termination-ended"' in page and "Relationship ended" in page
    for control in (*controls, 'id="termination-ask"'):
        assert control not in page, control
    # The edit form itself sends back to the page.
    r = client.get(reverse("admin:customers_customer_change", args=[company.pk]))
    assert r.status_code == 302 and r["Location"] == _page(company)


def test_manager_rejects_on_the_page_with_a_note(client, rep, manager, company):
    request = termination_request(actor=rep, customer=company, reason="不合作")
    client.force_login(manager)
    decide = reverse("admin:customers_terminationrequest_decide", args=[request.pk])
    client.post(decide, {"decision": "reject"})
    assert TerminationRequest.objects.get(pk=request.pk).status == "pending"  # a note is needed
    client.post(decide, {"decision": "reject", "note": "还有合作空间"})
    assert TerminationRequest.objects.get(pk=request.pk).status == "rejected"


def test_the_list_of_requests_is_for_those_who_decide(client, rep, manager, company):
    request = termination_request(actor=rep, customer=company, reason="不合作")
    changelist = reverse("admin:customers_terminationrequest_changelist")
    client.force_login(manager)
    r = client.get(changelist, {"status__exact": "pending"})
    assert r.status_code == 200 and "远山贸易" in r.content.decode()
    sidebar_link = f'href="{changelist}?status__exact=pending"'
    assert sidebar_link in client.get(_page(company)).content.decode()
    r = client.get(reverse("admin:customers_terminationrequest_change", args=[request.pk]))
    assert r.status_code == 302 and r["Location"] == _page(company) + "#termination"

    client.force_login(rep)
    assert client.get(changelist).status_code == 403
    assert sidebar_link not in client.get(_page(company)).content.decode()


def test_the_stage_form_offers_no_terminated_and_points_to_the_request(client, manager, company):
    client.force_login(manager)
    page = client.get(_page(company)).content.decode()
    assert 'value="terminated"' not in page
    r = client.post(
        reverse("admin:customers_customer_stage", args=[company.pk]),
        {"stage": "terminated", "cause": "不合作"},
        follow=True,
    )
    assert "End relationship" in r.content.decode()
    assert Customer.objects.get(pk=company.pk).stage == "lead"
