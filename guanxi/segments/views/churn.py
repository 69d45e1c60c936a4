"""The churn early warning: customers at risk with their reasons, most value at risk first;
the win-back rate per month; the lifecycle settings (admins)."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.core.charts import chart_data, chart_options, money
from guanxi.core.errors import GuanxiError

from .. import selectors
from ..choices import ChurnStatus
from ..models import LifecycleSettings
from ..services import lifecycle
from .common import context

PER_PAGE = 50
STATUSES = [
    "active",
    ChurnStatus.OPEN,
    ChurnStatus.LAPSED,
    ChurnStatus.WON_BACK,
    ChurnStatus.CLOSED,
]


def _status_label(value: str) -> str:
    return _("At risk or churned") if value == "active" else str(ChurnStatus(value).label)


def churn_list(request, model_admin):
    """At-risk customers the viewer may see, with why, sorted by value at risk."""
    actor = request.user
    if access.role_of(actor) is None:
        raise Http404
    status = request.GET.get("status") or "active"
    if status not in STATUSES:
        status = "active"
    owner = request.GET.get("owner")
    owner_id = actor.pk if owner == "me" else None
    cases = selectors.churn_cases(actor=actor, status=status, owner_id=owner_id)
    page = Paginator(cases, PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        {
            "case": c,
            "reasons": [lifecycle.reason_text(r) for r in c.reasons],
            "value": money(c.value_at_risk),
        }
        for c in page
    ]
    months = selectors.winback_months(actor=actor)
    chart = chart_data(
        [m["month"] for m in months],
        [
            {"type": "bar", "label": _("Won back"), "data": [m["won_back"] for m in months],
             "backgroundColor": "#14b8a6", "yAxisID": "y", "order": 2},
            {"type": "line", "label": _("Win-back rate (%)"),
             "data": [round(m["rate"] * 100, 1) if m["rate"] is not None else None
                      for m in months],
             "borderColor": "#0f172a", "backgroundColor": "#0f172a", "yAxisID": "y1",
             "fill": False, "order": 1},
        ],
    )  # fmt: skip
    totals = selectors.churn_totals(actor=actor)
    last = next((m for m in reversed(months[:-1]) if m["rate"] is not None), None)
    cards = [
        {"title": _("At risk or churned"), "value": f"{totals['open']:,}", "icon": "warning"},
        {"title": _("Value at risk"), "value": money(totals["value_at_risk"]), "icon": "payments"},
        {"title": _("Won back this month"), "value": f"{months[-1]['won_back']:,}",
         "icon": "restart_alt"},
        {"title": _("Win-back rate, last month"),
         "value": f"{last['rate'] * 100:.1f}%" if last else "—", "icon": "percent"},
    ]  # fmt: skip
    ctx = context(
        request,
        model_admin,
        title=_("Churn warnings"),
        rows=rows,
        page=page,
        status=status,
        statuses=[(s, _status_label(s)) for s in STATUSES],
        owner=owner or "",
        cards=cards,
        months=months,
        chart=chart,
        chart_options=chart_options(legend=True, second_axis=True, y_ticks=True),
        settings=LifecycleSettings.current(),
        may_configure=access.can(actor, "segment.configure"),
    )
    return TemplateResponse(request, "guanxi/segments/churn.html", ctx)


class LifecycleForm(forms.ModelForm):
    class Meta:
        model = LifecycleSettings
        fields = [
            "enabled", "at_risk_days", "at_risk_p_alive", "churned_days", "spend_drop",
            "alert_owner", "winback_task", "task_due_days",
        ]  # fmt: skip


def lifecycle_settings(request, model_admin):
    """When stages move by themselves and what a warning sets off (admins)."""
    if not access.can(request.user, "segment.configure"):
        raise Http404
    form = LifecycleForm(request.POST or None, instance=LifecycleSettings.current())
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.lifecycle_settings_update(
                actor=request.user, data={k: form.cleaned_data[k] for k in form.fields}
            )
        except GuanxiError as e:
            for field, errors in e.errors.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, _("Saved. The next daily run uses these rules."))
            return HttpResponseRedirect(reverse("admin:segments_churncase_changelist"))
    ctx = context(request, model_admin, title=_("Lifecycle rules"), form=form,
                  back=reverse("admin:segments_churncase_changelist"))  # fmt: skip
    return TemplateResponse(request, "guanxi/segments/settings.html", ctx)
