"""Reads of interactions, tasks and the timeline, scoped by customer visibility."""

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.core.errors import NotFound

from .choices import TaskStatus
from .models import Interaction, Task, TimelineEvent


def interaction_list(
    *,
    actor,
    customer_id=None,
    kind=None,
    channel=None,
    q=None,
    after=None,
    before=None,
) -> QuerySet[Interaction]:
    qs = access.scope_customer_children(Interaction.objects.all(), actor)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if kind:
        qs = qs.filter(kind=kind)
    if channel:
        qs = qs.filter(channel=channel)
    if q:
        qs = qs.filter(Q(subject__icontains=q) | Q(body__icontains=q) | Q(outcome__icontains=q))
    if after:
        qs = qs.filter(occurred_at__date__gte=after)
    if before:
        qs = qs.filter(occurred_at__date__lte=before)
    return qs.select_related("customer", "user", "contact")


def interaction_get(*, actor, interaction_id) -> Interaction:
    try:
        return interaction_list(actor=actor).get(pk=interaction_id)
    except (Interaction.DoesNotExist, ValueError, TypeError) as e:
        raise NotFound(_("Interaction not found.")) from e


def task_list(*, actor, customer_id=None, status=None, owner=None) -> QuerySet[Task]:
    """Tasks assigned to the actor, plus tasks on customers the actor may see."""
    role = access.role_of(actor)
    if role is None:
        return Task.objects.none()
    if access.is_admin(actor):
        qs = Task.objects.all()
    else:
        # Tasks without a customer are private to their owner and creator; tasks about a
        # customer are visible with the customer.
        visible = Q(customer__isnull=False) & access.owner_q(actor, "customer__owner")
        qs = Task.objects.filter(Q(owner=actor) | Q(created_by=actor) | visible)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    if status:
        qs = qs.filter(status=status)
    if owner == "me":
        qs = qs.filter(owner=actor)
    elif owner:
        qs = qs.filter(owner_id=owner)
    return qs.select_related("customer", "owner")


def task_get(*, actor, task_id) -> Task:
    try:
        return task_list(actor=actor).get(pk=task_id)
    except (Task.DoesNotExist, ValueError, TypeError) as e:
        raise NotFound(_("Task not found.")) from e


def open_tasks(*, actor, customer_id=None) -> QuerySet[Task]:
    return task_list(actor=actor, customer_id=customer_id, status=TaskStatus.OPEN)


def timeline_for_customer(*, customer_id: int, limit: int = 100) -> list[TimelineEvent]:
    """A customer's timeline, newest first (the caller has checked the customer is visible)."""
    return list(
        TimelineEvent.objects.filter(customer_id=customer_id).select_related("actor")[:limit]
    )


def interaction_rows() -> QuerySet[Interaction]:
    """Every interaction, unscoped, for set-based queries whose customers the caller scopes."""
    return Interaction.objects.all()
