"""Segments, lifecycle, tiers and a clustering for the demo, so their pages have content."""

from django.utils.translation import gettext as _

from guanxi.segments.selectors import segment_list
from guanxi.segments.services import segment_create, segments_refresh
from guanxi.segments.services.lifecycle import lifecycle_run
from guanxi.segments.services.tiers import tiers_evaluate

# name, English name, description, rules
DEMO_SEGMENTS = [
    ("近90天复购", "Repeat buyers, last 90 days", "90 天内两单以上。",
     {"field": "orders.count", "op": "gte", "value": 2, "days": 90}),
    ("沉睡高价值", "Dormant high value", "历史消费 2000 元以上，但 90 天没有下单。",
     {"all": [{"field": "orders.sum", "op": "gte", "value": 2000},
              {"field": "orders.days_since_last", "op": "gte", "value": 90}]}),
    ("茶叶爱好者", "Tea lovers", "近一年买过茶叶，且至少两单。",
     {"all": [{"field": "orders.category", "op": "eq", "value": "茶叶", "days": 365},
              {"field": "orders.count", "op": "gte", "value": 2, "days": 365}]}),
    ("北上广客户", "Beijing, Shanghai, Guangzhou", "地址在北京、上海或广州。",
     {"any": [{"field": "city", "op": "in", "value": ["北京市", "上海市", "广州市"]},
              {"field": "city", "op": "in", "value": ["北京", "上海", "广州"]}]}),
    ("流失风险高价值", "High value at risk", "预测终身价值 500 元以上，P(alive) 低于 0.3。",
     {"all": [{"field": "value.lifetime_value", "op": "gte", "value": 500},
              {"field": "value.p_alive", "op": "lt", "value": 0.3}]}),
    ("VIP 标签非重要价值", "Tagged VIP, not important value",
     "手工打了 VIP 标签，但 RFM 不在重要价值客户。",
     {"all": [{"field": "tags", "op": "contains", "value": ["VIP"]},
              {"not": {"field": "value.segment", "op": "eq", "value": "important_value"}}]}),
]  # fmt: skip


def load_segments(*, admin, out=print) -> dict:
    """Demo segments, filled; the lifecycle rules run once; customers sorted into tiers."""
    existing = set(segment_list(actor=admin).values_list("name", flat=True))
    for name, name_en, description, definition in DEMO_SEGMENTS:
        if name in existing:  # a reload (--reset) keeps the segments and refills them
            continue
        segment_create(
            actor=admin,
            data={"name": name, "name_en": name_en, "description": description,
                  "definition": definition},
        )  # fmt: skip
    refreshed = segments_refresh()
    moved = lifecycle_run()
    evaluation = tiers_evaluate(actor=admin)
    out(
        _("Segments: %(n)d refreshed; %(risk)d customers at risk, %(churned)d churned; "
          "%(moved)d moved between tiers.")
        % {"n": len(refreshed), "risk": moved["at_risk"], "churned": moved["churned"],
           "moved": evaluation.moved}
    )  # fmt: skip
    return {"segments": len(refreshed), **moved, "tier_moves": evaluation.moved}
