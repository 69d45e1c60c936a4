"""Membership tiers: qualification by rolling 12-month spend or points, an upgrade as soon as
a threshold is passed (`tier_check`, after points are earned), a downgrade only at an
evaluation (`tiers_evaluate`) and only after the grace period. Every move is a `TierMove`
with its reason and a timeline event."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core.bulk import Inserter

from ..choices import EntryKind, QualifyBy, TierMoveKind
from ..models import LedgerEntry, LoyaltyProgram, LoyaltyTier, Member, TierMove
from .members import member_record, members_record

WINDOW_DAYS = 365
MOVE_COLUMNS = ["member", "kind", "from_tier", "to_tier", "value", "reason", "at"]


def _reason(kind: str, value: Decimal, tier: LoyaltyTier | None, program) -> str:
    what = (
        _("spend %(value)s yuan in 12 months")
        if program.qualify_by == QualifyBy.SPEND
        else _("%(value)s points in 12 months")
    ) % {"value": f"{value:,.0f}"}
    if kind == TierMoveKind.UPGRADE:
        return _("%(what)s reached %(tier)s (%(threshold)s)") % {
            "what": what, "tier": tier.label, "threshold": f"{tier.threshold:,.0f}"}  # fmt: skip
    if kind == TierMoveKind.GRACE:
        return _("%(what)s is below the tier's threshold; kept until the grace period ends") % {
            "what": what}  # fmt: skip
    return _("%(what)s after the grace period") % {"what": what}


def qualifying_values(member_ids=None, *, at: dt.datetime) -> dict[int, Decimal]:
    """Member id → spend (revenue orders) or points earned in the 12 months up to `at`."""
    from guanxi.orders.choices import REVENUE_STATUSES
    from guanxi.orders.models import Order

    since = at - dt.timedelta(days=WINDOW_DAYS)
    program = LoyaltyProgram.current()
    if program.qualify_by == QualifyBy.SPEND:
        members = Member.objects.all()
        if member_ids is not None:
            members = members.filter(pk__in=member_ids)
        by_customer = dict(members.values_list("customer_id", "pk"))
        orders = Order.objects.filter(
            status__in=REVENUE_STATUSES, ordered_at__gt=since, ordered_at__lte=at
        )
        if member_ids is not None:
            orders = orders.filter(customer_id__in=list(by_customer))
        values = {pk: Decimal("0") for pk in by_customer.values()}
        for customer_id, total in (
            orders.values("customer_id").annotate(t=Sum("total")).values_list("customer_id", "t")
        ):
            if customer_id in by_customer:
                values[by_customer[customer_id]] = total or Decimal("0")
        return values
    entries = LedgerEntry.objects.filter(
        kind__in=[EntryKind.EARN, EntryKind.REVERSE], at__gt=since, at__lte=at
    )
    members = Member.objects.all()
    if member_ids is not None:
        entries = entries.filter(member_id__in=member_ids)
        members = members.filter(pk__in=member_ids)
    values = {pk: Decimal("0") for pk in members.values_list("pk", flat=True)}
    for member_id, n in (
        entries.values("member_id").annotate(n=Sum("points")).values_list("member_id", "n")
    ):
        values[member_id] = Decimal(n or 0)
    return values


def tier_for(value: Decimal, tiers: list[LoyaltyTier]) -> LoyaltyTier | None:
    """The highest tier whose threshold the value reaches (tiers sorted by rank)."""
    best = None
    for tier in tiers:
        if value >= tier.threshold:
            best = tier
    return best


def tier_check(*, member_id: int, at: dt.datetime | None = None) -> TierMove | None:
    """Upgrade the member at once if their value now reaches a higher tier."""
    at = at or timezone.now()
    tiers = list(LoyaltyTier.objects.order_by("rank"))
    if not tiers:
        return None
    member = Member.objects.select_related("tier").get(pk=member_id)
    value = qualifying_values([member_id], at=at).get(member_id, Decimal("0"))
    target = tier_for(value, tiers)
    current_rank = member.tier.rank if member.tier else 0
    if target is None or target.rank <= current_rank:
        return None
    program = LoyaltyProgram.current()
    return _move(member, TierMoveKind.UPGRADE, target, value, at, program)


def _move(member, kind, target, value, at, program) -> TierMove:
    reason = _reason(kind, value, target, program)
    old = member.tier
    with transaction.atomic():
        Member.objects.filter(pk=member.pk).update(tier=target, tier_since=at, grace_until=None)
        move = TierMove.objects.create(
            member=member, kind=kind, from_tier=old, to_tier=target, value=value, reason=reason,
            at=at,
        )  # fmt: skip
        member_record(member=member, action="tier", at=at, kind=kind,
                      to=target.key if target else "", reason=reason,
                      **{"from": old.key if old else ""})  # fmt: skip
    return move


def tiers_evaluate(*, now: dt.datetime | None = None) -> dict:
    """Evaluate every member: up at once, down after the grace period (which starts the first
    time an evaluation finds them below). Set-based; returns the counts of each move."""
    now = now or timezone.now()
    program = LoyaltyProgram.current()
    tiers = list(LoyaltyTier.objects.order_by("rank"))
    counts = {"members": 0, TierMoveKind.UPGRADE: 0, TierMoveKind.DOWNGRADE: 0,
              TierMoveKind.GRACE: 0, "kept": 0}  # fmt: skip
    if not tiers:
        return counts
    by_pk = {t.pk: t for t in tiers}
    values = qualifying_values(at=now)
    grace_end = now + dt.timedelta(days=program.grace_days)
    moves, timeline = [], []
    updates: dict[tuple, list[int]] = {}
    members = Member.objects.values_list("pk", "customer_id", "tier_id", "grace_until")
    for pk, customer_id, tier_id, grace_until in members.iterator(chunk_size=5000):
        counts["members"] += 1
        value = values.get(pk, Decimal("0"))
        target = tier_for(value, tiers)
        current = by_pk.get(tier_id)
        current_rank = current.rank if current else 0
        target_rank = target.rank if target else 0
        kind = None
        if target_rank > current_rank:
            kind = TierMoveKind.UPGRADE
            updates.setdefault(("move", target.pk if target else None), []).append(pk)
        elif target_rank < current_rank:
            if grace_until is None:
                kind = TierMoveKind.GRACE
                updates.setdefault(("grace",), []).append(pk)
            elif grace_until <= now:
                kind = TierMoveKind.DOWNGRADE
                updates.setdefault(("move", target.pk if target else None), []).append(pk)
            else:
                counts["kept"] += 1
        elif grace_until is not None:
            updates.setdefault(("clear",), []).append(pk)
        if kind is None:
            continue
        counts[kind] += 1
        to = target if kind != TierMoveKind.GRACE else current
        reason = _reason(kind, value, to, program)
        moves.append((pk, kind, tier_id, to.pk if to else None, value, reason[:300], now))
        timeline.append((customer_id, now, {
            "action": "tier", "kind": kind, "from": current.key if current else "",
            "to": to.key if to else "", "reason": reason,
        }))  # fmt: skip
    with transaction.atomic():
        for key, pks in updates.items():
            for i in range(0, len(pks), 5000):
                chunk = Member.objects.filter(pk__in=pks[i : i + 5000])
                if key[0] == "move":
                    chunk.update(tier_id=key[1], tier_since=now, grace_until=None)
                elif key[0] == "grace":
                    chunk.update(grace_until=grace_end)
                else:
                    chunk.update(grace_until=None)
        Inserter(TierMove, MOVE_COLUMNS).insert(moves)
        members_record(timeline)
    return counts
