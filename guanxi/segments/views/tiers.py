"""Value tiers: the tiers and how many customers each holds, the Pareto view, the settings
(admins), "evaluate now", and each evaluation's report of who moved and why."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.core.charts import chart_data, chart_options, money
from guanxi.core.errors import GuanxiError, NotFound

from .. import selectors
from ..choices import EvaluationKind
from ..models import Tier, TierSettings
from ..services import tiers as tier_services
from .common import context, error_messages

TIER_COLOURS = ["#f59e0b", "#14b8a6", "#9ca3af", "#6366f1", "#0ea5e9", "#f87171"]


class TierSettingsForm(forms.ModelForm):
    class Meta:
        model = TierSettings
        fields = ["metric", "method", "monthly", "rise_share"]


class TierForm(forms.ModelForm):
    class Meta:
        model = Tier
        fields = ["name", "name_en", "rank", "min_value", "top_share", "color", "benefits"]


def tiers_page(request, model_admin):
    actor = request.user
    if access.role_of(actor) is None:
        raise Http404
    may_configure = access.can(actor, "segment.configure")
    settings_form = TierSettingsForm(
        request.POST if request.POST.get("form") == "settings" else None,
        instance=TierSettings.current(),
    )
    posted = request.method == "POST" and request.POST.get("form") == "settings"
    if posted and may_configure and settings_form.is_valid():
        try:
            tier_services.tier_settings_update(
                actor=actor,
                data={k: settings_form.cleaned_data[k] for k in settings_form.fields},
            )
        except GuanxiError as e:
            error_messages(request, e)
        else:
            messages.success(request, _("Saved. The next evaluation uses these settings."))
            return HttpResponseRedirect(reverse("admin:segments_tierevaluation_changelist"))
    distribution = selectors.tier_distribution(actor=actor)
    dist_chart = chart_data(
        [d["tier"].label for d in distribution],
        [{"label": _("Customers"), "data": [d["members"] for d in distribution],
          "backgroundColor": TIER_COLOURS[: len(distribution)]}],
    )  # fmt: skip
    from guanxi.analytics.selectors import pareto

    curve = pareto(actor=actor)
    pareto_chart = chart_data(
        [f"{round(p['customers'] * 100)}%" for p in curve["curve"]],
        [{"label": _("Share of revenue (%)"),
          "data": [round(p["revenue"] * 100, 2) for p in curve["curve"]],
          "borderColor": "var(--color-primary-600)", "backgroundColor": "rgba(79, 70, 229, 0.1)",
          "fill": True, "pointRadius": 0}],
    )  # fmt: skip
    evaluations = list(
        selectors.tier_evaluations(kinds=[EvaluationKind.MONTHLY, EvaluationKind.MANUAL])[:12]
    )
    latest = evaluations[0] if evaluations else None
    settings = TierSettings.current()
    rows = []
    for i, d in enumerate(distribution):
        t = d["tier"]
        cut = latest.cuts.get(str(t.pk)) if latest else None
        if i == len(distribution) - 1:
            rule = _("everyone else")
        elif settings.method == "percentile":
            rule = _("the next top %(p)s%% of buyers") % {"p": f"{(t.top_share or 0) * 100:g}"}
        else:
            rule = f"≥ {money(t.min_value)}"
        rows.append(
            {
                **d,
                "rule": rule,
                "share_pct": f"{d['share'] * 100:.1f}%",
                "cut": money(cut) if cut is not None else "—",
                "link": reverse("admin:customers_customer_changelist") + f"?tier={t.pk}",
            }
        )
    ctx = context(
        request,
        model_admin,
        title=_("Value tiers"),
        rows=rows,
        dist_chart=dist_chart,
        pareto=curve,
        pareto_chart=pareto_chart,
        chart_options=chart_options(y_ticks=True),
        evaluations=evaluations,
        spend_rises=selectors.tier_evaluations(kinds=[EvaluationKind.SPEND_RISE]).count(),
        settings=settings,
        rise_pct=f"{settings.rise_share * 100:g}" if settings.rise_share else None,
        top_20=f"{curve['top_20_share'] * 100:.0f}%" if curve["top_20_share"] is not None else None,
        settings_form=settings_form,
        may_configure=may_configure,
        may_evaluate=access.can(actor, "segment.manage"),
    )
    return TemplateResponse(request, "guanxi/segments/tiers.html", ctx)


def tiers_evaluate(request, model_admin):
    """POST: sort every customer into a tier now."""
    if request.method == "POST":
        try:
            evaluation = tier_services.tiers_evaluate(actor=request.user)
        except GuanxiError as e:
            error_messages(request, e)
        else:
            messages.success(
                request,
                _("%(n)s customers evaluated: %(moved)s moved (%(up)s up, %(down)s down).")
                % {"n": f"{evaluation.customers:,}", "moved": evaluation.moved,
                   "up": evaluation.up, "down": evaluation.down},
            )  # fmt: skip
            return HttpResponseRedirect(
                reverse("admin:segments_tierevaluation_change", args=[evaluation.pk])
            )
    return HttpResponseRedirect(reverse("admin:segments_tierevaluation_changelist"))


def evaluation_page(request, object_id, model_admin):
    """Who moved between tiers in one evaluation, and why (customers the viewer may see)."""
    try:
        evaluation = selectors.tier_evaluation_get(actor=request.user, evaluation_id=object_id)
    except NotFound:
        raise Http404 from None
    tiers = {t.pk: t for t in selectors.tier_list()}
    summary = [
        {
            "from": tiers[s["from"]].label if s["from"] in tiers else "—",
            "to": tiers[s["to"]].label if s["to"] in tiers else "—",
            "count": s["count"],
        }
        for s in evaluation.summary
    ]
    moves = selectors.tier_moves(actor=request.user, evaluation=evaluation)
    page = Paginator(moves, 100).get_page(request.GET.get("page"))
    ctx = context(
        request,
        model_admin,
        title=_("Tier evaluation %(day)s") % {"day": evaluation.at.strftime("%Y-%m-%d %H:%M")},
        evaluation=evaluation,
        summary=summary,
        page=page,
        cuts=[(tiers[int(k)].label, money(v)) for k, v in evaluation.cuts.items()
              if int(k) in tiers and v is not None],
    )  # fmt: skip
    return TemplateResponse(request, "guanxi/segments/evaluation.html", ctx)


def tier_edit(request, model_admin, tier_id=None):
    """Create or change a tier (admins)."""
    if not access.can(request.user, "segment.configure"):
        raise Http404
    tier = Tier.objects.filter(pk=tier_id).first() if tier_id else None
    if tier_id and tier is None:
        raise Http404
    form = TierForm(request.POST or None, instance=tier)
    if request.method == "POST" and request.POST.get("delete") and tier is not None:
        try:
            tier_services.tier_delete(actor=request.user, tier=tier)
        except GuanxiError as e:
            error_messages(request, e)
        else:
            messages.success(request, _("Tier deleted."))
        return HttpResponseRedirect(reverse("admin:segments_tierevaluation_changelist"))
    if request.method == "POST" and form.is_valid():
        try:
            tier_services.tier_save(
                actor=request.user, tier=tier, data={k: form.cleaned_data[k] for k in form.fields}
            )
        except GuanxiError as e:
            for field, errors in e.errors.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, _("Saved. The next evaluation uses it."))
            return HttpResponseRedirect(reverse("admin:segments_tierevaluation_changelist"))
    ctx = context(
        request,
        model_admin,
        title=_("Tier") if tier else _("New tier"),
        form=form,
        back=reverse("admin:segments_tierevaluation_changelist"),
        tier=tier,
    )
    return TemplateResponse(request, "guanxi/segments/tier.html", ctx)
