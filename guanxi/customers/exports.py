"""Exporting the customers and contacts an actor can see, as tables for CSV and .xlsx files.

Each export starts from the same selector as its list (so it sees the same rows, with the
same filters), is refused to roles that may not export personal data, and writes one audit
entry. Rows are read in chunks, with what they show loaded per chunk in a fixed number of
queries; the writers in core.tabular make every cell safe to open in a spreadsheet.
`export_check` and `export_audit` are shared with the exports of orders and interactions.
"""

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.accounts.audit import audit_record
from guanxi.accounts.choices import AuditAction
from guanxi.core.errors import PermissionDenied
from guanxi.core.tabular import (
    Table,
    choice_labels,
    chunked,
    field_label,
    local_date,
    local_time,
    rendered,
)

# They lived here first; core.tabular is their home now.
from guanxi.core.tabular import csv_stream as csv_stream
from guanxi.core.tabular import safe_cell as safe_cell

from .filters import CustomerFilters
from .models import Contact, Customer, CustomFieldDefinition
from .selectors import contact_list, customer_get, customer_list, customer_list_load


def export_check(actor) -> None:
    """Refuse roles that may not export personal data (marketers)."""
    if not access.can(actor, "customer.export_personal"):
        raise PermissionDenied(_("Your role may not export personal data."))


def export_audit(*, actor, model: str, what: str, filters: dict, count: int) -> None:
    """One audit entry for an export: what, with which filters, how many rows."""
    audit_record(
        actor=actor,
        action=AuditAction.EXPORT,
        model=model,
        object_id="*",
        object_repr=what,
        changes={"filters": [None, filters], "count": [None, count]},
    )


def filters_of(schema) -> dict:
    """A filter schema as the audit log keeps it: only the filters that were given."""
    return schema.dict(exclude_none=True) if schema is not None else {}


def yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


# Customers -----------------------------------------------------------------------------------


def _customer_columns(definitions) -> list[tuple[str, str]]:
    return (
        [
            ("id", _("ID")),
            ("kind", _("Kind")),
            ("name", _("Name")),
            ("company_name", _("Company")),
            ("job_title", field_label(Customer, "job_title")),
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
            ("external_id", field_label(Customer, "external_id")),
        ]
        + [(f"cf_{d.key}", d.label) for d in definitions]
        + [
            # The latest value refresh (analytics), empty for customers not yet valued.
            ("value_segment", _("RFM segment")),
            ("value_rfm", _("R F M")),
            ("value_orders", _("Orders")),
            ("value_historical", _("Historical value")),
            ("value_aov", _("Average order value")),
            ("value_clv", _("Predicted lifetime value")),
            ("value_p_alive", _("P(alive)")),
            ("value_as_of", _("Value as of")),
            # Tiers, segments and behaviour tags (segments).
            ("tier", _("Value tier")),
            ("segments", _("Segments")),
            ("behaviour_tags", _("Behaviour tags")),
        ]
    )


def customer_export(
    *,
    actor,
    filters: CustomerFilters | None = None,
    custom: dict | None = None,
    queryset: QuerySet[Customer] | None = None,
    list_params: dict | None = None,
) -> Table:
    """The customers the actor may see, filtered as their list is, as a table; audited.

    Pass the list's `filters` (and `custom` field filters), or the `queryset` a list page
    built from `customer_list` (its filters and search applied) with the `list_params` it
    was asked with, for the audit log.
    """
    export_check(actor)
    if queryset is None:
        queryset = customer_list(actor=actor, filters=filters, custom=custom, prefetch=False)
        recorded = filters_of(filters) | (custom or {})
    else:
        queryset = access.scope_customers(queryset, actor).prefetch_related(None)
        recorded = list_params or {}
    queryset = queryset.select_related("owner", "value")
    count = queryset.count()
    export_audit(
        actor=actor,
        model="customers.customer",
        what=_("%(n)d customers") % {"n": count},
        filters=recorded,
        count=count,
    )
    definitions = list(CustomFieldDefinition.objects.filter(is_active=True))
    columns = _customer_columns(definitions)
    from guanxi.analytics.selectors import segment_field, segment_label

    segment = segment_field(prefix="")

    from guanxi.segments.selectors import segments_of_customers, tiers_of_customers

    def render(chunk: list[Customer]):
        customer_list_load(chunk)  # phones, emails, tags, addresses: four queries a chunk
        ids = [c.pk for c in chunk]
        memberships = segments_of_customers(ids)  # and two more for tiers and segments
        tiers = tiers_of_customers(ids)
        labels = {f: choice_labels(Customer, f) for f in ("kind", "stage", "source", "gender")}
        for c in chunk:
            listed = c.listed
            a = listed["addresses"][0] if listed["addresses"] else {}  # the primary first
            values = {
                "id": c.pk,
                "kind": labels["kind"].get(c.kind, c.kind),
                "name": c.name,
                "company_name": c.company_name,
                "job_title": c.job_title,
                "phones": " ".join(listed["phones"]),
                "emails": " ".join(listed["emails"]),
                "stage": labels["stage"].get(c.stage, c.stage),
                "owner": c.owner.username if c.owner else "",
                "tags": ", ".join(listed["tags"]),
                "province": a.get("province", ""),
                "city": a.get("city", ""),
                "district": a.get("district", ""),
                "street": a.get("street", ""),
                "industry": c.industry,
                "source": labels["source"].get(c.source, c.source),
                "birthday": local_date(c.birthday),
                "gender": labels["gender"].get(c.gender, c.gender) if c.gender else "",
                "created_at": local_time(c.created_at),
                "external_id": c.external_id or "",
            }
            for d in definitions:
                values[f"cf_{d.key}"] = c.custom_fields.get(d.key, "")
            values.update(_value_cells(getattr(c, "value", None), segment, segment_label))
            member = memberships.get(c.pk, {})
            values["tier"] = tiers.get(c.pk, "")
            values["segments"] = ", ".join(member.get("segments", []))
            values["behaviour_tags"] = ", ".join(member.get("tags", []))
            yield [values[key] for key, _label in columns]

    return Table(
        name="customers",
        title=_("Customers"),
        header=[label for _key, label in columns],
        rows=rendered(chunked(queryset), render),
        count=count,
    )


def _value_cells(v, segment: str, label) -> dict:
    if v is None:
        return dict.fromkeys(VALUE_KEYS, "")
    return {
        "value_segment": label(getattr(v, segment)) if getattr(v, segment) else "",
        "value_rfm": f"{v.r_score}{v.f_score}{v.m_score}" if v.r_score else "",
        "value_orders": v.orders,
        "value_historical": str(v.historical_value),
        "value_aov": "" if v.average_order_value is None else str(v.average_order_value),
        "value_clv": "" if v.lifetime_value is None else str(v.lifetime_value),
        "value_p_alive": "" if v.p_alive is None else f"{v.p_alive:.4f}",
        "value_as_of": local_date(v.as_of),
    }


VALUE_KEYS = (
    "value_segment", "value_rfm", "value_orders", "value_historical", "value_aov", "value_clv",
    "value_p_alive", "value_as_of",
)  # fmt: skip


# Contacts ------------------------------------------------------------------------------------


def contact_export(
    *,
    actor,
    customer_id: int | None = None,
    queryset: QuerySet[Contact] | None = None,
    list_params: dict | None = None,
) -> Table:
    """The contacts the actor may see (of one company with `customer_id`), as a table; audited.

    Or the `queryset` a list page built from `contact_list`, with its `list_params`.
    """
    export_check(actor)
    if queryset is None:
        if customer_id is not None:
            customer_get(actor=actor, customer_id=customer_id)  # NotFound when hidden
        queryset = contact_list(actor=actor, customer_id=customer_id)
        recorded = {"customer": customer_id} if customer_id is not None else {}
    else:
        queryset = access.scope_customer_children(queryset, actor)
        recorded = list_params or {}
    queryset = queryset.select_related("customer")
    count = queryset.count()
    export_audit(
        actor=actor,
        model="customers.contact",
        what=_("%(n)d contacts") % {"n": count},
        filters=recorded,
        count=count,
    )
    header = [
        _("ID"),
        field_label(Contact, "name"),
        field_label(Contact, "title"),
        field_label(Contact, "phone"),
        field_label(Contact, "email"),
        field_label(Contact, "is_primary"),
        _("Customer ID"),
        field_label(Contact, "customer"),
        field_label(Contact, "notes"),
        _("Created"),
    ]

    def render(chunk: list[Contact]):
        for c in chunk:
            yield [
                c.pk,
                c.name,
                c.title,
                c.phone,
                c.email,
                yes_no(c.is_primary),
                c.customer_id,
                c.customer.name,
                c.notes,
                local_time(c.created_at),
            ]

    return Table(
        name="contacts",
        title=_("Contacts"),
        header=header,
        rows=rendered(chunked(queryset), render),
        count=count,
    )
