"""`guanxi check`: configuration and database health, one line per check."""

import os
import sys

from django.conf import settings
from django.core import checks
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count
from django.utils.translation import gettext as _

from ._base import GuanxiCommand


def _database():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sqlite_version()")
        else:
            cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    return f"{connection.vendor} {version}"


def _migrations():
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        raise RuntimeError(
            _("%(n)d migrations not applied (run: guanxi manage migrate)") % {"n": len(pending)}
        )
    return _("all applied")


def _search_index():
    from guanxi.customers.search_index import FTS, PG_INDEX, SQLITE_TRIGGERS

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE name LIKE %s", [f"{FTS}%"])
            missing = ({FTS} | set(SQLITE_TRIGGERS)) - {r[0] for r in cursor.fetchall()}
        else:
            cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [PG_INDEX])
            missing = set() if cursor.fetchone() else {PG_INDEX}
    if missing:
        raise RuntimeError(_("missing: %(names)s") % {"names": ", ".join(sorted(missing))})
    return _("present")


def _tasks():
    from django.tasks import task_backends
    from django_tasks_db.models import DBTaskResult

    backend = task_backends["default"]
    counts = dict(
        DBTaskResult.objects.values("status").annotate(n=Count("id")).values_list("status", "n")
    )
    queued = counts.get("READY", 0)
    return _("%(backend)s, %(queued)d queued, %(failed)d failed") % {
        "backend": type(backend).__name__,
        "queued": queued,
        "failed": counts.get("FAILED", 0),
    }


def _data_dir():
    path = settings.DATA_DIR
    if not os.access(path, os.W_OK):
        raise RuntimeError(_("%(path)s is not writable") % {"path": path})
    return str(path)


def _system_checks():
    problems = [m for m in checks.run_checks() if m.level >= checks.ERROR]
    if problems:
        raise RuntimeError("; ".join(str(m) for m in problems))
    return _("no errors")


CHECKS = [
    (_("Django system checks"), _system_checks),
    (_("Database"), _database),
    (_("Migrations"), _migrations),
    (_("Search index"), _search_index),
    (_("Task queue"), _tasks),
    (_("Data folder"), _data_dir),
]


class Command(GuanxiCommand):
    help = _("Check configuration and database health; exits non-zero on any failure.")

    def handle(self, *args, **options):
        failed = 0
        for label, check in CHECKS:
            try:
                line = f"OK    {label}: {check()}"
            except Exception as e:  # every failure is reported, then the next check runs
                failed += 1
                line = f"FAIL  {label}: {e}"
            self.stdout.write(line)
        if failed:
            sys.exit(1)
