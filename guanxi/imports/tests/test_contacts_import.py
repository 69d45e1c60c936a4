"""Importing contact people through `guanxi import contacts` and the API: linked to their
company by external id or name, merged with or skipped against the company's stored contacts
and the file's earlier rows, access, undo, and the statements a chunk costs."""

import pytest

from guanxi.accounts.models import AuditEntry
from guanxi.customers.models import Contact, Customer
from guanxi.customers.selectors import customer_list
from guanxi.customers.services import contact_create
from guanxi.imports import pipeline
from guanxi.imports.models import ImportJob, ImportRecord
from guanxi.interactions.models import TimelineEvent
from tests.factories import make_customer

from .helpers import cli, csv_bytes, issues_of, post_import, start_import, write_file

ZH_HEADER = ["公司名称", "联系人", "职位", "手机", "邮箱", "主要联系人", "备注"]


@pytest.fixture
def client(api, admin):
    return api(admin)


@pytest.fixture
def alibaba(rep):
    return make_customer(rep, name="阿里巴巴", kind="company", external_id="C001")


@pytest.fixture
def tencent(rep):
    return make_customer(rep, name="腾讯科技", kind="company", external_id="C002")


def _issues(job: ImportJob) -> dict[int, list[tuple[str, str, str]]]:
    out: dict[int, list] = {}
    for issue in job.issues.order_by("row", "id"):
        out.setdefault(issue.row, []).append((issue.column, issue.severity, issue.message))
    return out


def test_a_gbk_file_with_chinese_headers_links_contacts_by_company_name(
    admin, alibaba, tencent, tmp_path
):
    rows = [
        ZH_HEADER,
        ["阿里巴巴", "王小明", "采购经理", "138 0013 8000", "WXM@Alibaba.com", "是", "老朋友"],
        ["阿里巴巴", "陈静", "财务", "+86-139-0013-9000", "", "", ""],
        ["腾讯科技", "马丽", "", "0086 137 0013 7000", "mali@tencent.com", "否", ""],
    ]
    out, _err = cli("contacts", write_file(tmp_path, rows, encoding="gbk"))
    assert "公司名称 → Company" in out and "联系人 → Contact name" in out
    assert "created 3" in out and "failed 0" in out
    wang = Contact.objects.get(name="王小明")
    assert wang.customer == alibaba and wang.title == "采购经理" and wang.is_primary
    assert wang.phone == "+8613800138000" and wang.email == "wxm@alibaba.com"
    assert wang.notes == "老朋友"
    assert Contact.objects.get(name="马丽").customer == tencent
    job = ImportJob.objects.get()
    # As if added by hand: timeline, audit, and the company found by its contacts' names.
    assert TimelineEvent.objects.filter(kind="contact", customer=alibaba,
                                        data__import=job.pk).count() == 2  # fmt: skip
    assert AuditEntry.objects.filter(model="customers.contact", action="create",
                                     channel="import").count() == 3  # fmt: skip
    alibaba.refresh_from_db()
    assert "王小明" in alibaba.search_text and "chenjing" in alibaba.search_text
    assert list(customer_list(actor=admin).filter(search_text__contains="马丽")) == [tencent]
    assert ImportRecord.objects.filter(model="customers.contact", action="created").count() == 3


def test_an_english_file_links_contacts_by_company_external_id(client, alibaba, immediate_tasks):
    rows = [["Company ID", "Contact name", "Title", "Mobile", "Email"],
            ["C001", "Jack Ma", "Founder", "13800138000", "jack@alibaba.com"]]  # fmt: skip
    job = post_import(client, csv_bytes(rows), name="contacts.csv", kind="contacts").json()
    assert job["mapping"] == {"0": "company_external_id", "1": "name", "2": "title",
                              "3": "phone", "4": "email"}  # fmt: skip
    done = start_import(client, job["id"], immediate_tasks)
    assert done["counts"] == {"created": 1}
    contact = Contact.objects.get()
    assert contact.customer == alibaba and contact.title == "Founder"


def test_missing_ambiguous_and_person_companies_fail_naming_the_column(
    admin, rep, alibaba, tmp_path
):
    make_customer(rep, name="华为", kind="company")
    make_customer(rep, name="华为", kind="company")
    make_customer(rep, name="张三", external_id="P001")
    rows = [
        ["公司编号", "公司名称", "联系人", "手机"],
        ["", "小米", "雷军", ""],
        ["", "华为", "任正非", ""],
        ["P001", "", "李四", ""],
        ["C999", "", "王五", ""],
        ["", "", "赵六", ""],
        ["", "阿里巴巴", "", "12345"],
    ]
    out, _err = cli("contacts", write_file(tmp_path, rows))
    assert "created 0" in out and "failed 6" in out
    issues = _issues(ImportJob.objects.get())
    assert issues[2] == [
        ("公司名称", "error", "No company customer called “小米” — import the companies first.")
    ]
    assert issues[3] == [("公司名称", "error", "2 company customers are called “华为”; give the "
                          "company external id to say which.")]  # fmt: skip
    assert issues[4][0][:2] == ("公司编号", "error") and "is a person" in issues[4][0][2]
    assert issues[5][0][:2] == ("公司编号", "error") and "C999" in issues[5][0][2]
    assert issues[6] == [("公司名称", "error", "Name the company: give its external id or name.")]
    assert {(column, severity) for column, severity, _m in issues[7]} == {
        ("联系人", "error"),
        ("手机", "error"),
    }
    assert not Contact.objects.exists()


def test_duplicates_in_the_file_and_in_the_database_are_merged(admin, alibaba, tmp_path):
    stored = contact_create(actor=admin, customer=alibaba,
                            data={"name": "王小明", "phone": "13800138000"})  # fmt: skip
    rows = [
        ["公司", "联系人", "职位", "手机", "邮箱"],
        ["阿里巴巴", "王晓明", "采购经理", "13800138000", "wxm@alibaba.com"],  # same phone
        ["阿里巴巴", "陈静", "", "", "cj@alibaba.com"],
        ["阿里巴巴", "陈静", "财务", "13900139000", ""],  # same name as the row above
    ]
    out, _err = cli("contacts", write_file(tmp_path, rows))
    assert "created 1" in out and "merged 2" in out
    stored.refresh_from_db()
    assert (stored.name, stored.title, stored.email) == ("王小明", "采购经理", "wxm@alibaba.com")
    chen = Contact.objects.get(name="陈静")
    assert (chen.title, chen.phone, chen.email) == ("财务", "+8613900139000", "cj@alibaba.com")
    assert Contact.objects.count() == 2
    assert TimelineEvent.objects.filter(kind="contact", data__action="update").count() == 1
    job = ImportJob.objects.get()
    assert ImportRecord.objects.get(job=job, object_id=stored.pk).before == {
        "title": ["", "采购经理"],
        "email": ["", "wxm@alibaba.com"],
    }
    # Undo takes back the new contact and the values merged into the stored one.
    cli("undo", str(job.pk))
    stored.refresh_from_db()
    assert list(Contact.objects.all()) == [stored] and stored.title == "" and stored.email == ""


@pytest.mark.parametrize(
    ("on_duplicate", "extra"),
    [("skip", ""), ("review", "Contacts have no review queue, so the row was skipped.")],
)
def test_skip_and_review_leave_duplicates_alone_with_a_warning(
    client, admin, alibaba, immediate_tasks, on_duplicate, extra
):
    contact_create(actor=admin, customer=alibaba, data={"name": "王小明", "email": "w@ali.com"})
    rows = [["Company", "Contact name", "Email", "Title"],
            ["阿里巴巴", "王", "W@ali.com", "经理"], ["阿里巴巴", "李", "l@ali.com", ""],
            ["阿里巴巴", "李", "", "秘书"]]  # fmt: skip
    job = post_import(client, csv_bytes(rows), kind="contacts", on_duplicate=on_duplicate).json()
    done = start_import(client, job["id"], immediate_tasks)
    assert done["counts"] == {"created": 1, "skipped": 2}
    issues = issues_of(client, job["id"])
    assert [(i["row"], i["column"], i["severity"]) for i in issues] == [
        (2, "Email", "warning"),
        (4, "Contact name", "warning"),
    ]
    assert issues[0]["message"].startswith("This company already has a contact with this email")
    assert issues[1]["message"].startswith("Same name as row 3 of this file. Skipped.")
    assert all(i["message"].endswith(extra) for i in issues)
    assert Contact.objects.get(name="王小明").title == ""


def test_upsert_overwrites_the_stored_contact(client, admin, alibaba, immediate_tasks):
    data = {"name": "王小明", "title": "经理", "phone": "13800138000"}
    stored = contact_create(actor=admin, customer=alibaba, data=data)
    rows = [["Company", "Contact name", "Phone", "Title", "Primary"],
            ["阿里巴巴", "王小明", "13800138000", "总监", "yes"]]  # fmt: skip
    job = post_import(client, csv_bytes(rows), kind="contacts", mode="upsert").json()
    assert start_import(client, job["id"], immediate_tasks)["counts"] == {"updated": 1}
    stored.refresh_from_db()
    assert stored.title == "总监" and stored.is_primary


def test_a_new_primary_contact_takes_over_and_undo_gives_it_back(admin, alibaba, tmp_path):
    old = contact_create(actor=admin, customer=alibaba, data={"name": "老王", "is_primary": True})
    rows = [["公司", "联系人", "主要联系人"], ["阿里巴巴", "小李", "是"]]
    cli("contacts", write_file(tmp_path, rows))
    old.refresh_from_db()
    assert not old.is_primary and Contact.objects.get(name="小李").is_primary
    cli("undo", str(ImportJob.objects.get().pk))
    old.refresh_from_db()
    assert old.is_primary and list(Contact.objects.all()) == [old]
    alibaba.refresh_from_db()
    assert "小李" not in alibaba.search_text and "老王" in alibaba.search_text


def test_a_manager_cannot_add_contacts_to_another_teams_company(
    api, manager, far_rep, immediate_tasks
):
    hidden = make_customer(far_rep, name="远方公司", kind="company", external_id="FAR")
    client = api(manager)
    rows = [["Company", "Contact name"], ["远方公司", "甲"]]
    job = post_import(client, csv_bytes(rows), kind="contacts").json()
    assert start_import(client, job["id"], immediate_tasks)["counts"] == {"failed": 1}
    [issue] = issues_of(client, job["id"])
    assert issue["message"].startswith("No company customer called “远方公司”")
    assert f"#{hidden.pk}" not in issue["message"]
    assert not Contact.objects.exists()


def test_a_manager_may_not_change_a_company_they_only_see(api, manager, rep, immediate_tasks):
    # A rep's customer is the manager's team's: visible and editable; an admin's own is not
    # visible to the manager at all. Both are handled without naming the hidden one.
    from tests.factories import make_user

    admin2 = make_user("admin2", "admin")
    make_customer(admin2, name="总部", kind="company")
    make_customer(rep, name="分部", kind="company")
    client = api(manager)
    rows = [["Company", "Contact name"], ["总部", "甲"], ["分部", "乙"]]
    job = post_import(client, csv_bytes(rows), kind="contacts").json()
    assert start_import(client, job["id"], immediate_tasks)["counts"] == {
        "created": 1,
        "failed": 1,
    }
    assert Contact.objects.get().name == "乙"


def test_undo_is_refused_when_an_imported_contact_was_changed_since(
    client, admin, alibaba, immediate_tasks
):
    from guanxi.customers.services import contact_update

    rows = [["Company", "Contact name"], ["阿里巴巴", "甲"]]
    job = post_import(client, csv_bytes(rows), kind="contacts").json()
    start_import(client, job["id"], immediate_tasks)
    contact_update(actor=admin, contact=Contact.objects.get(), data={"title": "经理"})
    r = client.post(f"imports/{job['id']}/undo")
    assert r.status_code == 409 and "甲" in r.json()["detail"]
    assert Contact.objects.count() == 1


def test_a_chunk_costs_a_bounded_number_of_statements(
    admin, rep, tmp_path, monkeypatch, django_assert_max_num_queries
):
    from guanxi.imports import services

    monkeypatch.setattr(pipeline, "CHUNK", 200)
    for i in range(20):
        make_customer(rep, name=f"公司{i}", kind="company")
    rows = [["公司", "联系人", "手机"]]
    rows += [[f"公司{i % 20}", f"联系人{i}", f"139{i:08d}"] for i in range(400)]
    with open(write_file(tmp_path, rows), "rb") as f:
        job = services.import_job_create(actor=admin, kind="contacts", file=f, file_name="c.csv")
    with django_assert_max_num_queries(80):  # two chunks
        services.import_job_run(job=job)
    job.refresh_from_db()
    assert job.counts == {"created": 400} and Contact.objects.count() == 400
    assert all(c.search_text.count("联系人") == 20 for c in Customer.objects.all())


def test_the_preview_shows_contacts_as_stored_and_where_they_go(client, admin, alibaba):
    stored = contact_create(actor=admin, customer=alibaba, data={"name": "王小明"})
    rows = [["Company", "Contact name", "Phone", "Primary"],
            ["阿里巴巴", "王小明", "138 0013 8000", "yes"], ["阿里巴巴", "陈静", "123", ""],
            ["阿里巴巴", "李雷", "", ""]]  # fmt: skip
    job = post_import(client, csv_bytes(rows), kind="contacts").json()
    preview = {r["row"]: r for r in client.get(f"imports/{job['id']}/preview").json()["rows"]}
    assert preview[2]["values"] == {"company": "阿里巴巴", "name": "王小明",
                                    "phone": "+8613800138000", "is_primary": "yes"}  # fmt: skip
    assert preview[2]["outcome"] == {"action": "merged", "customer": alibaba.pk}
    assert preview[3]["outcome"] == {"action": "failed"} and preview[3]["issues"]
    assert preview[4]["outcome"] == {"action": "created", "customer": alibaba.pk}
    stored.refresh_from_db()
    assert stored.phone == "" and Contact.objects.count() == 1
