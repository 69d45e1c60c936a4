"""The reward catalogue and redeeming rewards; coupons are single-use and checked when an
order uses them."""

from __future__ import annotations

import secrets
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.accounts.audit import audit_record
from guanxi.accounts.choices import AuditAction
from guanxi.core.errors import Conflict, Errors, NotFound

from ..choices import EntryKind, RedemptionStatus, RewardKind
from ..models import LoyaltyTier, Member, Redemption, Reward
from . import ledger
from .members import _member_for_write, member_record

COUPON_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
REWARD_FIELDS = ("name", "name_en", "description", "kind", "points", "stock", "value",
                 "min_tier", "valid_from", "valid_until", "coupon_days", "is_active")  # fmt: skip


def _clean_reward(data: dict, *, partial: bool) -> dict:
    errors = Errors()
    out = {}
    for key in set(data) - set(REWARD_FIELDS):
        errors.add(key, _("Unknown field."))
    if not partial or "name" in data:
        name = str(data.get("name") or "").strip()
        if not name:
            errors.add("name", _("A reward needs a name."))
        elif len(name) > 100:
            errors.add("name", _("At most 100 characters."))
        out["name"] = name
    for key, limit in (("name_en", 100), ("description", 300)):
        if key in data:
            value = str(data[key] or "").strip()
            if len(value) > limit:
                errors.add(key, _("At most %(n)s characters.") % {"n": limit})
            out[key] = value
    if not partial or "kind" in data:
        if data.get("kind") not in RewardKind.values:
            errors.add(
                "kind", _("Must be one of: %(values)s") % {"values": ", ".join(RewardKind.values)}
            )
        out["kind"] = data.get("kind")
    if not partial or "points" in data:
        points = data.get("points")
        if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
            errors.add("points", _("Must be a whole number above 0."))
        out["points"] = points
    for key in ("stock", "coupon_days"):
        if key in data:
            value = data[key]
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 0):  # fmt: skip
                errors.add(key, _("Must be a whole number of 0 or more."))
            out[key] = value if key == "stock" or value is not None else 90
    if "value" in data:
        try:
            value = Decimal(str(data["value"] if data["value"] is not None else 0))
            if not value.is_finite() or value < 0:
                raise InvalidOperation
            out["value"] = value
        except InvalidOperation:
            errors.add("value", _("Must be a number of 0 or more."))
    if "min_tier" in data:
        key = data["min_tier"]
        tier = None
        if key not in (None, ""):
            tier = LoyaltyTier.objects.filter(key=key).first()
            if tier is None:
                errors.add("min_tier", _("Unknown tier: %(value)s") % {"value": key})
        out["min_tier"] = tier
    for key in ("valid_from", "valid_until"):
        if key in data:
            value = data[key]
            if value in (None, ""):
                out[key] = None
            else:
                parsed = value if hasattr(value, "tzinfo") else parse_datetime(str(value))
                if parsed is None:
                    errors.add(key, _("Not a date and time."))
                elif timezone.is_naive(parsed):
                    parsed = timezone.make_aware(parsed)
                out[key] = parsed
    if "is_active" in data:
        out["is_active"] = bool(data["is_active"])
    if out.get("valid_from") and out.get("valid_until") and out["valid_until"] < out["valid_from"]:
        errors.add("valid_until", _("Ends before it starts."))
    errors.raise_if_any()
    return out


def reward_create(*, actor, data: dict) -> Reward:
    access.require(actor, "loyalty.manage")
    reward = Reward.objects.create(**_clean_reward(data, partial=False))
    audit_record(actor=actor, action=AuditAction.CREATE, instance=reward)
    return reward


def reward_update(*, actor, reward: Reward, data: dict) -> Reward:
    access.require(actor, "loyalty.manage")
    clean = _clean_reward(data, partial=True)
    for key, value in clean.items():
        setattr(reward, key, value)
    reward.save()
    audit_record(actor=actor, action=AuditAction.UPDATE, instance=reward,
                 changes={k: [None, str(v)] for k, v in clean.items()})  # fmt: skip
    return reward


def reward_available(reward: Reward, member: Member, now=None) -> str | None:
    """Why the member cannot have this reward now, or None."""
    now = now or timezone.now()
    if not reward.is_active:
        return _("This reward is no longer offered.")
    if reward.valid_from and now < reward.valid_from:
        return _("This reward is not offered yet.")
    if reward.valid_until and now > reward.valid_until:
        return _("This reward is no longer offered.")
    if reward.min_tier_id and (member.tier is None or member.tier.rank < reward.min_tier.rank):
        return _("This reward is for %(tier)s members and above.") % {"tier": reward.min_tier.label}
    if reward.stock is not None and reward.stock <= 0:
        return _("This reward is out of stock.")
    return None


def _coupon_code() -> str:
    return "GX" + "".join(secrets.choice(COUPON_ALPHABET) for _ in range(10))


def reward_redeem(*, actor, customer=None, member: Member | None = None, reward_id) -> Redemption:
    """Redeem a reward for its points: stock and balance each taken by a conditional update,
    so concurrent redemptions can neither oversell nor overdraw; 409 when either runs out."""
    if member is None:
        member = _member_for_write(actor, customer, "loyalty.serve")
    member = Member.objects.select_related("tier").get(pk=member.pk)
    reward = Reward.objects.select_related("min_tier").filter(pk=reward_id).first()
    if reward is None:
        raise NotFound(errors={"reward": [_("No such reward.")]})
    now = timezone.now()
    why = reward_available(reward, member, now)
    if why:
        raise Conflict(why, errors={"reward": [why]})
    with transaction.atomic():
        if reward.stock is not None and not Reward.objects.filter(pk=reward.pk, stock__gt=0).update(
            stock=F("stock") - 1
        ):
            why = _("This reward is out of stock.")
            raise Conflict(why, errors={"reward": [why]})
        entry = ledger.debit(
            member_id=member.pk, points=reward.points, kind=EntryKind.REDEEM, at=now,
            reward=reward, actor=actor if actor is not None and actor.is_authenticated else None,
            reason=reward.name,
        )  # fmt: skip
        coupon = reward.kind in (RewardKind.COUPON, RewardKind.DISCOUNT)
        redemption = Redemption.objects.create(
            member=member, reward=reward, entry=entry, points=reward.points, at=now,
            code=_coupon_code() if coupon else "",
            expires_at=now + timezone.timedelta(days=reward.coupon_days) if coupon else None,
        )  # fmt: skip
        member_record(
            member=member,
            action="reward",
            at=now,
            points=reward.points,
            reward=reward.name,
            code=redemption.code,
            actor=actor if actor is not None and actor.is_authenticated else None,
        )
    return redemption


def coupon_check(*, code: str, customer_id: int) -> Redemption:
    """The coupon a customer's order may use: theirs, issued, not expired."""
    redemption = (
        Redemption.objects.select_related("reward", "member")
        .filter(code=(code or "").strip().upper())
        .first()
    )
    if redemption is None or redemption.member.customer_id != customer_id:
        raise NotFound(errors={"coupon": [_("No such coupon for this customer.")]})
    if redemption.status != RedemptionStatus.ISSUED:
        raise Conflict(errors={"coupon": [_("This coupon has already been used.")]})
    if redemption.expires_at and redemption.expires_at < timezone.now():
        raise Conflict(errors={"coupon": [_("This coupon has expired.")]})
    return redemption


def coupon_use(*, code: str, order) -> Redemption:
    """Mark a coupon used by an order (in the order's transaction). Single use: a conditional
    update, so two orders cannot both use it."""
    redemption = coupon_check(code=code, customer_id=order.customer_id)
    if not Redemption.objects.filter(pk=redemption.pk, status=RedemptionStatus.ISSUED).update(
        status=RedemptionStatus.USED, used_at=timezone.now(), used_order=order
    ):
        raise Conflict(errors={"coupon": [_("This coupon has already been used.")]})
    redemption.refresh_from_db()
    return redemption
