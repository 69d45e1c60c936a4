"""The import pages: upload, mapping and preview, import with progress, report, failed rows,
undo; in zh-hans and en; and who finds them."""

import pytest

from guanxi.customers.models import Customer
from guanxi.imports.models import ImportJob
from tests.factories import make_customer

from .helpers import csv_bytes, upload

LIST = "/admin/imports/importjob/"
ADD = "/admin/imports/importjob/add/"
ROWS = [
    ["姓名", "手机", "邮箱", "城市"],
    ["张三", "13800138000", "zs@example.com", "杭州"],
    ["坏人", "1.38E+10", "", ""],
]


def page(job) -> str:
    return f"/admin/imports/importjob/{job.pk}/change/"


@pytest.fixture
def staff(client, admin):
    client.force_login(admin)
    return client


def _upload(client, rows=ROWS, **extra):
    r = client.post(
        ADD, {"kind": "customers", "file": upload("客户.csv", csv_bytes(rows)), **extra}
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    return ImportJob.objects.latest("pk")


@pytest.mark.parametrize("role", ["rep", "agent", "marketer"])
def test_roles_that_may_not_import_do_not_find_the_pages(client, request, role):
    client.force_login(request.getfixturevalue(role))
    assert client.get(ADD).status_code == 404
    assert client.get(LIST).status_code == 403
    assert "/admin/imports/" not in client.get("/admin/").content.decode()


def test_the_sidebar_leads_managers_to_imports(client, manager):
    client.force_login(manager)
    assert LIST in client.get("/admin/").content.decode()
    assert client.get(ADD).status_code == 200


def test_upload_then_mapping_and_preview(staff, rep):
    existing = make_customer(rep, name="张三老客户", phones=["13800138000"])
    job = _upload(staff)
    body = staff.get(page(job)).content.decode()
    assert 'name="col_1"' in body and 'value="phones" selected' in body
    assert "+8613800138000" in body and "zs@example.com" in body  # as stored
    assert f"/admin/customers/customer/{existing.pk}/360/" in body  # merged into the existing
    assert "exponent" in body  # row 3's problem, named
    assert Customer.objects.count() == 1


def test_an_unreadable_upload_says_why_on_the_form(staff):
    r = staff.post(ADD, {"kind": "customers", "file": upload("list.pdf", b"%PDF-1.4")})
    assert r.status_code == 200 and "is not a CSV or Excel file" in r.content.decode()
    assert not ImportJob.objects.exists()


def test_changing_the_mapping_and_importing(staff, immediate_tasks):
    job = _upload(staff)
    form = {"col_0": "name", "col_1": "phones", "col_2": "", "col_3": "city",
            "mode": "create", "on_duplicate": "merge", "save_mapping_as": "门店表"}  # fmt: skip
    with immediate_tasks(execute=True):
        r = staff.post(page(job), {**form, "action": "start"})
    assert r.status_code == 302
    job.refresh_from_db()
    assert job.status == "completed" and job.mapping == {"0": "name", "1": "phones", "3": "city"}
    assert job.counts == {"created": 1, "failed": 1}
    assert not Customer.objects.get().emails.exists()  # the email column was left out
    body = staff.get(page(job)).content.decode()
    assert "Undo this import" in body and "Download the failed rows" in body
    rows = b"".join(staff.get(f"{LIST}{job.pk}/failed-rows/").streaming_content).decode()
    assert rows.startswith("\ufeff姓名,手机,邮箱,城市,") and "坏人,1.38E+10" in rows
    staff.post(page(job), {"action": "undo"})
    assert not Customer.objects.exists()


def test_a_running_import_shows_a_progress_bar_that_polls(staff):
    job = _upload(staff)
    ImportJob.objects.filter(pk=job.pk).update(status="running", rows_done=1)
    from guanxi.imports import progress

    progress.write(job.pk, rows_done=1, rows_total=2, counts={})
    body = staff.get(page(job)).content.decode()
    assert f'hx-get="/admin/imports/importjob/{job.pk}/progress/"' in body
    fragment = staff.get(f"{LIST}{job.pk}/progress/")
    assert fragment.status_code == 200 and 'aria-valuenow="50"' in fragment.content.decode()
    ImportJob.objects.filter(pk=job.pk).update(status="completed")
    done = staff.get(f"{LIST}{job.pk}/progress/")
    assert done["HX-Refresh"] == "true"


def test_a_check_of_every_row_writes_nothing(staff, immediate_tasks):
    job = _upload(staff)
    with immediate_tasks(execute=True):
        staff.post(page(job), {"col_0": "name", "col_1": "phones", "mode": "create",
                               "on_duplicate": "merge", "action": "check"})  # fmt: skip
    job.refresh_from_db()
    assert job.status == "analysed" and job.counts == {"created": 1, "failed": 1, "dry_run": True}
    assert not Customer.objects.exists()
    assert "nothing was written" in staff.get(page(job)).content.decode()


def test_other_managers_imports_are_not_found(client, admin, manager, other_team):
    from tests.factories import make_user

    client.force_login(admin)
    job = _upload(client)
    client.force_login(make_user("m2", "manager", team=other_team))
    assert client.get(page(job)).status_code == 404
    client.force_login(manager)
    assert client.get(page(job)).status_code == 404


def test_pages_in_chinese(staff):
    job = _upload(staff)
    body = staff.get(page(job), headers={"accept-language": "zh-hans"}).content.decode()
    assert "导入" in body
