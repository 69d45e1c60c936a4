"""Set-based writes of many customers at once, for imports and merges.

The same validation as `customer_create` / `customer_update` (the `_clean_*` helpers of
`fields`), and the same records (stage history, timeline, audit log, search keys), written
a table at a time instead of a query per row: a chunk of five thousand customers costs a
handful of statements.
"""

from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.accounts.audit import AUDIT_COLUMNS
from guanxi.accounts.choices import AuditAction
from guanxi.accounts.models import AuditEntry, User
from guanxi.core.bulk import Inserter, allocate_ids
from guanxi.core.context import current_channel
from guanxi.core.errors import Conflict, Errors, PermissionDenied, ValidationFailed
from guanxi.interactions.choices import EventKind
from guanxi.interactions.models import TimelineEvent
from guanxi.interactions.timeline import EVENT_COLUMNS

from ..choices import Stage
from ..cleaning import build_search_text, name_keys
from ..models import Address, Contact, Customer, CustomerEmail, CustomerPhone, StageChange
from ..search_index import writing_many
from .fields import (
    AUDITED,
    _clean_addresses,
    _clean_emails,
    _clean_phones,
    _clean_profile,
    _clean_tags,
    _tags_by_name,
    clean_custom_fields,
)

PROFILE_DEFAULTS = {
    "kind": "person",
    "company_name": "",
    "job_title": "",
    "gender": "",
    "birthday": None,
    "industry": "",
    "company_size": "",
    "business_scope": "",
    "source": "",
    "preferred_channel": "",
    "external_id": None,
    "notes": "",
}
# Profile fields a merge may fill or overwrite (name and kind only when asked to overwrite).
MERGEABLE = tuple(f for f in PROFILE_DEFAULTS if f != "kind")
ADDRESS_KEYS = ("label", "province", "city", "district", "street", "postcode", "is_primary")


@dataclass(slots=True)
class PreparedCustomer:
    """A customer's values, cleaned and validated, ready for a bulk write."""

    profile: dict
    phones: list[tuple[str, str]] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    addresses: list[dict] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    custom: dict = field(default_factory=dict)
    owner_id: int | None = None
    # (pinyin, initials, search text), worked out with the rest so that a bulk writer that
    # prepares rows in other processes does not compute them again.
    search_keys: tuple[str, str, str] | None = None


def customer_prepare(*, data: dict, definitions: dict, partial: bool = False) -> PreparedCustomer:
    """Clean and validate one customer's fields as `customer_create` would; raises
    ValidationFailed naming every bad field. `partial`: name may be missing (for a merge)."""
    errors = Errors()
    data = dict(data)
    owner_id = data.pop("owner", None)
    profile = _clean_profile(data, partial=partial, errors=errors)
    if profile.get("stage") == Stage.TERMINATED:
        errors.add("stage", _("A new customer cannot start terminated."))
    prepared = PreparedCustomer(
        profile=profile,
        phones=_clean_phones(data.get("phones"), errors),
        emails=_clean_emails(data.get("emails"), errors),
        addresses=_clean_addresses(data.get("addresses"), errors),
        tags=_clean_tags(data.get("tags"), errors),
        custom=clean_custom_fields(
            data.get("custom_fields") or {}, existing={}, errors=errors, definitions=definitions
        ),
        owner_id=owner_id,
    )
    errors.raise_if_any()
    if profile.get("name"):
        profile_ = PROFILE_DEFAULTS | profile
        pinyin, initials = name_keys(profile_["name"])
        prepared.search_keys = (
            pinyin,
            initials,
            build_search_text(
                name=profile_["name"],
                company_name=profile_["company_name"],
                phones=[p for p, _e in prepared.phones],
                emails=prepared.emails,
                external_id=profile_["external_id"],
            ),
        )
    return prepared


def _actor_id(actor):
    return actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None


def _refuse_terminated(ids) -> None:
    """Refuse (409, naming some) if any of these customers' relationship has ended: their
    records are read-only."""
    ids = list(ids)
    ended = [
        pk
        for start in range(0, len(ids), BATCH)
        for pk in Customer.objects.filter(
            pk__in=ids[start : start + BATCH], stage=Stage.TERMINATED
        ).values_list("pk", flat=True)
    ]
    if ended:
        message = _(
            "The relationship with customer %(ids)s has ended; its records are read-only."
        ) % {"ids": ", ".join(f"#{pk}" for pk in sorted(ended)[:10])}
        raise Conflict(message, errors={"customer": [message]})


def _check_owners(actor, owner_ids: set) -> None:
    """Every owner named must be one the actor may hand customers to."""
    named = {o for o in owner_ids if o is not None}
    if None in owner_ids and access.role_of(actor) not in ("admin", "manager"):
        raise PermissionDenied(errors={"owner": [_("You may not leave a customer unowned.")]})
    if not named:
        return
    allowed = set(
        User.objects.filter(access.assignable_owner_q(actor))
        .filter(pk__in=named)
        .values_list("pk", flat=True)
    )
    if named - allowed:
        raise PermissionDenied(errors={"owner": [_("You may not make this user the owner.")]})


def _check_external_ids(values: list[str], exclude_ids=()) -> None:
    seen, twice = set(), set()
    for value in values:
        (twice if value in seen else seen).add(value)
    taken = set(
        Customer.objects.filter(external_id__in=list(seen))
        .exclude(pk__in=list(exclude_ids))
        .values_list("external_id", flat=True)
    )
    if twice or taken:
        raise Conflict(
            errors={
                "external_id": [
                    _("Another customer has this external id: %(ids)s")
                    % {"ids": ", ".join(sorted(twice | taken)[:10])}
                ]
            }
        )


def _audit_values(profile: dict, c: PreparedCustomer, owner_id) -> dict:
    values = {k: v for k, v in profile.items() if k in AUDITED}
    values["custom_fields"] = c.custom
    values["owner_id"] = owner_id
    values["phones"] = [p for p, _e in c.phones]
    values["emails"] = c.emails
    values["tags"] = sorted(c.tags)
    values["addresses"] = [
        " ".join(a[f] for f in ("province", "city", "district", "street") if a[f])
        for a in c.addresses
    ]
    return {
        k: [None, v.isoformat() if hasattr(v, "isoformat") else v]
        for k, v in values.items()
        if v not in ("", None, [], {})
    }


def customers_bulk_create(
    *,
    actor,
    customers: list[PreparedCustomer],
    cause: str = "",
    event_data: dict | None = None,
    unowned: bool = False,
) -> list[int]:
    """Create many customers at once; returns their ids in the order given.

    Each gets what `customer_create` gives one: phones, emails, addresses, tags, custom
    fields, search keys, a first stage change with `cause`, a "created" timeline event
    (carrying `event_data`, e.g. the import it came from) and an audit entry. Customers
    without an owner get the actor, unless `unowned` (leads from channel events).
    """
    if not customers:
        return []
    access.require(actor, "customer.create")
    default_owner = None if unowned else _actor_id(actor)
    owners = [c.owner_id if c.owner_id is not None else default_owner for c in customers]
    _check_owners(actor, set(owners))
    external = [c.profile["external_id"] for c in customers if c.profile.get("external_id")]
    if external:
        _check_external_ids(external)
    now = timezone.now()
    actor_id = _actor_id(actor)
    channel = current_channel()
    cause = cause or _("created")
    with transaction.atomic():
        ids = allocate_ids(Customer, len(customers))
        customer_rows, phone_rows, email_rows, address_rows = [], [], [], []
        stage_rows, event_rows, audit_rows, tag_pairs = [], [], [], []
        for pk, c, owner_id in zip(ids, customers, owners, strict=True):
            profile = PROFILE_DEFAULTS | c.profile
            stage = profile.pop("stage", None) or Stage.LEAD
            profile.pop("stage_cause", None)
            if c.search_keys is not None:
                pinyin, initials, search_text = c.search_keys
            else:
                pinyin, initials = name_keys(profile["name"])
                search_text = build_search_text(
                    name=profile["name"],
                    company_name=profile["company_name"],
                    phones=[p for p, _e in c.phones],
                    emails=c.emails,
                    external_id=profile["external_id"],
                )
            customer_rows.append(
                (pk, now, now, owner_id, profile["kind"], profile["name"], pinyin, initials,
                 search_text, profile["company_name"], profile["job_title"], profile["gender"],
                 profile["birthday"], profile["industry"], profile["company_size"],
                 profile["business_scope"], profile["source"], profile["preferred_channel"],
                 stage, now, profile["external_id"], profile["notes"], c.custom)
            )  # fmt: skip
            phone_rows += [(pk, n, e, "", i) for i, (n, e) in enumerate(c.phones)]
            email_rows += [(pk, e, "", i) for i, e in enumerate(c.emails)]
            address_rows += [(now, now, pk, *(a[k] for k in ADDRESS_KEYS)) for a in c.addresses]
            tag_pairs += [(pk, name) for name in c.tags]
            stage_rows.append((pk, "", stage, cause[:255], actor_id, now))
            event_rows.append((pk, EventKind.CREATED, now, actor_id, event_data or {}, "", None))
            audit_rows.append(
                (now, actor_id, AuditAction.CREATE, channel, "customers.customer", str(pk),
                 profile["name"][:200], pk, _audit_values(profile | {"stage": stage}, c, owner_id))
            )  # fmt: skip
        with writing_many(connection) as index:
            Inserter(Customer, CUSTOMER_COLUMNS).insert(customer_rows)
            index.added(ids)
        Inserter(CustomerPhone, ["customer", "number", "extension", "label", "position"]).insert(
            phone_rows
        )
        Inserter(CustomerEmail, ["customer", "email", "label", "position"]).insert(email_rows)
        Inserter(Address, ["created_at", "updated_at", "customer", *ADDRESS_KEYS]).insert(
            address_rows
        )
        _insert_tags(tag_pairs)
        Inserter(
            StageChange, ["customer", "from_stage", "to_stage", "cause", "actor", "at"]
        ).insert(stage_rows)
        Inserter(TimelineEvent, EVENT_COLUMNS).insert(event_rows)
        Inserter(AuditEntry, AUDIT_COLUMNS).insert(audit_rows)
    return ids


CUSTOMER_COLUMNS = [
    "id", "created_at", "updated_at", "owner", "kind", "name", "name_pinyin", "name_initials",
    "search_text", "company_name", "job_title", "gender", "birthday", "industry", "company_size",
    "business_scope", "source", "preferred_channel", "stage", "stage_changed_at", "external_id",
    "notes", "custom_fields",
]  # fmt: skip


def _insert_tags(pairs: list[tuple[int, str]], existing: set | None = None) -> list[int]:
    """Link customers to tags by name (making missing tags); returns the through-row ids."""
    if not pairs:
        return []
    tags = {t.name: t.pk for t in _tags_by_name(sorted({name for _c, name in pairs}))}
    rows = [(c, tags[name]) for c, name in pairs if (c, tags[name]) not in (existing or ())]
    Through = Customer.tags.through
    if not rows:
        return []
    first = allocate_ids(Through, len(rows))
    Inserter(Through, ["id", "customer", "tag"]).insert(
        [(pk, c, t) for pk, (c, t) in zip(first, rows, strict=True)]
    )
    return first


# Merging rows into existing customers ---------------------------------------------------------


def _current(ids: list[int]) -> dict[int, dict]:
    """The stored state of customers, read set-based: profile, phones, emails, tags, addresses."""
    state = {}
    fields = ["pk", "owner_id", "name", "stage", "custom_fields", "search_text", *MERGEABLE]
    for start in range(0, len(ids), BATCH):
        part = ids[start : start + BATCH]
        for row in Customer.objects.filter(pk__in=part).values(*fields):
            row["phones"], row["emails"], row["tags"], row["addresses"] = [], [], [], []
            state[row.pop("pk")] = row
        for cid, number in (
            CustomerPhone.objects.filter(customer_id__in=part)
            .order_by("position", "id")
            .values_list("customer_id", "number")
        ):
            state[cid]["phones"].append(number)
        for cid, email in (
            CustomerEmail.objects.filter(customer_id__in=part)
            .order_by("position", "id")
            .values_list("customer_id", "email")
        ):
            state[cid]["emails"].append(email)
        for cid, name in Customer.tags.through.objects.filter(customer_id__in=part).values_list(
            "customer_id", "tag__name"
        ):
            state[cid]["tags"].append(name)
        for row in Address.objects.filter(customer_id__in=part).values(
            "customer_id", *ADDRESS_KEYS
        ):
            state[row.pop("customer_id")]["addresses"].append(row)
    return state


def _same_address(a: dict, b: dict) -> bool:
    return all(
        (a.get(k) or "") == (b.get(k) or "") for k in ("province", "city", "district", "street")
    )


def customers_bulk_merge(
    *,
    actor,
    updates: list[tuple[int, PreparedCustomer]],
    overwrite: bool = False,
    event_data: dict | None = None,
) -> dict[int, dict]:
    """Merge new values into existing customers, many at once.

    Without `overwrite`, only empty fields are filled (nothing stored is replaced); with it,
    every value given replaces the stored one. Phones, emails, tags and addresses are added,
    never removed. Returns, per customer that changed, what is needed to undo the change:
    `{"fields": {field: [old, new]}, "added": {"phones": [ids], ...}}`. Customers the actor
    may not edit are refused (PermissionDenied) before anything is written.
    """
    if not updates:
        return {}
    ids = list(dict.fromkeys(pk for pk, _c in updates))
    editable = set(
        access.scope_customers(Customer.objects.filter(pk__in=ids), actor)
        .filter(access.owner_q(actor, "owner", edit=True))
        .values_list("pk", flat=True)
    )
    if not access.can(actor, "customer.edit") or set(ids) - editable:
        raise PermissionDenied(_("You may not change some of these customers."))
    state = _current(ids)
    ended = [pk for pk in ids if state[pk]["stage"] == Stage.TERMINATED]
    if ended:
        _refuse_terminated(ended)
    now = timezone.now()
    actor_id = _actor_id(actor)
    channel = current_channel()
    undo: dict[int, dict] = {}
    new_phones, new_emails, new_addresses, new_tags = [], [], [], []
    changed_rows = {}
    for pk, c in updates:
        stored = state[pk]
        fields = undo.setdefault(pk, {"fields": {}, "added": {}})["fields"]
        for name in MERGEABLE + (("name",) if overwrite else ()):
            value = c.profile.get(name)
            if value in (None, ""):
                continue
            old = stored[name]
            if value != old and (overwrite or old in (None, "")):
                fields[name] = [fields.get(name, [old])[0], value]
                stored[name] = value
        if c.custom:
            merged = dict(stored["custom_fields"])
            for key, value in c.custom.items():
                if overwrite or merged.get(key) in (None, ""):
                    merged[key] = value
            if merged != stored["custom_fields"]:
                fields.setdefault("custom_fields", [stored["custom_fields"], merged])
                fields["custom_fields"][1] = merged
                stored["custom_fields"] = merged
        for number, ext in c.phones:
            if number not in stored["phones"]:
                stored["phones"].append(number)
                new_phones.append((pk, number, ext, "", len(stored["phones"]) - 1))
        for email in c.emails:
            if email not in stored["emails"]:
                stored["emails"].append(email)
                new_emails.append((pk, email, "", len(stored["emails"]) - 1))
        for tag in c.tags:
            if tag not in stored["tags"]:
                stored["tags"].append(tag)
                new_tags.append((pk, tag))
        for address in c.addresses:
            if not any(_same_address(address, a) for a in stored["addresses"]):
                address = dict(address, is_primary=not stored["addresses"])
                stored["addresses"].append(address)
                new_addresses.append((now, now, pk, *(address[k] for k in ADDRESS_KEYS)))
        changed_rows[pk] = stored
    external = {
        pk: f["external_id"][1] for pk, u in undo.items() if (f := u["fields"]).get("external_id")
    }
    if external:
        _check_external_ids(list(external.values()), exclude_ids=list(external))
    added_phone = {pk for pk, *_rest in new_phones}
    added_email = {pk for pk, *_rest in new_emails}
    added_tag = {pk for pk, _t in new_tags}
    added_address = {row[2] for row in new_addresses}
    touched = [
        pk
        for pk, u in undo.items()
        if u["fields"] or pk in added_phone | added_email | added_tag | added_address
    ]
    if not touched:
        return {}
    with transaction.atomic():
        phone_ids = _insert_returning(
            CustomerPhone, ["customer", "number", "extension", "label", "position"], new_phones
        )
        email_ids = _insert_returning(
            CustomerEmail, ["customer", "email", "label", "position"], new_emails
        )
        address_ids = _insert_returning(
            Address, ["created_at", "updated_at", "customer", *ADDRESS_KEYS], new_addresses
        )
        tag_ids = _insert_tags(new_tags)
        for rows, row_ids, key in (
            (new_phones, phone_ids, "phones"),
            (new_emails, email_ids, "emails"),
            (new_addresses, address_ids, "addresses"),
            (new_tags, tag_ids, "tags"),
        ):
            for row, row_id in zip(rows, row_ids, strict=True):
                pk = row[2] if key == "addresses" else row[0]
                undo[pk]["added"].setdefault(key, []).append(row_id)
        _write_merged(touched, changed_rows, now)
        event_rows, audit_rows = [], []
        for pk in touched:
            u = undo[pk]
            names = sorted(u["fields"]) + sorted(u["added"])
            event_rows.append(
                (pk, EventKind.UPDATED, now, actor_id, {"fields": names, **(event_data or {})},
                 "", None)
            )  # fmt: skip
            changes = {k: [_plain(v[0]), _plain(v[1])] for k, v in u["fields"].items()}
            for key in u["added"]:
                changes[key] = [None, f"+{len(u['added'][key])}"]
            audit_rows.append(
                (now, actor_id, AuditAction.UPDATE, channel, "customers.customer", str(pk),
                 changed_rows[pk]["name"][:200], pk, changes)
            )  # fmt: skip
        Inserter(TimelineEvent, EVENT_COLUMNS).insert(event_rows)
        Inserter(AuditEntry, AUDIT_COLUMNS).insert(audit_rows)
    return {pk: undo[pk] for pk in touched}


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _insert_returning(model, fields: list[str], rows: list[tuple]) -> list[int]:
    if not rows:
        return []
    ids = allocate_ids(model, len(rows))
    Inserter(model, ["id", *fields]).insert([(pk, *row) for pk, row in zip(ids, rows, strict=True)])
    return ids


def _write_merged(ids: list[int], rows: dict[int, dict], now) -> None:
    """Write the merged profile and fresh search keys of `ids`, one statement per batch."""
    for start in range(0, len(ids), BATCH):
        _write_merged_batch(ids[start : start + BATCH], rows, now)


def _write_merged_batch(ids: list[int], rows: dict[int, dict], now) -> None:
    old_text: dict[int, str] = {}
    contacts: dict[int, list[str]] = {}
    for cid, name in Contact.objects.filter(customer_id__in=ids).values_list("customer_id", "name"):
        contacts.setdefault(cid, []).append(name)
    fields = [Customer._meta.get_field(c) for c in ("name", *MERGEABLE, "custom_fields")]
    sets = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
    sql = (
        f"UPDATE {connection.ops.quote_name(Customer._meta.db_table)} SET {sets}, "
        "name_pinyin = %s, name_initials = %s, search_text = %s, updated_at = %s WHERE id = %s"
    )
    batch = []
    for pk in ids:
        s = rows[pk]
        pinyin, initials = name_keys(s["name"])
        search_text = build_search_text(
            name=s["name"],
            company_name=s["company_name"],
            phones=s["phones"],
            emails=s["emails"],
            external_id=s["external_id"],
            contact_names=contacts.get(pk, []),
        )
        values = [f.get_db_prep_save(s[f.name], connection) for f in fields]
        batch.append((*values, pinyin, initials, search_text, now, pk))
        if search_text != s["search_text"]:
            old_text[pk] = s["search_text"]
            s["search_text"] = search_text
    with writing_many(connection) as index, connection.cursor() as cursor:
        cursor.executemany(sql, batch)
        index.replaced(old_text)


def customers_bulk_revert(*, actor, changes: dict[int, dict]) -> list[int]:
    """Undo what `customers_bulk_merge` did, from what it returned: the phones, emails, tags
    and addresses it added are removed and the fields it changed get their old values back,
    unless they were changed again since. Returns the ids of the customers restored."""
    if not changes:
        return []
    ids = [
        pk
        for start in range(0, len(changes), BATCH)
        for pk in access.scope_customers(
            Customer.objects.filter(pk__in=list(changes)[start : start + BATCH]), actor
        ).values_list("pk", flat=True)
    ]
    _refuse_terminated(ids)
    now = timezone.now()
    with transaction.atomic():
        for key, model in (
            ("phones", CustomerPhone),
            ("emails", CustomerEmail),
            ("addresses", Address),
            ("tags", Customer.tags.through),
        ):
            row_ids = [i for pk in ids for i in changes[pk].get("added", {}).get(key, [])]
            for start in range(0, len(row_ids), BATCH):
                model.objects.filter(pk__in=row_ids[start : start + BATCH]).delete()
        state = _current(ids)
        for pk in ids:
            stored = state[pk]
            for name, (old, new) in changes[pk].get("fields", {}).items():
                if _plain(stored.get(name)) == _plain(new):
                    stored[name] = old
        _coerce_dates(state, ids)
        _write_merged(ids, state, now)
        actor_id = _actor_id(actor)
        rows = []
        for pk in ids:
            names = sorted(changes[pk].get("fields", {})) + sorted(changes[pk].get("added", {}))
            rows.append((pk, EventKind.UPDATED, now, actor_id, {"fields": names, "undo": True},
                         "", None))  # fmt: skip
        Inserter(TimelineEvent, EVENT_COLUMNS).insert(rows)
    return ids


def _coerce_dates(state: dict, ids: list[int]) -> None:
    from datetime import date

    for pk in ids:
        value = state[pk].get("birthday")
        if isinstance(value, str) and value:
            state[pk]["birthday"] = date.fromisoformat(value)


def customers_bulk_delete(*, actor, ids: list[int]) -> int:
    """Delete customers (an import's), with what hangs off them, a batch at a time; ids that
    no longer exist are passed over. Refused if any has orders (end the relationship
    instead) or is one the actor may not delete."""
    from guanxi.orders.models import Order

    if not ids or not access.can(actor, "customer.delete"):
        if ids:
            raise PermissionDenied(_("You do not have permission to do this."))
        return 0
    names: dict[int, str] = {}
    for start in range(0, len(ids), BATCH):
        part = ids[start : start + BATCH]
        existing = dict(Customer.objects.filter(pk__in=part).values_list("pk", "name"))
        allowed = set(
            access.scope_customers(Customer.objects.filter(pk__in=part), actor)
            .filter(access.owner_q(actor, "owner", edit=True))
            .values_list("pk", flat=True)
        )
        if set(existing) - allowed:
            raise PermissionDenied(_("You may not delete some of these customers."))
        if Order.objects.filter(customer_id__in=part).exists():
            raise Conflict(_("Some of these customers have orders; they cannot be deleted."))
        _refuse_terminated(existing)
        names.update(existing)
    now = timezone.now()
    pks = list(names)
    with transaction.atomic():
        for start in range(0, len(pks), BATCH):
            Customer.objects.filter(pk__in=pks[start : start + BATCH]).delete()
        Inserter(AuditEntry, AUDIT_COLUMNS).insert(
            [(now, _actor_id(actor), AuditAction.DELETE, current_channel(), "customers.customer",
              str(pk), name[:200], pk, {}) for pk, name in names.items()]
        )  # fmt: skip
    return len(names)


BATCH = 5000


# For other apps' bulk writes -------------------------------------------------------------------


def customers_require_action(*, actor, action: str, ids, fields=()) -> dict[int, dict]:
    """The customers `ids` as {id: {field: value}}, read set-based, provided the actor may
    see every one of them and do `action` (a rule of accounts.access) to it; otherwise
    PermissionDenied, before the caller writes anything (Conflict if the relationship with
    one has ended: its records are read-only)."""
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
        for row in qs.values("pk", "stage", *fields):
            found[row.pop("pk")] = row
    if len(found) < len(ids):
        raise PermissionDenied(_("You may not change some of these customers."))
    ended = [pk for pk, row in found.items() if row["stage"] == Stage.TERMINATED]
    if ended:
        _refuse_terminated(ended)
    if "stage" not in fields:
        for row in found.values():
            del row["stage"]
    return found


def customers_refresh_search_keys(customer_ids, now=None) -> None:
    """Write the search keys of these customers afresh from what is stored (contact names
    are part of their company's search text), set-based."""
    ids = sorted(set(customer_ids))
    if ids:
        _write_merged(ids, _current(ids), now or timezone.now())


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
