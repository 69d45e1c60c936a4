"""The index of existing customers' blocking keys, through which an import chunk finds its
candidate duplicates in the database without reading every customer, and, beside the keys,
what the matcher compares of each customer (`MatchRecord`), so that a candidate is read back
in one row.

It is derived data, kept in step by `refresh` from the customers' own `updated_at` (every
customer service saves it): before an import runs, the customers changed since the last
refresh get their keys and record again. A customer deleted takes them with it (cascade); the
customers an import creates or merges into are indexed as it goes.
"""

import contextlib
import hashlib
import json
from collections import Counter
from operator import itemgetter

import numpy as np
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from guanxi.core.bulk import Inserter, indexes_set_aside, rows_about, rows_where_in
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


def index(features_by_customer: dict, *, replace: bool = True, pending=None) -> int:
    """Store these customers' keys and records, from their matching features (an import's
    new ones); with `pending` (`PendingKeys`), the keys are held there until it is flushed."""
    return _write(list(features_by_customer.items()), replace=replace, pending=pending)


def reindex(customer_ids, *, pending=None) -> int:
    """Work out the keys and records of these customers again from what is stored (after a
    merge). Their keys are written at once; those `pending` held for them are dropped."""
    rows = [(pk, features(record)) for pk, record in customer_match_records_of(ids=customer_ids)]
    if pending is not None:
        pending.drop(pk for pk, _f in rows)
    return _write(rows, replace=True)


def key_hash(key: str) -> int:
    """A stable signed 64-bit hash of a key (what the table stores and is searched by)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


def stored_text(f) -> str:
    """The record the index stores for these features (`encode`), worked out once and kept
    on them: an import works it out where it prepares the rows."""
    try:
        return f.stored_text
    except AttributeError:
        pass
    f.stored_text = text = encode(f)
    return text


def hashes_of(f) -> frozenset[int]:
    """The hashes of a record's keys that the index stores and is searched by (worked out
    once per record and kept on it: an import computes them where it prepares the rows)."""
    try:
        return f.key_hashes
    except AttributeError:
        pass
    f.key_hashes = hashes = frozenset(key_hash(k) for k in lookup_keys(blocking_keys(f)))
    return hashes


def _write(rows, *, replace: bool, pending: "PendingKeys | None" = None) -> int:
    """Store (customer id, features) rows: the keys' hashes and what the matcher compares;
    the name parts of customers indexed for the first time are counted (a changed name is
    not counted again: the counts are estimates). With `pending`, the keys are held there
    and written when it is flushed."""
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
    if pending is not None:
        pending.add(rows)
    else:
        # In key order: the key index, the one written at random otherwise, is then filled
        # page by page.
        Inserter(MatchKey, ["customer", "key"]).insert(
            sorted(((pk, h) for pk, f in rows for h in hashes_of(f)), key=itemgetter(1))
        )
    Inserter(MatchRecord, ["customer", "data"]).insert(
        [(pk, stored_text(f)) for pk, f in rows], converted=True
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
_TUPLES_AT = [STORED.index(k) for k in ("parts", "phones", "emails", "birthday")]


def encode(f: Features) -> str:
    """A customer's matching features as the index stores them (a JSON array)."""
    return json.dumps([getattr(f, s) for s in STORED], ensure_ascii=False, separators=(",", ":"))


def decode(text: str) -> Features:
    """Features from `encode`'s text; ValueError if it is not such a text."""
    values = json.loads(text)
    if not isinstance(values, list) or len(values) != len(STORED):
        raise ValueError("not a stored match record")
    for at in _TUPLES_AT:
        if values[at]:
            values[at] = tuple(values[at])
    return Features.of_fields(STORED, values)


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


def holders(hashes, *, pending: "PendingKeys | None" = None) -> dict[int, list[int]]:
    """{key hash: the customers holding it} for these key hashes (`key_hash`), leaving out
    keys held by more than MAX_DATABASE_BLOCK customers, in the table and in `pending`
    together. Raw SQL: the ORM's handling of IN lists of thousands costs more than the
    query."""
    from django.db import connection

    table = connection.ops.quote_name(MatchKey._meta.db_table)
    key = connection.ops.quote_name("key")
    hashes = list(set(hashes))
    found: dict[int, list[int]] = {}
    held = pending.holders(hashes) if pending is not None else {}
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
            if not held:
                cursor.execute(
                    f"SELECT {key} FROM {table} WHERE {key} {test} GROUP BY {key} "
                    f"HAVING COUNT(*) <= %s",
                    [*params, MAX_DATABASE_BLOCK],
                )
                selective = [row[0] for row in cursor.fetchall()]
            else:  # the limit holds for the table's holders and the pending ones together
                cursor.execute(
                    f"SELECT {key}, COUNT(*) FROM {table} WHERE {key} {test} GROUP BY {key}",
                    params,
                )
                counts = dict(cursor.fetchall())
                selective = []
                for h in hashes[start : start + 5000]:
                    n = counts.get(h, 0) + len(held.get(h, ()))
                    if n > MAX_DATABASE_BLOCK:
                        held.pop(h, None)
                    elif h in counts:
                        selective.append(h)
            if selective:
                test, params = where(selective)
                cursor.execute(f"SELECT {key}, customer_id FROM {table} WHERE {key} {test}", params)
                for h, customer in cursor.fetchall():
                    found.setdefault(h, []).append(customer)
        if postgres:
            cursor.execute("RESET enable_seqscan")
            cursor.execute("RESET max_parallel_workers_per_gather")
    for h, customers in held.items():
        found.setdefault(h, []).extend(customers)
    return found


class PendingKeys:
    """The key hashes of the customers an import creates, held in memory (sorted arrays,
    merged as they grow) instead of being inserted into `MatchKey` chunk by chunk, and
    written in one sorted pass when the import ends (`flush`). A million customers bring
    four million keys: inserted chunk by chunk, each lands at a random place of a growing
    index. `holders` finds them here as it finds the stored ones. A customer whose keys are
    written again meanwhile (`reindex`, after a merge) has them in the table, and the ones
    held here are dropped."""

    MERGED_UP_TO = 1_000_000

    def __init__(self):
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []  # (hashes sorted, customer ids)
        self.dropped: set[int] = set()

    def add(self, rows) -> None:
        """Hold the keys of these (customer id, features) rows."""
        pairs = [(h, pk) for pk, f in rows for h in hashes_of(f)]
        if not pairs:
            return
        both = np.array(pairs, dtype=np.int64)
        order = np.argsort(both[:, 0], kind="stable")
        self.runs.append((both[order, 0], both[order, 1]))
        # A run at least as long as the one before is merged into it, up to a million keys
        # (the memory a merge takes for a while): a few runs, each key moved a few times.
        while (
            len(self.runs) > 1
            and len(self.runs[-1][0]) >= len(self.runs[-2][0])
            and len(self.runs[-1][0]) + len(self.runs[-2][0]) <= self.MERGED_UP_TO
        ):
            (h1, i1), (h2, i2) = self.runs[-2], self.runs.pop()
            h, ids = np.concatenate([h1, h2]), np.concatenate([i1, i2])
            order = np.argsort(h, kind="stable")
            self.runs[-1] = (h[order], ids[order])

    def drop(self, customer_ids) -> None:
        self.dropped.update(customer_ids)

    def holders(self, hashes) -> dict[int, list[int]]:
        """{key hash: the customers holding it here}, for those of these hashes held."""
        out: dict[int, list[int]] = {}
        if not self.runs or not hashes:
            return out
        wanted = np.array(hashes, dtype=np.int64)
        dropped = self.dropped
        for h, ids in self.runs:
            low = np.searchsorted(h, wanted, "left")
            high = np.searchsorted(h, wanted, "right")
            for k in np.flatnonzero(high > low).tolist():
                customers = [c for c in ids[low[k] : high[k]].tolist() if c not in dropped]
                if customers:
                    out.setdefault(int(wanted[k]), []).extend(customers)
        return out

    def flush(self) -> int:
        """Write the keys held (of the customers not dropped) into `MatchKey`: on SQLite,
        into a table this at least doubles, with its indexes set aside and built again after,
        in customer order; otherwise in key order. Returns how many were written."""
        from django.db import connection

        if not self.runs:
            return 0
        h = np.concatenate([h for h, _ids in self.runs])
        ids = np.concatenate([ids for _h, ids in self.runs])
        self.runs = []
        if self.dropped:
            keep = ~np.isin(ids, np.fromiter(self.dropped, dtype=np.int64))
            h, ids = h[keep], ids[keep]
        aside = contextlib.nullcontext()
        if connection.vendor == "sqlite" and len(h) >= rows_about(MatchKey):
            # No index to keep in order meanwhile: in customer order, the foreign key's look-ups
            # of the customers go page after page instead of all over the table.
            aside = indexes_set_aside([(MatchKey, ())])
            order = np.argsort(ids, kind="stable")
        else:  # in key order: the key index is then filled page by page
            order = np.argsort(h, kind="stable")
        h, ids = h[order], ids[order]
        del order
        insert = Inserter(MatchKey, ["customer", "key"]).insert
        with aside:
            for start in range(0, len(h), 100_000):
                part = slice(start, start + 100_000)
                insert(zip(ids[part].tolist(), h[part].tolist(), strict=True), converted=True)
        return len(h)
