"""Importing interactions through `guanxi import interactions` and the API: calls, visits,
notes … linked to their customer by external id, phone or email; the same customer, time and
subject skipped; access, undo, and the statements a chunk costs."""

import pytest
from django.utils import timezone

from guanxi.accounts.models import AuditEntry
from guanxi.imports.models import ImportJob, ImportRecord
from guanxi.interactions.models import Interaction, TimelineEvent
from guanxi.interactions.services import interaction_log, interaction_update
from tests.factories import make_customer

from .helpers import cli, csv_bytes, issues_of, post_import, start_import, write_file

ZH_HEADER = ["客户编号", "类型", "方向", "渠道", "主题", "沟通内容", "结果", "下一步", "跟进时间",
             "跟进人"]  # fmt: skip


@pytest.fixture
def client(api, admin):
    return api(admin)


@pytest.fixture
def zhang(rep):
    return make_customer(rep, name="张三", phones=["13800138000"], emails=["zhang@example.com"],
                         external_id="M001")  # fmt: skip


def _issues(job: ImportJob) -> dict[int, list[tuple[str, str, str]]]:
    out: dict[int, list] = {}
    for issue in job.issues.order_by("row", "id"):
        out.setdefault(issue.row, []).append((issue.column, issue.severity, issue.message))
    return out


def test_a_gbk_file_with_chinese_headers(admin, rep, zhang, tmp_path):
    rows = [
        ZH_HEADER,
        ["M001", "电话", "呼入", "电话", "询价", "客户问绿茶的价格", "已报价", "下周回访",
         "2024/3/1 14:05", "rep1"],
        ["M001", "拜访", "", "当面", "上门拜访", "", "", "", "2024年3月5日", "没有这个人"],
        ["M001", "", "", "", "", "第一行\n第二行", "", "", "2024-03-06 09:00", ""],
    ]  # fmt: skip
    out, _err = cli("interactions", write_file(tmp_path, rows, encoding="gbk"))
    assert "跟进时间 → Time" in out and "跟进人 → By (user)" in out
    assert "created 3" in out and "failed 0" in out
    call = Interaction.objects.get(subject="询价")
    assert (call.kind, call.direction, call.channel) == ("call", "inbound", "phone")
    assert (
        call.body == "客户问绿茶的价格"
        and call.outcome == "已报价"
        and call.next_step == "下周回访"
    )
    assert call.user == rep and call.customer == zhang
    assert timezone.localtime(call.occurred_at).strftime("%Y-%m-%d %H:%M") == "2024-03-01 14:05"
    visit = Interaction.objects.get(subject="上门拜访")
    assert (visit.kind, visit.direction, visit.channel) == ("visit", "outbound", "in_person")
    assert visit.user == admin  # an unknown user: the importing user, with a warning
    note = Interaction.objects.get(kind="note")
    assert note.subject == "第一行" and note.body == "第一行\n第二行"
    job = ImportJob.objects.get()
    assert _issues(job) == {3: [("跟进人", "warning", "No active user is called “没有这个人”. "
                                 "The interaction is recorded as yours.")]}  # fmt: skip
    event = TimelineEvent.objects.get(kind="interaction", object_id=call.pk)
    assert event.data == {"kind": "call", "subject": "询价", "import": job.pk}
    assert event.at == call.occurred_at
    assert (
        AuditEntry.objects.filter(model="interactions.interaction", channel="import").count() == 3
    )
    assert ImportRecord.objects.filter(model="interactions.interaction").count() == 3


def test_an_english_file_linked_by_email(client, zhang, immediate_tasks):
    rows = [["Customer email", "Type", "Subject", "Details", "Date", "Direction"],
            ["ZHANG@example.com", "Meeting", "Kick-off", "Met at the fair", "2024-05-01 10:00",
             "Outbound"]]  # fmt: skip
    job = post_import(client, csv_bytes(rows), name="log.csv", kind="interactions").json()
    assert job["mapping"] == {"0": "customer_email", "1": "kind", "2": "subject", "3": "body",
                              "4": "occurred_at", "5": "direction"}  # fmt: skip
    preview = client.get(f"imports/{job['id']}/preview").json()["rows"][0]
    assert preview["outcome"] == {"action": "created", "customer": zhang.pk}
    assert preview["values"]["kind"] == "Meeting" and preview["values"]["occurred_at"] == (
        "2024-05-01 10:00"
    )
    done = start_import(client, job["id"], immediate_tasks)
    assert done["counts"] == {"created": 1}
    meeting = Interaction.objects.get()
    assert meeting.kind == "meeting" and meeting.customer == zhang and meeting.body


def test_missing_and_ambiguous_customers_and_bad_values_are_named(admin, rep, zhang, tmp_path):
    make_customer(rep, name="甲", phones=["13700137000"])
    make_customer(rep, name="乙", phones=["13700137000"])
    rows = [
        ["客户手机", "类型", "主题", "时间"],
        ["13600136000", "电话", "a", "2024-05-01"],
        ["13700137000", "电话", "b", "2024-05-01"],
        ["13800138000", "飞鸽传书", "c", "2024-05-01"],
        ["13800138000", "电话", "d", ""],
        ["13800138000", "电话", "e", "2024-05-01"],
    ]
    out, _err = cli("interactions", write_file(tmp_path, rows))
    assert "created 1" in out and "failed 4" in out
    issues = _issues(ImportJob.objects.get())
    assert issues[2] == [("客户手机", "error", "No customer has the phone number “+8613600136000” "
                          "— import the customers first.")]  # fmt: skip
    assert issues[3][0][2].startswith("2 customers have the phone number")
    assert issues[4][0][:2] == ("类型", "error") and "飞鸽传书" in issues[4][0][2]
    assert issues[5] == [("时间", "error", "This field is required.")]
    assert Interaction.objects.get().subject == "e"


def test_the_same_customer_time_and_subject_is_a_duplicate(admin, zhang, tmp_path):
    at = timezone.make_aware(timezone.datetime(2024, 5, 1, 9, 30))
    interaction_log(actor=admin, customer=zhang,
                    data={"kind": "call", "subject": "回访", "occurred_at": at})  # fmt: skip
    rows = [
        ["客户编号", "类型", "主题", "时间"],
        ["M001", "电话", "回访", "2024-05-01 09:30"],
        ["M001", "电话", "回访", "2024-05-01 10:30"],
        ["M001", "电话", "回访", "2024/5/1 10:30"],
        ["M001", "电话", "再访", "2024-05-01 10:30"],
    ]
    out, _err = cli("interactions", write_file(tmp_path, rows))
    assert "created 2" in out and "skipped 2" in out
    issues = _issues(ImportJob.objects.get())
    assert issues[2] == [("主题", "warning", "This customer already has an interaction with this "
                          "time and subject; skipped.")]  # fmt: skip
    assert issues[4] == [("主题", "warning", "Same customer, time and subject as row 3 of this "
                          "file; skipped.")]  # fmt: skip
    assert Interaction.objects.count() == 3


def test_a_manager_cannot_log_interactions_with_another_teams_customer(
    api, manager, rep, far_rep, immediate_tasks
):
    hidden = make_customer(far_rep, name="远方客户", external_id="FAR")
    own = make_customer(rep, name="近处客户", external_id="NEAR")
    client = api(manager)
    rows = [["Customer ID", "Type", "Subject", "Date"],
            ["FAR", "call", "hello", "2024-05-01"],
            ["NEAR", "call", "hello", "2024-05-01"]]  # fmt: skip
    job = post_import(client, csv_bytes(rows), kind="interactions").json()
    done = start_import(client, job["id"], immediate_tasks)
    assert done["counts"] == {"created": 1, "failed": 1}
    [issue] = issues_of(client, job["id"])
    assert issue["row"] == 2 and "No customer has the external id “FAR”" in issue["message"]
    assert f"#{hidden.pk}" not in issue["message"] and "远方" not in issue["message"]
    assert Interaction.objects.get().customer == own


def test_undo_takes_the_interactions_back_unless_changed_since(
    client, admin, zhang, immediate_tasks
):
    rows = [["Customer ID", "Type", "Subject", "Date"],
            ["M001", "call", "one", "2024-05-01"],
            ["M001", "note", "two", "2024-05-02"]]  # fmt: skip
    job = post_import(client, csv_bytes(rows), kind="interactions").json()
    start_import(client, job["id"], immediate_tasks)
    one = Interaction.objects.get(subject="one")
    interaction_update(actor=admin, interaction=one, data={"outcome": "约好了"})
    r = client.post(f"imports/{job['id']}/undo")
    assert r.status_code == 409 and "one" in r.json()["detail"]
    assert Interaction.objects.count() == 2
    Interaction.objects.filter(pk=one.pk).update(updated_at=ImportJob.objects.get().finished_at)
    assert client.post(f"imports/{job['id']}/undo").json()["status"] == "undone"
    assert not Interaction.objects.exists()
    assert not TimelineEvent.objects.filter(kind="interaction").exists()
    assert AuditEntry.objects.filter(model="interactions.interaction", action="delete").count() == 2


def test_a_chunk_costs_a_bounded_number_of_statements(
    admin, rep, tmp_path, django_assert_max_num_queries
):
    from guanxi.imports import services

    for i in range(25):
        make_customer(rep, name=f"客户{i}", phones=[f"139{i:08d}"])
    rows = [["客户手机", "类型", "主题", "时间", "跟进人"]]
    rows += [[f"139{i % 25:08d}", "电话", f"第{i}次", "2024-05-01 10:00", "rep1"]
             for i in range(300)]  # fmt: skip
    with open(write_file(tmp_path, rows), "rb") as f:
        job = services.import_job_create(actor=admin, kind="interactions", file=f,
                                         file_name="i.csv")  # fmt: skip
    with django_assert_max_num_queries(30):
        services.import_job_run(job=job)
    job.refresh_from_db()
    assert job.counts == {"created": 300}
    assert set(Interaction.objects.values_list("user__username", flat=True)) == {"rep1"}


def test_the_upload_page_previews_an_interactions_file(admin, zhang):
    from django.test import Client

    from .helpers import upload

    browser = Client()
    browser.force_login(admin)
    rows = [["客户编号", "类型", "主题", "时间"], ["M001", "拜访", "上门", "2024-05-01 10:00"],
            ["M001", "飞鸽传书", "", "2024-05-01"]]  # fmt: skip
    form = {"kind": "interactions", "file": upload("跟进.csv", csv_bytes(rows))}
    r = browser.post("/admin/imports/importjob/add/", form)
    assert r.status_code == 302, r.content.decode()[:1000]
    body = browser.get(f"/admin/imports/importjob/{ImportJob.objects.get().pk}/change/")
    text = body.content.decode()
    assert "Visit" in text and "2024-05-01 10:00" in text and "飞鸽传书" in text
    assert f"/admin/customers/customer/{zhang.pk}/360/" in text
    assert not Interaction.objects.exists()
