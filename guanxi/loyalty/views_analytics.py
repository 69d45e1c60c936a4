"""The loyalty program's analytics page for staff: members and participation, points per
month, the points outstanding, rewards by redemption rate, tiers and referrals. The figures
come from `reports.py`, scoped to the viewer; this module only shapes them for the page."""

import json

from django.http import Http404
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from guanxi.accounts import access
from guanxi.core.charts import chart_data, chart_options, money

from . import reports
from .choices import TierMoveKind
from .models import LoyaltyProgram

POINT_COLOURS = {"issued": "#14b8a6", "redeemed": "#6366f1", "expired": "#f87171"}
MOVE_COLOURS = {
    TierMoveKind.JOINED: "#9ca3af",
    TierMoveKind.UPGRADE: "#14b8a6",
    TierMoveKind.DOWNGRADE: "#f87171",
    TierMoveKind.GRACE: "#f59e0b",
}
FUNNEL_COLOURS = ["#a5b4fc", "#6366f1", "#4338ca"]


def _percent(share) -> str:
    return f"{share * 100:.1f}%" if share is not None else "—"


def _stacked(options: str) -> str:
    parsed = json.loads(options)
    parsed["scales"]["x"]["stacked"] = True
    parsed["scales"]["y"]["stacked"] = True
    return json.dumps(parsed)


def analytics_page(request, model_admin):
    """The program's figures for the members the viewer may see (any staff role)."""
    actor = request.user
    if access.role_of(actor) is None:
        raise Http404
    data = reports.overview(actor=actor)
    share = data["participation"]
    owed = data["liability"]
    funnel = data["funnel"]
    month_labels = [m["month"].strftime("%Y-%m") for m in data["points"]]
    points_chart = chart_data(
        month_labels,
        [
            {"label": _("Issued"), "data": [m["issued"] for m in data["points"]],
             "backgroundColor": POINT_COLOURS["issued"]},
            {"label": _("Redeemed"), "data": [m["redeemed"] for m in data["points"]],
             "backgroundColor": POINT_COLOURS["redeemed"]},
            {"label": _("Expired"), "data": [m["expired"] for m in data["points"]],
             "backgroundColor": POINT_COLOURS["expired"]},
        ],
    )  # fmt: skip
    tiers = data["tiers"]
    tier_chart = chart_data(
        [t["tier"].label if t["tier"] else _("No tier") for t in tiers],
        [{"label": pgettext("loyalty", "Members"), "data": [t["members"] for t in tiers],
          "backgroundColor": [t["tier"].color if t["tier"] else "#d1d5db" for t in tiers]}],
    )  # fmt: skip
    moves_chart = chart_data(
        [m["month"].strftime("%Y-%m") for m in data["tier_moves"]],
        [
            {"label": str(kind.label), "data": [m[kind.value] for m in data["tier_moves"]],
             "backgroundColor": MOVE_COLOURS[kind]}
            for kind in TierMoveKind
        ],
    )  # fmt: skip
    funnel_chart = chart_data(
        [_("Signed up"), _("Placed an order"), _("Converted")],
        [{"label": _("Referrals"),
          "data": [funnel["signed_up"], funnel["ordered"], funnel["converted"]],
          "backgroundColor": FUNNEL_COLOURS}],
    )  # fmt: skip
    cards = [
        {"title": pgettext("loyalty", "Members"), "value": f"{share['members']:,}",
         "icon": "card_membership",
         "note": _("of %(n)s customers") % {"n": f"{share['customers']:,}"}},
        {"title": _("Participation rate"), "value": _percent(share["participation"]),
         "icon": "percent", "note": _("members / customers")},
        {"title": _("Active members"), "value": f"{share['active']:,}", "icon": "bolt",
         "note": _("a ledger entry in the last %(n)s days (%(share)s)")
         % {"n": share["active_days"], "share": _percent(share["active_rate"])}},
        {"title": _("Points outstanding"), "value": f"{owed['points']:,}", "icon": "savings",
         "note": _("held by %(n)s members") % {"n": f"{owed['holders']:,}"}},
        {"title": _("Liability (¥)"), "value": money(owed["yuan"]), "icon": "account_balance",
         "note": (_("at ¥%(v)s a point, the lowest coupon's value")
                  % {"v": f"{owed['point_value']:.4f}".rstrip("0").rstrip(".")})
         if owed["point_value"] is not None
         else _("no coupon gives points a value: points only")},
        {"title": _("Referral success rate"), "value": _percent(funnel["success_rate"]),
         "icon": "share",
         "note": _("%(c)s of %(n)s referrals converted") % {"c": funnel["converted"],
                                                         "n": funnel["signed_up"]}},
    ]  # fmt: skip
    rewards = [{**r, "rate_text": _percent(r["rate"])} for r in data["rewards"]]
    tier_rows = [
        {**t, "label": t["tier"].label if t["tier"] else _("No tier"),
         "share_text": _percent(t["share"])}
        for t in tiers
    ]  # fmt: skip
    request.current_app = model_admin.admin_site.name
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": _("Loyalty analytics"),
        "program": LoyaltyProgram.current(),
        "months": data["months"],
        "cards": cards,
        "legend_options": chart_options(legend=True, y_ticks=True),
        "stacked_options": _stacked(chart_options(legend=True, y_ticks=True)),
        "chart_options": chart_options(y_ticks=True),
        "points_chart": points_chart,
        "tier_chart": tier_chart,
        "moves_chart": moves_chart,
        "funnel_chart": funnel_chart,
        "funnel": funnel,
        "rewards": rewards,
        "tier_rows": tier_rows,
        "replace_below": f"{reports.REPLACE_BELOW * 100:.0f}%",
    }
    return TemplateResponse(request, "guanxi/loyalty/analytics.html", context)
