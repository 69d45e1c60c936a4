"""Writes of the contact people at company customers, one at a time and set-based."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.accounts.audit import audit_record, diff
from guanxi.accounts.choices import AuditAction
from guanxi.accounts.models import AuditEntry
from guanxi.core.bulk import Inserter, allocate_ids
from guanxi.core.context import current_channel
from guanxi.core.errors import Conflict, Errors, PermissionDenied, ValidationFailed
from guanxi.interactions.choices import EventKind
from guanxi.interactions.models import TimelineEvent
from guanxi.interactions.timeline import timeline_record

from ..choices import CustomerKind, Stage
from ..cleaning import (
    fold,
    normalize_email,
    normalize_phone,
)
from ..models import (
    Contact,
    Customer,
    StageChange,
)
from .fields import _sync_search_keys

CONTACT_FIELDS = ("name", "title", "phone", "email", "is_primary", "notes")


def _clean_contact(data: dict, *, partial: bool) -> dict:
    errors = Errors()
    for field in set(data) - set(CONTACT_FIELDS) - {"customer"}:
        errors.add(field, _("Unknown field."))
    out = {}
    for field in ("name", "title", "notes"):
        if field in data:
            out[field] = fold(data[field] or "") if field != "notes" else (data[field] or "")
    if (not partial or "name" in data) and not out.get("name"):
        errors.add("name", _("This field is required."))
    if len(out.get("name", "")) > 100:
        errors.add("name", _("At most %(n)d characters.") % {"n": 100})
    if len(out.get("title", "")) > 100:
        errors.add("title", _("At most %(n)d characters.") % {"n": 100})
    if data.get("phone"):
        try:
            out["phone"] = normalize_phone(str(data["phone"]))[0]
        except ValueError as e:
            errors.add("phone", e)
    elif "phone" in data:
        out["phone"] = ""
    if data.get("email"):
        try:
            out["email"] = normalize_email(str(data["email"]))
        except ValueError as e:
            errors.add("email", e)
    elif "email" in data:
        out["email"] = ""
    if "is_primary" in data:
        out["is_primary"] = bool(data["is_primary"])
    errors.raise_if_any()
    return out


def _after_contact_change(actor, customer, contact_name, action, contact=None, changes=None):
    _sync_search_keys(customer)
    Customer.objects.filter(pk=customer.pk).update(
        search_text=customer.search_text, updated_at=timezone.now()
    )
    timeline_record(
        customer_id=customer.pk,
        kind=EventKind.CONTACT,
        actor=actor,
        data={"name": contact_name, "action": action},
    )
    audit_record(
        actor=actor,
        action=action,
        instance=contact,
        model="customers.contact",
        object_id=contact.pk if contact else None,
        object_repr=contact_name,
        customer_id=customer.pk,
        changes=changes or {},
    )


def contact_create(*, actor, customer: Customer, data: dict) -> Contact:
    """Add a contact person to a company customer."""
    access.require_visible(actor, customer.owner_id)
    access.require_on_customer(actor, "customer.edit", customer)
    if customer.kind != CustomerKind.COMPANY:
        raise ValidationFailed(errors={"customer": [_("Contacts belong to company customers.")]})
    clean = _clean_contact(data, partial=False)
    with transaction.atomic():
        if clean.get("is_primary"):
            customer.contacts.update(is_primary=False)
        contact = Contact.objects.create(customer=customer, **clean)
        _after_contact_change(
            actor,
            customer,
            contact.name,
            AuditAction.CREATE,
            contact,
            {k: [None, v] for k, v in clean.items() if v},
        )
    return contact


def contact_update(*, actor, contact: Contact, data: dict) -> Contact:
    customer = contact.customer
    access.require_visible(actor, customer.owner_id)
    access.require_on_customer(actor, "customer.edit", customer)
    clean = _clean_contact(data, partial=True)
    before = {f: getattr(contact, f) for f in CONTACT_FIELDS}
    with transaction.atomic():
        if clean.get("is_primary"):
            customer.contacts.exclude(pk=contact.pk).update(is_primary=False)
        for field, value in clean.items():
            setattr(contact, field, value)
        contact.save()
        changes = diff(before, {f: getattr(contact, f) for f in CONTACT_FIELDS})
        if changes:
            _after_contact_change(
                actor, customer, contact.name, AuditAction.UPDATE, contact, changes
            )
    return contact


def contact_delete(*, actor, contact: Contact) -> None:
    customer = contact.customer
    access.require_visible(actor, customer.owner_id)
    access.require_on_customer(actor, "customer.edit", customer)
    with transaction.atomic():
        name, pk = contact.name, contact.pk
        contact.delete()
        contact.pk = pk
        _after_contact_change(actor, customer, name, AuditAction.DELETE, contact)


# Set-based writes, for imports ----------------------------------------------------------------
#
# The same validation (`_clean_contact`) and the same records (timeline, audit log, search
# keys of the company) as the functions above, written a table at a time: a chunk of five
# thousand contacts costs a handful of statements.

BATCH = 5000
CONTACT_COLUMNS = [
    "id", "created_at", "updated_at", "customer", "name", "title", "phone", "email",
    "is_primary", "notes",
]  # fmt: skip
TEXT_OF_CONTACT = ("name", "title", "phone", "email", "notes")
EVENT_COLUMNS = ["customer", "kind", "at", "actor", "data", "object_model", "object_id"]
AUDIT_COLUMNS = [
    "at", "actor", "action", "channel", "model", "object_id", "object_repr", "customer_id",
    "changes",
]  # fmt: skip


def contact_prepare(*, data: dict) -> dict:
    """Clean and validate one contact's fields as `contact_create` would, without a query;
    raises ValidationFailed naming every bad field."""
    return _clean_contact(data, partial=False)


def customers_require_action(*, actor, action: str, ids, fields=()) -> dict[int, dict]:
    """The customers `ids` as {id: {field: value}}, read set-based, provided the actor may
    see every one of them and do `action` (a rule of accounts.access) to it; otherwise
    PermissionDenied, before the caller writes anything."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return {}
    if not access.can(actor, action):
        raise PermissionDenied(_("You do not have permission to do this."))
    in_scope = access.MATRIX[action].get(access.role_of(actor)) == "scope"
    found: dict[int, dict] = {}
    for start in range(0, len(ids), BATCH):
        qs = access.scope_customers(
            Customer.objects.filter(pk__in=ids[start : start + BATCH]), actor
        )
        if in_scope:
            qs = qs.filter(access.owner_q(actor, "owner", edit=True))
        for row in qs.values("pk", *fields):
            found[row.pop("pk")] = row
    if len(found) < len(ids):
        raise PermissionDenied(_("You may not change some of these customers."))
    return found


def _actor_id(actor):
    return actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None


def _refresh_search_keys(customer_ids, now) -> None:
    """Contact names are part of their company's search text: write it afresh, set-based."""
    from .bulk import _current, _write_merged

    ids = sorted(set(customer_ids))
    if ids:
        _write_merged(ids, _current(ids), now)


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
        _refresh_search_keys(companies, now)
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
        _refresh_search_keys(renamed, now)
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
        _refresh_search_keys({stored[pk]["customer_id"] for pk in restored}, now)
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
        _refresh_search_keys({row["customer_id"] for row in stored.values()}, now)
    return len(stored)


def _changed_since(model, ids: list[int], since) -> list[int]:
    changed = []
    for start in range(0, len(ids), BATCH):
        changed += model.objects.filter(
            pk__in=ids[start : start + BATCH], updated_at__gt=since
        ).values_list("pk", flat=True)
    return changed


# Stage changes of many customers at once (imports of orders move leads to "new"). It belongs
# beside customers_bulk_create in services/bulk.py; it lives here until that file is free.


def customers_bulk_change_stage(
    *,
    actor,
    stages: dict[int, tuple[str, str]],
    only_from: str | None = None,
    event_data: dict | None = None,
) -> list[int]:
    """Move many customers to a lifecycle stage at once: {id: (stage, cause)}. Each that
    moves (and, with `only_from`, only from that stage) gets what `customer_change_stage`
    gives one: a stage change with its cause, a timeline event and an audit entry. Ending
    a relationship is not done in bulk. Returns the ids of the customers that moved."""
    if not stages:
        return []
    for stage, _cause in stages.values():
        if stage not in Stage.values or stage == Stage.TERMINATED:
            raise ValidationFailed(errors={"stage": [_("Unknown stage “%(s)s”.") % {"s": stage}]})
    current = customers_require_action(
        actor=actor, action="customer.edit", ids=list(stages), fields=("stage", "name")
    )
    moving = {
        pk: (row["stage"], *stages[pk])
        for pk, row in current.items()
        if row["stage"] != stages[pk][0] and (only_from is None or row["stage"] == only_from)
    }
    if not moving:
        return []
    now = timezone.now()
    actor_id = _actor_id(actor)
    with transaction.atomic():
        by_stage: dict[str, list[int]] = {}
        for pk, (_old, stage, _cause) in moving.items():
            by_stage.setdefault(stage, []).append(pk)
        for stage, pks in by_stage.items():
            for start in range(0, len(pks), BATCH):
                Customer.objects.filter(pk__in=pks[start : start + BATCH]).update(
                    stage=stage, stage_changed_at=now
                )
        Inserter(
            StageChange, ["customer", "from_stage", "to_stage", "cause", "actor", "at"]
        ).insert(
            (pk, old, stage, cause[:255], actor_id, now)
            for pk, (old, stage, cause) in moving.items()
        )
        Inserter(TimelineEvent, EVENT_COLUMNS).insert(
            (pk, EventKind.STAGE_CHANGED, now, actor_id,
             {"from": old, "to": stage, "cause": cause[:255], **(event_data or {})}, "", None)
            for pk, (old, stage, cause) in moving.items()
        )  # fmt: skip
        Inserter(AuditEntry, AUDIT_COLUMNS).insert(
            (now, actor_id, AuditAction.UPDATE, current_channel(), "customers.customer", str(pk),
             current[pk]["name"][:200], pk, {"stage": [old, stage]})
            for pk, (old, stage, _cause) in moving.items()
        )  # fmt: skip
    return list(moving)
