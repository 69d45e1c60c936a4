"""Shared API pieces: the error schema, the standard error answers, input config."""

from typing import Any

from ninja import Schema
from pydantic import ConfigDict


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


class StrictIn(Schema):
    """Input schemas refuse unknown fields (such as audit fields) instead of ignoring them."""

    model_config = ConfigDict(extra="forbid")


class PageOut(Schema):
    count: int | None
    limit: int
    offset: int
