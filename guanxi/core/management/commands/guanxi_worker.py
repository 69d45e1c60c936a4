"""`guanxi worker`: the django-tasks-db worker, with a small scheduler for periodic tasks."""

import threading
import time

from django.core.management import call_command
from django.db import close_old_connections
from django.utils.translation import gettext as _

from ._base import GuanxiCommand


def scheduler_loop(stop: threading.Event, write) -> None:
    """Enqueue each periodic task when its interval has passed (the tasks are idempotent)."""
    from guanxi.tasks import PERIODIC

    last: dict[str, float] = {}
    while not stop.is_set():
        now = time.monotonic()
        for name, (task, every) in PERIODIC.items():
            if now - last.get(name, -every) >= every:
                try:
                    task.enqueue()
                except Exception as e:  # a database hiccup must not kill the scheduler
                    write(f"scheduler: {name}: {e}")
                finally:
                    close_old_connections()
                last[name] = now
        stop.wait(5)


class Command(GuanxiCommand):
    help = _("Run background tasks: the database queue worker and the periodic scheduler.")

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-scheduler",
            action="store_true",
            help=_("only work the queue (when another worker schedules)"),
        )
        parser.add_argument("--batch", action="store_true", help=_("run what is queued, then exit"))

    def handle(self, *args, no_scheduler, batch, **options):
        stop = threading.Event()
        if not no_scheduler and not batch:
            threading.Thread(
                target=scheduler_loop, args=(stop, self.stderr.write), daemon=True
            ).start()
        try:
            worker_args = ["--batch"] if batch else []
            call_command(
                "db_worker",
                *worker_args,
                "--no-reload",
                "--queue-name",
                "*",
                verbosity=options.get("verbosity", 1),
            )
        finally:
            stop.set()
