"""Query helpers shared by selectors."""

from django.db import connection
from django.db.models import Q


def prefix_q(field: str, prefix: str) -> Q:
    """Match values starting with `prefix` in a way each database can answer from a B-tree.

    PostgreSQL: Django gives indexed CharFields a *_pattern_ops index, which serves LIKE 'p%'.
    SQLite: LIKE is case-insensitive and skips an ordinary index, so use a range instead.
    """
    if connection.vendor == "sqlite":
        return Q(**{f"{field}__gte": prefix, f"{field}__lt": prefix + "\U0010ffff"})
    return Q(**{f"{field}__startswith": prefix})


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
