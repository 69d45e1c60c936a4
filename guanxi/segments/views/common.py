"""What the segments pages share: the admin context and errors shown as messages."""

from django.contrib import messages

from guanxi.core.errors import GuanxiError


def context(request, model_admin, **extra) -> dict:
    request.current_app = model_admin.admin_site.name
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        **extra,
    }


def error_messages(request, error: GuanxiError) -> None:
    for field, errors in (error.errors or {"__all__": [error.message]}).items():
        for text in errors:
            messages.error(request, text if field == "__all__" else f"{field}: {text}")
