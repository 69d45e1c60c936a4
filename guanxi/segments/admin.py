"""Staff UI of the segments app: the list of segments and behaviour tags (each with its page
and rule editor), churn warnings, value tiers and clusters (segments.views)."""

from django.contrib import admin
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from unfold.decorators import display

from guanxi.accounts import access
from guanxi.accounts.admin import GuanxiModelAdmin

from . import definition as rules
from . import selectors
from .models import ChurnCase, ClusterRun, Segment, TierEvaluation
from .views import churn, clusters, segments, tiers


@admin.register(Segment)
class SegmentAdmin(GuanxiModelAdmin):
    list_display = ["name_display", "purpose_display", "members", "refreshed", "rule"]
    list_filter = ["purpose", "kind", "is_active"]
    search_fields = ["name", "name_en", "description"]

    def get_queryset(self, request):
        return selectors.segment_list(actor=request.user, with_counts=True)

    def has_add_permission(self, request, *args):
        return access.can(request.user, "segment.manage")

    def get_urls(self):
        wrap = self.admin_site.admin_view
        info = {"model_admin": self}
        return [
            path("add/", wrap(segments.segment_edit), info, name="segments_segment_add"),
            path(
                "<int:object_id>/edit/",
                wrap(segments.segment_edit),
                info,
                name="segments_segment_edit",
            ),
            path(
                "<int:object_id>/<str:action>/do/",
                wrap(segments.segment_action),
                info,
                name="segments_segment_action",
            ),
            path(
                "<path:object_id>/change/",
                wrap(segments.segment_page),
                info,
                name="segments_segment_change",
            ),
            *super().get_urls(),
        ]

    @display(description=_("name"), header=True, ordering="name")
    def name_display(self, obj):
        return [obj.label, obj.description_text[:80], obj.label[:1].upper()]

    @display(
        description=_("kind"), label={"tag": "info", "dynamic": "success", "static": "default"}
    )
    def purpose_display(self, obj):
        if obj.purpose == "tag":
            return "tag", _("Behaviour tag")
        return obj.kind, obj.get_kind_display().split(" (")[0]

    @display(description=_("members"))
    def members(self, obj):
        return f"{obj.visible_members:,}"

    @display(description=_("refreshed"))
    def refreshed(self, obj):
        return obj.refreshed_at.strftime("%Y-%m-%d %H:%M") if obj.refreshed_at else "—"

    @display(description=_("rules"))
    def rule(self, obj):
        return rules.describe(obj.definition)[:160] if obj.is_dynamic else "—"


class _PageAdmin(GuanxiModelAdmin):
    """A model whose list is a page of its own (the model's rows are shown there)."""

    page = None

    def changelist_view(self, request, extra_context=None):
        return self.page(request, model_admin=self)


@admin.register(ChurnCase)
class ChurnCaseAdmin(_PageAdmin):
    page = staticmethod(churn.churn_list)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        info = {"model_admin": self}
        return [
            path(
                "settings/",
                wrap(churn.lifecycle_settings),
                info,
                name="segments_lifecycle_settings",
            ),
            *super().get_urls(),
        ]

    def get_queryset(self, request):
        return selectors.churn_cases(actor=request.user)


@admin.register(TierEvaluation)
class TierEvaluationAdmin(_PageAdmin):
    page = staticmethod(tiers.tiers_page)

    def get_queryset(self, request):
        return selectors.tier_evaluations()

    def get_urls(self):
        wrap = self.admin_site.admin_view
        info = {"model_admin": self}
        return [
            path("evaluate/", wrap(tiers.tiers_evaluate), info, name="segments_tiers_evaluate"),
            path("tiers/add/", wrap(tiers.tier_edit), info, name="segments_tier_add"),
            path(
                "tiers/<int:tier_id>/",
                wrap(tiers.tier_edit),
                info,
                name="segments_tier_change",
            ),
            path(
                "<path:object_id>/change/",
                wrap(tiers.evaluation_page),
                info,
                name="segments_tierevaluation_change",
            ),
            *super().get_urls(),
        ]


@admin.register(ClusterRun)
class ClusterRunAdmin(_PageAdmin):
    page = staticmethod(clusters.clusters_page)

    def get_queryset(self, request):
        return selectors.cluster_runs()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        from django.http import HttpResponseRedirect

        return HttpResponseRedirect(reverse("admin:segments_clusterrun_changelist"))
