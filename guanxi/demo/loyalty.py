"""The loyalty program of the demo: a reward catalogue, a second rules version (weekend double,
tea triple), redemptions and referrals, so its pages and the self-service page have content.
The demo's orders earned their points as they were placed (order_create)."""

import random

from django.utils.translation import gettext as _

from guanxi.core.errors import GuanxiError
from guanxi.loyalty.models import Member, Reward
from guanxi.loyalty.services import (
    reward_create,
    reward_redeem,
    tiers_evaluate,
    version_draft,
    version_publish,
)
from guanxi.loyalty.services.referrals import referral_attribute

# name, English name, kind, points, stock, value, lowest tier
DEMO_REWARDS = [
    ("10 元无门槛券", "¥10 coupon, no minimum", "coupon", 500, None, "10", None),
    ("95 折会员券", "5% member discount", "discount", 800, None, "5", None),
    ("青瓷茶杯", "Celadon tea cup", "gift", 1500, 40, "68", None),
    ("明前龙井 50g", "Pre-Qingming Longjing, 50 g", "gift", 3000, 20, "128", "gold"),
    ("私人茶会邀请", "Invitation to a private tea tasting", "gift", 8000, 5, "0", "platinum"),
    ("包邮券", "Free shipping", "coupon", 200, None, "8", None),
]  # fmt: skip

DEMO_RULES = [
    {"name": "周末双倍", "name_en": "Weekend double", "kind": "multiplier", "factor": 2,
     "weekdays": [6, 7], "priority": 10},
    {"name": "茶叶三倍", "name_en": "Tea ×3", "kind": "multiplier", "factor": 3,
     "categories": ["茶叶"], "priority": 5, "cap": 2000},
]  # fmt: skip


def load_loyalty(*, admin, seed: int = 1, out=print) -> dict:
    """Rewards, a published second rules version, some redemptions and referrals."""
    rng = random.Random(seed)
    if not Reward.objects.exists():
        for name, name_en, kind, points, stock, value, tier in DEMO_REWARDS:
            reward_create(actor=admin, data={"name": name, "name_en": name_en, "kind": kind,
                                             "points": points, "stock": stock, "value": value,
                                             "min_tier": tier})  # fmt: skip
    draft = version_draft(
        actor=admin,
        data={"rules": [*DEMO_RULES, *_bonuses()], "note": "周末与茶叶加倍 / weekends, tea"},
    )
    version_publish(actor=admin, version=draft)
    rewards = list(Reward.objects.order_by("points"))
    members = list(Member.objects.filter(balance__gte=200).select_related("tier", "customer"))
    redeemed = 0
    for member in rng.sample(members, min(len(members) // 3, 60)):
        for reward in rng.sample(rewards, 2):
            try:
                reward_redeem(actor=admin, member=member, reward_id=reward.pk)
                redeemed += 1
            except GuanxiError:
                pass  # not enough points, tier or stock: as in life
    # Leads who have not bought yet came through members' codes (the demo adds no customers).
    from guanxi.customers.models import Customer

    leads = list(Customer.objects.filter(stage="lead", orders__isnull=True).order_by("pk")[:8])
    referred = 0
    for i, (lead, member) in enumerate(zip(leads, rng.sample(members, min(len(members), 8)),
                                          strict=False)):  # fmt: skip
        try:
            referral_attribute(actor=admin, customer=lead, code=member.referral_code,
                               device_id=f"demo-device-{i}")  # fmt: skip
            referred += 1
        except GuanxiError:
            pass
    tiers_evaluate()
    out(_("Loyalty: %(redeemed)s rewards redeemed, %(referred)s referrals.")
        % {"redeemed": redeemed, "referred": referred})  # fmt: skip
    return {"redemptions": redeemed, "referrals": referred}


def _bonuses() -> list[dict]:
    from guanxi.loyalty.services import version_in_force

    current = version_in_force()
    return [r for r in (current.rules if current else []) if r.get("kind") == "bonus"]
