"""Who may see and do what: the one place access rules live.

Every selector scopes its queryset through `scope_by_owner` (or a helper built on it) and
every service checks the actor through the `require_*` functions. The role matrix below is
what docs/architecture.md shows; change them together.

Record visibility follows customer ownership:
- admin, agent, marketer: every customer;
- manager: customers owned by members of their team (and by themselves), and unowned ones;
- rep: customers they own, and those of colleagues who granted them access.
Records that hang off a customer (contacts, addresses, interactions, orders, tasks) are
visible exactly when their customer is. A record the actor may not see is reported as
absent (404), never as forbidden, so ids cannot be probed.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from guanxi.core.errors import NotFound, PermissionDenied

from .choices import Role

SEES_ALL = {Role.ADMIN, Role.AGENT, Role.MARKETER}

# What each role may do, beyond seeing. "scope" means: on records in the actor's edit scope.
MATRIX: dict[str, dict[str, str | bool]] = {
    # action                    admin   manager  rep      agent    marketer
    "customer.create": {
        Role.ADMIN: True,
        Role.MANAGER: True,
        Role.REP: True,
        Role.AGENT: False,
        Role.MARKETER: False,
    },
    "customer.edit": {
        Role.ADMIN: True,
        Role.MANAGER: "scope",
        Role.REP: "scope",
        Role.AGENT: False,
        Role.MARKETER: False,
    },
    "customer.delete": {
        Role.ADMIN: True,
        Role.MANAGER: "scope",
        Role.REP: False,
        Role.AGENT: False,
        Role.MARKETER: False,
    },
    # Deciding on a request to end a relationship (关系终止); asking is "customer.edit".
    "customer.terminate_approve": {
        Role.ADMIN: True,
        Role.MANAGER: "scope",
        Role.REP: False,
        Role.AGENT: False,
        Role.MARKETER: False,
    },
    "customer.assign_owner": {
        Role.ADMIN: True,
        Role.MANAGER: "scope",
        Role.REP: False,
        Role.AGENT: False,
        Role.MARKETER: False,
    },
    "customer.tag": {
        Role.ADMIN: True,
        Role.MANAGER: "scope",
        Role.REP: "scope",
        Role.AGENT: False,
        Role.MARKETER: True,
    },
    "customer.export_personal": {
        Role.ADMIN: True,
        Role.MANAGER: True,
        Role.REP: True,
        Role.AGENT: True,
        Role.MARKETER: False,
    },
    "interaction.log": {
        Role.ADMIN: True,
        Role.MANAGER: "scope",
        Role.REP: "scope",
        Role.AGENT: True,
        Role.MARKETER: False,
    },
    "order.write": {
        Role.ADMIN: True,
        Role.MANAGER: "scope",
        Role.REP: "scope",
        Role.AGENT: False,
        Role.MARKETER: False,
    },
    "task.write": {
        Role.ADMIN: True,
        Role.MANAGER: "scope",
        Role.REP: "scope",
        Role.AGENT: True,
        Role.MARKETER: True,
    },
    "task.assign_others": {
        Role.ADMIN: True,
        Role.MANAGER: True,
        Role.REP: False,
        Role.AGENT: False,
        Role.MARKETER: False,
    },
    "import.run": {
        Role.ADMIN: True,
        Role.MANAGER: True,
        Role.REP: False,
        Role.AGENT: False,
        Role.MARKETER: False,
    },
    "customer.merge": {
        Role.ADMIN: True,
        Role.MANAGER: "scope",
        Role.REP: False,
        Role.AGENT: False,
        Role.MARKETER: False,
    },
    "event.ingest": {
        Role.ADMIN: True,
        Role.MANAGER: False,
        Role.REP: False,
        Role.AGENT: False,
        Role.MARKETER: False,
    },
    "customfield.manage": {
        Role.ADMIN: True,
        Role.MANAGER: False,
        Role.REP: False,
        Role.AGENT: False,
        Role.MARKETER: False,
    },
    "user.manage": {
        Role.ADMIN: True,
        Role.MANAGER: False,
        Role.REP: False,
        Role.AGENT: False,
        Role.MARKETER: False,
    },
    "segment.manage": {
        Role.ADMIN: True,
        Role.MANAGER: True,
        Role.REP: False,
        Role.AGENT: False,
        Role.MARKETER: True,
    },
    "segment.configure": {
        Role.ADMIN: True,
        Role.MANAGER: False,
        Role.REP: False,
        Role.AGENT: False,
        Role.MARKETER: False,
    },
    "analytics.refresh": {
        Role.ADMIN: True,
        Role.MANAGER: True,
        Role.REP: False,
        Role.AGENT: False,
        Role.MARKETER: False,
    },
    "analytics.configure": {
        Role.ADMIN: True,
        Role.MANAGER: False,
        Role.REP: False,
        Role.AGENT: False,
        Role.MARKETER: False,
    },
    # Enrolling customers, redeeming points and rewards for them, attributing referrals.
    "loyalty.serve": {
        Role.ADMIN: True,
        Role.MANAGER: "scope",
        Role.REP: "scope",
        Role.AGENT: True,
        Role.MARKETER: True,
    },
    # Adding or taking points by hand (with a reason, audited).
    "loyalty.adjust": {
        Role.ADMIN: True,
        Role.MANAGER: False,
        Role.REP: False,
        Role.AGENT: False,
        Role.MARKETER: False,
    },
    # The program's settings, earning rules, tiers and rewards.
    "loyalty.manage": {
        Role.ADMIN: True,
        Role.MANAGER: False,
        Role.REP: False,
        Role.AGENT: False,
        Role.MARKETER: True,
    },
    "audit.read_all": {
        Role.ADMIN: True,
        Role.MANAGER: False,
        Role.REP: False,
        Role.AGENT: False,
        Role.MARKETER: False,
    },
}


def role_of(actor) -> str | None:
    if actor is None or not actor.is_authenticated or not actor.is_active:
        return None
    if actor.is_superuser:
        return Role.ADMIN
    return actor.role


def _owner_ids_granted(actor, *, edit: bool) -> list[int]:
    from .models import AccessGrant

    grants = AccessGrant.objects.filter(grantee=actor)
    if edit:
        grants = grants.filter(can_edit=True)
    return list(grants.values_list("owner_id", flat=True))


def _team_member_ids(actor) -> list[int]:
    from .models import User

    if actor.team_id is None:
        return [actor.pk]
    return list(User.objects.filter(team_id=actor.team_id).values_list("pk", flat=True))


def owner_q(actor, owner_path: str, *, edit: bool = False) -> Q:
    """A Q that keeps the rows whose owner (at `owner_path`) the actor may see or edit."""
    role = role_of(actor)
    if role is None:
        return Q(pk__in=[])
    if role == Role.ADMIN or (role in SEES_ALL and not edit):
        return Q()
    if role == Role.MANAGER:
        ids = _team_member_ids(actor)
        return Q(**{f"{owner_path}__in": ids}) | Q(**{f"{owner_path}__isnull": True})
    if role == Role.REP:
        ids = [actor.pk, *_owner_ids_granted(actor, edit=edit)]
        if len(ids) == 1:
            return Q(**{owner_path: actor.pk})
        return Q(**{f"{owner_path}__in": ids})
    return Q(pk__in=[])  # agents and marketers edit no customer record


def scope_by_owner(queryset: QuerySet, actor, *, owner_path: str = "owner") -> QuerySet:
    """Restrict a queryset to rows whose owner the actor may see."""
    q = owner_q(actor, owner_path)
    return queryset.filter(q) if q else queryset


def scope_customers(queryset: QuerySet, actor) -> QuerySet:
    return scope_by_owner(queryset, actor, owner_path="owner")


def scope_customer_children(queryset: QuerySet, actor, *, customer_path="customer") -> QuerySet:
    """Contacts, addresses, interactions, orders: visible when their customer is."""
    return scope_by_owner(queryset, actor, owner_path=f"{customer_path}__owner")


def can(actor, action: str, *, owner_id: int | None = None, record_owner_known=False) -> bool:
    """May the actor do `action`? For "scope" rules, pass the record's owner id."""
    role = role_of(actor)
    if role is None:
        return False
    rule = MATRIX[action].get(role, False)
    if rule is True or rule is False:
        return rule
    if not record_owner_known:
        return True  # the action is open to this role on records in its scope
    if role == Role.MANAGER:
        return owner_id is None or owner_id in _team_member_ids(actor)
    if role == Role.REP:
        return owner_id == actor.pk or owner_id in _owner_ids_granted(actor, edit=True)
    return False


def require(actor, action: str, *, owner_id: int | None = None, record_owner_known=False):
    if not can(actor, action, owner_id=owner_id, record_owner_known=record_owner_known):
        raise PermissionDenied(_("You do not have permission to do this."))


def require_on_customer(actor, action: str, customer) -> None:
    require(actor, action, owner_id=customer.owner_id, record_owner_known=True)


def can_see_owner(actor, owner_id: int | None) -> bool:
    role = role_of(actor)
    if role is None:
        return False
    if role in SEES_ALL:
        return True
    if role == Role.MANAGER:
        return owner_id is None or owner_id in _team_member_ids(actor)
    return owner_id == actor.pk or owner_id in _owner_ids_granted(actor, edit=False)


def require_visible(actor, owner_id: int | None) -> None:
    if not can_see_owner(actor, owner_id):
        raise NotFound(_("Not found."))


def assignable_owner_q(actor) -> Q:
    """Users the actor may make owner of a customer."""
    role = role_of(actor)
    if role == Role.ADMIN:
        return Q(is_active=True)
    if role == Role.MANAGER:
        return Q(is_active=True, pk__in=_team_member_ids(actor))
    if role == Role.REP:
        return Q(pk=actor.pk)
    return Q(pk__in=[])


def is_admin(actor) -> bool:
    return role_of(actor) == Role.ADMIN
