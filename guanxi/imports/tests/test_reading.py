"""Reading what people's tools write: encodings, BOMs, delimiters, quoted newlines, Excel
sheets with numbers and dates; and the values inside: dates, exponent forms, full width."""

import datetime as dt

import pytest

from guanxi.imports import values
from guanxi.imports.fields import auto_map, header_key
from guanxi.imports.readers import UnreadableFile, open_table

from .helpers import csv_bytes

ROWS = [["姓名", "手机", "备注"], ["张三", "13800138000", "第一行\n第二行"], ["John", "", "x, y"]]


def _table(tmp_path, data: bytes, name="f.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return open_table(path)


@pytest.mark.parametrize(
    ("encoding", "bom", "found"),
    [
        ("utf-8", False, "utf-8"),
        ("utf-8", True, "utf-8-sig"),
        ("gb18030", False, "gb18030"),
        ("gbk", False, "gb18030"),
        ("utf-16", False, "utf-16"),  # Python writes a BOM for utf-16
        ("utf-16-le", False, "utf-16-le"),
    ],
)
def test_encoding_is_found_and_chinese_reads_back(tmp_path, encoding, bom, found):
    table = _table(tmp_path, csv_bytes(ROWS, encoding=encoding, bom=bom))
    assert table.encoding == found
    assert table.headers == ["姓名", "手机", "备注"]
    rows = list(table.rows())
    assert [r.cells for r in rows] == ROWS[1:]
    assert [r.number for r in rows] == [2, 3]  # a multi-line cell is still one row
    assert not any(r.notes for r in rows)


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_found(tmp_path, delimiter):
    table = _table(tmp_path, csv_bytes(ROWS, delimiter=delimiter))
    assert table.delimiter == delimiter
    assert [r.cells for r in table.rows()] == ROWS[1:]


def test_blank_rows_and_short_rows(tmp_path):
    table = _table(tmp_path, b"\r\n\xe5\xa7\x93\xe5\x90\x8d,a,b\r\n\r\nx\r\n,,\r\ny,1,2\r\n")
    assert table.headers == ["姓名", "a", "b"] and table.header_number == 2
    assert [(r.number, r.cells) for r in table.rows()] == [(4, ["x", "", ""]), (6, ["y", "1", "2"])]


def test_a_latin1_file_is_not_mistaken_for_chinese(tmp_path):
    rows = [["name", "city"], ["Zoë Müller", "Zürich"], ["José", "São Paulo"]] * 20
    table = _table(tmp_path, csv_bytes(rows, encoding="cp1252"))
    assert next(iter(table.rows())).cells == ["Zoë Müller", "Zürich"]


def test_characters_that_do_not_decode_are_flagged_on_the_row(tmp_path):
    # Past the part of the file the encoding is guessed from, a byte that is not UTF-8.
    data = "姓名,备注\n".encode() + "张三,ok\n".encode() * 40_000 + b"\xff\xfe,x\n"
    table = _table(tmp_path, data)
    assert table.encoding == "utf-8"
    rows = list(table.rows())
    assert not rows[0].notes and 0 in rows[-1].notes


@pytest.mark.parametrize("data", [b"", b"   \n\n"])
def test_empty_files_are_refused(tmp_path, data):
    with pytest.raises(UnreadableFile):
        _table(tmp_path, data)


def test_xlsx_numbers_dates_and_long_digits(tmp_path):
    import xlsxwriter

    path = tmp_path / "客户.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("客户")
    sheet.write_row(0, 0, ["姓名", "手机", "生日", "身份证", "金额"])
    sheet.write_string(1, 0, "张三")
    sheet.write_number(1, 1, 13800138000)
    sheet.write_datetime(
        1, 2, dt.datetime(1990, 1, 5), book.add_format({"num_format": "yyyy-mm-dd"})
    )
    sheet.write_number(1, 3, 110101199001011234)  # Excel keeps 15 digits of this
    sheet.write_number(1, 4, 12.5)
    book.close()
    table = open_table(path)
    assert table.format == "xlsx" and table.sheet == "客户"
    row = next(iter(table.rows()))
    assert row.cells[:3] == ["张三", "13800138000", "1990-01-05"]
    assert row.cells[4] == "12.5"
    assert 3 in row.notes and "15" in row.notes[3]


def test_xls_is_read(tmp_path):
    xlwt = pytest.importorskip("xlwt")
    path = tmp_path / "old.xls"
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Sheet1")
    for c, text in enumerate(["姓名", "手机"]):
        sheet.write(0, c, text)
    sheet.write(1, 0, "李四")
    sheet.write(1, 1, 13900139000)
    book.save(str(path))
    table = open_table(path)
    assert table.format == "xls"
    assert [r.cells for r in table.rows()] == [["李四", "13900139000"]]


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2024-01-05", dt.date(2024, 1, 5)),
        ("2024/1/5", dt.date(2024, 1, 5)),
        ("2024.1.5", dt.date(2024, 1, 5)),
        ("2024年1月5日", dt.date(2024, 1, 5)),
        ("２０２４年１月５日", dt.date(2024, 1, 5)),
        ("20240105", dt.date(2024, 1, 5)),
        ("45296", dt.date(2024, 1, 5)),  # an Excel serial number
        ("32874", dt.date(1990, 1, 1)),
        ("2024-01-05 10:30", dt.date(2024, 1, 5)),
    ],
)
def test_dates_in_the_forms_chinese_files_use(text, day):
    assert values.parse_date(text) == day


@pytest.mark.parametrize("text", ["2024-13-01", "2024/2/30", "next tuesday", "1/5/2024"])
def test_bad_dates_say_how_to_write_them(text):
    with pytest.raises(ValueError, match="2024-01-05"):
        values.parse_date(text)


def test_datetimes_are_aware():
    moment = values.parse_datetime("2024年1月5日 10:30")
    assert moment.tzinfo is not None and (moment.hour, moment.minute) == (10, 30)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13800138000", "13800138000"),
        ("１３８００１３８０００", "13800138000"),
        ("1.3800138000E+10", "13800138000"),  # every digit is still there
        ("110101199001011234", "110101199001011234"),
    ],
)
def test_long_digit_strings_stay_text(text, expected):
    assert values.digits_text(text) == expected


@pytest.mark.parametrize("text", ["1.38E+10", "1.3800138E+10", "1.10101E+17"])
def test_exponent_forms_that_lost_digits_are_refused(text):
    with pytest.raises(ValueError, match="exponent"):
        values.digits_text(text)


def test_cells_with_several_values():
    assert values.many("13800138000，13900139000；010-12345678") == [
        "13800138000",
        "13900139000",
        "010-12345678",
    ]
    assert values.many("VIP、老客户, 华东 区", tags=True) == ["VIP", "老客户", "华东 区"]


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("E-mail", "email"),
        ("手机（必填）*", "手机"),
        (" 邮箱： ", "邮箱"),
        ("Phone Number", "phonenumber"),
    ],
)
def test_header_keys(header, key):
    assert header_key(header) == key


def test_headers_map_from_chinese_and_english():
    headers = ["客户姓名", "Mobile", "电话", "E-mail", "公司名称", "职务", "省份", "城市",
               "详细地址", "所属行业", "客户来源", "出生日期", "备注", "Tags", "负责人", "会员号",
               "不认识的列"]  # fmt: skip
    mapping = auto_map(headers, "customers")
    assert [mapping.get(str(i)) for i in range(len(headers))] == [
        "name", "phones", "phones", "emails", "company_name", "job_title", "province", "city",
        "street", "industry", "source", "birthday", "notes", "tags", "owner", "external_id",
        None,
    ]  # fmt: skip


def test_custom_fields_map_by_their_labels(admin):
    from guanxi.customers.services import custom_field_create

    definition = custom_field_create(
        actor=admin, data={"key": "level", "label_zh": "会员等级", "label_en": "Member level",
                           "field_type": "text"},
    )  # fmt: skip
    assert auto_map(["姓名", "会员等级"], "customers", [definition]) == {
        "0": "name",
        "1": "cf_level",
    }
    assert auto_map(["Name", "Member Level"], "customers", [definition])["1"] == "cf_level"
