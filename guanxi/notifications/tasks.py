"""Background tasks of notifications (django.tasks), enqueued by `services.notify`."""

from django.tasks import task


@task()
def send_notification_emails(notification_ids: list[int]) -> int:
    """Email notifications to their recipients, in the site's language."""
    from .services import notification_emails_send

    return notification_emails_send(notification_ids=notification_ids)
