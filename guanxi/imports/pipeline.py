"""Running an import: rows read in chunks, each chunk prepared and written set-based.

All or nothing (the default): one transaction for the whole file; a failure or a killed
process leaves nothing behind. Resumable: one transaction per chunk, which also moves the
job's `rows_committed` mark, so a re-run continues after the last chunk that committed, and
a killed process leaves no row that the job does not account for. A dry run does all the
work in a transaction that is rolled back, keeping only the counts and the problems.
"""

import contextlib
import itertools
import logging
import multiprocessing as mp
import os
from collections.abc import Callable
from dataclasses import asdict

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core.bulk import Inserter, indexes_set_aside, rows_about
from guanxi.core.context import channel
from guanxi.customers.services.fields import active_definitions
from guanxi.customers.services.merge import duplicate_reviews_create

from . import progress as live
from .choices import ImportKind, ImportStatus
from .importers.base import Importer, Issue
from .matching.matcher import bulk
from .models import ImportIssue, ImportJob, ImportRecord
from .readers import open_table

log = logging.getLogger(__name__)
CHUNK = 5000
MAX_DRY_RUN_ISSUES = 50_000  # problems kept from a dry run (the counts cover every row)


class _Rollback(Exception):
    pass


def importer_for(job: ImportJob, actor) -> Importer:
    from .importers import IMPORTERS

    definitions = active_definitions() if job.kind == ImportKind.CUSTOMERS else {}
    return IMPORTERS[job.kind](job, actor=actor, definitions=definitions)


def table_of(job: ImportJob):
    return open_table(
        job.file.path, encoding=job.encoding, delimiter=job.delimiter, sheet=job.sheet
    )


def _chunks(rows, size):
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _add(counts: dict, more: dict) -> None:
    for key, n in more.items():
        counts[key] = counts.get(key, 0) + n


def run(
    job: ImportJob,
    *,
    actor,
    dry_run: bool = False,
    on_progress: Callable[[int, dict], None] | None = None,
) -> dict:
    """Import the job's file; returns the counts (created, updated, merged, skipped, failed,
    review). Raises what a chunk raised, after rolling back what that transaction held."""
    importer = importer_for(job, actor)
    table = table_of(job)
    counts: dict = {}
    kept_issues: list[Issue] = []
    state = {"done": 0}

    def report():
        live.write(job.pk, rows_done=state["done"], rows_total=job.rows_total, counts=counts)
        if on_progress:
            on_progress(state["done"], counts)

    def handle(prepared):
        with bulk():  # the collector would walk every live object again and again
            outcome = importer.write(prepared, dry_run=dry_run)
            issues = [i for p in prepared for i in p.issues] + outcome.issues
            _add(counts, outcome.counts)
            state["done"] += len(prepared)
            if dry_run:
                room = MAX_DRY_RUN_ISSUES - len(kept_issues)
                kept_issues.extend(issues[: max(room, 0)])
            else:
                _save(job, issues, outcome)
        statistics.grown(state["done"])

    statistics = _Statistics(importer)
    resuming = job.resumable and not dry_run
    skip = job.rows_committed if resuming else 0
    preparer = Preparer(importer, table, rows=(job.rows_total or 0) - skip, skip=skip)
    with channel("import"), preparer:
        if resuming:
            _run_resumable(job, importer, handle, counts, state, report, preparer)
        else:
            try:
                with transaction.atomic():
                    if not dry_run:
                        ImportIssue.objects.filter(job=job).delete()
                    importer.begin()
                    with _bulk_load(importer, job.rows_total or 0):
                        for prepared in preparer.map():
                            handle(prepared)
                            report()
                        if dry_run:
                            raise _Rollback
                        importer.end()
                    _finish(job, counts, state["done"])
            except _Rollback:
                ImportIssue.objects.filter(job=job).delete()
                _insert_issues(job, kept_issues)
                job.counts = {**counts, "dry_run": True}
                job.rows_total = state["done"]
                job.save(update_fields=["counts", "rows_total", "updated_at"])
    live.clear(job.pk)
    return counts


def _run_resumable(job, importer, handle, counts, state, report, preparer):
    """Chunks committed one by one; the job's mark moves in the same transaction."""
    counts.update(job.counts or {})
    with transaction.atomic():
        importer.begin()
    state["done"] = job.rows_committed
    for prepared in preparer.map():
        with transaction.atomic():
            handle(prepared)
            ImportJob.objects.filter(pk=job.pk).update(
                rows_committed=state["done"],
                rows_done=state["done"],
                counts=dict(counts),
                heartbeat_at=timezone.now(),
            )
        report()
    with transaction.atomic():
        importer.end()
        _finish(job, counts, state["done"])


# From this many rows, an import that at least doubles a table it only writes to sets that
# table's indexes aside and builds them again before it commits (SQLite; see `_bulk_load`).
BULK_LOAD_FROM = 20_000


def _bulk_load(importer: Importer, rows: int):
    """Inside the import's transaction: set aside the indexes of the tables the importer
    grows without reading them by (`Importer.bulk_written`), for a table the import will at
    least double, and rebuild them at the end; a third of the time a large import spends
    writing goes on keeping those B-trees in order row by row. SQLite only: its readers keep
    reading the committed database, indexes included, while the writer holds the write lock;
    on PostgreSQL a dropped index would lock every reader of the table out until the commit."""
    if connection.vendor != "sqlite" or rows < BULK_LOAD_FROM or not importer.bulk_written:
        return contextlib.nullcontext()
    from django.apps import apps

    chosen = []
    for label, kept in importer.bulk_written.items():
        model = apps.get_model(label)
        if rows >= rows_about(model):
            chosen.append((model, kept))
    return indexes_set_aside(chosen) if chosen else contextlib.nullcontext()


class _Statistics:
    """PostgreSQL plans each lookup from statistics taken before the import; a transaction
    that adds a million rows to the tables it searches would soon be planned as if they
    were nearly empty (whole-table scans instead of index probes). So the tables the
    importer looks up in are analysed again each time the rows written double, from 20,000:
    ANALYZE counts the transaction's own new rows, and its statistics stay in the transaction
    (rolled back with it)."""

    FIRST = 20_000

    def __init__(self, importer: Importer):
        from django.apps import apps

        self.next = self.FIRST
        self.tables = []
        if connection.vendor == "postgresql":
            self.tables = [apps.get_model(label)._meta.db_table for label in importer.looked_up]

    def grown(self, rows: int) -> None:
        if not self.tables or rows < self.next:
            return
        while self.next <= rows:
            self.next *= 2
        with connection.cursor() as cursor:
            for table in self.tables:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")


# Preparing rows (cleaning, validation, pinyin) is pure Python and independent from row to
# row; on a machine with more than one core a large file is read and prepared in forked
# worker processes while this one writes to the database. Each worker reads the file itself
# and prepares the chunks it claims (a shared counter hands them out in order), so the rows
# never travel between processes, only what the writer needs of them. When no prepared chunk
# is ready, the writer claims the next one and prepares it itself rather than wait: whichever
# side is quicker takes on more of the preparing.
PARALLEL_FROM = 20_000
MAX_WORKERS = 4
AHEAD = 2  # chunks each worker may have ready before the writer takes them


class PreparingFailed(RuntimeError):
    """A worker process could not prepare the rows (the message says why, for the job)."""


_inherited = []  # in a worker: the parent's connections, kept from being closed


def _worker_start() -> None:
    """In a forked worker: the database connections are the parent's, never to be used nor
    closed here (closing SQLite's would roll back, in the shared WAL index, what the parent
    is writing); they are set aside until the process exits, and preparing rows needs none."""
    from django.db import connections

    for each in connections.all(initialized_only=True):
        _inherited.append(each.connection)
        each.connection = None


def _prepare_chunk(importer: Importer, chunk) -> list:
    with bulk():  # many small objects, no cycles: the GC would only slow it down
        return [importer.prepare(row) for row in chunk]


class _Chunks:
    """Chunk by chunk through a table's rows after `skip`, moving forward only: `read(c)`
    gives the rows of chunk c (an empty list past the end), skipping the chunks between."""

    def __init__(self, table, skip: int):
        self.rows = itertools.islice(table.rows(), skip, None)
        self.at = 0  # the chunk the rows continue with

    def read(self, c: int) -> list:
        assert c >= self.at, "chunks are read forwards"
        if c > self.at:
            next(itertools.islice(self.rows, (c - self.at) * CHUNK - 1, None), None)
        self.at = c + 1
        return list(itertools.islice(self.rows, CHUNK))


class _Claims:
    """The chunks handed out, in order, to whoever prepares next (workers and the writer),
    never more than `limit` ahead of the chunks the writer has taken."""

    def __init__(self, context, limit: int):
        self.next = context.Value("q", 0)  # the next chunk to hand out
        self.taken = context.Value("q", 0, lock=False)  # chunks the writer has written
        self.limit = limit

    def claim(self) -> int | None:
        with self.next.get_lock():
            c = self.next.value
            if c - self.taken.value >= self.limit:
                return None
            self.next.value = c + 1
            return c

    def took(self, chunks: int) -> None:
        self.taken.value = chunks


def _worker(importer: Importer, table, skip: int, claims: _Claims, out) -> None:
    """Prepare the chunks claimed, onto `out` as (chunk, rows); ("end", c) at the end."""
    import time
    import traceback

    _worker_start()
    try:
        chunks = _Chunks(table, skip)
        while True:
            c = claims.claim()
            if c is None:
                time.sleep(0.01)  # far enough ahead of the writer
                continue
            rows = chunks.read(c)
            if not rows:
                out.put(("end", c))
                return
            prepared = _prepare_chunk(importer, rows)
            for p in prepared:
                if p.item is not None:
                    p.values = {}  # shown only by a preview, which prepares its rows itself
            out.put((c, prepared))
    except BaseException as e:  # the writer raises it; this process only reports
        out.put(("failed", str(e) or e.__class__.__name__, traceback.format_exc()))
    finally:
        out.close()
        out.join_thread()


class Preparer:
    """`map()` yields the prepared rows after the first `skip`, chunk by chunk, in order,
    prepared here or in worker processes. The workers are forked on entering, before the
    import opens its transaction (they never touch the database)."""

    def __init__(self, importer: Importer, table, *, rows: int, skip: int = 0):
        self.importer = importer
        self.table = table
        self.skip = skip
        self.workers = []
        self.queue = None
        cores = os.cpu_count() or 1
        self.parallel = (
            rows >= PARALLEL_FROM and cores > 1 and ("fork" in mp.get_all_start_methods())
        )
        self.n = max(1, min(cores - 1, MAX_WORKERS))
        self.prepared_here = 0  # chunks the writer prepared itself (the others, in workers)

    def __enter__(self):
        if self.parallel:
            self.importer.warm()  # what prepare reads from the database, read before forking
            context = mp.get_context("fork")
            self.claims = _Claims(context, limit=(AHEAD + 1) * self.n + 1)
            self.queue = context.Queue(AHEAD * self.n)
            self.workers = [
                context.Process(
                    target=_worker,
                    args=(self.importer, self.table, self.skip, self.claims, self.queue),
                    daemon=True,
                )
                for _k in range(self.n)
            ]
            for worker in self.workers:
                worker.start()
        return self

    def map(self):
        if not self.parallel:
            rows = itertools.islice(self.table.rows(), self.skip, None)
            for chunk in _chunks(rows, CHUNK):
                yield _prepare_chunk(self.importer, chunk)
            return
        ready: dict[int, list] = {}
        end = None  # the number of chunks, once someone has read past the last
        mine = None  # the writer's own reader, opened the first time it prepares a chunk
        for i in itertools.count():
            self.claims.took(i)
            while i not in ready and (end is None or i < end):
                got = self._next(steal=end is None)
                if got is None:  # nothing ready: prepare the next unclaimed chunk here
                    c = self.claims.claim()
                    if c is None:
                        got = self._next(steal=False)
                    else:
                        mine = mine or _Chunks(self.table, self.skip)
                        rows = mine.read(c)
                        if rows:
                            self.prepared_here += 1
                        got = (c, _prepare_chunk(self.importer, rows)) if rows else ("end", c)
                if got[0] == "failed":
                    _failed, error, trace = got
                    log.error("preparing rows failed in a worker process:\n%s", trace)
                    raise PreparingFailed(
                        _("Preparing the rows failed: %(error)s") % {"error": error}
                    )
                if got[0] == "end":
                    end = got[1] if end is None else min(end, got[1])
                else:
                    ready[got[0]] = got[1]
            if i not in ready:
                return
            yield ready.pop(i)

    def _next(self, *, steal: bool):
        """The next message of a worker; None at once, if `steal` and none is waiting."""
        import queue as queues

        while True:
            try:
                # Unpickling a chunk makes a hundred thousand objects: with the collector on,
                # each batch of them would walk everything the writer holds.
                with bulk():
                    if steal:
                        return self.queue.get_nowait()
                    return self.queue.get(timeout=5)
            except queues.Empty:
                if steal:
                    return None
                stopped = [w for w in self.workers if not w.is_alive()]
                if any(w.exitcode != 0 for w in stopped) or len(stopped) == len(self.workers):
                    code = next((w.exitcode for w in stopped if w.exitcode != 0), 0)
                    raise PreparingFailed(
                        _("A process preparing the rows stopped unexpectedly (exit code %(code)s).")
                        % {"code": code}
                    ) from None

    def __exit__(self, *exc):
        for worker in self.workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()
        self.workers = []
        return False


def _finish(job: ImportJob, counts: dict, done: int) -> None:
    now = timezone.now()
    job.status = ImportStatus.COMPLETED
    job.counts = counts
    job.rows_done = done
    job.rows_committed = done
    job.rows_total = done
    job.finished_at = now
    job.heartbeat_at = now
    job.error = ""
    job.save(
        update_fields=[
            "status", "counts", "rows_done", "rows_committed", "rows_total", "finished_at",
            "heartbeat_at", "error", "updated_at",
        ]
    )  # fmt: skip


ISSUE_COLUMNS = ["job", "row", "column", "field", "value", "message", "severity"]
RECORD_COLUMNS = ["job", "row", "model", "object_id", "action", "before"]


def _insert_issues(job: ImportJob, issues: list[Issue]) -> None:
    Inserter(ImportIssue, ISSUE_COLUMNS).insert(
        (job.pk, i.row, i.column[:200], i.field[:100], i.value[:500], i.message[:500], i.severity)
        for i in issues
    )


def _save(job: ImportJob, issues: list[Issue], outcome) -> None:
    _insert_issues(job, issues)
    Inserter(ImportRecord, RECORD_COLUMNS).insert(
        (job.pk, row, model, pk, action, before)
        for row, model, pk, action, before in outcome.records
    )
    if outcome.reviews:
        duplicate_reviews_create(pairs=outcome.reviews, source="import", import_job_id=job.pk)


def preview(job: ImportJob, *, actor, rows: int = 20) -> dict:
    """The first rows as they would be stored, with their problems and what would happen to
    each (created, merged into #…, same as row …, skipped), found by writing them in a
    transaction that is rolled back."""
    importer = importer_for(job, actor)
    importer.begin_preview()
    sample = table_of(job).sample(rows)
    prepared = [importer.prepare(row) for row in sample]
    outcome = None
    try:
        with channel("import"), transaction.atomic():
            outcome = importer.write(prepared, dry_run=True)
            raise _Rollback
    except _Rollback:
        pass
    extra: dict[int, list[Issue]] = {}
    for issue in outcome.issues if outcome else ():
        extra.setdefault(issue.row, []).append(issue)
    shown = []
    for p in prepared:
        issues = p.issues + extra.get(p.row, [])
        shown.append(
            {
                "row": p.row,
                "values": importer.display(p),
                "issues": [asdict(i) for i in issues],
                "outcome": (outcome.outcomes.get(p.row) if outcome else None)
                or {"action": "failed"},
            }
        )
    return {"missing": importer.missing_required(), "rows": shown}
