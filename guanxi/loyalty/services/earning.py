"""Points from orders and bonuses.

`orders_points_sync(order_ids)` is called by every order write (the orders app, in its
transaction). It makes the points an order holds match what it should hold: what the rules
in force when it was placed give while it counts as revenue, nothing once it is cancelled or
refunded (the difference reversed, its own lot first). It is idempotent, so a status that
moves paid → shipped → completed earns once.
"""

from __future__ import annotations

import bisect
import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from ..choices import BonusEvent, EntryKind, VersionStatus
from ..models import LedgerEntry, LoyaltyProgram, Member, Referral, RuleVersion
from ..rules import Compiled, OrderInput, order_points, period_start
from . import ledger

_compiled: dict[tuple[int, str], Compiled] = {}


def compiled(version: RuleVersion) -> Compiled:
    """Published versions never change, so each is compiled once per process."""
    key = (version.pk, version.published_at.isoformat() if version.published_at else "")
    if key not in _compiled:
        _compiled[key] = Compiled.of(version)
    return _compiled[key]


class Versions:
    """The published versions by the time they came into force: `at(t)` is the one an order
    placed at t earns by (the first one for orders before it)."""

    def __init__(self):
        versions = list(
            RuleVersion.objects.filter(status=VersionStatus.PUBLISHED).order_by(
                "effective_from", "number"
            )
        )
        self.starts = [v.effective_from for v in versions]
        self.versions = [compiled(v) for v in versions]

    def __bool__(self):
        return bool(self.versions)

    def at(self, when: dt.datetime) -> Compiled | None:
        if not self.versions:
            return None
        i = bisect.bisect_right(self.starts, when) - 1
        return self.versions[max(i, 0)]


def _order_input(order, lines, member, *, first: bool) -> OrderInput:
    tier = member.tier
    return OrderInput(
        total=Decimal(order["total"]),
        at=timezone.localtime(order["ordered_at"]),
        channel=order["channel"],
        lines=lines,
        tier=tier.key if tier else "",
        tier_multiplier=tier.multiplier if tier else Decimal("1"),
        first_order=first,
    )


def _period_room(version: Compiled, member_id: int, at: dt.datetime) -> int | None:
    if version.period_cap is None:
        return None
    start = period_start(version.period, timezone.localtime(at))
    earned = LedgerEntry.objects.filter(
        member_id=member_id, kind__in=[EntryKind.EARN, EntryKind.REVERSE],
        order__isnull=False, **({"at__gte": start} if start else {}),
    ).aggregate(n=Sum("points"))["n"] or 0  # fmt: skip
    return max(version.period_cap - earned, 0)


CHUNK = 2000
# PostgreSQL advisory lock: a bulk award's batch holds it exclusively, one order's points take
# it shared, so both never give the same order its points.
AWARD_LOCK = 7_415_001


def orders_points_sync(*, order_ids, actor=None, removed: bool = False) -> None:
    """Give or take back points so each of these orders holds what it should (see above);
    `removed`: the orders are about to be deleted, so they should hold nothing."""
    ids = list(order_ids)
    if not ids:
        return
    if removed:
        # Only orders that hold points have anything to give back.
        held = set()
        for i in range(0, len(ids), CHUNK):
            held |= set(
                LedgerEntry.objects.filter(order_id__in=ids[i : i + CHUNK])
                .values_list("order_id", flat=True)
                .distinct()
            )
        ids = sorted(held)
    program = LoyaltyProgram.current()
    if not ids or not (program.is_active or removed):
        return
    versions = Versions()
    if not versions:
        return
    from django.db import connection

    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [AWARD_LOCK])
    for i in range(0, len(ids), CHUNK):
        _sync(ids[i : i + CHUNK], program, versions, actor=actor, removed=removed)


def _sync(ids, program, versions, *, actor, removed: bool) -> None:
    from guanxi.customers.models import Customer
    from guanxi.orders.choices import REVENUE_STATUSES, OrderStatus
    from guanxi.orders.models import Order, OrderLine

    orders = list(
        Order.objects.filter(pk__in=ids).values(
            "pk", "customer_id", "number", "ordered_at", "status", "channel", "total"
        )
    )
    held: dict[int, int] = dict(
        LedgerEntry.objects.filter(order_id__in=ids, kind__in=[EntryKind.EARN, EntryKind.REVERSE])
        .values("order_id").annotate(n=Sum("points")).values_list("order_id", "n")
    )  # fmt: skip
    earn_lots: dict[int, LedgerEntry] = {
        e.order_id: e
        for e in LedgerEntry.objects.filter(order_id__in=ids, kind=EntryKind.EARN).order_by("pk")
    }
    lines: dict[int, list] = {}
    for order_id, category, amount in OrderLine.objects.filter(order_id__in=ids).values_list(
        "order_id", "category", "amount"
    ):
        lines.setdefault(order_id, []).append((category, amount))
    members = {
        m.customer_id: m
        for m in Member.objects.filter(customer_id__in={o["customer_id"] for o in orders})
        .select_related("tier")
    }  # fmt: skip
    now = timezone.now()
    touched = set()
    for order in sorted(orders, key=lambda o: (o["ordered_at"], o["pk"])):
        revenue = order["status"] in REVENUE_STATUSES and not removed
        member = members.get(order["customer_id"])
        if member is None:
            if not (revenue and program.auto_enrol):
                continue
            from .members import member_ensure

            customer = Customer.objects.get(pk=order["customer_id"])
            member = members[customer.pk] = member_ensure(customer=customer, at=now, actor=actor)
        version = versions.at(order["ordered_at"])
        has = held.get(order["pk"], 0)
        lot = earn_lots.get(order["pk"])
        should = 0
        detail: dict = {}
        if revenue:
            if lot is not None and lot.detail.get("total") == str(order["total"]) and has > 0:
                should = has  # already earned on this total: the tier of today must not re-price
            else:
                first = lot.detail.get("first", False) if lot is not None else not (
                    LedgerEntry.objects.filter(member=member, kind=EntryKind.EARN,
                                               order__isnull=False).exists()
                )  # fmt: skip
                should, detail = order_points(
                    version, _order_input(order, lines.get(order["pk"], []), member, first=first)
                )
                room = _period_room(version, member.pk, order["ordered_at"])
                if room is not None and should - has > room:
                    detail["period_capped_from"] = should
                    should = has + room
                detail.update(total=str(order["total"]), first=first)
        delta = should - has
        if delta > 0:
            ledger.credit(
                member_id=member.pk, points=delta, kind=EntryKind.EARN, at=order["ordered_at"],
                expires_at=ledger.expiry_for(order["ordered_at"], program), order_id=order["pk"],
                order_number=order["number"], version=version.number, detail=detail,
            )  # fmt: skip
            touched.add(member.pk)
        elif delta < 0:
            if removed:
                reason = _("Order %(number)s was deleted") % {"number": order["number"]}
            elif not revenue:
                status = OrderStatus(order["status"]).label
                reason = _("Order %(number)s was %(status)s") % {
                    "number": order["number"],
                    "status": status,
                }
            else:
                reason = _("Order %(number)s changed") % {"number": order["number"]}
            ledger.debit(
                member_id=member.pk, points=-delta, kind=EntryKind.REVERSE, at=now,
                allow_negative=True, first_lot=lot.pk if lot else None, order_id=order["pk"],
                order_number=order["number"], version=version.number, reason=reason,
            )  # fmt: skip
        if order["status"] == OrderStatus.COMPLETED and not removed:
            _referral_convert(customer_id=order["customer_id"], order=order, at=now)
    if touched:
        from .tiers import tier_check

        for member_id in touched:
            tier_check(member_id=member_id, at=now)


def bonus_give(*, member: Member, event: str, at: dt.datetime, **fields) -> int:
    """The points the bonus rules in force give for `event`, within each rule's limit per
    period; 0 when none applies."""
    versions = Versions()
    version = versions.at(at)
    if version is None or not LoyaltyProgram.current().is_active:
        return 0
    given = 0
    local = timezone.localtime(at)
    for rule in version.bonuses_for(event, local.date()):
        if rule.get("limit") is not None:
            start = period_start(rule["per"], local)
            done = LedgerEntry.objects.filter(
                member=member, kind=EntryKind.EARN, detail__rule=rule["name"],
                **({"at__gte": start} if start else {}),
            ).count()  # fmt: skip
            if done >= rule["limit"]:
                continue
        if not rule["points"]:
            continue
        ledger.credit(
            member_id=member.pk, points=rule["points"], kind=EntryKind.EARN, at=at,
            expires_at=ledger.expiry_for(at), version=version.number,
            reason=str(BonusEvent(event).label), detail={"event": event, "rule": rule["name"]},
            **fields,
        )  # fmt: skip
        given += rule["points"]
    if given:
        from .tiers import tier_check

        tier_check(member_id=member.pk, at=at)
    return given


def _referral_convert(*, customer_id: int, order: dict, at) -> None:
    """The referred customer's first completed order: both sides get their bonus, once."""
    with transaction.atomic():
        if not Referral.objects.filter(referred_id=customer_id, converted_at__isnull=True).update(
            converted_at=at, order_id=order["pk"]
        ):
            return
        referral = Referral.objects.select_related("referrer").get(referred_id=customer_id)
        from .members import member_record

        referrer = referral.referrer
        bonus_give(member=referrer, event=BonusEvent.REFERRAL, at=at)
        referred = Member.objects.filter(customer_id=customer_id).first()
        if referred is not None:
            bonus_give(member=referred, event=BonusEvent.REFERRED, at=at)
        member_record(member=referrer, action="referral_converted", at=at,
                      order=order["number"], referred=customer_id)  # fmt: skip
