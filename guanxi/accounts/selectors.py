"""Reads for users and the audit log."""

from django.db.models import QuerySet

from . import access
from .models import AuditEntry, User


def user_list(*, actor) -> QuerySet[User]:
    """Users an actor may look up: everyone active, for choosing owners and assignees."""
    if access.role_of(actor) is None:
        return User.objects.none()
    qs = User.objects.select_related("team").order_by("username")
    return qs if access.is_admin(actor) else qs.filter(is_active=True)


def assignable_owners(*, actor) -> QuerySet[User]:
    return User.objects.filter(access.assignable_owner_q(actor)).order_by("username")


def audit_for_customer(*, actor, customer_id: int, limit: int = 50) -> list[AuditEntry]:
    """Audit entries about one customer and its records (the caller has checked visibility)."""
    return list(AuditEntry.objects.filter(customer_id=customer_id).select_related("actor")[:limit])


def audit_list(*, actor) -> QuerySet[AuditEntry]:
    if not access.can(actor, "audit.read_all"):
        return AuditEntry.objects.none()
    return AuditEntry.objects.select_related("actor")


def token_list(*, actor):
    """API tokens the actor may see: their own; admins see everyone's."""
    from .models import ApiToken

    if access.role_of(actor) is None:
        return ApiToken.objects.none()
    qs = ApiToken.objects.select_related("user")
    return qs if access.is_admin(actor) else qs.filter(user=actor)
