"""`guanxi export customers|contacts|orders|interactions|tasks FILE`: what an operator scripts."""

from io import StringIO

import pytest
from django.core.management import call_command

from guanxi.accounts.models import AuditEntry
from guanxi.cli import COMMANDS
from guanxi.core.tests.export_helpers import as_dicts, csv_rows_of, xlsx_rows_of
from guanxi.customers.services import contact_create
from guanxi.interactions.services import interaction_log, task_create
from tests.factories import make_customer, make_order


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("guanxi_export", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def fails(*args) -> str:
    err = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("guanxi_export", *args, stdout=StringIO(), stderr=err)
    assert exit_info.value.code == 2
    return err.getvalue()


def read(path) -> list[dict]:
    data = path.read_bytes()
    return as_dicts(xlsx_rows_of(data) if path.suffix == ".xlsx" else csv_rows_of(data))


@pytest.fixture
def world(admin, rep, rep2):
    mine = make_customer(rep, name="张三", kind="company", stage="active", tags=["VIP"])
    make_customer(rep, name="李四", stage="lead", phones=["13800138000"])
    theirs = make_customer(rep2, name="王五", kind="company")
    contact_create(actor=rep, customer=mine, data={"name": "张经理"})
    contact_create(actor=rep2, customer=theirs, data={"name": "王经理"})
    make_order(admin, mine, number="SO-1", status="paid")
    make_order(admin, mine, number="SO-2", status="refunded")
    make_order(admin, theirs, number="SO-3")
    interaction_log(actor=rep, customer=mine, data={"kind": "call", "subject": "张三电话"})
    interaction_log(actor=rep2, customer=theirs, data={"kind": "call", "subject": "王五电话"})
    task_create(actor=rep, customer=mine, data={"title": "回访张三"})
    task_create(actor=rep2, customer=theirs, data={"title": "回访王五"})
    return mine


def test_export_is_a_guanxi_command():
    assert COMMANDS["export"][0] == "guanxi_export"


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_export_infers_the_format_from_the_suffix_and_says_what_it_wrote(world, tmp_path, suffix):
    path = tmp_path / f"客户.{suffix}"
    out, _err = run("customers", str(path), "--language", "en")
    assert [r["Name"] for r in read(path)] == ["张三", "李四", "王五"]  # the first admin's view
    assert "Wrote 3 customers to" in out and str(path) in out
    assert not list(tmp_path.glob(".*.part"))


def test_format_option_wins_over_the_suffix(world, tmp_path):
    path = tmp_path / "out.dat"
    run("orders", str(path), "--format", "xlsx", "--language", "en")
    assert path.read_bytes()[:2] == b"PK"
    assert sorted(r["Order number"] for r in read(path.rename(tmp_path / "out.xlsx"))) == [
        "SO-1",
        "SO-2",
        "SO-3",
    ]


@pytest.mark.parametrize(
    ("kind", "column", "expected"),
    [
        ("customers", "Name", ["张三", "李四"]),
        ("contacts", "Name", ["张经理"]),
        ("orders", "Order number", ["SO-1", "SO-2"]),
        ("interactions", "Subject", ["张三电话"]),
        ("tasks", "Title", ["回访张三"]),
    ],
)
def test_export_as_a_rep_has_only_what_the_rep_sees(world, tmp_path, kind, column, expected):
    path = tmp_path / f"{kind}.csv"
    run(kind, str(path), "--as", "rep1", "--language", "en")
    assert [r[column] for r in read(path)] == expected


@pytest.mark.parametrize(
    ("args", "column", "expected"),
    [
        (["customers", "--stage", "active"], "Name", ["张三"]),
        (["customers", "--q", "lisi"], "Name", ["李四"]),
        (["customers", "--tag", "VIP", "--kind", "company"], "Name", ["张三"]),
        (["customers", "--owner", "rep2"], "Name", ["王五"]),
        (["orders", "--status", "refunded"], "Order number", ["SO-2"]),
        (["interactions", "--q", "王五"], "Subject", ["王五电话"]),
        (["tasks", "--status", "open", "--owner", "me"], "Title", []),
    ],
)
def test_export_keeps_the_lists_filters(world, tmp_path, args, column, expected):
    path = tmp_path / "out.xlsx"
    run(args[0], str(path), *args[1:], "--language", "en")
    assert [r[column] for r in read(path)] == expected


def test_export_filters_by_customer(world, tmp_path):
    path = tmp_path / "contacts.csv"
    run("contacts", str(path), "--customer", str(world.pk), "--language", "en")
    assert [r["Name"] for r in read(path)] == ["张经理"]


def test_export_headers_follow_the_language(world, tmp_path):
    from django.utils import translation

    path = tmp_path / "out.csv"
    run("customers", str(path), "--language", "zh-hans")
    with translation.override("zh-hans"):
        assert csv_rows_of(path.read_bytes())[0][2] == translation.gettext("Name")


def test_export_is_audited_as_cli(world, rep, tmp_path):
    run("orders", str(tmp_path / "o.csv"), "--as", "rep1", "--status", "paid")
    entry = AuditEntry.objects.get(action="export")
    assert (entry.actor, entry.channel, entry.model) == (rep, "cli", "orders.order")
    assert entry.changes == {"filters": [None, {"status": "paid"}], "count": [None, 1]}


def test_marketer_is_refused_and_nothing_is_written(world, marketer, tmp_path):
    path = tmp_path / "out.csv"
    err = fails("customers", str(path), "--as", "marketer1")
    assert err.startswith("error: ") and "export" in err
    assert not path.exists() and not list(tmp_path.iterdir())
    assert not AuditEntry.objects.filter(action="export").exists()


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["customers", "{dir}/out.csv", "--stage", "dormant"], "stage"),
        (["customers", "{dir}/out.csv", "--created-after", "yesterday"], "created_after"),
        (["orders", "{dir}/out.csv", "--status", "lost"], "status"),
        (["tasks", "{dir}/out.csv", "--owner", "everyone"], "owner"),
        (["contacts", "{dir}/out.csv", "--customer", "x"], "customer"),
        (["customers", "{dir}/out.pdf"], "format"),
        (["customers", "{dir}/out.csv", "--format", "ods"], "format"),
        (["customers", "{dir}/nowhere/out.csv"], "file"),
        (["customers", "{dir}/out.csv", "--as", "nobody"], "as"),
        (["customers", "{dir}/out.csv", "--cf", "level"], "cf"),
        (["customers", "{dir}/out.csv", "--cf", "nokey=1"], "cf_nokey"),
    ],
)
def test_bad_input_exits_2_naming_the_field(world, tmp_path, args, field):
    err = fails(*(a.format(dir=tmp_path) for a in args))
    assert err.splitlines()[0].startswith(f"error: {field}: "), err


def test_a_hidden_customer_is_not_found(world, rep2, tmp_path):
    err = fails("orders", str(tmp_path / "o.csv"), "--as", "rep2", "--customer", str(world.pk))
    assert err.startswith("error: ")
