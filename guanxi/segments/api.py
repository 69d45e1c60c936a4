"""Segments over REST: rules, live counts, members and membership history."""

from typing import Literal

from ninja import Query, Router, Status

from guanxi.core.api import ERRORS, READ_ERRORS
from guanxi.core.pagination import PageParams, paginate

from . import definition as rules
from . import selectors, services
from .choices import SegmentPurpose
from .models import LifecycleSettings
from .schemas import (
    ChurnWarningPage,
    ClusterIn,
    ClusterRunOut,
    CountOut,
    CustomerSegmentsOut,
    EvaluationOut,
    FieldOut,
    FreezeIn,
    HistoryOut,
    HistoryParams,
    LifecycleSettingsOut,
    LifecycleSettingsPatch,
    MemberPage,
    MembersIn,
    PreviewIn,
    PreviewOut,
    RefreshOut,
    SegmentIn,
    SegmentOut,
    SegmentPage,
    SegmentPatch,
    TierMovePage,
    TierOut,
    WinbackMonthOut,
)

router = Router(tags=["segments"])


def segment_out(segment, members: int) -> dict:
    return {
        "id": segment.pk,
        "name": segment.name,
        "name_en": segment.name_en,
        "description": segment.description,
        "description_en": segment.description_en,
        "kind": segment.kind,
        "purpose": segment.purpose,
        "definition": segment.definition,
        "rule": rules.describe(segment.definition) if segment.is_dynamic else "",
        "depends": segment.depends,
        "is_active": segment.is_active,
        "members": members,
        "refreshed_at": segment.refreshed_at,
        "refresh_ms": segment.refresh_ms,
        "created_at": segment.created_at,
        "source": segment.source,
    }


def _out(request, segment) -> dict:
    return segment_out(segment, selectors.visible_member_count(actor=request.user, segment=segment))


@router.get("/segments", response={200: SegmentPage, **READ_ERRORS})
def list_segments(
    request,
    page: Query[PageParams],
    purpose: SegmentPurpose | None = None,
    q: str | None = None,
):
    """Segments and behaviour tags; `members` counts the members you may see."""
    result = paginate(selectors.segment_list(actor=request.user, purpose=purpose, q=q), page)
    counts = selectors.member_counts(actor=request.user, segments=result["items"])
    result["items"] = [segment_out(s, counts[s.pk]) for s in result["items"]]
    return result


@router.post("/segments", response={201: SegmentOut, **ERRORS})
def create_segment(request, payload: SegmentIn):
    """Save a segment. A dynamic one is filled from its rules at once and kept current; an
    unknown field or operator is a 422 naming its place (`definition.all[1].field`)."""
    segment = services.segment_create(actor=request.user, data=payload.model_dump())
    return Status(201, _out(request, segment))


@router.get("/segments/fields", response={200: list[FieldOut], **READ_ERRORS})
def segment_fields(request):
    """Every field a condition may use, with its type, operators, window and choices."""
    return rules.field_catalogue()


@router.post("/segments/preview", response={200: PreviewOut, **ERRORS})
def preview(request, payload: PreviewIn):
    """The live count of rules being edited (customers you may see) and a few of them."""
    return selectors.definition_preview(actor=request.user, definition=payload.definition)


@router.get("/segments/{int:segment_id}", response={200: SegmentOut, **READ_ERRORS})
def get_segment(request, segment_id: int):
    return _out(request, selectors.segment_get(actor=request.user, segment_id=segment_id))


@router.patch("/segments/{int:segment_id}", response={200: SegmentOut, **ERRORS})
def update_segment(request, segment_id: int, payload: SegmentPatch):
    segment = selectors.segment_get(actor=request.user, segment_id=segment_id)
    data = payload.model_dump(exclude_unset=True)
    return _out(request, services.segment_update(actor=request.user, segment=segment, data=data))


@router.delete("/segments/{int:segment_id}", response={204: None, **ERRORS})
def delete_segment(request, segment_id: int):
    segment = selectors.segment_get(actor=request.user, segment_id=segment_id)
    services.segment_delete(actor=request.user, segment=segment)
    return Status(204, None)


@router.post("/segments/{int:segment_id}/refresh", response={200: RefreshOut, **ERRORS})
def refresh_segment(request, segment_id: int):
    """Recompute a dynamic segment now (it is also kept current by changes and nightly)."""
    segment = selectors.segment_get(actor=request.user, segment_id=segment_id)
    [result] = services.segments_refresh(actor=request.user, segment_ids=[segment.pk])
    return result.__dict__


@router.get("/segments/{int:segment_id}/members", response={200: MemberPage, **READ_ERRORS})
def segment_members(request, segment_id: int, page: Query[PageParams]):
    """The current members you may see, newest customers first."""
    segment = selectors.segment_get(actor=request.user, segment_id=segment_id)
    qs = (
        selectors.segment_members(actor=request.user, segment=segment)
        .select_related("owner")
        .order_by("-id")
    )
    result = paginate(qs, page)
    result["items"] = [
        {
            "id": c.pk,
            "name": c.name,
            "company_name": c.company_name,
            "stage": c.stage,
            "owner": c.owner.username if c.owner else None,
        }
        for c in result["items"]
    ]
    return result


@router.post("/segments/{int:segment_id}/members", response={200: CountOut, **ERRORS})
def add_members(request, segment_id: int, payload: MembersIn):
    """Put customers into a static segment; answers how many entered."""
    segment = selectors.segment_get(actor=request.user, segment_id=segment_id)
    n = services.segment_members_add(
        actor=request.user, segment=segment, customer_ids=payload.customer_ids
    )
    return {"count": n}


@router.post("/segments/{int:segment_id}/members/remove", response={200: CountOut, **ERRORS})
def remove_members(request, segment_id: int, payload: MembersIn):
    """Take customers out of a static segment; their history stays."""
    segment = selectors.segment_get(actor=request.user, segment_id=segment_id)
    n = services.segment_members_remove(
        actor=request.user, segment=segment, customer_ids=payload.customer_ids
    )
    return {"count": n}


@router.get("/segments/{int:segment_id}/history", response={200: HistoryOut, **READ_ERRORS})
def segment_history(request, segment_id: int, page: Query[PageParams], dates: Query[HistoryParams]):
    """Membership spells (entered, left) of customers you may see; with `since`/`until`
    only those that began or ended in the range, and how many joined and left."""
    segment = selectors.segment_get(actor=request.user, segment_id=segment_id)
    qs = selectors.segment_history(
        actor=request.user, segment=segment, since=dates.since, until=dates.until
    )
    result = paginate(qs, page)
    result["items"] = [
        {
            "customer_id": m.customer_id,
            "customer_name": m.customer.name,
            "entered_at": m.entered_at,
            "left_at": m.left_at,
        }
        for m in result["items"]
    ]
    if dates.since and dates.until:
        result.update(
            selectors.history_counts(
                actor=request.user, segment=segment, since=dates.since, until=dates.until
            )
        )
    return result


@router.post("/segments/{int:segment_id}/freeze", response={201: SegmentOut, **ERRORS})
def freeze_segment(request, segment_id: int, payload: FreezeIn):
    """A static copy of the segment's current members."""
    segment = selectors.segment_get(actor=request.user, segment_id=segment_id)
    frozen = services.segment_freeze(actor=request.user, segment=segment, name=payload.name)
    return Status(201, _out(request, frozen))


@router.get(
    "/customers/{int:customer_id}/segments", response={200: CustomerSegmentsOut, **READ_ERRORS}
)
def customer_segments(request, customer_id: int):
    """The segments and behaviour tags a customer is in, since when, by which rule; their
    value tier and any open churn warning."""
    out = selectors.customer_segments(actor=request.user, customer_id=customer_id)
    held = selectors.customer_tier(actor=request.user, customer_id=customer_id)
    out["tier"] = (
        {"tier_id": held.tier_id, "tier": held.tier.label, "since": held.since, "basis": held.basis}
        if held
        else None
    )
    case = selectors.open_churn_case(actor=request.user, customer_id=customer_id)
    out["churn_warning"] = churn_out(case) if case else None
    return out


# -- churn warnings and the lifecycle rules -----------------------------------------------


def churn_out(case) -> dict:
    from .services.lifecycle import reason_text

    return {
        "id": case.pk,
        "customer_id": case.customer_id,
        "customer_name": case.customer.name,
        "owner": case.customer.owner.username if case.customer.owner else None,
        "status": case.status,
        "opened_at": case.opened_at,
        "closed_at": case.closed_at,
        "reasons": [
            {"rule": r.get("rule", ""), "text": reason_text(r), "details": r} for r in case.reasons
        ],
        "p_alive": case.p_alive,
        "last_order_at": case.last_order_at,
        "spend_recent": case.spend_recent,
        "spend_before": case.spend_before,
        "value_at_risk": case.value_at_risk,
        "task_id": case.task_id,
    }


@router.get("/churn-warnings", response={200: ChurnWarningPage, **READ_ERRORS})
def churn_warnings(
    request,
    page: Query[PageParams],
    status: Literal["active", "open", "churned", "won_back", "closed"] = "active",
    mine: bool = False,
):
    """Customers at risk of churning that you may see, most value at risk first, each with
    the reasons (rule, P(alive), drop in spend) and the win-back task."""
    qs = selectors.churn_cases(
        actor=request.user, status=status, owner_id=request.user.pk if mine else None
    )
    result = paginate(qs, page)
    result["items"] = [churn_out(c) for c in result["items"]]
    return result


@router.get("/churn-warnings/win-back", response={200: list[WinbackMonthOut], **READ_ERRORS})
def winback(request):
    """Per month of the last twelve: at risk or churned, won back, and the win-back rate."""
    return selectors.winback_months(actor=request.user)


def _lifecycle_out(settings) -> dict:
    return {f: getattr(settings, f) for f in LifecycleSettingsOut.model_fields}


@router.get("/lifecycle/settings", response={200: LifecycleSettingsOut, **READ_ERRORS})
def lifecycle_settings(request):
    """When stages move by themselves and what a churn warning sets off."""
    return _lifecycle_out(LifecycleSettings.current())


@router.patch("/lifecycle/settings", response={200: LifecycleSettingsOut, **ERRORS})
def lifecycle_settings_patch(request, payload: LifecycleSettingsPatch):
    """Change the lifecycle rules (admins)."""
    from .services.lifecycle import lifecycle_settings_update

    data = payload.model_dump(exclude_unset=True)
    return _lifecycle_out(lifecycle_settings_update(actor=request.user, data=data))


# -- value tiers ------------------------------------------------------------------------------


@router.get("/tiers", response={200: list[TierOut], **READ_ERRORS})
def tiers(request):
    """The value tiers, top first, with how many of the customers you may see are in each."""
    return [
        {
            "id": d["tier"].pk,
            "name": d["tier"].name,
            "name_en": d["tier"].name_en,
            "rank": d["tier"].rank,
            "min_value": d["tier"].min_value,
            "top_share": d["tier"].top_share,
            "benefits": d["tier"].benefits,
            "members": d["members"],
        }
        for d in selectors.tier_distribution(actor=request.user)
    ]


@router.post("/tiers/evaluate", response={200: EvaluationOut, **ERRORS})
def tiers_evaluate(request):
    """Sort every customer into a tier now (admins, managers, marketers)."""
    from .services.tiers import tiers_evaluate as evaluate

    return evaluate(actor=request.user)


@router.get("/tiers/evaluations", response={200: list[EvaluationOut], **READ_ERRORS})
def tier_evaluations(request):
    """The latest 24 evaluations (monthly, by hand, and single customers' spend rises)."""
    return list(selectors.tier_evaluations()[:24])


@router.get(
    "/tiers/evaluations/{int:evaluation_id}/moves",
    response={200: TierMovePage, **READ_ERRORS},
)
def tier_moves(request, evaluation_id: int, page: Query[PageParams]):
    """Who moved in an evaluation, from which tier to which, and why (customers you may see)."""
    evaluation = selectors.tier_evaluation_get(actor=request.user, evaluation_id=evaluation_id)
    result = paginate(selectors.tier_moves(actor=request.user, evaluation=evaluation), page)
    result["items"] = [
        {
            "customer_id": m.customer_id,
            "customer_name": m.customer.name,
            "from_tier": m.from_tier.label if m.from_tier else None,
            "to_tier": m.to_tier.label if m.to_tier else None,
            "at": m.at,
            "basis": m.basis,
            "previous_basis": m.previous_basis,
            "reason": m.reason,
        }
        for m in result["items"]
    ]
    return result


# -- clusters -----------------------------------------------------------------------------


@router.post("/segments/clusters", response={202: ClusterRunOut, **ERRORS})
def cluster(request, payload: ClusterIn):
    """Queue a k-means clustering of the valued customers; each cluster becomes a static
    segment."""
    from .services.clusters import clustering_request

    return Status(202, clustering_request(actor=request.user, k=payload.k))


@router.get("/segments/clusters/{int:run_id}", response={200: ClusterRunOut, **READ_ERRORS})
def cluster_get(request, run_id: int):
    """A clustering: its status, the silhouette of each k, and the clusters with their
    centroids, words and segments."""
    from .services.clusters import cluster_words

    run = selectors.cluster_run_get(actor=request.user, run_id=run_id)
    run.clusters = [{**c, "words": cluster_words(c)} for c in run.clusters]
    return run
