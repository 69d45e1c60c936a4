"""Texts the zh_Hans catalogue already translates, so tests can check both languages."""

from django.utils.translation import gettext_noop

TITLE = gettext_noop("Reminder: %(title)s")  # 提醒：%(title)s
BODY = gettext_noop("Task: %(title)s\nCustomer: %(customer)s\nDue: %(due)s")
PARAMS = {"title": "回访张三", "customer": "张三", "due": "2026-12-01 10:00"}


def with_email(user, address):
    user.email = address
    user.save(update_fields=["email"])
    return user
