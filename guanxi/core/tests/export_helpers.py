"""Reading exported files back in tests: CSV (with its BOM) and .xlsx (with python-calamine)."""

import csv
import io

from python_calamine import CalamineWorkbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def body(response) -> bytes:
    assert response.status_code == 200, response.content[:300]
    return b"".join(response.streaming_content)


def csv_rows_of(data: bytes) -> list[list[str]]:
    text = data.decode("utf-8")
    assert text.startswith("\ufeff"), "a BOM lets Excel read Chinese as UTF-8"
    return list(csv.reader(io.StringIO(text[1:])))


def xlsx_rows_of(data: bytes) -> list[list]:
    return CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()


def csv_rows(response) -> list[list[str]]:
    return csv_rows_of(body(response))


def xlsx_rows(response) -> list[list]:
    return xlsx_rows_of(body(response))


def as_dicts(rows) -> list[dict]:
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def export(client, fmt, params=None, path="customers/export") -> list[dict]:
    """The rows of an export endpoint, as {header: value} dicts."""
    response = client.get(path, {"format": fmt, **(params or {})})
    return as_dicts(csv_rows(response) if fmt == "csv" else xlsx_rows(response))
