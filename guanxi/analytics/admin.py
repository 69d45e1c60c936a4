"""Staff UI for customer value: the value dashboard, the list of refreshes with each fit's
diagnostics, "refresh now" for managers, and the settings page for admins (analytics.views)."""

from django.contrib import admin
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from unfold.decorators import display

from guanxi.accounts import access
from guanxi.accounts.admin import GuanxiModelAdmin

from . import selectors, views
from .models import ValueRefresh

STATUS_VARIANTS = {"queued": "default", "running": "primary", "done": "success", "failed": "danger"}


@admin.register(ValueRefresh)
class ValueRefreshAdmin(GuanxiModelAdmin):
    list_display = ["as_of_display", "status_display", "model_display", "customers", "took", "by"]
    list_filter = ["status"]

    def get_queryset(self, request):
        return selectors.refresh_list()

    # Every role has the module (the dashboard); the list of refreshes is for those who may
    # refresh. Adding, changing and deleting are refused by GuanxiAdminMixin.
    def has_view_permission(self, request, obj=None):
        return access.can(request.user, "analytics.refresh")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        info = {"model_admin": self}
        return [
            path("value/", wrap(views.dashboard), info, name="analytics_value_dashboard"),
            path("refresh/", wrap(views.refresh_now), info, name="analytics_value_refresh"),
            path("settings/", wrap(views.settings_page), info, name="analytics_value_settings"),
            path(
                "<path:object_id>/change/",
                wrap(views.refresh_page),
                info,
                name="analytics_valuerefresh_change",
            ),
            *super().get_urls(),
        ]

    def change_url(self, obj) -> str:
        return reverse("admin:analytics_valuerefresh_change", args=[obj.pk])

    @display(description=_("as of"), header=True, ordering="as_of")
    def as_of_display(self, obj):
        started = timezone.localtime(obj.created_at).strftime("%Y-%m-%d %H:%M")
        return [obj.as_of.isoformat(), f"#{obj.pk} · {started}", "∑"]

    @display(description=_("status"), label=STATUS_VARIANTS)
    def status_display(self, obj):
        return obj.status, obj.get_status_display()

    @display(description=_("purchase model"))
    def model_display(self, obj):
        return obj.get_purchase_model_display() or "—"

    @display(description=_("took"))
    def took(self, obj):
        if obj.started_at and obj.finished_at:
            return f"{(obj.finished_at - obj.started_at).total_seconds():.1f} s"
        return "—"

    @display(description=_("by"))
    def by(self, obj):
        return obj.requested_by or _("nightly")
