"""Writes of the loyalty app (one module per part; the names here are the public ones)."""

from .earning import bonus_give, orders_points_sync
from .expiry import birthdays_award, expiry_warn, loyalty_daily, points_expire
from .members import member_enrol, member_ensure, points_adjust, points_redeem, sign_in
from .program import (
    program_update,
    tier_save,
    version_draft,
    version_in_force,
    version_publish,
    version_update,
)
from .referrals import referral_attribute, referral_sign_up
from .rewards import coupon_use, reward_create, reward_redeem, reward_update
from .tiers import tier_check, tiers_evaluate

__all__ = [
    "birthdays_award", "bonus_give", "coupon_use", "expiry_warn", "loyalty_daily",
    "member_enrol", "member_ensure", "orders_points_sync", "points_adjust", "points_expire",
    "points_redeem", "program_update", "referral_attribute", "referral_sign_up",
    "reward_create", "reward_redeem", "reward_update", "sign_in", "tier_check", "tier_save",
    "tiers_evaluate", "version_draft", "version_in_force", "version_publish", "version_update",
]  # fmt: skip
