"""The rule backtest of a version: its rules (and tier thresholds given here) replayed over the
last N months of orders against the rules in force, before publishing."""

import json

from django import forms
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.accounts import access
from guanxi.core.charts import chart_data, chart_options
from guanxi.core.errors import GuanxiError

from ..models import LoyaltyTier
from ..services.backtest import MAX_MONTHS, backtest
from .common import context, error_messages
from .versions import _version


class BacktestForm(forms.Form):
    months = forms.IntegerField(label=gettext_lazy("Months of orders"), min_value=1,
                                max_value=MAX_MONTHS, initial=12)  # fmt: skip

    def __init__(self, *args, tiers, **kwargs):
        super().__init__(*args, **kwargs)
        for tier in tiers:
            self.fields[f"threshold_{tier.key}"] = forms.DecimalField(
                label=_("%(tier)s from") % {"tier": tier.label}, min_value=0, decimal_places=2,
                initial=tier.threshold, required=False,
            )  # fmt: skip


def backtest_page(request, object_id, model_admin):
    actor = request.user
    if not access.can(actor, "loyalty.manage"):
        raise Http404
    version = _version(object_id)
    tiers = list(LoyaltyTier.objects.order_by("rank"))
    form = BacktestForm(request.POST or None, tiers=tiers)
    result = charts = None
    if request.method == "POST" and form.is_valid():
        thresholds = {
            t.key: str(form.cleaned_data[f"threshold_{t.key}"])
            for t in tiers
            if form.cleaned_data.get(f"threshold_{t.key}") is not None
        }
        try:
            result = backtest(actor=actor, proposal={"version": version.pk,
                                                     "thresholds": thresholds},
                              months=form.cleaned_data["months"])  # fmt: skip
        except GuanxiError as e:
            error_messages(request, e)
    if result:
        labels = {t.key: t.label for t in tiers}
        result["tier_rows"] = [
            {"tier": labels[k], "current": result["current"]["tiers"][k],
             "proposed": result["proposed"]["tiers"][k]}
            for k in result["tier_keys"]
        ]  # fmt: skip
        charts = {
            "points": chart_data(result["month_labels"], [
                {"label": _("Current rules"), "data": result["current"]["per_month"],
                 "backgroundColor": "#9ca3af"},
                {"label": _("Proposed (version %(n)s)") % {"n": version.number},
                 "data": result["proposed"]["per_month"],
                 "backgroundColor": "var(--color-primary-600)"},
            ]),
            "tiers": chart_data([r["tier"] for r in result["tier_rows"]], [
                {"label": _("Current rules"), "data": [r["current"] for r in result["tier_rows"]],
                 "backgroundColor": "#9ca3af"},
                {"label": _("Proposed"), "data": [r["proposed"] for r in result["tier_rows"]],
                 "backgroundColor": "var(--color-primary-600)"},
            ]),
            "options": chart_options(legend=True, y_ticks=True),
        }  # fmt: skip
        share = result["difference"]["share"]
        result["share_percent"] = None if share is None else round(share * 100, 1)
    return TemplateResponse(request, "guanxi/loyalty/backtest.html", context(
        request, model_admin,
        title=_("Backtest of rules version %(n)s") % {"n": version.number},
        version=version, form=form, result=result, charts=charts,
        back=reverse("admin:loyalty_ruleversion_change", args=[version.pk]),
        raw=json.dumps(result, ensure_ascii=False) if result else "",
    ))  # fmt: skip
