"""The program's settings, its tiers, and its earning rules in versions (draft → published)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.accounts.audit import audit_record, diff
from guanxi.accounts.choices import AuditAction
from guanxi.core.errors import Conflict, Errors, ValidationFailed

from ..choices import Period, QualifyBy, Rounding, VersionStatus
from ..models import LoyaltyProgram, LoyaltyTier, RuleVersion
from ..rules import validate_rules

PROGRAM_FIELDS = {
    "name": str, "name_en": str, "is_active": bool, "auto_enrol": bool, "expiry_months": int,
    "warn_days": int, "qualify_by": str, "grace_days": int,
}  # fmt: skip
BENEFIT_KEYS = {"multiplier", "discount_pct", "free_shipping", "dedicated_manager",
                "birthday_gift"}  # fmt: skip


def program_update(*, actor, data: dict) -> LoyaltyProgram:
    access.require(actor, "loyalty.manage")
    errors = Errors()
    program = LoyaltyProgram.current()
    before = {k: getattr(program, k) for k in PROGRAM_FIELDS}
    for key, value in data.items():
        kind = PROGRAM_FIELDS.get(key)
        if kind is None:
            errors.add(key, _("Unknown field."))
        elif kind is bool:
            setattr(program, key, bool(value))
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3650:
                errors.add(key, _("Must be a whole number from 0 to 3650."))
            else:
                setattr(program, key, value)
        else:
            value = str(value or "").strip()
            if key in ("name", "name_en") and not value:
                errors.add(key, _("Must not be empty."))
            elif key == "qualify_by" and value not in QualifyBy.values:
                errors.add(
                    key, _("Must be one of: %(values)s") % {"values": ", ".join(QualifyBy.values)}
                )
            else:
                setattr(program, key, value[:100])
    errors.raise_if_any()
    program.save()
    changes = diff(before, {k: getattr(program, k) for k in PROGRAM_FIELDS})
    if changes:
        audit_record(actor=actor, action=AuditAction.UPDATE, instance=program, changes=changes)
    return program


def _clean_version(data: dict, errors: Errors) -> dict:
    out = {}
    known = {"base_rate", "rounding", "order_cap", "period_cap", "period", "rules", "note",
             "effective_from"}  # fmt: skip
    for key in set(data) - known:
        errors.add(key, _("Unknown field."))
    if "base_rate" in data:
        try:
            rate = Decimal(str(data["base_rate"]))
            if not rate.is_finite() or rate < 0 or rate > 1000:
                raise InvalidOperation
            out["base_rate"] = rate.quantize(Decimal("0.0001"))
        except InvalidOperation:
            errors.add("base_rate", _("Must be a number from 0 to 1000."))
    if "rounding" in data:
        if data["rounding"] not in Rounding.values:
            errors.add(
                "rounding", _("Must be one of: %(values)s") % {"values": ", ".join(Rounding.values)}
            )
        out["rounding"] = data["rounding"]
    for key in ("order_cap", "period_cap"):
        if key in data:
            value = data[key]
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 0):  # fmt: skip
                errors.add(key, _("Must be a whole number of 0 or more, or empty."))
            out[key] = value
    if "period" in data:
        if data["period"] not in Period.values or data["period"] == Period.EVER:
            errors.add("period", _("Must be day, week, month or year."))
        out["period"] = data["period"]
    if "note" in data:
        out["note"] = str(data["note"] or "")[:300]
    if "effective_from" in data:
        value = data["effective_from"]
        parsed = value if hasattr(value, "tzinfo") or value is None else parse_datetime(str(value))
        if value is not None and parsed is None:
            errors.add("effective_from", _("Not a date and time."))
        elif parsed is not None and timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
        out["effective_from"] = parsed
    if "rules" in data:
        try:
            out["rules"] = validate_rules(data["rules"])
        except ValidationFailed as e:
            for field, messages in e.errors.items():
                for message in messages:
                    errors.add(field, message)
    return out


def version_draft(*, actor, data: dict, based_on: RuleVersion | None = None) -> RuleVersion:
    """A new draft version: a copy of `based_on` (or of the newest version) with `data`."""
    access.require(actor, "loyalty.manage")
    errors = Errors()
    clean = _clean_version(data, errors)
    errors.raise_if_any()
    base = based_on or RuleVersion.objects.order_by("-number").first()
    fields = {"base_rate": Decimal("1"), "rounding": Rounding.DOWN, "order_cap": None,
              "period_cap": None, "period": Period.MONTH, "rules": []}  # fmt: skip
    if base is not None:
        fields = {k: getattr(base, k) for k in fields}
    fields.update(clean)
    for _attempt in range(5):
        number = (RuleVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1
        try:
            with transaction.atomic():
                version = RuleVersion.objects.create(number=number, created_by=actor, **fields)
            break
        except IntegrityError:
            continue
    audit_record(actor=actor, action=AuditAction.CREATE, instance=version)
    return version


def version_update(*, actor, version: RuleVersion, data: dict) -> RuleVersion:
    access.require(actor, "loyalty.manage")
    if version.status != VersionStatus.DRAFT:
        raise Conflict(_("A published version cannot be changed; make a new draft from it."))
    errors = Errors()
    clean = _clean_version(data, errors)
    errors.raise_if_any()
    for key, value in clean.items():
        setattr(version, key, value)
    version.save()
    return version


def version_publish(*, actor, version: RuleVersion, effective_from=None) -> RuleVersion:
    """Put a draft in force from `effective_from` (now by default; not before the version in
    force, so orders already earned keep their rules)."""
    access.require(actor, "loyalty.manage")
    now = timezone.now()
    effective = effective_from or version.effective_from or now
    with transaction.atomic():
        latest = (
            RuleVersion.objects.filter(status=VersionStatus.PUBLISHED)
            .order_by("-effective_from")
            .first()
        )
        if latest is not None and effective < latest.effective_from:
            raise ValidationFailed(errors={"effective_from": [
                _("Must not be before %(at)s, when version %(n)s came into force.")
                % {"at": timezone.localtime(latest.effective_from).strftime("%Y-%m-%d %H:%M"),
                   "n": latest.number}]})  # fmt: skip
        if not RuleVersion.objects.filter(pk=version.pk, status=VersionStatus.DRAFT).update(
            status=VersionStatus.PUBLISHED, effective_from=effective, published_at=now
        ):
            raise Conflict(_("This version is already published."))
        version.refresh_from_db()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            instance=version,
            changes={"status": [VersionStatus.DRAFT, VersionStatus.PUBLISHED]},
        )
    return version


def version_in_force(at=None) -> RuleVersion | None:
    at = at or timezone.now()
    published = RuleVersion.objects.filter(status=VersionStatus.PUBLISHED)
    return (
        published.filter(effective_from__lte=at).order_by("-effective_from", "-number").first()
        or published.order_by("effective_from").first()
    )


def _clean_tier(data: dict, errors: Errors, *, partial: bool) -> dict:
    out = {}
    known = {"key", "name", "name_en", "rank", "threshold", "benefits", "color"}
    for key in set(data) - known:
        errors.add(key, _("Unknown field."))
    for key, limit in (("key", 30), ("name", 50), ("name_en", 50), ("color", 9)):
        if key in data or (not partial and key in ("key", "name")):
            value = str(data.get(key) or "").strip()
            if key in ("key", "name") and not value:
                errors.add(key, _("Must not be empty."))
            if len(value) > limit:
                errors.add(key, _("At most %(n)s characters.") % {"n": limit})
            out[key] = value
    if "rank" in data or not partial:
        rank = data.get("rank")
        if isinstance(rank, bool) or not isinstance(rank, int) or not 1 <= rank <= 50:
            errors.add("rank", _("Must be a whole number from 1 to 50."))
        out["rank"] = rank
    if "threshold" in data:
        try:
            value = Decimal(str(data["threshold"]))
            if not value.is_finite() or value < 0:
                raise InvalidOperation
            out["threshold"] = value
        except InvalidOperation:
            errors.add("threshold", _("Must be a number of 0 or more."))
    if "benefits" in data:
        benefits = data["benefits"] or {}
        if not isinstance(benefits, dict):
            errors.add("benefits", _("Must be an object."))
        else:
            for key in set(benefits) - BENEFIT_KEYS:
                errors.add(f"benefits.{key}", _("Unknown benefit."))
            if "multiplier" in benefits:
                try:
                    m = Decimal(str(benefits["multiplier"]))
                    if not m.is_finite() or not 0 < m <= 100:
                        raise InvalidOperation
                except InvalidOperation:
                    errors.add(
                        "benefits.multiplier", _("Must be a number above 0 and at most 100.")
                    )
            out["benefits"] = benefits
    return out


def tier_save(*, actor, data: dict, tier: LoyaltyTier | None = None) -> LoyaltyTier:
    """Create a tier, or change one."""
    access.require(actor, "loyalty.manage")
    errors = Errors()
    clean = _clean_tier(data, errors, partial=tier is not None)
    errors.raise_if_any()
    tier = tier or LoyaltyTier()
    for key, value in clean.items():
        setattr(tier, key, value)
    try:
        with transaction.atomic():
            tier.save()
    except IntegrityError:
        raise Conflict(errors={"rank": [_("Another tier has this key or rank.")]}) from None
    audit_record(actor=actor, action=AuditAction.UPDATE, instance=tier,
                 changes={k: [None, str(v)] for k, v in clean.items()})  # fmt: skip
    return tier
