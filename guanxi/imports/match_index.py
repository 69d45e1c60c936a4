"""The index of existing customers' blocking keys, through which an import chunk finds its
candidate duplicates in the database without reading every customer, and, beside the keys,
what the matcher compares of each customer (`MatchRecord`), so that a candidate is read back
in one row.

It is derived data, kept in step by `refresh` from the customers' own `updated_at` (every
customer service saves it): before an import runs, the customers changed since the last
refresh get their keys and record again. A customer deleted takes them with it (cascade); the
customers an import creates or merges into are indexed as it goes.
"""

import hashlib
import json
from collections import Counter
from operator import itemgetter

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from guanxi.core.bulk import Inserter, rows_where_in
from guanxi.customers.selectors import customer_match_records_of

from .matching import Features, blocking_keys, features
from .matching.matcher import bulk
from .models import MatchIndexState, MatchKey, MatchRecord, NamePart

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
    batch: list[tuple[int, Features]] = []
    with transaction.atomic(), bulk():
        for pk, record in customer_match_records_of(changed_since=state.indexed_until):
            batch.append((pk, features(record)))
            if len(batch) >= BATCH:
                done += _write(batch, replace=state.indexed_until is not None)
                batch = []
                if on_progress:
                    on_progress(done)
        done += _write(batch, replace=state.indexed_until is not None)
        MatchIndexState.objects.filter(pk=state.pk).update(indexed_until=started)
    return done


def index(features_by_customer: dict, *, replace: bool = True) -> int:
    """Store these customers' keys and records, from their matching features (an import's
    new ones)."""
    return _write(list(features_by_customer.items()), replace=replace)


def reindex(customer_ids) -> int:
    """Work out the keys and records of these customers again from what is stored (after a
    merge)."""
    rows = [(pk, features(record)) for pk, record in customer_match_records_of(ids=customer_ids)]
    return _write(rows, replace=True)


def key_hash(key: str) -> int:
    """A stable signed 64-bit hash of a key (what the table stores and is searched by)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


def hashes_of(f) -> frozenset[int]:
    """The hashes of a record's keys that the index stores and is searched by (worked out
    once per record and kept on it: an import computes them where it prepares the rows)."""
    try:
        return f.key_hashes
    except AttributeError:
        pass
    f.key_hashes = hashes = frozenset(key_hash(k) for k in lookup_keys(blocking_keys(f)))
    return hashes


def _write(rows, *, replace: bool) -> int:
    """Store (customer id, features) rows: the keys' hashes and what the matcher compares;
    the name parts of customers indexed for the first time are counted (a changed name is
    not counted again: the counts are estimates)."""
    if not rows:
        return 0
    ids = [pk for pk, _f in rows]
    known: set[int] = set()
    if replace:
        for start in range(0, len(ids), BATCH):
            part = ids[start : start + BATCH]
            known |= set(
                MatchKey.objects.filter(customer_id__in=part).values_list("customer_id", flat=True)
            )
            MatchKey.objects.filter(customer_id__in=part).delete()
            MatchRecord.objects.filter(customer_id__in=part).delete()
    # In key order: the key index, the one written at random otherwise, is then filled page
    # by page.
    Inserter(MatchKey, ["customer", "key"]).insert(
        sorted(((pk, h) for pk, f in rows for h in hashes_of(f)), key=itemgetter(1))
    )
    Inserter(MatchRecord, ["customer", "data"]).insert(
        [(pk, encode(f)) for pk, f in rows], converted=True
    )
    counts = Counter(p for pk, f in rows if pk not in known for p in _parts(f))
    _count_parts(counts, people=sum(1 for pk in ids if pk not in known))
    return len(rows)


# What a stored record keeps of Features: the rest (codes, hints, street words, whether the
# name is Chinese) is worked out again from these when it is read back.
STORED = (
    "kind", "name", "pinyin", "parts", "sorted_name", "initials", "company", "phones", "emails",
    "id_number", "external_id", "birthday", "gender", "province", "city", "district", "street",
    "postcode",
)  # fmt: skip
_TUPLES = ("parts", "phones", "emails", "birthday")


def encode(f: Features) -> str:
    """A customer's matching features as the index stores them (a JSON array)."""
    return json.dumps([getattr(f, s) for s in STORED], ensure_ascii=False, separators=(",", ":"))


def decode(text: str) -> Features:
    """Features from `encode`'s text; ValueError if it is not such a text."""
    values = json.loads(text)
    if not isinstance(values, list) or len(values) != len(STORED):
        raise ValueError("not a stored match record")
    record = dict(zip(STORED, values, strict=True))
    for key in _TUPLES:
        if record[key]:
            record[key] = tuple(record[key])
    return Features(**record)


def features_of(ids) -> dict[int, Features]:
    """{customer id: matching features} of those of these customers the index holds."""
    out = {}
    for pk, text in rows_where_in(MatchRecord._meta.db_table, ["customer_id", "data"],
                                  "customer_id", ids):  # fmt: skip
        try:
            out[pk] = decode(text)
        except ValueError:
            continue  # read from the customer instead
    return out


def _count_parts(counts: Counter, *, people: int) -> None:
    """Add to the name-part counts in one statement per batch (an upsert: SQLite and
    PostgreSQL both have INSERT … ON CONFLICT)."""
    if not people:
        return
    from django.db import connection

    table = connection.ops.quote_name(NamePart._meta.db_table)
    upsert = (
        f'INSERT INTO {table} ("part", "count") {{}} ON CONFLICT ("part") '
        f'DO UPDATE SET "count" = {table}."count" + excluded."count"'
    )
    if counts:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":  # the whole batch as two arrays
                parts, numbers = zip(*counts.items(), strict=True)
                cursor.execute(
                    upsert.format("SELECT * FROM unnest(%s::text[], %s::bigint[])"),
                    [list(parts), list(numbers)],
                )
            else:
                cursor.executemany(upsert.format("VALUES (%s, %s)"), list(counts.items()))
    MatchIndexState.objects.update(people=F("people") + people)


def _parts(f) -> tuple[str, ...]:
    """The name parts the matcher weighs by frequency: the first and the last."""
    parts = f.parts
    if not parts:
        return ()
    return (parts[0],) if parts[0] == parts[-1] else (parts[0][:100], parts[-1][:100])


def name_part_frequencies() -> dict[str, float] | None:
    """Share of all customers with each name part (None before anything is indexed)."""
    people = _state().people
    if people < 1000:
        return None  # too few to tell a common name from a rare one
    return {p: n / people for p, n in NamePart.objects.values_list("part", "count")}


# The keys stored and looked up: a row that matched nobody by phone, email or external id
# cannot find anyone by its exact keys (ph:, em:, ex:), and keys of a birthday, a postcode
# or a single name part alone are held by thousands in a large database.
LOOKUP_PREFIXES = ("id:", "pl:", "py:", "pys:", "ad:", "bd+ini:", "py+loc:")


def lookup_keys(keys) -> list[str]:
    return [k for k in keys if k.startswith(LOOKUP_PREFIXES)]


# A key held by more customers than this finds none of them from an import: in a database of
# a million, a name shared by more than a few people needs a second thing in common (a city,
# a birthday, an address, a phone's tail), which the other keys carry.
MAX_DATABASE_BLOCK = 8


def holders(hashes) -> dict[int, list[int]]:
    """{key hash: the customers holding it} for these key hashes (`key_hash`), leaving out
    keys held by more than MAX_DATABASE_BLOCK customers. Raw SQL: the ORM's handling of IN
    lists of thousands costs more than the query."""
    from django.db import connection

    table = connection.ops.quote_name(MatchKey._meta.db_table)
    key = connection.ops.quote_name("key")
    hashes = list(set(hashes))
    found: dict[int, list[int]] = {}
    postgres = connection.vendor == "postgresql"

    def where(values):  # PostgreSQL takes the values as one array parameter: planned once
        if postgres:
            return "= ANY(%s)", [values]
        return f"IN ({', '.join(['%s'] * len(values))})", values

    with connection.cursor() as cursor:
        if postgres:
            # A few thousand index probes: the planner, whose statistics lag behind a large
            # import, would otherwise scan the whole table (millions of keys), in parallel.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        for start in range(0, len(hashes), 5000):
            # Two index lookups: as one query with a join, the planner (which cannot tell how
            # few keys pass the HAVING) may scan the whole table.
            test, params = where(hashes[start : start + 5000])
            cursor.execute(
                f"SELECT {key} FROM {table} WHERE {key} {test} GROUP BY {key} "
                f"HAVING COUNT(*) <= %s",
                [*params, MAX_DATABASE_BLOCK],
            )
            selective = [row[0] for row in cursor.fetchall()]
            if selective:
                test, params = where(selective)
                cursor.execute(f"SELECT {key}, customer_id FROM {table} WHERE {key} {test}", params)
                for h, customer in cursor.fetchall():
                    found.setdefault(h, []).append(customer)
        if postgres:
            cursor.execute("RESET enable_seqscan")
            cursor.execute("RESET max_parallel_workers_per_gather")
    return found
