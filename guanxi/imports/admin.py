"""Staff UI for imports: the list of imports, with our own pages for uploading a file and
following one import (imports.views)."""

from django.contrib import admin
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.decorators import display

from guanxi.accounts import access
from guanxi.accounts.admin import GuanxiModelAdmin

from . import selectors, views
from .models import ImportJob


@admin.register(ImportJob)
class ImportJobAdmin(GuanxiModelAdmin):
    list_display = ["file_display", "kind", "state_display", "rows", "result", "by", "created"]
    list_filter = ["kind", "status"]
    search_fields = ["file_name"]

    def get_queryset(self, request):
        return selectors.job_list(actor=request.user)

    def has_module_permission(self, request):
        return access.can(request.user, "import.run")

    def has_view_permission(self, request, obj=None):
        return access.can(request.user, "import.run")

    def has_add_permission(self, request, *args):
        return access.can(request.user, "import.run")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        info = {"model_admin": self}
        return [
            path("add/", wrap(views.upload), info, name="imports_importjob_add"),
            path(
                "<path:object_id>/change/",
                wrap(views.job_page),
                info,
                name="imports_importjob_change",
            ),  # fmt: skip
            path(
                "<path:object_id>/progress/",
                wrap(views.progress),
                info,
                name="imports_importjob_progress",
            ),  # fmt: skip
            path(
                "<path:object_id>/failed-rows/",
                wrap(views.failed_rows),
                info,
                name="imports_importjob_failed_rows",
            ),  # fmt: skip
            *super().get_urls(),
        ]

    @display(description=_("file"), header=True)
    def file_display(self, obj):
        return [obj.file_name, f"#{obj.pk} · {obj.file_format.upper()}", "⇪"]

    @display(description=_("status"), label=views.STATE_VARIANTS)
    def state_display(self, obj):
        state = selectors.job_state(obj)
        return state, views._state_label(obj, state)

    @display(description=_("rows"))
    def rows(self, obj):
        return f"{obj.rows_total:,}" if obj.rows_total is not None else "—"

    @display(description=_("result"))
    def result(self, obj):
        parts = [f"{label} {n:,}" for _key, label, n in views._counts(obj.counts or {})]
        return format_html("<span class='gx-small'>{}</span>", " · ".join(parts) or "—")

    @display(description=_("by"))
    def by(self, obj):
        return obj.created_by or "—"

    @display(description=_("uploaded"), ordering="created_at")
    def created(self, obj):
        from django.utils import timezone

        return timezone.localtime(obj.created_at).strftime("%Y-%m-%d %H:%M")
