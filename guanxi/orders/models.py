from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import TimestampedModel

from .choices import OrderStatus, SalesChannel


class Product(TimestampedModel):
    sku = models.CharField(_("SKU"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=100, blank=True, db_index=True)
    unit_price = models.DecimalField(
        _("list price"), max_digits=12, decimal_places=2, default=Decimal("0")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.sku})"


class Order(TimestampedModel):
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="orders",
    )
    number = models.CharField(_("order number"), max_length=64, unique=True)
    ordered_at = models.DateTimeField(_("ordered at"), db_index=True)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=OrderStatus.choices,
        default=OrderStatus.PAID,
        db_index=True,
    )
    channel = models.CharField(
        _("channel"), max_length=12, choices=SalesChannel.choices, default=SalesChannel.ONLINE
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2, default=Decimal("0"))
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-ordered_at", "-id"]
        indexes = [
            # A customer's orders newest first, and (covering status and total) every
            # customer's order figures read in customer order, with no sort.
            models.Index(
                fields=["customer", "-ordered_at", "status", "total"], name="order_customer_cover"
            ),
            # Covers the aggregates of segments over a time window (who ordered, how often,
            # for how much) without reading the table.
            models.Index(
                fields=["ordered_at", "status", "customer", "total"], name="order_at_cover"
            ),
        ]

    def __str__(self):
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        Product,
        verbose_name=_("product"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    product_name = models.CharField(_("product"), max_length=200)
    category = models.CharField(_("category"), max_length=100, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)
    discount = models.DecimalField(
        _("discount"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        help_text=_("Amount taken off this line."),
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["id"]

    def __str__(self):
        return f"{self.product_name} × {self.quantity}"


class Purchases(models.Model):
    """What a customer has bought, derived from the orders and kept with them
    (`orders.services.purchases_refresh`, in the transaction of every order write): the
    first and last time an order counting as revenue held it, and how many such orders."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    first_at = models.DateTimeField(_("first bought"))
    last_at = models.DateTimeField(_("last bought"))
    orders = models.PositiveIntegerField(_("orders"))

    class Meta:
        abstract = True


class CustomerCategory(Purchases):
    """By category, so "bought tea in the last 180 days" is one index range, not a read of
    the order lines."""

    category = models.CharField(_("category"), max_length=100)

    class Meta:
        verbose_name = _("category bought")
        verbose_name_plural = _("categories bought")
        constraints = [
            models.UniqueConstraint(fields=["customer", "category"], name="customer_category_uniq")
        ]
        indexes = [
            # Who bought a category since a time, answered from the index alone.
            models.Index(fields=["category", "last_at", "customer"], name="category_last_cover"),
        ]

    def __str__(self):
        return f"{self.customer_id}: {self.category}"


class CustomerProduct(Purchases):
    """By product (its name on the line and its SKU), so "bought TEA-004 in the last year"
    is one index range."""

    product_name = models.CharField(_("product"), max_length=200)
    sku = models.CharField(_("SKU"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("product bought")
        verbose_name_plural = _("products bought")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "product_name", "sku"], name="customer_product_uniq"
            )
        ]
        indexes = [
            models.Index(fields=["sku", "last_at", "customer"], name="product_sku_last_cover"),
            models.Index(
                fields=["product_name", "last_at", "customer"], name="product_name_last_cover"
            ),
        ]

    def __str__(self):
        return f"{self.customer_id}: {self.product_name}"
