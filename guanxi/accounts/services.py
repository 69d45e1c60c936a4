"""Writes for users, roles, grants and API tokens."""

import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core.errors import Conflict, NotFound, PermissionDenied, field_error

from . import access
from .audit import audit_record, diff
from .choices import AuditAction, Role
from .models import AccessGrant, ApiToken, Team, User

USER_FIELDS = ("username", "email", "display_name", "role", "team_id", "is_active")


def _snapshot(user: User) -> dict:
    return {f: getattr(user, f) for f in USER_FIELDS}


def user_create(
    *,
    actor,
    username: str,
    role: str,
    password: str | None = None,
    email: str = "",
    display_name: str = "",
    team: Team | None = None,
    check_password: bool = True,
) -> User:
    """Create a user with a role; `actor=None` is the operator at the command line."""
    if actor is not None:
        access.require(actor, "user.manage")
    username = (username or "").strip()
    if not username:
        raise field_error("username", _("This field is required."))
    if role not in Role.values:
        raise field_error(
            "role",
            _("Unknown role “%(role)s”; use one of: %(roles)s.")
            % {"role": role, "roles": ", ".join(Role.values)},
        )
    if len(username) > 150:
        raise field_error("username", _("At most %(n)d characters.") % {"n": 150})
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(errors={"username": [_("A user with this username already exists.")]})
    user = User(
        username=username,
        role=role,
        email=_clean_email(email),
        display_name=_clean_display_name(display_name),
        team=team,
        is_staff=True,
        is_superuser=role == Role.ADMIN,
    )
    if password:
        if check_password:
            try:
                validate_password(password, user)
            except ValidationError as e:
                raise field_error("password", " ".join(e.messages)) from e
        user.set_password(password)
    else:
        user.set_unusable_password()
    with transaction.atomic():
        user.save()
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            instance=user,
            changes={k: [None, v] for k, v in _snapshot(user).items()},
        )
    return user


def _clean_email(value) -> str:
    email = (value or "").strip().lower()
    if email:
        try:
            validate_email(email)
        except ValidationError as e:
            raise field_error("email", _("Enter a valid email address.")) from e
        if len(email) > 254:
            raise field_error("email", _("At most %(n)d characters.") % {"n": 254})
    return email


def _clean_display_name(value) -> str:
    name = (value or "").strip()
    if len(name) > 100:
        raise field_error("display_name", _("At most %(n)d characters.") % {"n": 100})
    return name


def user_update(*, actor, user: User, **fields) -> User:
    """Change a user's role, team, names or active flag."""
    access.require(actor, "user.manage")
    locks_self_out = (
        fields.get("is_active") is False or fields.get("role", Role.ADMIN) != Role.ADMIN
    )
    if actor is not None and actor.pk == user.pk and locks_self_out:
        raise PermissionDenied(_("You cannot deactivate yourself or give up your own admin role."))
    before = _snapshot(user)
    for name, value in fields.items():
        if name not in ("email", "display_name", "role", "team", "is_active"):
            raise field_error(name, _("This field cannot be changed here."))
        if name == "role" and value not in Role.values:
            raise field_error("role", _("Unknown role."))
        if name == "is_active" and not isinstance(value, bool):
            raise field_error("is_active", _("Give true or false."))
        if name == "email":
            value = _clean_email(value)
        if name == "display_name":
            value = _clean_display_name(value)
        setattr(user, name, value)
    user.is_superuser = user.role == Role.ADMIN
    with transaction.atomic():
        user.save()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            instance=user,
            changes=diff(before, _snapshot(user)),
        )
    return user


def team_get_or_create(*, name: str) -> Team:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise field_error("team", _("A team name has 1 to %(n)d characters.") % {"n": 100})
    team, _created = Team.objects.get_or_create(name=name)
    return team


def grant_create(*, actor, grantee: User, owner: User, can_edit: bool = False) -> AccessGrant:
    """Let `grantee` see (and, with can_edit, work on) the customers `owner` owns."""
    if not (
        access.is_admin(actor)
        or actor.pk == owner.pk
        or (access.role_of(actor) == Role.MANAGER and owner.team_id == actor.team_id)
    ):
        access.require(actor, "user.manage")
    grant, _created = AccessGrant.objects.update_or_create(
        grantee=grantee, owner=owner, defaults={"can_edit": can_edit}
    )
    audit_record(actor=actor, action=AuditAction.CREATE, instance=grant)
    return grant


def token_create(*, actor, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Issue a bearer token for `user`; the plain token is returned once and never stored."""
    if actor is not None and actor.pk != user.pk:
        access.require(actor, "user.manage")
    plain = "gx_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=plain[:10], digest=ApiToken.hash(plain)
    )
    audit_record(actor=actor, action=AuditAction.CREATE, instance=token)
    return token, plain


def token_revoke(*, actor, token: ApiToken) -> ApiToken:
    if actor is not None and actor.pk != token.user_id:
        access.require(actor, "user.manage")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            instance=token,
            changes={"revoked_at": [None, token.revoked_at]},
        )
    return token


def token_authenticate(*, plain: str) -> User | None:
    """The active user a bearer token belongs to, or None."""
    try:
        token = ApiToken.objects.select_related("user").get(
            digest=ApiToken.hash(plain), revoked_at__isnull=True
        )
    except ApiToken.DoesNotExist:
        return None
    if not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def user_get(*, username: str) -> User:
    try:
        return User.objects.get(username=username)
    except User.DoesNotExist as e:
        raise NotFound(_("No user named “%(name)s”.") % {"name": username}) from e
