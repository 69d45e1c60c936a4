"""The audit log: one function writes it, whatever surface the change came through."""

from datetime import date, datetime
from decimal import Decimal

from guanxi.core.context import current_channel

from .models import AuditEntry

# The columns of an audit entry, in the order set-based writers (core.bulk.Inserter) give them.
AUDIT_COLUMNS = [
    "at", "actor", "action", "channel", "model", "object_id", "object_repr", "customer_id",
    "changes",
]  # fmt: skip


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def diff(before: dict, after: dict) -> dict:
    """Field → [old, new] for the fields whose value changed."""
    changes = {}
    for key in after.keys() | before.keys():
        old, new = _plain(before.get(key)), _plain(after.get(key))
        if old != new:
            changes[key] = [old, new]
    return changes


def audit_record(
    *,
    actor,
    action: str,
    instance=None,
    model: str | None = None,
    object_id=None,
    object_repr: str = "",
    customer_id: int | None = None,
    changes: dict | None = None,
) -> AuditEntry:
    """Write one audit entry for a create, change, delete, export or merge."""
    if instance is not None:
        model = model or instance._meta.label_lower
        object_id = instance.pk if object_id is None else object_id
        object_repr = object_repr or str(instance)[:200]
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        channel=current_channel(),
        model=model,
        object_id=str(object_id),
        object_repr=object_repr[:200],
        customer_id=customer_id,
        changes={k: _plain(v) for k, v in (changes or {}).items()},
    )
