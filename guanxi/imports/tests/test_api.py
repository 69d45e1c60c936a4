"""Importing customers through the API: upload, mapping, preview, start, progress, problems,
failed rows, undo; and who may do it."""

import pytest

from guanxi.accounts.models import AuditEntry
from guanxi.customers.models import Customer, DuplicateReview
from guanxi.imports.models import ImportJob
from guanxi.interactions.models import TimelineEvent
from tests.factories import make_customer

from .helpers import csv_bytes, post_import

HEADER = ["姓名", "手机", "邮箱", "公司", "职位", "市", "生日", "来源", "标签", "备注"]
ROWS = [
    HEADER,
    ["张三", "138 0013 8000", "ZhangSan@Example.com", "阿里巴巴", "采购经理", "杭州",
     "1990/1/5", "官网", "VIP,老客户", "第一行"],
    ["李四", "+86-139-0013-9000", "lisi@corp.cn", "", "", "北京", "1985年3月2日", "转介绍", "", ""],
    ["王五", "1.38E+10", "not-an-email", "", "", "", "32874", "", "", ""],
    ["张三", "13800138000", "", "", "", "", "", "", "新标签", "第二次出现"],
]  # fmt: skip


@pytest.fixture
def client(api, admin):
    return api(admin)


def _start(client, job_id, immediate_tasks):
    with immediate_tasks(execute=True):
        r = client.post(f"imports/{job_id}/start")
    assert r.status_code == 202, r.content
    return client.get(f"imports/{job_id}").json()


def test_upload_finds_encoding_columns_and_mapping(client):
    r = post_import(client, csv_bytes(ROWS, encoding="gb18030"))
    assert r.status_code == 201, r.content
    job = r.json()
    assert job["encoding"] == "gb18030" and job["delimiter"] == ","
    assert job["rows_total"] == 4 and job["headers"] == HEADER
    assert job["mapping"] == {
        "0": "name", "1": "phones", "2": "emails", "3": "company_name", "4": "job_title",
        "5": "city", "6": "birthday", "7": "source", "8": "tags", "9": "notes",
    }  # fmt: skip
    assert job["status"] == "analysed" and Customer.objects.count() == 0


def test_preview_shows_rows_as_stored_with_problems_and_duplicates(client, rep):
    existing = make_customer(rep, name="李四老", phones=["13900139000"])
    job = post_import(client, csv_bytes(ROWS)).json()
    r = client.get(f"imports/{job['id']}/preview")
    assert r.status_code == 200, r.content
    rows = {row["row"]: row for row in r.json()["rows"]}
    assert rows[2]["values"]["phones"] == "+8613800138000"
    assert rows[2]["values"]["emails"] == "zhangsan@example.com"
    assert rows[2]["values"]["birthday"] == "1990-01-05"
    assert rows[2]["outcome"] == {"action": "created"}
    assert rows[3]["outcome"] == {"action": "merged", "customer": existing.pk}
    bad = {(i["column"], i["value"]) for i in rows[4]["issues"] if i["severity"] == "error"}
    assert bad == {("手机", "1.38E+10"), ("邮箱", "not-an-email")}
    assert rows[4]["outcome"] == {"action": "failed"}
    assert rows[5]["outcome"] == {"action": "merged", "same_as_row": 2}
    assert r.json()["columns"][1]["sample"][:2] == ["138 0013 8000", "+86-139-0013-9000"]
    # Nothing was written by looking.
    assert (
        Customer.objects.count() == 1
        and not TimelineEvent.objects.filter(data__import=job["id"]).exists()
    )


def test_import_runs_in_the_background_and_reports(client, admin, immediate_tasks):
    job = post_import(client, csv_bytes(ROWS, bom=True)).json()
    done = _start(client, job["id"], immediate_tasks)
    assert done["status"] == "completed", done
    assert done["counts"] == {"created": 2, "merged": 1, "failed": 1}
    assert done["progress"]["percent"] == 100
    zhang = Customer.objects.get(name="张三")
    assert zhang.job_title == "采购经理" and zhang.company_name == "阿里巴巴"
    assert sorted(zhang.tags.values_list("name", flat=True)) == ["VIP", "新标签", "老客户"]
    assert zhang.notes == "第一行"  # merging fills gaps, never overwrites
    assert zhang.owner == admin and zhang.source == "web"
    # Every created customer is on its timeline and in the audit log, as made by the import.
    assert TimelineEvent.objects.filter(kind="created", data__import=job["id"]).count() == 2
    assert set(
        AuditEntry.objects.filter(model="customers.customer").values_list("channel", flat=True)
    ) == {"import"}

    issues = client.get(f"imports/{job['id']}/issues").json()
    assert {(i["row"], i["column"]) for i in issues["items"] if i["severity"] == "error"} == {
        (4, "手机"),
        (4, "邮箱"),
    }
    r = client.get(f"imports/{job['id']}/failed-rows")
    assert r.status_code == 200 and "attachment" in r["Content-Disposition"]
    text = b"".join(r.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff姓名,手机,")
    lines = text.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("王五,1.38E+10,not-an-email")
    assert "exponent" in lines[1]


def test_undo_removes_what_the_import_created_and_restores_what_it_changed(
    client, rep, immediate_tasks
):
    existing = make_customer(rep, name="李四", phones=["13900139000"])
    job = post_import(client, csv_bytes(ROWS)).json()
    _start(client, job["id"], immediate_tasks)
    existing.refresh_from_db()
    assert existing.company_name == "" and existing.emails.count() == 1
    r = client.post(f"imports/{job['id']}/undo")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "undone"
    assert list(Customer.objects.values_list("pk", flat=True)) == [existing.pk]
    existing.refresh_from_db()
    assert existing.emails.count() == 0 and existing.birthday is None and existing.source == ""
    assert client.post(f"imports/{job['id']}/undo").status_code == 409


def test_undo_is_refused_when_imported_customers_have_new_records(client, admin, immediate_tasks):
    from guanxi.interactions.services import interaction_log

    job = post_import(client, csv_bytes(ROWS)).json()
    _start(client, job["id"], immediate_tasks)
    zhang = Customer.objects.get(name="张三")
    interaction_log(actor=admin, customer=zhang, data={"kind": "call", "subject": "回访"})
    r = client.post(f"imports/{job['id']}/undo")
    assert r.status_code == 409 and "interactions" in r.json()["detail"]
    assert Customer.objects.count() == 2


def test_mapping_can_be_changed_and_saved_for_the_next_file(client):
    rows = [["客户名称", "联系方式", "会员等级"], ["赵六", "13700137000", "金卡"]]
    job = post_import(client, csv_bytes(rows)).json()
    assert job["mapping"] == {"0": "name", "1": "phones"}
    r = client.patch(
        f"imports/{job['id']}",
        {"mapping": {"客户名称": "name", "联系方式": "phones", "会员等级": "notes"},
         "save_mapping_as": "会员表"},
    )  # fmt: skip
    assert r.status_code == 200, r.content
    assert r.json()["mapping"] == {"0": "name", "1": "phones", "2": "notes"}
    again = post_import(client, csv_bytes(rows), saved_mapping="会员表").json()
    assert again["mapping"] == {"0": "name", "1": "phones", "2": "notes"}
    assert [m["name"] for m in client.get("import-mappings").json()] == ["会员表"]


@pytest.mark.parametrize(
    ("mapping", "field"),
    [
        ({"12": "name"}, "mapping.12"),
        ({"0": "shoe_size"}, "mapping.0"),
        ({"0": "name", "1": "name"}, "mapping.1"),
    ],
)
def test_bad_mapping_names_the_column(client, mapping, field):
    job = post_import(client, csv_bytes(ROWS)).json()
    r = client.patch(f"imports/{job['id']}", {"mapping": mapping})
    assert r.status_code == 422 and field in r.json()["errors"], r.content
    assert ImportJob.objects.get(pk=job["id"]).mapping["0"] == "name"


def test_an_import_without_a_name_column_cannot_start(client, immediate_tasks):
    job = post_import(client, csv_bytes([["手机"], ["13800138000"]])).json()
    r = client.post(f"imports/{job['id']}/start")
    assert r.status_code == 422 and "mapping" in r.json()["errors"]


@pytest.mark.parametrize(
    ("name", "data", "field"),
    [
        ("customers.pdf", b"%PDF-1.4", "file"),
        ("empty.csv", b"", "file"),
        ("blank.csv", b"\r\n\r\n", "file"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(client, name, data, field):
    r = post_import(client, data, name=name)
    assert r.status_code == 422 and field in r.json()["errors"], r.content
    assert not ImportJob.objects.exists()


def test_unknown_kind_and_options_are_named(client):
    r = post_import(client, csv_bytes(ROWS), kind="shoes", mode="replace", on_duplicate="x")
    assert r.status_code == 422
    assert set(r.json()["errors"]) == {"kind", "mode", "on_duplicate"}


@pytest.mark.parametrize("role", ["rep", "agent", "marketer"])
def test_only_admins_and_managers_import(api, request, role):
    user = request.getfixturevalue(role)
    r = post_import(api(user), csv_bytes(ROWS))
    assert r.status_code == 403
    assert api(user).get("imports").json()["items"] == []


def test_managers_see_their_own_imports_and_admins_all(api, admin, manager):
    mine = post_import(api(manager), csv_bytes(ROWS)).json()
    theirs = post_import(api(admin), csv_bytes(ROWS)).json()
    assert [j["id"] for j in api(manager).get("imports").json()["items"]] == [mine["id"]]
    assert api(manager).get(f"imports/{theirs['id']}").status_code == 404
    assert {j["id"] for j in api(admin).get("imports").json()["items"]} == {
        mine["id"],
        theirs["id"],
    }


def test_a_manager_never_merges_into_a_customer_outside_the_team(
    api, manager, far_rep, immediate_tasks
):
    hidden = make_customer(far_rep, name="远方客户", phones=["13800138000"])
    client = api(manager)
    job = post_import(client, csv_bytes(ROWS[:2])).json()
    with immediate_tasks(execute=True):
        client.post(f"imports/{job['id']}/start")
    done = client.get(f"imports/{job['id']}").json()
    assert done["counts"] == {"skipped": 1}
    issue = client.get(f"imports/{job['id']}/issues").json()["items"][0]
    assert "cannot see" in issue["message"] and str(hidden.pk) not in issue["message"]
    hidden.refresh_from_db()
    assert hidden.emails.count() == 0


def test_review_mode_imports_the_row_and_queues_the_pair(client, rep, immediate_tasks):
    existing = make_customer(rep, name="张三", phones=["13800138000"])
    job = post_import(client, csv_bytes(ROWS[:2]), on_duplicate="review").json()
    done = _start(client, job["id"], immediate_tasks)
    assert done["counts"] == {"review": 1}
    review = DuplicateReview.objects.get()
    assert review.other_id == existing.pk and review.status == "open"
    assert Customer.objects.filter(name="张三").count() == 2


def test_upsert_overwrites_and_skip_leaves_alone(client, rep, immediate_tasks):
    existing = make_customer(rep, name="张三", phones=["13800138000"], company_name="旧公司")
    job = post_import(client, csv_bytes(ROWS[:2]), on_duplicate="skip").json()
    assert _start(client, job["id"], immediate_tasks)["counts"] == {"skipped": 1}
    existing.refresh_from_db()
    assert existing.company_name == "旧公司"
    job = post_import(client, csv_bytes(ROWS[:2]), mode="upsert").json()
    assert _start(client, job["id"], immediate_tasks)["counts"] == {"updated": 1}
    existing.refresh_from_db()
    assert existing.company_name == "阿里巴巴" and existing.job_title == "采购经理"
