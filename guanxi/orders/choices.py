from django.db import models
from django.utils.translation import gettext_lazy as _


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PAID = "paid", _("Paid")
    SHIPPED = "shipped", _("Shipped")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    REFUNDED = "refunded", _("Refunded")


# Orders in these states count as revenue.
REVENUE_STATUSES = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED)


class SalesChannel(models.TextChoices):
    ONLINE = "online", _("Online shop")
    STORE = "store", _("Physical store")
    PHONE = "phone", _("Phone")
    WECHAT = "wechat", _("WeChat")
    MARKETPLACE = "marketplace", _("Marketplace")
    SALES = "sales", _("Direct sales")
    OTHER = "other", _("Other")
