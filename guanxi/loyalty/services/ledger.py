"""The ledger: every change of a balance, and the one way balances change.

A balance changes only here, by a conditional `UPDATE` of the member row in the transaction
that inserts the ledger entry explaining it; nothing reads a balance and writes it back.
The `UPDATE` also locks the member row until the commit (PostgreSQL; SQLite's IMMEDIATE
transactions have one writer), so the lots that the same transaction then uses up cannot be
used up twice.

Invariants (tests/test_ledger_properties.py keeps them under random sequences):
- `balance` = the sum of the member's entries' `points`;
- the sum of the lots' `remaining` = max(balance, 0): a balance is below zero only when an
  order whose points were already spent is reversed, and the next points earned fill that
  hole before they make a lot;
- earned_total, redeemed_total and expired_total are the sums of their kinds.
"""

from __future__ import annotations

import calendar
import datetime as dt

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core.errors import Conflict

from ..choices import EntryKind
from ..models import LedgerEntry, LoyaltyProgram, Member


def add_months(at: dt.datetime, months: int) -> dt.datetime:
    """The same day `months` later (the month's last day when it is shorter)."""
    index = at.month - 1 + months
    year, month = at.year + index // 12, index % 12 + 1
    day = min(at.day, calendar.monthrange(year, month)[1])
    return at.replace(year=year, month=month, day=day)


def expiry_for(at: dt.datetime, program: LoyaltyProgram | None = None) -> dt.datetime | None:
    months = (program or LoyaltyProgram.current()).expiry_months
    return add_months(at, months) if months else None


def overdraw(balance: int, points: int) -> Conflict:
    return Conflict(
        _("The balance is %(balance)s points; %(points)s cannot be taken.")
        % {"balance": balance, "points": points},
        errors={"points": [_("More than the balance of %(balance)s.") % {"balance": balance}]},
        balance=balance,
    )


def credit(
    *,
    member_id: int,
    points: int,
    kind: str,
    at: dt.datetime | None = None,
    expires_at: dt.datetime | None = None,
    **fields,
) -> LedgerEntry:
    """Add points: the balance first (locking the member), then the entry as a lot."""
    assert points > 0
    at = at or timezone.now()
    earned = points if kind == EntryKind.EARN else 0
    table = connection.ops.quote_name(Member._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET balance = balance + %s, earned_total = earned_total + %s "
            "WHERE id = %s RETURNING balance",
            [points, earned, member_id],
        )
        (balance,) = cursor.fetchone()
    # A balance that was below zero takes its hole out of these points first.
    remaining = min(points, max(balance, 0))
    entry = LedgerEntry.objects.create(
        member_id=member_id, kind=kind, points=points, remaining=remaining, at=at,
        expires_at=expires_at, **fields,
    )  # fmt: skip
    entry.balance_after = balance  # what the caller answers with: this change's own result
    return entry


def debit(
    *,
    member_id: int,
    points: int,
    kind: str,
    at: dt.datetime | None = None,
    allow_negative: bool = False,
    first_lot: int | None = None,
    **fields,
) -> LedgerEntry:
    """Take points: a conditional update of the balance (409 naming the balance when it does
    not cover them, unless `allow_negative`), then the lots, oldest expiry first."""
    assert points > 0
    redeemed = points if kind == EntryKind.REDEEM else 0
    expired = points if kind == EntryKind.EXPIRE else 0
    table = connection.ops.quote_name(Member._meta.db_table)
    condition = "" if allow_negative else " AND balance >= %s"
    with connection.cursor() as cursor:
        # One statement both checks and takes, and says what it left (RETURNING: PostgreSQL,
        # SQLite ≥ 3.35).
        cursor.execute(
            f"UPDATE {table} SET balance = balance - %s, redeemed_total = redeemed_total + %s, "
            f"expired_total = expired_total + %s WHERE id = %s{condition} RETURNING balance",
            [points, redeemed, expired, member_id, *([] if allow_negative else [points])],
        )
        row = cursor.fetchone()
    if row is None:
        balance = Member.objects.filter(pk=member_id).values_list("balance", flat=True).first()
        raise overdraw(balance or 0, points)
    use_lots(member_id=member_id, points=points, first_lot=first_lot)
    entry = LedgerEntry.objects.create(
        member_id=member_id, kind=kind, points=-points, remaining=0,
        at=at or timezone.now(), **fields,
    )  # fmt: skip
    entry.balance_after = row[0]
    return entry


def use_lots(*, member_id: int, points: int, first_lot: int | None = None) -> None:
    """Take `points` out of the member's open lots: `first_lot` first (an order's own points
    when it is reversed), then by expiry, oldest first, those that never expire last."""
    lots = LedgerEntry.objects.filter(member_id=member_id, remaining__gt=0)
    order = [F("expires_at").asc(nulls_last=True), "id"]
    picked = []
    if first_lot is not None:
        picked = list(lots.filter(pk=first_lot).values_list("pk", "remaining"))
        lots = lots.exclude(pk=first_lot)
    left = points - sum(r for _pk, r in picked)
    if left > 0:
        # Read in pages: a balance made of many small lots never loads them all.
        for pk, remaining in (
            lots.order_by(*order).values_list("pk", "remaining").iterator(chunk_size=200)
        ):
            picked.append((pk, remaining))
            left -= remaining
            if left <= 0:
                break
    left = points
    updates = []
    for pk, remaining in picked:
        if left <= 0:
            break
        take = min(remaining, left)
        updates.append((remaining - take, pk))
        left -= take
    if updates:
        table = connection.ops.quote_name(LedgerEntry._meta.db_table)
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {table} SET remaining = %s WHERE id = %s", updates)


def change(*, member_id: int, points: int, kind: str, **fields) -> LedgerEntry:
    """Credit or debit by the sign of `points` (an adjustment either way)."""
    if points > 0:
        return credit(member_id=member_id, points=points, kind=kind, **fields)
    return debit(member_id=member_id, points=-points, kind=kind, **fields)


@transaction.atomic
def lots_expire(*, member_ids: list[int], now: dt.datetime) -> list[tuple[int, int, int]]:
    """Expire the lots of these members whose time has come; (member, lot, points) each."""
    members = Member.objects.filter(pk__in=member_ids).order_by("pk")
    if connection.vendor == "postgresql":
        list(members.select_for_update().values_list("pk", flat=True))  # lock, in id order
    lots = list(
        LedgerEntry.objects.filter(
            member_id__in=member_ids, remaining__gt=0, expires_at__lte=now
        ).values_list("member_id", "pk", "remaining", "expires_at")
    )
    if not lots:
        return []
    per_member: dict[int, int] = {}
    for member_id, _pk, remaining, _at in lots:
        per_member[member_id] = per_member.get(member_id, 0) + remaining
    table = connection.ops.quote_name(Member._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET balance = balance - %s, expired_total = expired_total + %s "
            "WHERE id = %s",
            [(points, points, member_id) for member_id, points in per_member.items()],
        )
    LedgerEntry.objects.filter(pk__in=[pk for _m, pk, _r, _a in lots]).update(remaining=0)
    LedgerEntry.objects.bulk_create(
        LedgerEntry(
            member_id=member_id,
            kind=EntryKind.EXPIRE,
            points=-remaining,
            at=expires_at,
            lot_id=pk,
            reason=_("Points earned more than the expiry period ago"),
        )  # fmt: skip
        for member_id, pk, remaining, expires_at in lots
    )
    return [(m, pk, r) for m, pk, r, _a in lots]
