"""The staff sidebar: what each role finds and in which order."""

from django.urls import reverse, reverse_lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from guanxi.accounts import access


def _is_admin(request):
    return access.is_admin(request.user)


def _may_import(request):
    return access.can(request.user, "import.run")


def _may_merge(request):
    return access.can(request.user, "customer.merge")


def _may_decide_terminations(request):
    return access.can(request.user, "customer.terminate_approve")


def _on_program_pages(request):
    # The rules versions' pages belong with the program page.
    return request.path.startswith(
        (reverse("admin:loyalty_loyaltyprogram_changelist"),
         reverse("admin:loyalty_ruleversion_changelist"))
    )  # fmt: skip


def _on_member_pages(request):
    # The analytics page's address is under the members' (unfold matches by prefix).
    return request.path.startswith(
        reverse("admin:loyalty_member_changelist")
    ) and not request.path.startswith(reverse("admin:loyalty_analytics"))


def sidebar_navigation(request):
    return [
        {
            "title": _("Work"),
            "items": [
                {"title": _("Dashboard"), "icon": "dashboard", "link": reverse_lazy("admin:index")},
                {
                    "title": _("Notifications"),
                    "icon": "notifications",
                    "link": reverse_lazy("admin:notifications_notification_changelist"),
                    "badge": "guanxi.notifications.views.sidebar_badge",
                },
                {
                    "title": _("Customers"),
                    "icon": "groups",
                    "link": reverse_lazy("admin:customers_customer_changelist"),
                },
                {
                    "title": _("Companies & contacts"),
                    "icon": "apartment",
                    "link": reverse_lazy("admin:customers_contact_changelist"),
                },
                {
                    "title": _("Interactions"),
                    "icon": "forum",
                    "link": reverse_lazy("admin:interactions_interaction_changelist"),
                },
                {
                    "title": _("Orders"),
                    "icon": "receipt_long",
                    "link": reverse_lazy("admin:orders_order_changelist"),
                },
                {
                    "title": _("Customer value"),
                    "icon": "insights",
                    "link": reverse_lazy("admin:analytics_value_dashboard"),
                },
                {
                    "title": _("Tasks"),
                    "icon": "task_alt",
                    "link": reverse_lazy("admin:interactions_task_changelist"),
                },
                {
                    "title": _("Ending relationships"),
                    "icon": "block",
                    "link": format_lazy(
                        "{}?status__exact=pending",
                        reverse_lazy("admin:customers_terminationrequest_changelist"),
                    ),
                    "permission": _may_decide_terminations,
                },
            ],
        },
        {
            "title": _("Segmentation"),
            "items": [
                {
                    "title": _("Segments & tags"),
                    "icon": "category",
                    "link": reverse_lazy("admin:segments_segment_changelist"),
                },
                {
                    "title": _("Churn warnings"),
                    "icon": "warning",
                    "link": reverse_lazy("admin:segments_churncase_changelist"),
                },
                {
                    "title": _("Value tiers"),
                    "icon": "workspace_premium",
                    "link": reverse_lazy("admin:segments_tierevaluation_changelist"),
                },
                {
                    "title": _("Clusters"),
                    "icon": "bubble_chart",
                    "link": reverse_lazy("admin:segments_clusterrun_changelist"),
                },
            ],
        },
        {
            "title": _("Loyalty"),
            "items": [
                {
                    "title": _("Loyalty program"),
                    "icon": "loyalty",
                    "link": reverse_lazy("admin:loyalty_loyaltyprogram_changelist"),
                    "active": _on_program_pages,
                },
                {
                    "title": pgettext_lazy("loyalty", "Members"),
                    "icon": "card_membership",
                    "link": reverse_lazy("admin:loyalty_member_changelist"),
                    "active": _on_member_pages,
                },
                {
                    "title": _("Rewards"),
                    "icon": "redeem",
                    "link": reverse_lazy("admin:loyalty_reward_changelist"),
                },
                {
                    "title": _("Program analytics"),
                    "icon": "monitoring",
                    "link": reverse_lazy("admin:loyalty_analytics"),
                },
            ],
        },
        {
            "title": _("Data"),
            "items": [
                {
                    "title": _("Imports"),
                    "icon": "upload_file",
                    "link": reverse_lazy("admin:imports_importjob_changelist"),
                    "permission": _may_import,
                },
                {
                    "title": _("Channel events"),
                    "icon": "hub",
                    "link": reverse_lazy("admin:events_customerevent_changelist"),
                },
                {
                    "title": _("Possible duplicates"),
                    "icon": "join",
                    "link": reverse_lazy("admin:customers_duplicatereview_changelist"),
                    "permission": _may_merge,
                },
                {
                    "title": _("Merges"),
                    "icon": "call_merge",
                    "link": reverse_lazy("admin:customers_customermerge_changelist"),
                    "permission": _may_merge,
                },
            ],
        },
        {
            "title": _("Settings"),
            "items": [
                {
                    "title": _("Users & roles"),
                    "icon": "manage_accounts",
                    "link": reverse_lazy("admin:accounts_user_changelist"),
                    "permission": _is_admin,
                },
                {
                    "title": _("Teams"),
                    "icon": "diversity_3",
                    "link": reverse_lazy("admin:accounts_team_changelist"),
                    "permission": _is_admin,
                },
                {
                    "title": _("Custom fields"),
                    "icon": "tune",
                    "link": reverse_lazy("admin:customers_customfielddefinition_changelist"),
                    "permission": _is_admin,
                },
                {
                    "title": _("Tags"),
                    "icon": "sell",
                    "link": reverse_lazy("admin:customers_tag_changelist"),
                },
                {
                    "title": _("Products"),
                    "icon": "inventory_2",
                    "link": reverse_lazy("admin:orders_product_changelist"),
                },
                {
                    "title": _("API tokens"),
                    "icon": "key",
                    "link": reverse_lazy("admin:accounts_apitoken_changelist"),
                },
                {
                    "title": _("Audit log"),
                    "icon": "history",
                    "link": reverse_lazy("admin:accounts_auditentry_changelist"),
                    "permission": _is_admin,
                },
                {
                    "title": _("API documentation"),
                    "icon": "api",
                    "link": reverse_lazy("api:openapi-view"),
                },
            ],
        },
    ]
