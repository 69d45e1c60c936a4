"""Exporting the customers an actor can see, as a CSV that is safe to open in Excel.

Scoped by the same selector as the list, refused to roles that may not export personal data,
recorded in the audit log. Cells that a spreadsheet would run as a formula are neutralised.
"""

import csv
import io
from collections.abc import Iterator

from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.accounts.audit import audit_record
from guanxi.accounts.choices import AuditAction
from guanxi.core.errors import PermissionDenied

from .filters import CustomerFilters
from .models import Address, CustomFieldDefinition
from .selectors import customer_list

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 2000


def safe_cell(value) -> str:
    """A value as text that Excel and LibreOffice will not evaluate as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _columns(definitions):
    return [
        ("id", _("ID")),
        ("kind", _("Kind")),
        ("name", _("Name")),
        ("company_name", _("Company")),
        ("phones", _("Phones")),
        ("emails", _("Emails")),
        ("stage", _("Lifecycle stage")),
        ("owner", _("Owner")),
        ("tags", _("Tags")),
        ("province", _("Province")),
        ("city", _("City")),
        ("district", _("District")),
        ("street", _("Street address")),
        ("industry", _("Industry")),
        ("source", _("Source channel")),
        ("birthday", _("Birthday")),
        ("gender", _("Gender")),
        ("created_at", _("Created")),
    ] + [(f"cf_{d.key}", d.label) for d in definitions]


def customer_export_rows(
    *, actor, filters: CustomerFilters | None = None, custom: dict | None = None
) -> tuple[list[str], Iterator[list[str]], int]:
    """(header, rows, count) of the customers the actor may see; refused without the right."""
    if not access.can(actor, "customer.export_personal"):
        raise PermissionDenied(_("Your role may not export personal data."))
    qs = customer_list(actor=actor, filters=filters, custom=custom).order_by("pk")
    count = qs.count()
    definitions = list(CustomFieldDefinition.objects.filter(is_active=True))
    columns = _columns(definitions)
    audit_record(
        actor=actor,
        action=AuditAction.EXPORT,
        model="customers.customer",
        object_id="*",
        object_repr=_("%(n)d customers") % {"n": count},
        changes={
            "filters": [
                None,
                (filters.dict(exclude_none=True) if filters else {}) | (custom or {}),
            ],
            "count": [None, count],
        },
    )

    def rows():
        last_pk = 0
        while True:
            chunk = list(qs.filter(pk__gt=last_pk)[:CHUNK])
            if not chunk:
                return
            last_pk = chunk[-1].pk
            primary = {}
            for a in Address.objects.filter(customer_id__in=[c.pk for c in chunk]).order_by(
                "-is_primary", "id"
            ):
                primary.setdefault(a.customer_id, a)
            for c in chunk:
                a = primary.get(c.pk)
                values = {
                    "id": c.pk,
                    "kind": c.get_kind_display(),
                    "name": c.name,
                    "company_name": c.company_name,
                    "phones": " ".join(p.number for p in c.phones.all()),
                    "emails": " ".join(e.email for e in c.emails.all()),
                    "stage": c.get_stage_display(),
                    "owner": c.owner.username if c.owner else "",
                    "tags": ", ".join(t.name for t in c.tags.all()),
                    "province": a.province if a else "",
                    "city": a.city if a else "",
                    "district": a.district if a else "",
                    "street": a.street if a else "",
                    "industry": c.industry,
                    "source": c.get_source_display(),
                    "birthday": c.birthday.isoformat() if c.birthday else "",
                    "gender": c.get_gender_display() if c.gender else "",
                    "created_at": timezone.localtime(c.created_at).strftime("%Y-%m-%d %H:%M"),
                }
                for d in definitions:
                    values[f"cf_{d.key}"] = c.custom_fields.get(d.key, "")
                yield [safe_cell(values[key]) for key, _label in columns]

    return [label for _key, label in columns], rows(), count


def csv_stream(header: list[str], rows: Iterator[list[str]]) -> Iterator[str]:
    """CSV text in pieces, starting with a UTF-8 BOM so Excel reads Chinese correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(header)
    for i, row in enumerate(rows, 1):
        writer.writerow(row)
        if i % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
