"""`guanxi import …` from the command line: dry run, report, failed rows, mapping files,
all-or-nothing and resumable commits when something fails half-way, undo."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from guanxi.customers.models import Customer
from guanxi.imports import pipeline
from guanxi.imports.importers.customers import CustomerImporter
from guanxi.imports.models import ImportJob, ImportRecord

from .helpers import csv_bytes


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("guanxi_import", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def people(n: int, *, start: int = 0):
    rows = [["姓名", "手机", "邮箱"]]
    for i in range(start, start + n):
        rows.append([f"客户{i:05d}", f"139{i:08d}", f"c{i}@example.com"])
    return rows


@pytest.fixture
def file(tmp_path):
    def make(rows, name="customers.csv", **kw):
        path = tmp_path / name
        path.write_bytes(csv_bytes(rows, **kw))
        return str(path)

    return make


def test_dry_run_reports_and_writes_nothing(admin, file):
    rows = [*people(3), ["坏行", "12345", "x@"]]
    out, _err = run("customers", file(rows, encoding="gb18030"), "--dry-run")
    assert "gb18030" in out and "姓名 →" in out
    assert "Dry run" in out and "created 3" in out and "failed 1" in out
    assert "row 5 [手机] “12345”" in out
    assert Customer.objects.count() == 0


def test_import_prints_counts_writes_failed_rows_and_can_be_undone(admin, file, tmp_path):
    rows = [*people(3), ["坏行", "1.38E+10", ""]]
    failed = tmp_path / "failed.csv"
    out, err = run("customers", file(rows), "--failed-rows", str(failed))
    assert "created 3" in out and "failed 1" in out and "100.0%" in err
    assert Customer.objects.count() == 3
    text = failed.read_text(encoding="utf-8-sig")
    assert text.splitlines()[1].startswith("坏行,1.38E+10,,")
    job = ImportJob.objects.get()
    out, _err = run("undo", str(job.pk))
    assert Customer.objects.count() == 0
    listing, _err = run("list")
    assert listing.split("\t")[3] == "undone"


def test_a_mapping_file_by_header_and_a_saved_mapping(admin, file, tmp_path):
    rows = [["客户", "联系方式", "备注栏"], ["赵六", "13700137000", "老朋友"]]
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"客户": "name", "联系方式": "phones", "备注栏": "notes"}))
    run("customers", file(rows), "--mapping", str(mapping), "--save-mapping", "老表")
    assert Customer.objects.get().notes == "老朋友"
    run("customers", file([rows[0], ["钱七", "13700137001", "新朋友"]], name="b.csv"),
        "--saved-mapping", "老表")  # fmt: skip
    assert Customer.objects.get(name="钱七").notes == "新朋友"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--mapping", "/nonexistent.json"], "mapping"),
        (["--saved-mapping", "nope"], "saved_mapping"),
        (["--as", "nobody"], "as"),
    ],
)
def test_bad_options_name_the_problem_and_exit_2(admin, file, args, needle):
    err = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("guanxi_import", "customers", file(people(1)), *args, stderr=err)
    assert exit_info.value.code == 2 and f"error: {needle}" in err.getvalue()
    assert Customer.objects.count() == 0


def test_a_missing_file_exits_2(admin):
    err = StringIO()
    with pytest.raises(SystemExit):
        call_command("guanxi_import", "customers", "/no/such.csv", stderr=err)
    assert "error: file" in err.getvalue()


def _fail_on_chunk(monkeypatch, n: int):
    """Make the n-th chunk of every run fail half-way through its writes."""
    real = CustomerImporter.write
    seen = {"chunks": 0}

    def write(self, chunk, *, dry_run):
        seen["chunks"] += 1
        outcome = real(self, chunk, dry_run=dry_run)
        if seen["chunks"] == n:
            raise RuntimeError("disk on fire")
        return outcome

    monkeypatch.setattr(CustomerImporter, "write", write)
    return seen


def test_all_or_nothing_leaves_nothing_when_it_fails_half_way(admin, file, monkeypatch):
    monkeypatch.setattr(pipeline, "CHUNK", 4)
    _fail_on_chunk(monkeypatch, 3)
    with pytest.raises(RuntimeError):
        run("customers", file(people(20)))
    assert Customer.objects.count() == 0 and not ImportRecord.objects.exists()
    job = ImportJob.objects.get()
    assert job.status == "failed" and "disk on fire" in job.error


def _indexes() -> dict:
    from django.apps import apps

    from guanxi.core.bulk import secondary_indexes

    return {
        label: secondary_indexes(apps.get_model(label)) for label in CustomerImporter.bulk_written
    }


@pytest.mark.parametrize("fails", [False, True])
def test_a_large_import_sets_indexes_aside_and_builds_them_again(admin, file, monkeypatch, fails):
    """On SQLite an import that at least doubles the tables it only writes to drops their
    indexes (all but those it reads by) while it writes, and builds them again before it
    commits; a failure rolls the drop back. The indexes are the same afterwards either way,
    and on PostgreSQL they are never dropped."""
    from contextlib import contextmanager

    from django.db import connection

    monkeypatch.setattr(pipeline, "BULK_LOAD_FROM", 10)
    if fails:
        _fail_on_chunk(monkeypatch, 1)
    before = _indexes()
    during = []
    real = pipeline.indexes_set_aside

    @contextmanager
    def spy(chosen):
        with real(chosen) as dropped:
            during.append(_indexes())
            yield dropped

    monkeypatch.setattr(pipeline, "indexes_set_aside", spy)
    if fails:
        with pytest.raises(RuntimeError):
            run("customers", file(people(20)))
    else:
        run("customers", file(people(20)))
        assert Customer.objects.count() == 20
    assert _indexes() == before
    if connection.vendor != "sqlite":
        assert during == []
        return
    (seen,) = during
    assert seen["accounts.AuditEntry"] == [] and seen["customers.Customer"] == []
    assert [first for _n, _sql, first in seen["customers.Address"]] == ["customer_id"]
    assert len(before["customers.Customer"]) >= 5


def _workers(monkeypatch, n: int) -> None:
    """Rows prepared by n forked worker processes (0: in this one), whatever the machine."""
    if n:
        monkeypatch.setattr(pipeline, "PARALLEL_FROM", 0)
        monkeypatch.setattr(pipeline.os, "cpu_count", lambda: n + 1)


@pytest.mark.parametrize("workers", [0, 3])
def test_resumable_keeps_the_chunks_that_committed_and_a_rerun_continues(
    admin, file, monkeypatch, workers
):
    """Also with rows prepared by three workers, each reading the file and preparing the
    chunks it claims after the rows already committed."""
    _workers(monkeypatch, workers)
    monkeypatch.setattr(pipeline, "CHUNK", 4)
    seen = _fail_on_chunk(monkeypatch, 3)
    path = file(people(20))
    with pytest.raises(RuntimeError):
        run("customers", path, "--resumable")
    job = ImportJob.objects.get()
    assert job.rows_committed == 8 and job.status == "failed"
    # Every row written is accounted for by the job, and only those.
    assert Customer.objects.count() == 8 == ImportRecord.objects.filter(job=job).count()
    seen["chunks"] = -100  # no more failures
    out, _err = run("customers", path, "--resumable")
    assert "Continuing import" in out and "after row 8" in out
    job.refresh_from_db()
    assert job.status == "completed" and job.counts == {"created": 20}
    assert Customer.objects.count() == 20
    assert Customer.objects.values("name").distinct().count() == 20
    assert list(ImportRecord.objects.order_by("row").values_list("row", flat=True)) == list(
        range(2, 22)
    )


def test_a_worker_that_fails_fails_the_import_and_leaves_nothing(admin, file, monkeypatch):
    """A row that breaks preparing in a worker process: the import fails with the worker's
    error, nothing written (all or nothing)."""
    _workers(monkeypatch, 2)
    monkeypatch.setattr(pipeline, "CHUNK", 4)
    real = CustomerImporter.prepare

    def prepare(self, row):
        if row.number == 15:
            raise RuntimeError("cosmic ray")
        return real(self, row)

    monkeypatch.setattr(CustomerImporter, "prepare", prepare)
    with pytest.raises(RuntimeError, match="cosmic ray"):
        run("customers", file(people(20)))
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("workers", [1, 3])
def test_rows_prepared_in_worker_processes_import_the_same(admin, file, monkeypatch, workers):
    """A large file is prepared in forked workers; the result must not depend on it."""
    monkeypatch.setattr(pipeline, "CHUNK", 7)
    path = file([*people(30), ["坏行", "12345", ""], *people(5, start=100)[1:]])
    run("customers", path)
    alone = list(Customer.objects.order_by("name").values_list("name", "search_text"))
    first = ImportJob.objects.get()
    run("undo", str(first.pk))
    _workers(monkeypatch, workers)
    run("customers", path)
    job = ImportJob.objects.latest("pk")
    assert job.counts == first.counts == {"created": 35, "failed": 1}
    assert list(Customer.objects.order_by("name").values_list("name", "search_text")) == alone


def test_the_writer_prepares_chunks_itself_when_the_workers_fall_behind(admin, file, monkeypatch):
    """Rows prepared slowly in the worker: the writer, finding nothing ready, prepares the
    next chunks itself; every row is imported once, in the file's order, as without workers."""
    import os
    import time

    monkeypatch.setattr(pipeline, "CHUNK", 3)
    path = file(people(30))
    run("customers", path)
    alone = list(Customer.objects.order_by("pk").values_list("name", "search_text"))
    run("undo", str(ImportJob.objects.get().pk))
    _workers(monkeypatch, 1)
    here = os.getpid()
    real = CustomerImporter.prepare

    def prepare(self, row):
        if os.getpid() != here:
            time.sleep(0.2)  # a worker three times slower than this process, at least
        return real(self, row)

    monkeypatch.setattr(CustomerImporter, "prepare", prepare)
    made = []
    enter = pipeline.Preparer.__enter__
    monkeypatch.setattr(pipeline.Preparer, "__enter__", lambda p: made.append(p) or enter(p))
    run("customers", path)
    job = ImportJob.objects.latest("pk")
    assert job.counts == {"created": 30}
    assert list(Customer.objects.order_by("pk").values_list("name", "search_text")) == alone
    assert list(ImportRecord.objects.filter(job=job).order_by("object_id").values_list(
        "row", flat=True)) == list(range(2, 32))  # fmt: skip
    assert 0 < made[0].prepared_here < 10  # some chunks here, some in the worker


def test_statistics_refreshed_while_a_large_import_writes(admin, file, monkeypatch):
    """On PostgreSQL the looked-up tables are analysed each time the rows written double
    (here from 7 rows on); in the import's transaction, rolled back with it on a dry run."""
    from django.db import connection

    analysed = []
    grown = pipeline._Statistics.grown

    def spy(self, rows):
        before = self.next
        grown(self, rows)
        if self.tables and self.next != before:
            analysed.append(rows)

    monkeypatch.setattr(pipeline, "CHUNK", 7)
    monkeypatch.setattr(pipeline._Statistics, "FIRST", 7)
    monkeypatch.setattr(pipeline._Statistics, "grown", spy)
    path = file(people(30))
    run("customers", path, "--dry-run")
    assert Customer.objects.count() == 0
    run("customers", path)
    assert ImportJob.objects.latest("pk").counts == {"created": 30}
    assert Customer.objects.count() == 30
    if connection.vendor == "postgresql":
        assert analysed == [7, 14, 28] * 2  # rows written: 7, 14, 21, 28, 30
    else:
        assert analysed == []  # SQLite plans without such statistics
