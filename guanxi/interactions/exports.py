"""Exporting the interactions and tasks an actor can see, as tables for CSV and .xlsx files."""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.core.tabular import Table, choice_labels, chunked, field_label, local_time, rendered
from guanxi.customers.exports import export_audit, export_check, filters_of
from guanxi.customers.selectors import customer_get

from .models import Interaction, Task
from .schemas import InteractionFilters, TaskFilters
from .selectors import interaction_list, task_list


def _username(user) -> str:
    return user.username if user is not None else ""


def interaction_export(
    *,
    actor,
    filters: InteractionFilters | None = None,
    queryset: QuerySet[Interaction] | None = None,
    list_params: dict | None = None,
) -> Table:
    """The interactions the actor may see, filtered as their list is, as a table; audited.

    Or the `queryset` a list page built from `interaction_list`, with its `list_params`.
    """
    export_check(actor)
    if queryset is None:
        f = filters or InteractionFilters()
        if f.customer is not None:
            customer_get(actor=actor, customer_id=f.customer)  # NotFound when hidden
        queryset = interaction_list(
            actor=actor,
            customer_id=f.customer,
            kind=f.kind,
            channel=f.channel,
            q=f.q,
            after=f.after,
            before=f.before,
        )
        recorded = filters_of(filters)
    else:
        queryset = access.scope_customer_children(queryset, actor)
        recorded = list_params or {}
    queryset = queryset.select_related("customer", "user", "contact")
    count = queryset.count()
    export_audit(
        actor=actor,
        model="interactions.interaction",
        what=_("%(n)d interactions") % {"n": count},
        filters=recorded,
        count=count,
    )
    header = [
        _("ID"),
        field_label(Interaction, "occurred_at"),
        field_label(Interaction, "kind"),
        field_label(Interaction, "direction"),
        field_label(Interaction, "channel"),
        field_label(Interaction, "subject"),
        field_label(Interaction, "body"),
        field_label(Interaction, "outcome"),
        field_label(Interaction, "next_step"),
        _("Customer ID"),
        field_label(Interaction, "customer"),
        field_label(Interaction, "contact"),
        field_label(Interaction, "user"),
        _("Created"),
    ]

    def render(chunk: list[Interaction]):
        labels = {f: choice_labels(Interaction, f) for f in ("kind", "direction", "channel")}
        for i in chunk:
            yield [
                i.pk,
                local_time(i.occurred_at),
                labels["kind"].get(i.kind, i.kind),
                labels["direction"].get(i.direction, i.direction),
                labels["channel"].get(i.channel, i.channel),
                i.subject,
                i.body,
                i.outcome,
                i.next_step,
                i.customer_id,
                i.customer.name,
                i.contact.name if i.contact is not None else "",
                _username(i.user),
                local_time(i.created_at),
            ]

    return Table(
        name="interactions",
        title=_("Interactions"),
        header=header,
        rows=rendered(chunked(queryset), render),
        count=count,
    )


def task_export(
    *,
    actor,
    filters: TaskFilters | None = None,
    queryset: QuerySet[Task] | None = None,
    list_params: dict | None = None,
) -> Table:
    """The tasks the actor may see (as their list shows them, filtered), as a table; audited.

    Or the `queryset` a list page built from `task_list`, with its `list_params`.
    """
    export_check(actor)
    if queryset is None:
        f = filters or TaskFilters()
        if f.customer is not None:
            customer_get(actor=actor, customer_id=f.customer)  # NotFound when hidden
        queryset = task_list(actor=actor, customer_id=f.customer, status=f.status, owner=f.owner)
        recorded = filters_of(filters)
    else:
        # Task visibility is task_list's own rule (assignee, creator, customer); intersecting
        # with it keeps a queryset passed in within what the actor may see.
        visible = task_list(actor=actor)
        queryset = queryset & (visible.distinct() if queryset.query.distinct else visible)
        recorded = list_params or {}
    queryset = queryset.select_related("customer", "owner", "created_by")
    count = queryset.count()
    export_audit(
        actor=actor,
        model="interactions.task",
        what=_("%(n)d tasks") % {"n": count},
        filters=recorded,
        count=count,
    )
    header = [
        _("ID"),
        field_label(Task, "title"),
        field_label(Task, "description"),
        field_label(Task, "status"),
        field_label(Task, "priority"),
        field_label(Task, "due_at"),
        field_label(Task, "remind_at"),
        field_label(Task, "owner"),
        field_label(Task, "created_by"),
        _("Customer ID"),
        field_label(Task, "customer"),
        field_label(Task, "completed_at"),
        _("Created"),
    ]

    def render(chunk: list[Task]):
        status, priority = choice_labels(Task, "status"), choice_labels(Task, "priority")
        for t in chunk:
            yield [
                t.pk,
                t.title,
                t.description,
                status.get(t.status, t.status),
                priority.get(t.priority, t.priority),
                local_time(t.due_at),
                local_time(t.remind_at),
                _username(t.owner),
                _username(t.created_by),
                t.customer_id or "",
                t.customer.name if t.customer is not None else "",
                local_time(t.completed_at),
                local_time(t.created_at),
            ]

    return Table(
        name="tasks",
        title=_("Tasks"),
        header=header,
        rows=rendered(chunked(queryset), render),
        count=count,
    )
