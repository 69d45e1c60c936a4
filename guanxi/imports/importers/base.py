"""What every kind of import shares: a row read into values with its problems named by column,
and a chunk of prepared rows written set-based through the owning app's services."""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from guanxi.accounts.models import User

from ..choices import Severity
from ..fields import fields_for
from ..readers import Row

_ESCAPED = {"=", "+", "-", "@"}


def _unescaped(value: str) -> str:
    """A cell without the apostrophe our exports put before = + - @."""
    if value and value[0] == "'" and value[1:2] in _ESCAPED:
        return value[1:]
    return value


@dataclass(slots=True)
class Issue:
    row: int
    column: str
    field: str
    value: str
    message: str
    severity: str = Severity.ERROR


@dataclass(slots=True)
class Prepared:
    """One row as it will be stored (`values`), or its reasons for not being stored."""

    row: int
    values: dict = field(default_factory=dict)  # field key → cleaned value, for the preview
    item: object = None  # what the writer needs (a PreparedCustomer, an order dict …)
    issues: list[Issue] = field(default_factory=list)
    match: object = None  # the row's record-matching features, where duplicates are sought

    @property
    def ok(self) -> bool:
        return self.item is not None and not any(i.severity == Severity.ERROR for i in self.issues)


@dataclass
class Outcome:
    """What writing a chunk did: counts, the records it wrote, problems found on the way."""

    counts: dict = field(default_factory=dict)
    records: list[tuple] = field(default_factory=list)  # (row, model, object_id, action, before)
    issues: list[Issue] = field(default_factory=list)
    reviews: list[tuple] = field(default_factory=list)  # (customer_id, other_id, score, why)
    # Per row: what happened to it and where it went (for the preview).
    outcomes: dict[int, dict] = field(default_factory=dict)

    def add(self, key: str, n: int = 1) -> None:
        if n:
            self.counts[key] = self.counts.get(key, 0) + n


class Importer:
    """Reads rows of one kind of file; subclasses say how to clean them and write them."""

    kind = ""
    # Tables a large import both grows and looks things up in (app_label.Model): on
    # PostgreSQL their planner statistics are refreshed as the import goes (pipeline.run).
    looked_up = ("customers.Customer", "customers.CustomerPhone", "customers.CustomerEmail")
    # Tables a large import grows and reads, if at all, only by these columns: while it
    # writes, their other indexes may be set aside and built again at the end (pipeline.run).
    bulk_written: dict[str, tuple[str, ...]] = {}

    def __init__(self, job, *, actor, definitions=None):
        self.job = job
        self.actor = actor
        self.definitions = definitions or {}
        self.fields = {f.key: f for f in fields_for(job.kind, self.definitions.values())}
        self.headers = job.headers
        # field key → the column positions mapped to it (several for phones)
        self.columns: dict[str, list[int]] = {}
        for position, key in sorted(job.mapping.items(), key=lambda kv: int(kv[0])):
            if key in self.fields:
                self.columns.setdefault(key, []).append(int(position))
        self._users = None

    # Reading --------------------------------------------------------------------------------

    def cells(self, row: Row, key: str) -> list[tuple[int, str]]:
        """(column, text) of the non-empty cells mapped to `key`."""
        out = []
        cells = row.cells
        for i in self.columns.get(key, ()):
            value = _unescaped(cells[i].strip())
            if value:
                out.append((i, value))
        return out

    def cell(self, row: Row, key: str) -> tuple[int | None, str]:
        columns = self.columns.get(key)
        if columns is not None and len(columns) == 1:  # most fields: one column, read inline
            return columns[0], _unescaped(row.cells[columns[0]].strip())
        found = self.cells(row, key)
        return found[0] if found else (self.columns.get(key, [None])[0], "")

    def issue(self, prepared: Prepared, column: int | None, key: str, value, message, **kw):
        header = self.headers[column] if column is not None and column < len(self.headers) else ""
        prepared.issues.append(
            Issue(prepared.row, header, key, str(value or "")[:500], str(message)[:500], **kw)
        )

    def convert(self, prepared: Prepared, row: Row, key: str, convert, *, warn=False):
        """The value of a single-column field run through `convert`, or None with an issue."""
        column, text = self.cell(row, key)
        if not text:
            return None
        try:
            return convert(text)
        except ValueError as e:
            severity = Severity.WARNING if warn else Severity.ERROR
            self.issue(prepared, column, key, text, e, severity=severity)
            return None

    def cell_notes(self, prepared: Prepared, row: Row) -> None:
        """Problems the reader found with mapped cells (bad encoding, Excel's 15 digits)."""
        mapped = {i: key for key, cols in self.columns.items() for i in cols}
        for i, note in row.notes.items():
            if i in mapped:
                self.issue(prepared, i, mapped[i], row.cells[i], note)

    def missing_required(self) -> list[str]:
        return [
            str(spec.label)
            for spec in self.fields.values()
            if spec.required and spec.key not in self.columns
        ]

    def user_by_name(self, text: str) -> User | None:
        """An active user by username, display name or full name (case-insensitive)."""
        if self._users is None:
            self._users = {}
            for user in User.objects.filter(is_active=True):
                for name in (user.username, user.display_name, user.get_full_name()):
                    if name:
                        self._users.setdefault(name.strip().lower(), user)
        return self._users.get(text.strip().lower())

    def unknown_user(self, text: str) -> str:
        return _("No active user is called “%(name)s”.") % {"name": text}

    def begin(self) -> None:
        """Called once before the first chunk is prepared (inside the import's transaction)."""

    def end(self) -> None:
        """Called once after the last chunk is written, in the same transaction (not on a
        dry run): what the importer held back is written now."""

    def begin_preview(self) -> None:
        """Called before a preview of the first rows (outside its rolled-back transaction)."""

    def warm(self) -> None:
        """Read now what `prepare` will look up (users), so that it needs no database."""
        self.user_by_name("")

    # To override -----------------------------------------------------------------------------

    def prepare(self, row: Row) -> Prepared:
        raise NotImplementedError

    def write(self, chunk: list[Prepared], *, dry_run: bool) -> Outcome:
        raise NotImplementedError

    def display(self, p: Prepared) -> dict[str, str]:
        """The row's values as they will be stored, by field key (for the preview)."""
        return {k: str(val) for k, val in p.values.items()}
