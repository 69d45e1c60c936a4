"""Channel events in the staff UI: a read-only list, scoped like everything of a customer."""

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.decorators import display

from guanxi.accounts.admin import GuanxiModelAdmin

from . import selectors
from .choices import EventKind
from .models import CustomerEvent


@admin.register(CustomerEvent)
class CustomerEventAdmin(GuanxiModelAdmin):
    list_display = ["when", "customer_link", "channel", "kind_display", "summary"]
    list_filter = ["channel", "kind"]
    list_select_related = ["customer"]

    def get_queryset(self, request):
        return selectors.event_list(actor=request.user)

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @display(description=_("time"), ordering="occurred_at")
    def when(self, obj):
        return timezone.localtime(obj.occurred_at).strftime("%Y-%m-%d %H:%M")

    @display(description=_("customer"))
    def customer_link(self, obj):
        from django.urls import reverse

        url = reverse("admin:customers_customer_360", args=[obj.customer_id])
        return format_html('<a class="gx-link" href="{}">{}</a>', url, obj.customer)

    @display(description=_("event"))
    def kind_display(self, obj):
        try:
            return EventKind(obj.kind).label
        except ValueError:
            return obj.kind

    @display(description=_("details"))
    def summary(self, obj):
        for key in ("title", "subject", "page", "url", "store", "product", "text"):
            if isinstance(obj.payload.get(key), str):
                return obj.payload[key][:80]
        return "—"
