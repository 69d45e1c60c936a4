"""Validation and row helpers shared by the customer services: each input field cleaned,
all problems collected before anything is written."""

from datetime import date, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.accounts.choices import Role
from guanxi.accounts.models import User
from guanxi.core.errors import Conflict, Errors, PermissionDenied

from ..choices import CompanySize, ContactChannel, CustomerKind, Gender, Source, Stage
from ..cleaning import (
    build_search_text,
    clean_custom_value,
    fold,
    name_keys,
    normalize_email,
    normalize_phone,
)
from ..models import (
    Address,
    Customer,
    CustomerEmail,
    CustomerPhone,
    CustomFieldDefinition,
    Tag,
)

TEXT_FIELDS = {
    "name": 200,
    "company_name": 200,
    "job_title": 100,
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
# The stored values of each choice (an enum's `values` is worked out again at every call).
_CHOICE_VALUES = {field: frozenset(choices.values) for field, choices in CHOICE_FIELDS.items()}


def _recent() -> date:
    """Two days ago: a date before it is in the past in every time zone (the precise check,
    with the site's time zone, is then needed only for recent dates)."""
    return date.today() - timedelta(days=2)


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
    "job_title",
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
            if value not in _CHOICE_VALUES[field]:
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
            elif parsed >= _recent() and parsed > timezone.localdate():
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


def active_definitions() -> dict[str, CustomFieldDefinition]:
    return {d.key: d for d in CustomFieldDefinition.objects.filter(is_active=True)}


def clean_custom_fields(
    values: dict, *, existing: dict | None, errors: Errors, definitions=None
) -> dict:
    """Validate custom field values against the active definitions; merges into `existing`.

    `definitions` (from `active_definitions()`) saves the query when cleaning many rows.
    """
    if not isinstance(values, dict):
        errors.add("custom_fields", _("Custom fields must be an object of key → value."))
        return existing or {}
    if definitions is None:
        definitions = active_definitions()
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
