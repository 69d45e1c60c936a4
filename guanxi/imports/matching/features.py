"""What the comparisons need from one customer record, computed once per record.

A record is a plain dict with any of: kind ("person" / "company"), name, company_name,
phones (E.164 strings), emails (lower-case), external_id, id_number, birthday (date or
ISO string), gender, province, city, district, street, postcode. Missing keys, None, NaN
and "" all mean "not given".
"""

import math
import re
from array import array
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
    "codes",
)


class Features:
    """The normalised, comparable form of one record (see `features`).

    Text fields are "" when not given, `phones` / `emails` / `parts` are tuples, `birthday`
    is (year, month, day) or None, `cjk` tells a name written in Chinese characters.
    """

    # `blocking_keys` keeps its result on the record, and the match-key index the hashes of
    # the keys it stores and the text of the record it stores (not fields: not compared or
    # shown).
    __slots__ = (*_SLOTS, "block_keys", "key_hashes", "stored_text")

    def __init__(self, **values):
        for slot in _SLOTS:
            setattr(self, slot, values.get(slot, ""))
        self._derive()

    @classmethod
    def of_fields(cls, names: tuple[str, ...], values) -> "Features":
        """The record with these fields (the others not given): what `Features(**dict(zip(
        names, values)))` gives, without building the keywords (the match index reads
        millions of stored records back)."""
        f = cls.__new__(cls)
        for slot in _NOT_STORED_BY.get(names) or _not_given(names):
            setattr(f, slot, "")
        for slot, value in zip(names, values, strict=True):
            setattr(f, slot, value)
        f._derive()
        return f

    def _derive(self):
        """What follows from the fields given (names, addresses, codes)."""
        for slot in ("parts", "phones", "emails"):
            if not getattr(self, slot):
                setattr(self, slot, ())
        self.cjk = bool(self.cjk) or is_cjk(self.name)
        if not self.street_words:
            self.street_words = _street_words(self.street) if self.street else ("", "", "")
        self.hints = _hints(self.city, self.postcode, self.street_words[0][1:])
        name = _name_tuple(self.name, tuple(self.parts), "")[7]
        address = (
            hash(self.province),
            hash(self.city),
            hash(self.district),
            hash(self.street),
            hash(self.postcode),
            *map(hash, self.street_words),
            *self.hints,
        )
        self.codes = name + address + _other_codes(self)
        if not self.birthday:
            self.birthday = None
        self.birthday_key = _birthday_key(self.birthday) if self.birthday else ""

    def __repr__(self):
        shown = ", ".join(f"{s}={getattr(self, s)!r}" for s in _SLOTS if getattr(self, s))
        return f"Features({shown})"

    def __eq__(self, other):
        if not isinstance(other, Features):
            return NotImplemented
        # The codes follow from the rest (and are bytes in a record from another process).
        return all(getattr(self, s) == getattr(other, s) for s in _SLOTS if s != "codes")

    __hash__ = None

    def __reduce__(self):
        # Pickled as one list of values (an import's worker processes send millions of
        # them), the codes as the bytes of an int64 array, which the table reads as such:
        # about a quarter less to unpickle than the default for a class with slots.
        values = [getattr(self, s, None) for s in _ALL_SLOTS]
        codes = values[_CODES_AT]
        if type(codes) is not bytes:
            values[_CODES_AT] = array("q", codes).tobytes()
        return _unpickle, (values,)


_ALL_SLOTS = Features.__slots__
_NOT_STORED_BY: dict[tuple[str, ...], tuple[str, ...]] = {}


def _not_given(names: tuple[str, ...]) -> tuple[str, ...]:
    rest = _NOT_STORED_BY[names] = tuple(s for s in _SLOTS if s not in names)
    return rest


_CODES_AT = _ALL_SLOTS.index("codes")
_OPTIONAL = frozenset({"block_keys", "key_hashes", "stored_text"})  # unset until worked out


def _unpickle(values: list) -> Features:
    f = Features.__new__(Features)
    for slot, value in zip(_ALL_SLOTS, values, strict=True):
        if value is not None or slot not in _OPTIONAL:
            setattr(f, slot, value)
    return f


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


def _name_tuple(name: str, parts: tuple[str, ...], gender: str):
    """What features() keeps of a name, with its block of codes for the table."""
    sorted_parts = sorted(parts)
    pinyin = "".join(parts)
    sorted_name = " ".join(sorted_parts)
    first, last = (parts[0], parts[-1]) if parts else ("", "")
    cjk = is_cjk(name)
    codes = (
        hash(name),
        hash(pinyin),
        hash(sorted_name),
        hash(first),
        hash(last),
        len(parts),
        len(first),
        len(last),
        int(cjk),
        len(name),
        ord(first[0]) if first else 0,
        ord(last[0]) if last else 0,
    )
    initials = "".join(p[0] for p in sorted_parts)
    return name, pinyin, parts, sorted_name, initials, cjk, gender, codes


@lru_cache(maxsize=100_000)
def _person_name(raw: str):
    name, parts = name_parts(raw)
    return _name_tuple(name, parts, honorific_gender(raw))


@lru_cache(maxsize=100_000)
def _company_name(raw: str):
    core = company_core(raw)
    name, parts = name_parts(core)
    if is_cjk(core):
        parts = ("".join(parts),) if parts else ()
    return _name_tuple(name, parts, "")


_NO_NAME = _name_tuple("", (), "")


def features(record: dict) -> Features:
    """Precompute everything the comparisons and blocking keys need for one record."""
    # This runs for every row of an import: the common cases (a str, or nothing) are
    # handled inline, the rest by _text.
    get = record.get
    f = Features.__new__(Features)
    v = get("kind")
    kind = (v.strip().lower() if type(v) is str else _text(v).lower()) if v else ""
    v = get("name")
    raw_name = (v.strip() if type(v) is str else _text(v)) if v else ""
    v = get("company_name")
    company_name = (v.strip() if type(v) is str else _text(v)) if v else ""
    if kind == "company":
        # A company is known by its core name; its own name is not an employer.
        raw = raw_name or company_name
        name = _company_name(raw) if raw else _NO_NAME
        f.company = ""
    else:
        name = _person_name(raw_name) if raw_name else _NO_NAME
        f.company = company_core(company_name) if company_name else ""
    f.kind = kind
    f.name, f.pinyin, f.parts, f.sorted_name, f.initials, f.cjk, implied_gender, name_codes = name
    v = get("phones")
    f.phones = _many(v) if v else ()
    v = get("emails")
    f.emails = tuple(map(str.lower, _many(v))) if v else ()
    v = get("id_number")
    idn = (v.strip() if type(v) is str else _text(v)) if v else ""
    f.id_number = id_key(idn) if idn else ""
    v = get("external_id")
    f.external_id = (v.strip() if type(v) is str else _text(v)) if v else ""
    v = get("birthday")
    f.birthday, f.birthday_key = _birthday(v) if v else _NO_BIRTHDAY
    v = get("gender")
    gender = (v.strip() if type(v) is str else _text(v)) if v else ""
    f.gender = _GENDERS.get(gender.lower(), "") if gender else implied_gender
    address = _address(
        _field(get("province")),
        _field(get("city")),
        _field(get("district")),
        _field(get("street")),
        _field(get("postcode")),
    )
    f.province, f.city, f.district, f.street, f.postcode, f.street_words, f.hints = address[:7]
    f.codes = name_codes + address[7] + _other_codes(f)
    return f


def _other_codes(f: Features) -> tuple[int, ...]:
    phones = f.phones
    emails = f.emails
    phone_1 = phone_2 = -1
    if phones:
        phone_1 = _phone_number(phones[0])
        if len(phones) > 1:
            phone_2 = _phone_number(phones[1])
    email_1 = email_2 = user_1 = user_2 = 0
    if emails:
        email_1, user_1 = hash(emails[0]), _user_code(emails[0], f.pinyin)
        if len(emails) > 1:
            email_2, user_2 = hash(emails[1]), _user_code(emails[1], f.pinyin)
    y, m, d = f.birthday or (0, 0, 0)
    return (
        hash(f.kind),
        hash(f.company),
        hash(f.id_number),
        hash(f.external_id),
        hash(f.gender),
        phone_1,
        phone_2,
        email_1,
        email_2,
        user_1,
        user_2,
        y,
        m,
        d,
    )


def _user_code(email: str, pinyin: str) -> int:
    """The user name of an address, as a code; 0 when it is only the name's pinyin:
    zhangwei@qq.com and zhangwei@163.com share a name, not a mailbox."""
    user = email.partition("@")[0]
    return 0 if user.replace(".", "") == pinyin else hash("@user:" + user)


def _phone_number(e164: str) -> int:
    """The digits of an E.164 number as an integer, −1 if it is not one."""
    try:
        number = int(e164)  # "+8613800138000" parses: int() takes a sign
    except ValueError:
        return -1
    return number if 0 < number < 10**18 else -1


# Layout of Features.codes, the integers FeatureTable reads in one pass: hashes of strings
# (0: not given, as hash("") == 0 in CPython), lengths, code points, numbers.
CODES = tuple(
    " ".join(
        [
            "name pinyin sorted_name first_part last_part part_count first_part_len",
            "last_part_len cjk_name name_length first_initial last_initial",
            "province city district street postcode street_number_word street_first",
            "street_last street_number street_number_sorted city_first city_last",
            "postcode_first postcode_last",
            "kind company id_number external_id gender phone_1 phone_2 email_1 email_2",
            "email_user_1 email_user_2 birth_year birth_month birth_day",
        ]
    ).split(" ")
)

_NO_BIRTHDAY = (None, "")


def _field(value) -> str:
    if not value:
        return ""
    return value.strip() if type(value) is str else _text(value)


@lru_cache(maxsize=20_000)
def _address(province: str, city: str, district: str, street: str, postcode: str):
    """Normalised province, city, district, street and postcode, the street's (house number,
    first word, last word), the small numbers comparisons filter pairs with, and the block
    of codes for the table."""
    street = street_key(street, (province, city, district)) if street else ""
    city = city_key(city) if city else ""
    postcode = postcode.replace(" ", "") if postcode else ""
    words = _street_words(street) if street else ("", "", "")
    province = province_key(province) if province else ""
    district = district_key(district) if district else ""
    hints = _hints(city, postcode, words[0][1:])
    codes = (
        hash(province),
        hash(city),
        hash(district),
        hash(street),
        hash(postcode),
        hash(words[0]),
        hash(words[1]),
        hash(words[2]),
        *hints,
    )
    return province, city, district, street, postcode, words, hints, codes


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
