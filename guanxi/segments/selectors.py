"""Reads of segments: definitions are visible to every staff user; members, counts and
history only ever show the customers the viewer may see."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.core.errors import NotFound
from guanxi.customers.models import Customer

from . import definition as rules
from .choices import SegmentPurpose
from .models import Segment, SegmentMembership


def current_memberships() -> QuerySet[SegmentMembership]:
    """Every open membership, unscoped, for set-based queries whose customers the caller scopes."""
    return SegmentMembership.objects.filter(left_at__isnull=True)


def reference_id(key: str, raw) -> int | None:
    """The id of an owner (user id or username), team (id or name) or segment (id or name)."""
    from guanxi.accounts.models import Team, User

    model, name_field = {
        "owner": (User, "username"),
        "team": (Team, "name"),
        "segment": (Segment, "name"),
    }[key]
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int) or (isinstance(raw, str) and raw.strip().isdigit()):
        pk = int(raw)
        return pk if model.objects.filter(pk=pk).exists() else None
    if isinstance(raw, str) and raw.strip():
        return (
            model.objects.filter(**{name_field: raw.strip()}).values_list("pk", flat=True).first()
        )
    return None


def segment_list(*, actor, purpose: str | None = None, q: str | None = None) -> QuerySet[Segment]:
    """Segments (their rules hold no personal data, so every staff user sees them all)."""
    qs = Segment.objects.all()
    if purpose:
        qs = qs.filter(purpose=purpose)
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(description__icontains=q))
    return qs


def segment_get(*, actor, segment_id) -> Segment:
    try:
        return Segment.objects.get(pk=int(segment_id))
    except (Segment.DoesNotExist, ValueError, TypeError) as e:
        raise NotFound(_("Segment not found.")) from e


def visible_member_count(*, actor, segment: Segment) -> int:
    """How many of the segment's members the actor may see (the stored count for those who
    see everyone)."""
    if access.role_of(actor) in access.SEES_ALL:
        return segment.member_count
    return segment_members(actor=actor, segment=segment).count()


def member_counts(*, actor, segments) -> dict[int, int]:
    """Visible member counts of several segments in one query."""
    segments = list(segments)
    if access.role_of(actor) in access.SEES_ALL:
        return {s.pk: s.member_count for s in segments}
    rows = (
        SegmentMembership.objects.filter(
            segment__in=segments,
            left_at__isnull=True,
            customer__in=access.scope_customers(Customer.objects.all(), actor),
        )
        .values("segment_id")
        .annotate(n=Count("id"))
    )
    counts = {r["segment_id"]: r["n"] for r in rows}
    return {s.pk: counts.get(s.pk, 0) for s in segments}


def segment_members(*, actor, segment: Segment) -> QuerySet[Customer]:
    """The segment's current members that the actor may see."""
    ids = SegmentMembership.objects.filter(segment=segment, left_at__isnull=True).values(
        "customer_id"
    )
    return access.scope_customers(Customer.objects.filter(pk__in=ids), actor)


def segment_history(
    *, actor, segment: Segment, since: dt.date | None = None, until: dt.date | None = None
) -> QuerySet[SegmentMembership]:
    """Membership spells of visible customers that began or ended between the dates (both
    inclusive, local days): who joined, who left."""
    qs = SegmentMembership.objects.filter(segment=segment).filter(
        customer__in=access.scope_customers(Customer.objects.all(), actor)
    )
    if since or until:
        start = _start(since) if since else None
        end = _start(until + dt.timedelta(days=1)) if until else None
        entered = Q()
        left = Q(left_at__isnull=False)
        if start:
            entered &= Q(entered_at__gte=start)
            left &= Q(left_at__gte=start)
        if end:
            entered &= Q(entered_at__lt=end)
            left &= Q(left_at__lt=end)
        qs = qs.filter(entered | left)
    return qs.select_related("customer").order_by("-entered_at", "-id")


def _start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def history_counts(*, actor, segment: Segment, since: dt.date, until: dt.date) -> dict:
    """How many visible customers joined and left between the dates."""
    start, end = _start(since), _start(until + dt.timedelta(days=1))
    rows = SegmentMembership.objects.filter(
        segment=segment, customer__in=access.scope_customers(Customer.objects.all(), actor)
    )
    return {
        "joined": rows.filter(entered_at__gte=start, entered_at__lt=end).count(),
        "left": rows.filter(left_at__gte=start, left_at__lt=end).count(),
    }


def definition_preview(*, actor, definition, sample: int = 10) -> dict:
    """The live count (and a few members) of rules being edited, scoped to the actor."""
    stored = rules.validate(definition)
    ctx = rules.Context(now=timezone.now())
    qs = access.scope_customers(
        Customer.objects.filter(rules.compile_definition(stored, ctx)), actor
    )
    return {
        "count": qs.count(),
        "sample": list(qs.order_by("-id").values("id", "name")[:sample]),
        "definition": stored,
        "description": rules.describe(stored),
    }


def customer_segments(*, actor, customer_id: int) -> dict:
    """The segments and behaviour tags a (visible) customer is in now, with since when and
    the rule that put them there."""
    from guanxi.customers.selectors import customer_get

    customer_get(actor=actor, customer_id=customer_id)  # 404 when not visible
    rows = (
        SegmentMembership.objects.filter(customer_id=customer_id, left_at__isnull=True)
        .select_related("segment")
        .order_by("segment__name")
    )
    segments, tags = [], []
    for m in rows:
        item = {
            "id": m.segment_id,
            "name": m.segment.name,
            "kind": m.segment.kind,
            "since": m.entered_at,
            "rule": rules.describe(m.segment.definition) if m.segment.is_dynamic else "",
        }
        (tags if m.segment.purpose == SegmentPurpose.BEHAVIOUR_TAG else segments).append(item)
    return {"segments": segments, "behaviour_tags": tags}


def segments_of_customers(customer_ids) -> dict[int, list[str]]:
    """Names of the segments and behaviour tags each customer is in (exports, lists)."""
    out: dict[int, list[str]] = {}
    rows = (
        SegmentMembership.objects.filter(customer_id__in=list(customer_ids), left_at__isnull=True)
        .order_by("segment__name")
        .values_list("customer_id", "segment__name")
    )
    for cid, name in rows:
        out.setdefault(cid, []).append(name)
    return out


def member_q(segment_ref: str) -> Q | None:
    """`customer in segment` for the customer list filter, by segment id or name."""
    segment_id = reference_id("segment", segment_ref)
    if segment_id is None:
        return None
    return Q(
        pk__in=SegmentMembership.objects.filter(segment_id=segment_id, left_at__isnull=True).values(
            "customer_id"
        )
    )
