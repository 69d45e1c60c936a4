"""What follows a change to one customer's data, in the transaction of the change: their
lifecycle stage, their value tier, then their dynamic segments and behaviour tags."""

from django.utils import timezone

from .segments import customer_reevaluate


def customer_changed(*, customer_id: int, changed, now=None) -> dict:
    """Bring one customer's stage, tier and memberships up to date after `changed` data
    (orders, customer, tags, address, interactions, events) changed."""
    from .lifecycle import lifecycle_on_order
    from .tiers import tier_on_order

    now = now or timezone.now()
    changed = set(changed)
    out: dict = {}
    if "orders" in changed:
        out["stage"] = lifecycle_on_order(customer_id=customer_id, now=now)
        out["tier"] = tier_on_order(customer_id=customer_id, now=now)
        changed.add("customer")  # the stage may have moved
    out.update(customer_reevaluate(customer_id=customer_id, changed=changed, now=now))
    return out


# Past this many customers, refreshing the affected segments whole is cheaper than checking
# each customer (one narrowed query per customer against one set-based query per segment).
ONE_BY_ONE = 50


def customers_changed(*, customer_ids, changed) -> None:
    """Bring the memberships of several customers up to date after `changed` data changed
    (bulk edits, tags on many, a batch of channel events)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return
    if len(ids) > ONE_BY_ONE:
        _refresh_soon(sorted(set(changed)))
        return
    for customer_id in ids:
        customer_reevaluate(customer_id=customer_id, changed=changed)


def _refresh_soon(changed: list[str]) -> None:
    """Queue one refresh of the segments reading `changed` data, at most one a minute per
    process (a stream of batches must not queue a refresh each)."""
    from django.core.cache import cache
    from django.db import transaction

    if not cache.add(f"segments-refresh-soon:{','.join(changed)}", 1, timeout=60):
        return
    from guanxi.tasks import refresh_segments_reading

    transaction.on_commit(lambda: refresh_segments_reading.enqueue(changed))


def segments_refresh_later(*, changed) -> None:
    """Queue a refresh of the segments reading `changed` data, once the current transaction
    commits (after an import, say)."""
    from django.db import transaction

    from guanxi.tasks import refresh_segments_reading

    changed = sorted(set(changed))
    transaction.on_commit(lambda: refresh_segments_reading.enqueue(changed))
