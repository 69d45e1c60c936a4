"""Set-based loader for large demo data sets (a million customers, ten million orders).

Python computes only small pools (names with their exact pinyin keys from
`cleaning.name_keys`, companies, places, products, weights) into temporary tables; the
database then generates the rows itself with `INSERT … SELECT`, chunk by chunk, picking
from the pools with a deterministic integer hash of the row number and the seed. What it
stores is what the services store: name_pinyin / name_initials from `name_keys`, the
search text laid out as `cleaning.build_search_text` lays it out, phones in E.164 with
their CustomerPhone rows, emails in CustomerEmail rows, a StageChange and a "created"
TimelineEvent per customer (and a second pair when the customer has moved on from
"lead"). Orders carry their lines and a total that is the sum of the lines; orders do not
get a timeline event each in this mode (ten million events would double the load).

During the load the secondary indexes of the loaded tables, their foreign keys
(PostgreSQL) and the search-index trigger (SQLite) are set aside and rebuilt afterwards,
which is much faster than maintaining them row by row; see benchmarks/README.md.
"""

import queue
import random
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.core.management.color import no_style
from django.db import connections, transaction
from django.utils.translation import gettext as _

from guanxi.customers import search_index
from guanxi.customers.cleaning import name_keys
from guanxi.customers.models import (
    Address,
    Contact,
    Customer,
    CustomerEmail,
    CustomerPhone,
    StageChange,
    Tag,
)
from guanxi.interactions.models import TimelineEvent
from guanxi.orders.models import Order, OrderLine, Product
from guanxi.orders.services import purchases_refresh

from . import pools

P = 2_147_483_647  # a prime below 2^31: products of two hashes stay inside 64 bits
DAY = 86_400
HISTORY_SECONDS = 900 * DAY
CUSTOMER_CHUNK = 50_000
ORDER_CHUNK = 10_000  # customers per order chunk (about ten orders each by default)
SESSIONS = 2  # database sessions sharing a large load on PostgreSQL (one per core)
N_CHINESE, N_COMPANIES = 8192, 4096
N_WEIGHTS = 1024

# Multipliers of the per-purpose hashes (fixed); the offsets come from the seed.
_MULTIPLIERS = [random.Random(12_345 + k).randrange(1_000_000, P) for k in range(32)]


@dataclass
class LoadStats:
    customers: int = 0
    orders: int = 0
    lines: int = 0
    customer_seconds: float = 0.0
    order_seconds: float = 0.0
    phases: dict = field(default_factory=dict)


class Dialect:
    vendor = ""

    def lpad(self, expr: str, n: int) -> str:
        raise NotImplementedError

    def ts(self, expr: str) -> str:
        raise NotImplementedError

    def date(self, expr: str) -> str:
        raise NotImplementedError

    def money(self, cents: str) -> str:
        raise NotImplementedError

    true, false, json_empty = "1", "0", "'{}'"


class SQLiteDialect(Dialect):
    vendor = "sqlite"

    def lpad(self, expr, n):
        return f"substr('{'0' * n}' || ({expr}), -{n}, {n})"

    def ts(self, expr):
        return f"datetime({expr}, 'unixepoch')"

    def date(self, expr):
        return f"date({expr}, 'unixepoch')"

    def money(self, cents):
        # Django stores a Decimal on SQLite as text into a NUMERIC column, which keeps it
        # as an INTEGER or REAL; cents / 100.0 is stored the same way.
        return f"(({cents}) / 100.0)"


class PostgresDialect(Dialect):
    vendor = "postgresql"
    true, false, json_empty = "TRUE", "FALSE", "'{}'::jsonb"

    def lpad(self, expr, n):
        return f"lpad(CAST(({expr}) AS TEXT), {n}, '0')"

    def ts(self, expr):
        return f"to_timestamp({expr})"

    def date(self, expr):
        return f"CAST(to_timestamp({expr}) AS DATE)"

    def money(self, cents):
        return f"(CAST(({cents}) AS NUMERIC) / 100)"


def case(expr: str, values, quote=True) -> str:
    """CASE expr WHEN 0 THEN v0 WHEN 1 THEN v1 … END (a pick from a small pool)."""
    whens = " ".join(f"WHEN {i} THEN {_lit(v) if quote else v}" for i, v in enumerate(values))
    return f"(CASE {expr} {whens} END)"


def weighted_case(expr: str, pairs) -> str:
    """A pick by weight: `expr` is uniform in [0, sum of weights)."""
    whens, upto = [], 0
    for value, weight in pairs:
        upto += weight
        whens.append(f"WHEN {expr} < {upto} THEN {_lit(value)}")
    return f"(CASE {' '.join(whens)} END)"


def _lit(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


class _MainSession:
    """The loader's own connection (Django's, in this thread)."""

    def __init__(self, connection):
        self.connection = connection
        self.customer_ranges: list[tuple[int, int]] = []
        self.seq_size = 0

    @contextmanager
    def transaction(self):
        with transaction.atomic(), self.connection.cursor() as cursor:
            yield cursor


class _SideSession:
    """A second database session in its own thread, fed work through a queue."""

    def __init__(self, loader):
        self.customer_ranges: list[tuple[int, int]] = []
        self.seq_size = loader.seq_size
        self.jobs: queue.Queue = queue.Queue()
        self.done: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        self.connection = connections.create_connection("default")
        try:
            while (job := self.jobs.get()) is not None:
                work, mine = job
                try:
                    work(self, mine)
                    self.done.put(None)
                except BaseException as e:  # handed to the waiting thread
                    self.done.put(e)
        finally:
            self.connection.close()

    def submit(self, work, mine) -> None:
        self.jobs.put((work, mine))

    def wait(self) -> None:
        if (error := self.done.get()) is not None:
            raise error

    def close(self) -> None:
        self.jobs.put(None)
        self.thread.join(timeout=60)

    @contextmanager
    def transaction(self):
        with self.connection.cursor() as cursor:
            cursor.execute("BEGIN")
            try:
                yield cursor
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")


class BulkLoader:
    """Generate `customers` customers and `orders` orders in the database, set-based."""

    def __init__(self, *, seed, customers, orders, owner_ids, admin_id=None, out=None):
        self.seed = seed
        self.n_customers = customers
        self.n_orders = orders
        self.owner_ids = owner_ids
        self.admin_id = admin_id
        self.out = out or (lambda line: None)
        self.connection = connections["default"]
        vendor = self.connection.vendor
        if vendor == "sqlite":
            self.d = SQLiteDialect()
        elif vendor == "postgresql":
            self.d = PostgresDialect()
        else:
            raise NotImplementedError(f"bulk demo data is not written for {vendor}")
        rng = random.Random(f"{seed}:offsets")
        self._offsets = [rng.randrange(P) for _ in range(32)]
        self.now_ts = int(time.time())
        self.stats = LoadStats()
        self._saved_indexes: dict[str, list[tuple[str, str]]] = {}
        self._saved_fks: dict[str, list[tuple[str, str]]] = {}

    # SQL helpers ----------------------------------------------------------------------------

    def h(self, k: int, i: str) -> str:
        """A pseudo-random integer in [0, P) from row number `i` and purpose `k`."""
        x = f"((({i}) * {_MULTIPLIERS[k]} + {self._offsets[k]}) % {P})"
        return f"(((({x} * {x}) % {P}) * 48271 + {x}) % {P})"

    def execute(self, cursor, sql, params=None):
        cursor.execute(sql, params or ())

    def _tables(self, models):
        return [m._meta.db_table for m in models]

    # Run ------------------------------------------------------------------------------------

    def run(self) -> LoadStats:
        conn = self.connection
        conn.ensure_connection()
        search_index.ensure_search_index(conn)
        self.customer_models = [
            Customer,
            CustomerPhone,
            CustomerEmail,
            Address,
            Contact,
            Customer.tags.through,
            StageChange,
            TimelineEvent,
        ]
        self.order_models = [Order, OrderLine]
        with conn.cursor() as cursor:
            self.first_customer_id = self._max_id(cursor, Customer) + 1
            self.first_order_id = self._max_id(cursor, Order) + 1
        self._tune(on=True)
        self._lock = threading.Lock()
        self.sessions = [_MainSession(conn)]
        try:
            with conn.cursor() as cursor:
                self._pools(cursor)
            self.sessions[0].seq_size = self.seq_size
            if (
                SESSIONS > 1
                and self.d.vendor == "postgresql"
                and not conn.in_atomic_block
                and self.n_customers >= 2 * CUSTOMER_CHUNK
            ):
                # PostgreSQL does the work in its own processes: a second session doubles
                # the pace on two cores. (SQLite has one writer.)
                side = _SideSession(self)
                side.submit(lambda session, _mine: self._session_setup(session), None)
                side.wait()
                self.sessions.append(side)
            started = self._load_started = time.monotonic()
            self._set_aside(self.customer_models)
            self._customers()
            rows_seconds = time.monotonic() - started
            side = self._restore(self.customer_models, search=True, wait=False)
            self.stats.customer_seconds = time.monotonic() - started
            self._report_customers(rows_seconds, searchable=side is None)
            if self.n_orders:
                started = time.monotonic()
                self._set_aside(self.order_models)
                self._orders()
                self._restore(self.order_models)
                purchases_refresh()  # what each customer bought, by category
                self.stats.order_seconds = time.monotonic() - started
                self.out(
                    _("orders: %(n)s with %(l)s lines in %(s).1f s, %(rate)s orders per second")
                    % {
                        "n": f"{self.stats.orders:,}",
                        "l": f"{self.stats.lines:,}",
                        "s": self.stats.order_seconds,
                        "rate": f"{self.stats.orders / max(self.stats.order_seconds, 1e-9):,.0f}",
                    }
                )
            if side is not None:
                self._join(side)
            self._finish()
        except BaseException:
            self._recover()
            raise
        finally:
            for session in self.sessions[1:]:
                session.close()
            self._tune(on=False)
            with conn.cursor() as cursor:
                for table in ("gx_party", "gx_place", "gx_weight", "gx_product", "gx_seq"):
                    cursor.execute(f"DROP TABLE IF EXISTS {table}")
                for table in ("gx_c", "gx_alloc", "gx_o", "gx_l"):
                    cursor.execute(f"DROP TABLE IF EXISTS {table}")
        return self.stats

    def _report_customers(self, rows_seconds: float, *, searchable: bool) -> None:
        n = self.stats.customers
        self.stats.phases["customers: rows"] = rows_seconds
        self.out(
            _("customers: %(n)s rows (and their phones, emails, addresses, contacts, tags, stage "
              "changes, timeline) in %(s).1f s: %(rate)s customers per second")
            % {"n": f"{n:,}", "s": rows_seconds, "rate": f"{n / max(rows_seconds, 1e-9):,.0f}"}
        )  # fmt: skip
        seconds = self.stats.customer_seconds
        if searchable:
            message = _(
                "customers: indexed and searchable after %(s).1f s: %(rate)s customers per second"
            )
        else:
            message = _(
                "customers: indexed after %(s).1f s (%(rate)s per second); the trigram search "
                "index is being built beside the orders"
            )
        self.out(message % {"s": seconds, "rate": f"{n / max(seconds, 1e-9):,.0f}"})

    def _join(self, side) -> None:
        thread, _started = side
        thread.join()
        if self._side_error:
            raise self._side_error
        seconds = self._side_done - self._load_started
        self.stats.phases["customers: searchable"] = seconds
        self.out(
            _("customers: search index ready %(s).1f s after the load began: %(rate)s customers "
              "per second")
            % {"s": seconds, "rate": f"{self.stats.customers / max(seconds, 1e-9):,.0f}"}
        )  # fmt: skip

    def _session_setup(self, session) -> None:
        """Settings and temporary tables of a side session."""
        with session.connection.cursor() as cursor:
            cursor.execute("SET work_mem = '256MB'")
            cursor.execute("SET synchronous_commit = OFF")
            self._pool_tables(cursor)

    def _recover(self) -> None:
        """After a failure: put back the indexes, keys and trigger that were set aside."""
        for models, search in ((self.customer_models, True), (self.order_models, False)):
            if any(table in self._saved_indexes for table in self._tables(models)):
                try:
                    self._restore(models, search=search)
                except Exception as e:  # report, but let the first error be the one raised
                    self.out(_("Could not restore the indexes: %(e)s") % {"e": e})

    def _max_id(self, cursor, model) -> int:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {model._meta.db_table}")
        return cursor.fetchone()[0]

    def _tune(self, *, on: bool) -> None:
        """Loader settings of the session (restored afterwards)."""
        conn = self.connection
        with conn.cursor() as cursor:
            if self.d.vendor == "sqlite":
                if conn.in_atomic_block:
                    return  # these pragmas cannot change inside a transaction (tests)
                if on:
                    self._pragmas = {}
                    for p in ("synchronous", "cache_size", "temp_store", "foreign_keys"):
                        cursor.execute(f"PRAGMA {p}")
                        self._pragmas[p] = cursor.fetchone()[0]
                    # foreign_keys can only change outside a transaction (not in tests).
                    for p, v in (
                        ("synchronous", "OFF"),
                        ("cache_size", "-1048576"),
                        ("temp_store", "MEMORY"),
                        ("foreign_keys", "OFF"),
                    ):
                        cursor.execute(f"PRAGMA {p} = {v}")
                else:
                    for p, v in self._pragmas.items():
                        cursor.execute(f"PRAGMA {p} = {v}")
            elif conn.in_atomic_block:
                # Inside a transaction (tests) pending deferred checks forbid ALTER TABLE.
                cursor.execute(f"SET CONSTRAINTS ALL {'IMMEDIATE' if on else 'DEFERRED'}")
            elif on:
                cursor.execute("SET maintenance_work_mem = '1GB'")
                cursor.execute("SET work_mem = '256MB'")
                cursor.execute("SET synchronous_commit = OFF")
            else:
                for setting in ("maintenance_work_mem", "work_mem", "synchronous_commit"):
                    cursor.execute(f"RESET {setting}")

    # Pools ----------------------------------------------------------------------------------

    def _pools(self, cursor) -> None:
        t = time.monotonic()
        rng = random.Random(f"{self.seed}:pools")
        party = []  # (k, kind, name, name_lower, pinyin, initials, gender, email_local, brand,
        #              industry, scope)
        seen = set()
        while len(party) < N_CHINESE:
            surname = rng.choice(pools.SURNAME_POOL)
            female = rng.random() < 0.5
            given = rng.choice(pools.FEMALE_GIVEN if female else pools.MALE_GIVEN)
            name = surname + given
            if name in seen:
                continue
            seen.add(name)
            py, ini = name_keys(name)
            gender = "female" if female else "male"
            party.append(
                (len(party), "person", name, name.lower(), py, ini, gender, py, "", "", "")
            )
        self.english_offset = len(party)
        for gender, firsts in (
            ("female", pools.ENGLISH_FIRST_FEMALE),
            ("male", pools.ENGLISH_FIRST_MALE),
        ):
            for first in firsts:
                for last in pools.ENGLISH_LAST:
                    name = f"{first} {last}"
                    py, ini = name_keys(name)
                    local = name.lower().replace(" ", ".")
                    party.append(
                        (
                            len(party),
                            "person",
                            name,
                            name.lower(),
                            py,
                            ini,
                            gender,
                            local,
                            "",
                            "",
                            "",
                        )
                    )
        self.n_english = len(party) - self.english_offset
        self.company_offset = len(party)
        brand_keys = {b: name_keys(b)[0] for b in pools.BRANDS}
        for name in pools.ENGLISH_COMPANIES:
            py, ini = name_keys(name)
            party.append(
                (len(party), "company", name, name.lower(), py, ini, "", "", py[:12], "批发零售",
                 pools.SCOPES["批发零售"])
            )  # fmt: skip
        seen = set()
        while len(party) - self.company_offset < N_COMPANIES:
            brand = rng.choice(pools.BRANDS)
            trade, industry = rng.choice(pools.COMPANY_TRADES)
            name = (
                rng.choice(pools.COMPANY_CITIES)
                + brand
                + trade
                + rng.choice(pools.COMPANY_SUFFIXES)
            )
            if name in seen:
                continue
            seen.add(name)
            py, ini = name_keys(name)
            party.append(
                (len(party), "company", name, name.lower(), py, ini, "", "", brand_keys[brand],
                 industry, pools.SCOPES.get(industry, ""))
            )  # fmt: skip
        self.n_companies = len(party) - self.company_offset
        places = [
            (len_k, province, city, district, pc)
            for len_k, (province, city, pc, district) in enumerate(
                (p[0], p[1], p[2], dist) for p in pools.PLACES for dist in p[3]
            )
        ]
        self.n_places = len(places)
        weights = [
            (j, round(100 * (1 - (j + 0.5) / N_WEIGHTS) ** (-1 / 1.6))) for j in range(N_WEIGHTS)
        ]
        product_ids = dict(
            Product.objects.filter(sku__in=[p[0] for p in pools.PRODUCTS]).values_list("sku", "pk")
        )
        products = [
            (k, product_ids.get(sku), name, category, int(price.replace(".", "")))
            for k, (sku, name, category, price) in enumerate(pools.PRODUCTS)
        ]
        self.tag_ids = [
            Tag.objects.get_or_create(name=name, defaults={"color": color})[0].pk
            for name, color in pools.TAGS
        ]
        self.seq_size = max(CUSTOMER_CHUNK, 1000)
        self._pool_rows = {
            "gx_party": party,
            "gx_place": places,
            "gx_weight": weights,
            "gx_product": products,
            "gx_seq": [(n,) for n in range(self.seq_size)],
        }
        self._pool_tables(cursor)
        self.stats.phases["pools"] = time.monotonic() - t

    def _pool_tables(self, cursor) -> None:
        """The session's temporary tables: the pools and the staging tables."""
        temp = "TEMP "
        big = "BIGINT"
        party, places = self._pool_rows["gx_party"], self._pool_rows["gx_place"]
        weights, products = self._pool_rows["gx_weight"], self._pool_rows["gx_product"]
        cursor.execute("DROP TABLE IF EXISTS gx_party")
        cursor.execute(
            f"CREATE {temp}TABLE gx_party (k {big} PRIMARY KEY, kind TEXT, name TEXT, "
            "name_lower TEXT, pinyin TEXT, initials TEXT, gender TEXT, email_local TEXT, "
            "brand TEXT, industry TEXT, scope TEXT)"
        )
        cursor.executemany("INSERT INTO gx_party VALUES (" + ", ".join(["%s"] * 11) + ")", party)
        cursor.execute("DROP TABLE IF EXISTS gx_place")
        cursor.execute(
            f"CREATE {temp}TABLE gx_place (k {big} PRIMARY KEY, province TEXT, city TEXT, "
            "district TEXT, pc TEXT)"
        )
        cursor.executemany("INSERT INTO gx_place VALUES (%s, %s, %s, %s, %s)", places)
        cursor.execute("DROP TABLE IF EXISTS gx_weight")
        cursor.execute(f"CREATE {temp}TABLE gx_weight (k {big} PRIMARY KEY, w {big})")
        cursor.executemany("INSERT INTO gx_weight VALUES (%s, %s)", weights)
        cursor.execute("DROP TABLE IF EXISTS gx_product")
        cursor.execute(
            f"CREATE {temp}TABLE gx_product (k {big} PRIMARY KEY, product_id {big}, name TEXT, "
            f"category TEXT, unit {big})"
        )
        cursor.executemany("INSERT INTO gx_product VALUES (%s, %s, %s, %s, %s)", products)
        cursor.execute("DROP TABLE IF EXISTS gx_seq")
        cursor.execute(f"CREATE {temp}TABLE gx_seq (n {big} PRIMARY KEY)")
        cursor.executemany("INSERT INTO gx_seq VALUES (%s)", self._pool_rows["gx_seq"])
        for table, columns in (
            (
                "gx_c",
                "i BIGINT PRIMARY KEY, id BIGINT, party BIGINT, created_ts BIGINT, "
                "owner_id BIGINT, phone1 TEXT, phone2 TEXT, email TEXT, ext BOOLEAN, "
                "domain_k BIGINT, "
                "gender_blank BOOLEAN, pind_k BIGINT, size_k BIGINT, addr BOOLEAN, place_k BIGINT, "
                "road_k BIGINT, house BIGINT, pc BIGINT, bday_ts BIGINT, source_u BIGINT, "
                "chan_k BIGINT, t1 BIGINT, t2 BIGINT, c1 BIGINT, c2 BIGINT, c1_title BIGINT, "
                "c2_title BIGINT, w BIGINT, rec_u BIGINT, rec_v BIGINT",
            ),
            (
                "gx_alloc",
                "id BIGINT PRIMARY KEY, created_ts BIGINT, cnt BIGINT, obase BIGINT, "
                "last_ts BIGINT, stage TEXT, stage_ts BIGINT",
            ),
            (
                "gx_o",
                "order_id BIGINT PRIMARY KEY, customer_id BIGINT, ts BIGINT, nl BIGINT, "
                "status_u BIGINT, chan_u BIGINT",
            ),
            (
                "gx_l",
                "order_id BIGINT, line_no BIGINT, product_k BIGINT, qty BIGINT, gross BIGINT, "
                "disc BIGINT",
            ),
        ):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(f"CREATE {temp}TABLE {table} ({columns})")

    # Indexes, keys, triggers ----------------------------------------------------------------

    def _set_aside(self, models) -> None:
        """Drop the secondary indexes (and on PostgreSQL the foreign keys) of `models`."""
        t = time.monotonic()
        with self.connection.cursor() as cursor:
            for table in self._tables(models):
                if self.d.vendor == "sqlite":
                    cursor.execute(
                        "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                        "AND tbl_name = %s AND sql IS NOT NULL",
                        [table],
                    )
                    indexes = cursor.fetchall()
                    if table == Customer._meta.db_table:
                        cursor.execute(f"DROP TRIGGER IF EXISTS {search_index.FTS}_ai")
                else:
                    cursor.execute(
                        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
                        "AND indexname NOT IN (SELECT conname FROM pg_constraint "
                        "WHERE conrelid = %s::regclass)",
                        [table, table],
                    )
                    indexes = cursor.fetchall()
                    cursor.execute(
                        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                        "WHERE conrelid = %s::regclass AND contype = 'f'",
                        [table],
                    )
                    self._saved_fks[table] = cursor.fetchall()
                    for name, _def in self._saved_fks[table]:
                        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                self._saved_indexes[table] = indexes
                for name, _sql in indexes:
                    cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
        self.stats.phases["set aside " + models[0]._meta.model_name] = time.monotonic() - t

    def _restore(self, models, *, search: bool = False, wait: bool = True):
        """Rebuild what `_set_aside` dropped; on SQLite index the new rows for search.

        On PostgreSQL the trigram index is built on a second connection; with `wait` false
        the (thread, start time) of that build is returned for `_join` instead of waited for.
        """
        t = time.monotonic()
        side = None
        statements = []
        for table in self._tables(models):
            statements += [sql for _name, sql in self._saved_indexes.pop(table, [])]
        conn = self.connection
        if self.d.vendor == "postgresql":
            # Foreign keys first: adding one waits for any index build on the table.
            with conn.cursor() as cursor:
                for table in self._tables(models):
                    for name, definition in self._saved_fks.pop(table, []):
                        cursor.execute(
                            f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition} NOT VALID'
                        )
                        cursor.execute(f'ALTER TABLE {table} VALIDATE CONSTRAINT "{name}"')
            # The trigram index takes longest; build it beside the others on a second
            # connection (two cores), unless we are inside a transaction (tests).
            slow = [s for s in statements if "gin" in s.lower()]
            fast = [s for s in statements if s not in slow]
            analyze = [f"ANALYZE {table}" for table in self._tables(models)]
            if slow and not conn.in_atomic_block:
                # ANALYZE waits for index builds on its table, so it follows them there.
                thread = threading.Thread(
                    target=self._build_on_side_connection, args=(slow + analyze,)
                )
                thread.start()
                side, analyze = (thread, time.monotonic()), []
            else:
                fast = slow + fast
            with conn.cursor() as cursor:
                for sql in fast + analyze:
                    cursor.execute(sql)
            if side is not None and wait:
                self._join(side)
                side = None
        else:
            with conn.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)
                if search:
                    fts = search_index.FTS
                    t_fts = time.monotonic()
                    # Merging segments while loading costs more than it saves.
                    cursor.execute(f"INSERT INTO {fts}({fts}, rank) VALUES ('automerge', 0)")
                    cursor.execute(
                        f"INSERT INTO {fts}(rowid, search_text) "
                        "SELECT id, search_text FROM customers_customer WHERE id >= %s",
                        [self.first_customer_id],
                    )
                    cursor.execute(f"INSERT INTO {fts}({fts}, rank) VALUES ('automerge', 4)")
                    cursor.execute(search_index.SQLITE_TRIGGERS[f"{fts}_ai"])
                    self.stats.phases["search index"] = time.monotonic() - t_fts
                cursor.execute("PRAGMA analysis_limit = 1000")
                for table in self._tables(models):
                    cursor.execute(f"ANALYZE {table}")
        self.stats.phases["indexes " + models[0]._meta.model_name] = time.monotonic() - t
        return side

    _side_error = None
    _side_done = _load_started = 0.0

    def _build_on_side_connection(self, statements) -> None:
        side = connections.create_connection("default")
        try:
            with side.cursor() as cursor:
                cursor.execute("SET maintenance_work_mem = '1GB'")
                for sql in statements:
                    cursor.execute(sql)
            self._side_done = time.monotonic()
        except Exception as e:  # re-raised in the loading thread
            self._side_error = e
        finally:
            side.close()

    # Customers ------------------------------------------------------------------------------

    def _customers(self) -> None:
        started = time.monotonic()
        n = self.n_customers
        chunks = [(s, min(s + CUSTOMER_CHUNK, n)) for s in range(0, n, CUSTOMER_CHUNK)]
        done = [0]

        def load(session, mine):
            for start, end in mine:
                with session.transaction() as cursor:
                    self._customer_chunk(cursor, start, end)
                with self._lock:
                    done[0] += end - start
                    self.stats.customers = done[0]
                    elapsed = time.monotonic() - started
                    self.out(
                        _("  customers %(done)s / %(total)s  (%(rate)s per second)")
                        % {
                            "done": f"{done[0]:,}",
                            "total": f"{n:,}",
                            "rate": f"{done[0] / max(elapsed, 1e-9):,.0f}",
                        }
                    )
                session.customer_ranges.append((start, end))

        self._in_sessions(load, chunks)
        self.stats.phases["customer rows"] = time.monotonic() - started

    def _in_sessions(self, work, items) -> None:
        """Share `items` round-robin among the sessions and run `work(session, mine)` in each
        (the side sessions in their own threads, the main one here)."""
        sessions = self.sessions
        shares = [items[k :: len(sessions)] for k in range(len(sessions))]
        for session, mine in zip(sessions[1:], shares[1:], strict=True):
            session.submit(work, mine)
        work(sessions[0], shares[0])
        for session in sessions[1:]:
            session.wait()

    def _customer_chunk(self, cursor, start: int, end: int) -> None:
        h = self.h
        count = end - start
        owners = self.owner_ids or [None]
        owner_expr = case(f"(i % {len(owners)})", owners, quote=True)
        np_, ne, nc = N_CHINESE, self.n_english, self.n_companies
        eo, co = self.english_offset, self.company_offset
        cursor.execute("DELETE FROM gx_c")
        hashes = ", ".join(f"{h(k, 'i')} AS h{k}" for k in range(14))
        cursor.execute(
            f"""
            WITH q AS MATERIALIZED (
                SELECT i, {hashes} FROM (SELECT {start} + n AS i FROM gx_seq WHERE n < {count}) s
            ), r AS MATERIALIZED (
                SELECT q.*, CASE WHEN h0 % 1000 < 300 THEN {co} + h1 % {nc}
                                 WHEN h0 % 1000 < 384 THEN {eo} + h1 % {ne}
                                 ELSE h1 % {np_} END AS party
                FROM q
            )
            INSERT INTO gx_c
            SELECT i, {self.first_customer_id} + i, party,
                {self.now_ts} - 3600 - h2 % {HISTORY_SECONDS},
                {owner_expr},
                {self._phone(0)},
                CASE WHEN h3 % 100 < 10 THEN {self._phone(1)} END,
                CASE WHEN p.kind = 'company' THEN 'info@' || p.brand || CAST(i AS TEXT) || '.com'
                     WHEN (h3 / 100) % 100 < 75
                     THEN p.email_local || CAST(i AS TEXT) || '@'
                          || {case("h4 % 6", pools.EMAIL_DOMAINS)} END,
                (h3 / 10000) % 100 < 8,
                h4 % 6, (h4 / 6) % 100 < 20, (h4 / 600) % {len(pools.PERSON_INDUSTRIES)},
                (h4 / 6000) % {len(pools.COMPANY_SIZES)},
                h5 % 100 < 92, (h5 / 100) % {self.n_places}, (h5 / 100000) % {len(pools.ROADS)},
                1 + h6 % 880, (h6 / 880) % 1000,
                CASE WHEN h7 % 100 < 70 THEN -157766400 + ((h7 / 100) % 13560000) * 100 END,
                h8 % 100, (h8 / 100) % {len(pools.PREFERRED_CHANNELS)},
                CASE WHEN h9 % 100 < 40 THEN (h9 / 100) % 8 END,
                CASE WHEN h9 % 100 < 40 AND (h9 / 800) % 100 < 25
                      AND (h9 / 80000) % 8 <> (h9 / 100) % 8 THEN (h9 / 80000) % 8 END,
                CASE WHEN h0 % 1000 < 300 THEN (h10 / 100) % {np_} END,
                CASE WHEN h0 % 1000 < 300 AND h10 % 100 < 40 THEN h11 % {np_} END,
                (h11 / {np_}) % {len(pools.CONTACT_TITLES)},
                (h11 / {np_ * 16}) % {len(pools.CONTACT_TITLES)},
                CASE WHEN h12 % 100 < 25 THEN 0
                     WHEN h12 % 100 < 40 THEN 15
                     ELSE (SELECT w FROM gx_weight WHERE k = (h12 / 100) % {N_WEIGHTS}) END,
                h13 % 100, h13 / 100
            FROM r JOIN gx_party p ON p.k = r.party
            """
        )
        self._allocate(cursor, start, end)
        self._insert_customers(cursor)

    def _allocate(self, cursor, start: int, end: int) -> None:
        """Share out this chunk's orders by weight, exactly; decide the stage of each."""
        n, m = self.n_customers, self.n_orders
        budget = m * end // n - m * start // n
        base = self.first_order_id + m * start // n
        cursor.execute("SELECT COALESCE(SUM(w), 0) FROM gx_c")
        total = int(cursor.fetchone()[0])
        if budget and not total:
            cursor.execute("UPDATE gx_c SET w = 1 WHERE i = %s", [start])
            total = 1
        total = total or 1
        now = self.now_ts
        last = f"""(CASE
            WHEN rec_u < 55 THEN {now} - (rec_v % {90 * DAY // 100}) * 100
            WHEN rec_u < 80 THEN {now} - {90 * DAY} - (rec_v % {275 * DAY // 100}) * 100
            ELSE {now} - {365 * DAY} - (rec_v % {365 * DAY // 100}) * 100 END)"""
        cursor.execute(
            f"""
            INSERT INTO gx_alloc (id, created_ts, cnt, obase, last_ts, stage, stage_ts)
            SELECT id, created_ts, cnt, obase, last_ts,
                CASE WHEN cnt = 0 THEN 'lead'
                     WHEN last_ts > {now - 90 * DAY} AND cnt > 1 THEN 'active'
                     WHEN last_ts > {now - 90 * DAY} THEN 'new'
                     WHEN last_ts > {now - 365 * DAY} THEN 'at_risk'
                     ELSE 'churned' END,
                CASE WHEN cnt = 0 THEN created_ts
                     WHEN last_ts > {now - 90 * DAY} THEN last_ts
                     WHEN last_ts > {now - 365 * DAY} THEN last_ts + {90 * DAY}
                     ELSE last_ts + {365 * DAY} END
            FROM (
                SELECT id, created_ts, cnt, {base} + before AS obase,
                    CASE WHEN cnt = 0 THEN NULL
                         WHEN {last} > created_ts THEN {last}
                         ELSE created_ts + (rec_v % ({now} - created_ts)) END AS last_ts
                FROM (
                    SELECT id, created_ts, rec_u, rec_v,
                        (cum * {budget}) / {total} - ((cum - w) * {budget}) / {total} AS cnt,
                        ((cum - w) * {budget}) / {total} AS before
                    FROM (
                        SELECT id, created_ts, rec_u, rec_v, w,
                            CAST(SUM(w) OVER (ORDER BY i ROWS UNBOUNDED PRECEDING) AS BIGINT)
                                AS cum
                        FROM gx_c
                    ) c
                ) a
            ) b
            """
        )

    def _phone(self, salt: int, i: str = "i") -> str:
        """`generate.mobile(i, salt)` in SQL: a valid mobile number in E.164."""
        prefixes = pools.MOBILE_PREFIXES
        packed = "".join(prefixes)  # all three digits long: a substring is an O(1) pick
        k = f"CAST(1 + 3 * (({i} * 7 + {salt * 13}) % {len(prefixes)}) AS INTEGER)"
        suffix = self.d.lpad(f"({i} * 7654321 + {salt * 31_415_927 + 12_345}) % 100000000", 8)
        return f"'+86' || substr('{packed}', {k}, 3) || {suffix}"

    def _external_id(self) -> str:
        return f"('SHOP-{self.seed}-' || {self.d.lpad('c.i', 8)})"

    def _insert_customers(self, cursor) -> None:
        d = self.d
        t = "c.created_ts"
        nat1, nat2 = "substr(c.phone1, 4)", "substr(c.phone2, 4)"
        # The same parts in the same order as cleaning.build_search_text.
        search_text = (
            f"p.name_lower || ' ' || p.pinyin || ' ' || p.initials"
            f" || ' ' || {nat1} || ' 86' || {nat1}"
            f" || CASE WHEN c.phone2 IS NOT NULL THEN ' ' || {nat2} || ' 86' || {nat2} ELSE '' END"
            " || CASE WHEN c.email IS NOT NULL THEN ' ' || c.email ELSE '' END"
            " || CASE WHEN c.c1 IS NOT NULL THEN ' ' || p1.name_lower || ' ' || p1.pinyin"
            " ELSE '' END"
            " || CASE WHEN c.c2 IS NOT NULL THEN ' ' || p2.name_lower || ' ' || p2.pinyin"
            " ELSE '' END"
            f" || CASE WHEN c.ext THEN ' ' || lower({self._external_id()}) ELSE '' END"
        )
        joins = (
            "FROM gx_c c JOIN gx_alloc a ON a.id = c.id JOIN gx_party p ON p.k = c.party "
            "LEFT JOIN gx_party p1 ON p1.k = c.c1 LEFT JOIN gx_party p2 ON p2.k = c.c2"
        )
        cursor.execute(
            f"""
            INSERT INTO customers_customer (id, created_at, updated_at, owner_id, kind, name,
                name_pinyin, name_initials, search_text, company_name, gender, birthday,
                industry, company_size, business_scope, source, preferred_channel, stage,
                stage_changed_at, external_id, notes, custom_fields)
            SELECT c.id, {d.ts(t)}, {d.ts(t)}, c.owner_id, p.kind, p.name, p.pinyin, p.initials,
                {search_text}, '',
                CASE WHEN c.gender_blank THEN '' ELSE p.gender END,
                CASE WHEN p.kind = 'person' AND c.bday_ts IS NOT NULL
                     THEN {d.date("c.bday_ts")} END,
                CASE WHEN p.kind = 'company' THEN p.industry
                     ELSE {case("c.pind_k", pools.PERSON_INDUSTRIES)} END,
                CASE WHEN p.kind = 'company' THEN {case("c.size_k", pools.COMPANY_SIZES)}
                     ELSE '' END,
                CASE WHEN p.kind = 'company' THEN p.scope ELSE '' END,
                {weighted_case("c.source_u", pools.SOURCES)},
                {case("c.chan_k", pools.PREFERRED_CHANNELS)},
                a.stage, {d.ts("a.stage_ts")},
                CASE WHEN c.ext THEN {self._external_id()} END, '', {d.json_empty}
            {joins}
            ORDER BY c.id
            """
        )
        cursor.execute(
            """
            INSERT INTO customers_customerphone (customer_id, number, extension, label, position)
            SELECT c.id, c.phone1, '', '', 0 FROM gx_c c
            UNION ALL
            SELECT c.id, c.phone2, '', '', 1 FROM gx_c c WHERE c.phone2 IS NOT NULL
            """
        )
        cursor.execute(
            """
            INSERT INTO customers_customeremail (customer_id, email, label, position)
            SELECT c.id, c.email, '', 0 FROM gx_c c WHERE c.email IS NOT NULL
            """
        )
        cursor.execute(
            f"""
            INSERT INTO customers_address (customer_id, created_at, updated_at, label, province,
                city, district, street, postcode, is_primary)
            SELECT c.id, {d.ts(t)}, {d.ts(t)}, '', pl.province, pl.city, pl.district,
                {case("c.road_k", pools.ROADS)} || CAST(c.house AS TEXT) || '号',
                pl.pc || {d.lpad("c.pc", 3)}, {d.true}
            FROM gx_c c JOIN gx_place pl ON pl.k = c.place_k WHERE c.addr
            """
        )
        titles = pools.CONTACT_TITLES
        for n, (column, title, primary) in enumerate(
            (("c1", "c.c1_title", d.true), ("c2", "c.c2_title", d.false))
        ):
            cursor.execute(
                f"""
                INSERT INTO customers_contact (customer_id, created_at, updated_at, name, title,
                    phone, email, is_primary, notes)
                SELECT c.id, {d.ts(t)}, {d.ts(t)}, q.name, {case(title, titles)},
                    {self._phone(2 + n, "c.i")},
                    q.pinyin || '@' || p.brand || CAST(c.i AS TEXT) || '.com', {primary}, ''
                FROM gx_c c JOIN gx_party q ON q.k = c.{column} JOIN gx_party p ON p.k = c.party
                """
            )
        tag_case = case("{}", self.tag_ids, quote=True)
        cursor.execute(
            f"""
            INSERT INTO customers_customer_tags (customer_id, tag_id)
            SELECT c.id, {tag_case.format("c.t1")} FROM gx_c c WHERE c.t1 IS NOT NULL
            UNION ALL
            SELECT c.id, {tag_case.format("c.t2")} FROM gx_c c WHERE c.t2 IS NOT NULL
            """
        )
        causes = {
            "new": _("first order"),
            "active": _("repeat purchases"),
            "at_risk": _("no order for 90 days"),
            "churned": _("no order for a year"),
        }
        cause_case = (
            "(CASE a.stage "
            + " ".join(f"WHEN '{k}' THEN {_lit(v)}" for k, v in causes.items())
            + " END)"
        )
        cursor.execute(
            f"""
            INSERT INTO customers_stagechange (customer_id, from_stage, to_stage, cause,
                actor_id, at)
            SELECT c.id, '', 'lead', {_lit(_("created"))}, c.owner_id, {d.ts(t)} FROM gx_c c
            UNION ALL
            SELECT a.id, 'lead', a.stage, {cause_case}, CAST(NULL AS BIGINT), {d.ts("a.stage_ts")}
            FROM gx_c c JOIN gx_alloc a ON a.id = c.id WHERE a.stage <> 'lead'
            """
        )
        stage_data = (
            '\'{"from": "lead", "to": "\' || a.stage || \'", "cause": "\' '
            f"|| {cause_case} || '\"}}'"
        )
        if d.vendor == "postgresql":
            stage_data = f"CAST({stage_data} AS jsonb)"
        cursor.execute(
            f"""
            INSERT INTO interactions_timelineevent (customer_id, kind, at, actor_id, data,
                object_model, object_id)
            SELECT c.id, 'created', {d.ts(t)}, c.owner_id, {d.json_empty}, '',
                CAST(NULL AS BIGINT) FROM gx_c c
            UNION ALL
            SELECT a.id, 'stage_changed', {d.ts("a.stage_ts")}, CAST(NULL AS BIGINT),
                {stage_data}, '', CAST(NULL AS BIGINT)
            FROM gx_c c JOIN gx_alloc a ON a.id = c.id WHERE a.stage <> 'lead'
            """
        )

    # Orders ---------------------------------------------------------------------------------

    def _orders(self) -> None:
        started = time.monotonic()
        first = self.first_customer_id
        reported = [0]

        def load(session, _mine):
            # Each session makes the orders of the customers it made (its gx_alloc rows).
            with session.transaction() as cursor:
                cursor.execute("SELECT COALESCE(MAX(cnt), 0) FROM gx_alloc")
                most = cursor.fetchone()[0]
                if most > session.seq_size:
                    cursor.executemany(
                        "INSERT INTO gx_seq VALUES (%s)",
                        [(k,) for k in range(session.seq_size, most)],
                    )
                    session.seq_size = most
            for start, end in session.customer_ranges:
                for lo in range(start, end, ORDER_CHUNK):
                    hi = min(lo + ORDER_CHUNK, end)
                    with session.transaction() as cursor:
                        orders, lines = self._order_chunk(cursor, first + lo, first + hi - 1)
                    with self._lock:
                        self.stats.orders += orders
                        self.stats.lines += lines
                        if self.stats.orders - reported[0] >= 1_000_000 or (
                            self.stats.orders == self.n_orders
                        ):
                            reported[0] = self.stats.orders
                            elapsed = time.monotonic() - started
                            self.out(
                                _("  orders %(done)s / %(total)s  (%(rate)s per second)")
                                % {
                                    "done": f"{self.stats.orders:,}",
                                    "total": f"{self.n_orders:,}",
                                    "rate": f"{self.stats.orders / max(elapsed, 1e-9):,.0f}",
                                }
                            )

        self._in_sessions(load, [None] * len(self.sessions))
        self.stats.phases["order rows"] = time.monotonic() - started

    def _order_chunk(self, cursor, lo: int, hi: int) -> tuple[int, int]:
        d, h = self.d, self.h
        cursor.execute("DELETE FROM gx_o")
        cursor.execute("DELETE FROM gx_l")
        cursor.execute(
            f"""
            WITH q AS MATERIALIZED (
                SELECT a.obase + s.n AS oid, a.id AS cid, a.created_ts, a.last_ts, a.cnt, s.n,
                    {h(20, "a.obase + s.n")} AS g0, {h(21, "a.obase + s.n")} AS g1
                FROM gx_alloc a JOIN gx_seq s ON s.n < a.cnt
                WHERE a.id BETWEEN {lo} AND {hi}
            )
            INSERT INTO gx_o (order_id, customer_id, ts, nl, status_u, chan_u)
            SELECT oid, cid,
                CASE WHEN n = cnt - 1 THEN last_ts
                     ELSE created_ts + g0 % (CASE WHEN last_ts > created_ts
                                                  THEN last_ts - created_ts ELSE 1 END) END,
                CASE WHEN g1 % 100 < 55 THEN 1 WHEN g1 % 100 < 85 THEN 2 ELSE 3 END,
                (g1 / 100) % 100, (g1 / 10000) % 100
            FROM q
            """
        )
        n_products = len(pools.PRODUCTS)
        cursor.execute(
            f"""
            WITH q AS MATERIALIZED (
                SELECT o.order_id, s.n AS line_no, {h(22, "o.order_id * 4 + s.n")} AS l0
                FROM gx_o o JOIN gx_seq s ON s.n < o.nl
            ), r AS MATERIALIZED (
                SELECT q.order_id, q.line_no, l0 % {n_products} AS product_k,
                    CASE WHEN (l0 / 30) % 100 < 70 THEN 1 ELSE 2 + (l0 / 3000) % 4 END AS qty,
                    (l0 / 12000) % 100 < 15 AS discounted
                FROM q
            )
            INSERT INTO gx_l (order_id, line_no, product_k, qty, gross, disc)
            SELECT r.order_id, r.line_no, r.product_k, r.qty, p.unit * r.qty,
                CASE WHEN r.discounted THEN ((p.unit * r.qty) / 1000) * 100 ELSE 0 END
            FROM r JOIN gx_product p ON p.k = r.product_k
            """
        )
        t = "o.ts"
        cursor.execute(
            f"""
            INSERT INTO orders_order (id, created_at, updated_at, customer_id, number,
                ordered_at, status, channel, currency, total, notes)
            SELECT o.order_id, {d.ts(t)}, {d.ts(t)}, o.customer_id,
                'DM' || {d.lpad("o.order_id", 9)}, {d.ts(t)},
                {weighted_case("o.status_u", pools.ORDER_STATUSES)},
                {weighted_case("o.chan_u", pools.SALES_CHANNELS)},
                'CNY', {d.money("t.total")}, ''
            FROM gx_o o JOIN (
                SELECT order_id, SUM(gross - disc) AS total FROM gx_l GROUP BY order_id
            ) t ON t.order_id = o.order_id
            ORDER BY o.order_id
            """
        )
        orders = cursor.rowcount
        cursor.execute(
            f"""
            INSERT INTO orders_orderline (order_id, product_id, product_name, category,
                quantity, unit_price, discount, amount)
            SELECT l.order_id, p.product_id, p.name, p.category, l.qty, {d.money("p.unit")},
                {d.money("l.disc")}, {d.money("l.gross - l.disc")}
            FROM gx_l l JOIN gx_product p ON p.k = l.product_k
            ORDER BY l.order_id, l.line_no
            """
        )
        return orders, cursor.rowcount

    # Finish ---------------------------------------------------------------------------------

    def _finish(self) -> None:
        conn = self.connection
        with conn.cursor() as cursor:
            if self.d.vendor == "postgresql":
                models = [*self.customer_models, *self.order_models]
                for sql in conn.ops.sequence_reset_sql(no_style(), models):
                    cursor.execute(sql)
            elif not conn.in_atomic_block:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
