from django.db import models
from django.utils.translation import gettext_lazy as _


class EventChannel(models.TextChoices):
    """Where an event comes from; a channel's ids of a person are kept per channel."""

    WEB_SHOP = "web_shop", _("Web shop")
    STORE = "store", _("Physical store")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    WEIBO = "weibo", _("Weibo")
    DOUYIN = "douyin", _("Douyin")
    APP = "app", _("App")
    OTHER = "other", _("Other")


class EventKind(models.TextChoices):
    """The common kinds; others are accepted as given (lower-case words)."""

    PAGE_VIEW = "page_view", _("Page view")
    EMAIL_OPEN = "email_open", _("Email opened")
    EMAIL_CLICK = "email_click", _("Email link clicked")
    STORE_VISIT = "store_visit", _("Store visit")
    PURCHASE = "purchase", _("Purchase")
    CART_ADD = "cart_add", _("Added to cart")
    SIGN_UP = "sign_up", _("Signed up")
    FOLLOW = "follow", _("Followed")
    UNFOLLOW = "unfollow", _("Unfollowed")
    MESSAGE = "message", _("Message")
    UNSUBSCRIBE = "unsubscribe", _("Unsubscribed")


# Where a lead created from an event says it came from.
CHANNEL_SOURCE = {
    "web_shop": "web",
    "store": "store",
    "email": "other",
    "sms": "other",
    "wechat": "social",
    "weibo": "social",
    "douyin": "social",
    "app": "web",
    "other": "other",
}
