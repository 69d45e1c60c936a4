"""Importing orders: one row per order, or one row per line (the rows with the same order number
are one order, also when they run across chunks), each linked to its customer by external id,
phone or email, validated as `order_create` validates and written set-based."""

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from guanxi.core.errors import ValidationFailed
from guanxi.customers.cleaning import fold
from guanxi.orders.choices import OrderStatus, SalesChannel
from guanxi.orders.services import (
    orders_bulk_add_lines,
    orders_bulk_create,
    orders_bulk_update_status,
    orders_prepare,
)

from .. import values as v
from ..choices import ImportMode, RecordAction, Severity
from ..models import ImportRecord
from ..readers import Row
from .base import Outcome, Prepared
from .linking import Key, LinkedImporter

STATUS = v.ChoiceReader(
    OrderStatus,
    {"待付款": "pending", "待支付": "pending", "未付款": "pending", "未支付": "pending",
     "待处理": "pending", "已付款": "paid", "已支付": "paid", "付款成功": "paid", "已付": "paid",
     "已发货": "shipped", "发货": "shipped", "待收货": "shipped", "运输中": "shipped",
     "已完成": "completed", "完成": "completed", "交易成功": "completed", "已收货": "completed",
     "已签收": "completed", "已取消": "cancelled", "取消": "cancelled", "交易关闭": "cancelled",
     "已关闭": "cancelled", "canceled": "cancelled", "已退款": "refunded", "退款": "refunded",
     "退款成功": "refunded"},
)  # fmt: skip
CHANNEL = v.ChoiceReader(
    SalesChannel,
    {"线上": "online", "网店": "online", "官网": "online", "网上商城": "online", "在线": "online",
     "电商": "online", "门店": "store", "线下": "store", "实体店": "store", "店铺": "store",
     "电话": "phone", "电话订购": "phone", "微信": "wechat", "小程序": "wechat",
     "微信小程序": "wechat", "公众号": "wechat", "微商城": "wechat", "天猫": "marketplace",
     "淘宝": "marketplace", "京东": "marketplace", "拼多多": "marketplace",
     "抖音": "marketplace", "平台": "marketplace", "第三方平台": "marketplace",
     "直销": "sales", "销售": "sales", "业务员": "sales", "其他": "other", "其它": "other"},
)  # fmt: skip
CURRENCIES = {
    "人民币": "CNY", "rmb": "CNY", "元": "CNY", "¥": "CNY", "￥": "CNY", "美元": "USD",
    "$": "USD", "港币": "HKD", "港元": "HKD", "欧元": "EUR", "日元": "JPY", "英镑": "GBP",
}  # fmt: skip
ORDER_KEYS = ("ordered_at", "status", "channel", "currency", "notes")
LINE_KEYS = ("product_name", "sku", "category", "quantity", "unit_price", "discount",
             "line_amount")  # fmt: skip
CENT = Decimal("0.01")
_LINE_ERROR = re.compile(r"^lines\[(\d+)\]\.(\w+)$")


def currency(text: str) -> str:
    value = fold(text)
    return CURRENCIES.get(value.lower(), value.upper())


@dataclass(slots=True)
class OrderRow:
    """What one row says about its order, read and cleaned."""

    row: Row
    number: str
    keys: list[Key]
    order: dict  # ordered_at, status, channel, currency, notes: those the row gives
    line: dict | None  # the line it holds, as order_create takes lines
    line_from: dict = field(default_factory=dict)  # line field → the column's field key
    total: Decimal | None = None


@dataclass(slots=True)
class Group:
    """The rows of one order number in a chunk."""

    number: str
    rows: list[Prepared]
    data: dict = field(default_factory=dict)  # as order_create takes it
    source: dict = field(default_factory=dict)  # order field → the row that gave it
    line_rows: list[tuple[Prepared, dict]] = field(default_factory=list)
    has_lines: bool = False
    customer_id: int | None = None


class OrderImporter(LinkedImporter):
    kind = "orders"
    action = "order.write"

    def __init__(self, job, **kwargs):
        super().__init__(job, **kwargs)
        # Order number → (id, customer id, first row) of the orders this run created, so
        # that rows of one order in a later chunk add to it instead of being duplicates.
        self.created: dict[str, tuple[int, int, int | None]] = {}

    def not_allowed(self, customer_id: int) -> str:
        return _("You may not add orders to customer #%(id)s.") % {"id": customer_id}

    # Reading ---------------------------------------------------------------------------------

    def prepare(self, row) -> Prepared:
        p = Prepared(row.number)
        if row.notes:
            self.cell_notes(p, row)
        column, number = self.cell(row, "number")
        try:
            number = v.digits_text(number) if number else ""
        except ValueError as e:
            self.issue(p, column, "number", number, e)
            number = ""
        else:
            if not number:
                self.issue(p, column, "number", "", _("This field is required."))
        keys = self.customer_keys(p, row)
        order = {}
        for key, convert in (
            ("ordered_at", v.parse_datetime),
            ("status", STATUS),
            ("channel", CHANNEL),
            ("currency", currency),
            ("notes", str.strip),
        ):
            value = self.convert(p, row, key, convert)
            if value:
                order[key] = value
        line, line_from, total = self._line(p, row)
        p.values = {"number": number, **order, **(line or {})}
        if total is not None:
            p.values["total"] = total
        for k in keys:
            p.values[k.field] = k.value
        if not any(i.severity == Severity.ERROR for i in p.issues):
            p.item = OrderRow(row, number, keys, order, line, line_from, total)
        return p

    def _line(self, p: Prepared, row) -> tuple[dict | None, dict, Decimal | None]:
        """The line a row holds, if it holds one, with where each value came from."""
        number = {
            key: self.convert(p, row, key, v.parse_decimal)
            for key in ("quantity", "unit_price", "discount", "line_amount", "total")
        }
        total = number.pop("total")
        texts = {key: self.cell(row, key)[1] for key in ("product_name", "sku", "category")}
        if not any(texts.values()) and all(n is None for n in number.values()):
            return None, {}, total
        line, line_from = {}, {}
        if texts["product_name"]:
            line["product_name"] = v.text(texts["product_name"])
        if texts["sku"]:
            line["sku"] = self.convert(p, row, "sku", v.digits_text) or texts["sku"]
        if texts["category"]:
            line["category"] = v.text(texts["category"])
        for key in ("quantity", "discount", "unit_price"):
            if number[key] is not None:
                line[key] = number[key]
        amount = number["line_amount"]
        if amount is not None and number["unit_price"] is None:
            # Only the line's amount: the unit price is what makes it up.
            quantity = number["quantity"] or Decimal("1")
            if quantity:
                line["unit_price"] = ((amount + (number["discount"] or 0)) / quantity).quantize(
                    CENT, ROUND_HALF_UP
                )
                line_from["unit_price"] = "line_amount"
        elif amount is not None and None not in (number["quantity"], number["unit_price"]):
            stored = number["quantity"] * number["unit_price"] - (number["discount"] or 0)
            if stored.quantize(CENT, ROUND_HALF_UP) != amount.quantize(CENT, ROUND_HALF_UP):
                column = self.column_of("line_amount")
                self.issue(p, column, "line_amount", self.cell(row, "line_amount")[1],
                           _("The line amount is not quantity × unit price − discount; "
                             "%(amount)s is stored.") % {"amount": stored.quantize(CENT)},
                           severity=Severity.WARNING)  # fmt: skip
        return line, line_from, total

    def display(self, p: Prepared) -> dict[str, str]:
        shown = {}
        for key, value in p.values.items():
            if value in (None, ""):
                continue
            if key == "ordered_at":
                value = value.strftime("%Y-%m-%d %H:%M")
            elif key == "status":
                value = OrderStatus(value).label
            elif key == "channel":
                value = SalesChannel(value).label
            shown[key] = str(value)
        return shown

    # Writing ---------------------------------------------------------------------------------

    def write(self, chunk: list[Prepared], *, dry_run: bool) -> Outcome:
        out = Outcome()
        groups: dict[str, Group] = {}
        for p in chunk:
            if not p.ok:
                out.outcomes[p.row] = {"action": "failed"}
                out.add("failed")
            number = p.values.get("number")  # a row without one has failed already
            if number:
                groups.setdefault(number, Group(number, [])).rows.append(p)
        linked = self.link(
            [(p, p.item.keys) for g in groups.values() for p in g.rows if p.ok and p.item.keys],
            out,
        )
        pending: list[Group] = []
        for g in groups.values():
            if self._group_failed(out, g):
                continue
            customers = {linked[p.row] for p in g.rows if p.row in linked}
            if len(customers) > 1:
                for p in g.rows:
                    if p.item.keys:
                        k = p.item.keys[0]
                        self.fail(out, p, k.column, k.field, k.text,
                                  _("The rows of order %(number)s name different customers.")
                                  % {"number": g.number})  # fmt: skip
                self._group_failed(out, g)
                continue
            g.customer_id = customers.pop() if customers else None
            self._assemble(out, g)
            pending.append(g)

        results = orders_prepare(orders=[g.data for g in pending])
        ours = self._created_by_this_job(
            [r.existing["id"] for r in results if not isinstance(r, ValidationFailed)
             and r.existing and r.number not in self.created]
        )  # fmt: skip
        creates, additions, updates = [], [], []
        for g, r in zip(pending, results, strict=True):
            if isinstance(r, ValidationFailed):
                self._order_errors(out, g, r)
                continue
            prior = self.created.get(g.number)
            if prior is None and r.existing and r.existing["id"] in ours:
                prior = (r.existing["id"], r.existing["customer_id"], None)
            if prior is not None:
                self._continue(out, g, r, prior, additions)
            elif r.existing is not None:
                self._duplicate(out, g, r, updates)
            elif g.customer_id is None:
                self.no_customer(out, g.rows[0])
                self._group_failed(out, g)
            elif "ordered_at" not in r.fields:
                self.fail(out, g.rows[0], self.column_of("ordered_at"), "ordered_at", "",
                          _("This field is required."))  # fmt: skip
                self._group_failed(out, g)
            else:
                creates.append((g, r))

        event = {"import": self.job.pk}
        ids, moved = orders_bulk_create(
            actor=self.actor, orders=[(g.customer_id, r) for g, r in creates], event_data=event
        )
        for (g, r), pk in zip(creates, ids, strict=True):
            first = g.rows[0].row
            self.created[g.number] = (pk, g.customer_id, first)
            before = (
                {"customer_stage": ["lead", "new"], "customer_id": g.customer_id}
                if moved.get(g.customer_id) == pk
                else None
            )
            out.records.append((first, "orders.order", pk, RecordAction.CREATED, before))
            self._outcome(out, g, "created", g.customer_id, first)
            out.add("lines", len(r.lines))
        out.add("created", len(ids))
        orders_bulk_add_lines(actor=self.actor, additions=additions)
        if updates:
            changed = orders_bulk_update_status(
                actor=self.actor, updates=[(pk, status) for pk, status, _g in updates],
                event_data=event,
            )  # fmt: skip
            for pk, _status, g in updates:
                if pk in changed:
                    out.records.append((g.rows[0].row, "orders.order", pk, RecordAction.UPDATED,
                                        {"status": changed[pk]}))  # fmt: skip
            out.add("updated", len(changed))
        return out

    def _group_failed(self, out, g: Group) -> bool:
        """If a row of the order failed, the order is not imported: its other rows fail too."""
        bad = [p.row for p in g.rows if out.outcomes.get(p.row, {}).get("action") == "failed"]
        if not bad:
            return False
        message = _("Not imported with the rest of order %(number)s: row %(row)s has a problem.")
        for p in g.rows:
            if p.row not in bad:
                self.fail(out, p, self.column_of("number"), "number", g.number,
                          message % {"number": g.number, "row": bad[0]})  # fmt: skip
        return True

    def _assemble(self, out, g: Group) -> None:
        """The order as order_create takes it: its fields from the first row that gives
        each, a line per row that holds one, or one line for the amount of a row per order."""
        g.data = {"number": g.number}
        g.has_lines = any(p.item.line for p in g.rows)
        lines = []
        for p in list(g.rows):
            if not g.has_lines and lines and p.item.total is not None:
                # One row per order, and this order's row again: a duplicate.
                g.rows = [q for q in g.rows if q is not p]
                self.problem(out, p, self.column_of("number"), "number", g.number,
                             self._again_message(g.number, g.rows[0].row),
                             severity=Severity.WARNING)  # fmt: skip
                out.outcomes[p.row] = {"action": "skipped", **_ref(g.customer_id),
                                       "same_as_row": g.rows[0].row}  # fmt: skip
                out.add("skipped")
                continue
            for key, value in p.item.order.items():
                if key not in g.data:
                    g.data[key], g.source[key] = value, p
                elif g.data[key] != value:
                    self.problem(out, p, self.column_of(key), key, self.cell(p.item.row, key)[1],
                                 _("Row %(row)s gives order %(number)s another value here; that "
                                   "one is kept.") % {"row": g.source[key].row,
                                                      "number": g.number},
                                 severity=Severity.WARNING)  # fmt: skip
            if p.item.line:
                lines.append(p.item.line)
                g.line_rows.append((p, p.item.line_from))
            elif not g.has_lines and p.item.total is not None:
                lines.append(
                    {"product_name": _("Order total"), "quantity": 1, "unit_price": p.item.total}
                )
                g.line_rows.append((p, {"product_name": "total", "quantity": "total",
                                        "unit_price": "total"}))  # fmt: skip
        g.data["lines"] = lines

    def _order_errors(self, out, g: Group, error: ValidationFailed) -> None:
        first = g.rows[0]
        for key, messages in error.errors.items():
            match = _LINE_ERROR.match(key)
            if match:
                p, line_from = g.line_rows[int(match[1])]
                field_key = line_from.get(match[2], match[2])
            elif key == "lines":
                p = first
                field_key = (
                    "product_name" if g.has_lines or "total" not in self.columns else "total"
                )
            else:
                p, field_key = g.source.get(key, first), key
            column, text = self.cell(p.item.row, field_key)
            for message in messages:
                self.fail(out, p, column if column is not None else self.column_of(field_key),
                          field_key, text, message)  # fmt: skip
        self._group_failed(out, g)

    def _continue(self, out, g: Group, r, prior, additions) -> None:
        """Rows of an order this import created from earlier rows: their lines are added."""
        order_id, customer_id, first = prior
        if g.customer_id not in (None, customer_id):
            for p in g.rows:
                self.fail(out, p, self.column_of("number"), "number", g.number,
                          _("Order %(number)s was imported from earlier rows for another "
                            "customer.") % {"number": g.number})  # fmt: skip
            return
        if not g.has_lines:  # the order's amount again: the same order twice
            self._skip(out, g, self._again_message(g.number, first), customer_id)
            return
        additions.append((order_id, r.lines))
        out.add("lines", len(r.lines))
        self._outcome(out, g, "created", customer_id, first)

    @staticmethod
    def _again_message(number: str, first: int | None) -> str:
        if first is None:
            return _("Order %(number)s is already in this import; skipped.") % {"number": number}
        return _("Order %(number)s is already in row %(row)s of this file; skipped.") % {
            "number": number,
            "row": first,
        }

    def _duplicate(self, out, g: Group, r, updates) -> None:
        """An order number stored before: skipped, or in upsert mode its status updated."""
        existing = r.existing
        status = r.fields.get("status")
        if (
            self.job.mode == ImportMode.UPSERT
            and g.customer_id == existing["customer_id"]
            and status
            and status != existing["status"]
        ):
            updates.append((existing["id"], status, g))
            self._outcome(out, g, "updated", g.customer_id, g.rows[0].row)
            return
        # Said without naming the stored order's customer, who may be one the actor cannot see.
        message = _("An order numbered “%(number)s” already exists; skipped.") % {
            "number": g.number
        }
        self._skip(out, g, message, g.customer_id)

    def _skip(self, out, g: Group, message: str, customer_id) -> None:
        self.problem(out, g.rows[0], self.column_of("number"), "number", g.number, message,
                     severity=Severity.WARNING)  # fmt: skip
        for p in g.rows:
            out.outcomes[p.row] = {"action": "skipped", **_ref(customer_id)}
        out.add("skipped")

    @staticmethod
    def _outcome(out, g: Group, action: str, customer_id, first) -> None:
        for p in g.rows:
            same = {"same_as_row": first} if first is not None and p.row != first else {}
            out.outcomes[p.row] = {"action": action, **_ref(customer_id), **same}

    def _created_by_this_job(self, ids: list[int]) -> set[int]:
        """Of these stored orders, those an earlier run of this (resumable) job created."""
        if not ids:
            return set()
        return set(
            ImportRecord.objects.filter(
                job=self.job, model="orders.order", action=RecordAction.CREATED, object_id__in=ids
            ).values_list("object_id", flat=True)
        )


def _ref(customer_id) -> dict:
    return {"customer": customer_id} if customer_id else {}
