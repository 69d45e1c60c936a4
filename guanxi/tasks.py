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
    _segments_after_values(refresh)
    return {"customers": refresh.customers, "status": refresh.status}


def _segments_after_values(refresh) -> None:
    """Segments whose rules read value figures follow a successful value refresh."""
    if refresh is not None and refresh.status == "done":
        from guanxi.segments.services import segments_refresh

        segments_refresh(depends={"value"})


@task()
def refresh_values_nightly() -> bool:
    """The nightly value refresh (once a day, after the hour set in the value settings)."""
    from guanxi.analytics.services import value_refresh_nightly

    refresh = value_refresh_nightly()
    _segments_after_values(refresh)
    return refresh is not None


@task()
def refresh_segments() -> int:
    """Recompute every dynamic segment and behaviour tag (time windows move on)."""
    from guanxi.segments.services import segments_refresh

    return len(segments_refresh())


@task()
def rebuild_order_windows() -> int:
    """Build the order windows the segments keep again from the orders (daily)."""
    from guanxi.segments.windows import windows_rebuild

    return windows_rebuild()


@task()
def refresh_segments_reading(changed: list[str]) -> int:
    """Recompute the segments whose rules read data that a bulk change touched."""
    from guanxi.segments.services import segments_refresh

    return len(segments_refresh(depends=set(changed)))


@task()
def run_lifecycle() -> dict:
    """Move lifecycle stages by the time-based rules; open churn warnings and alert owners."""
    from guanxi.segments.services.lifecycle import lifecycle_run_daily

    return lifecycle_run_daily()


@task()
def evaluate_tiers_monthly() -> bool:
    """The monthly tier re-evaluation (the scheduler asks daily; it runs once a month)."""
    from guanxi.segments.services.tiers import tiers_monthly

    return tiers_monthly() is not None


@task()
def run_clustering(run_id: int) -> dict:
    """Cluster customers on their value figures for a queued clustering run."""
    from guanxi.segments.services.clusters import clustering_run

    run = clustering_run(run_id=run_id)
    return {"status": run.status, "k": run.k}


@task()
def run_loyalty_daily() -> dict:
    """The loyalty program's day: expire points, warn of expiry, birthday bonuses, tiers."""
    from guanxi.loyalty.services.expiry import loyalty_daily

    return loyalty_daily()


@task()
def send_loyalty_expiry_warnings(messages: list) -> int:
    """Email customers whose points expire soon."""
    from guanxi.loyalty.services.expiry import expiry_warnings_send

    return expiry_warnings_send(messages=messages)


# name → (task, seconds between runs): what the scheduler beside the worker enqueues.
PERIODIC = {
    "task-reminders": (send_task_reminders, 60),
    "match-index": (refresh_match_index, 300),
    "nightly-values": (refresh_values_nightly, 600),
    "segments": (refresh_segments, 3600),
    "order-windows": (rebuild_order_windows, 86400),
    "lifecycle": (run_lifecycle, 3600),
    "tiers-monthly": (evaluate_tiers_monthly, 3600),
    "loyalty-daily": (run_loyalty_daily, 86400),
}
