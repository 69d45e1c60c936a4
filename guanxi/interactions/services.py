"""Writes of interactions (one at a time and set-based, for imports) and tasks."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.accounts.audit import AUDIT_COLUMNS, audit_record, diff
from guanxi.accounts.choices import AuditAction
from guanxi.accounts.models import AuditEntry, User
from guanxi.core.bulk import Inserter, allocate_ids
from guanxi.core.context import current_channel
from guanxi.core.dates import aware_datetime
from guanxi.core.errors import Conflict, Errors, PermissionDenied, ValidationFailed
from guanxi.customers.services.termination import require_not_terminated

from .choices import Channel, Direction, EventKind, InteractionKind, TaskPriority, TaskStatus
from .models import Interaction, Task, TimelineEvent
from .timeline import EVENT_COLUMNS, timeline_record

INTERACTION_FIELDS = (
    "kind",
    "direction",
    "channel",
    "subject",
    "body",
    "outcome",
    "next_step",
    "occurred_at",
    "contact",
)


def _when(value, field: str, errors: Errors):
    if value in (None, ""):
        return None
    try:
        return aware_datetime(value)
    except ValueError as e:
        errors.add(field, e)
        return None


def _clean_interaction(data: dict, *, customer, partial: bool) -> dict:
    errors = Errors()
    for field in set(data) - set(INTERACTION_FIELDS):
        errors.add(field, _("Unknown field."))
    out = {}
    for field, choices in (
        ("kind", InteractionKind),
        ("direction", Direction),
        ("channel", Channel),
    ):
        if field in data or (field == "kind" and not partial):
            value = data.get(field) or ""
            if field == "channel" and value == "":
                out[field] = ""
                continue
            if value not in choices.values:
                errors.add(
                    field,
                    _("“%(value)s” is not one of: %(choices)s.")
                    % {"value": value, "choices": ", ".join(choices.values)},
                )
            out[field] = value
    for field, limit in (("subject", 200), ("outcome", 255), ("next_step", 255)):
        if field in data:
            out[field] = (data[field] or "").strip()
            if len(out[field]) > limit:
                errors.add(field, _("At most %(n)d characters.") % {"n": limit})
    if (not partial or "subject" in data) and not out.get("subject"):
        errors.add("subject", _("This field is required."))
    if "body" in data:
        out["body"] = data["body"] or ""
    if "occurred_at" in data:
        out["occurred_at"] = _when(data["occurred_at"], "occurred_at", errors)
    if data.get("contact"):
        contact = customer.contacts.filter(pk=getattr(data["contact"], "pk", data["contact"]))
        if (
            not str(getattr(data["contact"], "pk", data["contact"])).isdigit()
            or not contact.exists()
        ):
            errors.add("contact", _("This contact does not belong to the customer."))
        else:
            out["contact"] = contact.get()
    elif "contact" in data:
        out["contact"] = None
    errors.raise_if_any()
    return out


def interaction_log(*, actor, customer, data: dict) -> Interaction:
    """Record a call, email, meeting, visit, chat, social message or note with a customer."""
    access.require_visible(actor, customer.owner_id)
    access.require_on_customer(actor, "interaction.log", customer)
    require_not_terminated(customer)  # never contacted again
    clean = _clean_interaction(data, customer=customer, partial=False)
    if not clean.get("occurred_at"):
        clean["occurred_at"] = timezone.now()
    with transaction.atomic():
        interaction = Interaction.objects.create(
            customer=customer, user=actor if actor and actor.is_authenticated else None, **clean
        )
        timeline_record(
            customer_id=customer.pk,
            kind=EventKind.INTERACTION,
            actor=actor,
            at=interaction.occurred_at,
            obj=interaction,
            data={"kind": interaction.kind, "subject": interaction.subject},
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            instance=interaction,
            customer_id=customer.pk,
            changes={"kind": [None, interaction.kind], "subject": [None, interaction.subject]},
        )
        from guanxi.segments.services.changes import customers_changed

        customers_changed(customer_ids=[customer.pk], changed={"interactions"})
    return interaction


def interaction_update(*, actor, interaction: Interaction, data: dict) -> Interaction:
    customer = interaction.customer
    access.require_visible(actor, customer.owner_id)
    access.require_on_customer(actor, "interaction.log", customer)
    require_not_terminated(customer)
    clean = _clean_interaction(data, customer=customer, partial=True)
    fields = [f for f in INTERACTION_FIELDS if f != "contact"]
    before = {f: getattr(interaction, f) for f in fields}
    with transaction.atomic():
        for field, value in clean.items():
            if value is not None or field == "contact":
                setattr(interaction, field, value)
        interaction.save()
        changes = diff(before, {f: getattr(interaction, f) for f in fields})
        if changes:
            audit_record(
                actor=actor,
                action=AuditAction.UPDATE,
                instance=interaction,
                customer_id=customer.pk,
                changes=changes,
            )
    return interaction


def interaction_delete(*, actor, interaction: Interaction) -> None:
    customer = interaction.customer
    access.require_visible(actor, customer.owner_id)
    access.require_on_customer(actor, "interaction.log", customer)
    require_not_terminated(customer)
    with transaction.atomic():
        pk, subject = interaction.pk, interaction.subject
        interaction.delete()
        audit_record(
            actor=actor,
            action=AuditAction.DELETE,
            model="interactions.interaction",
            object_id=pk,
            object_repr=subject,
            customer_id=customer.pk,
        )


TASK_FIELDS = ("title", "description", "owner", "due_at", "remind_at", "priority", "status")


def _clean_task(actor, data: dict, *, partial: bool) -> dict:
    errors = Errors()
    for field in set(data) - set(TASK_FIELDS) - {"customer"}:
        errors.add(field, _("Unknown field."))
    out = {}
    if "title" in data or not partial:
        out["title"] = (data.get("title") or "").strip()
        if not out["title"]:
            errors.add("title", _("This field is required."))
        elif len(out["title"]) > 200:
            errors.add("title", _("At most %(n)d characters.") % {"n": 200})
    if "description" in data:
        out["description"] = data["description"] or ""
    for field in ("due_at", "remind_at"):
        if field in data:
            out[field] = _when(data[field], field, errors)
    if "priority" in data:
        if data["priority"] not in TaskPriority.values:
            errors.add(
                "priority",
                _("“%(value)s” is not one of: %(choices)s.")
                % {"value": data["priority"], "choices": ", ".join(TaskPriority.values)},
            )
        out["priority"] = data["priority"]
    if "status" in data:
        if data["status"] not in TaskStatus.values:
            errors.add(
                "status",
                _("“%(value)s” is not one of: %(choices)s.")
                % {"value": data["status"], "choices": ", ".join(TaskStatus.values)},
            )
        out["status"] = data["status"]
    if data.get("owner") not in (None, ""):
        owner_id = getattr(data["owner"], "pk", data["owner"])
        owner = (
            User.objects.filter(pk=owner_id, is_active=True).first()
            if str(owner_id).isdigit()
            else None
        )
        if owner is None:
            errors.add("owner", _("No active user with id %(id)s.") % {"id": owner_id})
        else:
            out["owner"] = owner
    errors.raise_if_any()
    if (
        out.get("owner")
        and out["owner"].pk != actor.pk
        and not access.can(actor, "task.assign_others")
    ):
        raise PermissionDenied(errors={"owner": [_("You may only assign tasks to yourself.")]})
    due, remind = out.get("due_at"), out.get("remind_at")
    if due and remind and remind > due:
        raise ValidationFailed(errors={"remind_at": [_("The reminder is after the due time.")]})
    return out


def task_create(*, actor, data: dict, customer=None) -> Task:
    """Create a task for the actor (or, for managers, anyone), optionally about a customer."""
    if customer is not None:
        access.require_visible(actor, customer.owner_id)
        access.require_on_customer(actor, "task.write", customer)
        require_not_terminated(customer)
    else:
        access.require(actor, "task.write")
    clean = _clean_task(actor, data, partial=False)
    clean.setdefault("owner", actor)
    with transaction.atomic():
        task = Task.objects.create(customer=customer, created_by=actor, **clean)
        if customer is not None:
            timeline_record(
                customer_id=customer.pk,
                kind=EventKind.TASK_CREATED,
                actor=actor,
                obj=task,
                data={"title": task.title},
            )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            instance=task,
            customer_id=customer.pk if customer else None,
            changes={"title": [None, task.title], "owner_id": [None, task.owner_id]},
        )
    return task


def task_update(*, actor, task: Task, data: dict) -> Task:
    """Change a task; setting status to done records completion on the timeline."""
    if task.customer_id and task.owner_id != actor.pk:
        access.require_on_customer(actor, "task.write", task.customer)
    require_not_terminated(task.customer)
    clean = _clean_task(actor, data, partial=True)
    fields = ("title", "description", "owner_id", "due_at", "remind_at", "priority", "status")
    before = {f: getattr(task, f) for f in fields}
    with transaction.atomic():
        for field, value in clean.items():
            setattr(task, field, value)
        if "remind_at" in clean:
            task.reminded_at = None
        if task.status == TaskStatus.DONE and before["status"] != TaskStatus.DONE:
            task.completed_at = timezone.now()
            if task.customer_id:
                timeline_record(
                    customer_id=task.customer_id,
                    kind=EventKind.TASK_DONE,
                    actor=actor,
                    obj=task,
                    data={"title": task.title},
                )
        elif task.status != TaskStatus.DONE:
            task.completed_at = None
        task.save()
        changes = diff(before, {f: getattr(task, f) for f in fields})
        if changes:
            audit_record(
                actor=actor,
                action=AuditAction.UPDATE,
                instance=task,
                customer_id=task.customer_id,
                changes=changes,
            )
    return task


def task_complete(*, actor, task: Task) -> Task:
    return task_update(actor=actor, task=task, data={"status": TaskStatus.DONE})


def task_delete(*, actor, task: Task) -> None:
    if task.customer_id and task.owner_id != actor.pk:
        access.require_on_customer(actor, "task.write", task.customer)
    require_not_terminated(task.customer)
    with transaction.atomic():
        pk, title, customer_id = task.pk, task.title, task.customer_id
        task.delete()
        audit_record(
            actor=actor,
            action=AuditAction.DELETE,
            model="interactions.task",
            object_id=pk,
            object_repr=title,
            customer_id=customer_id,
        )


def tasks_due_for_reminder(*, now=None):
    """Open tasks whose reminder time has come and that have not been reminded yet."""
    now = now or timezone.now()
    return Task.objects.filter(
        status=TaskStatus.OPEN, remind_at__lte=now, reminded_at__isnull=True
    ).select_related("owner", "customer")


def task_reminders_send(*, now=None) -> int:
    """Email each owner whose task reminder is due, once; returns how many were sent."""
    import logging

    from django.core.mail import EmailMessage
    from django.utils import translation

    now = now or timezone.now()
    sent = 0
    for task in tasks_due_for_reminder(now=now)[:500]:
        # Claim the reminder first, so two workers never send it twice.
        claimed = Task.objects.filter(pk=task.pk, reminded_at__isnull=True).update(reminded_at=now)
        if not claimed or not task.owner.email:
            continue
        with translation.override("zh-hans"):
            subject = _("Reminder: %(title)s") % {"title": task.title}
            due = timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M") if task.due_at else "—"
            body = _("Task: %(title)s\nCustomer: %(customer)s\nDue: %(due)s") % {
                "title": task.title,
                "customer": task.customer or "—",
                "due": due,
            }
        try:
            EmailMessage(subject, body, to=[task.owner.email]).send()
        except OSError:  # the mail server is down: the reminder stays claimed, log it
            logging.getLogger("guanxi.tasks").exception("reminder for task %s not sent", task.pk)
            continue
        sent += 1
    return sent


def customer_records_move(*, from_id: int, to_id: int, only: dict | None = None) -> dict:
    """Move a customer's interactions, tasks and timeline to another customer (a merge).

    Returns {model label: [ids moved]}; with `only` (such a dict), moves just those ids,
    which is how an unmerge gives them back. Set-based: one UPDATE per table.
    """
    moved = {}
    for model in (Interaction, Task, TimelineEvent):
        label = model._meta.label_lower
        qs = model.objects.filter(customer_id=from_id)
        if only is not None:
            qs = qs.filter(pk__in=only.get(label, []))
        ids = list(qs.values_list("pk", flat=True))
        if ids:
            model.objects.filter(pk__in=ids).update(customer_id=to_id)
        moved[label] = ids
    return moved


# Set-based writes, for imports ----------------------------------------------------------------
#
# The same validation (`_clean_interaction`) and the same records (timeline, audit log) as
# `interaction_log`, written a table at a time: five thousand interactions in a handful of
# statements.

BATCH = 5000
INTERACTION_COLUMNS = [
    "id", "created_at", "updated_at", "customer", "kind", "direction", "channel", "subject",
    "body", "outcome", "next_step", "occurred_at", "user",
]  # fmt: skip


def interaction_prepare(*, data: dict) -> dict:
    """Clean and validate one interaction (without a contact) as `interaction_log` would,
    without a query; raises ValidationFailed naming every bad field."""
    if data.get("contact"):
        raise ValidationFailed(errors={"contact": [_("Unknown field.")]})
    return _clean_interaction(data, customer=None, partial=False)


def _actor_id(actor):
    return actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None


def interactions_bulk_create(
    *,
    actor,
    interactions: list[tuple[int, dict, int | None]],
    event_data: dict | None = None,
) -> list[int]:
    """Record many interactions at once: (customer id, fields cleaned by
    `interaction_prepare`, the id of the user who had it or None for the actor).

    Each gets what `interaction_log` gives one: an "interaction" timeline event at its time
    (carrying `event_data`) and an audit entry. Returns the ids in the order given.
    """
    from guanxi.customers.services.bulk import customers_require_action

    if not interactions:
        return []
    customers_require_action(
        actor=actor, action="interaction.log", ids=[c for c, _d, _u in interactions]
    )
    now = timezone.now()
    actor_id = _actor_id(actor)
    channel = current_channel()
    default_direction = Interaction._meta.get_field("direction").default
    with transaction.atomic():
        ids = allocate_ids(Interaction, len(interactions))
        rows, events, audits = [], [], []
        for pk, (customer_id, data, user_id) in zip(ids, interactions, strict=True):
            at = data.get("occurred_at") or now
            kind, subject = data["kind"], data["subject"]
            rows.append(
                (pk, now, now, customer_id, kind, data.get("direction") or default_direction,
                 data.get("channel") or "", subject, data.get("body") or "",
                 data.get("outcome") or "", data.get("next_step") or "", at,
                 user_id if user_id is not None else actor_id)
            )  # fmt: skip
            events.append(
                (customer_id, EventKind.INTERACTION, at, actor_id,
                 {"kind": kind, "subject": subject, **(event_data or {})},
                 "interactions.interaction", pk)
            )  # fmt: skip
            audits.append(
                (now, actor_id, AuditAction.CREATE, channel, "interactions.interaction", str(pk),
                 subject[:200], customer_id,
                 {"kind": [None, kind], "subject": [None, subject]})
            )  # fmt: skip
        Inserter(Interaction, INTERACTION_COLUMNS).insert(rows)
        Inserter(TimelineEvent, EVENT_COLUMNS).insert(events)
        Inserter(AuditEntry, AUDIT_COLUMNS).insert(audits)
    return ids


def interactions_bulk_delete(*, actor, ids: list[int], unchanged_since=None) -> int:
    """Take back interactions an import recorded, a batch at a time: they go with their
    timeline events, each leaving an audit entry; ids no longer stored are passed over.
    With `unchanged_since`, refused (Conflict) if any was changed after it."""
    from guanxi.customers.services.bulk import customers_require_action

    ids = list(dict.fromkeys(ids))
    stored: dict[int, dict] = {}
    for start in range(0, len(ids), BATCH):
        for row in Interaction.objects.filter(pk__in=ids[start : start + BATCH]).values(
            "pk", "customer_id", "subject", "updated_at"
        ):
            stored[row.pop("pk")] = row
    if not stored:
        return 0
    customers_require_action(
        actor=actor, action="interaction.log", ids={r["customer_id"] for r in stored.values()}
    )
    if unchanged_since is not None:
        changed = sorted(pk for pk, r in stored.items() if r["updated_at"] > unchanged_since)
        if changed:
            raise Conflict(
                _(
                    "%(n)d interactions this import recorded have been changed since (for "
                    "example “%(example)s”); undoing it would lose those changes."
                )
                % {"n": len(changed), "example": stored[changed[0]]["subject"]}
            )
    now = timezone.now()
    pks = list(stored)
    with transaction.atomic():
        for start in range(0, len(pks), BATCH):
            part = pks[start : start + BATCH]
            TimelineEvent.objects.filter(
                object_model="interactions.interaction", object_id__in=part
            ).delete()
            Interaction.objects.filter(pk__in=part).delete()
        Inserter(AuditEntry, AUDIT_COLUMNS).insert(
            (now, _actor_id(actor), AuditAction.DELETE, current_channel(),
             "interactions.interaction", str(pk), row["subject"][:200], row["customer_id"], {})
            for pk, row in stored.items()
        )  # fmt: skip
    return len(stored)


def tasks_bulk_create(*, tasks: list[dict]) -> dict[int, int]:
    """Tasks created by the system (rules and jobs) for customers' owners, set-based: each
    dict has customer_id, owner_id, title, description, due_at, priority. Records each on
    its customer's timeline. Returns {customer_id: task id}."""
    if not tasks:
        return {}
    now = timezone.now()
    with transaction.atomic():
        created = Task.objects.bulk_create(
            [
                Task(
                    customer_id=t["customer_id"],
                    owner_id=t["owner_id"],
                    created_by=None,
                    title=t["title"][:200],
                    description=t.get("description", ""),
                    due_at=t.get("due_at"),
                    priority=t.get("priority", TaskPriority.NORMAL),
                    status=TaskStatus.OPEN,
                )
                for t in tasks
            ],
            batch_size=2000,
        )
        if any(t.pk is None for t in created):  # databases that return no ids (none we run)
            raise RuntimeError("bulk_create returned no ids")
        Inserter(TimelineEvent, EVENT_COLUMNS).insert(
            (t.customer_id, EventKind.TASK_CREATED, now, None, {"title": t.title},
             "interactions.task", t.pk)
            for t in created
        )  # fmt: skip
    return {t.customer_id: t.pk for t in created}
