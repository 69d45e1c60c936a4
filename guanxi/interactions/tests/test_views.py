"""Interactions and tasks in the staff UI: scoped lists, service-backed forms, bulk done."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from guanxi.interactions.models import Interaction, Task
from guanxi.interactions.services import interaction_log, task_create
from tests.factories import make_customer

INTERACTIONS = "/admin/interactions/interaction/"
TASKS = "/admin/interactions/task/"


def interaction_form(customer, **fields):
    now = timezone.localtime()
    data = {
        "customer": str(customer.pk),
        "contact": "",
        "kind": "call",
        "direction": "outbound",
        "channel": "phone",
        "subject": "回访",
        "body": "",
        "outcome": "",
        "next_step": "",
        "occurred_at_0": now.strftime("%Y-%m-%d"),
        "occurred_at_1": now.strftime("%H:%M:%S"),
        "_save": "Save",
    }
    data.update(fields)
    return data


@pytest.mark.parametrize("role", ["admin", "manager", "rep", "agent", "marketer"])
def test_interaction_and_task_lists_load_for_every_role(client, request, role, customer):
    client.force_login(request.getfixturevalue(role))
    for url in (INTERACTIONS, TASKS, INTERACTIONS + "add/", TASKS + "add/"):
        expected = 403 if (role == "marketer" and url == INTERACTIONS + "add/") else 200
        assert client.get(url).status_code == expected, url


def test_rep_logs_a_call_on_own_customer_and_sees_it_on_the_timeline(client, rep, customer):
    client.force_login(rep)
    r = client.post(INTERACTIONS + "add/", interaction_form(customer, subject="报价电话"))
    assert r.status_code == 302
    assert r["Location"] == reverse("admin:customers_customer_360", args=[customer.pk])
    interaction = Interaction.objects.get(subject="报价电话")
    assert interaction.user == rep and interaction.customer == customer
    assert "报价电话" in client.get(r["Location"]).content.decode()


def test_rep_cannot_log_on_another_reps_customer(client, rep2, customer):
    client.force_login(rep2)
    r = client.post(INTERACTIONS + "add/", interaction_form(customer, subject="越权"))
    assert r.status_code == 200
    assert "customer" in r.context["adminform"].form.errors
    assert not Interaction.objects.filter(subject="越权").exists()


def test_interaction_errors_name_the_field(client, rep, customer):
    client.force_login(rep)
    r = client.post(INTERACTIONS + "add/", interaction_form(customer, subject=""))
    assert r.status_code == 200
    assert "subject" in r.context["adminform"].form.errors


def test_interaction_list_is_scoped_searchable_and_filterable(client, rep, rep2, customer):
    other = make_customer(rep2, name="别人的客户")
    interaction_log(actor=rep, customer=customer, data={"kind": "call", "subject": "我的电话"})
    interaction_log(actor=rep, customer=customer, data={"kind": "email", "subject": "我的邮件"})
    interaction_log(actor=rep2, customer=other, data={"kind": "call", "subject": "他的电话"})
    client.force_login(rep)
    body = client.get(INTERACTIONS).content.decode()
    assert "我的电话" in body and "他的电话" not in body
    r = client.get(INTERACTIONS, {"kind__exact": "email"})
    assert [i.subject for i in r.context["cl"].result_list] == ["我的邮件"]
    r = client.get(INTERACTIONS, {"q": "电话"})
    assert [i.subject for i in r.context["cl"].result_list] == ["我的电话"]
    r = client.get(INTERACTIONS, {"customer__id__exact": str(customer.pk)})
    assert len(r.context["cl"].result_list) == 2
    theirs = Interaction.objects.get(subject="他的电话")
    url = reverse("admin:interactions_interaction_change", args=[theirs.pk])
    assert client.get(url).status_code == 404


def test_rep_adds_a_task_for_a_customer(client, rep, customer):
    client.force_login(rep)
    due = timezone.localtime() + timedelta(days=2)
    r = client.post(
        TASKS + "add/",
        {
            "title": "寄送样品",
            "description": "",
            "customer": str(customer.pk),
            "due_at_0": due.strftime("%Y-%m-%d"),
            "due_at_1": "10:00:00",
            "remind_at_0": "",
            "remind_at_1": "",
            "priority": "high",
            "_save": "Save",
        },
    )
    assert r.status_code == 302
    task = Task.objects.get(title="寄送样品")
    assert task.owner == rep and task.customer == customer and task.priority == "high"


def test_task_reminder_after_due_is_an_error_on_the_reminder(client, rep):
    client.force_login(rep)
    r = client.post(
        TASKS + "add/",
        {
            "title": "提醒太晚",
            "due_at_0": "2030-01-01",
            "due_at_1": "10:00:00",
            "remind_at_0": "2030-01-02",
            "remind_at_1": "10:00:00",
            "priority": "normal",
            "_save": "Save",
        },
    )
    assert r.status_code == 200
    assert "remind_at" in r.context["adminform"].form.errors


def test_tasks_mine_filter_and_mark_done_action(client, manager, rep, rep2, customer):
    mine = task_create(actor=rep, customer=customer, data={"title": "我的任务"})
    other_customer = make_customer(rep2, name="他的客户")
    theirs = task_create(actor=rep2, customer=other_customer, data={"title": "他的任务"})
    client.force_login(rep)
    body = client.get(TASKS).content.decode()
    assert "我的任务" in body and "他的任务" not in body
    client.post(
        TASKS,
        {"action": "mark_done", "_selected_action": [str(mine.pk), str(theirs.pk)], "index": "0"},
    )
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.status == "done" and theirs.status == "open"
    client.force_login(manager)
    r = client.get(TASKS, {"assigned": "me"})
    assert list(r.context["cl"].result_list) == []
    r = client.get(TASKS, {"assigned": "others", "status__exact": "open"})
    assert [t.title for t in r.context["cl"].result_list] == ["他的任务"]


def test_overdue_filter(client, rep, customer):
    task_create(
        actor=rep,
        customer=customer,
        data={"title": "过期了", "due_at": timezone.now() - timedelta(days=1)},
    )
    task_create(
        actor=rep,
        customer=customer,
        data={"title": "还早", "due_at": timezone.now() + timedelta(days=3)},
    )
    client.force_login(rep)
    r = client.get(TASKS, {"due": "overdue"})
    assert [t.title for t in r.context["cl"].result_list] == ["过期了"]
