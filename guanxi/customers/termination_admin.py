"""Staff UI for the requests to end a relationship (关系终止): a list for the managers and
admins who decide them; each request opens on its customer's 360° page, where it is decided."""

from django.contrib import admin
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _
from unfold.contrib.filters.admin import ChoicesDropdownFilter
from unfold.decorators import display

from guanxi.accounts import access
from guanxi.accounts.admin import GuanxiModelAdmin

from . import selectors, termination_views
from .choices import TerminationStatus
from .models import TerminationRequest

STATUS_VARIANTS = {
    TerminationStatus.PENDING: "warning",
    TerminationStatus.APPROVED: "danger",
    TerminationStatus.REJECTED: "default",
    TerminationStatus.WITHDRAWN: "default",
}


def _when(value) -> str | None:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else None


@admin.register(TerminationRequest)
class TerminationRequestAdmin(GuanxiModelAdmin):
    list_display = [
        "customer_display",
        "status_display",
        "reason_display",
        "requested_by",
        "requested",
        "decided_by",
        "decided",
    ]
    list_filter = [("status", ChoicesDropdownFilter)]
    list_select_related = ["customer", "requested_by", "decided_by"]

    def get_queryset(self, request):
        return selectors.termination_list(actor=request.user)

    # Those who decide see the list; everyone sees a request on its customer's page.
    def has_module_permission(self, request):
        return access.can(request.user, "customer.terminate_approve")

    def has_view_permission(self, request, obj=None):
        return access.can(request.user, "customer.terminate_approve")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/change/",
                wrap(termination_views.termination_page),
                {"model_admin": self},
                name="customers_terminationrequest_change",
            ),
            path(
                "<path:object_id>/decide/",
                wrap(termination_views.termination_decide),
                {"model_admin": self},
                name="customers_terminationrequest_decide",
            ),
            *super().get_urls(),
        ]

    @display(description=_("customer"), header=True, ordering="customer__name")
    def customer_display(self, obj):
        return [obj.customer.name, f"#{obj.customer_id}"]

    @display(description=_("status"), label=STATUS_VARIANTS, ordering="status")
    def status_display(self, obj):
        return obj.status, obj.get_status_display()

    @display(description=_("reason"))
    def reason_display(self, obj):
        url = reverse("admin:customers_customer_360", args=[obj.customer_id]) + "#termination"
        return format_html(
            '<a class="gx-link" href="{}">{}</a>', url, Truncator(obj.reason).chars(80)
        )

    @display(description=_("requested at"), ordering="requested_at")
    def requested(self, obj):
        return _when(obj.requested_at)

    @display(description=_("decided"), ordering="decided_at")
    def decided(self, obj):
        return _when(obj.decided_at)
