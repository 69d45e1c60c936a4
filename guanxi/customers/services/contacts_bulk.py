"""Set-based writes of contacts, for imports: the same validation (`_clean_contact`) and
the same records (timeline, audit log, the company's search keys) as the single-contact
services in `contacts`, written a table at a time: a chunk of five thousand contacts costs a
handful of statements."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts.audit import AUDIT_COLUMNS
from guanxi.accounts.choices import AuditAction
from guanxi.accounts.models import AuditEntry
from guanxi.core.bulk import Inserter, allocate_ids
from guanxi.core.context import current_channel
from guanxi.core.errors import Conflict, ValidationFailed
from guanxi.interactions.choices import EventKind
from guanxi.interactions.models import TimelineEvent
from guanxi.interactions.timeline import EVENT_COLUMNS

from ..choices import CustomerKind
from ..models import Contact
from .bulk import customers_refresh_search_keys, customers_require_action
from .contacts import CONTACT_FIELDS, _clean_contact

BATCH = 5000
CONTACT_COLUMNS = [
    "id", "created_at", "updated_at", "customer", "name", "title", "phone", "email",
    "is_primary", "notes",
]  # fmt: skip
TEXT_OF_CONTACT = ("name", "title", "phone", "email", "notes")


def contact_prepare(*, data: dict) -> dict:
    """Clean and validate one contact's fields as `contact_create` would, without a query;
    raises ValidationFailed naming every bad field."""
    return _clean_contact(data, partial=False)


def _actor_id(actor):
    return actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None


def _audit_row(now, actor_id, action, contact_id, name, customer_id, changes):
    return (now, actor_id, action, current_channel(), "customers.contact", str(contact_id),
            name[:200], customer_id, changes)  # fmt: skip


def _event_row(customer_id, now, actor_id, name, action, contact_id, event_data):
    return (customer_id, EventKind.CONTACT, now, actor_id,
            {"name": name, "action": action, **(event_data or {})}, "customers.contact",
            contact_id)  # fmt: skip


def contacts_bulk_create(
    *, actor, contacts: list[tuple[int, dict]], event_data: dict | None = None
) -> tuple[list[int], dict[int, dict]]:
    """Add many contacts (company id, fields cleaned by `contact_prepare`) at once.

    Each gets what `contact_create` gives one: a "contact added" timeline event (carrying
    `event_data`), an audit entry and its name in the company's search text; a primary
    contact makes the company's others not primary (of several new ones, the last given
    stays). Returns the new ids in the order given, and {id: {"is_primary": [True, False]}}
    for the stored contacts that stopped being primary (for an undo).
    """
    if not contacts:
        return [], {}
    companies = customers_require_action(
        actor=actor, action="customer.edit", ids=[c for c, _d in contacts], fields=("kind",)
    )
    if any(row["kind"] != CustomerKind.COMPANY for row in companies.values()):
        raise ValidationFailed(errors={"customer": [_("Contacts belong to company customers.")]})
    last_primary = {c: i for i, (c, data) in enumerate(contacts) if data.get("is_primary")}
    now = timezone.now()
    actor_id = _actor_id(actor)
    with transaction.atomic():
        demoted = _demote_primaries(list(last_primary), now)
        ids = allocate_ids(Contact, len(contacts))
        rows, events, audits = [], [], []
        for i, (pk, (customer_id, data)) in enumerate(zip(ids, contacts, strict=True)):
            values = {f: data.get(f) or "" for f in TEXT_OF_CONTACT}
            primary = last_primary.get(customer_id) == i
            rows.append((pk, now, now, customer_id, *(values[f] for f in TEXT_OF_CONTACT[:4]),
                         primary, values["notes"]))  # fmt: skip
            changes = {k: [None, v] for k, v in {**values, "is_primary": primary}.items() if v}
            events.append(_event_row(customer_id, now, actor_id, values["name"],
                                     AuditAction.CREATE, pk, event_data))  # fmt: skip
            audits.append(_audit_row(now, actor_id, AuditAction.CREATE, pk, values["name"],
                                     customer_id, changes))  # fmt: skip
        Inserter(Contact, CONTACT_COLUMNS).insert(rows)
        Inserter(TimelineEvent, EVENT_COLUMNS).insert(events)
        Inserter(AuditEntry, AUDIT_COLUMNS).insert(audits)
        customers_refresh_search_keys(companies, now)
    return ids, {pk: {"is_primary": [True, False]} for pk in demoted}


def _demote_primaries(customer_ids: list[int], now, keep=()) -> list[int]:
    """Make the primary contacts of these companies (but `keep`) not primary; their ids."""
    if not customer_ids:
        return []
    ids = []
    for start in range(0, len(customer_ids), BATCH):
        ids += (
            Contact.objects.filter(
                customer_id__in=customer_ids[start : start + BATCH], is_primary=True
            )
            .exclude(pk__in=list(keep))
            .values_list("pk", flat=True)
        )
    for start in range(0, len(ids), BATCH):
        Contact.objects.filter(pk__in=ids[start : start + BATCH]).update(
            is_primary=False, updated_at=now
        )
    return ids


def _stored_contacts(ids) -> dict[int, dict]:
    ids = list(ids)
    stored = {}
    for start in range(0, len(ids), BATCH):
        for row in Contact.objects.filter(pk__in=ids[start : start + BATCH]).values(
            "pk", "customer_id", *CONTACT_FIELDS
        ):
            stored[row.pop("pk")] = row
    return stored


def contacts_bulk_merge(
    *,
    actor,
    updates: list[tuple[int, dict]],
    overwrite: bool = False,
    event_data: dict | None = None,
) -> dict[int, dict]:
    """Merge new values (cleaned by `contact_prepare`) into stored contacts, many at once.

    Without `overwrite`, only empty fields are filled; with it, every value given replaces
    the stored one. A contact made primary makes its company's others not primary. Each
    contact that changed gets what `contact_update` gives it (timeline, audit, search text).
    Returns {contact id: {field: [old, new]}} of every contact that changed (for an undo).
    """
    if not updates:
        return {}
    stored = _stored_contacts(pk for pk, _d in updates)
    customers_require_action(
        actor=actor, action="customer.edit", ids={s["customer_id"] for s in stored.values()}
    )
    changes: dict[int, dict] = {}
    for pk, data in updates:
        if pk not in stored:
            continue
        row = stored[pk]
        for field in TEXT_OF_CONTACT:
            value = data.get(field) or ""
            if value and value != row[field] and (overwrite or not row[field]):
                changes.setdefault(pk, {}).setdefault(field, [row[field], value])[1] = value
                row[field] = value
        if data.get("is_primary") and not row["is_primary"]:
            changes.setdefault(pk, {})["is_primary"] = [False, True]
            row["is_primary"] = True
    if not changes:
        return {}
    now = timezone.now()
    actor_id = _actor_id(actor)
    with transaction.atomic():
        primary = {stored[pk]["customer_id"]: pk for pk, c in changes.items() if "is_primary" in c}
        demoted = _demote_primaries(list(primary), now, keep=primary.values())
        for pk in demoted:
            if pk in stored:
                stored[pk]["is_primary"] = False
        _write_contacts(stored, list(changes), now)
        events, audits = [], []
        for pk, change in changes.items():
            row = stored[pk]
            events.append(_event_row(row["customer_id"], now, actor_id, row["name"],
                                     AuditAction.UPDATE, pk, event_data))  # fmt: skip
            audits.append(_audit_row(now, actor_id, AuditAction.UPDATE, pk, row["name"],
                                     row["customer_id"], change))  # fmt: skip
        Inserter(TimelineEvent, EVENT_COLUMNS).insert(events)
        Inserter(AuditEntry, AUDIT_COLUMNS).insert(audits)
        renamed = {stored[pk]["customer_id"] for pk, c in changes.items() if "name" in c}
        customers_refresh_search_keys(renamed, now)
    for pk in demoted:
        changes.setdefault(pk, {}).setdefault("is_primary", [True, False])
    return changes


def _write_contacts(stored: dict[int, dict], ids: list[int], now) -> None:
    objects = [
        Contact(pk=pk, updated_at=now, **{f: stored[pk][f] for f in CONTACT_FIELDS}) for pk in ids
    ]
    Contact.objects.bulk_update(objects, [*CONTACT_FIELDS, "updated_at"], batch_size=1000)


def contacts_bulk_revert(*, actor, changes: dict[int, dict]) -> list[int]:
    """Undo what `contacts_bulk_merge` (or a demotion by `contacts_bulk_create`) did, from
    what it returned: each field gets its old value back unless it was changed again since.
    Returns the ids of the contacts restored."""
    stored = _stored_contacts(changes)
    customers_require_action(
        actor=actor, action="customer.edit", ids={s["customer_id"] for s in stored.values()}
    )
    restored: dict[int, dict] = {}
    for pk, row in stored.items():
        for field, (old, new) in changes[pk].items():
            if field in CONTACT_FIELDS and row[field] == new:
                restored.setdefault(pk, {})[field] = [new, old]
                row[field] = old
    if not restored:
        return []
    now = timezone.now()
    actor_id = _actor_id(actor)
    with transaction.atomic():
        _write_contacts(stored, list(restored), now)
        Inserter(TimelineEvent, EVENT_COLUMNS).insert(
            _event_row(stored[pk]["customer_id"], now, actor_id, stored[pk]["name"],
                       AuditAction.UPDATE, pk, {"undo": True})
            for pk in restored
        )  # fmt: skip
        Inserter(AuditEntry, AUDIT_COLUMNS).insert(
            _audit_row(now, actor_id, AuditAction.UPDATE, pk, stored[pk]["name"],
                       stored[pk]["customer_id"], change)
            for pk, change in restored.items()
        )  # fmt: skip
        customers_refresh_search_keys({stored[pk]["customer_id"] for pk in restored}, now)
    return list(restored)


def contacts_bulk_delete(*, actor, ids: list[int], unchanged_since=None) -> int:
    """Take back contacts an import added, a batch at a time: they go with the timeline
    events that announced them, each leaving an audit entry; ids no longer stored are
    passed over. With `unchanged_since`, refused (Conflict) if any was changed after it."""
    stored = _stored_contacts(ids)
    if not stored:
        return 0
    customers_require_action(
        actor=actor, action="customer.edit", ids={s["customer_id"] for s in stored.values()}
    )
    if unchanged_since is not None:
        changed = _changed_since(Contact, list(stored), unchanged_since)
        if changed:
            raise Conflict(
                _(
                    "%(n)d contacts this import added have been changed since (for example "
                    "%(example)s); undoing it would lose those changes."
                )
                % {"n": len(changed), "example": stored[min(changed)]["name"]}
            )
    now = timezone.now()
    pks = list(stored)
    with transaction.atomic():
        for start in range(0, len(pks), BATCH):
            part = pks[start : start + BATCH]
            TimelineEvent.objects.filter(
                object_model="customers.contact", object_id__in=part
            ).delete()
            Contact.objects.filter(pk__in=part).delete()
        Inserter(AuditEntry, AUDIT_COLUMNS).insert(
            _audit_row(now, _actor_id(actor), AuditAction.DELETE, pk, row["name"],
                       row["customer_id"], {})
            for pk, row in stored.items()
        )  # fmt: skip
        customers_refresh_search_keys({row["customer_id"] for row in stored.values()}, now)
    return len(stored)


def _changed_since(model, ids: list[int], since) -> list[int]:
    changed = []
    for start in range(0, len(ids), BATCH):
        changed += model.objects.filter(
            pk__in=ids[start : start + BATCH], updated_at__gt=since
        ).values_list("pk", flat=True)
    return changed
