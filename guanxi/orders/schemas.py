from datetime import date, datetime
from decimal import Decimal

from ninja import Field, Schema

from guanxi.core.api import Id, PageOut, QueryIn, StrictIn, When

from .choices import OrderStatus


class OrderLineIn(StrictIn):
    sku: str | None = Field(None, max_length=64)
    product_name: str = Field("", max_length=200)
    category: str = Field("", max_length=100)
    quantity: Decimal = Field(Decimal("1"), gt=0, lt=Decimal("1e9"), decimal_places=3)
    unit_price: Decimal | None = Field(None, ge=0, lt=Decimal("1e10"), decimal_places=2)
    discount: Decimal = Field(Decimal("0"), ge=0, lt=Decimal("1e10"), decimal_places=2)


class OrderIn(StrictIn):
    customer: Id
    number: str = Field(..., max_length=64)
    ordered_at: When | None = None
    status: str = "paid"
    channel: str = "online"
    currency: str = Field("CNY", max_length=3)
    notes: str = ""
    lines: list[OrderLineIn] = Field(..., min_length=1, max_length=1000)
    coupon: str | None = Field(
        None, max_length=20, description="A loyalty coupon code of this customer's, used once."
    )


class OrderPatch(StrictIn):
    number: str | None = Field(None, max_length=64)
    ordered_at: When | None = None
    status: str | None = None
    channel: str | None = None
    currency: str | None = Field(None, max_length=3)
    notes: str | None = None
    lines: list[OrderLineIn] | None = Field(None, min_length=1, max_length=1000)


class OrderLineOut(Schema):
    id: int
    product_name: str
    sku: str | None = None
    category: str
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal
    amount: Decimal

    @staticmethod
    def resolve_sku(obj):
        return obj.product.sku if obj.product_id else None


class OrderOut(Schema):
    id: int
    customer: int = Field(..., alias="customer_id")
    number: str
    ordered_at: datetime
    status: str
    channel: str
    currency: str
    total: Decimal
    notes: str
    lines: list[OrderLineOut]
    created_at: datetime

    @staticmethod
    def resolve_lines(obj):
        return list(obj.lines.all())


class OrderPage(PageOut):
    items: list[OrderOut]


class OrderFilters(QueryIn):
    customer: Id | None = None
    status: OrderStatus | None = None
    ordered_after: date | None = None
    ordered_before: date | None = None
