import csv
import io

from guanxi.accounts.models import AuditEntry
from tests.factories import make_customer


def _csv(response):
    assert response.status_code == 200, response.content
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff"), "a BOM lets Excel read Chinese as UTF-8"
    return list(csv.reader(io.StringIO(body[1:])))


def test_rep_exports_only_own_customers(rep, rep2, api):
    make_customer(rep, name="张三", phones=["13800138001"])
    make_customer(rep2, name="王五", phones=["13800138002"])
    rows = _csv(api(rep).get("customers/export.csv"))
    names = [r[2] for r in rows[1:]]
    assert names == ["张三"]
    assert "+8613800138001" in rows[1][rows[0].index("Phones")]


def test_export_keeps_list_filters(rep, api):
    make_customer(rep, name="甲", stage="active")
    make_customer(rep, name="乙", stage="lead")
    rows = _csv(api(rep).get("customers/export.csv", {"stage": "active"}))
    assert [r[2] for r in rows[1:]] == ["甲"]


def test_export_neutralises_formulas(rep, api):
    make_customer(rep, name='=HYPERLINK("http://x")', company_name="+cmd", industry="@SUM(1)")
    row = _csv(api(rep).get("customers/export.csv"))[1]
    assert row[2].startswith("'=") and row[3].startswith("'+")
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in row)


def test_marketer_cannot_export_personal_data(marketer, rep, api):
    make_customer(rep, name="张三")
    response = api(marketer).get("customers/export.csv")
    assert response.status_code == 403
    assert "export" in response.json()["detail"]


def test_export_is_audited(rep, api):
    make_customer(rep, name="张三")
    _csv(api(rep).get("customers/export.csv", {"q": "zs"}))
    entry = AuditEntry.objects.get(action="export")
    assert entry.actor == rep and entry.channel == "api"
    assert entry.changes["count"] == [None, 1]
