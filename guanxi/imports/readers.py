"""Reading the tables people have: CSV in whatever encoding and delimiter, Excel sheets.

`open_table(path)` looks at the file and says what it is (format, encoding, delimiter, sheet,
header row) without being told; `Table.rows()` then yields every data row as text cells,
with the row number a spreadsheet would show. Nothing here knows about customers.
"""

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from django.utils.translation import gettext as _

SAMPLE_BYTES = 256 * 1024
DELIMITERS = [",", ";", "\t", "|"]
# Excel keeps 15 significant digits of a number; longer digit strings (ID numbers, long
# account numbers) typed into a number cell come out with their tail zeroed.
EXCEL_DIGITS = 15

csv.field_size_limit(16 * 1024 * 1024)


class UnreadableFile(ValueError):
    """The file is not a table we can read; the message says why, for the person uploading."""


@dataclass
class Row:
    number: int  # as a spreadsheet shows it: the header row is 1 in a CSV
    cells: list[str]
    notes: dict[int, str] = field(default_factory=dict)  # column → a problem with that cell


@dataclass
class Table:
    path: Path
    format: str  # "csv", "xlsx", "xls", "ods"
    encoding: str = ""
    delimiter: str = ""
    sheet: str = ""
    sheets: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    header_number: int = 1

    def rows(self) -> Iterator[Row]:
        """The data rows after the header, blank rows left out."""
        source = self._csv_rows() if self.format == "csv" else self._sheet_rows()
        seen_header = False
        for row in source:
            if not any(c.strip() for c in row.cells):
                continue
            if not seen_header:
                seen_header = True
                continue
            width = len(self.headers)
            if len(row.cells) < width:
                row.cells += [""] * (width - len(row.cells))
            yield row

    def sample(self, n: int = 5) -> list[Row]:
        out = []
        for row in self.rows():
            out.append(row)
            if len(out) >= n:
                break
        return out

    def count_rows(self) -> int:
        return sum(1 for _row in self.rows())

    # CSV -----------------------------------------------------------------------------------

    def _csv_rows(self) -> Iterator[Row]:
        with open(self.path, "rb") as raw:
            text = io.TextIOWrapper(raw, encoding=self.encoding, errors="replace", newline="")
            reader = csv.reader(text, delimiter=self.delimiter or ",")
            number = 0
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as e:
                    raise UnreadableFile(
                        _("Line %(line)d cannot be read as CSV: %(error)s")
                        % {"line": reader.line_num, "error": e}
                    ) from e
                number += 1
                row = Row(number, cells)
                for i, cell in enumerate(cells):
                    if "\ufffd" in cell:
                        row.notes[i] = _(
                            "Some characters are not valid %(encoding)s; the file may be in "
                            "another encoding."
                        ) % {"encoding": self.encoding}
                yield row

    # Spreadsheets --------------------------------------------------------------------------

    def _sheet_rows(self) -> Iterator[Row]:
        from python_calamine import CalamineWorkbook

        workbook = CalamineWorkbook.from_path(str(self.path))
        try:
            sheet = workbook.get_sheet_by_name(self.sheet)
            start = sheet.start[0] if sheet.start else 0
            for offset, values in enumerate(sheet.iter_rows()):
                row = Row(start + offset + 1, [])
                for i, value in enumerate(values):
                    text, note = cell_text(value)
                    row.cells.append(text)
                    if note:
                        row.notes[i] = note
                yield row
        finally:
            workbook.close()


def cell_text(value) -> tuple[str, str | None]:
    """A spreadsheet cell as the text a person typed: 13800138000 (not 1.38E+10), 2024-01-05."""
    if value is None or value == "":
        return "", None
    if isinstance(value, bool):
        return ("TRUE" if value else "FALSE"), None
    if isinstance(value, float):
        if value.is_integer():
            digits = str(int(value))
            note = None
            if len(digits.lstrip("-")) > EXCEL_DIGITS:
                note = _(
                    "Excel stored this as a number and kept only %(n)d digits; format the "
                    "column as text in Excel and export again."
                ) % {"n": EXCEL_DIGITS}
            return digits, note
        return repr(value), None
    if isinstance(value, int):
        return str(value), None
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat(), None
        return value.isoformat(" ", timespec="seconds"), None
    if isinstance(value, date | time):
        return value.isoformat(), None
    if isinstance(value, timedelta):
        return str(value), None
    return str(value), None


# Finding out what a file is ------------------------------------------------------------------


def open_table(
    path: str | Path, *, encoding: str = "", delimiter: str = "", sheet: str = ""
) -> Table:
    """Look at a file and describe it as a table; raises UnreadableFile with a reason."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(SAMPLE_BYTES)
    except OSError as e:
        raise UnreadableFile(_("The file cannot be opened: %(error)s") % {"error": e}) from e
    if not head.strip():
        raise UnreadableFile(_("The file is empty."))
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        table = _open_workbook(path, head, sheet)
    else:
        table = Table(path, "csv")
        table.encoding = encoding or detect_encoding(head)
        text = _decode_sample(head, table.encoding)
        table.delimiter = delimiter or detect_delimiter(text)
    for row in _first_row(table):
        table.headers = [_header(c, i) for i, c in enumerate(row.cells)]
        table.header_number = row.number
    if not table.headers:
        raise UnreadableFile(_("The file has no rows."))
    return table


def _first_row(table: Table) -> Iterator[Row]:
    source = table._csv_rows() if table.format == "csv" else table._sheet_rows()
    for row in source:
        if any(c.strip() for c in row.cells):
            yield row
            return


def _header(cell: str, i: int) -> str:
    text = re.sub(r"\s+", " ", cell.replace("\ufeff", "")).strip()
    return text or _("Column %(n)d") % {"n": i + 1}


def _open_workbook(path: Path, head: bytes, sheet: str) -> Table:
    from python_calamine import CalamineError, CalamineWorkbook

    if head.startswith(b"\xd0\xcf\x11\xe0"):
        fmt = "xls"
    else:
        fmt = "ods" if b"mimetypeapplication/vnd.oasis" in head[:100] else "xlsx"
    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as e:
        raise UnreadableFile(
            _("This is not an Excel file we can read: %(error)s") % {"error": e}
        ) from e
    try:
        names = list(workbook.sheet_names)
        if not names:
            raise UnreadableFile(_("The workbook has no sheets."))
        if sheet and sheet not in names:
            raise UnreadableFile(
                _("The workbook has no sheet “%(sheet)s”; it has: %(sheets)s.")
                % {"sheet": sheet, "sheets": ", ".join(names)}
            )
        if not sheet:
            # The first sheet with something in it.
            sheet = next((n for n in names if workbook.get_sheet_by_name(n).height > 0), names[0])
    finally:
        workbook.close()
    return Table(path, fmt, sheet=sheet, sheets=names)


BOMS = [
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]


def detect_encoding(head: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16, GB18030 (what Chinese Excel writes: GBK), or
    what charset-normalizer finds most likely."""
    for bom, name in BOMS:
        if head.startswith(bom):
            return name
    if utf16 := _utf16_without_bom(head):
        return utf16
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
        gb_ok = True
    except UnicodeDecodeError:
        gb_ok = False
    from charset_normalizer import from_bytes

    best = from_bytes(head[:65536]).best()
    guess = (best.encoding if best else "") or ""
    if guess in ("gb2312", "gbk", "gb18030", "hz") or (gb_ok and _looks_chinese(head)):
        return "gb18030"  # the superset: GB2312 and GBK files read the same
    if guess:
        return codecs.lookup(guess).name
    if gb_ok:
        return "gb18030"
    return "latin-1"


def _utf16_without_bom(head: bytes) -> str:
    """UTF-16 text has a zero in one byte of each ASCII character: which byte says the order."""
    sample = head[:4000]
    if len(sample) < 4:
        return ""
    even, odd = sample[0::2].count(0) / len(sample[0::2]), sample[1::2].count(0) / len(sample[1::2])
    if odd > 0.3 and even < 0.05:
        return "utf-16-le"
    if even > 0.3 and odd < 0.05:
        return "utf-16-be"
    return ""


def _looks_chinese(head: bytes) -> bool:
    text = head.decode("gb18030", errors="ignore")
    han = sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
    return han > 0 and han >= 0.2 * sum(1 for c in text if ord(c) > 127)


def _decode_sample(head: bytes, encoding: str) -> str:
    try:
        return codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=False)
    except LookupError as e:
        raise UnreadableFile(_("Unknown encoding “%(e)s”.") % {"e": encoding}) from e


def detect_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the same number of columns (> 1)."""
    lines = text.splitlines()[:-1] or text.splitlines()  # the last line may be cut short
    sample = "\n".join(lines[:200])
    best, best_score = ",", (-1, 0)
    for delimiter in DELIMITERS:
        try:
            widths = [len(r) for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r]
        except csv.Error:
            continue
        if not widths:
            continue
        width, count = Counter(widths).most_common(1)[0]
        if width < 2:
            continue
        score = (count, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best
