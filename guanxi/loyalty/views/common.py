"""What the loyalty pages share: the admin context and errors shown as messages."""

from django.contrib import messages

from guanxi.core.errors import GuanxiError


def context(request, model_admin, **extra) -> dict:
    request.current_app = model_admin.admin_site.name
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        **extra,
    }


def error_messages(request, error: GuanxiError, labels: dict | None = None) -> None:
    """The error's sentence when it has one of its own (an overdraw names the balance), else
    each field's message with its place (or the field's label, when given)."""
    if error.errors and error.message == error._default_message():
        for field, errors in error.errors.items():
            where = (labels or {}).get(field, field)
            for text in errors:
                messages.error(request, text if field == "__all__" else f"{where}: {text}")
    else:
        messages.error(request, error.message)


def form_errors(form, error: GuanxiError) -> dict[str, list[str]]:
    """Put a service's errors on the form fields they name; return those naming no field
    (such as `rules[1].factor`), by their place."""
    rest: dict[str, list[str]] = {}
    for field, errors in (error.errors or {"__all__": [error.message]}).items():
        for text in errors:
            if field in form.fields:
                form.add_error(field, text)
            elif field == "__all__":
                form.add_error(None, text)
            else:
                rest.setdefault(field, []).append(text)
    return rest
