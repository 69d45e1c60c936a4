"""Whole-number columns of a query as numpy arrays, fast: PostgreSQL's binary COPY (no Python
object per value) or SQLite's rows flattened straight into an array; on two cores or more,
large reads are split by customer id over forked readers."""

from __future__ import annotations

import itertools
import multiprocessing as mp
import os
from collections.abc import Callable

import numpy as np
from django.db import connection

_BATCH = 200_000
_COPY_HEADER = 19  # signature, flags, header extension length
_COPY_TRAILER = 2  # the field count −1


def _copy_dtype(n: int) -> np.dtype:
    fields = [("count", ">i2")]
    for i in range(n):
        fields += [(f"l{i}", ">i4"), (f"c{i}", ">i8")]
    return np.dtype(fields)


def int_columns(sql: str, params: list, n: int) -> np.ndarray:
    """The query's rows as an int64 array of shape (rows, n). Every column must be a
    non-null whole number (cast them in the query)."""
    if connection.vendor == "postgresql":
        typed = ", ".join(f"CAST(x.c{i} AS BIGINT)" for i in range(n))
        names = ", ".join(f"c{i}" for i in range(n))
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's own cursor: COPY is not in the DB-API
            query = raw.mogrify(f"SELECT {typed} FROM ({sql}) AS x ({names})", params)
            chunks = []
            with raw.copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)") as copy:
                for chunk in copy:
                    chunks.append(bytes(chunk))
        data = b"".join(chunks)
        if len(data) <= _COPY_HEADER + _COPY_TRAILER:
            return np.zeros((0, n), dtype=np.int64)
        rows = np.frombuffer(data[_COPY_HEADER : len(data) - _COPY_TRAILER], dtype=_copy_dtype(n))
        return np.column_stack([rows[f"c{i}"].astype(np.int64) for i in range(n)])
    parts = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(_BATCH):
            flat = itertools.chain.from_iterable(rows)
            parts.append(np.fromiter(flat, dtype=np.int64, count=n * len(rows)))
    if not parts:
        return np.zeros((0, n), dtype=np.int64)
    return np.concatenate(parts).reshape(-1, n)


def _start() -> None:
    from django.db import connections

    for each in connections.all(initialized_only=True):
        each.connection = None  # the parent's: never used (nor closed) here


_job: Callable | None = None


def _run(bounds):
    try:
        return _job(*bounds)
    finally:
        connection.close()


def split_by_customer(read: Callable[[int, int], np.ndarray], low: int, high: int, *, rows: int):
    """`read(low, high)` over the whole id range (customers', or any other ids), or over
    halves in forked readers when the read is large and the machine has the cores (never
    inside a transaction, whose rows the readers would not see)."""
    cores = os.cpu_count() or 1
    if (
        rows < 500_000
        or cores < 2
        or "fork" not in mp.get_all_start_methods()
        or connection.in_atomic_block
    ):
        return read(low, high)
    global _job
    _job = read
    connection.close()
    workers = min(cores, 4)
    edges = np.linspace(low, high + 1, workers + 1).astype(np.int64)
    bounds = [(int(edges[k]), int(edges[k + 1]) - 1) for k in range(workers)]
    with mp.get_context("fork").Pool(workers, initializer=_start) as pool:
        parts = pool.map(_run, bounds)
    return np.concatenate(parts)
