"""The notification centre: the viewer's notifications newest first, the unread ones
highlighted; opening one marks it read and follows its link; "mark all as read".

Views parse the request, call notifications.services / selectors, and render."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from guanxi.accounts import access
from guanxi.core.errors import NotFound

from . import selectors, services
from .models import Notification

PER_PAGE = 50


def _centre_url(**params) -> str:
    url = reverse("admin:notifications_notification_changelist")
    return f"{url}?unread=1" if params.get("unread") else url


def centre(request, model_admin):
    """The viewer's notifications, newest first; `?unread=1` for the unread ones only."""
    actor = request.user
    if access.role_of(actor) is None:
        raise Http404
    unread_only = request.GET.get("unread") == "1"
    paginator = Paginator(
        selectors.notification_list(actor=actor, unread_only=unread_only), PER_PAGE
    )
    page = paginator.get_page(request.GET.get("page"))
    request.current_app = model_admin.admin_site.name
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": Notification._meta,
        "title": _("Notifications"),
        "page": page,
        "unread_only": unread_only,
        "unread": selectors.unread_count(actor=actor),
        "all_url": _centre_url(),
        "unread_url": _centre_url(unread=True),
    }
    return TemplateResponse(request, "guanxi/notifications/list.html", context)


def open_notification(request, object_id, model_admin):
    """Mark a notification read and follow its link (back to the list when it has none)."""
    try:
        notification = services.notification_mark_read(
            actor=request.user, notification_id=object_id
        )
    except NotFound:
        raise Http404 from None
    url = notification.url
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(url)
    return HttpResponseRedirect(_centre_url())


def read_all(request, model_admin):
    """POST: mark all the viewer's notifications read; back to the list."""
    if request.method == "POST":
        marked = services.notifications_mark_all_read(actor=request.user)
        if marked:
            messages.success(
                request,
                ngettext(
                    "%(n)d notification marked as read.",
                    "%(n)d notifications marked as read.",
                    marked,
                )
                % {"n": marked},
            )
    return HttpResponseRedirect(_centre_url())


def sidebar_badge(request) -> str | None:
    """The unread count beside "Notifications" in the sidebar (nothing when there are none)."""
    user = getattr(request, "user", None)
    if user is None or access.role_of(user) is None:
        return None
    count = selectors.unread_count(actor=user)
    if not count:
        return None
    return "99+" if count > 99 else str(count)
