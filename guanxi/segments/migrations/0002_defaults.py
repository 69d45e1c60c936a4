"""The tiers and behaviour tags a new installation starts with (the company may change them)."""

from django.db import migrations

TIERS = [
    # name, English, rank, from amount, top share, colour
    ("VIP", "VIP", 1, "20000.00", 0.05, "amber"),
    ("高潜力", "High potential", 2, "5000.00", 0.15, "green"),
    ("普通", "Normal", 3, None, None, "gray"),
]

YEAR = 365
TAGS = [
    (
        "折扣敏感",
        "Discount-sensitive",
        "至少一半的购买行带折扣（近一年，至少两单）。 At least half of the lines bought "
        "carried a discount (last year, two orders or more).",
        {"all": [
            {"field": "orders.count", "op": "gte", "value": 2, "days": YEAR},
            {"field": "orders.discount_share", "op": "gte", "value": 0.5, "days": YEAR},
        ]},
        ["orders", "time"],
    ),
    (
        "新品尝鲜",
        "Early adopter",
        "近一年买过两件以上上市 30 天内的新品。 Bought two or more products within 30 days "
        "of their launch in the last year.",
        {"field": "orders.new_products", "op": "gte", "value": 2, "days": YEAR,
         "launch_days": 30},
        ["orders", "time"],
    ),
    (
        "品类忠诚",
        "Category-loyal",
        "近一年三单以上，全部在同一品类。 Three or more orders in the last year, all in one "
        "category.",
        {"all": [
            {"field": "orders.count", "op": "gte", "value": 3, "days": YEAR},
            {"field": "orders.categories", "op": "eq", "value": 1, "days": YEAR},
        ]},
        ["orders", "time"],
    ),
    (
        "高退货率",
        "High return rate",
        "近一年至少 30% 的订单退款。 30% or more of the last year's orders were refunded.",
        {"all": [
            {"field": "orders.count", "op": "gte", "value": 1, "days": YEAR},
            {"field": "orders.refund_share", "op": "gte", "value": 0.3, "days": YEAR},
        ]},
        ["orders", "time"],
    ),
    (
        "邮件活跃",
        "Email-engaged",
        "近 30 天打开过营销邮件。 Opened an email in the last 30 days.",
        {"field": "events.count", "op": "gte", "value": 1, "days": 30, "kind": "email_open"},
        ["events", "time"],
    ),
]  # fmt: skip


def seed(apps, schema_editor):
    Tier = apps.get_model("segments", "Tier")
    TierSettings = apps.get_model("segments", "TierSettings")
    LifecycleSettings = apps.get_model("segments", "LifecycleSettings")
    Segment = apps.get_model("segments", "Segment")
    for name, name_en, rank, amount, share, colour in TIERS:
        Tier.objects.get_or_create(
            name=name,
            defaults={"name_en": name_en, "rank": rank, "min_value": amount,
                      "top_share": share, "color": colour},
        )  # fmt: skip
    if not TierSettings.objects.exists():
        TierSettings.objects.create()
    if not LifecycleSettings.objects.exists():
        LifecycleSettings.objects.create()
    for name, name_en, description, definition, depends in TAGS:
        zh, en = description.split("。 ", 1)
        Segment.objects.get_or_create(
            name=name,
            defaults={"name_en": name_en, "description": zh + "。", "description_en": en,
                      "kind": "dynamic",
                      "purpose": "tag", "definition": definition, "depends": depends,
                      "source": "guanxi"},
        )  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [("segments", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
