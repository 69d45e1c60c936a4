"""Writes of the segments app: segments and memberships, lifecycle rules, tiers, churn."""

from .segments import (
    RefreshResult,
    customer_reevaluate,
    member_query,
    segment_create,
    segment_delete,
    segment_freeze,
    segment_members_add,
    segment_members_remove,
    segment_refresh,
    segment_static_create,
    segment_update,
    segments_refresh,
)

__all__ = [
    "RefreshResult",
    "customer_reevaluate",
    "member_query",
    "segment_create",
    "segment_delete",
    "segment_freeze",
    "segment_members_add",
    "segment_members_remove",
    "segment_refresh",
    "segment_static_create",
    "segment_update",
    "segments_refresh",
]
