"""Errors that services raise; entry points turn them into HTTP answers or CLI messages."""

from django.utils.translation import gettext_lazy as _


class GuanxiError(Exception):
    """Base of the domain errors; `errors` maps a field name (or "__all__") to messages."""

    status = 400

    def __init__(self, message=None, *, errors: dict[str, list[str]] | None = None, **extra):
        self.errors = {k: [str(m) for m in v] for k, v in (errors or {}).items()}
        self.message = str(message) if message is not None else self._default_message()
        self.extra = extra
        super().__init__(self.message)

    def _default_message(self) -> str:
        if self.errors:
            field, messages = next(iter(self.errors.items()))
            return f"{field}: {messages[0]}" if field != "__all__" else messages[0]
        return str(_("Invalid request."))

    def as_dict(self) -> dict:
        body = {"detail": self.message, "errors": self.errors}
        body.update(self.extra)
        return body


class ValidationFailed(GuanxiError):
    """Input is invalid; nothing was written."""

    status = 422


class PermissionDenied(GuanxiError):
    """The actor may see the record but not do this to it, or may not set this field."""

    status = 403


class NotFound(GuanxiError):
    """No such record, or one the actor may not see (we never tell which)."""

    status = 404


class Conflict(GuanxiError):
    """The write would clash with stored data (a duplicate, a stale state)."""

    status = 409


def field_error(field: str, message) -> ValidationFailed:
    return ValidationFailed(errors={field: [message]})


class Errors(dict):
    """Collects field → messages while validating; raises them all at once."""

    def add(self, field: str, message) -> None:
        self.setdefault(field, []).append(str(message))

    def raise_if_any(self) -> None:
        if self:
            raise ValidationFailed(errors=self)
