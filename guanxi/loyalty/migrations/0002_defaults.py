"""The program's defaults: its settings, three tiers and the first rules version (in force
from 2000, so history can earn by it). All of it is data the company edits."""

import datetime as dt
from decimal import Decimal

from django.db import migrations

TIERS = [
    ("silver", "银卡会员", "Silver", 1, "0", "#9ca3af",
     {"multiplier": 1, "birthday_gift": "生日积分 / birthday points"}),
    ("gold", "金卡会员", "Gold", 2, "5000", "#f59e0b",
     {"multiplier": 1.5, "discount_pct": 5, "free_shipping": True,
      "birthday_gift": "生日礼盒 / birthday gift box"}),
    ("platinum", "白金会员", "Platinum", 3, "20000", "#6366f1",
     {"multiplier": 2, "discount_pct": 10, "free_shipping": True, "dedicated_manager": True,
      "birthday_gift": "定制礼品 / a gift made for them"}),
]  # fmt: skip

RULES = [
    {"name": "首单奖励", "name_en": "First order bonus", "kind": "bonus", "event": "first_order",
     "points": 100, "limit": None, "per": "ever", "priority": 0, "valid_from": None,
     "valid_until": None},
    {"name": "生日礼分", "name_en": "Birthday bonus", "kind": "bonus", "event": "birthday",
     "points": 200, "limit": 1, "per": "year", "priority": 0, "valid_from": None,
     "valid_until": None},
    {"name": "每日签到", "name_en": "Daily sign-in", "kind": "bonus", "event": "sign_in",
     "points": 5, "limit": 1, "per": "day", "priority": 0, "valid_from": None,
     "valid_until": None},
    {"name": "推荐奖励", "name_en": "Referral bonus", "kind": "bonus", "event": "referral",
     "points": 500, "limit": None, "per": "ever", "priority": 0, "valid_from": None,
     "valid_until": None},
    {"name": "新客奖励", "name_en": "Welcome bonus for the referred", "kind": "bonus",
     "event": "referred", "points": 200, "limit": 1, "per": "ever", "priority": 0,
     "valid_from": None, "valid_until": None},
    {"name": "问卷奖励", "name_en": "Survey bonus", "kind": "bonus", "event": "survey",
     "points": 50, "limit": 1, "per": "month", "priority": 0, "valid_from": None,
     "valid_until": None},
]  # fmt: skip


def seed(apps, schema_editor):
    Program = apps.get_model("loyalty", "LoyaltyProgram")
    Tier = apps.get_model("loyalty", "LoyaltyTier")
    Version = apps.get_model("loyalty", "RuleVersion")
    if not Program.objects.exists():
        Program.objects.create()
    for key, name, name_en, rank, threshold, color, benefits in TIERS:
        Tier.objects.get_or_create(
            key=key,
            defaults={"name": name, "name_en": name_en, "rank": rank, "color": color,
                      "threshold": Decimal(threshold), "benefits": benefits},
        )  # fmt: skip
    if not Version.objects.exists():
        start = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
        Version.objects.create(
            number=1, status="published", effective_from=start, published_at=start,
            base_rate=Decimal("1"), rounding="down", rules=RULES,
            note="默认规则 / the default rules",
        )  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
