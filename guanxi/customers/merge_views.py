"""The duplicate review screen (two customers side by side: pick the values that survive,
merge or say they are different) and the merge page (what a merge did, and undo)."""

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import get_language, gettext

from guanxi.core.errors import GuanxiError, NotFound
from guanxi.interactions.selectors import interaction_list
from guanxi.orders.selectors import order_list

from . import selectors
from .models import Customer
from .services import merge as services
from .services.merge import CHOOSABLE


def _context(request, model_admin, **extra) -> dict:
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        **extra,
    }


def _problems(error: GuanxiError) -> list[str]:
    return [
        problem if field == "__all__" else f"{field}: {problem}"
        for field, problems in error.errors.items()
        for problem in problems
    ] or [error.message]


# The fields shown side by side, in this order, with how to show a value.
ROWS = [
    ("name", "name"), ("kind", "get_kind_display"), ("company_name", "company_name"),
    ("job_title", "job_title"), ("gender", "get_gender_display"), ("birthday", "birthday"),
    ("industry", "industry"), ("company_size", "get_company_size_display"),
    ("source", "get_source_display"), ("preferred_channel", "get_preferred_channel_display"),
    ("stage", "get_stage_display"), ("owner_id", "owner"), ("external_id", "external_id"),
    ("business_scope", "business_scope"), ("notes", "notes"),
]  # fmt: skip


def review_url(review) -> str:
    return reverse("admin:customers_duplicatereview_change", args=[review.pk])


def _side(request, customer) -> dict:
    label = {f.name: f.verbose_name for f in Customer._meta.fields}
    label["owner_id"] = label["owner"]
    return {
        "customer": customer,
        "label": label,
        "phones": [p.number for p in customer.phones.all()],
        "emails": [e.email for e in customer.emails.all()],
        "tags": [t.name for t in customer.tags.all()],
        "addresses": [str(a) for a in customer.addresses.all()],
        "contacts": selectors.contact_list(actor=request.user, customer_id=customer.pk).count(),
        "orders": order_list(actor=request.user, customer_id=customer.pk).count(),
        "interactions": interaction_list(actor=request.user, customer_id=customer.pk).count(),
    }


def _value(customer, attribute):
    value = getattr(customer, attribute)
    value = value() if callable(value) else value
    return "" if value in (None, "") else str(value)


def _evidence(explanation) -> list[dict]:
    """The review's evidence in the reader's language: "phone: same number (+18.4)"."""
    language = get_language() or "zh-hans"
    shown = []
    for item in explanation or []:
        labels = (item.get("labels") or {}).get(language) or next(
            iter((item.get("labels") or {}).values()), None
        )
        field, level = labels if labels else (item.get("field", ""), item.get("level", ""))
        shown.append({"field": field, "level": level, "weight": item.get("weight")})
    return shown


def review_page(request, object_id, model_admin):
    try:
        review = selectors.review_get(actor=request.user, review_id=object_id)
    except NotFound as e:
        raise Http404(gettext("Not found.")) from e
    if request.method == "POST":
        return _decide(request, review)
    left, right = _side(request, review.customer), _side(request, review.other)
    rows = []
    for field, attribute in ROWS:
        a, b = _value(review.customer, attribute), _value(review.other, attribute)
        if not a and not b:
            continue
        rows.append({
            "field": field,
            "label": left["label"].get(field, field),
            "left": a,
            "right": b,
            "same": a == b,
            # By default the kept customer's value wins, unless only the other has one.
            "pick": "other" if (not a and b) else "customer",
        })  # fmt: skip
    context = _context(
        request,
        model_admin,
        title=gettext("Possible duplicate"),
        review=review,
        evidence=_evidence(review.explanation),
        left=left,
        right=right,
        rows=rows,
        percent=round(review.score * 100),
        is_open=review.status == "open",
    )
    return TemplateResponse(request, "guanxi/customers/review.html", context)


def _decide(request, review):
    action = request.POST.get("action", "")
    try:
        if action == "dismiss":
            services.review_dismiss(actor=request.user, review=review)
            messages.success(request, gettext("Marked as two different customers."))
            return HttpResponseRedirect(reverse("admin:customers_duplicatereview_changelist"))
        if action in ("keep_customer", "keep_other"):
            keep = action.removeprefix("keep_")
            picks = {f: request.POST.get(f"f_{f}", "customer") for f in CHOOSABLE}
            # `choose` speaks of the survivor and the other; the form of left and right.
            flip = keep == "other"
            choose = {f: "other" for f, side in picks.items() if (side == "other") != flip}
            merge = services.review_merge(actor=request.user, review=review, keep=keep,
                                          choose=choose)  # fmt: skip
            messages.success(
                request,
                gettext("Merged: %(name)s now holds the records of both.")
                % {"name": merge.survivor.name},
            )
            return HttpResponseRedirect(
                reverse("admin:customers_customer_360", args=[merge.survivor_id])
            )
    except GuanxiError as error:
        for problem in _problems(error):
            messages.error(request, problem)
    return HttpResponseRedirect(review_url(review))


def merge_page(request, object_id, model_admin):
    try:
        merge = selectors.merge_get(actor=request.user, merge_id=object_id)
    except NotFound as e:
        raise Http404(gettext("Not found.")) from e
    if request.method == "POST" and request.POST.get("action") == "undo":
        try:
            restored = services.customers_unmerge(actor=request.user, merge=merge)
        except GuanxiError as error:
            for problem in _problems(error):
                messages.error(request, problem)
        else:
            messages.success(
                request, gettext("The merge was undone: %(name)s is back.") % {"name": restored}
            )
            return HttpResponseRedirect(reverse("admin:customers_customer_360", args=[restored.pk]))
        return HttpResponseRedirect(
            reverse("admin:customers_customermerge_change", args=[merge.pk])
        )
    moved = {label: len(ids) for label, ids in (merge.moved or {}).items() if ids}
    context = _context(
        request,
        model_admin,
        title=gettext("Merge"),
        merge=merge,
        moved=_moved_labels(moved),
        snapshot=merge.merged_snapshot,
    )
    return TemplateResponse(request, "guanxi/customers/merge.html", context)


def _moved_labels(moved: dict) -> list[tuple[str, int]]:
    from django.apps import apps

    out = []
    for label, n in moved.items():
        if label == "customers.customer_tags":
            out.append((gettext("tags"), n))
            continue
        app_label, model_name = label.split(".")
        model = apps.get_model(app_label, model_name)
        out.append((str(model._meta.verbose_name_plural), n))
    return out
