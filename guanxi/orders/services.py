"""Writes of orders and their lines, one at a time and set-based (imports); the basis of RFM,
CLV and loyalty later on."""

from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Count, Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.accounts.audit import AUDIT_COLUMNS, audit_record, diff
from guanxi.accounts.choices import AuditAction
from guanxi.accounts.models import AuditEntry
from guanxi.core.bulk import Inserter, allocate_ids
from guanxi.core.context import current_channel
from guanxi.core.dates import aware_datetime
from guanxi.core.errors import Conflict, Errors, ValidationFailed
from guanxi.customers.choices import Stage
from guanxi.customers.services import customer_change_stage, require_not_terminated
from guanxi.customers.services.bulk import (
    customers_bulk_change_stage,
    customers_require_action,
)
from guanxi.interactions.choices import EventKind
from guanxi.interactions.models import TimelineEvent
from guanxi.interactions.timeline import EVENT_COLUMNS, timeline_record

from .choices import OrderStatus, SalesChannel
from .models import Order, OrderLine, Product

CENT = Decimal("0.01")
MAX_TOTAL = Decimal("1e12")  # Order.total and OrderLine.amount hold 12 digits before the point
LINE_FIELDS = {"product", "sku", "product_name", "category", "quantity", "unit_price", "discount"}


def _decimal(
    value, field: str, errors: Errors, *, minimum=Decimal("0"), below=Decimal("1e10"), places=2
) -> Decimal | None:
    """A number from `minimum` up to (not including) `below`, rounded to `places` decimals."""
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors.add(field, _("“%(value)s” is not a number.") % {"value": value})
        return None
    if number.is_finite():
        number = number.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    if not number.is_finite() or number < minimum or number >= below:
        errors.add(
            field,
            _("Must be a number from %(min)s up to below %(max)s.")
            % {"min": minimum, "max": f"{below:,.0f}"},
        )
        return None
    return number


def _skus(raw_lines) -> set[str]:
    return {
        str(line.get("sku")) for line in raw_lines if isinstance(line, dict) and line.get("sku")
    }


def _clean_lines(raw_lines, errors: Errors, products: dict | None = None) -> list[dict]:
    """The lines of an order, validated; `products` (SKU → Product) saves reading them."""
    if not isinstance(raw_lines, list) or not raw_lines:
        errors.add("lines", _("An order needs at least one line."))
        return []
    if products is None:
        products = {p.sku: p for p in Product.objects.filter(sku__in=_skus(raw_lines))}
    lines = []
    for i, raw in enumerate(raw_lines):
        prefix = f"lines[{i}]"
        if not isinstance(raw, dict):
            errors.add(prefix, _("A line must be an object."))
            continue
        for field in set(raw) - LINE_FIELDS:
            errors.add(f"{prefix}.{field}", _("Unknown field."))
        product = products.get(str(raw.get("sku"))) if raw.get("sku") else None
        if raw.get("sku") and product is None:
            errors.add(f"{prefix}.sku", _("No product with SKU “%(sku)s”.") % {"sku": raw["sku"]})
        name = (raw.get("product_name") or (product.name if product else "")).strip()
        if not name:
            errors.add(f"{prefix}.product_name", _("This field is required."))
        quantity = _decimal(
            raw.get("quantity", 1),
            f"{prefix}.quantity",
            errors,
            minimum=Decimal("0.001"),
            below=Decimal("1e9"),
            places=3,
        )
        price_raw = raw.get("unit_price")
        if price_raw is None and product is not None:
            price_raw = product.unit_price  # the list price, unless the line names another
        if price_raw is None:
            errors.add(f"{prefix}.unit_price", _("This field is required."))
            continue
        price = _decimal(price_raw, f"{prefix}.unit_price", errors)
        discount = _decimal(raw.get("discount") or 0, f"{prefix}.discount", errors)
        if None in (quantity, price, discount):
            continue
        amount = (quantity * price - discount).quantize(CENT, ROUND_HALF_UP)
        if amount < 0:
            errors.add(f"{prefix}.discount", _("The discount is larger than the line amount."))
            continue
        if amount >= MAX_TOTAL:
            errors.add(f"{prefix}.quantity", _("The line amount is too large."))
            continue
        lines.append(
            {
                "product": product,
                "product_name": name[:200],
                "category": (raw.get("category") or (product.category if product else ""))[:100],
                "quantity": quantity,
                "unit_price": price.quantize(CENT),
                "discount": discount.quantize(CENT),
                "amount": amount,
            }
        )
    if sum((line["amount"] for line in lines), Decimal("0")) >= MAX_TOTAL:
        errors.add("lines", _("The order total is too large."))
    return lines


def _clean_order(data: dict, errors: Errors, *, partial: bool) -> dict:
    allowed = {"number", "ordered_at", "status", "channel", "currency", "notes", "lines"}
    for field in set(data) - allowed:
        errors.add(field, _("Unknown field."))
    out = {}
    if not partial or "number" in data:
        number = str(data.get("number") or "").strip()
        if not number:
            errors.add("number", _("This field is required."))
        elif len(number) > 64:
            errors.add("number", _("At most %(n)d characters.") % {"n": 64})
        out["number"] = number
    if "ordered_at" in data and data["ordered_at"] is not None:
        try:
            out["ordered_at"] = aware_datetime(data["ordered_at"])
        except ValueError as e:
            errors.add("ordered_at", e)
    for field, choices in (("status", OrderStatus), ("channel", SalesChannel)):
        if field in data:
            if data[field] not in choices.values:
                errors.add(
                    field,
                    _("“%(value)s” is not one of: %(choices)s.")
                    % {"value": data[field], "choices": ", ".join(choices.values)},
                )
            out[field] = data[field]
    if "currency" in data:
        currency = str(data["currency"] or "").upper()
        if len(currency) != 3 or not currency.isalpha():
            errors.add("currency", _("Use a three-letter currency code such as CNY."))
        out["currency"] = currency
    if "notes" in data:
        out["notes"] = data["notes"] or ""
    return out


def order_create(*, actor, customer, data: dict) -> Order:
    """Record an order with its lines; the total is the sum of the lines. A `coupon` (a
    loyalty coupon code of this customer's) is checked and used once, with the order."""
    access.require_visible(actor, customer.owner_id)
    access.require_on_customer(actor, "order.write", customer)
    require_not_terminated(customer)
    data = dict(data)
    coupon = (data.pop("coupon", None) or "").strip()
    errors = Errors()
    clean = _clean_order(data, errors, partial=False)
    lines = _clean_lines(data.get("lines"), errors)
    errors.raise_if_any()
    if Order.objects.filter(number=clean["number"]).exists():
        raise Conflict(errors={"number": [_("An order with this number already exists.")]})
    clean.setdefault("ordered_at", timezone.now())
    with transaction.atomic():
        order = Order.objects.create(
            customer=customer, total=sum((line["amount"] for line in lines), Decimal("0")), **clean
        )
        OrderLine.objects.bulk_create(OrderLine(order=order, **line) for line in lines)
        timeline_record(
            customer_id=customer.pk,
            kind=EventKind.ORDER,
            actor=actor,
            at=order.ordered_at,
            obj=order,
            data={
                "number": order.number,
                "total": str(order.total),
                "currency": order.currency,
                "status": order.status,
            },
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            instance=order,
            customer_id=customer.pk,
            changes={
                "number": [None, order.number],
                "total": [None, order.total],
                "status": [None, order.status],
            },
        )
        if customer.stage == Stage.LEAD and order.status != OrderStatus.CANCELLED:
            customer_change_stage(
                actor=actor,
                customer=customer,
                stage=Stage.NEW,
                cause=_("first order %(number)s") % {"number": order.number},
            )
        if coupon:
            from guanxi.loyalty.services import coupon_use

            coupon_use(code=coupon, order=order)  # refused: the whole order is not written
        _points_follow([order.pk], actor=actor)
        _customer_changed(customer.pk)
    return order


def _points_follow(order_ids, *, actor=None, removed: bool = False) -> None:
    """Loyalty points follow the orders: earned, re-priced or reversed (same transaction)."""
    from guanxi.loyalty.services import orders_points_sync

    orders_points_sync(order_ids=order_ids, actor=actor, removed=removed)


def _customer_changed(customer_id: int) -> None:
    """What they bought, their stage, tier and segments follow their orders (same
    transaction)."""
    from guanxi.segments.services.changes import customer_changed

    purchases_refresh([customer_id])
    customer_changed(customer_id=customer_id, changed={"orders"})


def order_update(*, actor, order: Order, data: dict) -> Order:
    """Change an order's status, channel, notes or time; lines given replace the lines."""
    customer = order.customer
    access.require_visible(actor, customer.owner_id)
    access.require_on_customer(actor, "order.write", customer)
    require_not_terminated(customer)
    errors = Errors()
    clean = _clean_order(data, errors, partial=True)
    lines = _clean_lines(data["lines"], errors) if "lines" in data else None
    errors.raise_if_any()
    if (
        "number" in clean
        and Order.objects.filter(number=clean["number"]).exclude(pk=order.pk).exists()
    ):
        raise Conflict(errors={"number": [_("An order with this number already exists.")]})
    fields = ("number", "ordered_at", "status", "channel", "currency", "notes", "total")
    before = {f: getattr(order, f) for f in fields}
    with transaction.atomic():
        for field, value in clean.items():
            setattr(order, field, value)
        if lines is not None:
            order.lines.all().delete()
            OrderLine.objects.bulk_create(OrderLine(order=order, **line) for line in lines)
            order.total = sum((line["amount"] for line in lines), Decimal("0"))
        order.save()
        changes = diff(before, {f: getattr(order, f) for f in fields})
        if "status" in changes:
            timeline_record(
                customer_id=customer.pk,
                kind=EventKind.ORDER,
                actor=actor,
                obj=order,
                data={"action": "status", "number": order.number, "status": order.status},
            )
        if changes:
            audit_record(
                actor=actor,
                action=AuditAction.UPDATE,
                instance=order,
                customer_id=customer.pk,
                changes=changes,
            )
            _points_follow([order.pk], actor=actor)
            _customer_changed(customer.pk)
    return order


def order_delete(*, actor, order: Order) -> None:
    customer = order.customer
    access.require_visible(actor, customer.owner_id)
    access.require_on_customer(actor, "order.write", customer)
    require_not_terminated(customer)
    if order.status in (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED):
        raise ValidationFailed(
            errors={"status": [_("A paid order cannot be deleted; cancel or refund it.")]}
        )
    with transaction.atomic():
        pk, number = order.pk, order.number
        _points_follow([pk], actor=actor, removed=True)
        order.delete()
        audit_record(
            actor=actor,
            action=AuditAction.DELETE,
            model="orders.order",
            object_id=pk,
            object_repr=number,
            customer_id=customer.pk,
        )
        _customer_changed(customer.pk)


def product_upsert(*, actor, sku: str, name: str, category: str = "", unit_price=0) -> Product:
    access.require(actor, "order.write")
    product, _created = Product.objects.update_or_create(
        sku=sku, defaults={"name": name, "category": category, "unit_price": unit_price}
    )
    return product


def customer_orders_move(*, from_id: int, to_id: int, only: list[int] | None = None) -> list[int]:
    """Move a customer's orders to another customer (a merge); `only` moves just those ids
    back (an unmerge). Returns the ids moved."""
    qs = Order.objects.filter(customer_id=from_id)
    if only is not None:
        qs = qs.filter(pk__in=only)
    ids = list(qs.values_list("pk", flat=True))
    if ids:
        Order.objects.filter(pk__in=ids).update(customer_id=to_id, updated_at=timezone.now())
        purchases_refresh([from_id, to_id])
    return ids


# Set-based writes, for imports ----------------------------------------------------------------
#
# The same validation (`_clean_order`, `_clean_lines`) and the same records (timeline, audit
# log, a lead's first order moving it to "new") as `order_create` and `order_update`, written
# a table at a time: a chunk of five thousand orders costs a handful of statements.

BATCH = 5000
ORDER_COLUMNS = [
    "id", "created_at", "updated_at", "customer", "number", "ordered_at", "status", "channel",
    "currency", "total", "notes",
]  # fmt: skip
LINE_COLUMNS = [
    "order", "product", "product_name", "category", "quantity", "unit_price", "discount",
    "amount",
]  # fmt: skip


@dataclass(slots=True)
class PreparedOrder:
    """An order cleaned and validated as `order_create` would, ready for a bulk write."""

    number: str
    fields: dict  # ordered_at, status, channel, currency, notes: those given
    lines: list[dict]
    # The stored order that already has this number: {"id", "customer_id", "status"}.
    existing: dict | None = None


def orders_prepare(*, orders: list[dict]) -> list[PreparedOrder | ValidationFailed]:
    """Clean and validate many orders (each as `order_create` takes it) with one query for
    their products and one for their numbers; each comes back prepared or as the
    ValidationFailed naming its bad fields. An order whose number is taken comes back with
    `existing` set, not as an error: the caller decides (a duplicate, an update, more lines)."""
    skus = sorted({sku for data in orders for sku in _skus(data.get("lines") or [])})
    products = {}
    for start in range(0, len(skus), BATCH):
        products |= {p.sku: p for p in Product.objects.filter(sku__in=skus[start : start + BATCH])}
    numbers = sorted({str(data.get("number") or "").strip() for data in orders} - {""})
    existing = {}
    for start in range(0, len(numbers), BATCH):
        for row in Order.objects.filter(number__in=numbers[start : start + BATCH]).values(
            "id", "number", "customer_id", "status"
        ):
            existing[row.pop("number")] = row
    out: list[PreparedOrder | ValidationFailed] = []
    for data in orders:
        errors = Errors()
        clean = _clean_order(data, errors, partial=False)
        lines = _clean_lines(data.get("lines"), errors, products=products)
        if errors:
            out.append(ValidationFailed(errors=errors))
            continue
        number = clean.pop("number")
        out.append(PreparedOrder(number, clean, lines, existing.get(number)))
    return out


def _actor_id(actor):
    return actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None


def _audit_row(now, actor_id, action, order_id, number, customer_id, changes):
    return (now, actor_id, action, current_channel(), "orders.order", str(order_id),
            number[:200], customer_id, changes)  # fmt: skip


def orders_bulk_create(
    *, actor, orders: list[tuple[int, PreparedOrder]], event_data: dict | None = None
) -> tuple[list[int], dict[int, int]]:
    """Record many orders (customer id, prepared order) with their lines at once.

    Each gets what `order_create` gives one: its lines, a total that is their sum, an
    "order" timeline event at its time (carrying `event_data`) and an audit entry; a lead
    whose first order here is not cancelled moves to "new" with a stage change. Returns the
    ids in the order given, and {customer id: order id} of the leads that moved (for undo).
    """
    if not orders:
        return [], {}
    customers = customers_require_action(
        actor=actor, action="order.write", ids=[c for c, _o in orders], fields=("stage",)
    )
    numbers = [o.number for _c, o in orders]
    taken = {n for n, count in Counter(numbers).items() if count > 1}
    for start in range(0, len(numbers), BATCH):
        taken |= set(
            Order.objects.filter(number__in=numbers[start : start + BATCH]).values_list(
                "number", flat=True
            )
        )
    if taken:
        raise Conflict(errors={"number": [_("An order with this number already exists.")]})
    now = timezone.now()
    actor_id = _actor_id(actor)
    defaults = {f: Order._meta.get_field(f).default for f in ("status", "channel", "currency")}
    with transaction.atomic():
        ids = allocate_ids(Order, len(orders))
        order_rows, line_rows, events, audits = [], [], [], []
        first: dict[int, tuple] = {}  # lead → (time, number, id) of its first order here
        for pk, (customer_id, order) in zip(ids, orders, strict=True):
            f = defaults | order.fields
            at = f.get("ordered_at") or now
            total = sum((line["amount"] for line in order.lines), Decimal("0"))
            order_rows.append(
                (pk, now, now, customer_id, order.number, at, f["status"], f["channel"],
                 f["currency"], total, f.get("notes") or "")
            )  # fmt: skip
            line_rows += [
                (pk, line["product"].pk if line["product"] else None, line["product_name"],
                 line["category"], line["quantity"], line["unit_price"], line["discount"],
                 line["amount"])
                for line in order.lines
            ]  # fmt: skip
            data = {"number": order.number, "total": str(total), "currency": f["currency"],
                    "status": f["status"]}  # fmt: skip
            events.append((customer_id, EventKind.ORDER, at, actor_id, data | (event_data or {}),
                           "orders.order", pk))  # fmt: skip
            audits.append(_audit_row(now, actor_id, AuditAction.CREATE, pk, order.number,
                                     customer_id, {"number": [None, order.number],
                                                   "total": [None, str(total)],
                                                   "status": [None, f["status"]]}))  # fmt: skip
            lead = customers[customer_id]["stage"] == Stage.LEAD
            if lead and f["status"] != OrderStatus.CANCELLED:
                earliest = first.get(customer_id)
                if earliest is None or (at, pk) < (earliest[0], earliest[2]):
                    first[customer_id] = (at, order.number, pk)
        Inserter(Order, ORDER_COLUMNS).insert(order_rows)
        Inserter(OrderLine, LINE_COLUMNS).insert(line_rows)
        purchases_refresh({row[3] for row in order_rows})
        Inserter(TimelineEvent, EVENT_COLUMNS).insert(events)
        Inserter(AuditEntry, AUDIT_COLUMNS).insert(audits)
        moved = customers_bulk_change_stage(
            actor=actor,
            stages={
                c: (Stage.NEW, _("first order %(number)s") % {"number": number})
                for c, (_at, number, _pk) in first.items()
            },
            only_from=Stage.LEAD,
            event_data=event_data,
        )
    return ids, {c: first[c][2] for c in moved}


def _stored_orders(ids) -> dict[int, dict]:
    ids = list(dict.fromkeys(ids))
    stored = {}
    for start in range(0, len(ids), BATCH):
        for row in Order.objects.filter(pk__in=ids[start : start + BATCH]).values(
            "id", "customer_id", "number", "status", "total", "currency"
        ):
            stored[row.pop("id")] = row
    return stored


def orders_bulk_add_lines(*, actor, additions: list[tuple[int, list[dict]]]) -> None:
    """Add lines (cleaned by `orders_prepare`) to stored orders, many at once: the rest of
    an order whose lines an import reads in more than one go. The total grows by theirs; the
    order's timeline event shows the new total and the audit log records the change."""
    stored = _stored_orders(pk for pk, _l in additions)
    if not stored:
        return
    customers_require_action(
        actor=actor, action="order.write", ids={o["customer_id"] for o in stored.values()}
    )
    now = timezone.now()
    actor_id = _actor_id(actor)
    totals = {pk: row["total"] for pk, row in stored.items()}
    line_rows = []
    for pk, lines in additions:
        if pk not in stored:
            continue
        line_rows += [
            (pk, line["product"].pk if line["product"] else None, line["product_name"],
             line["category"], line["quantity"], line["unit_price"], line["discount"],
             line["amount"])
            for line in lines
        ]  # fmt: skip
        totals[pk] += sum((line["amount"] for line in lines), Decimal("0"))
    if any(total >= MAX_TOTAL for total in totals.values()):
        raise ValidationFailed(errors={"lines": [_("The order total is too large.")]})
    changed = [pk for pk in stored if totals[pk] != stored[pk]["total"]]
    with transaction.atomic():
        Inserter(OrderLine, LINE_COLUMNS).insert(line_rows)
        purchases_refresh({row["customer_id"] for row in stored.values()})
        Order.objects.bulk_update(
            [Order(pk=pk, total=totals[pk], updated_at=now) for pk in changed],
            ["total", "updated_at"],
            batch_size=1000,
        )
        events = []
        for start in range(0, len(changed), BATCH):
            for event in TimelineEvent.objects.filter(
                kind=EventKind.ORDER,
                object_model="orders.order",
                object_id__in=changed[start : start + BATCH],
            ):
                if "action" not in event.data:  # the event that the order was placed
                    event.data = {**event.data, "total": str(totals[event.object_id])}
                    events.append(event)
        TimelineEvent.objects.bulk_update(events, ["data"], batch_size=1000)
        Inserter(AuditEntry, AUDIT_COLUMNS).insert(
            _audit_row(now, actor_id, AuditAction.UPDATE, pk, stored[pk]["number"],
                       stored[pk]["customer_id"],
                       {"total": [str(stored[pk]["total"]), str(totals[pk])]})
            for pk in changed
        )  # fmt: skip


def orders_bulk_update_status(
    *,
    actor,
    updates: list[tuple[int, str]],
    expect: dict[int, str] | None = None,
    event_data: dict | None = None,
) -> dict[int, list[str]]:
    """Change the status of many orders at once (with `expect`, only of those still in the
    status given there). Each that changes gets what `order_update` gives a status change:
    a timeline event and an audit entry. Returns {order id: [old, new]}."""
    for _pk, status in updates:
        if status not in OrderStatus.values:
            raise ValidationFailed(
                errors={"status": [_("“%(value)s” is not one of: %(choices)s.")
                                   % {"value": status, "choices": ", ".join(OrderStatus.values)}]}
            )  # fmt: skip
    stored = _stored_orders(pk for pk, _s in updates)
    customers_require_action(
        actor=actor, action="order.write", ids={o["customer_id"] for o in stored.values()}
    )
    changes: dict[int, list[str]] = {}
    for pk, status in updates:
        row = stored.get(pk)
        if row is None or (expect is not None and row["status"] != expect.get(pk)):
            continue
        if status != row["status"]:
            changes.setdefault(pk, [row["status"], status])[1] = status
            row["status"] = status
    changes = {pk: c for pk, c in changes.items() if c[0] != c[1]}
    if not changes:
        return {}
    now = timezone.now()
    actor_id = _actor_id(actor)
    with transaction.atomic():
        by_status: dict[str, list[int]] = {}
        for pk, (_old, new) in changes.items():
            by_status.setdefault(new, []).append(pk)
        for status, pks in by_status.items():
            for start in range(0, len(pks), BATCH):
                Order.objects.filter(pk__in=pks[start : start + BATCH]).update(
                    status=status, updated_at=now
                )
        purchases_refresh({stored[pk]["customer_id"] for pk in changes})
        _points_follow(list(changes), actor=actor)
        Inserter(TimelineEvent, EVENT_COLUMNS).insert(
            (stored[pk]["customer_id"], EventKind.ORDER, now, actor_id,
             {"action": "status", "number": stored[pk]["number"], "status": new,
              **(event_data or {})}, "orders.order", pk)
            for pk, (_old, new) in changes.items()
        )  # fmt: skip
        Inserter(AuditEntry, AUDIT_COLUMNS).insert(
            _audit_row(now, actor_id, AuditAction.UPDATE, pk, stored[pk]["number"],
                       stored[pk]["customer_id"], {"status": change})
            for pk, change in changes.items()
        )  # fmt: skip
    return changes


def orders_bulk_delete(
    *,
    actor,
    ids: list[int],
    unchanged_since=None,
    restore_leads=(),
    cause: str = "",
) -> int:
    """Take back orders an import recorded, a batch at a time: they go with their lines and
    the timeline events about them, each leaving an audit entry; ids no longer stored are
    passed over. Unlike `order_delete` this takes paid orders too (they were never real).
    With `unchanged_since`, refused (Conflict) if any was changed after it. The customers
    in `restore_leads` that are "new" and have no order left but cancelled ones go back to
    being leads, with `cause`."""
    stored = _stored_orders(ids)
    if not stored:
        return 0
    customers_require_action(
        actor=actor, action="order.write", ids={o["customer_id"] for o in stored.values()}
    )
    if unchanged_since is not None:
        changed = [
            pk
            for start in range(0, len(stored), BATCH)
            for pk in Order.objects.filter(
                pk__in=list(stored)[start : start + BATCH], updated_at__gt=unchanged_since
            ).values_list("pk", flat=True)
        ]
        if changed:
            raise Conflict(
                _(
                    "%(n)d orders this import created have been changed since (for example "
                    "%(example)s); undoing it would lose those changes."
                )
                % {"n": len(changed), "example": stored[min(changed)]["number"]}
            )
    now = timezone.now()
    pks = list(stored)
    with transaction.atomic():
        _points_follow(pks, actor=actor, removed=True)
        for start in range(0, len(pks), BATCH):
            part = pks[start : start + BATCH]
            TimelineEvent.objects.filter(object_model="orders.order", object_id__in=part).delete()
            OrderLine.objects.filter(order_id__in=part).delete()
            Order.objects.filter(pk__in=part).delete()
        purchases_refresh({row["customer_id"] for row in stored.values()})
        Inserter(AuditEntry, AUDIT_COLUMNS).insert(
            _audit_row(now, _actor_id(actor), AuditAction.DELETE, pk, row["number"],
                       row["customer_id"], {})
            for pk, row in stored.items()
        )  # fmt: skip
        leads = sorted(set(restore_leads))
        if leads:
            keep = set()
            for start in range(0, len(leads), BATCH):
                keep |= set(
                    Order.objects.filter(customer_id__in=leads[start : start + BATCH])
                    .exclude(status=OrderStatus.CANCELLED)
                    .values_list("customer_id", flat=True)
                )
            customers_bulk_change_stage(
                actor=actor,
                stages={c: (Stage.LEAD, cause) for c in leads if c not in keep},
                only_from=Stage.NEW,
            )
    return len(stored)


# Facts kept with the orders ----------------------------------------------------------------


def purchases_refresh(customer_ids=None) -> None:
    """Work out again which categories and products these customers (None: every customer)
    have bought, first and last when, from their revenue orders (`CustomerCategory`,
    `CustomerProduct`), and their rows in the segments' order windows. Every write of
    orders calls it for the customers it touched, in its transaction; set-based, a few
    thousand customers a statement. (None, for a bulk load, drops the windows: the next
    refresh of the segments builds them again.)"""
    from django.db import connection
    from django.db.models import F, Value
    from django.db.models.functions import Coalesce

    from .choices import REVENUE_STATUSES
    from .models import CustomerCategory, CustomerProduct

    facts = {
        "first_at": Min("order__ordered_at"),
        "last_at": Max("order__ordered_at"),
        "n": Count("order_id", distinct=True),
    }

    def insert(model, keys: str, per) -> None:
        sql, params = per.annotate(**facts).order_by().query.sql_with_params()
        columns = f"{keys}, first_at, last_at, orders"
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {model._meta.db_table} ({columns}) {sql}", params)

    def rows(customer_filter: dict) -> None:
        lines = OrderLine.objects.filter(order__status__in=REVENUE_STATUSES, **customer_filter)
        insert(
            CustomerCategory,
            "customer_id, category",
            lines.exclude(category="").values("order__customer_id", "category"),
        )
        sku = Coalesce(F("product__sku"), Value(""))
        insert(
            CustomerProduct,
            "customer_id, product_name, sku",
            lines.exclude(product_name="").values("order__customer_id", "product_name", sku_=sku),
        )

    from guanxi.segments.windows import windows_drop, windows_follow

    with transaction.atomic():
        if customer_ids is None:
            CustomerCategory.objects.all().delete()
            CustomerProduct.objects.all().delete()
            rows({})
            with connection.cursor() as cursor:  # the planner's statistics of the new rows
                for model in (CustomerCategory, CustomerProduct):
                    cursor.execute(f"ANALYZE {model._meta.db_table}")
            windows_drop()  # the next refresh of the segments builds them again
            return
        ids = sorted(set(customer_ids))
        for start in range(0, len(ids), BATCH):
            part = ids[start : start + BATCH]
            CustomerCategory.objects.filter(customer_id__in=part).delete()
            CustomerProduct.objects.filter(customer_id__in=part).delete()
            rows({"order__customer_id__in": part})
        # The segments' order figures over time windows follow too.
        windows_follow(ids)
