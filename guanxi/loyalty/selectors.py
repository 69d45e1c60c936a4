"""Reads of the loyalty app, scoped by the actor through the customer a member is."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from guanxi.accounts import access
from guanxi.core.errors import NotFound

from .choices import VersionStatus
from .models import (
    LedgerEntry,
    LoyaltyProgram,
    LoyaltyTier,
    Member,
    Redemption,
    Referral,
    Reward,
    RuleVersion,
    TierMove,
)


def member_list(*, actor, tier: str | None = None, q: str | None = None) -> QuerySet[Member]:
    members = access.scope_customer_children(
        Member.objects.select_related("customer", "tier"), actor
    )
    if tier:
        members = members.filter(tier__key=tier)
    if q:
        members = members.filter(
            Q(customer__name__icontains=q) | Q(referral_code=q.strip().upper())
        )
    return members.order_by("-joined_at", "-id")


def member_get(*, actor, customer_id: int) -> Member:
    """The membership of a customer the actor may see (404 otherwise, or if none)."""
    member = (
        access.scope_customer_children(Member.objects.select_related("customer", "tier"), actor)
        .filter(customer_id=customer_id)
        .first()
    )
    if member is None:
        raise NotFound()
    return member


def customer_for(*, actor, customer_id: int):
    from guanxi.customers.selectors import customer_get

    return customer_get(actor=actor, customer_id=customer_id)


def member_ledger(*, member: Member, kind: str | None = None) -> QuerySet[LedgerEntry]:
    entries = LedgerEntry.objects.filter(member=member).select_related("reward", "actor")
    if kind:
        entries = entries.filter(kind=kind)
    return entries.order_by("-at", "-id")


def member_progress(*, member: Member) -> dict:
    """The member's tier, the qualifying value of the last 12 months, and what the next tier
    needs."""
    from .services.tiers import qualifying_values

    value = qualifying_values([member.pk], at=timezone.now()).get(member.pk)
    tiers = list(LoyaltyTier.objects.order_by("rank"))
    rank = member.tier.rank if member.tier else 0
    following = next((t for t in tiers if t.rank > rank), None)
    return {
        "tier": member.tier,
        "value": value,
        "qualify_by": LoyaltyProgram.current().qualify_by,
        "next": following,
        "to_next": max(following.threshold - value, 0) if following else None,
        "grace_until": member.grace_until,
    }


def member_redemptions(*, member: Member) -> QuerySet[Redemption]:
    return Redemption.objects.filter(member=member).select_related("reward").order_by("-at")


def member_referrals(*, member: Member) -> dict:
    """Referrals made, converted, the success rate and the points they brought."""
    referrals = Referral.objects.filter(referrer=member)
    made = referrals.count()
    converted = referrals.filter(converted_at__isnull=False).count()
    earned = LedgerEntry.objects.filter(member=member, detail__event="referral").values_list(
        "points", flat=True
    )
    return {
        "referrals": made,
        "conversions": converted,
        "success_rate": converted / made if made else None,
        "points": sum(earned),
    }


def reward_list(*, active_only: bool = False, member: Member | None = None) -> QuerySet[Reward]:
    rewards = Reward.objects.select_related("min_tier")
    if active_only or member is not None:
        now = timezone.now()
        rewards = rewards.filter(is_active=True).filter(
            Q(valid_from__isnull=True) | Q(valid_from__lte=now),
            Q(valid_until__isnull=True) | Q(valid_until__gte=now),
        )
    if member is not None:
        rank = member.tier.rank if member.tier else 0
        rewards = rewards.filter(Q(min_tier__isnull=True) | Q(min_tier__rank__lte=rank))
    return rewards.order_by("points", "pk")


def reward_get(*, reward_id: int) -> Reward:
    reward = Reward.objects.select_related("min_tier").filter(pk=reward_id).first()
    if reward is None:
        raise NotFound()
    return reward


def versions() -> QuerySet[RuleVersion]:
    return RuleVersion.objects.order_by("-number")


def version_get(*, version_id: int) -> RuleVersion:
    version = RuleVersion.objects.filter(pk=version_id).first()
    if version is None:
        raise NotFound()
    return version


def published_versions() -> QuerySet[RuleVersion]:
    return RuleVersion.objects.filter(status=VersionStatus.PUBLISHED).order_by("-effective_from")


def tiers(*, actor=None) -> QuerySet[LoyaltyTier]:
    """The tiers, lowest first; `member_count` counts the members whose customer the actor
    may see (every member when no actor is given)."""
    members = Count("members")
    if actor is not None:
        members = Count("members", filter=access.owner_q(actor, "members__customer__owner"))
    return LoyaltyTier.objects.annotate(member_count=members).order_by("rank")


def tier_moves(*, actor, member: Member | None = None) -> QuerySet[TierMove]:
    moves = access.scope_customer_children(
        TierMove.objects.select_related("from_tier", "to_tier", "member__customer"),
        actor,
        customer_path="member__customer",
    )
    if member is not None:
        moves = moves.filter(member=member)
    return moves.order_by("-at", "-id")


def referral_list(*, actor) -> QuerySet[Referral]:
    """Referrals whose referrer and referred customer the actor may both see."""
    referrals = access.scope_customer_children(
        Referral.objects.select_related("referrer__customer", "referred"),
        actor,
        customer_path="referrer__customer",
    )
    return access.scope_customer_children(referrals, actor, customer_path="referred").order_by(
        "-at", "-id"
    )
