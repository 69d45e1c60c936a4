"""Figures of the loyalty program for the staff analytics page, scoped to the viewer: a rep
sees only the members who are their customers (and what those members did).

Every function is a handful of aggregate queries, whatever the number of members: months are
grouped in the database (`TruncMonth`, in the site's time zone, on SQLite and PostgreSQL),
nothing is read row by row. The time-bound figures cover the last `months` months, this one
included.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Abs, Coalesce, TruncMonth
from django.utils import timezone

from guanxi.accounts import access
from guanxi.customers.reports import month_start, months_back
from guanxi.customers.selectors import customer_queryset

from .choices import EntryKind, RedemptionStatus, RewardKind, TierMoveKind
from .models import LedgerEntry, LoyaltyTier, Member, Redemption, Referral, Reward, TierMove

ACTIVE_DAYS = 90
REPLACE_BELOW = 0.15  # "monthly analysis: replace benefits redeemed by fewer than 15%"


def _members(actor) -> QuerySet[Member]:
    return access.scope_customer_children(Member.objects.all(), actor, customer_path="customer")


def _children(model, actor) -> QuerySet:
    return access.scope_customer_children(
        model.objects.all(), actor, customer_path="member__customer"
    )


def _referrals(actor) -> QuerySet[Referral]:
    return access.scope_customer_children(
        Referral.objects.all(), actor, customer_path="referrer__customer"
    )


def month_keys(months: int, now=None) -> list[dt.datetime]:
    """The first instant of each of the last `months` months (local time), oldest first."""
    first = months_back(month_start(now), months - 1)
    return [months_back(first, -i) for i in range(months)]


def _key(value: dt.datetime) -> tuple[int, int]:
    return (value.year, value.month)


def participation(*, actor, now=None) -> dict:
    """Members, customers, the participation rate (members / customers) and the active
    members: those with a ledger entry in the last 90 days."""
    now = now or timezone.now()
    customers = customer_queryset(actor=actor).count()
    recent = LedgerEntry.objects.filter(
        member=OuterRef("pk"), at__gte=now - dt.timedelta(days=ACTIVE_DAYS)
    )
    counts = _members(actor).aggregate(
        members=Count("id"), active=Count("id", filter=Exists(recent))
    )
    members = counts["members"]
    return {
        "customers": customers,
        "members": members,
        "participation": members / customers if customers else None,
        "active": counts["active"],
        "active_rate": counts["active"] / members if members else None,
        "active_days": ACTIVE_DAYS,
    }


def points_per_month(*, actor, months: int = 12, now=None) -> list[dict]:
    """[{month, issued, redeemed, expired}] in points, each a positive number: issued = points
    earned plus positive adjustments; redeemed = points taken for rewards or at the counter;
    expired = points that lapsed. Reversals of orders and negative adjustments are in none."""
    keys = month_keys(months, now)
    rows = (
        _children(LedgerEntry, actor)
        .filter(at__gte=keys[0])
        .filter(
            Q(kind__in=[EntryKind.EARN, EntryKind.REDEEM, EntryKind.EXPIRE])
            | Q(kind=EntryKind.ADJUST, points__gt=0)
        )
        .annotate(month=TruncMonth("at"))
        .order_by()
        .values("month")
        .annotate(
            issued=Sum("points", filter=Q(kind__in=[EntryKind.EARN, EntryKind.ADJUST])),
            redeemed=Sum(Abs("points"), filter=Q(kind=EntryKind.REDEEM)),
            expired=Sum(Abs("points"), filter=Q(kind=EntryKind.EXPIRE)),
        )
    )
    by_month = {_key(r["month"]): r for r in rows}
    out = []
    for k in keys:
        row = by_month.get(_key(k), {})
        out.append(
            {
                "month": k,
                "issued": row.get("issued") or 0,
                "redeemed": row.get("redeemed") or 0,
                "expired": row.get("expired") or 0,
            }
        )
    return out


def point_value() -> Decimal | None:
    """Yuan per point, the lowest value / points of the active coupon rewards with a value
    (the cautious estimate), or None when there is none. Discount rewards are left out: their
    value is a percentage, not yuan."""
    ratios = [
        Decimal(r.value) / r.points
        for r in Reward.objects.filter(
            kind=RewardKind.COUPON, is_active=True, value__gt=0, points__gt=0
        ).only("value", "points")
    ]
    return min(ratios) if ratios else None


def liability(*, actor) -> dict:
    """Points outstanding (the sum of positive balances), and in yuan at `point_value()` when
    a coupon gives points a value."""
    counts = _members(actor).aggregate(
        points=Coalesce(Sum("balance", filter=Q(balance__gt=0)), 0),
        holders=Count("id", filter=Q(balance__gt=0)),
    )
    value = point_value()
    return {
        "points": counts["points"],
        "holders": counts["holders"],
        "point_value": value,
        "yuan": (Decimal(counts["points"]) * value).quantize(Decimal("0.01"))
        if value is not None
        else None,
    }


def reward_redemption_rates(*, actor, months: int = 12, now=None) -> list[dict]:
    """Per reward (the active ones, and any redeemed in the window): how many of the members
    who could have it took it.

    redemption rate = redeemers / eligible, where
    - redeemers: members who redeemed the reward in the last `months` months (cancelled
      redemptions not counted);
    - eligible: those redeemers, and every other member whose tier allows the reward and whose
      balance covers its points now.
    A reward under 15% is flagged "replace?"; with nobody eligible the rate is None."""
    since = month_keys(months, now)[0]
    redemptions = _children(Redemption, actor).filter(at__gte=since, reward__isnull=False)
    redemptions = redemptions.exclude(status=RedemptionStatus.CANCELLED)
    redeemed = {
        r["reward_id"]: r
        for r in redemptions.order_by()
        .values("reward_id")
        .annotate(redemptions=Count("id"), redeemers=Count("member_id", distinct=True))
    }
    rewards = list(
        Reward.objects.filter(Q(is_active=True) | Q(pk__in=list(redeemed)))
        .select_related("min_tier")
        .order_by("points", "pk")
    )
    if not rewards:
        return []
    members = _members(actor)
    counts = members.aggregate(
        **{
            f"r{reward.pk}": Count(
                "id",
                filter=Q(pk__in=redemptions.filter(reward_id=reward.pk).values("member_id"))
                | (_tier_allows(reward) & Q(balance__gte=reward.points)),
            )
            for reward in rewards
        }
    )
    out = []
    for reward in rewards:
        row = redeemed.get(reward.pk, {})
        eligible = counts[f"r{reward.pk}"]
        redeemers = row.get("redeemers", 0)
        rate = redeemers / eligible if eligible else None
        out.append(
            {
                "reward": reward,
                "redemptions": row.get("redemptions", 0),
                "redeemers": redeemers,
                "eligible": eligible,
                "rate": rate,
                "replace": rate is not None and rate < REPLACE_BELOW,
            }
        )
    return out


def _tier_allows(reward: Reward) -> Q:
    if reward.min_tier_id is None:
        return Q()
    return Q(tier__rank__gte=reward.min_tier.rank)


def tier_distribution(*, actor) -> list[dict]:
    """[{tier, members, share}] for every tier, lowest first; members with no tier last (as
    tier None) when there are any."""
    rows = _members(actor).order_by().values("tier_id").annotate(n=Count("id"))
    counts = {r["tier_id"]: r["n"] for r in rows}
    total = sum(counts.values())
    out = [
        {"tier": t, "members": counts.get(t.pk, 0)} for t in LoyaltyTier.objects.order_by("rank")
    ]
    if counts.get(None):
        out.append({"tier": None, "members": counts[None]})
    for row in out:
        row["share"] = row["members"] / total if total else None
    return out


def tier_moves_per_month(*, actor, months: int = 12, now=None) -> list[dict]:
    """[{month, joined, upgrade, downgrade, grace}]: tier moves by kind per month."""
    keys = month_keys(months, now)
    rows = (
        _children(TierMove, actor)
        .filter(at__gte=keys[0])
        .annotate(month=TruncMonth("at"))
        .order_by()
        .values("month", "kind")
        .annotate(n=Count("id"))
    )
    counts = {(_key(r["month"]), r["kind"]): r["n"] for r in rows}
    return [
        {"month": k, **{kind: counts.get((_key(k), kind), 0) for kind in TierMoveKind.values}}
        for k in keys
    ]


def referral_funnel(*, actor, months: int = 12, now=None) -> dict:
    """Referrals signed up in the last `months` months → those whose referred customer placed
    an order (any status) → converted (their first order completed, both sides rewarded);
    the success rate is converted / signed up."""
    from guanxi.orders.models import Order

    since = month_keys(months, now)[0]
    ordered = Order.objects.filter(customer_id=OuterRef("referred_id"))
    counts = (
        _referrals(actor)
        .filter(at__gte=since)
        .aggregate(
            signed_up=Count("id"),
            ordered=Count("id", filter=Exists(ordered)),
            converted=Count("id", filter=Q(converted_at__isnull=False)),
        )
    )
    signed_up = counts["signed_up"]
    return {
        **counts,
        "success_rate": counts["converted"] / signed_up if signed_up else None,
    }


def overview(*, actor, months: int = 12, now=None) -> dict:
    """Everything the analytics page shows."""
    now = now or timezone.now()
    return {
        "participation": participation(actor=actor, now=now),
        "points": points_per_month(actor=actor, months=months, now=now),
        "liability": liability(actor=actor),
        "rewards": reward_redemption_rates(actor=actor, months=months, now=now),
        "tiers": tier_distribution(actor=actor),
        "tier_moves": tier_moves_per_month(actor=actor, months=months, now=now),
        "funnel": referral_funnel(actor=actor, months=months, now=now),
        "months": months,
    }
