"""The substring-search index over Customer.search_text, per database.

SQLite: an external-content FTS5 table with the trigram tokenizer, kept in step by triggers.
PostgreSQL: a GIN index with pg_trgm's trigram operator class.
Both answer `LIKE '%fragment%'`-style searches of three characters or more from an index.
SQLite drops a table's triggers when Django rebuilds the table in a later migration, so
`ensure_search_index` runs after every migrate and restores what is missing.
"""

from contextlib import contextmanager

FTS = "customers_customer_fts"
SQLITE_TRIGGERS = {
    f"{FTS}_ai": f"""CREATE TRIGGER IF NOT EXISTS {FTS}_ai AFTER INSERT ON customers_customer
        BEGIN INSERT INTO {FTS}(rowid, search_text) VALUES (new.id, new.search_text); END""",
    f"{FTS}_ad": f"""CREATE TRIGGER IF NOT EXISTS {FTS}_ad AFTER DELETE ON customers_customer
        BEGIN INSERT INTO {FTS}({FTS}, rowid, search_text)
              VALUES ('delete', old.id, old.search_text); END""",
    f"{FTS}_au": f"""CREATE TRIGGER IF NOT EXISTS {FTS}_au
        AFTER UPDATE OF search_text ON customers_customer
        BEGIN INSERT INTO {FTS}({FTS}, rowid, search_text)
              VALUES ('delete', old.id, old.search_text);
              INSERT INTO {FTS}(rowid, search_text) VALUES (new.id, new.search_text); END""",
}
PG_INDEX = "customers_customer_search_trgm"


def ensure_search_index(connection) -> bool:
    """Create whatever part of the index is missing; True if anything had to be made."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE name LIKE %s", [f"{FTS}%"])
            present = {row[0] for row in cursor.fetchall()}
            missing = ({FTS} | set(SQLITE_TRIGGERS)) - present
            if not missing:
                return False
            cursor.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS} USING fts5(search_text, "
                "content='customers_customer', content_rowid='id', tokenize='trigram')"
            )
            for sql in SQLITE_TRIGGERS.values():
                cursor.execute(sql)
            cursor.execute(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')")
            return True
        if connection.vendor == "postgresql":
            cursor.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", [PG_INDEX])
            if cursor.fetchone():
                return False
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON customers_customer "
                "USING gin (search_text gin_trgm_ops)"
            )
            return True
    return False


def rebuild_search_index(connection) -> None:
    """Re-read every row into the index (after bulk loads that bypassed the triggers)."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')")


@contextmanager
def writing_many(connection):
    """Inside a transaction: write many customers without the per-row FTS5 triggers.

    On SQLite a trigger-maintained FTS5 row costs ten times what a direct insert into the
    FTS table does, so bulk writers drop the insert and update triggers for the length of
    their transaction, keep the index in step themselves through the `Index` yielded
    (`added(ids)` after inserting customers, `replaced(old)` after changing their search
    text), and the triggers come back before it commits. DDL is transactional in SQLite and
    the write lock keeps every other writer out meanwhile, so nobody else writes a customer
    without its trigger; a crash rolls the drop back. On PostgreSQL the GIN index keeps
    itself in step and nothing needs doing.
    """
    if connection.vendor != "sqlite":
        yield _NoIndex()
        return
    assert connection.in_atomic_block, "writing_many needs a transaction"
    names = [f"{FTS}_ai", f"{FTS}_au"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name IN (%s, %s)", names
        )
        present = {row[0] for row in cursor.fetchall()}
        for name in present:
            cursor.execute(f"DROP TRIGGER {name}")
    try:
        yield _FtsIndex(connection)
    finally:
        with connection.cursor() as cursor:
            for name in present:
                cursor.execute(SQLITE_TRIGGERS[name])


class _NoIndex:
    def added(self, ids) -> None:
        pass

    def replaced(self, old: dict[int, str]) -> None:
        pass


class _FtsIndex:
    def __init__(self, connection):
        self.connection = connection

    def added(self, ids) -> None:
        """Index customers just inserted (their search text as stored)."""
        ids = list(ids)
        with self.connection.cursor() as cursor:
            for start in range(0, len(ids), 5000):
                part = ids[start : start + 5000]
                marks = ", ".join(["%s"] * len(part))
                cursor.execute(
                    f"INSERT INTO {FTS}(rowid, search_text) SELECT id, search_text "
                    f"FROM customers_customer WHERE id IN ({marks})",
                    part,
                )

    def replaced(self, old: dict[int, str]) -> None:
        """Re-index customers whose search text changed from `old` (id → previous text)."""
        if not old:
            return
        with self.connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {FTS}({FTS}, rowid, search_text) VALUES ('delete', %s, %s)",
                list(old.items()),
            )
        self.added(old)
