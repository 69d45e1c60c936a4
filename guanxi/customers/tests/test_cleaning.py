"""Phone, email and name cleaning: what people type becomes one stored form."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from guanxi.customers.cleaning import (
    build_search_text,
    clean_custom_value,
    name_keys,
    normalize_email,
    normalize_phone,
)
from guanxi.customers.models import CustomFieldDefinition


@pytest.mark.parametrize(
    "typed",
    [
        "138 0013 8000",
        "+86-138-0013-8000",
        "8613800138000",
        "0086 138 0013 8000",
        "13800138000",
        "+86 138 0013 8000",
        "１３８００１３８０００",  # full-width digits from a Chinese input method
        "１３８ ００１３ ８０００",
    ],
)
def test_mobile_number_forms_collapse_to_one_e164(typed):
    assert normalize_phone(typed) == ("+8613800138000", "")


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("(010) 1234-5678", "+861012345678"),
        ("010-12345678", "+861012345678"),
        ("+86 (0)10 1234 5678", "+861012345678"),
        ("021-6123 4567", "+862161234567"),
        ("+1 202-555-0143", "+12025550143"),
    ],
)
def test_landlines_and_foreign_numbers_keep_their_area_code(typed, e164):
    assert normalize_phone(typed)[0] == e164


@pytest.mark.parametrize(
    "typed", ["010-12345678 ext. 123", "010-12345678转123", "010 1234 5678 分机 123"]
)
def test_an_extension_is_kept_apart_from_the_number(typed):
    assert normalize_phone(typed) == ("+861012345678", "123")


@pytest.mark.parametrize("typed", ["12345", "abc", "", "   ", "138001380001234567", "+86"])
def test_invalid_phone_numbers_are_refused(typed):
    with pytest.raises(ValueError):
        normalize_phone(typed)


def test_emails_are_validated_and_lower_cased():
    assert normalize_email("  ZhangSan@Example.COM ") == "zhangsan@example.com"
    assert normalize_email("ｚｓ＠ｅｘａｍｐｌｅ．ｃｏｍ") == "zs@example.com"
    for bad in ["", "zhangsan", "a@b", "a b@example.com", "x" * 250 + "@example.com"]:
        with pytest.raises(ValueError):
            normalize_email(bad)


@pytest.mark.parametrize(
    ("name", "pinyin", "initials"),
    [
        ("张三", "zhangsan", "zs"),
        ("曾小明", "zengxiaoming", "zxm"),  # 曾 is zeng as a surname, not ceng
        ("单田芳", "shantianfang", "stf"),  # 单 is shan as a surname, not dan
        ("解晓东", "xiexiaodong", "xxd"),
        ("朴树", "piaoshu", "ps"),
        ("John Smith", "johnsmith", "js"),
        ("Zoë Müller", "zoemuller", "zm"),
        ("张 三", "zhangsan", "zs"),
        ("ＡＢＣ公司", "abcgongsi", "ags"),
    ],
)
def test_name_keys_give_pinyin_and_initials(name, pinyin, initials):
    assert name_keys(name) == (pinyin, initials)


def test_search_text_holds_every_form_a_person_searches_by():
    text = build_search_text(
        name="张三",
        company_name="华为技术",
        phones=["+8613800138000"],
        emails=["zhangsan@example.com"],
        contact_names=["王经理"],
    )
    for part in [
        "张三",
        "zhangsan",
        "zs",
        "华为技术",
        "huaweijishu",
        "13800138000",
        "8613800138000",
        "zhangsan@example.com",
        "王经理",
        "wangjingli",
    ]:
        assert part in text


def _definition(**kw):
    kw.setdefault("key", "k")
    kw.setdefault("label_zh", "字段")
    return CustomFieldDefinition(**kw)


def test_custom_values_are_cleaned_by_type():
    from decimal import Decimal

    number = _definition(field_type="number", min_value=Decimal(0), max_value=Decimal(100))
    assert clean_custom_value(number, "42") == 42
    assert clean_custom_value(number, "４２.５") == 42.5
    for bad in ["abc", "-1", "101", True, "NaN", "Infinity", [1]]:
        with pytest.raises(ValueError):
            clean_custom_value(number, bad)
    date = _definition(field_type="date")
    assert clean_custom_value(date, "2024-02-29") == "2024-02-29"
    for bad in ["2023-02-29", "29/02/2024", "tomorrow"]:
        with pytest.raises(ValueError):
            clean_custom_value(date, bad)
    choice = _definition(field_type="choice", choices=["金", "银"])
    assert clean_custom_value(choice, "金") == "金"
    with pytest.raises(ValueError):
        clean_custom_value(choice, "铜")
    text = _definition(field_type="text", max_length=3)
    assert clean_custom_value(text, " ab ") == "ab"
    with pytest.raises(ValueError):
        clean_custom_value(text, "abcd")
    with pytest.raises(ValueError):
        clean_custom_value(text, {"a": 1})
    required = _definition(field_type="text", required=True)
    with pytest.raises(ValueError):
        clean_custom_value(required, " ")
    assert clean_custom_value(_definition(field_type="text"), "") is None


def test_the_fast_way_for_chinese_mobiles_agrees_with_libphonenumber():
    """normalize_phone answers plainly written Chinese mobiles without a full parse; for
    every form and prefix it must give what the full parse gives (or fall back to it)."""
    import random

    from guanxi.customers.cleaning import _normalize_phone_parsed

    rng = random.Random(7)
    forms = [
        "{n}", "{a} {b} {c}", "{a}-{b}-{c}", "+86{n}", "+86 {a} {b} {c}", "86{n}", "0086{n}",
        "0086 {n}", "+86-{a}-{b}-{c}", "+{n}", "8 6{n}",
    ]  # fmt: skip
    for _ in range(3000):
        n = "1" + "".join(rng.choice("0123456789") for _ in range(10))
        text = rng.choice(forms).format(n=n, a=n[:3], b=n[3:7], c=n[7:])
        try:
            slow = _normalize_phone_parsed(text, text, "CN")
        except ValueError:
            slow = None
        try:
            fast = normalize_phone(text)
        except ValueError:
            fast = None
        assert fast == slow, text


def test_the_fast_way_for_chinese_landlines_agrees_with_libphonenumber():
    """Landlines with an area code, with and without an extension, valid or not: the fast
    way gives what the full parse gives, or falls back to it."""
    import random

    from guanxi.customers.cleaning import _normalize_phone_parsed

    rng = random.Random(11)
    areas = ["010", "020", "021", "023", "0571", "0755", "0898", "0991", "0180", "0045"]
    for _ in range(4000):
        area = rng.choice(areas) if rng.random() < 0.7 else "0" + str(rng.randint(10, 999))
        local = "".join(rng.choice("0123456789") for _ in range(rng.choice([6, 7, 8, 8, 9])))
        text = area + rng.choice(["-", " ", ""]) + local
        if rng.random() < 0.3:
            text += rng.choice(["转", "分机", " 转 "]) + str(rng.randint(1, 99999))
        try:
            slow = _normalize_phone_parsed(text, text, "CN")
        except ValueError:
            slow = None
        try:
            fast = normalize_phone(text)
        except ValueError:
            fast = None
        assert fast == slow, text


@pytest.mark.parametrize(
    "text",
    ["张三", "重庆", "长城", "重庆市", "单雄信", "曾国藩", "银行", "中国银行", "欧阳娜娜", "乐乐",
     "朝阳", "朝阳区", "行长", "李行", "吕布", "女", "〇", "张三丰", "司马相如", "诸葛亮"],
)  # fmt: skip
def test_names_read_a_character_at_a_time_agree_with_pypinyin(text):
    """Short Chinese names are read a character at a time unless part of them is a word
    pypinyin reads as a whole (重庆 is chong qing, not zhong qing)."""
    from pypinyin import Style, lazy_pinyin

    from guanxi.customers.cleaning import _pinyin

    assert _pinyin(text) == lazy_pinyin(text, style=Style.NORMAL, errors="default")


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), max_size=5))
def test_any_short_chinese_text_reads_as_pypinyin_reads_it(text):
    from pypinyin import Style, lazy_pinyin

    from guanxi.customers.cleaning import _pinyin

    assert _pinyin(text) == lazy_pinyin(text, style=Style.NORMAL, errors="default")


@settings(max_examples=2000, deadline=None)
@given(
    st.from_regex(
        r"[a-zA-Z0-9._%+\-!#$&'*/=?^`{|}~]{1,12}@[a-zA-Z0-9.\-]{1,20}(\.[a-z0-9\-]{0,8})?",
        fullmatch=True,
    )
    | st.emails()
)
def test_the_quick_email_check_accepts_only_what_the_full_validator_accepts(text):
    """normalize_email skips Django's EmailValidator for the common form; every address the
    quick pattern passes must pass the validator too (it may refuse more, never less)."""
    from django.core.exceptions import ValidationError

    from guanxi.customers.cleaning import _PLAIN_EMAIL, _email_validator

    email = text.lower()
    if _PLAIN_EMAIL.match(email):
        try:
            _email_validator(email)
        except ValidationError:
            raise AssertionError(f"{email!r} passed the quick check, not the validator") from None
