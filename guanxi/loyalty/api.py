"""The loyalty program over REST: members, their ledger, redemptions and referrals; rewards,
tiers and the earning rules in versions."""

from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Header, Query, Router, Status

from guanxi.accounts import access
from guanxi.core.api import ERRORS, READ_ERRORS, Id, has_nul
from guanxi.core.errors import NotFound, ValidationFailed
from guanxi.core.pagination import PageParams, paginate

from . import selectors, services
from .choices import EntryKind
from .models import LoyaltyProgram, Member
from .schemas import (
    AdjustIn,
    BacktestIn,
    BacktestOut,
    CouponCheckIn,
    CouponOut,
    LedgerPage,
    LoyaltyConflictOut,
    MemberDetailOut,
    MemberFilters,
    MemberIn,
    MemberPage,
    PointsOut,
    ProgramOut,
    ProgramPatch,
    PublishIn,
    RedeemIn,
    RedeemOut,
    RedemptionPage,
    ReferralIn,
    ReferralOut,
    ReferralPage,
    ReferralStatsOut,
    RewardIn,
    RewardOut,
    RewardPage,
    RewardPatch,
    TierIn,
    TierMovePage,
    TierOut,
    TierPatch,
    VersionIn,
    VersionOut,
    VersionPage,
    VersionPatch,
)
from .services.idempotency import idempotent
from .services.members import self_service_token
from .services.rewards import coupon_check

router = Router(tags=["loyalty"])

# A write of points answers 409 with the balance when it falls short.
POINTS_ERRORS = {**ERRORS, 409: LoyaltyConflictOut}
IDEMPOTENCY_KEY = Header(
    None,
    alias="Idempotency-Key",
    description="Repeat a request safely: the same key answers what its first request did.",
)


# -- shapes -----------------------------------------------------------------------------------


def tier_ref(tier) -> dict | None:
    return {"key": tier.key, "name": tier.name, "name_en": tier.name_en} if tier else None


def member_out(member: Member) -> dict:
    return {
        "customer": member.customer_id,
        "customer_name": member.customer.name,
        "balance": member.balance,
        "tier": tier_ref(member.tier),
        "tier_since": member.tier_since,
        "grace_until": member.grace_until,
        "earned_total": member.earned_total,
        "redeemed_total": member.redeemed_total,
        "expired_total": member.expired_total,
        "joined_at": member.joined_at,
        "referral_code": member.referral_code,
    }


def member_detail_out(member: Member) -> dict:
    progress = selectors.member_progress(member=member)
    following = progress["next"]
    return {
        **member_out(member),
        "progress": {
            "value": progress["value"],
            "qualify_by": progress["qualify_by"],
            "next_tier": following.key if following else None,
            "next_threshold": following.threshold if following else None,
            "to_next": progress["to_next"],
        },
        "self_service_url": reverse("loyalty_self_service", args=[self_service_token(member)]),
    }


def entry_out(entry) -> dict:
    return {
        "id": entry.pk,
        "kind": entry.kind,
        "points": entry.points,
        "at": entry.at,
        "expires_at": entry.expires_at,
        "remaining": entry.remaining,
        "order_number": entry.order_number,
        "version": entry.version,
        "reward": entry.reward_id,
        "reason": entry.reason,
        "actor": entry.actor.username if entry.actor_id else None,
    }


def redemption_out(redemption) -> dict:
    return {
        "id": redemption.pk,
        "reward": redemption.reward_id,
        "reward_name": redemption.reward.label if redemption.reward_id else None,
        "points": redemption.points,
        "code": redemption.code,
        "status": redemption.status,
        "expires_at": redemption.expires_at,
        "used_at": redemption.used_at,
        "at": redemption.at,
    }


def reward_out(reward) -> dict:
    return {
        **{f: getattr(reward, f) for f in RewardOut.model_fields if f != "min_tier"},
        "min_tier": reward.min_tier.key if reward.min_tier_id else None,
    }


def tier_out(tier) -> dict:
    fields = ("id", "key", "name", "name_en", "rank", "threshold", "benefits", "color")
    return {**{f: getattr(tier, f) for f in fields}, "members": tier.member_count}


def version_out(version, in_force_id: int | None) -> dict:
    fields = ("id", "number", "status", "effective_from", "base_rate", "rounding", "order_cap",
              "period_cap", "period", "rules", "note", "created_at", "published_at")  # fmt: skip
    return {
        **{f: getattr(version, f) for f in fields},
        "in_force": version.pk == in_force_id,
        "created_by": version.created_by.username if version.created_by_id else None,
    }


def referral_out(referral, actor=None) -> dict:
    """With `actor`: a referrer the actor may not see is named by an initial only (a code is
    shared freely; who holds it is not), as on the public referral page."""
    referrer = referral.referrer.customer
    hidden = actor is not None and not access.can_see_owner(actor, referrer.owner_id)
    return {
        "id": referral.pk,
        "referrer": None if hidden else referrer.pk,
        "referrer_name": f"{referrer.name[:1]}*" if hidden else referrer.name,
        "referrer_code": referral.referrer.referral_code,
        "referred": referral.referred_id,
        "referred_name": referral.referred.name,
        "device_id": referral.device_id,
        "at": referral.at,
        "converted_at": referral.converted_at,
        "order": referral.order_id,
    }


def _in_force_id() -> int | None:
    version = services.version_in_force()
    return version.pk if version else None


def _balance(entry) -> int:
    """The balance right after this entry, read in its transaction (later writes by others
    do not show in the answer)."""
    return entry.balance_after


def _json(schema, data: dict) -> dict:
    """The answer as stored JSON, so a replay of an idempotent request is the same answer."""
    return schema.model_validate(data).model_dump(mode="json")


def _points_write(request, *, key, body: dict, run) -> Status:
    if key is not None and has_nul(key):
        raise ValidationFailed(
            errors={"Idempotency-Key": [_("Text may not contain NUL characters.")]}
        )
    status, answer = idempotent(
        user=request.user, key=key, scope=f"{request.method} {request.path}", body=body, run=run
    )
    return Status(status, answer)


# -- the program ------------------------------------------------------------------------------


def _program_out(program) -> dict:
    return {f: getattr(program, f) for f in ProgramOut.model_fields}


@router.get("/loyalty/program", response={200: ProgramOut, **READ_ERRORS})
def program(request):
    """The program's settings: expiry of points, how tiers qualify, the grace period."""
    return _program_out(LoyaltyProgram.current())


@router.patch("/loyalty/program", response={200: ProgramOut, **ERRORS})
def program_patch(request, payload: ProgramPatch):
    """Change the program's settings (admins and marketers)."""
    data = payload.model_dump(exclude_unset=True)
    return _program_out(services.program_update(actor=request.user, data=data))


# -- members ----------------------------------------------------------------------------------


@router.get("/loyalty/members", response={200: MemberPage, **READ_ERRORS})
def list_members(request, filters: Query[MemberFilters], page: Query[PageParams]):
    """Members whose customer you may see, newest first; `q` is a name or a referral code."""
    qs = selectors.member_list(actor=request.user, tier=filters.tier, q=filters.q)
    result = paginate(qs, page)
    result["items"] = [member_out(m) for m in result["items"]]
    return result


@router.post("/loyalty/members", response={200: MemberDetailOut, 201: MemberDetailOut, **ERRORS})
def enrol_member(request, payload: MemberIn):
    """Enrol a customer you may serve (201); one already a member answers 200 with it."""
    customer = selectors.customer_for(actor=request.user, customer_id=payload.customer)
    try:
        selectors.member_get(actor=request.user, customer_id=customer.pk)
        status = 200
    except NotFound:
        status = 201
    member = services.member_enrol(actor=request.user, customer=customer)
    member = selectors.member_get(actor=request.user, customer_id=member.customer_id)
    return Status(status, member_detail_out(member))


@router.get("/loyalty/members/{int:customer_id}", response={200: MemberDetailOut, **READ_ERRORS})
def get_member(request, customer_id: Id):
    """A customer's membership: balance, totals, tier, progress and their own page's link."""
    return member_detail_out(selectors.member_get(actor=request.user, customer_id=customer_id))


@router.get("/loyalty/members/{int:customer_id}/ledger", response={200: LedgerPage, **READ_ERRORS})
def member_ledger(request, customer_id: Id, page: Query[PageParams], kind: EntryKind | None = None):
    """Every change of the member's balance, newest first (a positive entry is a lot)."""
    member = selectors.member_get(actor=request.user, customer_id=customer_id)
    result = paginate(selectors.member_ledger(member=member, kind=kind), page)
    result["items"] = [entry_out(e) for e in result["items"]]
    return result


@router.post(
    "/loyalty/members/{int:customer_id}/adjust", response={201: PointsOut, **POINTS_ERRORS}
)
def adjust_points(
    request, customer_id: Id, payload: AdjustIn, idempotency_key: str | None = IDEMPOTENCY_KEY
):
    """Add or take points by hand with a reason (admins); an overdraw is 409 with the balance."""
    member = selectors.member_get(actor=request.user, customer_id=customer_id)

    def run():
        entry = services.points_adjust(
            actor=request.user, customer=member.customer, points=payload.points,
            reason=payload.reason,
        )  # fmt: skip
        return 201, _json(PointsOut, {"balance": _balance(entry), "entry": entry_out(entry)})

    return _points_write(request, key=idempotency_key, body=payload.model_dump(), run=run)


@router.post(
    "/loyalty/members/{int:customer_id}/redeem", response={201: RedeemOut, **POINTS_ERRORS}
)
def redeem(
    request, customer_id: Id, payload: RedeemIn, idempotency_key: str | None = IDEMPOTENCY_KEY
):
    """Redeem `points` or a `reward` (one of them); an overdraw is a 409 with the balance."""
    if (payload.points is None) == (payload.reward is None):
        message = (
            _("Give either points or a reward, not both.")
            if payload.points is not None
            else _("Give the points or the reward to redeem.")
        )
        raise ValidationFailed(errors={"points": [message], "reward": [message]})
    member = selectors.member_get(actor=request.user, customer_id=customer_id)

    def run():
        if payload.reward is not None:
            redemption = services.reward_redeem(
                actor=request.user, customer=member.customer, reward_id=payload.reward
            )
            entry, out = redemption.entry, redemption_out(redemption)
        else:
            entry = services.points_redeem(
                actor=request.user, customer=member.customer, points=payload.points
            )
            out = None
        answer = {"balance": _balance(entry), "entry": entry_out(entry), "redemption": out}
        return 201, _json(RedeemOut, answer)

    return _points_write(request, key=idempotency_key, body=payload.model_dump(), run=run)


@router.get(
    "/loyalty/members/{int:customer_id}/redemptions",
    response={200: RedemptionPage, **READ_ERRORS},
)
def member_redemptions(request, customer_id: Id, page: Query[PageParams]):
    """The member's redemptions, newest first, with coupon codes and whether they were used."""
    member = selectors.member_get(actor=request.user, customer_id=customer_id)
    result = paginate(selectors.member_redemptions(member=member), page)
    result["items"] = [redemption_out(r) for r in result["items"]]
    return result


@router.get(
    "/loyalty/members/{int:customer_id}/referrals",
    response={200: ReferralStatsOut, **READ_ERRORS},
)
def member_referrals(request, customer_id: Id):
    """How many the member referred, how many bought, the success rate and the points."""
    member = selectors.member_get(actor=request.user, customer_id=customer_id)
    return selectors.member_referrals(member=member)


@router.get(
    "/loyalty/members/{int:customer_id}/tier-moves",
    response={200: TierMovePage, **READ_ERRORS},
)
def member_tier_moves(request, customer_id: Id, page: Query[PageParams]):
    """The member's moves between tiers, newest first, each with its reason."""
    member = selectors.member_get(actor=request.user, customer_id=customer_id)
    result = paginate(selectors.tier_moves(actor=request.user, member=member), page)
    result["items"] = [
        {
            "id": m.pk,
            "customer": m.member.customer_id,
            "kind": m.kind,
            "from_tier": m.from_tier.key if m.from_tier_id else None,
            "to_tier": m.to_tier.key if m.to_tier_id else None,
            "value": m.value,
            "reason": m.reason,
            "at": m.at,
        }
        for m in result["items"]
    ]
    return result


# -- rewards and coupons ----------------------------------------------------------------------


@router.get("/loyalty/rewards", response={200: RewardPage, **READ_ERRORS})
def list_rewards(request, page: Query[PageParams], active: bool = False):
    """The reward catalogue, cheapest first; `active=true` keeps those offered now."""
    result = paginate(selectors.reward_list(active_only=active), page)
    result["items"] = [reward_out(r) for r in result["items"]]
    return result


@router.post("/loyalty/rewards", response={201: RewardOut, **ERRORS})
def create_reward(request, payload: RewardIn):
    """Add a reward to the catalogue (admins and marketers); `min_tier` is a tier's key."""
    reward = services.reward_create(actor=request.user, data=payload.model_dump(exclude_unset=True))
    return Status(201, reward_out(selectors.reward_get(reward_id=reward.pk)))


@router.get("/loyalty/rewards/{int:reward_id}", response={200: RewardOut, **READ_ERRORS})
def get_reward(request, reward_id: Id):
    """One reward of the catalogue."""
    return reward_out(selectors.reward_get(reward_id=reward_id))


@router.patch("/loyalty/rewards/{int:reward_id}", response={200: RewardOut, **ERRORS})
def update_reward(request, reward_id: Id, payload: RewardPatch):
    """Change a reward (admins and marketers); `is_active=false` takes it off the catalogue."""
    reward = selectors.reward_get(reward_id=reward_id)
    data = payload.model_dump(exclude_unset=True)
    services.reward_update(actor=request.user, reward=reward, data=data)
    return reward_out(selectors.reward_get(reward_id=reward_id))


@router.post("/loyalty/coupons/check", response={200: CouponOut, **ERRORS})
def check_coupon(request, payload: CouponCheckIn):
    """Check a coupon for a customer's order: theirs (else 404), unused and unexpired (else 409)."""
    customer = selectors.customer_for(actor=request.user, customer_id=payload.customer)
    redemption = coupon_check(code=payload.code, customer_id=customer.pk)
    reward = redemption.reward
    return {
        "id": redemption.pk,
        "code": redemption.code,
        "customer": customer.pk,
        "reward": redemption.reward_id,
        "reward_name": reward.label if reward else None,
        "kind": reward.kind if reward else None,
        "value": reward.value if reward else None,
        "status": redemption.status,
        "expires_at": redemption.expires_at,
    }


# -- tiers ------------------------------------------------------------------------------------


def _tier(request, tier_id: int):
    tier = selectors.tiers(actor=request.user).filter(pk=tier_id).first()
    if tier is None:
        raise NotFound()
    return tier


@router.get("/loyalty/tiers", response={200: list[TierOut], **READ_ERRORS})
def list_tiers(request):
    """The membership tiers, lowest first, with their thresholds, benefits and members."""
    return [tier_out(t) for t in selectors.tiers(actor=request.user)]


@router.post("/loyalty/tiers", response={201: TierOut, **ERRORS})
def create_tier(request, payload: TierIn):
    """Add a tier (admins and marketers); a taken key or rank is a 409."""
    tier = services.tier_save(actor=request.user, data=payload.model_dump(exclude_unset=True))
    return Status(201, tier_out(_tier(request, tier.pk)))


@router.patch("/loyalty/tiers/{int:tier_id}", response={200: TierOut, **ERRORS})
def update_tier(request, tier_id: Id, payload: TierPatch):
    """Change a tier's name, rank, threshold or benefits (admins and marketers)."""
    tier = _tier(request, tier_id)
    data = payload.model_dump(exclude_unset=True)
    services.tier_save(actor=request.user, data=data, tier=tier)
    return tier_out(_tier(request, tier_id))


# -- earning rules ----------------------------------------------------------------------------


def _version(version_id: int):
    return selectors.version_get(version_id=version_id)


@router.get("/loyalty/rules", response={200: VersionPage, **READ_ERRORS})
def list_versions(request, page: Query[PageParams]):
    """The versions of the earning rules, newest first; `in_force` marks the one in force."""
    result = paginate(selectors.versions().select_related("created_by"), page)
    in_force = _in_force_id()
    result["items"] = [version_out(v, in_force) for v in result["items"]]
    return result


@router.post("/loyalty/rules", response={201: VersionOut, **ERRORS})
def draft_version(request, payload: VersionIn):
    """A new draft copied from `based_on` (or the newest); a bad rule names `rules[0].factor`."""
    data = payload.model_dump(exclude_unset=True)
    based_on = data.pop("based_on", None)
    base = _version(based_on) if based_on is not None else None
    version = services.version_draft(actor=request.user, data=data, based_on=base)
    return Status(201, version_out(_version(version.pk), _in_force_id()))


@router.get("/loyalty/rules/{int:version_id}", response={200: VersionOut, **READ_ERRORS})
def get_version(request, version_id: Id):
    """One version of the earning rules."""
    return version_out(_version(version_id), _in_force_id())


@router.patch("/loyalty/rules/{int:version_id}", response={200: VersionOut, **ERRORS})
def update_version(request, version_id: Id, payload: VersionPatch):
    """Change a draft; a published version is never changed (409): draft a new one from it."""
    version = _version(version_id)
    data = payload.model_dump(exclude_unset=True)
    services.version_update(actor=request.user, version=version, data=data)
    return version_out(_version(version_id), _in_force_id())


@router.post("/loyalty/rules/{int:version_id}/publish", response={200: VersionOut, **ERRORS})
def publish_version(request, version_id: Id, payload: PublishIn | None = None):
    """Put a draft in force from `effective_from` (now by default); published already: 409."""
    version = _version(version_id)
    services.version_publish(
        actor=request.user,
        version=version,
        effective_from=payload.effective_from if payload else None,
    )
    return version_out(_version(version_id), _in_force_id())


# -- referrals --------------------------------------------------------------------------------


@router.get("/loyalty/referrals", response={200: ReferralPage, **READ_ERRORS})
def list_referrals(request, page: Query[PageParams]):
    """Referrals whose referrer and referred customer you may both see, newest first."""
    result = paginate(selectors.referral_list(actor=request.user), page)
    result["items"] = [referral_out(r) for r in result["items"]]
    return result


@router.post("/loyalty/referrals", response={201: ReferralOut, **ERRORS})
def attribute_referral(request, payload: ReferralIn):
    """Attribute a new customer to a member's code; self, repeat or a used device is a 409."""
    customer = selectors.customer_for(actor=request.user, customer_id=payload.customer)
    referral = services.referral_attribute(
        actor=request.user, customer=customer, code=payload.code, device_id=payload.device_id
    )
    return Status(201, referral_out(referral, request.user))


# -- backtest ---------------------------------------------------------------------------------


@router.post("/loyalty/backtest", response={200: BacktestOut, **ERRORS})
def run_backtest(request, payload: BacktestIn):
    """Replay a rules version (or rules given here) and tier thresholds over past orders, next
    to the rules in force: points per month, liability, tier distribution. Writes nothing."""
    from .services.backtest import backtest

    data = payload.model_dump(exclude_none=True)
    months = data.pop("months")
    if "thresholds" in data:
        data["thresholds"] = {k: str(v) for k, v in data["thresholds"].items()}
    if "base_rate" in data:
        data["base_rate"] = str(data["base_rate"])
    return backtest(actor=request.user, proposal=data, months=months)
