"""Segments over REST: rules, live counts, members and membership history."""

from ninja import Query, Router, Status

from guanxi.core.api import ERRORS, READ_ERRORS
from guanxi.core.pagination import PageParams, paginate

from . import definition as rules
from . import selectors, services
from .choices import SegmentPurpose
from .schemas import (
    CountOut,
    CustomerSegmentsOut,
    FieldOut,
    FreezeIn,
    HistoryOut,
    HistoryParams,
    MemberPage,
    MembersIn,
    PreviewIn,
    PreviewOut,
    RefreshOut,
    SegmentIn,
    SegmentOut,
    SegmentPage,
    SegmentPatch,
)

router = Router(tags=["segments"])


def segment_out(segment, members: int) -> dict:
    return {
        "id": segment.pk,
        "name": segment.name,
        "name_en": segment.name_en,
        "description": segment.description,
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
    """The segments and behaviour tags a customer is in, since when, by which rule."""
    return selectors.customer_segments(actor=request.user, customer_id=customer_id)
