"""The Export menu (CSV, Excel) on the list pages: exactly the list as filtered and searched."""

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from guanxi.accounts.models import AuditEntry
from guanxi.core.tests.export_helpers import XLSX, as_dicts, body, csv_rows_of, xlsx_rows_of
from guanxi.customers.services import contact_create
from guanxi.interactions.services import interaction_log, task_create
from tests.factories import make_customer, make_order

PAGES = {
    "customers": "/admin/customers/customer/",
    "contacts": "/admin/customers/contact/",
    "orders": "/admin/orders/order/",
    "interactions": "/admin/interactions/interaction/",
    "tasks": "/admin/interactions/task/",
}
# What each page exports of rep's world, and which column names it.
MINE = {
    "customers": ("Name", "甲公司"),
    "contacts": ("Name", "甲经理"),
    "orders": ("Order number", "SO-A"),
    "interactions": ("Subject", "甲电话"),
    "tasks": ("Title", "甲任务"),
}
THEIRS = {
    "customers": "乙公司",
    "contacts": "乙经理",
    "orders": "SO-B",
    "interactions": "乙电话",
    "tasks": "乙任务",
}


@pytest.fixture
def world(admin, rep, rep2):
    for owner, mark, number in ((rep, "甲", "SO-A"), (rep2, "乙", "SO-B")):
        company = make_customer(owner, name=f"{mark}公司", kind="company", stage="active")
        contact_create(actor=owner, customer=company, data={"name": f"{mark}经理"})
        make_order(admin, company, number=number)
        interaction_log(
            actor=owner, customer=company, data={"kind": "call", "subject": f"{mark}电话"}
        )
        task_create(actor=owner, customer=company, data={"title": f"{mark}任务"})
    other = make_customer(rep, name="丙个人", stage="lead")
    make_order(admin, other, number="SO-C", status="refunded")
    interaction_log(actor=rep, customer=other, data={"kind": "note", "subject": "丙备注"})
    task_create(actor=rep, customer=other, data={"title": "丙任务", "priority": "high"})


def export_links(client, url) -> dict[str, str]:
    """The Export menu's links on a list page, by format."""
    page = client.get(url)
    assert page.status_code == 200
    links = re.findall(r'href="([^"]*/export-(csv|xlsx)/[^"]*)"', page.content.decode())
    return {fmt: html.unescape(href) for href, fmt in links}


def download(client, href) -> list[dict]:
    response = client.get(href)
    data = body(response)
    rows = xlsx_rows_of(data) if "export-xlsx" in href else csv_rows_of(data)
    return as_dicts(rows)


@pytest.mark.parametrize("page", list(PAGES))
def test_list_page_offers_csv_and_excel_export(client, rep, world, page):
    client.force_login(rep)
    links = export_links(client, PAGES[page])
    assert set(links) == {"csv", "xlsx"}
    for fmt, href in links.items():
        response = client.get(href)
        expected = "text/csv" if fmt == "csv" else XLSX
        assert response["Content-Type"].startswith(expected)
        assert f".{fmt}" in response["Content-Disposition"]
        column, value = MINE[page]
        values = [row[column] for row in download(client, href)]
        assert value in values, "the rep's own rows"
        assert THEIRS[page] not in str(values), "never another rep's"


@pytest.mark.parametrize("page", list(PAGES))
def test_marketer_sees_no_export_menu_and_is_refused_the_export(client, marketer, world, page):
    client.force_login(marketer)
    assert client.get(PAGES[page]).status_code == 200
    assert export_links(client, PAGES[page]) == {}
    for fmt in ("csv", "xlsx"):
        assert client.get(f"{PAGES[page]}export-{fmt}/").status_code == 403
    assert not AuditEntry.objects.filter(action="export").exists()


@pytest.mark.parametrize(
    ("page", "query", "column", "expected"),
    [
        ("customers", "?stage__exact=active", "Name", ["甲公司"]),
        ("customers", "?q=bingge", "Name", ["丙个人"]),
        ("customers", "?q=jia&stage__exact=lead", "Name", []),
        ("contacts", "?q=甲", "Name", ["甲经理"]),
        ("orders", "?status__exact=refunded", "Order number", ["SO-C"]),
        ("orders", "?q=SO-A", "Order number", ["SO-A"]),
        ("interactions", "?kind__exact=note", "Subject", ["丙备注"]),
        ("tasks", "?priority__exact=high", "Title", ["丙任务"]),
        ("tasks", "?assigned=me&q=甲", "Title", ["甲任务"]),
    ],
)
def test_export_is_exactly_the_list_as_filtered_and_searched(
    client, rep, world, page, query, column, expected
):
    client.force_login(rep)
    links = export_links(client, PAGES[page] + query)
    for href in links.values():
        carried = parse_qs(urlsplit(href).query)
        assert carried == parse_qs(query[1:]), "the menu carries the page's filters and search"
        assert [row[column] for row in download(client, href)] == expected


def test_ui_export_is_audited_with_the_lists_parameters(client, rep, world):
    client.force_login(rep)
    download(client, PAGES["orders"] + "export-xlsx/?status__exact=refunded")
    entry = AuditEntry.objects.get(action="export")
    assert (entry.actor, entry.channel, entry.model) == (rep, "ui", "orders.order")
    assert entry.changes == {"filters": [None, {"status__exact": "refunded"}], "count": [None, 1]}


def test_manager_ui_export_of_customers_covers_the_team(client, manager, world):
    client.force_login(manager)
    names = [row["Name"] for row in download(client, PAGES["customers"] + "export-csv/")]
    assert sorted(names) == sorted(["甲公司", "乙公司", "丙个人"])


def test_export_with_bad_list_parameters_goes_back_to_the_list(client, rep, world):
    client.force_login(rep)
    response = client.get(PAGES["customers"] + "export-csv/?id__exact=abc")
    assert response.status_code == 302
    assert response["Location"].startswith(PAGES["customers"])
    assert not AuditEntry.objects.filter(action="export").exists()
