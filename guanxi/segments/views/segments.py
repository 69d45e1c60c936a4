"""A segment's page (rules in words, members, who joined and left) and the rule editor."""

import datetime as dt
import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.core.errors import GuanxiError, NotFound

from .. import definition as rules
from .. import selectors, services
from ..choices import SegmentKind, SegmentPurpose
from .common import context, error_messages

MEMBERS_PER_PAGE = 50


def _segment(request, object_id):
    try:
        return selectors.segment_get(actor=request.user, segment_id=object_id)
    except NotFound:
        raise Http404 from None


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def segment_page(request, object_id, model_admin):
    """One segment: its rules in words, its members you may see, who joined and who left."""
    if access.role_of(request.user) is None:
        raise Http404
    segment = _segment(request, object_id)
    actor = request.user
    today = timezone.localdate()
    this_month = _month_start(today)
    last_month = _month_start(this_month - dt.timedelta(days=1))
    months = [
        {
            "label": _("This month"),
            **selectors.history_counts(actor=actor, segment=segment, since=this_month, until=today),
        },
        {
            "label": _("Last month"),
            **selectors.history_counts(
                actor=actor,
                segment=segment,
                since=last_month,
                until=this_month - dt.timedelta(days=1),
            ),
        },
    ]
    members = selectors.segment_members(actor=actor, segment=segment).select_related("owner")
    page = Paginator(members.order_by("-id"), MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
    recent = list(selectors.segment_history(actor=actor, segment=segment)[:MEMBERS_PER_PAGE])
    ctx = context(
        request,
        model_admin,
        title=segment.label,
        segment=segment,
        rule=rules.describe(segment.definition) if segment.is_dynamic else "",
        definition_json=json.dumps(segment.definition, ensure_ascii=False, indent=2),
        members_count=selectors.visible_member_count(actor=actor, segment=segment),
        page=page,
        months=months,
        recent=recent,
        may_manage=access.can(actor, "segment.manage"),
        customers_link=reverse("admin:customers_customer_changelist") + f"?in_segment={segment.pk}",
    )
    return TemplateResponse(request, "guanxi/segments/segment.html", ctx)


def _catalogue() -> list[dict]:
    """The fields for the editor, with the owners, teams and segments to choose from."""
    from guanxi.accounts.models import Team, User

    out = rules.field_catalogue()
    refs = {
        "owner": [
            [str(u.pk), f"{u.get_full_name() or u.username} ({u.username})"]
            for u in User.objects.filter(is_active=True).order_by("username")[:500]
        ],
        "team": [[str(t.pk), t.name] for t in Team.objects.order_by("name")],
        "segment": [[str(s.pk), s.label] for s in selectors.segment_list(actor=None)[:500]],
    }
    for f in out:
        if f["key"] in refs:
            f["choices"] = refs[f["key"]]
    return out


def segment_edit(request, model_admin, object_id=None):
    """The rule editor: conditions in nested groups, the live count while editing."""
    if not access.can(request.user, "segment.manage"):
        raise Http404
    segment = _segment(request, object_id) if object_id else None
    errors: dict[str, list[str]] = {}
    data = {
        "name": segment.name if segment else "",
        "name_en": segment.name_en if segment else "",
        "description": segment.description if segment else "",
        "description_en": segment.description_en if segment else "",
        "kind": segment.kind if segment else SegmentKind.DYNAMIC,
        "purpose": segment.purpose if segment else SegmentPurpose.SEGMENT,
        "definition": segment.definition if segment else {"all": []},
    }
    if request.method == "POST":
        data = {
            "name": request.POST.get("name", ""),
            "name_en": request.POST.get("name_en", ""),
            "description": request.POST.get("description", ""),
            "description_en": request.POST.get("description_en", ""),
            "kind": segment.kind if segment else request.POST.get("kind", SegmentKind.DYNAMIC),
            "purpose": request.POST.get("purpose", SegmentPurpose.SEGMENT),
        }
        raw = request.POST.get("definition", "")
        try:
            definition = json.loads(raw) if raw.strip() else {"all": []}
        except json.JSONDecodeError as e:
            errors["definition"] = [_("Not valid JSON: %(e)s.") % {"e": e.msg}]
            definition = None
        data["definition"] = definition if definition is not None else raw
        if not errors:
            payload = dict(data)
            if payload["kind"] == SegmentKind.STATIC:
                payload.pop("definition", None)
            try:
                if segment is None:
                    segment = services.segment_create(actor=request.user, data=payload)
                else:
                    payload.pop("kind")
                    segment = services.segment_update(
                        actor=request.user, segment=segment, data=payload
                    )
            except GuanxiError as e:
                errors = e.errors or {"__all__": [e.message]}
            else:
                members = selectors.visible_member_count(actor=request.user, segment=segment)
                messages.success(request, _("Saved: %(n)s members.") % {"n": f"{members:,}"})
                return HttpResponseRedirect(
                    reverse("admin:segments_segment_change", args=[segment.pk])
                )
    rule_errors = {k: v for k, v in errors.items() if k.startswith("definition")}
    ctx = context(
        request,
        model_admin,
        title=_("Edit segment") if segment else _("New segment"),
        segment=segment,
        data=data,
        definition_json=json.dumps(data["definition"], ensure_ascii=False)
        if not isinstance(data["definition"], str)
        else data["definition"],
        errors={k: v for k, v in errors.items() if not k.startswith("definition")},
        rule_errors=rule_errors,
        catalogue=_catalogue(),
        kinds=SegmentKind.choices,
        purposes=SegmentPurpose.choices,
        preview_url=reverse("api:preview"),
        words=_editor_words(),
    )
    return TemplateResponse(request, "guanxi/segments/edit.html", ctx)


def _editor_words() -> dict:
    """The editor's own words, in the viewer's language."""
    return {
        "all": _("all of"),
        "any": _("any of"),
        "none": _("none of"),
        "add_condition": _("Add condition"),
        "add_group": _("Add group"),
        "remove": _("Remove"),
        "days": _("in the last … days"),
        "days_hint": _("days (empty: all time)"),
        "value": _("value"),
        "values_hint": _("values, separated by commas"),
        "yes": _("yes"),
        "no": _("no"),
        "count": _("customers match"),
        "counting": _("counting…"),
        "empty_group": _("No conditions: everyone matches."),
        "choose_field": _("Choose a field"),
        "ops": {
            "eq": _("is"),
            "ne": _("is not"),
            "lt": _("less than"),
            "lte": _("at most"),
            "gt": _("more than"),
            "gte": _("at least"),
            "in": _("is one of"),
            "not_in": _("is none of"),
            "contains": _("contains"),
            "not_contains": _("does not contain"),
            "between": _("between"),
            "is_set": _("is set"),
        },
        "set_ops": {
            "contains": _("has all of"),
            "in": _("has any of"),
            "not_in": _("has none of"),
            "is_set": _("has any"),
        },
        "groups": {
            "customer": _("Customer"),
            "custom": _("Custom fields"),
            "region": _("Region"),
            "value": _("Value (RFM, CLV)"),
            "orders": _("Orders"),
            "interactions": _("Interactions"),
            "events": _("Channel events"),
            "segments": _("Segments"),
        },
        "extras": {
            "kind": _("kind"),
            "channel": _("channel"),
            "direction": _("direction"),
            "launch_days": _("days after launch"),
        },
        "any_option": _("any"),
    }


def segment_action(request, object_id, action, model_admin):
    """POST: refresh, freeze a copy, or delete a segment; back to where it makes sense."""
    segment = _segment(request, object_id)
    back = reverse("admin:segments_segment_change", args=[segment.pk])
    if request.method != "POST":
        return HttpResponseRedirect(back)
    try:
        if action == "refresh":
            [result] = services.segments_refresh(actor=request.user, segment_ids=[segment.pk])
            messages.success(
                request,
                _("Refreshed in %(ms)s ms: %(entered)s joined, %(left)s left.")
                % {"ms": result.ms, "entered": result.entered, "left": result.left},
            )
        elif action == "freeze":
            frozen = services.segment_freeze(
                actor=request.user, segment=segment, name=request.POST.get("name", "")
            )
            messages.success(request, _("Saved a static copy."))
            back = reverse("admin:segments_segment_change", args=[frozen.pk])
        elif action == "delete":
            services.segment_delete(actor=request.user, segment=segment)
            messages.success(request, _("Segment deleted."))
            back = reverse("admin:segments_segment_changelist")
        else:
            raise Http404
    except GuanxiError as e:
        error_messages(request, e)
    return HttpResponseRedirect(back)
