"""Set-based inserts for services that write thousands of rows at once (imports, merges).

The ORM's bulk_create builds a model instance and prepares every value through its field,
which costs more than the database does at a million rows. `Inserter` writes plain tuples:
COPY on PostgreSQL, executemany on SQLite, with one converter per column chosen once.
Ids are allocated up front (`allocate_ids`) so that rows referring to each other can be
written in the same pass. Call inside a transaction.
"""

import json
from contextlib import contextmanager
from datetime import UTC, date

from django.db import connection, models


def _sqlite_datetime(value):
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ")


def _iso(value):
    return value.isoformat() if isinstance(value, date) else value


def _json(value):
    if not value and type(value) is dict:
        return "{}"
    return json.dumps(value, ensure_ascii=False, default=str)


def _text(value):
    return None if value is None else str(value)


def _converter(field: models.Field, vendor: str):
    if isinstance(field, models.JSONField):
        return _json
    if isinstance(field, models.DateTimeField):
        return _sqlite_datetime if vendor == "sqlite" else None
    if isinstance(field, models.DateField):
        return _iso if vendor == "sqlite" else None
    if isinstance(field, models.DecimalField):
        return _text
    if isinstance(field, models.BooleanField):
        return (lambda v: None if v is None else int(v)) if vendor == "sqlite" else None
    return None


class Inserter:
    """Insert rows of `model` given as tuples in the order of `fields` (attribute names)."""

    def __init__(self, model: type[models.Model], fields: list[str]):
        self.model = model
        meta = model._meta
        self.fields = [meta.get_field(name) for name in fields]
        self.columns = [f.column for f in self.fields]
        self.table = meta.db_table
        self.vendor = connection.vendor
        converters = [_converter(f, self.vendor) for f in self.fields]
        self.converters = [(i, c) for i, c in enumerate(converters) if c is not None]

    def _convert(self, rows):
        """Each value through its column's converter; a value that is the very object the
        row before held in that column (the one timestamp of a bulk write, one shared
        dict) is converted once."""
        if not self.converters:
            return rows
        out = []
        last = [(object(), None)] * len(self.converters)
        converters = list(enumerate(self.converters))
        for row in rows:
            row = list(row)
            for j, (i, convert) in converters:
                value = row[i]
                seen, done = last[j]
                if value is not seen:
                    done = convert(value)
                    last[j] = (value, done)
                row[i] = done
            out.append(row)
        return out

    def insert(self, rows, *, converted: bool = False) -> int:
        """`converted`: the rows already hold database values (ISO dates, numbers for
        decimals), which saves a pass over a million rows."""
        rows = list(rows) if converted else self._convert(list(rows))
        if not rows:
            return 0
        quoted = ", ".join(connection.ops.quote_name(c) for c in self.columns)
        table = connection.ops.quote_name(self.table)
        with connection.cursor() as cursor:
            if self.vendor == "postgresql":
                raw = cursor.cursor  # psycopg's own cursor: COPY is not in the DB-API
                with raw.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(self.columns))
                cursor.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({marks})", rows)
        return len(rows)


def allocate_ids(model: type[models.Model], n: int) -> list[int]:
    """`n` fresh primary keys for `model`, reserved for this transaction's inserts.

    PostgreSQL draws them from the table's identity sequence (other writers keep theirs);
    SQLite hands out the ones after the largest so far, which is safe because a write
    transaction holds the database's only write lock (IMMEDIATE mode) until it commits.
    """
    if n <= 0:
        return []
    table = model._meta.db_table
    pk = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, pk, n],
            )
            return [row[0] for row in cursor.fetchall()]
        assert connection.in_atomic_block, "allocate_ids needs a transaction on SQLite"
        cursor.execute(f'SELECT COALESCE(MAX("{pk}"), 0) FROM "{table}"')
        top = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        first = max(top, row[0] if row else 0) + 1
        return list(range(first, first + n))


def rows_where_in(table: str, columns: list[str], column: str, values, *, chunk: int = 5000):
    """(columns…) of the rows of `table` whose `column` is one of `values`, with plain SQL.

    For thousands of values the ORM's handling of an IN list costs more than the query; on
    PostgreSQL the values go as one array parameter (`= ANY`), so the plan is made once.
    """
    values = list(values)
    if not values:
        return []
    quote = connection.ops.quote_name
    select = ", ".join(quote(c) for c in columns)
    head = f"SELECT {select} FROM {quote(table)} WHERE {quote(column)}"
    out = []
    with connection.cursor() as cursor:
        for start in range(0, len(values), chunk):
            part = values[start : start + chunk]
            if connection.vendor == "postgresql":
                cursor.execute(f"{head} = ANY(%s)", [part])
            else:
                cursor.execute(f"{head} IN ({', '.join(['%s'] * len(part))})", part)
            out += cursor.fetchall()
    return out


def rows_about(model: type[models.Model]) -> int:
    """About how many rows `model`'s table holds, read off the primary key's index (the
    largest id, at least the count): enough to tell whether a bulk write will double it."""
    top = model.objects.aggregate(top=models.Max("pk"))["top"]
    return top or 0


def secondary_indexes(model: type[models.Model]) -> list[tuple[str, str, str]]:
    """(name, CREATE statement, first column) of the indexes of `model`'s table that only
    speed up reads: not the primary key, not a unique index or constraint (those keep the
    data right while rows are written)."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%%'",
                [table],
            )
            indexes = []
            for name, sql in cursor.fetchall():
                cursor.execute(f"PRAGMA index_info({connection.ops.quote_name(name)})")
                first = next((col for seq, _cid, col in cursor.fetchall() if seq == 0), "")
                indexes.append((name, sql, first or ""))
            return sorted(indexes)
        cursor.execute(
            "SELECT i.indexname, i.indexdef, COALESCE(a.attname, '') FROM pg_indexes i "
            "JOIN pg_class c ON c.relname = i.indexname AND c.relkind = 'i' "
            "JOIN pg_index x ON x.indexrelid = c.oid "
            "LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0] "
            "WHERE i.tablename = %s AND NOT x.indisunique "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname)",
            [table],
        )
        return sorted(cursor.fetchall())


@contextmanager
def indexes_set_aside(models_and_kept):
    """Inside a transaction: drop the secondary indexes of these models (`secondary_indexes`)
    while many rows are written, and build them again after, before the transaction ends.
    Sorting a million values once is far cheaper than inserting them into a B-tree one by
    one. `models_and_kept` is [(model, columns)]: an index whose first column is one of
    `columns` stays, for the writer reads the table by it. If the block raises, nothing is
    rebuilt: rolling the transaction back brings the indexes back. On PostgreSQL a dropped
    index holds the table's exclusive lock until the transaction ends, so readers of the
    table wait that long."""
    assert connection.in_atomic_block, "indexes_set_aside needs a transaction"
    dropped = []
    with connection.cursor() as cursor:
        for model, kept in models_and_kept:
            for name, sql, first in secondary_indexes(model):
                if first not in kept:
                    cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
                    dropped.append(sql)
    yield dropped
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")  # sorts in memory
        for sql in dropped:
            cursor.execute(sql)
