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
