"""Interactions and tasks over the API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from guanxi.customers.services import contact_create
from tests.factories import make_customer


def _error(response, status):
    assert response.status_code == status, response.content
    return response.json()["errors"]


# Interactions ---------------------------------------------------------------------------------


def test_rep_logs_a_call_with_every_detail(rep, customer, api):
    when = (timezone.now() - timedelta(hours=2)).replace(microsecond=0)
    r = api(rep).post(
        "interactions",
        {
            "customer": customer.pk,
            "kind": "call",
            "direction": "inbound",
            "channel": "phone",
            "subject": "询价",
            "body": "客户询问批量采购价格",
            "outcome": "发送报价",
            "next_step": "周五回访",
            "occurred_at": when.isoformat(),
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["customer"] == customer.pk
    assert body["user"] == rep.pk
    assert (body["kind"], body["direction"], body["channel"]) == ("call", "inbound", "phone")
    assert (body["outcome"], body["next_step"]) == ("发送报价", "周五回访")
    from django.utils.dateparse import parse_datetime

    assert parse_datetime(body["occurred_at"]) == when


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "telepathy"}, "kind"),
        ({"direction": "sideways"}, "direction"),
        ({"channel": "pigeon"}, "channel"),
        ({"subject": ""}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"occurred_at": "0001-01-01T00:00:00+14:00"}, "occurred_at"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"created_at": "2024-01-01T00:00:00Z"}, "created_at"),
        ({"user": 1}, "user"),
    ],
)
def test_bad_interaction_input_names_the_field(rep, customer, api, data, field):
    body = {"customer": customer.pk, "kind": "note", "subject": "备注", **data}
    assert field in _error(api(rep).post("interactions", body), 422)


def test_contact_must_belong_to_the_customer(rep, api):
    a = make_customer(rep, kind="company")
    b = make_customer(rep, kind="company")
    contact = contact_create(actor=rep, customer=b, data={"name": "王经理"})
    body = {"customer": a.pk, "kind": "meeting", "subject": "拜访", "contact": contact.pk}
    assert "contact" in _error(api(rep).post("interactions", body), 422)
    body["customer"] = b.pk
    assert api(rep).post("interactions", body).json()["contact"] == contact.pk


def test_agent_logs_on_any_customer_marketer_on_none(agent, marketer, customer, api):
    body = {"customer": customer.pk, "kind": "chat", "subject": "投诉处理"}
    assert api(agent).post("interactions", body).status_code == 201
    assert api(marketer).post("interactions", body).status_code == 403


def test_list_filters_by_customer_kind_channel_text_and_time(rep, customer, api):
    client = api(rep)
    other = make_customer(rep)
    now = timezone.now()
    logged = [
        (customer.pk, "call", "phone", "报价电话", now - timedelta(days=10)),
        (customer.pk, "email", "email", "发送合同", now - timedelta(days=1)),
        (other.pk, "visit", "in_person", "上门拜访", now),
    ]
    ids = []
    for cid, kind, channel, subject, when in logged:
        r = client.post(
            "interactions",
            {
                "customer": cid,
                "kind": kind,
                "channel": channel,
                "subject": subject,
                "occurred_at": when.isoformat(),
            },
        )
        ids.append(r.json()["id"])

    def listed(**params):
        r = client.get("interactions", params)
        assert r.status_code == 200, r.content
        return [i["id"] for i in r.json()["items"]]

    assert listed() == [ids[2], ids[1], ids[0]]  # newest first
    assert listed(customer=customer.pk) == [ids[1], ids[0]]
    assert listed(kind="call") == [ids[0]]
    assert listed(channel="in_person") == [ids[2]]
    assert listed(q="合同") == [ids[1]]
    week_ago = (timezone.localdate() - timedelta(days=7)).isoformat()
    assert listed(after=week_ago) == [ids[2], ids[1]]
    assert listed(before=week_ago) == [ids[0]]
    assert "kind" in _error(client.get("interactions", {"kind": "zzz"}), 422)


def test_patch_and_delete_an_interaction(rep, customer, api):
    client = api(rep)
    iid = client.post(
        "interactions", {"customer": customer.pk, "kind": "note", "subject": "备注"}
    ).json()["id"]
    r = client.patch(f"interactions/{iid}", {"outcome": "已解决", "kind": "call"})
    assert (r.json()["outcome"], r.json()["kind"]) == ("已解决", "call")
    assert "kind" in _error(client.patch(f"interactions/{iid}", {"kind": None}), 422)
    assert "customer" in _error(client.patch(f"interactions/{iid}", {"customer": 1}), 422)
    assert client.delete(f"interactions/{iid}").status_code == 204
    assert client.get(f"interactions/{iid}").status_code == 404


def test_interaction_list_query_count_is_flat(admin, rep, api, django_assert_max_num_queries):
    from guanxi.interactions.services import interaction_log

    for i in range(30):
        c = make_customer(rep)
        interaction_log(actor=rep, customer=c, data={"kind": "call", "subject": f"电话{i}"})
    client = api(admin)
    client.get("me")
    with django_assert_max_num_queries(3):
        r = client.get("interactions", {"limit": 50})
    assert len(r.json()["items"]) == 30


# Tasks ----------------------------------------------------------------------------------------


def test_rep_creates_a_task_for_themselves_about_a_customer(rep, customer, api):
    due = timezone.now() + timedelta(days=2)
    r = api(rep).post(
        "tasks",
        {
            "customer": customer.pk,
            "title": "寄样品",
            "due_at": due.isoformat(),
            "remind_at": (due - timedelta(hours=3)).isoformat(),
            "priority": "high",
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["owner"], body["created_by"], body["status"]) == (rep.pk, rep.pk, "open")
    assert body["priority"] == "high"


def test_rep_may_not_assign_tasks_to_others_but_a_manager_may(rep, rep2, manager, customer, api):
    r = api(rep).post("tasks", {"customer": customer.pk, "title": "x", "owner": rep2.pk})
    assert "owner" in _error(r, 403)
    r = api(manager).post("tasks", {"customer": customer.pk, "title": "x", "owner": rep.pk})
    assert r.json()["owner"] == rep.pk


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"title": ""}, "title"),
        ({"priority": "urgent"}, "priority"),
        ({"owner": 987654}, "owner"),
        ({"due_at": "2030-01-01T00:00:00Z", "remind_at": "2030-01-02T00:00:00Z"}, "remind_at"),
        ({"due_at": "9999-12-31T23:00:00-05:00"}, "due_at"),
        ({"status": "done"}, "status"),  # a new task is open; status is for updates
    ],
)
def test_bad_task_input_names_the_field(rep, customer, api, data, field):
    body = {"customer": customer.pk, "title": "回访", **data}
    r = api(rep).post("tasks", body)
    assert r.status_code in (403, 422), r.content
    assert field in r.json()["errors"]


def test_completing_a_task_stamps_it_and_reopening_clears(rep, customer, api):
    client = api(rep)
    tid = client.post("tasks", {"customer": customer.pk, "title": "回访"}).json()["id"]
    r = client.patch(f"tasks/{tid}", {"status": "done"})
    assert r.json()["completed_at"] is not None
    r = client.patch(f"tasks/{tid}", {"status": "open"})
    assert r.json()["completed_at"] is None
    assert "status" in _error(client.patch(f"tasks/{tid}", {"status": "later"}), 422)


def test_task_list_filters_by_owner_status_and_customer(manager, rep, rep2, customer, api):
    theirs = make_customer(rep2)
    client = api(manager)
    mine = client.post("tasks", {"title": "经理自己的"}).json()["id"]
    for_rep = client.post(
        "tasks", {"customer": customer.pk, "title": "给rep1", "owner": rep.pk}
    ).json()["id"]
    done = client.post(
        "tasks", {"customer": theirs.pk, "title": "给rep2", "owner": rep2.pk}
    ).json()["id"]
    client.patch(f"tasks/{done}", {"status": "done"})

    def listed(c=client, **params):
        r = c.get("tasks", params)
        assert r.status_code == 200, r.content
        return {t["id"] for t in r.json()["items"]}

    assert listed() == {mine, for_rep, done}
    assert listed(owner="me") == {mine}
    assert listed(owner=rep.pk) == {for_rep}
    assert listed(status="done") == {done}
    assert listed(customer=customer.pk) == {for_rep}
    assert listed(api(rep)) == {for_rep}
    assert listed(api(rep2)) == {done}
    for bad in [{"owner": "null"}, {"owner": "someone"}, {"status": "zzz"}, {"customer": 0}]:
        assert set(bad) <= set(_error(client.get("tasks", bad), 422))


def test_tasks_without_a_customer_are_private(rep, rep2, agent, api):
    tid = api(rep).post("tasks", {"title": "整理名片"}).json()["id"]
    assert api(rep2).get(f"tasks/{tid}").status_code == 404
    assert api(agent).get(f"tasks/{tid}").status_code == 404
    assert api(rep).get(f"tasks/{tid}").status_code == 200


def test_task_list_query_count_is_flat(admin, rep, api, django_assert_max_num_queries):
    from guanxi.interactions.services import task_create

    for i in range(30):
        task_create(actor=rep, customer=make_customer(rep), data={"title": f"任务{i}"})
    client = api(admin)
    client.get("me")
    with django_assert_max_num_queries(3):
        r = client.get("tasks", {"limit": 50})
    assert len(r.json()["items"]) == 30


def test_manager_keeps_sight_of_a_private_task_they_gave_a_rep(manager, rep, rep2, api):
    tid = api(manager).post("tasks", {"title": "整理报价单", "owner": rep.pk}).json()["id"]
    assert api(manager).get(f"tasks/{tid}").status_code == 200
    assert api(rep).get(f"tasks/{tid}").status_code == 200
    assert api(rep2).get(f"tasks/{tid}").status_code == 404
    assert api(rep).patch(f"tasks/{tid}", {"status": "done"}).status_code == 200
