"""Writes of customers, contacts, tags, stages and custom field definitions.

Every function checks the actor through accounts.access, validates the whole input before
writing anything (raising ValidationFailed naming each bad field), writes in one transaction,
records the change on the customer's timeline and in the audit log.
"""

from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.accounts.audit import audit_record, diff
from guanxi.accounts.choices import AuditAction, Role
from guanxi.accounts.models import AuditEntry, User
from guanxi.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from guanxi.interactions.choices import EventKind
from guanxi.interactions.models import TimelineEvent
from guanxi.interactions.timeline import timeline_record

from .choices import CompanySize, ContactChannel, CustomerKind, Gender, Source, Stage
from .cleaning import (
    build_search_text,
    clean_custom_value,
    fold,
    name_keys,
    normalize_email,
    normalize_phone,
)
from .models import (
    Address,
    Contact,
    Customer,
    CustomerEmail,
    CustomerPhone,
    CustomFieldDefinition,
    StageChange,
    Tag,
)
from .selectors import customer_duplicates

TEXT_FIELDS = {
    "name": 200,
    "company_name": 200,
    "industry": 100,
    "business_scope": 5000,
    "notes": 20000,
}
CHOICE_FIELDS = {
    "kind": CustomerKind,
    "gender": Gender,
    "company_size": CompanySize,
    "source": Source,
    "preferred_channel": ContactChannel,
    "stage": Stage,
}
# Choice fields a customer may leave unset (the model stores "").
BLANK_ALLOWED = {"gender", "company_size", "source", "preferred_channel"}
ADDRESS_FIELDS = ("label", "province", "city", "district", "street", "postcode", "is_primary")
WRITABLE = (
    set(TEXT_FIELDS)
    | set(CHOICE_FIELDS)
    | {
        "birthday",
        "external_id",
        "phones",
        "emails",
        "addresses",
        "tags",
        "custom_fields",
        "owner",
        "stage_cause",
    }
)
AUDITED = (
    "kind",
    "name",
    "company_name",
    "gender",
    "birthday",
    "industry",
    "company_size",
    "business_scope",
    "source",
    "preferred_channel",
    "stage",
    "external_id",
    "notes",
    "custom_fields",
    "owner_id",
)


class Errors(dict):
    def add(self, field: str, message) -> None:
        self.setdefault(field, []).append(str(message))

    def raise_if_any(self) -> None:
        if self:
            raise ValidationFailed(errors=self)


def _clean_profile(data: dict, *, partial: bool, errors: Errors) -> dict:
    """Validate plain profile fields; returns the cleaned values that were given."""
    unknown = set(data) - WRITABLE
    for field in sorted(unknown):
        errors.add(field, _("Unknown field."))
    out = {}
    for field, max_len in TEXT_FIELDS.items():
        if field in data:
            value = (
                fold(data[field] or "")
                if field not in ("business_scope", "notes")
                else ((data[field] or "").strip())
            )
            if len(value) > max_len:
                errors.add(field, _("At most %(n)d characters.") % {"n": max_len})
            out[field] = value
    if (not partial or "name" in data) and not out.get("name"):
        errors.add("name", _("This field is required."))
    for field, choices in CHOICE_FIELDS.items():
        if field in data:
            value = data[field] if data[field] is not None else ""
            if value == "" and field in BLANK_ALLOWED:
                out[field] = value
                continue
            if value not in choices.values:
                errors.add(
                    field,
                    _("“%(value)s” is not one of: %(choices)s.")
                    % {"value": value, "choices": ", ".join(v for v in choices.values if v)},
                )
            out[field] = value
    if "birthday" in data:
        value = data["birthday"]
        if value in (None, ""):
            out["birthday"] = None
        else:
            if isinstance(value, date):
                parsed = value
            else:
                try:
                    parsed = parse_date(str(value).strip())
                except ValueError:
                    parsed = None
            if parsed is None:
                errors.add(
                    "birthday", _("“%(value)s” is not a date (use YYYY-MM-DD).") % {"value": value}
                )
            elif parsed > timezone.localdate():
                errors.add("birthday", _("A birthday cannot be in the future."))
            else:
                out["birthday"] = parsed
    if "external_id" in data:
        out["external_id"] = fold(str(data["external_id"] or "")) or None
        if out["external_id"] and len(out["external_id"]) > 100:
            errors.add("external_id", _("At most %(n)d characters.") % {"n": 100})
    if len(data.get("stage_cause") or "") > 255:
        errors.add("stage_cause", _("At most %(n)d characters.") % {"n": 255})
    return out


def _clean_phones(raw_list, errors: Errors) -> list[tuple[str, str]]:
    phones, seen = [], set()
    for raw in raw_list or []:
        if not str(raw or "").strip():
            continue
        try:
            number, ext = normalize_phone(str(raw))
        except ValueError as e:
            errors.add("phones", e)
            continue
        if number not in seen:
            seen.add(number)
            phones.append((number, ext))
    return phones


def _clean_emails(raw_list, errors: Errors) -> list[str]:
    emails = []
    for raw in raw_list or []:
        if not str(raw or "").strip():
            continue
        try:
            email = normalize_email(str(raw))
        except ValueError as e:
            errors.add("emails", e)
            continue
        if email not in emails:
            emails.append(email)
    return emails


def _clean_addresses(raw_list, errors: Errors) -> list[dict]:
    addresses = []
    for i, raw in enumerate(raw_list or []):
        if not isinstance(raw, dict):
            errors.add(f"addresses[{i}]", _("An address must be an object."))
            continue
        unknown = set(raw) - set(ADDRESS_FIELDS) - {"id"}
        for field in unknown:
            errors.add(f"addresses[{i}].{field}", _("Unknown field."))
        clean = {f: fold(str(raw.get(f) or "")) for f in ADDRESS_FIELDS if f != "is_primary"}
        clean["is_primary"] = bool(raw.get("is_primary"))
        for field, limit in (
            ("label", 50),
            ("province", 50),
            ("city", 50),
            ("district", 50),
            ("street", 255),
            ("postcode", 12),
        ):
            if len(clean[field]) > limit:
                errors.add(f"addresses[{i}].{field}", _("At most %(n)d characters.") % {"n": limit})
        if any(clean[f] for f in ("province", "city", "district", "street")):
            addresses.append(clean)
    if addresses and not any(a["is_primary"] for a in addresses):
        addresses[0]["is_primary"] = True
    return addresses


def _clean_tags(raw_list, errors: Errors) -> list[str]:
    names = []
    for raw in raw_list or []:
        name = fold(str(raw or ""))
        if not name:
            continue
        if len(name) > 50:
            errors.add("tags", _("A tag is at most 50 characters: “%(tag)s”.") % {"tag": name})
        elif name not in names:
            names.append(name)
    return names


def clean_custom_fields(values: dict, *, existing: dict | None, errors: Errors) -> dict:
    """Validate custom field values against the active definitions; merges into `existing`."""
    if not isinstance(values, dict):
        errors.add("custom_fields", _("Custom fields must be an object of key → value."))
        return existing or {}
    definitions = {d.key: d for d in CustomFieldDefinition.objects.filter(is_active=True)}
    merged = dict(existing or {})
    for key, raw in values.items():
        definition = definitions.get(key)
        if definition is None:
            errors.add(f"custom_fields.{key}", _("No custom field with this key."))
            continue
        try:
            value = clean_custom_value(definition, raw)
        except ValueError as e:
            errors.add(f"custom_fields.{key}", e)
            continue
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    for key, definition in definitions.items():
        if definition.required and merged.get(key) in (None, ""):
            errors.add(f"custom_fields.{key}", _("This field is required."))
    return merged


def _resolve_owner(actor, raw, errors: Errors) -> User | None:
    if raw in (None, ""):
        return None
    owner_id = raw.pk if isinstance(raw, User) else raw
    try:
        owner = User.objects.get(pk=int(owner_id), is_active=True)
    except (User.DoesNotExist, ValueError, TypeError):
        errors.add("owner", _("No active user with id %(id)s.") % {"id": owner_id})
        return None
    return owner


def _check_owner_allowed(
    actor, owner: User | None, *, current_owner_id=None, creating: bool = False
) -> None:
    """Reps may not hand customers to others; managers only within their team."""
    owner_id = owner.pk if owner else None
    if owner_id == current_owner_id and not creating:
        return
    if access.role_of(actor) == Role.REP and owner_id == actor.pk and current_owner_id is None:
        return
    if (
        not User.objects.filter(access.assignable_owner_q(actor)).filter(pk=owner_id).exists()
        and owner_id is not None
    ):
        raise PermissionDenied(errors={"owner": [_("You may not make this user the owner.")]})
    if owner_id is None and access.role_of(actor) not in (Role.ADMIN, Role.MANAGER):
        raise PermissionDenied(errors={"owner": [_("You may not leave a customer unowned.")]})


def duplicate_conflict(actor, duplicates: list[Customer], *, phones=None, emails=None) -> Conflict:
    """409 listing the customers the actor may see; the fields named are those that clash."""
    visible = [c for c in duplicates if access.can_see_owner(actor, c.owner_id)]
    hidden = len(duplicates) - len(visible)
    message = _("A customer with this phone or email already exists.")
    if hidden:
        message += " " + _("%(n)d of them belong to another owner.") % {"n": hidden}
    ids = [c.pk for c in duplicates]
    fields = []
    if phones and CustomerPhone.objects.filter(customer_id__in=ids, number__in=phones).exists():
        fields.append("phones")
    if emails and CustomerEmail.objects.filter(customer_id__in=ids, email__in=emails).exists():
        fields.append("emails")
    return Conflict(
        message,
        errors={f: [message] for f in fields or ["phones"]},
        duplicates=[{"id": c.pk, "name": c.name} for c in visible],
        hidden_duplicates=hidden,
    )


def _sync_search_keys(customer: Customer, phones=None, emails=None) -> None:
    if phones is None:
        phones = list(customer.phones.values_list("number", flat=True))
    if emails is None:
        emails = list(customer.emails.values_list("email", flat=True))
    contact_names = list(customer.contacts.values_list("name", flat=True)) if customer.pk else []
    customer.name_pinyin, customer.name_initials = name_keys(customer.name)
    customer.search_text = build_search_text(
        name=customer.name,
        company_name=customer.company_name,
        phones=phones,
        emails=emails,
        external_id=customer.external_id,
        contact_names=contact_names,
    )


def _snapshot(customer: Customer) -> dict:
    snap = {f: getattr(customer, f) for f in AUDITED}
    snap["phones"] = list(customer.phones.values_list("number", flat=True))
    snap["emails"] = list(customer.emails.values_list("email", flat=True))
    snap["tags"] = sorted(customer.tags.values_list("name", flat=True))
    snap["addresses"] = [str(a) for a in customer.addresses.all()]
    return snap


def _replace_phones(customer, phones):
    customer.phones.all().delete()
    CustomerPhone.objects.bulk_create(
        CustomerPhone(customer=customer, number=n, extension=e, position=i)
        for i, (n, e) in enumerate(phones)
    )


def _replace_emails(customer, emails):
    customer.emails.all().delete()
    CustomerEmail.objects.bulk_create(
        CustomerEmail(customer=customer, email=e, position=i) for i, e in enumerate(emails)
    )


def _replace_addresses(customer, addresses):
    customer.addresses.all().delete()
    Address.objects.bulk_create(Address(customer=customer, **a) for a in addresses)


def _tags_by_name(names: list[str]) -> list[Tag]:
    existing = {t.name: t for t in Tag.objects.filter(name__in=names)}
    missing = [Tag(name=n) for n in names if n not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {t.name: t for t in Tag.objects.filter(name__in=names)}
    return [existing[n] for n in names]


def _check_external_id(external_id, *, exclude_id=None):
    if (
        external_id
        and Customer.objects.filter(external_id=external_id).exclude(pk=exclude_id).exists()
    ):
        raise Conflict(errors={"external_id": [_("Another customer has this external id.")]})


def customer_create(*, actor, data: dict, allow_duplicate: bool = False) -> Customer:
    """Create a customer from a dict of fields; warns (409) if its phone or email exists."""
    access.require(actor, "customer.create")
    errors = Errors()
    profile = _clean_profile(data, partial=False, errors=errors)
    phones = _clean_phones(data.get("phones"), errors)
    emails = _clean_emails(data.get("emails"), errors)
    addresses = _clean_addresses(data.get("addresses"), errors)
    tag_names = _clean_tags(data.get("tags"), errors)
    custom = clean_custom_fields(data.get("custom_fields") or {}, existing={}, errors=errors)
    owner = _resolve_owner(actor, data.get("owner"), errors) if "owner" in data else actor
    errors.raise_if_any()
    if "owner" in data:
        _check_owner_allowed(actor, owner, creating=True)
    if "tags" in data and tag_names:
        access.require(actor, "customer.tag")
    stage = profile.pop("stage", None) or Stage.LEAD
    if stage == Stage.TERMINATED:
        raise ValidationFailed(errors={"stage": [_("A new customer cannot start terminated.")]})
    _check_external_id(profile.get("external_id"))
    if not allow_duplicate:
        numbers = [p for p, _e in phones]
        duplicates = customer_duplicates(phones=numbers, emails=emails)
        if duplicates:
            raise duplicate_conflict(actor, duplicates, phones=numbers, emails=emails)

    now = timezone.now()
    with transaction.atomic():
        customer = Customer(
            owner=owner, stage=stage, stage_changed_at=now, custom_fields=custom, **profile
        )
        _sync_search_keys(customer, phones=[p for p, _e in phones], emails=emails)
        customer.save()
        _replace_phones(customer, phones)
        _replace_emails(customer, emails)
        _replace_addresses(customer, addresses)
        if tag_names:
            customer.tags.set(_tags_by_name(tag_names))
        StageChange.objects.create(
            customer=customer,
            from_stage="",
            to_stage=stage,
            actor=_user(actor),
            cause=data.get("stage_cause") or _("created"),
            at=now,
        )
        timeline_record(customer_id=customer.pk, kind=EventKind.CREATED, actor=actor, at=now)
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            instance=customer,
            customer_id=customer.pk,
            changes={
                k: [None, v] for k, v in _snapshot(customer).items() if v not in ("", None, [], {})
            },
        )
    return customer


def _user(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def customer_update(
    *, actor, customer: Customer, data: dict, allow_duplicate: bool = False
) -> Customer:
    """Change some fields of a customer; lists given (phones, emails, addresses, tags) replace."""
    access.require_visible(actor, customer.owner_id)
    only_tags = set(data) <= {"tags"}
    if only_tags:
        access.require_on_customer(actor, "customer.tag", customer)
    else:
        access.require_on_customer(actor, "customer.edit", customer)
    errors = Errors()
    profile = _clean_profile(data, partial=True, errors=errors)
    phones = _clean_phones(data["phones"], errors) if "phones" in data else None
    emails = _clean_emails(data["emails"], errors) if "emails" in data else None
    addresses = _clean_addresses(data["addresses"], errors) if "addresses" in data else None
    tag_names = _clean_tags(data["tags"], errors) if "tags" in data else None
    custom = (
        clean_custom_fields(
            data["custom_fields"] or {}, existing=customer.custom_fields, errors=errors
        )
        if "custom_fields" in data
        else None
    )
    owner = _resolve_owner(actor, data["owner"], errors) if "owner" in data else None
    if profile.get("kind") == CustomerKind.PERSON and customer.contacts.exists():
        errors.add("kind", _("This company has contacts; remove them before making it a person."))
    errors.raise_if_any()
    if "owner" in data:
        _check_owner_allowed(actor, owner, current_owner_id=customer.owner_id)
        if (owner.pk if owner else None) != customer.owner_id:
            access.require_on_customer(actor, "customer.assign_owner", customer)
    if "external_id" in profile:
        _check_external_id(profile["external_id"], exclude_id=customer.pk)
    if not allow_duplicate and (phones or emails):
        numbers = [p for p, _e in phones or []]
        duplicates = customer_duplicates(
            phones=numbers, emails=emails or [], exclude_id=customer.pk
        )
        if duplicates:
            raise duplicate_conflict(actor, duplicates, phones=numbers, emails=emails)
    new_stage = profile.pop("stage", None)
    stage_cause = data.get("stage_cause") or ""

    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        before = _snapshot(customer)
        for field, value in profile.items():
            setattr(customer, field, value)
        if custom is not None:
            customer.custom_fields = custom
        if phones is not None:
            _replace_phones(customer, phones)
        if emails is not None:
            _replace_emails(customer, emails)
        if addresses is not None:
            _replace_addresses(customer, addresses)
        if "owner" in data:
            customer.owner = owner
        _sync_search_keys(customer)
        customer.save()
        if tag_names is not None:
            customer.tags.set(_tags_by_name(tag_names))
        after = _snapshot(customer)
        changes = diff(before, after)
        if new_stage and new_stage != customer.stage:
            _stage_change(actor, customer, new_stage, stage_cause)
            changes["stage"] = [before["stage"], new_stage]
        _record_changes(actor, customer, changes, before, after)
    return customer


def _record_changes(actor, customer, changes, before, after):
    if not changes:
        return
    if "owner_id" in changes:
        names = dict(
            User.objects.filter(pk__in=[before["owner_id"], after["owner_id"]]).values_list(
                "pk", "username"
            )
        )
        timeline_record(
            customer_id=customer.pk,
            kind=EventKind.OWNER_CHANGED,
            actor=actor,
            data={"from": names.get(before["owner_id"]), "to": names.get(after["owner_id"])},
        )
    if "tags" in changes:
        old, new = set(before["tags"]), set(after["tags"])
        timeline_record(
            customer_id=customer.pk,
            kind=EventKind.TAGGED,
            actor=actor,
            data={"added": sorted(new - old), "removed": sorted(old - new)},
        )
    profile_fields = sorted(set(changes) - {"owner_id", "tags", "stage"})
    if profile_fields:
        timeline_record(
            customer_id=customer.pk,
            kind=EventKind.UPDATED,
            actor=actor,
            data={"fields": profile_fields},
        )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=customer,
        customer_id=customer.pk,
        changes=changes,
    )


def _stage_change(
    actor, customer: Customer, stage: str, cause: str, *, cause_field: str = "stage_cause"
) -> StageChange:
    cause = (cause or "").strip()
    if len(cause) > 255:
        raise ValidationFailed(errors={cause_field: [_("At most %(n)d characters.") % {"n": 255}]})
    if stage == Stage.TERMINATED:
        if access.role_of(actor) not in (Role.ADMIN, Role.MANAGER) and actor is not None:
            raise PermissionDenied(
                errors={"stage": [_("Only a manager may end a customer relationship.")]}
            )
        if not cause:
            raise ValidationFailed(
                errors={cause_field: [_("Give the reason for ending the relationship.")]}
            )
    old = customer.stage
    now = timezone.now()
    Customer.objects.filter(pk=customer.pk).update(stage=stage, stage_changed_at=now)
    customer.stage, customer.stage_changed_at = stage, now
    change = StageChange.objects.create(
        customer=customer, from_stage=old, to_stage=stage, cause=cause, actor=_user(actor), at=now
    )
    timeline_record(
        customer_id=customer.pk,
        kind=EventKind.STAGE_CHANGED,
        actor=actor,
        data={"from": old, "to": stage, "cause": cause},
        at=now,
    )
    return change


def customer_change_stage(*, actor, customer: Customer, stage: str, cause: str = "") -> Customer:
    """Move a customer to a lifecycle stage, recording time, cause and actor.

    `actor=None` is the system itself (a rule or job), which needs no permission.
    """
    if actor is not None:
        access.require_visible(actor, customer.owner_id)
        access.require_on_customer(actor, "customer.edit", customer)
    if stage not in Stage.values:
        raise ValidationFailed(errors={"stage": [_("Unknown stage “%(s)s”.") % {"s": stage}]})
    if stage == customer.stage:
        return customer
    with transaction.atomic():
        old = customer.stage
        _stage_change(actor, customer, stage, cause, cause_field="cause")
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            instance=customer,
            customer_id=customer.pk,
            changes={"stage": [old, stage]},
        )
    return customer


def customer_delete(*, actor, customer: Customer) -> None:
    """Delete a customer and what hangs off it; refused while it has orders."""
    access.require_visible(actor, customer.owner_id)
    access.require_on_customer(actor, "customer.delete", customer)
    if customer.orders.exists():
        raise Conflict(_("This customer has orders; end the relationship instead of deleting it."))
    with transaction.atomic():
        snapshot = _snapshot(customer)
        pk, name = customer.pk, str(customer)
        customer.delete()
        audit_record(
            actor=actor,
            action=AuditAction.DELETE,
            model="customers.customer",
            object_id=pk,
            object_repr=name,
            customer_id=pk,
            changes={k: [v, None] for k, v in snapshot.items() if v not in ("", None, [])},
        )


def _editable(actor, action: str, customer_ids) -> QuerySet[Customer]:
    """The customers among `customer_ids` the actor may see and apply `action` to."""
    if not access.can(actor, action):
        raise PermissionDenied(_("You do not have permission to do this."))
    visible = access.scope_customers(Customer.objects.filter(pk__in=list(customer_ids)), actor)
    if access.MATRIX[action].get(access.role_of(actor)) is True:
        return visible
    return visible.filter(access.owner_q(actor, "owner", edit=True))


def customers_assign_owner(*, actor, customer_ids, owner: User) -> int:
    """Hand customers to another user (set-based); returns how many changed hands."""
    if not access.can(actor, "customer.assign_owner"):
        raise PermissionDenied(_("You do not have permission to do this."))
    if not User.objects.filter(access.assignable_owner_q(actor)).filter(pk=owner.pk).exists():
        raise PermissionDenied(errors={"owner": [_("You may not make this user the owner.")]})
    qs = _editable(actor, "customer.assign_owner", customer_ids).exclude(owner=owner)
    rows = list(qs.values_list("pk", "name", "owner__username", "owner_id"))
    if not rows:
        return 0
    ids = [r[0] for r in rows]
    now = timezone.now()
    with transaction.atomic():
        Customer.objects.filter(pk__in=ids).update(owner=owner, updated_at=now)
        TimelineEvent.objects.bulk_create(
            TimelineEvent(
                customer_id=pk,
                kind=EventKind.OWNER_CHANGED,
                actor=_user(actor),
                at=now,
                data={"from": old_name, "to": owner.username},
            )
            for pk, _n, old_name, _o in rows
        )
        _bulk_audit(actor, rows, lambda r: {"owner_id": [r[3], owner.pk]})
    return len(rows)


def _bulk_audit(actor, rows, changes_of):
    from guanxi.core.context import current_channel

    channel = current_channel()
    AuditEntry.objects.bulk_create(
        AuditEntry(
            actor=_user(actor),
            action=AuditAction.UPDATE,
            channel=channel,
            model="customers.customer",
            object_id=str(r[0]),
            object_repr=r[1][:200],
            customer_id=r[0],
            changes=changes_of(r),
        )
        for r in rows
    )


def customers_tag(*, actor, customer_ids, add=(), remove=()) -> int:
    """Add and remove tags on many customers at once; returns how many customers changed."""
    errors = Errors()
    add_names = _clean_tags(add, errors)
    remove_names = _clean_tags(remove, errors)
    errors.raise_if_any()
    qs = _editable(actor, "customer.tag", customer_ids)
    ids = list(qs.values_list("pk", flat=True))
    if not ids or not (add_names or remove_names):
        return 0
    Through = Customer.tags.through
    now = timezone.now()
    changed: dict[int, dict] = {}
    with transaction.atomic():
        if add_names:
            tags = _tags_by_name(add_names)
            have = set(
                Through.objects.filter(customer_id__in=ids, tag__in=tags).values_list(
                    "customer_id", "tag_id"
                )
            )
            new = [
                Through(customer_id=c, tag_id=t.pk)
                for c in ids
                for t in tags
                if (c, t.pk) not in have
            ]
            Through.objects.bulk_create(new)
            for row in new:
                changed.setdefault(row.customer_id, {"added": [], "removed": []})["added"].append(
                    next(t.name for t in tags if t.pk == row.tag_id)
                )
        if remove_names:
            gone = Through.objects.filter(customer_id__in=ids, tag__name__in=remove_names)
            for c, name in gone.values_list("customer_id", "tag__name"):
                changed.setdefault(c, {"added": [], "removed": []})["removed"].append(name)
            Through.objects.filter(pk__in=list(gone.values_list("pk", flat=True))).delete()
        if changed:
            Customer.objects.filter(pk__in=list(changed)).update(updated_at=now)
            TimelineEvent.objects.bulk_create(
                TimelineEvent(
                    customer_id=c, kind=EventKind.TAGGED, actor=_user(actor), at=now, data=d
                )
                for c, d in changed.items()
            )
            names = dict(Customer.objects.filter(pk__in=list(changed)).values_list("pk", "name"))
            _bulk_audit(
                actor,
                [(c, names[c]) for c in changed],
                lambda r: {"tags": [changed[r[0]]["removed"], changed[r[0]]["added"]]},
            )
    return len(changed)


# Contacts -----------------------------------------------------------------------------------

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


# Custom field definitions -------------------------------------------------------------------

DEFINITION_FIELDS = (
    "key",
    "label_zh",
    "label_en",
    "field_type",
    "choices",
    "required",
    "min_value",
    "max_value",
    "max_length",
    "help_text",
    "position",
    "is_active",
)


def _clean_definition(data: dict, *, instance: CustomFieldDefinition | None) -> dict:
    import re

    from .choices import CustomFieldType

    errors = Errors()
    for field in set(data) - set(DEFINITION_FIELDS):
        errors.add(field, _("Unknown field."))
    out = {k: v for k, v in data.items() if k in DEFINITION_FIELDS}
    if instance is None or "key" in data:
        key = (data.get("key") or "").strip()
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,49}", key):
            errors.add("key", _("Use lower-case letters, digits and _, starting with a letter."))
        elif (
            CustomFieldDefinition.objects.filter(key=key)
            .exclude(pk=instance.pk if instance else None)
            .exists()
        ):
            errors.add("key", _("A custom field with this key already exists."))
        out["key"] = key
    if (instance is None or "label_zh" in data) and not (data.get("label_zh") or "").strip():
        errors.add("label_zh", _("This field is required."))
    field_type = data.get("field_type", instance.field_type if instance else None)
    if field_type not in CustomFieldType.values:
        errors.add(
            "field_type",
            _("“%(value)s” is not one of: %(choices)s.")
            % {"value": field_type, "choices": ", ".join(CustomFieldType.values)},
        )
    choices = data.get("choices", instance.choices if instance else [])
    if field_type == CustomFieldType.CHOICE:
        if (
            not isinstance(choices, list)
            or not choices
            or not all(isinstance(c, str) and c.strip() for c in choices)
        ):
            errors.add("choices", _("A choice field needs a list of at least one option."))
        else:
            out["choices"] = [c.strip() for c in choices]
    for field in ("required", "is_active", "position", "choices"):
        if field in data and data[field] is None:
            errors.add(field, _("This field cannot be empty."))
            out.pop(field, None)
    for field, limit in (("label_zh", 100), ("label_en", 100), ("help_text", 200)):
        if field in data:
            out[field] = fold(str(data[field] or ""))
            if len(out[field]) > limit:
                errors.add(field, _("At most %(n)d characters.") % {"n": limit})
    if "choices" in out and any(len(c) > 100 for c in out["choices"]):
        errors.add("choices", _("An option is at most %(n)d characters.") % {"n": 100})
    for field in ("min_value", "max_value"):
        if data.get(field) is not None:
            try:
                number = Decimal(str(data[field]))
            except (InvalidOperation, ValueError):
                number = None
            if number is None or not number.is_finite() or abs(number) >= Decimal("1e13"):
                errors.add(field, _("Enter a number below 10,000,000,000,000 in size."))
            else:
                out[field] = number.quantize(Decimal("0.0001"))
    if data.get("max_length") is not None and not (
        isinstance(data["max_length"], int) and 1 <= data["max_length"] <= 10000
    ):
        errors.add("max_length", _("Enter a whole number from 1 to 10000."))
    if data.get("position") is not None and not (
        isinstance(data["position"], int) and 0 <= data["position"] <= 32000
    ):
        errors.add("position", _("Enter a whole number from 0 to 32000."))
    lo = out.get("min_value", instance.min_value if instance else None)
    hi = out.get("max_value", instance.max_value if instance else None)
    if lo is not None and hi is not None and lo > hi:
        errors.add("max_value", _("The maximum is below the minimum."))
    errors.raise_if_any()
    return out


def custom_field_create(*, actor, data: dict) -> CustomFieldDefinition:
    """Define a new customer field (text, number, date or choice) without code."""
    access.require(actor, "customfield.manage")
    clean = _clean_definition(data, instance=None)
    with transaction.atomic():
        definition = CustomFieldDefinition.objects.create(**clean)
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            instance=definition,
            changes={k: [None, v] for k, v in clean.items()},
        )
    return definition


def custom_field_update(*, actor, definition: CustomFieldDefinition, data: dict):
    access.require(actor, "customfield.manage")
    if "key" in data and data["key"] != definition.key:
        raise ValidationFailed(errors={"key": [_("The key of a field cannot change.")]})
    clean = _clean_definition(data, instance=definition)
    before = {f: getattr(definition, f) for f in DEFINITION_FIELDS}
    with transaction.atomic():
        for field, value in clean.items():
            setattr(definition, field, value)
        definition.save()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            instance=definition,
            changes=diff(before, {f: getattr(definition, f) for f in DEFINITION_FIELDS}),
        )
    return definition


def custom_field_delete(*, actor, definition: CustomFieldDefinition) -> None:
    """Retire a field: it is hidden and no longer validated; stored values stay."""
    access.require(actor, "customfield.manage")
    custom_field_update(actor=actor, definition=definition, data={"is_active": False})


def get_definition(*, key: str) -> CustomFieldDefinition:
    import re

    if not re.fullmatch(r"[a-z][a-z0-9_]{0,49}", key or ""):
        raise NotFound(_("No custom field with this key."))
    try:
        return CustomFieldDefinition.objects.get(key=key)
    except CustomFieldDefinition.DoesNotExist as e:
        raise NotFound(_("No custom field with this key.")) from e
