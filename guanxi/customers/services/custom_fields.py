"""Writes of custom field definitions: customer fields an admin adds without code."""

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.accounts.audit import audit_record, diff
from guanxi.accounts.choices import AuditAction
from guanxi.core.errors import Errors, NotFound, ValidationFailed

from ..cleaning import (
    fold,
)
from ..models import (
    CustomFieldDefinition,
)

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

    from ..choices import CustomFieldType

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
