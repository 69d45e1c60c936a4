"""Shared API pieces: the error schema, the standard error answers, input types and config."""

from datetime import datetime
from typing import Annotated, Any

from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from .dates import EARLIEST_YEAR, LATEST_YEAR, out_of_range_message


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] = {}


class ConflictOut(ErrorOut):
    duplicates: list[dict[str, Any]] = []
    hidden_duplicates: int = 0


ERRORS = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ConflictOut,
    422: ErrorOut,
}
READ_ERRORS = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut}

# Ids are 64-bit on every database; a larger number would crash the query, not miss.
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def _reasonable_datetime(value: datetime) -> datetime:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise PydanticCustomError("datetime_range", out_of_range_message())
    return value


When = Annotated[datetime, AfterValidator(_reasonable_datetime)]


def has_nul(value) -> bool:
    """Does a value (or anything inside it) hold a NUL character? PostgreSQL refuses those."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_nul(v) for v in value)
    return False


def _refuse_nul(value):
    if has_nul(value):
        raise PydanticCustomError("nul_character", str(_("Text may not contain NUL characters.")))
    return value


class QueryIn(Schema):
    """Query-string filters: text without NUL characters."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value):
        return _refuse_nul(value)


class StrictIn(QueryIn):
    """Input schemas refuse unknown fields (such as audit fields) instead of ignoring them."""

    model_config = ConfigDict(extra="forbid")


class PageOut(Schema):
    count: int | None
    count_exact: bool = Field(
        True, description="False when `count` is a lower bound (a search with very many matches)."
    )
    limit: int
    offset: int
