"""The notification centre in the staff UI: each user's own list, opening one marks it read
(notifications.views)."""

from django.contrib import admin
from django.urls import path

from guanxi.accounts.admin import GuanxiModelAdmin

from . import selectors, views
from .models import Notification


@admin.register(Notification)
class NotificationAdmin(GuanxiModelAdmin):
    # Everyone with a role has notifications; adding, changing and deleting are refused by
    # GuanxiAdminMixin, and every page reads only the viewer's own.
    def get_queryset(self, request):
        return selectors.notification_list(actor=request.user)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        info = {"model_admin": self}
        return [
            path("", wrap(views.centre), info, name="notifications_notification_changelist"),
            path(
                "read-all/", wrap(views.read_all), info, name="notifications_notification_read_all"
            ),
            path(
                "<path:object_id>/open/",
                wrap(views.open_notification),
                info,
                name="notifications_notification_open",
            ),
            # The admin's own record page would show the stored source text: open it instead.
            path(
                "<path:object_id>/change/",
                wrap(views.open_notification),
                info,
                name="notifications_notification_change",
            ),
            *super().get_urls(),
        ]
