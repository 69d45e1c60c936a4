"""Staff UI for possible duplicates (the review queue) and merges (with undo); the pages
themselves are customers.merge_views."""

from django.contrib import admin
from django.urls import path
from django.utils.translation import gettext_lazy as _
from unfold.decorators import display

from guanxi.accounts import access
from guanxi.accounts.admin import GuanxiModelAdmin

from . import merge_views, selectors
from .models import CustomerMerge, DuplicateReview


@admin.register(DuplicateReview)
class DuplicateReviewAdmin(GuanxiModelAdmin):
    list_display = ["pair", "probability", "source", "status", "found"]
    list_filter = ["status", "source"]
    list_select_related = ["customer", "other"]

    def get_queryset(self, request):
        status = request.GET.get("status__exact")
        return selectors.review_list(actor=request.user, status=None if status else "open")

    def has_module_permission(self, request):
        return access.can(request.user, "customer.merge")

    def has_view_permission(self, request, obj=None):
        return access.can(request.user, "customer.merge")

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/change/",
                wrap(merge_views.review_page),
                {"model_admin": self},
                name="customers_duplicatereview_change",
            ),  # fmt: skip
            *super().get_urls(),
        ]

    @display(description=_("customers"), header=True)
    def pair(self, obj):
        return [f"{obj.customer.name} · {obj.other.name}", f"#{obj.customer_id} · #{obj.other_id}"]

    @display(description=_("match probability"), ordering="score")
    def probability(self, obj):
        return f"{obj.score:.0%}"

    @display(description=_("found"), ordering="created_at")
    def found(self, obj):
        from django.utils import timezone

        return timezone.localtime(obj.created_at).strftime("%Y-%m-%d %H:%M")


@admin.register(CustomerMerge)
class CustomerMergeAdmin(GuanxiModelAdmin):
    list_display = ["merged", "survivor", "actor", "at", "undone_at"]
    list_select_related = ["survivor", "actor"]

    def get_queryset(self, request):
        return selectors.merge_list(actor=request.user)

    def has_module_permission(self, request):
        return access.can(request.user, "customer.merge")

    def has_view_permission(self, request, obj=None):
        return access.can(request.user, "customer.merge")

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/change/",
                wrap(merge_views.merge_page),
                {"model_admin": self},
                name="customers_customermerge_change",
            ),  # fmt: skip
            *super().get_urls(),
        ]

    @display(description=_("merged customer"), header=True)
    def merged(self, obj):
        return [obj.merged_name, f"#{obj.merged_id}"]
