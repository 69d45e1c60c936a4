"""Your notifications over REST: the list, the unread count, marking read."""

from ninja import Query, Router

from guanxi.core.api import ERRORS, READ_ERRORS
from guanxi.core.pagination import PageParams, paginate

from . import selectors, services
from .schemas import (
    MarkedOut,
    NotificationFilters,
    NotificationOut,
    NotificationPage,
    UnreadCountOut,
)

router = Router(tags=["notifications"])


@router.get("/notifications", response={200: NotificationPage, **READ_ERRORS})
def list_notifications(request, filters: Query[NotificationFilters], page: Query[PageParams]):
    """Your notifications, newest first, in the language of the request (`unread=true`: only
    the unread ones)."""
    return paginate(
        selectors.notification_list(actor=request.user, unread_only=filters.unread), page
    )


@router.get("/notifications/unread-count", response={200: UnreadCountOut, **READ_ERRORS})
def unread_count(request):
    """How many of your notifications are unread."""
    return {"count": selectors.unread_count(actor=request.user)}


@router.post("/notifications/read-all", response={200: MarkedOut, **ERRORS})
def mark_all_read(request):
    """Mark all your notifications read."""
    return {"marked": services.notifications_mark_all_read(actor=request.user)}


@router.post("/notifications/{int:notification_id}/read", response={200: NotificationOut, **ERRORS})
def mark_read(request, notification_id: int):
    """Mark one of your notifications read (someone else's is 404)."""
    return services.notification_mark_read(actor=request.user, notification_id=notification_id)
