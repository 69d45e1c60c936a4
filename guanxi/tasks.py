"""Background tasks (django.tasks); run by `guanxi worker`, enqueued by its scheduler."""

from django.tasks import task

from guanxi.interactions.services import task_reminders_send


@task()
def send_task_reminders() -> int:
    """Email owners whose task reminders are due."""
    return task_reminders_send()


@task()
def run_import(job_id: int) -> dict:
    """Run a queued import, or its check (uploaded in the UI or through the API)."""
    from guanxi.imports.models import ImportJob
    from guanxi.imports.services import import_job_run

    job = ImportJob.objects.get(pk=job_id)
    return import_job_run(job=job).counts


@task()
def refresh_match_index() -> int:
    """Keep the index of customers' match keys (for finding duplicates) up to date."""
    from guanxi.imports.match_index import refresh

    return refresh()


@task()
def refresh_values(refresh_id: int) -> dict:
    """Compute every customer's value (RFM, lifetime value, P(alive)) for a queued refresh."""
    from guanxi.analytics.models import ValueRefresh
    from guanxi.analytics.services import value_refresh_run

    refresh = value_refresh_run(refresh=ValueRefresh.objects.get(pk=refresh_id))
    return {"customers": refresh.customers, "status": refresh.status}


@task()
def refresh_values_nightly() -> bool:
    """The nightly value refresh (once a day, after the hour set in the value settings)."""
    from guanxi.analytics.services import value_refresh_nightly

    return value_refresh_nightly() is not None


# name → (task, seconds between runs): what the scheduler beside the worker enqueues.
PERIODIC = {
    "task-reminders": (send_task_reminders, 60),
    "match-index": (refresh_match_index, 300),
    "nightly-values": (refresh_values_nightly, 600),
}
