"""Importing orders through `guanxi import orders` and the API: one row per order or per line,
each linked to its customer by external id, phone or email; duplicates, leads becoming new,
access, undo, and the statements a chunk costs."""

from decimal import Decimal

import pytest
from django.utils import timezone

from guanxi.accounts.models import AuditEntry
from guanxi.customers.models import Customer, StageChange
from guanxi.imports import pipeline
from guanxi.imports.importers.orders import OrderImporter
from guanxi.imports.models import ImportJob, ImportRecord
from guanxi.interactions.models import TimelineEvent
from guanxi.orders.models import Order, OrderLine
from tests.factories import make_customer, make_order

from .helpers import cli, csv_bytes, issues_of, post_import, start_import, write_file

ZH_HEADER = ["订单号", "客户手机", "下单时间", "订单状态", "渠道", "商品名称", "数量", "单价"]


@pytest.fixture
def client(api, admin):
    return api(admin)


@pytest.fixture
def zhang(rep):
    return make_customer(rep, name="张三", phones=["13800138000"], emails=["zhang@example.com"],
                         external_id="M001")  # fmt: skip


@pytest.fixture
def li(rep):
    return make_customer(rep, name="李四", phones=["13900139000"], emails=["li@example.com"],
                         external_id="M002")  # fmt: skip


def _issues(job: ImportJob) -> dict[int, list[tuple[str, str, str]]]:
    out: dict[int, list] = {}
    for issue in job.issues.order_by("row", "id"):
        out.setdefault(issue.row, []).append((issue.column, issue.severity, issue.message))
    return out


def test_a_gbk_file_with_chinese_headers_one_row_per_line(admin, zhang, li, tmp_path):
    rows = [
        ZH_HEADER,
        ["DD1001", "138 0013 8000", "2024/1/5 10:30", "已付款", "天猫", "绿茶", "2", "35.5"],
        ["DD1001", "+86-138-0013-8000", "", "", "", "红茶", "1", "￥1,020.00"],
        ["DD1002", "8613900139000", "2024年3月2日", "已取消", "门店", "乌龙茶", "3", "10"],
    ]
    out, _err = cli("orders", write_file(tmp_path, rows, encoding="gbk"))
    assert "gbk" in out.lower() or "gb18030" in out.lower()
    assert "订单号 → Order number" in out and "客户手机 → Customer phone" in out
    assert "created 2" in out and "failed 0" in out
    first = Order.objects.get(number="DD1001")
    assert first.customer == zhang and first.status == "paid" and first.channel == "marketplace"
    assert first.total == Decimal("1091.00")
    assert [(line.product_name, line.quantity, line.unit_price) for line in first.lines.all()] == [
        ("绿茶", Decimal("2.000"), Decimal("35.50")),
        ("红茶", Decimal("1.000"), Decimal("1020.00")),
    ]
    assert timezone.localtime(first.ordered_at).strftime("%Y-%m-%d %H:%M") == "2024-01-05 10:30"
    second = Order.objects.get(number="DD1002")
    assert second.customer == li and second.status == "cancelled" and second.channel == "store"
    job = ImportJob.objects.get()
    assert job.counts == {"created": 2, "lines": 3}
    # The same timeline event and audit entry as an order entered by hand, marked as imported.
    event = TimelineEvent.objects.get(kind="order", object_id=first.pk)
    assert event.data == {"number": "DD1001", "total": "1091.00", "currency": "CNY",
                          "status": "paid", "import": job.pk}  # fmt: skip
    assert event.at == first.ordered_at
    audit = AuditEntry.objects.get(model="orders.order", object_id=str(first.pk))
    assert audit.channel == "import" and audit.changes["total"] == [None, "1091.00"]
    assert set(ImportRecord.objects.values_list("model", "action")) == {("orders.order", "created")}


def test_an_english_file_one_row_per_order_with_only_an_amount(client, zhang, li, immediate_tasks):
    rows = [
        ["Order No", "Customer email", "Order date", "Amount", "Status", "Currency"],
        ["A-1", "Zhang@Example.com", "2024-01-05", "199.00", "Paid", "RMB"],
        ["A-2", "li@example.com", "20240302", "1,234.50", "completed", "usd"],
    ]
    job = post_import(client, csv_bytes(rows), name="orders.csv", kind="orders").json()
    assert job["mapping"] == {"0": "number", "1": "customer_email", "2": "ordered_at",
                              "3": "total", "4": "status", "5": "currency"}  # fmt: skip
    done = start_import(client, job["id"], immediate_tasks)
    assert done["status"] == "completed" and done["counts"] == {"created": 2, "lines": 2}
    a2 = Order.objects.get(number="A-2")
    assert a2.customer == li and a2.total == Decimal("1234.50") and a2.currency == "USD"
    assert a2.status == "completed"
    line = a2.lines.get()
    assert line.product_name == "Order total" and line.quantity == 1
    assert Order.objects.get(number="A-1").currency == "CNY"


@pytest.mark.parametrize(
    ("header", "value"),
    [("客户编号", "M002"), ("客户电话", "139-0013-9000"), ("客户邮箱", "LI@example.com")],
)
def test_each_key_links_the_customer(admin, zhang, li, tmp_path, header, value):
    rows = [["订单号", header, "下单日期", "金额"], ["K1", value, "2024-05-01", "10"]]
    cli("orders", write_file(tmp_path, rows))
    assert Order.objects.get(number="K1").customer == li


def test_a_file_without_a_customer_column_cannot_start(client, immediate_tasks):
    rows = [["Order number", "Date", "Amount"], ["A-1", "2024-01-05", "1"]]
    job = post_import(client, csv_bytes(rows), kind="orders").json()
    r = client.post(f"imports/{job['id']}/start")
    assert r.status_code == 422
    assert "Customer (external id, phone or email)" in r.json()["errors"]["mapping"][0]


def test_missing_ambiguous_and_conflicting_customers_are_named(admin, rep, zhang, li, tmp_path):
    make_customer(rep, name="张三的弟弟", phones=["13700137000"])
    make_customer(rep, name="张三的哥哥", phones=["13700137000"])
    rows = [
        ["订单号", "客户编号", "客户手机", "客户邮箱", "下单日期", "金额"],
        ["X1", "M999", "", "", "2024-05-01", "10"],
        ["X2", "", "13600136000", "", "2024-05-01", "10"],
        ["X3", "", "13700137000", "", "2024-05-01", "10"],
        ["X4", "", "13800138000", "li@example.com", "2024-05-01", "10"],
        ["X5", "", "", "", "2024-05-01", "10"],
        ["X6", "", "13800138000", "zhang@example.com", "2024-05-01", "10"],
    ]
    out, _err = cli("orders", write_file(tmp_path, rows))
    assert "created 1" in out and "failed 5" in out
    issues = _issues(ImportJob.objects.get())
    assert issues[2] == [("客户编号", "error", "No customer has the external id “M999” — "
                          "import the customers first.")]  # fmt: skip
    assert issues[3][0][:2] == ("客户手机", "error") and "+8613600136000" in issues[3][0][2]
    assert issues[4][0][2].startswith("2 customers have the phone number “+8613700137000”")
    assert "different customers" in issues[5][0][2]
    assert issues[6][0][2] == "Name the customer: give their external id, phone or email."
    assert Order.objects.get().number == "X6"


def test_duplicates_in_the_file_and_in_the_database_are_skipped(admin, zhang, tmp_path):
    make_order(admin, zhang, number="OLD-1", status="pending")
    rows = [
        ["订单号", "客户编号", "下单日期", "金额", "状态"],
        ["OLD-1", "M001", "2024-05-01", "10", "已完成"],
        ["N-1", "M001", "2024-05-02", "20", ""],
        ["N-1", "M001", "2024-05-02", "20", ""],
    ]
    out, _err = cli("orders", write_file(tmp_path, rows))
    assert "created 1" in out and "skipped 2" in out
    issues = _issues(ImportJob.objects.get())
    assert issues[2] == [
        ("订单号", "warning", "An order numbered “OLD-1” already exists; skipped.")
    ]
    assert issues[4] == [("订单号", "warning",
                          "Order N-1 is already in row 3 of this file; skipped.")]  # fmt: skip
    assert Order.objects.get(number="OLD-1").status == "pending"
    assert Order.objects.get(number="N-1").total == Decimal("20.00")


def test_upsert_updates_the_status_of_an_existing_order_and_undo_restores_it(
    client, admin, zhang, immediate_tasks
):
    old = make_order(admin, zhang, number="OLD-1", status="pending")
    rows = [["Order number", "Customer ID", "Date", "Amount", "Status"],
            ["OLD-1", "M001", "2024-05-01", "10", "shipped"]]  # fmt: skip
    job = post_import(client, csv_bytes(rows), kind="orders", mode="upsert").json()
    assert start_import(client, job["id"], immediate_tasks)["counts"] == {"updated": 1}
    old.refresh_from_db()
    assert old.status == "shipped" and old.lines.count() == 1
    assert TimelineEvent.objects.filter(
        kind="order", object_id=old.pk, data__action="status", data__import=job["id"]
    ).exists()
    assert client.post(f"imports/{job['id']}/undo").status_code == 200
    old.refresh_from_db()
    assert old.status == "pending"


def test_an_order_whose_lines_run_across_chunks_is_one_order(admin, zhang, li, tmp_path,
                                                             monkeypatch):  # fmt: skip
    monkeypatch.setattr(pipeline, "CHUNK", 3)
    rows = [ZH_HEADER]
    rows += [["BIG-1", "13800138000", "2024-01-05", "已付款", "", f"商品{i}", "1", "10"]
             for i in range(7)]  # fmt: skip
    rows += [["SMALL-1", "13900139000", "2024-01-06", "", "", "茶", "1", "5"]]
    path = write_file(tmp_path, rows)
    out, _err = cli("orders", path, "--dry-run")
    assert "created 2" in out and "failed 0" in out and not Order.objects.exists()
    out, _err = cli("orders", path)
    assert "created 2" in out and "failed 0" in out
    big = Order.objects.get(number="BIG-1")
    assert big.lines.count() == 7 and big.total == Decimal("70.00")
    assert Order.objects.count() == 2 and OrderLine.objects.count() == 8
    # The order's timeline event shows the whole order, and one record lets undo take it back.
    assert TimelineEvent.objects.get(kind="order", object_id=big.pk).data["total"] == "70.00"
    assert ImportRecord.objects.filter(object_id=big.pk).count() == 1
    job = ImportJob.objects.latest("pk")
    assert job.counts == {"created": 2, "lines": 8}
    cli("undo", str(job.pk))
    assert not Order.objects.exists() and not OrderLine.objects.exists()


def test_a_resumed_import_adds_the_rest_of_an_order_it_began(admin, zhang, tmp_path,
                                                            monkeypatch):  # fmt: skip
    monkeypatch.setattr(pipeline, "CHUNK", 3)
    real = OrderImporter.write
    calls = {"n": 0}

    def write(self, chunk, *, dry_run):
        calls["n"] += 1
        outcome = real(self, chunk, dry_run=dry_run)
        if calls["n"] == 2:
            raise RuntimeError("power cut")
        return outcome

    monkeypatch.setattr(OrderImporter, "write", write)
    rows = [ZH_HEADER] + [["BIG-1", "13800138000", "2024-01-05", "", "", f"商品{i}", "1", "10"]
                          for i in range(5)]  # fmt: skip
    path = write_file(tmp_path, rows)
    with pytest.raises(RuntimeError):
        cli("orders", path, "--resumable")
    assert Order.objects.get().lines.count() == 3
    calls["n"] = -100
    out, _err = cli("orders", path, "--resumable")
    assert "Continuing import" in out
    order = Order.objects.get()
    assert order.lines.count() == 5 and order.total == Decimal("50.00")


def test_the_first_order_of_a_lead_makes_it_new_and_undo_makes_it_a_lead_again(
    admin, rep, tmp_path
):
    lead = make_customer(rep, name="王五", external_id="L1")
    quiet = make_customer(rep, name="赵六", external_id="L2")
    assert lead.stage == "lead"
    rows = [["订单号", "客户编号", "下单日期", "金额", "状态"],
            ["F-1", "L1", "2024-05-01", "10", "已付款"],
            ["F-2", "L1", "2024-04-01", "10", "已付款"],
            ["F-3", "L2", "2024-05-01", "10", "已取消"]]  # fmt: skip
    cli("orders", write_file(tmp_path, rows))
    lead.refresh_from_db()
    quiet.refresh_from_db()
    assert lead.stage == "new" and quiet.stage == "lead"
    change = StageChange.objects.filter(customer=lead).first()
    assert (change.from_stage, change.to_stage, change.cause) == ("lead", "new",
                                                                  "first order F-2")  # fmt: skip
    assert TimelineEvent.objects.filter(customer=lead, kind="stage_changed").count() == 1
    assert AuditEntry.objects.filter(model="customers.customer", object_id=str(lead.pk),
                                     changes__stage=["lead", "new"]).exists()  # fmt: skip
    job = ImportJob.objects.get()
    cli("undo", str(job.pk))
    lead.refresh_from_db()
    assert lead.stage == "lead" and not Order.objects.exists()
    assert StageChange.objects.filter(customer=lead).first().cause == f"import #{job.pk} undone"


def test_bad_values_are_named_and_the_whole_order_fails(admin, zhang, tmp_path):
    rows = [
        ZH_HEADER,
        ["B-1", "13800138000", "2024-01-05", "已发霉", "", "绿茶", "1", "10"],
        ["B-2", "13800138000", "2024-01-05", "", "", "绿茶", "1", "10"],
        ["B-2", "13800138000", "", "", "", "红茶", "-1", "10"],
        ["B-3", "13800138000", "2024-01-05", "", "", "", "", ""],
        ["B-4", "13800138000", "昨天", "", "", "绿茶", "1", "10"],
    ]
    out, _err = cli("orders", write_file(tmp_path, rows))
    assert "created 0" in out and "failed 5" in out
    issues = _issues(ImportJob.objects.get())
    assert issues[2][0][:2] == ("订单状态", "error") and "已发霉" in issues[2][0][2]
    assert issues[4][0][:2] == ("数量", "error")
    assert issues[3] == [("订单号", "error", "Not imported with the rest of order B-2: "
                                            "row 4 has a problem.")]  # fmt: skip
    assert issues[5][0][2] == "An order needs at least one line."
    assert issues[6][0][:2] == ("下单时间", "error")
    assert not Order.objects.exists()


def test_a_manager_cannot_import_orders_for_another_teams_customer(
    api, manager, far_rep, immediate_tasks
):
    hidden = make_customer(far_rep, name="远方客户", phones=["13800138000"], external_id="FAR")
    client = api(manager)
    rows = [["Order number", "Customer phone", "Date", "Amount"],
            ["H-1", "13800138000", "2024-05-01", "10"]]  # fmt: skip
    job = post_import(client, csv_bytes(rows), kind="orders").json()
    done = start_import(client, job["id"], immediate_tasks)
    assert done["counts"] == {"failed": 1}
    [issue] = issues_of(client, job["id"])
    assert "No customer has the phone number" in issue["message"]
    assert f"#{hidden.pk}" not in issue["message"] and "远方" not in issue["message"]
    assert not Order.objects.exists()


def test_undo_is_refused_when_an_imported_order_was_changed_since(
    client, admin, zhang, immediate_tasks
):
    from guanxi.orders.services import order_update

    rows = [["Order number", "Customer ID", "Date", "Amount"], ["U-1", "M001", "2024-05-01", "9"]]
    job = post_import(client, csv_bytes(rows), kind="orders").json()
    start_import(client, job["id"], immediate_tasks)
    order_update(actor=admin, order=Order.objects.get(), data={"status": "refunded"})
    r = client.post(f"imports/{job['id']}/undo")
    assert r.status_code == 409 and "U-1" in r.json()["detail"]
    assert Order.objects.count() == 1


def test_undo_takes_the_orders_back_with_their_timeline(client, admin, zhang, immediate_tasks):
    rows = [["Order number", "Customer ID", "Date", "Amount"], ["U-1", "M001", "2024-05-01", "9"]]
    job = post_import(client, csv_bytes(rows), kind="orders").json()
    start_import(client, job["id"], immediate_tasks)
    order = Order.objects.get()
    assert client.post(f"imports/{job['id']}/undo").json()["status"] == "undone"
    assert not Order.objects.exists()
    assert not TimelineEvent.objects.filter(object_model="orders.order").exists()
    assert AuditEntry.objects.filter(model="orders.order", object_id=str(order.pk),
                                     action="delete").exists()  # fmt: skip
    assert Customer.objects.filter(pk=zhang.pk).exists()


def test_a_chunk_costs_a_bounded_number_of_statements(
    admin, rep, tmp_path, django_assert_max_num_queries
):
    from guanxi.imports import services

    customers = [make_customer(rep, name=f"客户{i}", external_id=f"Q{i}") for i in range(30)]
    rows = [["订单号", "客户编号", "下单日期", "商品", "数量", "单价"]]
    for i in range(300):
        rows.append([f"Q-{i // 2}", f"Q{i // 2 % 30}", "2024-05-01", f"商品{i}", "1", "10"])
    with open(write_file(tmp_path, rows), "rb") as f:
        job = services.import_job_create(actor=admin, kind="orders", file=f, file_name="o.csv")
    with django_assert_max_num_queries(40):
        services.import_job_run(job=job)
    job.refresh_from_db()
    assert job.counts == {"created": 150, "lines": 300}
    assert {c.stage for c in Customer.objects.filter(pk__in=[c.pk for c in customers])} == {"new"}


def test_the_upload_page_previews_an_orders_file(admin, zhang):
    from django.test import Client

    from .helpers import upload

    browser = Client()
    browser.force_login(admin)
    rows = [ZH_HEADER, ["DD1", "13800138000", "2024-01-05 09:00", "已付款", "", "绿茶", "2", "10"]]
    r = browser.post("/admin/imports/importjob/add/",
                     {"kind": "orders", "file": upload("订单.csv", csv_bytes(rows))})  # fmt: skip
    assert r.status_code == 302, r.content.decode()[:1000]
    job = ImportJob.objects.get()
    body = browser.get(f"/admin/imports/importjob/{job.pk}/change/").content.decode()
    assert "DD1" in body and "+8613800138000" in body and "2024-01-05 09:00" in body
    assert f"/admin/customers/customer/{zhang.pk}/360/" in body and "Paid" in body
    assert not Order.objects.exists()  # looking writes nothing
