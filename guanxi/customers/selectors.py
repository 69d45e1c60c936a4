"""Reads of customers, always scoped by the actor through accounts.access."""

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.core.bulk import rows_where_in
from guanxi.core.errors import NotFound
from guanxi.interactions.choices import TaskStatus
from guanxi.orders.choices import OrderStatus

from .choices import Stage, TerminationStatus
from .filters import CustomerFilters, apply_custom_field_filters, apply_filters, apply_sort
from .models import (
    Address,
    Contact,
    Customer,
    CustomerEmail,
    CustomerMerge,
    CustomerPhone,
    CustomFieldDefinition,
    DuplicateReview,
    Tag,
    TerminationRequest,
)


def contactable_q(path: str = "") -> Q:
    """A Q keeping the customers we may still contact and market to: all but those whose
    relationship has ended (关系终止), whose records are kept, read-only, and who are never
    contacted again. Every marketing feature (segments, campaigns, mailings, reminders)
    filters with it: `Customer.objects.filter(contactable_q())`, or from a model pointing
    at the customer, `contactable_q("customer__")`."""
    return ~Q(**{f"{path}stage": Stage.TERMINATED})


def customer_queryset(*, actor) -> QuerySet[Customer]:
    """Every customer the actor may see."""
    return access.scope_customers(Customer.objects.all(), actor)


def customer_list(
    *,
    actor,
    filters: CustomerFilters | None = None,
    custom: dict | None = None,
    prefetch: bool = True,
    sort: str | None = None,
) -> QuerySet[Customer]:
    """Customers the actor may see, filtered and searched, with what a list shows prefetched.

    With `prefetch=False`, call `customer_list_load` on the page instead (faster for a page).
    """
    qs = customer_queryset(actor=actor)
    if filters is not None:
        qs = apply_filters(qs, filters, actor=actor)
    if custom:
        qs = apply_custom_field_filters(qs, custom)
    qs = qs.select_related("owner", "value")
    if sort:
        qs = apply_sort(qs, sort)
    if not prefetch:
        return qs
    return qs.prefetch_related(
        Prefetch("phones", queryset=CustomerPhone.objects.order_by("position", "id")),
        Prefetch("emails", queryset=CustomerEmail.objects.order_by("position", "id")),
        "tags",
        "addresses",
    )


def customer_list_load(customers: list[Customer]) -> list[Customer]:
    """Attach phones, emails, tags and addresses to a page of customers, in four queries.

    What `customer_list` prefetches, read as plain values: a page of fifty customers is
    served in a third of the time, since no manager or model instance is built per row.
    `CustomerOut` reads them from `customer.listed`.
    """
    ids = [c.pk for c in customers]
    listed = {pk: {"phones": [], "emails": [], "tags": [], "addresses": []} for pk in ids}
    rows = (
        (
            "phones",
            CustomerPhone.objects.filter(customer_id__in=ids)
            .order_by("position", "id")
            .values_list("customer_id", "number"),
        ),
        (
            "emails",
            CustomerEmail.objects.filter(customer_id__in=ids)
            .order_by("position", "id")
            .values_list("customer_id", "email"),
        ),
        (
            "tags",
            Customer.tags.through.objects.filter(customer_id__in=ids)
            .order_by("tag__name")
            .values_list("customer_id", "tag__name"),
        ),
    )
    for key, values in rows:
        for pk, value in values:
            listed[pk][key].append(value)
    fields = ("label", "province", "city", "district", "street", "postcode", "is_primary")
    for row in Address.objects.filter(customer_id__in=ids).values("customer_id", *fields):
        listed[row.pop("customer_id")]["addresses"].append(row)
    for customer in customers:
        customer.listed = listed[customer.pk]
    return customers


def customer_get(*, actor, customer_id) -> Customer:
    """One customer the actor may see, or NotFound (also for ones that exist but are hidden)."""
    try:
        return customer_list(actor=actor).get(pk=customer_id)
    except (Customer.DoesNotExist, ValueError, TypeError) as e:
        raise NotFound(_("Customer not found.")) from e


def customer_duplicates(
    *, phones: list[str], emails: list[str], exclude_id: int | None = None
) -> list[Customer]:
    """Stored customers sharing a phone or an email (unscoped: the caller decides what to show)."""
    ids = set()
    if phones:
        ids |= set(
            CustomerPhone.objects.filter(number__in=phones).values_list("customer_id", flat=True)
        )
    if emails:
        ids |= set(
            CustomerEmail.objects.filter(email__in=emails).values_list("customer_id", flat=True)
        )
    ids.discard(exclude_id)
    return list(Customer.objects.filter(pk__in=ids).order_by("pk")[:20])


def customers_by_keys(
    *, phones=(), emails=(), external_ids=(), chunk: int = 2000
) -> dict[str, dict[str, list[int]]]:
    """Stored customers holding any of these phones, emails or external ids, read set-based
    (unscoped: the caller decides what to show): {"phone": {number: [ids]}, "email": …}."""
    found: dict[str, dict[str, list[int]]] = {"phone": {}, "email": {}, "external_id": {}}
    for kind, values, model, column in (
        ("phone", phones, CustomerPhone, "number"),
        ("email", emails, CustomerEmail, "email"),
        ("external_id", external_ids, Customer, "external_id"),
    ):
        values = list(dict.fromkeys(v for v in values if v))
        id_column = "id" if kind == "external_id" else "customer_id"
        table = model._meta.db_table
        for value, pk in rows_where_in(table, [column, id_column], column, values, chunk=chunk):
            found[kind].setdefault(value, []).append(pk)
    return found


def customer_ids_editable(*, actor, ids) -> set[int]:
    """Which of these customers the actor may edit (never one whose relationship ended)."""
    if not access.can(actor, "customer.edit"):
        return set()
    qs = customer_queryset(actor=actor).filter(pk__in=list(ids)).filter(contactable_q())
    return set(qs.filter(access.owner_q(actor, "owner", edit=True)).values_list("pk", flat=True))


def customer_ids_visible(*, actor, ids) -> set[int]:
    return set(customer_queryset(actor=actor).filter(pk__in=list(ids)).values_list("pk", flat=True))


def contact_list(*, actor, customer_id: int | None = None) -> QuerySet[Contact]:
    qs = access.scope_customer_children(Contact.objects.select_related("customer"), actor)
    return qs.filter(customer_id=customer_id) if customer_id is not None else qs


def contact_get(*, actor, contact_id) -> Contact:
    try:
        return contact_list(actor=actor).get(pk=contact_id)
    except (Contact.DoesNotExist, ValueError, TypeError) as e:
        raise NotFound(_("Contact not found.")) from e


def custom_field_definitions(*, active_only: bool = True) -> list[CustomFieldDefinition]:
    qs = CustomFieldDefinition.objects.all()
    return list(qs.filter(is_active=True) if active_only else qs)


def tag_list() -> QuerySet[Tag]:
    return Tag.objects.all()


def review_list(*, actor, status: str | None = "open") -> QuerySet:
    """Possible duplicates the actor may decide on: both customers visible and mergeable."""
    if not access.can(actor, "customer.merge"):
        return DuplicateReview.objects.none()
    visible = customer_queryset(actor=actor).values("pk")
    qs = DuplicateReview.objects.filter(customer__in=visible, other__in=visible)
    if not access.is_admin(actor):
        editable = (
            customer_queryset(actor=actor)
            .filter(access.owner_q(actor, "owner", edit=True))
            .values("pk")
        )
        qs = qs.filter(customer__in=editable, other__in=editable)
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("customer", "other", "customer__owner", "other__owner")


def duplicates_of(*, actor, customer_id) -> list[dict]:
    """The open possible duplicates of one customer, as {"review", "other", "score"}, for
    the actor who may decide on them (an empty list for anyone else)."""
    qs = review_list(actor=actor).filter(
        models.Q(customer_id=customer_id) | models.Q(other_id=customer_id)
    )
    return [
        {
            "review": r,
            "other": r.other if r.customer_id == customer_id else r.customer,
            "percent": round(r.score * 100),
        }
        for r in qs.order_by("-score")[:20]
    ]


def review_get(*, actor, review_id):
    try:
        return review_list(actor=actor, status=None).get(pk=review_id)
    except (ObjectDoesNotExist, ValueError, TypeError) as e:
        raise NotFound(_("Not found.")) from e


def merge_list(*, actor) -> QuerySet:
    """Merges the actor may see: admins all; others those whose kept customer they see."""
    if not access.can(actor, "customer.merge"):
        return CustomerMerge.objects.none()
    qs = CustomerMerge.objects.select_related("survivor", "actor")
    if access.is_admin(actor):
        return qs
    return qs.filter(survivor__in=customer_queryset(actor=actor).values("pk"))


def merge_get(*, actor, merge_id):
    try:
        return merge_list(actor=actor).get(pk=merge_id)
    except (ObjectDoesNotExist, ValueError, TypeError) as e:
        raise NotFound(_("Not found.")) from e


# What must be settled before a relationship may end: orders not yet completed, cancelled or
# refunded, and tasks not yet done or cancelled.
OPEN_ORDER_STATUSES = (OrderStatus.PENDING, OrderStatus.PAID, OrderStatus.SHIPPED)
OPEN_TASK_STATUSES = (TaskStatus.OPEN,)


def termination_list(
    *, actor, status: str | None = None, customer_id: int | None = None
) -> QuerySet[TerminationRequest]:
    """Requests to end a relationship, on the customers the actor may see, newest first."""
    qs = access.scope_customer_children(TerminationRequest.objects.all(), actor)
    if status:
        qs = qs.filter(status=status)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    return qs.select_related("customer", "customer__owner", "requested_by", "decided_by")


def termination_get(*, actor, request_id) -> TerminationRequest:
    try:
        return termination_list(actor=actor).get(pk=request_id)
    except (TerminationRequest.DoesNotExist, ValueError, TypeError) as e:
        raise NotFound(_("Not found.")) from e


def termination_pending(*, actor, customer_id: int) -> TerminationRequest | None:
    """The request to end this relationship that waits for a decision, if there is one."""
    return termination_list(
        actor=actor, status=TerminationStatus.PENDING, customer_id=customer_id
    ).first()


def termination_settlement(*, actor, customer_id: int) -> dict:
    """What is still open with a customer and must be settled before the relationship may
    end: orders pending, paid or shipped, and open tasks, as {"open_orders": [{"id",
    "number", "status"}], "open_tasks": [{"id", "title", "owner"}]}, with the settled ones
    counted by status ("orders", "tasks")."""
    from guanxi.interactions.selectors import task_list
    from guanxi.orders.selectors import order_list

    orders = order_list(actor=actor, customer_id=customer_id).prefetch_related(None)
    tasks = task_list(actor=actor, customer_id=customer_id)
    open_orders = [
        {"id": pk, "number": number, "status": status}
        for pk, number, status in orders.filter(status__in=OPEN_ORDER_STATUSES)
        .order_by("ordered_at", "id")
        .values_list("pk", "number", "status")
    ]
    open_tasks = [
        {"id": pk, "title": title, "owner": owner}
        for pk, title, owner in tasks.filter(status__in=OPEN_TASK_STATUSES)
        .order_by("due_at", "id")
        .values_list("pk", "title", "owner__username")
    ]
    by_status = {}
    for name, qs in (("orders", orders), ("tasks", tasks)):
        rows = qs.order_by().values_list("status").annotate(n=models.Count("pk"))
        by_status[name] = dict(rows)
    return {"open_orders": open_orders, "open_tasks": open_tasks, **by_status}


MATCH_FIELDS = ("pk", "kind", "name", "company_name", "birthday", "gender", "external_id")


def customer_match_records(*, actor, batch: int = 5000):
    """Every customer the actor may see, as the plain dicts record matching compares
    (name, kind, company, phones, emails, birthday, gender, primary address, external id),
    read a batch at a time in id order: yields (id, record)."""
    qs = customer_queryset(actor=actor).order_by("pk")
    last = 0
    while True:
        rows = list(qs.filter(pk__gt=last).values(*MATCH_FIELDS)[:batch])
        if not rows:
            return
        last = rows[-1]["pk"]
        yield from _match_records(rows)


def customer_match_records_of(*, ids=None, changed_since=None, batch: int = 5000):
    """The same records for the customers `ids`, or for those changed since a moment (all,
    without either), unscoped: for the match-key index, which serves every importer."""
    qs = Customer.objects.order_by("pk")
    if changed_since is not None:
        qs = qs.filter(updated_at__gte=changed_since)
    if ids is not None:
        ids = sorted(set(ids))
        for start in range(0, len(ids), batch):
            rows = list(qs.filter(pk__in=ids[start : start + batch]).values(*MATCH_FIELDS))
            yield from _match_records(rows)
        return
    last = 0
    while True:
        rows = list(qs.filter(pk__gt=last).values(*MATCH_FIELDS)[:batch])
        if not rows:
            return
        last = rows[-1]["pk"]
        yield from _match_records(rows)


def _match_records(rows: list[dict]):
    """Phones, emails and the primary address of a batch of customers, read with plain SQL:
    for thousands of ids the ORM's handling of the IN list costs more than the queries."""
    from django.db import connection

    ids = [r["pk"] for r in rows]
    phones: dict[int, list[str]] = {}
    emails: dict[int, list[str]] = {}
    places: dict[int, dict] = {}
    marks = ", ".join(["%s"] * len(ids))
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        if ids:
            cursor.execute(
                f"SELECT customer_id, number FROM {q(CustomerPhone._meta.db_table)} "
                f"WHERE customer_id IN ({marks}) ORDER BY position, id",
                ids,
            )
            for cid, number in cursor.fetchall():
                phones.setdefault(cid, []).append(number)
            cursor.execute(
                f"SELECT customer_id, email FROM {q(CustomerEmail._meta.db_table)} "
                f"WHERE customer_id IN ({marks}) ORDER BY position, id",
                ids,
            )
            for cid, email in cursor.fetchall():
                emails.setdefault(cid, []).append(email)
            cursor.execute(
                "SELECT customer_id, province, city, district, street, postcode FROM "
                f"{q(Address._meta.db_table)} WHERE customer_id IN ({marks}) "
                f"ORDER BY {q('is_primary')} DESC, id",
                ids,
            )
            for cid, province, city, district, street, postcode in cursor.fetchall():
                places.setdefault(cid, {"province": province, "city": city,
                                        "district": district, "street": street,
                                        "postcode": postcode})  # fmt: skip
    for r in rows:
        pk = r.pop("pk")
        r["phones"] = phones.get(pk, [])
        r["emails"] = emails.get(pk, [])
        r.update(places.get(pk, {}))
        yield pk, r


# Unscoped rows for set-based queries (segments); the caller scopes the customers it returns.
def address_rows() -> QuerySet[Address]:
    """Every address (for `customer_id IN (…)` subqueries)."""
    return Address.objects.all()


def tag_links() -> QuerySet:
    """Every (customer, tag) link, with `tag__name` to filter on."""
    return Customer.tags.through.objects.all()
