"""What the comparisons need from one customer record, computed once per record.

A record is a plain dict with any of: kind ("person" / "company"), name, company_name,
phones (E.164 strings), emails (lower-case), external_id, id_number, birthday (date or
ISO string), gender, province, city, district, street, postcode. Missing keys, None, NaN
and "" all mean "not given".
"""

import math
import re
from datetime import date
from functools import lru_cache

from .text import (
    city_key,
    company_core,
    district_key,
    honorific_gender,
    id_key,
    is_cjk,
    name_parts,
    province_key,
    street_key,
)

_BIRTHDAY = re.compile(r"(\d{4})\D{0,3}(\d{1,2})\D{0,3}(\d{1,2})")
_GENDERS = {
    "m": "m",
    "male": "m",
    "man": "m",
    "男": "m",
    "1": "m",
    "f": "f",
    "female": "f",
    "woman": "f",
    "女": "f",
    "2": "f",
}


_SLOTS = (
    "kind",
    "name",
    "pinyin",
    "parts",
    "sorted_name",
    "initials",
    "cjk",
    "company",
    "phones",
    "emails",
    "id_number",
    "external_id",
    "birthday",
    "birthday_key",
    "gender",
    "province",
    "city",
    "district",
    "street",
    "street_words",
    "postcode",
    "hints",
)


class Features:
    """The normalised, comparable form of one record (see `features`).

    Text fields are "" when not given, `phones` / `emails` / `parts` are tuples, `birthday`
    is (year, month, day) or None, `cjk` tells a name written in Chinese characters.
    """

    __slots__ = _SLOTS

    def __init__(self, **values):
        for slot in _SLOTS:
            setattr(self, slot, values.get(slot, ""))
        for slot in ("parts", "phones", "emails"):
            if not getattr(self, slot):
                setattr(self, slot, ())
        self.cjk = bool(self.cjk) or is_cjk(self.name)
        if not self.street_words:
            self.street_words = _street_words(self.street) if self.street else ("", "", "")
        self.hints = _hints(self.city, self.postcode, self.street_words[0][1:])
        if not self.birthday:
            self.birthday = None
        self.birthday_key = _birthday_key(self.birthday) if self.birthday else ""

    def __repr__(self):
        shown = ", ".join(f"{s}={getattr(self, s)!r}" for s in _SLOTS if getattr(self, s))
        return f"Features({shown})"

    def __eq__(self, other):
        if not isinstance(other, Features):
            return NotImplemented
        return all(getattr(self, s) == getattr(other, s) for s in _SLOTS)

    __hash__ = None


def _text(value) -> str:
    if value is None:
        return ""
    if type(value) is str:
        return value.strip()
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value).strip()


def _many(value) -> tuple[str, ...]:
    if not value:
        return ()
    if type(value) is str:
        value = value.strip()
        return (value,) if value else ()
    out: list[str] = []
    for item in value:
        item = item.strip() if type(item) is str else _text(item)
        if item and item not in out:
            out.append(item)
    return tuple(out)


def _birthday_key(birthday: tuple[int, int, int]) -> str:
    year, month, day = birthday
    return f"{year:04d}-{month:02d}-{day:02d}"


@lru_cache(maxsize=100_000)
def _birthday_from_text(text: str) -> tuple[tuple[int, int, int] | None, str]:
    found = _BIRTHDAY.search(text)
    if not found:
        return None, ""
    birthday = int(found[1]), int(found[2]), int(found[3])
    return birthday, _birthday_key(birthday)


def _birthday(value) -> tuple[tuple[int, int, int] | None, str]:
    if isinstance(value, date):
        birthday = value.year, value.month, value.day
        return birthday, _birthday_key(birthday)
    text = _text(value)
    return _birthday_from_text(text) if text else (None, "")


def parse_birthday(value) -> tuple[int, int, int] | None:
    """(year, month, day) from a date or a string; impossible dates are kept as given."""
    return _birthday(value)[0]


@lru_cache(maxsize=200_000)
def _person_name(raw: str):
    name, parts = name_parts(raw)
    sorted_parts = sorted(parts)
    return (
        name,
        "".join(parts),
        parts,
        " ".join(sorted_parts),
        "".join(p[0] for p in sorted_parts),
        is_cjk(name),
        honorific_gender(raw),
    )


@lru_cache(maxsize=100_000)
def _company_name(raw: str):
    core = company_core(raw)
    name, parts = name_parts(core)
    if is_cjk(core):
        parts = ("".join(parts),) if parts else ()
    sorted_parts = sorted(parts)
    return (
        name,
        "".join(parts),
        parts,
        " ".join(sorted_parts),
        "".join(p[0] for p in sorted_parts),
        is_cjk(name),
        "",
    )


_NO_NAME = ("", "", (), "", "", False, "")


def features(record: dict) -> Features:
    """Precompute everything the comparisons and blocking keys need for one record."""
    get = record.get
    f = Features.__new__(Features)
    kind = _text(get("kind")).lower()
    raw_name = _text(get("name"))
    company_name = _text(get("company_name"))
    if kind == "company":
        # A company is known by its core name; its own name is not an employer.
        raw = raw_name or company_name
        name = _company_name(raw) if raw else _NO_NAME
        f.company = ""
    else:
        name = _person_name(raw_name) if raw_name else _NO_NAME
        f.company = company_core(company_name) if company_name else ""
    f.kind = kind
    f.name, f.pinyin, f.parts, f.sorted_name, f.initials, f.cjk, implied_gender = name
    f.phones = _many(get("phones"))
    emails = _many(get("emails"))
    f.emails = tuple(map(str.lower, emails)) if emails else ()
    idn = _text(get("id_number"))
    f.id_number = id_key(idn) if idn else ""
    f.external_id = _text(get("external_id"))
    f.birthday, f.birthday_key = _birthday(get("birthday"))
    gender = _text(get("gender"))
    f.gender = _GENDERS.get(gender.lower(), "") if gender else implied_gender
    f.province, f.city, f.district, f.street, f.postcode, f.street_words, f.hints = _address(
        _text(get("province")),
        _text(get("city")),
        _text(get("district")),
        _text(get("street")),
        _text(get("postcode")),
    )
    return f


@lru_cache(maxsize=200_000)
def _address(province: str, city: str, district: str, street: str, postcode: str):
    """Normalised province, city, district, street and postcode, the street's (house number,
    first word, last word) and the small numbers comparisons filter pairs with."""
    street = street_key(street, (province, city, district)) if street else ""
    city = city_key(city) if city else ""
    postcode = postcode.replace(" ", "") if postcode else ""
    words = _street_words(street) if street else ("", "", "")
    return (
        province_key(province) if province else "",
        city,
        district_key(district) if district else "",
        street,
        postcode,
        words,
        _hints(city, postcode, words[0][1:]),
    )


def _street_words(street: str) -> tuple[str, str, str]:
    words = street.split(" ")
    number = next((w for w in words if w.isdigit()), "")
    names = [w for w in words if not w.isdigit()] or [""]
    return "#" + number if number else "", names[0], names[-1]


def _hints(city: str, postcode: str, number: str) -> tuple[int, int, int, int, int, int]:
    """(house number, its digits sorted, first and last character of the city and of the
    postcode as code points); -1 / 0 when not given. A typo leaves a number close and a
    short name's first or last character in place, so pairs failing these skip the string
    comparisons."""
    short = number and len(number) < 10
    return (
        int(number) if short else -1,
        int("".join(sorted(number))) if short else -1,
        ord(city[0]) if city else 0,
        ord(city[-1]) if city else 0,
        ord(postcode[0]) if postcode else 0,
        ord(postcode[-1]) if postcode else 0,
    )
