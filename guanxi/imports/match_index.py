"""The index of existing customers' blocking keys, through which an import chunk finds its
candidate duplicates in the database without reading every customer.

It is derived data, kept in step by `refresh` from the customers' own `updated_at` (every
customer service saves it): before an import runs, the customers changed since the last
refresh get their keys again. A customer deleted takes its keys with it (cascade); the
customers an import creates or merges into are indexed as it goes.
"""

import hashlib

from django.db import transaction
from django.utils import timezone

from guanxi.core.bulk import Inserter
from guanxi.customers.selectors import customer_match_records_of

from .matching import MAX_BLOCK, blocking_keys, features
from .models import MatchIndexState, MatchKey

BATCH = 5000


def _state() -> MatchIndexState:
    state = MatchIndexState.objects.order_by("pk").first()
    return state or MatchIndexState.objects.create(indexed_until=None)


def pending() -> int:
    """How many customers a refresh would index now (all of them, the first time)."""
    from guanxi.customers.models import Customer

    state = _state()
    if state.indexed_until is None:
        return Customer.objects.count()
    return Customer.objects.filter(updated_at__gte=state.indexed_until).count()


def refresh(*, on_progress=None) -> int:
    """Index the customers changed since the last refresh (all of them, the first time).
    Returns how many customers were (re)indexed."""
    state = _state()
    started = timezone.now()
    done = 0
    batch: list[tuple[int, list[str]]] = []
    with transaction.atomic():
        for pk, record in customer_match_records_of(changed_since=state.indexed_until):
            batch.append((pk, blocking_keys(features(record))))
            if len(batch) >= BATCH:
                done += _write(batch, replace=state.indexed_until is not None)
                batch = []
                if on_progress:
                    on_progress(done)
        done += _write(batch, replace=state.indexed_until is not None)
        MatchIndexState.objects.filter(pk=state.pk).update(indexed_until=started)
    return done


def index(keys_by_customer: dict[int, list[str]], *, replace: bool = True) -> int:
    """Store these customers' keys (replacing what they had): an import's new customers."""
    return _write(list(keys_by_customer.items()), replace=replace)


def reindex(customer_ids) -> int:
    """Work out the keys of these customers again from what is stored (after a merge)."""
    rows = [(pk, blocking_keys(features(r))) for pk, r in customer_match_records_of(
        ids=customer_ids)]  # fmt: skip
    return _write(rows, replace=True)


def key_hash(key: str) -> int:
    """A stable signed 64-bit hash of a key (what the table stores and is searched by)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


def _write(rows: list[tuple[int, list[str]]], *, replace: bool) -> int:
    if not rows:
        return 0
    if replace:
        ids = [pk for pk, _keys in rows]
        for start in range(0, len(ids), BATCH):
            MatchKey.objects.filter(customer_id__in=ids[start : start + BATCH]).delete()
    Inserter(MatchKey, ["customer", "key"]).insert(
        (pk, h) for pk, keys in rows for h in {key_hash(k) for k in lookup_keys(keys)}
    )
    return len(rows)


# The keys stored and looked up: a row that matched nobody by phone, email or external id
# cannot find anyone by its exact keys (ph:, em:, ex:), and keys of a birthday, a postcode
# or a single name part alone are held by thousands in a large database.
LOOKUP_PREFIXES = ("id:", "pl:", "py:", "pys:", "p+loc:", "ad:", "bd+ini:", "py+loc:")


def lookup_keys(keys) -> list[str]:
    return [k for k in keys if k.startswith(LOOKUP_PREFIXES)]


def candidates(keys) -> set[int]:
    """The customers sharing any of these keys, leaving out keys held by more than
    MAX_BLOCK customers (they say little about a pair). Raw SQL: the ORM's handling of
    IN lists of thousands costs more than the query."""
    from django.db import connection

    table = connection.ops.quote_name(MatchKey._meta.db_table)
    key = connection.ops.quote_name("key")
    hashes = list({key_hash(k) for k in keys})
    found: set[int] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(hashes), 5000):
            part = hashes[start : start + 5000]
            marks = ", ".join(["%s"] * len(part))
            cursor.execute(
                f"SELECT customer_id FROM {table} WHERE {key} IN (SELECT {key} FROM {table} "
                f"WHERE {key} IN ({marks}) GROUP BY {key} HAVING COUNT(*) <= %s)",
                [*part, MAX_BLOCK],
            )
            found.update(row[0] for row in cursor.fetchall())
    return found
