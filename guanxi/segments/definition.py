"""Segment definitions: the JSON shape, its validation and its compilation to one query.

A definition is a tree. Groups are ``{"all": [...]}``, ``{"any": [...]}`` and
``{"not": {...}}``; leaves are conditions ``{"field": "city", "op": "eq", "value": "北京"}``.
Aggregates over orders, interactions and channel events take a window in days and, for
some, narrowing keys: ``{"field": "orders.count", "op": "gte", "value": 2, "days": 90}``,
``{"field": "events.count", "op": "gte", "value": 1, "days": 30, "kind": "email_open"}``.

`compile_definition` turns a validated tree into one `Q` on customers. Every condition is
a column test or ``id IN (SELECT customer_id … GROUP BY customer_id HAVING …)``, so a
segment is answered by the database in one set-based statement, never a loop per customer.
With ``ids`` the subqueries are narrowed to those customers, which is how one customer is
re-evaluated after an order in a few milliseconds.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db.models import (
    Avg,
    Case,
    Count,
    F,
    FloatField,
    Max,
    Min,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.core.errors import Errors

OPS = (
    "eq",
    "ne",
    "lt",
    "lte",
    "gt",
    "gte",
    "in",
    "not_in",
    "contains",
    "not_contains",
    "between",
    "is_set",
)
OP_SIGNS = {
    "eq": "=",
    "ne": "≠",
    "lt": "<",
    "lte": "≤",
    "gt": ">",
    "gte": "≥",
    "in": "∈",
    "not_in": "∉",
    "contains": "∋",
    "not_contains": "∌",
    "between": "∈",
    "is_set": "",
}
TYPE_OPS = {
    "text": ("eq", "ne", "in", "not_in", "contains", "not_contains", "is_set"),
    "choice": ("eq", "ne", "in", "not_in", "is_set"),
    "number": ("eq", "ne", "lt", "lte", "gt", "gte", "between", "is_set"),
    "date": ("eq", "lt", "lte", "gt", "gte", "between", "is_set"),
    # Sets (tags, segments): contains = has all of, in = has any of, not_in = has none of.
    "set": ("contains", "in", "not_in", "is_set"),
}
MAX_DEPTH = 6
MAX_CONDITIONS = 100
MAX_DAYS = 3650
RELATIVE_DAY = re.compile(r"^(today|-(\d{1,4})d)$")
EVERYONE = Q(pk__isnull=False)
NOBODY = Q(pk__isnull=True)


@dataclass
class Context:
    """What a compilation needs besides the tree: the time windows end now, and the
    customers to narrow the subqueries to (None: every customer)."""

    now: dt.datetime
    ids: list[int] | None = None
    shared: object = None  # SharedAggregates of a refresh of several segments, or None


@dataclass(frozen=True)
class FieldSpec:
    key: str
    label: object
    type: str
    group: str
    depends: str  # customer, tags, address, value, orders, interactions, events, segments
    build: object  # (spec, cond, ctx) -> Q
    column: str = ""
    datetime_column: bool = False  # a date value is compared with a datetime column
    window: bool = False  # takes "days"
    extras: dict = field(default_factory=dict)  # narrowing key -> choices (None: any word)
    choices: object = None  # callable -> [(value, label)]
    zero: object = None  # what a customer without rows has (count 0, sum 0)
    ops: tuple = ()

    def allowed_ops(self) -> tuple:
        return self.ops or TYPE_OPS[self.type]


# -- predicates ---------------------------------------------------------------------------


def _local_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _pred(name: str, op: str, value, *, datetime_column=False) -> Q:
    """`name op value` as a Q (name is a column, a lookup path or an annotation)."""
    if datetime_column and op in ("eq", "lt", "lte", "gt", "gte", "between"):
        if op == "between":
            lo, hi = value
            return Q(
                **{
                    f"{name}__gte": _local_start(lo),
                    f"{name}__lt": _local_start(hi + dt.timedelta(days=1)),
                }
            )
        start, end = _local_start(value), _local_start(value + dt.timedelta(days=1))
        return {
            "eq": Q(**{f"{name}__gte": start, f"{name}__lt": end}),
            "lt": Q(**{f"{name}__lt": start}),
            "lte": Q(**{f"{name}__lt": end}),
            "gt": Q(**{f"{name}__gte": end}),
            "gte": Q(**{f"{name}__gte": start}),
        }[op]
    if op == "eq":
        return Q(**{name: value})
    if op == "ne":
        return ~Q(**{name: value})
    if op in ("lt", "lte", "gt", "gte"):
        return Q(**{f"{name}__{op}": value})
    if op == "between":
        return Q(**{f"{name}__gte": value[0], f"{name}__lte": value[1]})
    if op == "in":
        return Q(**{f"{name}__in": value})
    if op == "not_in":
        return ~Q(**{f"{name}__in": value})
    if op == "contains":
        return Q(**{f"{name}__icontains": value})
    if op == "not_contains":
        return ~Q(**{f"{name}__icontains": value})
    raise AssertionError(op)


def _holds(op: str, x, value) -> bool:
    """Whether the predicate is true of `x` (used for the zero of customers without rows)."""
    if op == "eq":
        return x == value
    if op == "ne":
        return x != value
    if op == "lt":
        return x < value
    if op == "lte":
        return x <= value
    if op == "gt":
        return x > value
    if op == "gte":
        return x >= value
    if op == "between":
        return value[0] <= x <= value[1]
    return False


# -- builders -----------------------------------------------------------------------------


def _column(spec: FieldSpec, cond: dict, ctx: Context) -> Q:
    op, value = cond["op"], cond["value"]
    col = spec.column
    if op == "is_set":
        nullable = spec.type in ("date", "number")
        q = (
            Q(**{f"{col}__isnull": False})
            if nullable
            else ~Q(**{col: ""}) & Q(**{f"{col}__isnull": False})
        )
        return q if value else ~q
    return _pred(col, op, value, datetime_column=spec.datetime_column)


def _address(spec: FieldSpec, cond: dict, ctx: Context) -> Q:
    from guanxi.customers.selectors import address_rows

    op, value = cond["op"], cond["value"]
    rows = address_rows()
    if ctx.ids is not None:
        rows = rows.filter(customer_id__in=ctx.ids)
    if op == "is_set":
        q = Q(pk__in=rows.exclude(**{spec.column: ""}).values("customer_id"))
        return q if value else ~q
    negate = op in ("ne", "not_in", "not_contains")
    positive = {"ne": "eq", "not_in": "in", "not_contains": "contains"}.get(op, op)
    q = Q(pk__in=rows.filter(_pred(spec.column, positive, value)).values("customer_id"))
    return ~q if negate else q


def _set_rows(spec: FieldSpec, ctx: Context):
    if spec.key == "tags":
        from guanxi.customers.selectors import tag_links

        rows, col = tag_links(), "tag__name"
    else:
        from .selectors import current_memberships

        rows, col = current_memberships(), "segment_id"
    if ctx.ids is not None:
        rows = rows.filter(customer_id__in=ctx.ids)
    return rows, col


def _set(spec: FieldSpec, cond: dict, ctx: Context) -> Q:
    op, value = cond["op"], cond["value"]
    rows, col = _set_rows(spec, ctx)
    if op == "is_set":
        q = Q(pk__in=rows.values("customer_id"))
        return q if value else ~q
    if op == "in":
        return Q(pk__in=rows.filter(**{f"{col}__in": value}).values("customer_id"))
    if op == "not_in":
        return ~Q(pk__in=rows.filter(**{f"{col}__in": value}).values("customer_id"))
    q = Q()
    for item in value:  # contains: has every one of them
        q &= Q(pk__in=rows.filter(**{col: item}).values("customer_id"))
    return q


def _owner(spec: FieldSpec, cond: dict, ctx: Context) -> Q:
    op, value = cond["op"], cond["value"]
    col = spec.column
    if op == "is_set":
        return Q(**{f"{col}__isnull": not value})
    if op in ("eq", "ne"):
        q = Q(**{col: value})
        return q if op == "eq" else ~q
    q = Q(**{f"{col}__in": value})
    return q if op == "in" else ~q


def _custom(spec: FieldSpec, cond: dict, ctx: Context) -> Q:
    op, value = cond["op"], cond["value"]
    col = spec.column
    if op == "is_set":
        q = Q(**{f"{col}__isnull": False}) & ~Q(**{col: ""})
        return q if value else ~q
    if isinstance(value, (dt.date, Decimal)):
        value = value.isoformat() if isinstance(value, dt.date) else float(value)
    if isinstance(value, list):
        value = [v.isoformat() if isinstance(v, dt.date) else v for v in value]
        value = [float(v) if isinstance(v, Decimal) else v for v in value]
    return _pred(col, op, value)


def _value(spec: FieldSpec, cond: dict, ctx: Context) -> Q:
    from guanxi.analytics.selectors import customer_value_rows

    op, value = cond["op"], cond["value"]
    rows = customer_value_rows()
    if ctx.ids is not None:
        rows = rows.filter(customer_id__in=ctx.ids)
    if spec.key == "value.segment":
        name = "segment_cn" if _segment_scheme(value) == "cn" else "segment_named"
    else:
        name = spec.column
    if op == "is_set":
        if spec.key == "value.segment":
            present = ~Q(segment_cn="") | ~Q(segment_named="")
        else:
            present = Q(**{f"{name}__isnull": False})
        q = Q(pk__in=rows.filter(present).values("customer_id"))
        return q if value else ~q
    negate = op in ("ne", "not_in")
    positive = {"ne": "eq", "not_in": "in"}.get(op, op)
    q = Q(
        pk__in=_in_stored_order(
            rows.filter(_pred(name, positive, value)).values("customer_id"), ctx
        )
    )
    return ~q if negate else q


def _in_stored_order(subquery, ctx: Context):
    """On SQLite, the subquery of every customer's value row told to read the table in its
    stored order: through an index on the value, each of (often) hundreds of thousands of
    matches is a lookup of its row for the customer id, several times slower than reading
    the million rows straight through."""
    return _sqlite_hint(subquery, ctx, "NOT INDEXED")


def _segment_scheme(value) -> str:
    from guanxi.analytics.choices import ChineseSegment

    first = value[0] if isinstance(value, list) else value
    return "cn" if first in ChineseSegment.values else "named"


def _window(rows, column: str, cond: dict, ctx: Context):
    if cond.get("days"):
        rows = rows.filter(**{f"{column}__gte": ctx.now - dt.timedelta(days=cond["days"])})
    if ctx.ids is not None:
        rows = rows.filter(customer_id__in=ctx.ids)
    return rows


# SQLite's planner, left to itself, reads a window of orders through the status index (most
# rows) or walks the customer index and the table; both touch every order row. The covering
# indexes answer from the index alone (see segments.shared.order_index for which).


def _hinted(subquery, ctx: Context, days=None):
    """The subquery of customer ids, on SQLite told which covering index to read orders
    through (when every customer is asked for; one customer's rows come by the customer
    index anyway)."""
    from .shared import order_index

    if subquery.model._meta.db_table != "orders_order":
        return subquery
    return _sqlite_hint(subquery, ctx, f'INDEXED BY "{order_index(days)}"')


def _sqlite_hint(subquery, ctx: Context, hint: str):
    """On SQLite, with every customer asked for, the subquery with `hint` on its one table
    (`INDEXED BY …`, `NOT INDEXED`); as it is otherwise, and on PostgreSQL."""
    from django.db import connection
    from django.db.models.expressions import RawSQL

    if connection.vendor != "sqlite" or ctx.ids is not None:
        return subquery
    sql, params = subquery.query.sql_with_params()
    table = f'FROM "{subquery.model._meta.db_table}"'
    if sql.count(table) != 1 or " JOIN " in sql:
        return subquery
    return RawSQL(sql.replace(table, f"{table} {hint}", 1), params)


def _aggregate_q(
    rows, expr, op: str, value, zero, *, ctx=None, days=None, datetime_column=False
) -> Q:
    """Customers whose aggregate over `rows` satisfies `op value`; customers without rows
    have `zero` (None: they never match)."""
    ctx = ctx or Context(now=timezone.now())
    per_customer = rows.values("customer_id").annotate(agg=expr)
    if op == "is_set":
        q = Q(pk__in=_hinted(rows.values("customer_id"), ctx, days))
        return q if value else ~q
    p = _pred("agg", op, value, datetime_column=datetime_column)
    if zero is not None and _holds(op, zero, value):
        return ~Q(pk__in=_hinted(per_customer.filter(~p).values("customer_id"), ctx, days))
    return Q(pk__in=_hinted(per_customer.filter(p).values("customer_id"), ctx, days))


SHARED_MEASURES = {
    "count": ("n", False),
    "sum": ("s", False),
    "avg": ("a", False),
    "last_at": ("last_at", True),
    "first_at": ("first_at", True),
}


def _raw_pred(col: str, op: str, value, *, time=False) -> tuple[str, list]:
    """`col op value` as SQL on a shared table: numbers as floats, dates as local days."""
    from .shared import adapt_time

    if time:
        start = lambda d: adapt_time(_local_start(d))  # noqa: E731
        nxt = lambda d: adapt_time(_local_start(d + dt.timedelta(days=1)))  # noqa: E731
        if op == "between":
            return f"{col} >= %s AND {col} < %s", [start(value[0]), nxt(value[1])]
        return {
            "eq": (f"{col} >= %s AND {col} < %s", [start(value), nxt(value)]),
            "lt": (f"{col} < %s", [start(value)]),
            "lte": (f"{col} < %s", [nxt(value)]),
            "gt": (f"{col} >= %s", [nxt(value)]),
            "gte": (f"{col} >= %s", [start(value)]),
        }[op]
    if op == "between":
        return f"{col} >= %s AND {col} <= %s", [float(value[0]), float(value[1])]
    sign = {"eq": "=", "ne": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}[op]
    return f"{col} {sign} %s", [float(value)]


def _from_shared(table, where: str, params: list, *, negate=False) -> Q:
    """Customers in a shared table (a name, or a FROM clause with its parameters)."""
    from django.db.models.expressions import RawSQL

    source, source_params = (table, []) if isinstance(table, str) else table
    sql = f"SELECT customer_id FROM {source}" + (f" WHERE {where}" if where else "")
    q = Q(pk__in=RawSQL(sql, [*source_params, *params]))
    return ~q if negate else q


def _shared_aggregate(table, col, op, value, zero, *, time=False, present="") -> Q:
    if op == "is_set":
        return _from_shared(table, present, [], negate=not value)
    where, params = _raw_pred(col, op, value, time=time)
    if zero is not None and _holds(op, zero, value):
        return _from_shared(table, f"NOT ({where})", params, negate=True)
    return _from_shared(table, where, params)


def _shared_orders(spec: FieldSpec, cond: dict, ctx: Context, measure: str) -> Q | None:
    """The condition answered from the per-customer tables of a refresh (segments.shared) or
    those kept between refreshes (segments.windows), or None if there is none for it."""
    shared = ctx.shared
    op, value = cond["op"], cond["value"]
    days = cond.get("days")
    if measure in SHARED_MEASURES:
        col, time = SHARED_MEASURES[measure]
        table = shared.orders(days, cond.get("channel"), first_at=measure == "first_at")
        if table is None:
            return None
        return _shared_aggregate(table, col, op, value, spec.zero, time=time, present="n > 0")
    if measure == "days_since_last":
        from .shared import adapt_time

        table = shared.orders(None, cond.get("channel"))
        if table is None:
            return None
        if op == "is_set":
            return _from_shared(table, "n > 0", [], negate=not value)

        def before(n):
            return "last_at <= %s", [adapt_time(ctx.now - dt.timedelta(days=n))]

        def both(a, b):
            (sa, pa), (sb, pb) = a, b
            return f"({sa}) AND NOT ({sb})", pa + pb

        if op == "between":
            where, params = both(before(value[0]), before(value[1] + 1))
        elif op == "gte":
            where, params = before(value)
        elif op == "gt":
            where, params = before(value + 1)
        elif op in ("lte", "lt"):
            w, p_ = before(value + 1 if op == "lte" else value)
            where, params = f"NOT ({w})", p_
        else:
            where, params = both(before(value), before(value + 1))
            if op == "ne":
                where = f"NOT ({where})"
        return _from_shared(table, where, params)
    if measure == "refund_share":
        table = shared.refunds(days)
        if table is None:
            return None
        return _shared_aggregate(table, "(1.0 * refunded / NULLIF(n_all, 0))", op, value, spec.zero)
    if measure == "discount_share":
        table = shared.line_totals(days)
        if table is None:
            return None
        return _shared_aggregate(table, "(1.0 * disc / NULLIF(lines, 0))", op, value, spec.zero)
    if not shared.has_lines:
        return None
    if measure == "new_products":
        table = shared.new_products(days, cond.get("launch_days") or 30)
        return _shared_aggregate(table, "n", op, value, spec.zero)
    return None


def _orders(spec: FieldSpec, cond: dict, ctx: Context) -> Q:
    from guanxi.orders.selectors import order_rows, revenue_line_rows, revenue_order_rows

    op, value = cond["op"], cond["value"]
    measure = spec.key.split(".", 1)[1]
    if measure in ("category", "categories", "product"):
        return _bought(spec, cond, ctx, measure)
    if ctx.shared is not None and ctx.ids is None:
        found = _shared_orders(spec, cond, ctx, measure)
        if found is not None:
            return found
    if measure in ("discount_share", "new_products"):
        rows = _window(revenue_line_rows(), "order__ordered_at", cond, ctx)
        if measure == "discount_share":
            expr = Cast(
                Sum(Case(When(discount__gt=0, then=Value(1)), default=Value(0))),
                FloatField(),
            ) / Cast(Count("id"), FloatField())
        else:
            launch = dt.timedelta(days=cond.get("launch_days") or 30)
            rows = rows.filter(
                order__ordered_at__gte=F("product__created_at"),
                order__ordered_at__lte=F("product__created_at") + launch,
            )
            expr = Count("product_id", distinct=True)
        return _aggregate_q(rows, expr, op, value, spec.zero, ctx=ctx, days=cond.get("days"))
    if measure == "refund_share":
        rows = _window(order_rows(), "ordered_at", cond, ctx)
        expr = Cast(
            Sum(Case(When(status="refunded", then=Value(1)), default=Value(0))), FloatField()
        ) / Cast(Count("id"), FloatField())
        return _aggregate_q(rows, expr, op, value, spec.zero, ctx=ctx, days=cond.get("days"))
    rows = revenue_order_rows()
    if cond.get("channel"):
        rows = rows.filter(channel=cond["channel"])
    if measure == "days_since_last":
        if ctx.ids is not None:
            rows = rows.filter(customer_id__in=ctx.ids)
        return _days_since(rows, "ordered_at", op, value, ctx)
    rows = _window(rows, "ordered_at", cond, ctx)
    expr = {
        "count": Count("*"),
        "sum": Sum("total"),
        "avg": Avg("total"),
        "last_at": Max("ordered_at"),
        "first_at": Min("ordered_at"),
    }[measure]
    return _aggregate_q(
        rows, expr, op, value, spec.zero, ctx=ctx, days=cond.get("days"),
        datetime_column=spec.datetime_column,
    )  # fmt: skip


def _bought(spec: FieldSpec, cond: dict, ctx: Context, measure: str) -> Q:
    """Bought in a category or a product (by SKU or name), or how many categories, in a
    window: read from what the orders keep of each customer's purchases (first and last
    bought), one index range."""
    from guanxi.orders.models import CustomerCategory, CustomerProduct

    op, value = cond["op"], cond["value"]
    model = CustomerProduct if measure == "product" else CustomerCategory
    rows = _window(model.objects.all(), "last_at", cond, ctx)
    if measure == "categories":
        return _aggregate_q(rows, Count("id"), op, value, spec.zero, ctx=ctx)
    if op == "is_set":
        q = Q(pk__in=rows.values("customer_id"))
        return q if value else ~q
    negate = op in ("ne", "not_in", "not_contains")
    positive = {"ne": "eq", "not_in": "in", "not_contains": "contains"}.get(op, op)
    if measure == "category":
        q = Q(pk__in=rows.filter(_pred("category", positive, value)).values("customer_id"))
    elif positive == "contains":
        q = Q(pk__in=rows.filter(_pred("product_name", "contains", value)).values("customer_id"))
    else:
        # By SKU or by name: two subqueries, each read from its own index alone (one OR'ed
        # query would look every match up in the table).
        q = Q(pk__in=rows.filter(_pred("sku", positive, value)).values("customer_id")) | Q(
            pk__in=rows.filter(_pred("product_name", positive, value)).values("customer_id")
        )
    return ~q if negate else q


def _days_since(rows, column: str, op: str, value, ctx: Context) -> Q:
    """Days since the latest row, as a test on the latest time (customers without rows have
    no value: they never match, except `is_set false`)."""
    per_customer = rows.values("customer_id").annotate(agg=Max(column))
    if op == "is_set":
        q = Q(pk__in=_hinted(rows.values("customer_id"), ctx))
        return q if value else ~q

    def before(days):  # the latest row is at least `days` days ago
        return Q(agg__lte=ctx.now - dt.timedelta(days=days))

    if op == "between":
        lo, hi = value
        p = before(lo) & ~before(hi + 1)
    else:
        p = {
            "gte": lambda: before(value),
            "gt": lambda: before(value + 1),
            "lte": lambda: ~before(value + 1),
            "lt": lambda: ~before(value),
            "eq": lambda: before(value) & ~before(value + 1),
            "ne": lambda: ~(before(value) & ~before(value + 1)),
        }[op]()
    return Q(pk__in=_hinted(per_customer.filter(p).values("customer_id"), ctx))


def _activity(spec: FieldSpec, cond: dict, ctx: Context) -> Q:
    op, value = cond["op"], cond["value"]
    source, measure = spec.key.split(".", 1)
    if source == "interactions":
        from guanxi.interactions.selectors import interaction_rows

        rows = interaction_rows()
    else:
        from guanxi.events.selectors import event_rows

        rows = event_rows()
    for key in spec.extras:
        if cond.get(key):
            rows = rows.filter(**{key: cond[key]})
    if measure == "days_since_last":
        if ctx.ids is not None:
            rows = rows.filter(customer_id__in=ctx.ids)
        return _days_since(rows, "occurred_at", op, value, ctx)
    rows = _window(rows, "occurred_at", cond, ctx)
    expr = Count("*") if measure == "count" else Max("occurred_at")
    return _aggregate_q(
        rows, expr, op, value, spec.zero, ctx=ctx, datetime_column=spec.datetime_column
    )


# -- the catalogue of fields --------------------------------------------------------------


def _choices(choices_class):
    return lambda: [(str(v), str(label)) for v, label in choices_class.choices if v]


def _static_fields() -> list[FieldSpec]:
    from guanxi.analytics.choices import ChineseSegment, NamedSegment
    from guanxi.customers.choices import (
        CompanySize,
        ContactChannel,
        CustomerKind,
        Gender,
        Source,
        Stage,
    )
    from guanxi.events.choices import EventChannel, EventKind
    from guanxi.interactions.choices import Channel, Direction, InteractionKind
    from guanxi.orders.choices import SalesChannel

    def rfm_segments():
        return [(v, str(label)) for v, label in ChineseSegment.choices + NamedSegment.choices]

    c, a, v = "customer", "address", "value"
    fields = [
        FieldSpec("name", gettext_lazy("Name"), "text", c, c, _column, column="name"),
        FieldSpec(
            "kind",
            gettext_lazy("Kind"),
            "choice",
            c,
            c,
            _column,
            "kind",
            choices=_choices(CustomerKind),
        ),
        FieldSpec(
            "company_name", gettext_lazy("Company"), "text", c, c, _column, column="company_name"
        ),
        FieldSpec(
            "job_title", gettext_lazy("Job title"), "text", c, c, _column, column="job_title"
        ),
        FieldSpec(
            "gender",
            gettext_lazy("Gender"),
            "choice",
            c,
            c,
            _column,
            "gender",
            choices=_choices(Gender),
        ),
        FieldSpec("birthday", gettext_lazy("Birthday"), "date", c, c, _column, column="birthday"),
        FieldSpec(
            "birthday_month",
            gettext_lazy("Birthday month"),
            "number",
            c,
            c,
            _column,
            "birthday__month",
        ),
        FieldSpec("industry", gettext_lazy("Industry"), "text", c, c, _column, column="industry"),
        FieldSpec(
            "company_size",
            gettext_lazy("Company size"),
            "choice",
            c,
            c,
            _column,
            "company_size",
            choices=_choices(CompanySize),
        ),
        FieldSpec(
            "source",
            gettext_lazy("Source channel"),
            "choice",
            c,
            c,
            _column,
            "source",
            choices=_choices(Source),
        ),
        FieldSpec(
            "preferred_channel",
            gettext_lazy("Preferred contact channel"),
            "choice",
            c,
            c,
            _column,
            "preferred_channel",
            choices=_choices(ContactChannel),
        ),
        FieldSpec(
            "stage",
            gettext_lazy("Lifecycle stage"),
            "choice",
            c,
            c,
            _column,
            "stage",
            choices=_choices(Stage),
        ),
        FieldSpec(
            "created_at",
            gettext_lazy("Created"),
            "date",
            c,
            c,
            _column,
            "created_at",
            datetime_column=True,
        ),
        FieldSpec(
            "stage_changed_at",
            gettext_lazy("Stage changed"),
            "date",
            c,
            c,
            _column,
            "stage_changed_at",
            datetime_column=True,
        ),
        FieldSpec(
            "external_id", gettext_lazy("External id"), "text", c, c, _column, column="external_id"
        ),
        FieldSpec(
            "owner",
            gettext_lazy("Owner"),
            "choice",
            c,
            c,
            _owner,
            "owner_id",
            ops=("eq", "ne", "in", "not_in", "is_set"),
        ),
        FieldSpec(
            "team",
            gettext_lazy("Owner's team"),
            "choice",
            c,
            c,
            _owner,
            "owner__team_id",
            ops=("eq", "ne", "in", "not_in", "is_set"),
        ),
        FieldSpec("tags", gettext_lazy("Tags"), "set", c, "tags", _set),
        FieldSpec("province", gettext_lazy("Province"), "text", "region", a, _address, "province"),
        FieldSpec("city", gettext_lazy("City"), "text", "region", a, _address, "city"),
        FieldSpec("district", gettext_lazy("District"), "text", "region", a, _address, "district"),
        FieldSpec(
            "segment", gettext_lazy("Member of segment"), "set", "segments", "segments", _set
        ),
        FieldSpec(
            "value.segment",
            gettext_lazy("RFM segment"),
            "choice",
            v,
            v,
            _value,
            ops=("eq", "ne", "in", "not_in", "is_set"),
            choices=rfm_segments,
        ),
    ]
    for key, label in (
        ("r_score", gettext_lazy("R score")),
        ("f_score", gettext_lazy("F score")),
        ("m_score", gettext_lazy("M score")),
        ("lifetime_value", gettext_lazy("Lifetime value (CLV)")),
        ("p_alive", gettext_lazy("P(alive)")),
        ("historical_value", gettext_lazy("Historical value")),
        ("average_order_value", gettext_lazy("Average order value")),
        ("recency_days", gettext_lazy("Days since last order (last refresh)")),
        ("value_365", gettext_lazy("Predicted value, 365 days")),
        ("purchases_365", gettext_lazy("Predicted purchases, 365 days")),
    ):
        fields.append(FieldSpec(f"value.{key}", label, "number", v, v, _value, key))
    o = "orders"
    channel = {"channel": _choices(SalesChannel)}
    fields += [
        FieldSpec(
            "orders.count",
            gettext_lazy("Number of orders"),
            "number",
            o,
            o,
            _orders,
            window=True,
            extras=channel,
            zero=0,
        ),
        FieldSpec(
            "orders.sum",
            gettext_lazy("Order revenue"),
            "number",
            o,
            o,
            _orders,
            window=True,
            extras=channel,
            zero=Decimal(0),
        ),
        FieldSpec(
            "orders.avg",
            gettext_lazy("Average order amount"),
            "number",
            o,
            o,
            _orders,
            window=True,
            extras=channel,
        ),
        FieldSpec(
            "orders.last_at",
            gettext_lazy("Last order date"),
            "date",
            o,
            o,
            _orders,
            window=True,
            extras=channel,
            datetime_column=True,
        ),
        FieldSpec(
            "orders.first_at",
            gettext_lazy("First order date"),
            "date",
            o,
            o,
            _orders,
            window=True,
            extras=channel,
            datetime_column=True,
        ),
        FieldSpec(
            "orders.days_since_last",
            gettext_lazy("Days since last order"),
            "number",
            o,
            o,
            _orders,
            extras=channel,
        ),
        FieldSpec(
            "orders.product",
            gettext_lazy("Bought product (SKU or name)"),
            "text",
            o,
            o,
            _orders,
            window=True,
        ),
        FieldSpec(
            "orders.category",
            gettext_lazy("Bought in category"),
            "text",
            o,
            o,
            _orders,
            window=True,
        ),
        FieldSpec(
            "orders.categories",
            gettext_lazy("Number of categories bought"),
            "number",
            o,
            o,
            _orders,
            window=True,
            zero=0,
        ),
        FieldSpec(
            "orders.discount_share",
            gettext_lazy("Share of discounted order lines"),
            "number",
            o,
            o,
            _orders,
            window=True,
        ),
        FieldSpec(
            "orders.refund_share",
            gettext_lazy("Share of orders refunded"),
            "number",
            o,
            o,
            _orders,
            window=True,
        ),
        FieldSpec(
            "orders.new_products",
            gettext_lazy("New products bought soon after launch"),
            "number",
            o,
            o,
            _orders,
            window=True,
            extras={"launch_days": "days"},
            zero=0,
        ),
    ]
    i_extras = {
        "kind": _choices(InteractionKind),
        "direction": _choices(Direction),
        "channel": _choices(Channel),
    }
    e_extras = {
        "kind": lambda: [(v, str(label)) for v, label in EventKind.choices],
        "channel": _choices(EventChannel),
    }
    fields += [
        FieldSpec(
            "interactions.count",
            gettext_lazy("Number of interactions"),
            "number",
            "interactions",
            "interactions",
            _activity,
            window=True,
            extras=i_extras,
            zero=0,
        ),
        FieldSpec(
            "interactions.last_at",
            gettext_lazy("Last interaction date"),
            "date",
            "interactions",
            "interactions",
            _activity,
            window=True,
            extras=i_extras,
            datetime_column=True,
        ),
        FieldSpec(
            "interactions.days_since_last",
            gettext_lazy("Days since last interaction"),
            "number",
            "interactions",
            "interactions",
            _activity,
            extras=i_extras,
        ),
        FieldSpec(
            "events.count",
            gettext_lazy("Number of channel events"),
            "number",
            "events",
            "events",
            _activity,
            window=True,
            extras=e_extras,
            zero=0,
        ),
        FieldSpec(
            "events.last_at",
            gettext_lazy("Last channel event date"),
            "date",
            "events",
            "events",
            _activity,
            window=True,
            extras=e_extras,
            datetime_column=True,
        ),
        FieldSpec(
            "events.days_since_last",
            gettext_lazy("Days since last channel event"),
            "number",
            "events",
            "events",
            _activity,
            extras=e_extras,
        ),
    ]
    return fields


def _custom_fields() -> list[FieldSpec]:
    from guanxi.customers.selectors import custom_field_definitions

    out = []
    kinds = {"text": "text", "number": "number", "date": "date", "choice": "choice"}
    for d in custom_field_definitions():
        choices = None
        if d.field_type == "choice":
            options = list(d.choices or [])
            choices = lambda options=options: [(str(o), str(o)) for o in options]  # noqa: E731
        out.append(
            FieldSpec(
                f"cf.{d.key}",
                d.label,
                kinds.get(d.field_type, "text"),
                "custom",
                "customer",
                _custom,
                f"custom_fields__{d.key}",
                choices=choices,
            )
        )
    return out


def fields() -> dict[str, FieldSpec]:
    """Every field a condition may name, by key (custom fields as ``cf.<key>``)."""
    return {f.key: f for f in _static_fields() + _custom_fields()}


def field_catalogue() -> list[dict]:
    """The fields for the editor and the API: key, label, type, operators, window, extras."""
    out = []
    for spec in fields().values():
        extras = {}
        for key, choices in spec.extras.items():
            extras[key] = choices() if callable(choices) else None
        out.append(
            {
                "key": spec.key,
                "label": str(spec.label),
                "group": spec.group,
                "type": spec.type,
                "ops": list(spec.allowed_ops()),
                "window": spec.window,
                "extras": extras,
                "choices": spec.choices() if spec.choices else None,
            }
        )
    return out


# -- validation ---------------------------------------------------------------------------


def _number(raw, path: str, errors: Errors):
    if isinstance(raw, bool):
        errors.add(path, _("Give a number, not %(v)s.") % {"v": raw})
        return None
    try:
        return Decimal(str(raw))
    except (InvalidOperation, ValueError):
        errors.add(path, _("“%(v)s” is not a number.") % {"v": raw})
        return None


def _date(raw, path: str, errors: Errors, today: dt.date):
    text = str(raw).strip()
    m = RELATIVE_DAY.match(text)
    if m:
        return today - dt.timedelta(days=int(m.group(2) or 0))
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        errors.add(
            path,
            _("“%(v)s” is not a date: use YYYY-MM-DD, “today” or “-30d”.") % {"v": raw},
        )
        return None


def _scalar(spec: FieldSpec, raw, path: str, errors: Errors, today: dt.date, choices):
    if spec.type == "number":
        return _number(raw, path, errors)
    if spec.type == "date":
        return _date(raw, path, errors, today)
    if spec.key in ("owner", "team", "segment"):
        return _reference(spec, raw, path, errors)
    if not isinstance(raw, (str, int, float)) or isinstance(raw, bool):
        errors.add(path, _("Give a text value."))
        return None
    text = str(raw).strip()
    if choices is not None and text not in choices:
        errors.add(
            path,
            _("“%(v)s” is not one of: %(choices)s.")
            % {"v": raw, "choices": ", ".join(sorted(choices))},
        )
        return None
    if len(text) > 200:
        errors.add(path, _("At most %(n)d characters.") % {"n": 200})
    return text


def _reference(spec: FieldSpec, raw, path: str, errors: Errors):
    """An owner (user id or username), a team (id or name) or a segment (id or name)."""
    from .selectors import reference_id

    found = reference_id(spec.key, raw)
    if found is None:
        errors.add(path, _("No %(what)s “%(v)s”.") % {"what": spec.label, "v": raw})
    return found


def _clean_condition(node: dict, path: str, errors: Errors, catalogue, today, self_id):
    known = catalogue.get(node.get("field")) if isinstance(node.get("field"), str) else None
    if known is None:
        errors.add(f"{path}.field", _("Unknown field “%(f)s”.") % {"f": node.get("field")})
        return None
    spec = known
    op = node.get("op")
    if op not in spec.allowed_ops():
        if op in OPS:
            msg = _("The operator “%(op)s” does not apply to %(field)s; use one of: %(ops)s.")
        else:
            msg = _("Unknown operator “%(op)s”; use one of: %(ops)s.")
        errors.add(
            f"{path}.op",
            msg % {"op": op, "field": spec.key, "ops": ", ".join(spec.allowed_ops())},
        )
        return None
    allowed = {"field", "op", "value"}
    if spec.window:
        allowed.add("days")
    allowed |= set(spec.extras)
    for key in node:
        if key not in allowed:
            errors.add(
                f"{path}.{key}",
                _("%(field)s takes no “%(key)s”.") % {"field": spec.key, "key": key},
            )
    out = {"field": spec.key, "op": op}
    if "days" in node and spec.window:
        days = node["days"]
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
            errors.add(
                f"{path}.days", _("Give a whole number of days from 1 to %(n)d.") % {"n": MAX_DAYS}
            )
        else:
            out["days"] = days
    for key, choices in spec.extras.items():
        if key not in node or node[key] in (None, ""):
            continue
        if choices == "days":
            raw = node[key]
            if not isinstance(raw, int) or isinstance(raw, bool) or not 1 <= raw <= MAX_DAYS:
                errors.add(f"{path}.{key}", _("Give a whole number of days."))
            else:
                out[key] = raw
            continue
        options = {v for v, _label in choices()}
        free_kind = key == "kind" and isinstance(node[key], str)
        free_kind = free_kind and re.fullmatch(r"[a-z_]{1,40}", node[key])
        bad = not isinstance(node[key], str) or (options and node[key] not in options)
        if bad and not free_kind:
            errors.add(
                f"{path}.{key}",
                _("“%(v)s” is not one of: %(choices)s.")
                % {"v": node[key], "choices": ", ".join(sorted(options))},
            )
            continue
        out[key] = node[key]
    raw = node.get("value", True if op == "is_set" else None)
    vpath = f"{path}.value"
    if op == "is_set":
        if not isinstance(raw, bool):
            errors.add(vpath, _("is_set takes true or false."))
            return None
        out["value"] = raw
        return out
    choices = None
    if spec.choices and spec.key not in ("owner", "team"):
        choices = {v for v, _label in spec.choices()}
    if op in ("in", "not_in") or spec.type == "set":
        items = raw if isinstance(raw, list) else [raw] if raw not in (None, "") else []
        if not items:
            errors.add(vpath, _("Give at least one value."))
            return None
        if len(items) > 1000:
            errors.add(vpath, _("At most %(n)d values.") % {"n": 1000})
            return None
        if spec.key == "tags":
            value = [str(i).strip() for i in items]
        else:
            value = [_scalar(spec, i, vpath, errors, today, choices) for i in items]
        if spec.key == "segment" and self_id is not None and self_id in value:
            errors.add(vpath, _("A segment cannot refer to itself."))
        out["value"] = value
        return out
    if op == "between":
        if not isinstance(raw, list) or len(raw) != 2:
            errors.add(vpath, _("between takes two values: [low, high]."))
            return None
        lo, hi = (_scalar(spec, i, vpath, errors, today, choices) for i in raw)
        if lo is not None and hi is not None and lo > hi:
            errors.add(vpath, _("The low end is above the high end."))
        out["value"] = [lo, hi]
        return out
    if raw is None or raw == "":
        errors.add(vpath, _("Give a value."))
        return None
    out["value"] = _scalar(spec, raw, vpath, errors, today, choices)
    if (
        spec.key
        in (
            "orders.days_since_last",
            "interactions.days_since_last",
            "events.days_since_last",
            "birthday_month",
        )
        and out["value"] is not None
    ):
        out["value"] = int(out["value"])
    return out


def _clean(node, path: str, errors: Errors, catalogue, today, depth: int, count: list, self_id):
    if depth > MAX_DEPTH:
        errors.add(path, _("Groups nest at most %(n)d deep.") % {"n": MAX_DEPTH})
        return None
    if not isinstance(node, dict):
        errors.add(path, _("Give a group or a condition (a JSON object)."))
        return None
    groups = [k for k in ("all", "any", "not") if k in node]
    if groups:
        if len(node) != 1:
            errors.add(path, _("A group has exactly one key: all, any or not."))
            return None
        key = groups[0]
        if key == "not":
            inner = _clean(
                node["not"], f"{path}.not", errors, catalogue, today, depth + 1, count, self_id
            )
            return {"not": inner}
        items = node[key]
        if not isinstance(items, list):
            errors.add(f"{path}.{key}", _("Give a list of groups or conditions."))
            return None
        return {
            key: [
                _clean(
                    item, f"{path}.{key}[{i}]", errors, catalogue, today, depth + 1, count, self_id
                )
                for i, item in enumerate(items)
            ]
        }
    if "field" not in node:
        errors.add(path, _("Give a group (all, any, not) or a condition (field, op, value)."))
        return None
    count[0] += 1
    if count[0] > MAX_CONDITIONS:
        if count[0] == MAX_CONDITIONS + 1:
            errors.add(path, _("At most %(n)d conditions.") % {"n": MAX_CONDITIONS})
        return None
    return _clean_condition(node, path, errors, catalogue, today, self_id)


def _jsonable(node):
    if isinstance(node, dict):
        return {k: _jsonable(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_jsonable(v) for v in node]
    if isinstance(node, Decimal):
        return int(node) if node == node.to_integral_value() else float(node)
    if isinstance(node, dt.date):
        return node.isoformat()
    return node


def validate(definition, *, path: str = "definition", self_id: int | None = None) -> dict:
    """The definition as stored (values normalised); ValidationFailed names every problem
    by its place, e.g. ``definition.all[1].field: Unknown field “colour”.``"""
    errors = Errors()
    if definition in (None, {}):
        return {"all": []}
    cleaned = _clean(definition, path, errors, fields(), timezone.localdate(), 0, [0], self_id)
    errors.raise_if_any()
    # Relative dates ("-30d") are kept as written so the segment moves with time.
    return _keep_relative(definition, _jsonable(cleaned))


def _keep_relative(raw, cleaned):
    if isinstance(cleaned, dict) and isinstance(raw, dict):
        out = {}
        for k, v in cleaned.items():
            if k == "value" and _is_relative(raw.get("value")):
                out[k] = raw["value"]
            else:
                out[k] = _keep_relative(raw.get(k), v)
        return out
    if isinstance(cleaned, list) and isinstance(raw, list):
        return [_keep_relative(r, c) for r, c in zip(raw, cleaned, strict=False)]
    return cleaned


def _is_relative(value) -> bool:
    if isinstance(value, str):
        return bool(RELATIVE_DAY.match(value.strip()))
    if isinstance(value, list):
        return any(_is_relative(v) for v in value)
    return False


# -- compilation --------------------------------------------------------------------------


def _typed(spec: FieldSpec, value, today: dt.date):
    """A stored value back in the type the query needs (numbers as Decimal, dates as date)."""
    if isinstance(value, list):
        return [_typed(spec, v, today) for v in value]
    if spec.type == "number" and not isinstance(value, bool):
        if spec.key in ("owner", "team", "segment") or value is None:
            return value
        return Decimal(str(value)) if not isinstance(value, int) else value
    if spec.type == "date" and isinstance(value, str):
        m = RELATIVE_DAY.match(value)
        if m:
            return today - dt.timedelta(days=int(m.group(2) or 0))
        return dt.date.fromisoformat(value)
    return value


def compile_definition(definition: dict, ctx: Context, *, catalogue=None) -> Q:
    """The customers a stored (validated) definition selects, as one Q."""
    catalogue = catalogue or fields()
    today = timezone.localdate(ctx.now)

    def walk(node) -> Q:
        if "all" in node:
            q = EVERYONE
            for item in node["all"]:
                q &= walk(item)
            return q
        if "any" in node:
            q = NOBODY
            for item in node["any"]:
                q |= walk(item)
            return q
        if "not" in node:
            return ~walk(node["not"])
        spec = catalogue.get(node["field"])
        if spec is None:  # a custom field deleted since: matches nobody
            return NOBODY
        cond = dict(node)
        if cond["op"] != "is_set":
            cond["value"] = _typed(spec, cond["value"], today)
        return spec.build(spec, cond, ctx)

    return walk(definition or {"all": []})


def depends_on(definition: dict) -> list[str]:
    """What data the definition reads (customer, orders, value …), for event-driven refresh."""
    catalogue = fields()
    found: set[str] = set()

    def walk(node):
        if not isinstance(node, dict):
            return
        for key in ("all", "any"):
            for item in node.get(key, ()):
                walk(item)
        if "not" in node:
            walk(node["not"])
        spec = catalogue.get(node.get("field"))
        if spec is not None:
            found.add(spec.depends)
            if (
                spec.window
                or spec.key.endswith("days_since_last")
                or spec.datetime_column
                or isinstance(node.get("value"), str)
                and _is_relative(node["value"])
            ):
                found.add("time")

    walk(definition)
    return sorted(found)


def describe(definition: dict) -> str:
    """The definition in words, for people: ``Number of orders ≥ 2 (last 90 days)``."""
    catalogue = fields()

    def value_text(spec, value):
        if isinstance(value, list):
            return "[" + ", ".join(value_text(spec, v) for v in value) + "]"
        if spec.choices and spec.key not in ("owner", "team"):
            labels = dict(spec.choices())
            return str(labels.get(str(value), value))
        return str(value)

    def walk(node, top=False) -> str:
        if "all" in node or "any" in node:
            key = "all" if "all" in node else "any"
            parts = [walk(i) for i in node[key]]
            if not parts:
                return _("everyone") if key == "all" else _("nobody")
            joiner = _(" and ") if key == "all" else _(" or ")
            text = joiner.join(parts)
            return text if top or len(parts) == 1 else f"({text})"
        if "not" in node:
            return _("not %(x)s") % {"x": walk(node["not"])}
        spec = catalogue.get(node["field"])
        label = str(spec.label) if spec else node["field"]
        op = node["op"]
        if op == "is_set":
            text = (_("%(f)s is set") if node.get("value", True) else _("%(f)s is not set")) % {
                "f": label
            }
        else:
            shown = value_text(spec, node["value"]) if spec else str(node["value"])
            text = f"{label} {OP_SIGNS[op]} {shown}"
        extras = [f"{k}={node[k]}" for k in node if k not in ("field", "op", "value", "days")]
        if node.get("days"):
            extras.insert(0, _("last %(n)d days") % {"n": node["days"]})
        return text + (f" ({', '.join(extras)})" if extras else "")

    return walk(definition or {"all": []}, top=True)


__all__ = [
    "Context",
    "FieldSpec",
    "compile_definition",
    "depends_on",
    "describe",
    "field_catalogue",
    "fields",
    "validate",
]
