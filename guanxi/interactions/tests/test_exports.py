"""Exports of interactions and tasks through the API: scoped, filtered, audited, safe."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.accounts.models import AuditEntry
from guanxi.core.tests.export_helpers import export
from guanxi.interactions.exports import interaction_export, task_export
from guanxi.interactions.services import interaction_log, task_create
from tests.factories import make_customer

SHANGHAI = ZoneInfo("Asia/Shanghai")


# Interactions --------------------------------------------------------------------------------


@pytest.fixture
def interactions(rep, rep2):
    mine = make_customer(rep, name="张三")
    theirs = make_customer(rep2, name="王五")
    call = interaction_log(
        actor=rep,
        customer=mine,
        data={
            "kind": "call",
            "channel": "wechat",
            "subject": "报价电话",
            "outcome": "@客户 要折扣",
            "occurred_at": datetime(2026, 11, 3, 9, 30, tzinfo=SHANGHAI),
        },
    )
    note = interaction_log(
        actor=rep,
        customer=mine,
        data={
            "kind": "note",
            "subject": "备注",
            "occurred_at": datetime(2026, 11, 20, 8, 0, tzinfo=SHANGHAI),
        },
    )
    interaction_log(actor=rep2, customer=theirs, data={"kind": "call", "subject": "别人的电话"})
    return call, note


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_interaction_export_is_readable_and_safe(rep, api, interactions, fmt):
    call, _note = interactions
    rows = export(api(rep), fmt, {"kind": "call"}, path="interactions/export")
    assert len(rows) == 1
    row = rows[0]
    assert (row["Type"], row["Channel"], row["Direction"]) == ("Call", "WeChat", "Outbound")
    assert (row["Subject"], row["Outcome"]) == ("报价电话", "'@客户 要折扣")
    assert (row["Customer"], row["Customer ID"], row["By"]) == (
        "张三",
        str(call.customer_id),
        "rep1",
    )
    assert row["Time"] == "2026-11-03 09:30"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_interaction_export_keeps_the_lists_filters(rep, api, interactions, fmt):
    client = api(rep)
    subjects = [r["Subject"] for r in export(client, fmt, path="interactions/export")]
    assert sorted(subjects) == ["备注", "报价电话"]
    rows = export(client, fmt, {"after": "2026-11-10"}, path="interactions/export")
    assert [r["Subject"] for r in rows] == ["备注"]
    rows = export(client, fmt, {"q": "报价"}, path="interactions/export")
    assert [r["Subject"] for r in rows] == ["报价电话"]


def test_rep_interaction_export_never_contains_another_reps(rep2, api, interactions):
    assert [r["Subject"] for r in export(api(rep2), "csv", path="interactions/export")] == [
        "别人的电话"
    ]
    hidden = interactions[0].customer_id
    assert api(rep2).get("interactions/export", {"customer": hidden}).status_code == 404


def test_marketer_may_not_export_interactions(marketer, api, interactions):
    assert api(marketer).get("interactions/export").status_code == 403


def test_interaction_export_is_audited(rep, api, interactions):
    export(api(rep), "xlsx", {"kind": "note"}, path="interactions/export")
    entry = AuditEntry.objects.get(action="export")
    assert (entry.model, entry.channel) == ("interactions.interaction", "api")
    assert entry.changes == {"filters": [None, {"kind": "note"}], "count": [None, 1]}


def test_interaction_export_reads_a_fixed_number_of_queries(rep, interactions):
    def queries():
        with CaptureQueriesContext(connection) as ctx:
            rows = list(interaction_export(actor=rep).rows)
        return len(ctx.captured_queries), len(rows)

    assert queries() == (4, 2)  # grants, count, audit; interactions with customer, contact, user
    for i in range(10):
        interaction_log(
            actor=rep, customer=interactions[0].customer, data={"kind": "note", "subject": f"{i}"}
        )
    assert queries() == (4, 12)


# Tasks ---------------------------------------------------------------------------------------


@pytest.fixture
def tasks(rep, rep2, manager):
    mine = make_customer(rep, name="张三")
    theirs = make_customer(rep2, name="王五")
    due = datetime(2026, 12, 5, 18, 0, tzinfo=SHANGHAI)
    follow_up = task_create(
        actor=rep, customer=mine, data={"title": "回访张三", "due_at": due, "priority": "high"}
    )
    task_create(actor=rep, customer=None, data={"title": "-写周报"})
    task_create(actor=rep2, customer=theirs, data={"title": "回访王五"})
    assigned = task_create(
        actor=manager, customer=theirs, data={"title": "经理派的任务", "owner": rep.pk}
    )
    return follow_up, assigned


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_task_export_shows_what_the_task_list_shows(rep, api, tasks, fmt):
    rows = {r["Title"]: r for r in export(api(rep), fmt, path="tasks/export")}
    # Own tasks, a private one, and one assigned by the manager on a colleague's customer;
    # never the colleague's own task.
    assert sorted(rows) == sorted(["回访张三", "'-写周报", "经理派的任务"])
    row = rows["回访张三"]
    assert (row["Priority"], row["Status"], row["Due"]) == ("High", "Open", "2026-12-05 18:00")
    assert (row["Assigned to"], row["Created by"], row["Customer"]) == ("rep1", "rep1", "张三")
    assert rows["'-写周报"]["Customer"] == ""


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_task_export_keeps_the_lists_filters(rep, manager, api, tasks, fmt):
    follow_up, assigned = tasks
    rows = export(api(rep), fmt, {"customer": follow_up.customer_id}, path="tasks/export")
    assert [r["Title"] for r in rows] == ["回访张三"]
    rows = export(api(manager), fmt, {"owner": "me"}, path="tasks/export")
    assert rows == []
    rows = export(api(manager), fmt, {"owner": str(rep.pk)}, path="tasks/export")
    assert sorted(r["Title"] for r in rows) == sorted(["回访张三", "经理派的任务"])


def test_rep_task_export_never_contains_another_reps_task(far_rep, api, tasks):
    task_create(actor=far_rep, customer=None, data={"title": "远方的任务"})
    assert [r["Title"] for r in export(api(far_rep), "csv", path="tasks/export")] == ["远方的任务"]


def test_marketer_may_not_export_tasks(marketer, api, tasks):
    assert api(marketer).get("tasks/export", {"format": "xlsx"}).status_code == 403


def test_task_export_is_audited(rep, api, tasks):
    export(api(rep), "csv", {"status": "open"}, path="tasks/export")
    entry = AuditEntry.objects.get(action="export")
    assert (entry.model, entry.channel) == ("interactions.task", "api")
    assert entry.changes == {"filters": [None, {"status": "open"}], "count": [None, 3]}


def test_task_export_reads_a_fixed_number_of_queries(rep, tasks):
    def queries():
        with CaptureQueriesContext(connection) as ctx:
            rows = list(task_export(actor=rep).rows)
        return len(ctx.captured_queries), len(rows)

    assert queries() == (4, 3)  # grants, count, audit; tasks with customer, owner, creator
    for i in range(10):
        task_create(actor=rep, customer=None, data={"title": f"任务{i}"})
    assert queries() == (4, 13)
