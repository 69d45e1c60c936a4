"""Whom a batch command acts as: `--as USERNAME`, or the first admin."""

from django.utils.translation import gettext as _

from guanxi.accounts.models import User
from guanxi.accounts.services import user_get
from guanxi.core.errors import NotFound


def acting_user(username: str = "") -> User:
    """The user named, or else the oldest active admin; their access rules apply."""
    if username:
        try:
            return user_get(username=username)
        except NotFound as e:
            raise NotFound(errors={"as": [e.message]}) from e
    admin = (
        User.objects.filter(is_active=True)
        .filter(role="admin")
        .order_by("date_joined", "pk")
        .first()
    ) or User.objects.filter(is_active=True, is_superuser=True).order_by("pk").first()
    if admin is None:
        raise NotFound(
            errors={"as": [_("There is no admin yet; create one or name a user with --as.")]}
        )
    return admin
