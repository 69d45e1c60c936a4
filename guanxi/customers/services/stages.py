"""Lifecycle stages moved for many customers at once, by rules and jobs (the system)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from guanxi.accounts.choices import AuditAction
from guanxi.accounts.models import AuditEntry
from guanxi.core.bulk import Inserter
from guanxi.core.context import current_channel
from guanxi.interactions.choices import EventKind
from guanxi.interactions.models import TimelineEvent
from guanxi.interactions.timeline import EVENT_COLUMNS

from ..choices import Stage
from ..models import Customer, StageChange

CHUNK = 5000


def customers_stage_move(*, moves: list[tuple[int, str, str]], now=None) -> int:
    """Move customers' stages as the system: `(customer_id, to_stage, cause)` each.

    Set-based: one UPDATE per target stage and chunk, the stage changes, timeline rows and
    audit entries inserted in bulk. Customers already in the target stage, and terminated
    customers (their records are read-only), are left as they are. Returns how many moved.
    """
    if not moves:
        return 0
    now = now or timezone.now()
    wanted = {cid: (to, cause) for cid, to, cause in moves}
    moved = 0
    channel = current_channel()
    ids = sorted(wanted)
    with transaction.atomic():
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            current = dict(
                Customer.objects.filter(pk__in=chunk)
                .exclude(stage=Stage.TERMINATED)
                .values_list("pk", "stage")
            )
            rows = [
                (cid, old, *wanted[cid]) for cid, old in current.items() if old != wanted[cid][0]
            ]
            if not rows:
                continue
            by_stage: dict[str, list[int]] = {}
            for cid, _old, to, _cause in rows:
                by_stage.setdefault(to, []).append(cid)
            for to, cids in by_stage.items():
                Customer.objects.filter(pk__in=cids).update(stage=to, stage_changed_at=now)
            Inserter(
                StageChange, ["customer", "from_stage", "to_stage", "cause", "actor", "at"]
            ).insert((cid, old, to, cause[:255], None, now) for cid, old, to, cause in rows)
            Inserter(TimelineEvent, EVENT_COLUMNS).insert(
                (
                    cid,
                    EventKind.STAGE_CHANGED,
                    now,
                    None,
                    {"from": old, "to": to, "cause": cause[:255]},
                    "",
                    None,
                )
                for cid, old, to, cause in rows
            )
            names = dict(
                Customer.objects.filter(pk__in=[r[0] for r in rows]).values_list("pk", "name")
            )
            AuditEntry.objects.bulk_create(
                AuditEntry(
                    actor=None,
                    action=AuditAction.UPDATE,
                    channel=channel,
                    model="customers.customer",
                    object_id=str(cid),
                    object_repr=names.get(cid, "")[:200],
                    customer_id=cid,
                    changes={"stage": [old, to]},
                )
                for cid, old, to, _cause in rows
            )
            moved += len(rows)
    return moved
