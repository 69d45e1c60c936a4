"""Which level each comparison puts a pair on."""

import numpy as np

from guanxi.imports.matching import COMPARISONS, FeatureTable, compare_pairs, features


def levels_of(a: dict, b: dict) -> dict[str, str]:
    """{comparison: level key} for one pair, leaving out "not given"."""
    table = FeatureTable([features(a), features(b)])
    row = compare_pairs(table, np.array([0]), np.array([1]))[0]
    return {c.key: c.levels[lv].key for c, lv in zip(COMPARISONS, row, strict=True) if lv}


def name_level(a: str, b: str) -> str:
    return levels_of({"name": a}, {"name": b})["name"]


def test_name_levels_for_chinese_name_variants():
    assert name_level("张三", "张三") == "exact"
    assert name_level("张三", "Zhang San") == "pinyin"
    assert name_level("张三", "章三") == "homophone"
    assert name_level("张三", "San Zhang") == "swapped"
    assert name_level("张先生", "张三") == "contained"
    assert name_level("张三", "张山") == "similar_high"
    assert name_level("孙民宇", "孙康宇") == "one_character"
    assert name_level("侯勇", "侯静婷") == "surname"
    assert name_level("张三", "李四") == "different"


def test_latin_names_with_a_slip_or_one_part_in_common():
    assert name_level("mitchell green", "mitchel green") == "similar_high"
    assert name_level("pia maczkowiack", "pai maczkowiack") in ("similar_high", "similar")
    assert name_level("kade white", "kade hand") == "one_part"
    assert name_level("green", "mitchell green") == "contained"


def test_shared_surname_does_not_make_names_similar():
    # "houyong" / "houjingting" share a long pinyin prefix; part by part they do not.
    assert name_level("侯勇", "侯静婷") not in ("similar_high", "similar")


def test_company_names_compare_by_their_core():
    variants = ["北京阿里巴巴科技有限公司", "阿里巴巴科技", "阿里巴巴（北京）科技有限公司"]
    for other in variants[1:]:
        assert levels_of({"company_name": variants[0]}, {"company_name": other}) == {
            "company": "exact"
        }
        pair = levels_of(
            {"kind": "company", "name": variants[0]}, {"kind": "company", "name": other}
        )
        assert pair["name"] == "exact"
    assert levels_of({"company_name": "阿里巴巴"}, {"company_name": "阿里巴巴科技"}) == {
        "company": "contained"
    }


def phone_level(a: list, b: list) -> str | None:
    return levels_of({"phones": a}, {"phones": b}).get("phone")


def test_phone_levels():
    assert phone_level(["+8613800138000"], ["+8613912345678", "+8613800138000"]) == "exact"
    assert phone_level(["+8613800138000"], ["+8615900138000"]) == "last8"
    assert phone_level(["+8613800138000"], ["+8613800138001"]) == "one_digit"
    assert phone_level(["+8613800138000"], ["+8613800183000"]) == "different"
    assert phone_level(["+8613800138000"], []) is None


def email_level(a: str, b: str, name: str = "") -> str:
    return levels_of({"name": name, "emails": [a]}, {"name": name, "emails": [b]})["email"]


def test_email_levels():
    assert email_level("wu.lei@qq.com", "wu.lei@qq.com") == "exact"
    assert email_level("lei1988@qq.com", "lei1988@163.com") == "user"
    assert email_level("lei1988@qq.com", "lei1989@qq.com") == "one_edit"
    assert email_level("lei1988@qq.com", "wang@qq.com") == "different"


def test_user_name_that_is_only_the_pinyin_name_says_nothing():
    # Two 吴磊 with wulei@qq.com and wulei@163.com share a name, not a mailbox.
    assert email_level("wulei@qq.com", "wulei@163.com", name="吴磊") == "different"


def birthday_level(a: str, b: str) -> str:
    return levels_of({"birthday": a}, {"birthday": b})["birthday"]


def test_birthday_levels():
    assert birthday_level("1990-01-05", "1990-01-05") == "exact"
    assert birthday_level("1990-01-05", "1991-01-05") == "one_part"
    assert birthday_level("1990-01-05", "1990-05-01") == "one_part"  # day and month swapped
    assert birthday_level("1990-01-05", "1990-03-20") == "within_year"
    assert birthday_level("1990-01-05", "1975-08-20") == "different"


def test_id_number_one_transposition_apart():
    pair = levels_of({"id_number": "110101199001051234"}, {"id_number": "110101199001051243"})
    assert pair["id_number"] == "one_edit"


def address_level(a: dict, b: dict) -> str:
    return levels_of(a, b)["address"]


def test_address_levels():
    home = {"city": "北京市", "district": "朝阳区", "street": "建国路88号", "postcode": "100022"}
    same = {"city": "北京", "street": "北京市朝阳区建国路88号"}
    assert address_level(home, same) == "same"
    assert address_level(home, {"postcode": "100022", "street": "光华路1号"}) == "postcode"
    assert address_level(home, {"city": "北京", "district": "朝阳区"}) == "district"
    assert address_level(home, {"city": "北京市", "district": "海淀区"}) == "city"
    assert address_level(home, {"city": "上海", "street": "南京路1号"}) == "different"


def test_person_and_company_are_different_kinds():
    assert levels_of({"kind": "person"}, {"kind": "company"})["kind"] == "different"


def test_same_letters_split_into_other_names_are_not_the_same_name_in_pinyin():
    # Yang Yuchen written the Western way, and Yu Chenyang: both "yuchenyang".
    assert name_level("Yuchen Yang", "余晨阳") not in ("exact", "pinyin", "homophone", "swapped")
    assert name_level("zhangsan", "张三") == "pinyin"
