"""Writes of orders and their lines; the basis of RFM, CLV and loyalty later on."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.accounts.audit import audit_record, diff
from guanxi.accounts.choices import AuditAction
from guanxi.core.dates import aware_datetime
from guanxi.core.errors import Conflict, Errors, ValidationFailed
from guanxi.customers.choices import Stage
from guanxi.customers.services import customer_change_stage
from guanxi.interactions.choices import EventKind
from guanxi.interactions.timeline import timeline_record

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


def _clean_lines(raw_lines, errors: Errors) -> list[dict]:
    if not isinstance(raw_lines, list) or not raw_lines:
        errors.add("lines", _("An order needs at least one line."))
        return []
    skus = {
        str(line.get("sku")) for line in raw_lines if isinstance(line, dict) and line.get("sku")
    }
    products = {p.sku: p for p in Product.objects.filter(sku__in=skus)}
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
    """Record an order with its lines; the total is the sum of the lines."""
    access.require_visible(actor, customer.owner_id)
    access.require_on_customer(actor, "order.write", customer)
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
    return order


def order_update(*, actor, order: Order, data: dict) -> Order:
    """Change an order's status, channel, notes or time; lines given replace the lines."""
    customer = order.customer
    access.require_visible(actor, customer.owner_id)
    access.require_on_customer(actor, "order.write", customer)
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
    return order


def order_delete(*, actor, order: Order) -> None:
    customer = order.customer
    access.require_visible(actor, customer.owner_id)
    access.require_on_customer(actor, "order.write", customer)
    if order.status in (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED):
        raise ValidationFailed(
            errors={"status": [_("A paid order cannot be deleted; cancel or refund it.")]}
        )
    with transaction.atomic():
        pk, number = order.pk, order.number
        order.delete()
        audit_record(
            actor=actor,
            action=AuditAction.DELETE,
            model="orders.order",
            object_id=pk,
            object_repr=number,
            customer_id=customer.pk,
        )


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
    return ids
