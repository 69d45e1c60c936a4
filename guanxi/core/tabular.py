"""Tables of text written as CSV or .xlsx that are safe to open in a spreadsheet, in bounded memory.

An export (customers, contacts, orders, interactions, tasks) builds a `Table`: translated
headers and an iterator of rows, read from the database in chunks. The writers here stream it:
CSV in pieces (a UTF-8 BOM first, so Excel reads Chinese correctly), .xlsx through xlsxwriter's
constant-memory mode into a temporary file that is then read out in pieces. Every cell is
written as text, and a cell a spreadsheet would run as a formula is neutralised with a leading
apostrophe, in both formats.
"""

import csv
import io
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from django.db.models import QuerySet
from django.utils import timezone, translation

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK = 2000  # rows read per query: large enough to amortise it, small enough to hold
CSV_FLUSH = 500  # rows per CSV piece
XLSX_PIECE = 1 << 16  # bytes per .xlsx piece
XLSX_MAX_ROWS = 1_048_576  # Excel's limit per sheet, header included; more go on a next sheet
WIDTH_SAMPLE = 1000  # column widths are fitted to the header and the first rows
MAX_WIDTH = 60

ExportFormat = Literal["csv", "xlsx"]
FORMATS: tuple[str, ...] = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "xlsx": XLSX_TYPE}

# The 200 answer of an export endpoint, for the OpenAPI schema (it is a file, not JSON).
OPENAPI_FILE = {
    "responses": {
        "200": {
            "description": "The rows as a file: CSV (UTF-8 with BOM) or Excel (.xlsx), "
            "sent as an attachment.",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    }
}


def safe_cell(value) -> str:
    """A value as text that Excel and LibreOffice will not evaluate as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@dataclass
class Table:
    """What an export produces: translated headers and rows of plain values, not yet safe."""

    name: str  # ASCII stem of the file name: "customers" → customers-20261201.csv
    title: str  # translated, the sheet's name
    header: list[str]
    rows: Iterable[list]
    count: int  # rows counted when the export began

    def file_name(self, fmt: str) -> str:
        return f"{self.name}-{timezone.localdate():%Y%m%d}.{fmt}"


# Reading -------------------------------------------------------------------------------------


def chunked(queryset: QuerySet, *, size: int | None = None) -> Iterator[list]:
    """A queryset's rows in primary-key order, `size` (CHUNK) at a time: each chunk is one
    query that starts after the last key read (no OFFSET, no cursor held open between them)."""
    size = size or CHUNK
    queryset = queryset.order_by("pk")
    last = None
    while True:
        page = queryset if last is None else queryset.filter(pk__gt=last)
        chunk = list(page[:size])
        if chunk:
            yield chunk
        if len(chunk) < size:
            return
        last = chunk[-1].pk


def rendered(chunks: Iterable[list], render: Callable[[list], Iterable[list]]) -> Iterator[list]:
    """Rows rendered chunk by chunk in the language and time zone active now, at the call.

    A streamed response is written after its view returned; choice labels and local times
    must still be those of the person who asked.
    """
    language = translation.get_language()
    zone = timezone.get_current_timezone()

    def rows():
        for chunk in chunks:
            with translation.override(language), timezone.override(zone):
                rendered_chunk = list(render(chunk))
            yield from rendered_chunk

    return rows()


def field_label(model, name: str) -> str:
    """A column header from a model field's verbose name, as the pages show it."""
    from django.utils.text import capfirst

    return capfirst(str(model._meta.get_field(name).verbose_name))


def choice_labels(model, name: str) -> dict:
    """Value → label of a field's choices, in the active language (for a whole chunk: a
    model's get_FOO_display translates every choice again on every call)."""
    return {value: str(label) for value, label in model._meta.get_field(name).flatchoices}


def local_time(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def local_date(value: date | None) -> str:
    return value.isoformat() if value else ""


# Writing -------------------------------------------------------------------------------------


def csv_stream(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    """CSV text in pieces, starting with a UTF-8 BOM so Excel reads Chinese correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([safe_cell(h) for h in header])
    for i, row in enumerate(rows, 1):
        writer.writerow([safe_cell(v) for v in row])
        if i % CSV_FLUSH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _xlsx_text(value) -> str:
    text = safe_cell(value)
    # xlsxwriter writes a string that looks like its own rich-text XML ("<r>…</r>") into the
    # sheet unescaped; an apostrophe keeps such text plain (and the file well-formed).
    if text.startswith("<r>") and text.endswith("</r>"):
        return "'" + text
    return text


def _width(text: str) -> int:
    # Chinese characters take two columns; their UTF-8 form is three bytes to ASCII's one.
    return len(text) + (len(text.encode("utf-8")) - len(text)) // 2


_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


def _sheet_name(title: str, number: int) -> str:
    name = _SHEET_NAME_BAD.sub(" ", title).strip("' ") or "Sheet"
    suffix = f" ({number})" if number > 1 else ""
    return name[: 31 - len(suffix)] + suffix


def xlsx_stream(
    header: list[str], rows: Iterable[list], *, title: str = "Sheet"
) -> Iterator[bytes]:
    """An .xlsx file in pieces: every cell text, the header bold and frozen, columns fitted.

    xlsxwriter's constant-memory mode holds one row at a time and writes each sheet to a
    temporary file; the finished file is assembled in a temporary file too and read out in
    pieces, so memory stays bounded at any number of rows. Rows past Excel's limit per sheet
    continue on a next sheet, under the same header.
    """
    import xlsxwriter

    with (
        tempfile.TemporaryDirectory(prefix="guanxi-xlsx-") as scratch,
        tempfile.TemporaryFile(dir=scratch) as out,
    ):
        workbook = xlsxwriter.Workbook(out, {"constant_memory": True, "tmpdir": scratch})
        bold = workbook.add_format({"bold": True})
        header = [_xlsx_text(h) for h in header]
        widths = [_width(h) for h in header]
        sheets = []

        def new_sheet():
            sheet = workbook.add_worksheet(_sheet_name(title, len(sheets) + 1))
            for col, text in enumerate(header):
                sheet.write_string(0, col, text, bold)
            sheet.freeze_panes(1, 0)
            sheets.append(sheet)
            return sheet

        sheet, row_number = new_sheet(), 1
        for i, row in enumerate(rows):
            if row_number == XLSX_MAX_ROWS:
                sheet, row_number = new_sheet(), 1
            for col, value in enumerate(row):
                text = _xlsx_text(value)
                if text:
                    sheet.write_string(row_number, col, text)
                    if i < WIDTH_SAMPLE and col < len(widths):
                        widths[col] = max(widths[col], _width(text))
            row_number += 1
        for sheet in sheets:  # constant-memory sheets take their widths until closed
            for col, width in enumerate(widths):
                sheet.set_column(col, col, min(max(width, 6), MAX_WIDTH) + 2)
        workbook.close()
        out.seek(0)
        while piece := out.read(XLSX_PIECE):
            yield piece


def table_bytes(table: Table, fmt: str) -> Iterator[bytes]:
    """The table as a file in `fmt` ("csv" or "xlsx"), in pieces of bytes."""
    if fmt == "xlsx":
        return xlsx_stream(table.header, table.rows, title=table.title)
    return (piece.encode("utf-8") for piece in csv_stream(table.header, table.rows))


def table_response(table: Table, fmt: str):
    """A streamed download of the table, named like customers-20261201.xlsx."""
    from django.http import StreamingHttpResponse
    from django.utils.http import content_disposition_header

    response = StreamingHttpResponse(table_bytes(table, fmt), content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = content_disposition_header(True, table.file_name(fmt))
    response["Cache-Control"] = "no-store"  # personal data: no copies in shared caches
    return response
