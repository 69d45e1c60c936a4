"""Staff UI of the loyalty program: the program page (settings, tiers, earning-rule versions),
each rules version (rules in words, the draft editor, publish), the reward catalogue, the
members you may see, the member actions of the 360° page and the analytics page
(loyalty.views, loyalty.views_analytics)."""

from django.contrib import admin
from django.db.models import Count
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from unfold.decorators import display

from guanxi.accounts import access
from guanxi.accounts.admin import GuanxiModelAdmin

from . import selectors, services
from .forms import RewardForm
from .models import LoyaltyProgram, Member, Reward, RuleVersion
from .views import backtest, members, program, versions, words

KIND_LABELS = {"gift": "success", "coupon": "info", "discount": "warning"}


def analytics(request, model_admin):
    """The program's analytics page (loyalty.views_analytics), imported when asked for, so
    these pages work before that module exists."""
    try:
        from .views_analytics import analytics_page
    except ModuleNotFoundError as e:
        if e.name != f"{__package__}.views_analytics":
            raise
        raise Http404 from None
    return analytics_page(request, model_admin)


class _PageAdmin(GuanxiModelAdmin):
    """A model whose list is a page of its own."""

    page = None

    def changelist_view(self, request, extra_context=None):
        return self.page(request, model_admin=self)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:loyalty_loyaltyprogram_changelist"))


@admin.register(LoyaltyProgram)
class LoyaltyProgramAdmin(_PageAdmin):
    page = staticmethod(program.program_page)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        info = {"model_admin": self}
        return [
            path("tiers/add/", wrap(program.tier_edit), info, name="loyalty_tier_add"),
            path("tiers/<int:tier_id>/", wrap(program.tier_edit), info, name="loyalty_tier_change"),
            *super().get_urls(),
        ]


@admin.register(RuleVersion)
class RuleVersionAdmin(_PageAdmin):
    def changelist_view(self, request, extra_context=None):
        return HttpResponseRedirect(
            reverse("admin:loyalty_loyaltyprogram_changelist") + "#versions"
        )

    def get_queryset(self, request):
        return selectors.versions()

    def get_urls(self):
        wrap = self.admin_site.admin_view
        info = {"model_admin": self}
        return [
            path("new/", wrap(program.version_new), info, name="loyalty_ruleversion_new"),
            path(
                "<int:object_id>/backtest/",
                wrap(backtest.backtest_page),
                info,
                name="loyalty_backtest",
            ),
            path(
                "<int:object_id>/<str:action>/do/",
                wrap(versions.version_action),
                info,
                name="loyalty_ruleversion_action",
            ),
            path(
                "<path:object_id>/change/",
                wrap(versions.version_page),
                info,
                name="loyalty_ruleversion_change",
            ),
            *super().get_urls(),
        ]


@admin.register(Reward)
class RewardAdmin(GuanxiModelAdmin):
    form = RewardForm
    list_display = ["name_display", "kind_display", "points_display", "stock_display",
                    "min_tier", "window", "is_active", "redemptions"]  # fmt: skip
    list_filter = ["kind", "is_active", "min_tier"]
    search_fields = ["name", "name_en", "description"]
    fieldsets = [
        (None, {"fields": ["name", "name_en", "description", "kind"]}),
        (_("Price and stock"), {"fields": ["points", "value", "stock", "coupon_days"]}),
        (_("Who and when"), {"fields": ["min_tier", "valid_from", "valid_until", "is_active"]}),
    ]

    def get_queryset(self, request):
        return selectors.reward_list().annotate(redemption_count=Count("redemptions"))

    def has_add_permission(self, request, *args):
        return access.can(request.user, "loyalty.manage")

    def has_change_permission(self, request, obj=None):
        return access.can(request.user, "loyalty.manage")

    def service_save(self, request, form, formsets, *, change):
        data = form.service_data()
        if change:
            return services.reward_update(actor=request.user, reward=form.instance, data=data)
        return services.reward_create(actor=request.user, data=data)

    @display(description=_("name"), header=True, ordering="name")
    def name_display(self, obj):
        return [obj.label, obj.description[:80], obj.label[:1].upper()]

    @display(description=_("kind"), label=KIND_LABELS, ordering="kind")
    def kind_display(self, obj):
        return obj.kind, obj.get_kind_display()

    @display(description=_("points"), ordering="points")
    def points_display(self, obj):
        return f"{obj.points:,}"

    @display(description=_("stock"), ordering="stock")
    def stock_display(self, obj):
        return gettext("unlimited") if obj.stock is None else f"{obj.stock:,}"

    @display(description=_("available"))
    def window(self, obj):
        start = timezone.localtime(obj.valid_from).strftime("%Y-%m-%d") if obj.valid_from else ""
        end = timezone.localtime(obj.valid_until).strftime("%Y-%m-%d") if obj.valid_until else ""
        if not start and not end:
            return gettext("always")
        return f"{start or '…'} – {end or '…'}"

    @display(description=_("redemptions"), ordering="redemption_count")
    def redemptions(self, obj):
        return f"{obj.redemption_count:,}"


@admin.register(Member)
class MemberAdmin(GuanxiModelAdmin):
    list_display = ["customer_link", "tier_display", "balance_display", "earned", "redeemed",
                    "expired", "joined", "referral_code"]  # fmt: skip
    list_display_links = None
    list_filter = ["tier"]
    search_fields = ["customer__name", "referral_code"]

    def get_queryset(self, request):
        return selectors.member_list(actor=request.user)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        info = {"model_admin": self}
        return [
            path("analytics/", wrap(analytics), info, name="loyalty_analytics"),
            path(
                "customer/<int:customer_id>/<str:action>/",
                wrap(members.member_action),
                info,
                name="loyalty_member_action",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """A member's page is their customer's 360° page."""
        member = self.get_object(request, object_id)
        if member is None:
            raise Http404(gettext("Not found."))
        url = reverse("admin:customers_customer_360", args=[member.customer_id])
        return HttpResponseRedirect(url + "#loyalty")

    @display(description=_("customer"), ordering="customer__name")
    def customer_link(self, obj):
        url = reverse("admin:customers_customer_360", args=[obj.customer_id])
        return format_html('<a class="gx-link" href="{}#loyalty">{}</a>', url, obj.customer.name)

    @display(description=pgettext_lazy("loyalty", "tier"), ordering="tier__rank")
    def tier_display(self, obj):
        if obj.tier is None:
            return "—"
        return format_html(
            '<span style="display:inline-block;width:10px;height:10px;border-radius:3px;'
            'margin-right:6px;vertical-align:middle;background:{}"></span>{}',
            words.colour(obj.tier.color),
            obj.tier.label,
        )

    @display(description=_("balance"), ordering="balance")
    def balance_display(self, obj):
        return f"{obj.balance:,}"

    @display(description=_("earned"), ordering="earned_total")
    def earned(self, obj):
        return f"{obj.earned_total:,}"

    @display(description=_("redeemed"), ordering="redeemed_total")
    def redeemed(self, obj):
        return f"{obj.redeemed_total:,}"

    @display(description=_("expired"), ordering="expired_total")
    def expired(self, obj):
        return f"{obj.expired_total:,}"

    @display(description=_("joined"), ordering="joined_at")
    def joined(self, obj):
        return timezone.localtime(obj.joined_at).strftime("%Y-%m-%d")
