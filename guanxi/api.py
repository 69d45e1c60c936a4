"""The REST API under /api/v1/: one NinjaAPI, one router per app."""

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Router
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer, django_auth

from guanxi.accounts.api import router as accounts_router
from guanxi.accounts.services import token_authenticate
from guanxi.analytics.api import router as analytics_router
from guanxi.core.errors import GuanxiError
from guanxi.customers.api import router as customers_router
from guanxi.customers.merge_api import router as duplicates_router
from guanxi.events.api import router as events_router
from guanxi.imports.api import router as imports_router
from guanxi.interactions.api import router as interactions_router
from guanxi.loyalty.api import router as loyalty_router
from guanxi.notifications.api import router as notifications_router
from guanxi.orders.api import router as orders_router
from guanxi.segments.api import router as segments_router


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        user = token_authenticate(plain=token)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="Guanxi API",
    version="1",
    description="Customers, contacts, interactions, orders and tasks of the Guanxi CRM. "
    "Authenticate with `Authorization: Bearer <token>` (create one with "
    "`guanxi token create USERNAME` or on your user page).",
    auth=[BearerToken(), django_auth],
    urls_namespace="api",
)


@api.exception_handler(GuanxiError)
def guanxi_error(request, exc: GuanxiError):
    return api.create_response(request, exc.as_dict(), status=exc.status)


def _loc_to_field(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload", "filters")]
    out = ""
    for p in parts:
        out += f"[{p}]" if p.isdigit() else (f".{p}" if out else p)
    return out or "__all__"


@api.exception_handler(NinjaValidationError)
def validation_error(request, exc: NinjaValidationError):
    errors: dict[str, list[str]] = {}
    for err in exc.errors:
        field = _loc_to_field(err.get("loc", ()))
        msg = err.get("msg", "")
        if err.get("type") == "extra_forbidden":
            msg = _("This field cannot be set.")
        errors.setdefault(field, []).append(msg)
    first = next(iter(errors.items()), ("__all__", [_("Invalid request.")]))
    return api.create_response(
        request, {"detail": f"{first[0]}: {first[1][0]}", "errors": errors}, status=422
    )


@api.exception_handler(AuthenticationError)
def auth_error(request, exc):
    return api.create_response(
        request,
        {"detail": _("Authentication required: send a valid bearer token."), "errors": {}},
        status=401,
    )


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    return api.create_response(request, {"detail": str(exc), "errors": {}}, status=exc.status_code)


@api.exception_handler(Http404)
def not_found(request, exc):
    return api.create_response(request, {"detail": _("Not found."), "errors": {}}, status=404)


api.add_router("/", customers_router)
api.add_router("/", interactions_router)
api.add_router("/", orders_router)
api.add_router("/", accounts_router)
api.add_router("/", imports_router)
api.add_router("/", duplicates_router)
api.add_router("/", events_router)
api.add_router("/", analytics_router)
api.add_router("/", segments_router)
api.add_router("/", notifications_router)
api.add_router("/", loyalty_router)


# Added last, so that it only catches what no endpoint above matched.
fallback_router = Router()


@fallback_router.api_operation(
    ["GET", "POST", "PUT", "PATCH", "DELETE"], "/{path:rest}", auth=None, include_in_schema=False
)
def unknown_endpoint(request, rest: str):
    """Anything else under /api/v1/ answers a JSON 404, like the endpoints do."""
    raise Http404


api.add_router("/", fallback_router)
