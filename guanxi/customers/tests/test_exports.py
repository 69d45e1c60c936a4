"""Exports of customers and contacts through the API: CSV and .xlsx, scoped, audited, safe."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from guanxi.accounts.models import AuditEntry
from guanxi.core.tests.export_helpers import XLSX, as_dicts, body, csv_rows, export, xlsx_rows
from guanxi.customers.exports import contact_export, customer_export
from guanxi.customers.services import contact_create, custom_field_create
from tests.factories import make_customer

DANGEROUS = ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


# Customers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_customer_export_is_a_download_named_for_today(rep, api, fmt):
    make_customer(rep, name="张三")
    response = api(rep).get("customers/export", {"format": fmt})
    assert response["Content-Type"].startswith("text/csv" if fmt == "csv" else XLSX)
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="customers-')
    assert disposition.endswith(f'.{fmt}"')
    assert response["Cache-Control"] == "no-store"
    body(response)


def test_customer_export_csv_keeps_chinese_and_the_new_job_title(rep, api):
    make_customer(rep, name="张三", company_name="华为", job_title="采购经理")
    rows = csv_rows(api(rep).get("customers/export"))
    assert rows[0][3:5] == ["Company", "Job title"], "job title follows company"
    (row,) = as_dicts(rows)
    assert (row["Name"], row["Company"], row["Job title"]) == ("张三", "华为", "采购经理")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("value", DANGEROUS)
def test_customer_export_neutralises_each_dangerous_start(rep, api, fmt, value):
    # The services strip surrounding whitespace, so "\t=1" is stored (and exported) as "=1".
    customer = make_customer(rep, name=f"{value}名", company_name=value, industry=value)
    (row,) = export(api(rep), fmt)
    assert row["Company"] == "'" + customer.company_name
    assert row["Industry"] == "'" + customer.industry
    assert row["Name"] == "'" + customer.name
    assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in row.values())


def test_phones_and_18_digit_ids_stay_text_in_xlsx(rep, admin, api):
    custom_field_create(
        actor=admin,
        data={"key": "id_card", "label_zh": "身份证", "label_en": "ID card", "field_type": "text"},
    )
    make_customer(
        rep,
        name="张三",
        phones=["13800138000"],
        external_id="110101199003071234",
        custom_fields={"id_card": "11010119900307123X"},
    )
    make_customer(rep, name="李四", external_id="123456789012345678")
    rows = export(api(rep), "xlsx")
    assert [r["External id"] for r in rows] == ["110101199003071234", "123456789012345678"]
    assert rows[0]["Phones"] == "'+8613800138000"
    assert rows[0]["ID card"] == "11010119900307123X"
    assert all(isinstance(v, str) for row in rows for v in row.values())


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_customer_export_keeps_the_lists_filters(rep, api, fmt):
    make_customer(rep, name="甲", stage="active", tags=["VIP"])
    make_customer(rep, name="乙", stage="active")
    make_customer(rep, name="丙", stage="lead", tags=["VIP"])
    client = api(rep)
    assert [r["Name"] for r in export(client, fmt, {"stage": "active"})] == ["甲", "乙"]
    assert [r["Name"] for r in export(client, fmt, {"stage": "active", "tag": "VIP"})] == ["甲"]
    assert [r["Name"] for r in export(client, fmt, {"q": "bing"})] == ["丙"]


def test_customer_export_filters_on_a_custom_field(rep, admin, api):
    custom_field_create(
        actor=admin,
        data={"key": "level", "label_zh": "级别", "field_type": "choice", "choices": ["金", "银"]},
    )
    make_customer(rep, name="甲", custom_fields={"level": "金"})
    make_customer(rep, name="乙", custom_fields={"level": "银"})
    rows = export(api(rep), "csv", {"cf_level": "金"})
    assert [(r["Name"], r["级别"]) for r in rows] == [("甲", "金")]


def test_rep_export_never_contains_another_reps_customer(rep, rep2, far_rep, api):
    make_customer(rep, name="张三")
    make_customer(rep2, name="王五")
    make_customer(far_rep, name="赵六")
    for fmt in ("csv", "xlsx"):
        assert [r["Name"] for r in export(api(rep), fmt)] == ["张三"]
        assert [r["Name"] for r in export(api(rep), fmt, {"owner": rep2.username})] == []


def test_manager_exports_the_team_and_unowned_customers(rep, manager, far_rep, api):
    from tests.factories import make_unowned_customer

    make_customer(rep, name="张三")
    make_customer(far_rep, name="赵六")
    make_unowned_customer(name="无主")
    assert sorted(r["Name"] for r in export(api(manager), "csv")) == ["张三", "无主"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_marketer_may_not_export_customers(marketer, rep, api, fmt):
    make_customer(rep, name="张三")
    for path in ("customers/export", "customers/export.csv"):
        response = api(marketer).get(path, {"format": fmt})
        assert response.status_code == 403
        assert "export" in response.json()["detail"]
    assert not AuditEntry.objects.filter(action="export").exists()


def test_bad_format_is_a_422_naming_the_field(rep, api):
    response = api(rep).get("customers/export", {"format": "pdf"})
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["format"]


def test_bad_filter_is_a_422_naming_the_field(rep, api):
    response = api(rep).get("customers/export", {"stage": "dormant"})
    assert response.status_code == 422
    assert "stage" in response.json()["errors"]


def test_old_csv_address_still_answers_the_same_csv(rep, api):
    make_customer(rep, name="甲", stage="active")
    make_customer(rep, name="乙")
    client = api(rep)
    old = csv_rows(client.get("customers/export.csv", {"stage": "active"}))
    new = csv_rows(client.get("customers/export", {"stage": "active", "format": "csv"}))
    assert old == new and [r[2] for r in old[1:]] == ["甲"]


def test_customer_export_is_audited_once_with_filters_and_count(rep, api):
    make_customer(rep, name="张三", stage="active")
    make_customer(rep, name="李四")
    xlsx_rows(api(rep).get("customers/export", {"stage": "active", "format": "xlsx"}))
    entry = AuditEntry.objects.get(action="export")
    assert (entry.actor, entry.channel, entry.model) == (rep, "api", "customers.customer")
    assert entry.changes == {"filters": [None, {"stage": "active"}], "count": [None, 1]}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_customer_export_speaks_the_readers_language(rep, api, fmt):
    from django.utils import translation

    from guanxi.customers.choices import Source, Stage

    make_customer(rep, name="张三", stage="active", source="referral")
    client = api(rep)
    client.headers["Accept-Language"] = "zh-hans"
    response = client.get("customers/export", {"format": fmt})
    rows = csv_rows(response) if fmt == "csv" else xlsx_rows(response)
    with translation.override("zh-hans"):
        name, stage = translation.gettext("Name"), translation.gettext("Lifecycle stage")
        active, referral = str(Stage.ACTIVE.label), str(Source.REFERRAL.label)
    assert active != "Active", "the catalogue translates stage labels"
    row = dict(zip(rows[0], rows[1], strict=True))
    assert (row[name], row[stage]) == ("张三", active)
    assert referral in rows[1]


def test_customer_export_shows_local_times(rep, api, settings):
    from django.utils import timezone

    customer = make_customer(rep, name="张三")
    (row,) = export(api(rep), "csv")
    local = timezone.localtime(customer.created_at)
    assert str(local.tzinfo) == settings.TIME_ZONE
    assert row["Created"] == local.strftime("%Y-%m-%d %H:%M")


def _fill(owner, n, start=0):
    for i in range(start, start + n):
        make_customer(
            owner,
            name=f"客户{i}",
            phones=[f"1380013{i:04d}"],
            emails=[f"c{i}@example.com"],
            tags=["VIP", "活动"],
            addresses=[{"city": "北京", "is_primary": True}, {"city": "上海"}],
        )


def test_customer_export_reads_a_fixed_number_of_queries_per_chunk(rep):
    """count, audit, custom fields; then per chunk the customers, four loads, and the
    segments and tiers of the chunk."""

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            table = customer_export(actor=rep)
            rows = list(table.rows)
        return len(ctx.captured_queries), len(rows)

    _fill(rep, 5)
    assert queries() == (12, 5)  # and one for the rep's access grants, one for the value settings
    _fill(rep, 15, start=5)
    assert queries() == (12, 20)


def test_customer_export_reads_in_chunks_by_id(rep, monkeypatch):
    from guanxi.core import tabular

    monkeypatch.setattr(tabular, "CHUNK", 3)
    _fill(rep, 7)
    with CaptureQueriesContext(connection) as ctx:
        rows = list(customer_export(actor=rep).rows)
    assert [r[2] for r in rows] == [f"客户{i}" for i in range(7)]
    assert len(ctx.captured_queries) == 5 + 3 * 7  # grants, count, audit, fields, value settings;
    # 3 chunks of 7 (the customers, four loads, segments, tiers)


# Contacts ------------------------------------------------------------------------------------


@pytest.fixture
def companies(rep, rep2):
    mine = make_customer(rep, name="甲公司", kind="company")
    theirs = make_customer(rep2, name="乙公司", kind="company")
    contact_create(
        actor=rep,
        customer=mine,
        data={"name": "张经理", "title": "总监", "phone": "13800138000", "is_primary": True},
    )
    contact_create(actor=rep, customer=mine, data={"name": "=cmd|' /C calc'!A0"})
    contact_create(actor=rep2, customer=theirs, data={"name": "王经理"})
    return mine, theirs


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_contact_export_is_scoped_and_safe(rep, api, companies, fmt):
    rows = export(api(rep), fmt, path="contacts/export")
    assert sorted(r["Name"] for r in rows) == sorted(["张经理", "'=cmd|' /C calc'!A0"])
    first = next(r for r in rows if r["Name"] == "张经理")
    assert (first["Company"], first["Customer ID"]) == ("甲公司", str(companies[0].pk))
    assert (first["Title"], first["Primary contact"]) == ("总监", "Yes")


def test_contact_export_narrows_to_one_company_and_hides_others(rep, api, companies):
    mine, theirs = companies
    client = api(rep)
    rows = export(client, "csv", {"customer": mine.pk}, path="contacts/export")
    assert len(rows) == 2
    assert client.get("contacts/export", {"customer": theirs.pk}).status_code == 404


def test_marketer_may_not_export_contacts(marketer, api, companies):
    assert api(marketer).get("contacts/export").status_code == 403


def test_contact_export_is_audited(rep, api, companies):
    csv_rows(api(rep).get("contacts/export", {"customer": companies[0].pk}))
    entry = AuditEntry.objects.get(action="export")
    assert entry.model == "customers.contact"
    assert entry.changes == {"filters": [None, {"customer": companies[0].pk}], "count": [None, 2]}


def test_contact_export_reads_one_query_per_chunk(rep, companies):
    with CaptureQueriesContext(connection) as ctx:
        rows = list(contact_export(actor=rep).rows)
    assert len(rows) == 2
    assert len(ctx.captured_queries) == 4  # grants, count, audit, contacts with their company


def test_rows_keep_the_language_of_the_request_after_it_returned(rep):
    from django.utils import translation

    from guanxi.customers.choices import Stage

    make_customer(rep, name="张三", stage="active")
    with translation.override("zh-hans"):
        table = customer_export(actor=rep)
        active = str(Stage.ACTIVE.label)
    with translation.override("en"):  # a streamed body is written after the view returned
        (row,) = list(table.rows)
    assert active in row and "Active" not in row
