"""Reads of segments: definitions are visible to every staff user; members, counts and
history only ever show the customers the viewer may see."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
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


def segment_list(
    *, actor, purpose: str | None = None, q: str | None = None, with_counts: bool = False
) -> QuerySet[Segment]:
    """Segments (their rules hold no personal data, so every staff user sees them all);
    `with_counts` annotates `visible_members`, the members the actor may see."""
    qs = Segment.objects.all()
    if with_counts:
        if actor is None or access.role_of(actor) in access.SEES_ALL:
            qs = qs.annotate(visible_members=F("member_count"))
        else:
            counted = (
                SegmentMembership.objects.filter(
                    segment=OuterRef("pk"),
                    left_at__isnull=True,
                    customer__in=access.scope_customers(Customer.objects.all(), actor),
                )
                .order_by()
                .values("segment")
                .annotate(n=Count("id"))
                .values("n")
            )
            qs = qs.annotate(visible_members=Coalesce(Subquery(counted), 0))
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
    from guanxi.customers.selectors import contactable_q

    stored = rules.validate(definition)
    from django.db import connection, transaction

    from .shared import set_work_mem
    from .windows import StoredWindows

    now = timezone.now()
    # Order figures over a time window are read from those the last refresh kept, when it
    # kept that window (segments.windows).
    ctx = rules.Context(now=now, shared=StoredWindows(now))
    matched = Customer.objects.filter(contactable_q()).filter(rules.compile_definition(stored, ctx))
    qs = access.scope_customers(matched, actor)
    # Counted by the database (sending a million ids over costs more than evaluating the
    # rules twice), then the newest few, walking the customers from the last.
    with transaction.atomic(), connection.cursor() as cursor:
        set_work_mem(cursor)
        count = qs.count()
        newest = list(qs.order_by("-pk").values_list("id", "name")[:sample]) if count else []
    return {
        "count": count,
        "sample": [{"id": i, "name": name} for i, name in newest],
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
            "name": m.segment.label,
            "kind": m.segment.kind,
            "since": m.entered_at,
            "rule": rules.describe(m.segment.definition) if m.segment.is_dynamic else "",
        }
        (tags if m.segment.purpose == SegmentPurpose.BEHAVIOUR_TAG else segments).append(item)
    return {"segments": segments, "behaviour_tags": tags}


def segments_of_customers(customer_ids) -> dict[int, dict[str, list[str]]]:
    """For each customer, the names of the segments and behaviour tags they are in now
    (`{"segments": [...], "tags": [...]}`), in one query (exports, lists)."""
    out: dict[int, dict[str, list[str]]] = {}
    rows = (
        SegmentMembership.objects.filter(customer_id__in=list(customer_ids), left_at__isnull=True)
        .select_related("segment")
        .only("customer_id", "segment__name", "segment__name_en", "segment__purpose")
        .order_by("segment__name")
    )
    for m in rows:
        entry = out.setdefault(m.customer_id, {"segments": [], "tags": []})
        key = "tags" if m.segment.purpose == SegmentPurpose.BEHAVIOUR_TAG else "segments"
        entry[key].append(m.segment.label)
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


# -- churn warnings -----------------------------------------------------------------------


def churn_cases(*, actor, status: str | None = "active", owner_id: int | None = None):
    """Churn warnings of the customers the actor may see, most value at risk first.

    `status`: "active" (at risk or churned, not yet closed), or a ChurnStatus value, or None.
    """
    from .models import ChurnCase

    qs = access.scope_customer_children(ChurnCase.objects.all(), actor).select_related(
        "customer", "customer__owner"
    )
    if status == "active":
        qs = qs.filter(closed_at__isnull=True)
    elif status:
        qs = qs.filter(status=status)
    if owner_id is not None:
        qs = qs.filter(customer__owner_id=owner_id)
    return qs.order_by("-value_at_risk", "-id")


def open_churn_case(*, actor, customer_id: int):
    """The open churn warning of a visible customer, or None."""
    return churn_cases(actor=actor).filter(customer_id=customer_id).first()


def winback_months(*, actor, months: int = 12, today: dt.date | None = None) -> list[dict]:
    """Per month: customers at risk or churned at some time in it, how many were won back
    in it, and the win-back rate."""
    from .choices import ChurnStatus
    from .models import ChurnCase

    today = today or timezone.localdate()
    first = today.replace(day=1)
    starts = []
    for _i in range(months):
        starts.append(first)
        first = (first - dt.timedelta(days=1)).replace(day=1)
    starts.reverse()
    cases = access.scope_customer_children(ChurnCase.objects.all(), actor)
    out = []
    for start in starts:
        end = (start + dt.timedelta(days=32)).replace(day=1)
        s, e = _start(start), _start(end)
        at_risk = cases.filter(opened_at__lt=e).filter(
            Q(closed_at__isnull=True) | Q(closed_at__gte=s)
        )
        won = cases.filter(status=ChurnStatus.WON_BACK, closed_at__gte=s, closed_at__lt=e)
        n_risk, n_won = at_risk.count(), won.count()
        out.append(
            {
                "month": start.strftime("%Y-%m"),
                "at_risk": n_risk,
                "won_back": n_won,
                "rate": (n_won / n_risk) if n_risk else None,
            }
        )
    return out


def churn_totals(*, actor) -> dict:
    from django.db.models import Sum

    qs = churn_cases(actor=actor)
    agg = qs.aggregate(n=Count("id"), value=Sum("value_at_risk"))
    return {"open": agg["n"] or 0, "value_at_risk": agg["value"] or 0}


# -- tiers --------------------------------------------------------------------------------


def tier_list():
    from .models import Tier

    return Tier.objects.order_by("rank", "pk")


def tier_distribution(*, actor) -> list[dict]:
    """Members per tier among the customers the actor may see."""
    from .models import CustomerTier

    tiers = list(tier_list())
    rows = (
        CustomerTier.objects.filter(
            customer__in=access.scope_customers(Customer.objects.all(), actor)
        )
        .values("tier_id")
        .annotate(n=Count("pk"))
    )
    counts = {r["tier_id"]: r["n"] for r in rows}
    total = sum(counts.values()) or 1
    return [
        {"tier": t, "members": counts.get(t.pk, 0), "share": counts.get(t.pk, 0) / total}
        for t in tiers
    ]


def tier_evaluations(*, kinds=None):
    from .models import TierEvaluation

    qs = TierEvaluation.objects.all()
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return qs


def tier_evaluation_get(*, actor, evaluation_id):
    from .models import TierEvaluation

    try:
        return TierEvaluation.objects.get(pk=int(evaluation_id))
    except (TierEvaluation.DoesNotExist, ValueError, TypeError) as e:
        raise NotFound(_("Evaluation not found.")) from e


def tier_moves(*, actor, evaluation=None, customer_id: int | None = None):
    """Tier moves of visible customers ("who moved, and why"), newest first."""
    from .models import TierMove

    qs = access.scope_customer_children(TierMove.objects.all(), actor).select_related(
        "customer", "from_tier", "to_tier"
    )
    if evaluation is not None:
        qs = qs.filter(evaluation=evaluation)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    return qs.order_by("-at", "-id")


def customer_tier(*, actor, customer_id: int):
    """A visible customer's tier (CustomerTier with its tier) or None."""
    from guanxi.customers.selectors import customer_get

    from .models import CustomerTier

    customer_get(actor=actor, customer_id=customer_id)
    return CustomerTier.objects.filter(customer_id=customer_id).select_related("tier").first()


def tier_q(tier_ref: str) -> Q | None:
    """`customer in tier` for the customer list filter, by tier id or name."""
    from .models import CustomerTier, Tier

    ref = str(tier_ref).strip()
    tier = (
        Tier.objects.filter(pk=int(ref)).first()
        if ref.isdigit()
        else Tier.objects.filter(Q(name=ref) | Q(name_en=ref)).first()
    )
    if tier is None:
        return None
    return Q(pk__in=CustomerTier.objects.filter(tier=tier).values("customer_id"))


def tiers_of_customers(customer_ids) -> dict[int, str]:
    from .models import CustomerTier

    return {
        ct.customer_id: ct.tier.label
        for ct in CustomerTier.objects.filter(customer_id__in=list(customer_ids)).select_related(
            "tier"
        )
    }


# -- clusters -----------------------------------------------------------------------------


def cluster_runs():
    from .models import ClusterRun

    return ClusterRun.objects.select_related("requested_by")


def cluster_run_get(*, actor, run_id):
    from .models import ClusterRun

    try:
        return ClusterRun.objects.get(pk=int(run_id))
    except (ClusterRun.DoesNotExist, ValueError, TypeError) as e:
        raise NotFound(_("Clustering not found.")) from e


def membership_changes(*, since, segment_ids=None) -> dict[str, QuerySet[SegmentMembership]]:
    """Who entered and who left segments since a time (unscoped): what automation and
    campaigns react to. `entered` are the spells that began since; `left` those that ended."""
    qs = SegmentMembership.objects.all()
    if segment_ids is not None:
        qs = qs.filter(segment_id__in=list(segment_ids))
    return {
        "entered": qs.filter(entered_at__gte=since).order_by("entered_at", "id"),
        "left": qs.filter(left_at__gte=since).order_by("left_at", "id"),
    }
