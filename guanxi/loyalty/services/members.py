"""Members: enrolment, adjustments by an admin, redemption of points, the timeline."""

from __future__ import annotations

import secrets

from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.accounts.audit import audit_record
from guanxi.accounts.choices import AuditAction
from guanxi.core.bulk import Inserter
from guanxi.core.errors import Errors, NotFound
from guanxi.interactions.choices import EventKind
from guanxi.interactions.models import TimelineEvent
from guanxi.interactions.timeline import EVENT_COLUMNS, timeline_record

from ..choices import EntryKind
from ..models import LedgerEntry, LoyaltyTier, Member
from . import ledger

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed
CODE_LENGTH = 8
SELF_SERVICE_SALT = "guanxi.loyalty.self-service"
MAX_ADJUST = 10_000_000


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _random_codes(n: int) -> set[str]:
    # 32 letters: a random byte modulo 32 is uniform.
    raw = secrets.token_bytes(n * CODE_LENGTH)
    return {
        "".join(CODE_ALPHABET[b % 32] for b in raw[i : i + CODE_LENGTH])
        for i in range(0, len(raw), CODE_LENGTH)
    }


def new_codes(n: int) -> list[str]:
    """`n` distinct codes not held by any member."""
    codes: set[str] = set()
    while len(codes) < n:
        wanted = _random_codes(n - len(codes)) - codes
        taken = set()
        listed = list(wanted)
        for i in range(0, len(listed), 5000):
            taken |= set(
                Member.objects.filter(referral_code__in=listed[i : i + 5000]).values_list(
                    "referral_code", flat=True
                )
            )
        codes |= wanted - taken
    return list(codes)


def _lowest_tier() -> LoyaltyTier | None:
    return LoyaltyTier.objects.order_by("rank").first()


def member_record(*, member: Member, action: str, actor=None, at=None, **data) -> None:
    """The member's loyalty event on the customer's timeline."""
    timeline_record(
        customer_id=member.customer_id, kind=EventKind.LOYALTY, actor=actor, at=at,
        data={"action": action, **data},
    )  # fmt: skip


def members_record(rows) -> None:
    """Many loyalty timeline events: (customer_id, at, data)."""
    Inserter(TimelineEvent, EVENT_COLUMNS).insert(
        (cid, EventKind.LOYALTY, at, None, data, "", None) for cid, at, data in rows
    )


def member_of(customer_id: int) -> Member | None:
    return Member.objects.filter(customer_id=customer_id).select_related("tier").first()


def member_ensure(*, customer, at=None, actor=None) -> Member:
    """The customer's membership, enrolling them (in the lowest tier) when they have none."""
    member = member_of(customer.pk)
    if member is not None:
        return member
    at = at or timezone.now()
    tier = _lowest_tier()
    try:
        with transaction.atomic():
            member = Member.objects.create(
                customer=customer, referral_code=new_code(), joined_at=at, tier=tier,
                tier_since=at if tier else None,
            )  # fmt: skip
    except IntegrityError:  # enrolled meanwhile, or the rare code clash: read it again
        member = member_of(customer.pk)
        if member is None:
            return member_ensure(customer=customer, at=at, actor=actor)
        return member
    member_record(member=member, action="joined", actor=actor, at=at,
                  tier=tier.key if tier else "")  # fmt: skip
    return member


def member_enrol(*, actor, customer) -> Member:
    """Enrol a customer the actor may edit."""
    from guanxi.customers.services.termination import require_not_terminated

    access.require_visible(actor, customer.owner_id)
    access.require_on_customer(actor, "loyalty.serve", customer)
    require_not_terminated(customer)
    return member_ensure(customer=customer, actor=actor)


def _member_for_write(actor, customer, action: str) -> Member:
    access.require_visible(actor, customer.owner_id)
    access.require_on_customer(actor, action, customer)
    member = member_of(customer.pk)
    if member is None:
        raise NotFound(_("This customer is not a member of the loyalty program."))
    return member


def _points(value, errors: Errors, *, allow_negative: bool) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add("points", _("Must be a whole number."))
        return 0
    if value == 0 or (value < 0 and not allow_negative):
        errors.add("points", _("Must be above 0.") if not allow_negative else _("Must not be 0."))
    if abs(value) > MAX_ADJUST:
        errors.add("points", _("At most %(n)s points at once.") % {"n": MAX_ADJUST})
    return value


def points_adjust(*, actor, customer, points: int, reason: str) -> LedgerEntry:
    """An admin adds or takes points, with a reason; audited and on the timeline. Taking
    more than the balance is a 409 naming the balance."""
    member = _member_for_write(actor, customer, "loyalty.adjust")
    errors = Errors()
    points = _points(points, errors, allow_negative=True)
    reason = (reason or "").strip()
    if not reason:
        errors.add("reason", _("Say why the points are adjusted."))
    elif len(reason) > 300:
        errors.add("reason", _("At most 300 characters."))
    errors.raise_if_any()
    now = timezone.now()
    with transaction.atomic():
        expires = ledger.expiry_for(now) if points > 0 else None
        entry = ledger.change(
            member_id=member.pk, points=points, kind=EntryKind.ADJUST, at=now, reason=reason,
            actor=actor, **({"expires_at": expires} if points > 0 else {}),
        )  # fmt: skip
        audit_record(
            actor=actor, action=AuditAction.UPDATE, model="loyalty.member", object_id=member.pk,
            object_repr=str(customer)[:200], customer_id=customer.pk,
            changes={"points": [None, points], "reason": [None, reason]},
        )  # fmt: skip
        member_record(member=member, action="adjusted", actor=actor, at=now, points=points,
                      reason=reason)  # fmt: skip
        if points > 0:
            from .tiers import tier_check

            tier_check(member_id=member.pk, at=now)
    return entry


def points_redeem(*, actor, customer, points: int, reason: str = "") -> LedgerEntry:
    """Redeem plain points (taken off a purchase at the counter, say). An overdraw is a 409
    naming the balance; nothing is written then."""
    member = _member_for_write(actor, customer, "loyalty.serve")
    errors = Errors()
    points = _points(points, errors, allow_negative=False)
    errors.raise_if_any()
    now = timezone.now()
    with transaction.atomic():
        entry = ledger.debit(
            member_id=member.pk, points=points, kind=EntryKind.REDEEM, at=now, actor=actor,
            reason=(reason or "")[:300],
        )  # fmt: skip
        member_record(member=member, action="redeemed", actor=actor, at=now, points=points)
    return entry


def self_service_token(member: Member) -> str:
    return signing.dumps({"m": member.pk, "c": member.referral_code}, salt=SELF_SERVICE_SALT)


def member_from_token(token: str) -> Member:
    """The member a self-service link is for (signed, so it cannot be guessed or altered)."""
    try:
        data = signing.loads(token, salt=SELF_SERVICE_SALT)
    except signing.BadSignature:
        raise NotFound() from None
    member = (
        Member.objects.filter(pk=data.get("m"), referral_code=data.get("c"))
        .select_related("tier", "customer")
        .first()
    )
    if member is None:
        raise NotFound()
    return member


def sign_in(*, member: Member) -> int:
    """The member's daily sign-in on the self-service page: the sign-in bonus of the rules in
    force, once a day. Returns the points given (0 when already signed in today)."""
    from .earning import bonus_give

    today = timezone.localdate()
    with transaction.atomic():
        if (
            not Member.objects.filter(pk=member.pk)
            .exclude(last_sign_in=today)
            .update(last_sign_in=today)
        ):
            return 0
        return bonus_give(member=member, event="sign_in", at=timezone.now())


def member_fold(*, from_id: int, to_id: int) -> dict | None:
    """A merge of two customers: the absorbed one's membership joins the kept one's (its
    ledger, redemptions, tier moves and referrals move; balances and totals add up; the
    higher tier stays). Returns what `member_unfold` needs to give the points back."""
    from django.db.models import F

    from .. import models as m

    absorbed = Member.objects.select_related("tier").filter(customer_id=from_id).first()
    if absorbed is None:
        return None
    kept = Member.objects.select_related("tier").filter(customer_id=to_id).first()
    snapshot = {"balance": absorbed.balance, "code": absorbed.referral_code,
                "tier": absorbed.tier.key if absorbed.tier else "",
                "joined_at": absorbed.joined_at.isoformat()}  # fmt: skip
    if kept is None:
        Member.objects.filter(pk=absorbed.pk).update(customer_id=to_id)
        snapshot["moved_member"] = absorbed.pk
        return snapshot
    with transaction.atomic():
        Member.objects.filter(pk=kept.pk).update(
            balance=F("balance") + absorbed.balance,
            earned_total=F("earned_total") + absorbed.earned_total,
            redeemed_total=F("redeemed_total") + absorbed.redeemed_total,
            expired_total=F("expired_total") + absorbed.expired_total,
        )
        m.LedgerEntry.objects.filter(member=absorbed).update(member=kept)
        m.Redemption.objects.filter(member=absorbed).update(member=kept)
        m.TierMove.objects.filter(member=absorbed).update(member=kept)
        m.Referral.objects.filter(referrer=absorbed).update(referrer=kept)
        Member.objects.filter(referred_by=absorbed).update(referred_by=kept)
        if absorbed.tier and (kept.tier is None or absorbed.tier.rank > kept.tier.rank):
            Member.objects.filter(pk=kept.pk).update(tier=absorbed.tier)
        _lots_match_balance(kept.pk)
        absorbed.delete()
    return snapshot


def _lots_match_balance(member_id: int) -> None:
    """After two memberships were joined: the lots hold max(balance, 0) again (a balance
    below zero on one side takes its hole out of the other's lots)."""
    from django.db.models import Sum

    balance = Member.objects.filter(pk=member_id).values_list("balance", flat=True).get()
    held = (
        LedgerEntry.objects.filter(member_id=member_id, remaining__gt=0).aggregate(
            n=Sum("remaining")
        )["n"]
        or 0
    )
    if held > max(balance, 0):
        ledger.use_lots(member_id=member_id, points=held - max(balance, 0))


def member_unfold(*, snapshot: dict | None, from_id: int, to_id: int) -> None:
    """A merge undone: the restored customer is a member again (code, tier, joined) and the
    points they brought go back to them, as a transfer recorded on both ledgers. Their past
    entries stay in the kept member's history."""
    import datetime as dt

    if not snapshot:
        return
    if snapshot.get("moved_member"):
        kept_other = Member.objects.filter(customer_id=from_id).exclude(pk=snapshot["moved_member"])
        if not kept_other.exists():
            Member.objects.filter(pk=snapshot["moved_member"]).update(customer_id=to_id)
            return
    from guanxi.customers.models import Customer

    customer = Customer.objects.get(pk=to_id)
    code = snapshot.get("code") or new_code()
    if Member.objects.filter(referral_code=code).exists():
        code = new_code()
    tier = LoyaltyTier.objects.filter(key=snapshot.get("tier") or "").first() or _lowest_tier()
    now = timezone.now()
    restored = Member.objects.create(
        customer=customer, referral_code=code, tier=tier, tier_since=now,
        joined_at=dt.datetime.fromisoformat(snapshot["joined_at"]),
    )  # fmt: skip
    kept = Member.objects.filter(customer_id=from_id).first()
    points = int(snapshot.get("balance") or 0)
    if kept is None or points == 0:
        return
    reason = _("Merge undone: points given back")
    giver, taker = (kept, restored) if points > 0 else (restored, kept)
    ledger.debit(member_id=giver.pk, points=abs(points), kind=EntryKind.ADJUST, at=now,
                 allow_negative=True, reason=reason)  # fmt: skip
    ledger.credit(member_id=taker.pk, points=abs(points), kind=EntryKind.ADJUST, at=now,
                  expires_at=ledger.expiry_for(now), reason=reason)  # fmt: skip
