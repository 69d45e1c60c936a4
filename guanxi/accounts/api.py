"""Users (admins), the current user, and one's own API tokens."""

from django.utils.translation import gettext as _
from ninja import Router, Status

from guanxi.core.api import ERRORS, READ_ERRORS, Id
from guanxi.core.errors import NotFound

from . import access, selectors, services
from .models import ApiToken
from .schemas import TokenCreatedOut, TokenIn, TokenOut, UserIn, UserOut, UserPatch

router = Router(tags=["users"])


@router.get("/me", response={200: UserOut, **READ_ERRORS})
def me(request):
    return request.user


@router.get("/users", response={200: list[UserOut], **READ_ERRORS})
def list_users(request):
    """All users (admins) or the active ones (everyone else, to pick owners and assignees)."""
    return list(selectors.user_list(actor=request.user)[:1000])


@router.post("/users", response={201: UserOut, **ERRORS})
def create_user(request, payload: UserIn):
    access.require(request.user, "user.manage")
    team = services.team_get_or_create(name=payload.team) if payload.team else None
    return Status(
        201,
        services.user_create(
            actor=request.user,
            username=payload.username,
            role=payload.role,
            password=payload.password,
            email=payload.email,
            display_name=payload.display_name,
            team=team,
        ),
    )


@router.patch("/users/{int:user_id}", response={200: UserOut, **ERRORS})
def update_user(request, user_id: Id, payload: UserPatch):
    access.require(request.user, "user.manage")
    user = selectors.user_list(actor=request.user).filter(pk=user_id).first()
    if user is None:
        raise NotFound(_("User not found."))
    data = payload.dict(exclude_unset=True)
    if "team" in data:
        data["team"] = services.team_get_or_create(name=data["team"]) if data["team"] else None
    return services.user_update(actor=request.user, user=user, **data)


@router.get("/tokens", response={200: list[TokenOut], **READ_ERRORS})
def list_tokens(request):
    """Your API tokens (the secret itself is shown only when created)."""
    return list(ApiToken.objects.filter(user=request.user))


@router.post("/tokens", response={201: TokenCreatedOut, **ERRORS})
def create_token(request, payload: TokenIn):
    token, plain = services.token_create(actor=request.user, user=request.user, name=payload.name)
    token.token = plain
    return Status(201, token)


@router.delete("/tokens/{int:token_id}", response={204: None, **ERRORS})
def revoke_token(request, token_id: Id):
    from django.http import HttpResponse

    token = ApiToken.objects.filter(pk=token_id, user=request.user).first()
    if token is None:
        raise NotFound(_("Token not found."))
    services.token_revoke(actor=request.user, token=token)
    return HttpResponse(status=204)
