"""The CSV and .xlsx writers: safe cells, text everywhere, bounded memory at any size."""

import csv
import io
import tracemalloc
import zipfile

import pytest
from python_calamine import CalamineWorkbook

from guanxi.core import tabular
from guanxi.core.tabular import csv_stream, safe_cell, xlsx_stream

DANGEROUS = ["=1+1", "+86 138", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


def read_xlsx(data: bytes) -> dict[str, list[list]]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def read_csv(pieces) -> list[list[str]]:
    text = "".join(pieces)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.mark.parametrize("value", DANGEROUS)
def test_safe_cell_neutralises_every_formula_start(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["张三", "13800138000", "a=b", "", None, 42, "'=x"])
def test_safe_cell_leaves_plain_text_alone(value):
    assert safe_cell(value) == ("" if value is None else str(value))


def test_csv_starts_with_a_bom_and_keeps_chinese():
    rows = read_csv(csv_stream(["姓名", "城市"], [["张三", "北京"], ["李四", "上海"]]))
    assert rows == [["姓名", "城市"], ["张三", "北京"], ["李四", "上海"]]


@pytest.mark.parametrize("value", DANGEROUS)
def test_csv_neutralises_each_dangerous_start(value):
    rows = read_csv(csv_stream(["h"], [[value]]))
    assert rows[1][0] == "'" + value


@pytest.mark.parametrize("value", DANGEROUS)
def test_xlsx_neutralises_each_dangerous_start(value):
    sheet = read_xlsx(b"".join(xlsx_stream(["h"], [[value]])))["Sheet"]
    assert sheet[1][0] == "'" + value


def test_xlsx_writes_every_cell_as_text():
    rows = [["13800138000", "110101199003071234", "00123", "1e5", "3.14", "2026-12-01", "TRUE"]]
    sheet = read_xlsx(b"".join(xlsx_stream(["a"] * 7, rows)))["Sheet"]
    assert sheet[1] == rows[0]
    assert all(isinstance(v, str) for v in sheet[1])


def test_xlsx_header_is_bold_frozen_and_columns_fitted():
    data = b"".join(xlsx_stream(["姓名", "备注"], [["张三", "x" * 200]], title="客户"))
    book = zipfile.ZipFile(io.BytesIO(data))
    sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert 'state="frozen"' in sheet and 'ySplit="1"' in sheet
    assert '<c r="A1" s="1"' in sheet  # the bold format
    assert "<b/>" in book.read("xl/styles.xml").decode()
    assert f'max="2" width="{tabular.MAX_WIDTH + 2}' in sheet  # capped
    assert read_xlsx(data).keys() == {"客户"}


def test_xlsx_keeps_text_that_looks_like_xlsxwriter_rich_text_plain():
    value = "<r><t>x</t></r>"
    sheet = read_xlsx(b"".join(xlsx_stream(["h"], [[value]])))["Sheet"]
    assert sheet[1][0] == "'" + value


def test_xlsx_escapes_control_characters_and_markup():
    sheet = read_xlsx(b"".join(xlsx_stream(["h"], [["a\x01b <&> \"'"]])))["Sheet"]
    assert sheet[1][0] == "a\x01b <&> \"'"


def test_xlsx_continues_on_a_next_sheet_past_the_row_limit(monkeypatch):
    monkeypatch.setattr(tabular, "XLSX_MAX_ROWS", 3)
    sheets = read_xlsx(b"".join(xlsx_stream(["n"], ([str(i)] for i in range(5)), title="客户")))
    assert sheets == {
        "客户": [["n"], ["0"], ["1"]],
        "客户 (2)": [["n"], ["2"], ["3"]],
        "客户 (3)": [["n"], ["4"]],
    }


def _peak(write, n: int) -> int:
    def rows():
        for i in range(n):
            yield [str(i), f"客户{i}", "+8613800138000", "北京市朝阳区某某路 12 号"]

    tracemalloc.start()
    try:
        for _piece in write(["a", "b", "c", "d"], rows()):
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("write", [csv_stream, xlsx_stream], ids=["csv", "xlsx"])
def test_writers_hold_no_more_memory_for_ten_times_the_rows(write):
    small, large = _peak(write, 2_000), _peak(write, 20_000)
    assert large < small + 512 * 1024, (small, large)
