"""The small demo data set, written through the services so every record is complete.

Each customer's history (creation, contacts, orders, interactions, tasks, stage moves) is
replayed in time order with the clock set to the moment it happened, so timestamps, the
timeline and the audit log read as if the work had been done over the last two years.
"""

import itertools
import time
from collections import Counter
from contextlib import contextmanager
from unittest import mock

from django.db import transaction
from django.utils.translation import gettext as _

from guanxi.customers.selectors import termination_settlement
from guanxi.customers.services import (
    contact_create,
    customer_change_stage,
    customer_create,
    termination_approve,
    termination_request,
)
from guanxi.interactions.services import interaction_log, task_complete, task_create
from guanxi.orders.services import order_create

from .generate import DemoGenerator, at


def stage_causes() -> dict[str, str]:
    return {
        "new": _("first order"),
        "active": _("repeat purchases"),
        "at_risk": _("no order for 90 days"),
        "churned": _("no order for a year"),
    }


@contextmanager
def clock(ts: int):
    """Let the services believe it is `ts` (epoch seconds), for timestamps and the timeline."""
    with mock.patch("django.utils.timezone.now", return_value=at(ts)):
        yield


def load(*, seed: int, customers: int, orders: int, users, out) -> Counter:
    """Create `customers` customers and `orders` orders with their history."""
    now = int(time.time())
    reps = users.reps
    gen = DemoGenerator(seed=seed, customers=customers, orders=orders, now_ts=now, owners=len(reps))
    plans = gen.plans()
    numbers = itertools.count(1)
    counts: Counter = Counter()
    causes = stage_causes()
    churned = []
    started = time.monotonic()
    for plan in plans:
        owner = reps[plan.owner_slot]
        with transaction.atomic():
            customer = _replay(plan, owner, users, numbers, causes, counts)
        if customer.stage == "churned" and len(churned) < 20:
            churned.append(customer)
        if (plan.index + 1) % 100 == 0 or plan.index + 1 == len(plans):
            elapsed = time.monotonic() - started
            out(
                _("  customers %(done)s / %(total)s  (%(rate).0f per second)")
                % {"done": plan.index + 1, "total": len(plans), "rate": (plan.index + 1) / elapsed}
            )
    _end_relationships(churned, users, now, counts)
    return counts


def _end_relationships(churned, users, now, counts) -> None:
    """Owners ask to end three relationships formally (关系终止); a manager approves two of
    those with nothing open, and the third waits for a decision."""

    def settled(customer) -> bool:
        found = termination_settlement(actor=customer.owner, customer_id=customer.pk)
        return not found["open_orders"] and not found["open_tasks"]

    for i, customer in enumerate(itertools.islice(filter(settled, churned), 3)):
        with clock(now - 86400), transaction.atomic():
            request = termination_request(
                actor=customer.owner,
                customer=customer,
                reason=_("The customer asked to end the relationship."),
            )
        if i == 2:
            counts["termination_requests"] += 1
            continue
        with clock(now - 7200), transaction.atomic():
            termination_approve(actor=users.manager_of(customer.owner_id), request=request)
        counts["terminated"] += 1


def _replay(plan, owner, users, numbers, causes, counts):
    with clock(plan.created_ts):
        customer = customer_create(actor=owner, data=plan.data, allow_duplicate=True)
    counts["customers"] += 1
    with clock(plan.created_ts + 600):
        for contact in plan.contacts:
            contact_create(actor=owner, customer=customer, data=contact)
            counts["contacts"] += 1
    events = [(o.ts, 0, o) for o in plan.orders]
    events += [(i.ts, 1, i) for i in plan.interactions]
    for task in plan.tasks:
        events.append((task.created_ts, 2, task))
    if plan.stage not in ("lead", "new"):
        events.append((plan.stage_ts, 3, plan.stage))
    events.sort(key=lambda e: (e[0], e[1]))
    for ts, kind, item in events:
        with clock(ts):
            if kind == 0:
                order_create(
                    actor=owner,
                    customer=customer,
                    data={
                        "number": f"SO{at(ts):%Y%m%d}{next(numbers):05d}",
                        "ordered_at": at(ts),
                        "status": item.status,
                        "channel": item.channel,
                        "lines": item.lines,
                    },
                )
                counts["orders"] += 1
            elif kind == 1:
                actor = users.agents[ts % len(users.agents)] if item.by_agent else owner
                interaction_log(
                    actor=actor,
                    customer=customer,
                    data={
                        "kind": item.kind,
                        "channel": item.channel,
                        "direction": item.direction,
                        "subject": item.subject,
                        "body": item.body,
                        "outcome": item.outcome,
                        "next_step": item.next_step,
                        "occurred_at": at(ts),
                    },
                )
                counts["interactions"] += 1
            elif kind == 2:
                task = task_create(
                    actor=owner,
                    customer=customer,
                    data={
                        "title": item.title,
                        "due_at": at(item.due_ts),
                        "remind_at": at(item.remind_ts) if item.remind_ts else None,
                        "priority": item.priority,
                    },
                )
                counts["tasks"] += 1
                if item.done:
                    with clock(min(item.due_ts, int(time.time()))):
                        task_complete(actor=owner, task=task)
            elif customer.stage != item:
                customer_change_stage(
                    actor=owner, customer=customer, stage=item, cause=causes.get(item, "")
                )
    return customer
