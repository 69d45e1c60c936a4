"""Turning what people type into what we store: phones, emails, names, custom field values.

Pure functions (no database), shared by the services, the import pipeline and the forms.
Each raises ValueError with a message meant for the person who typed the value.
"""

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from phonenumbers import PhoneMetadata
from pypinyin import Style, lazy_pinyin
from pypinyin.constants import PHRASES_DICT

from .choices import CustomFieldType

_email_validator = EmailValidator()
# A strict subset of what EmailValidator accepts (ASCII letters, digits and . _ % + - before
# the @; dot-separated labels that neither start nor end with a hyphen; a letters-only top
# level domain), checked without it; anything else goes through it.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}\Z"
)

# Surnames whose reading differs from the character's most common reading.
SURNAME_READINGS = {
    "单": "shan",
    "曾": "zeng",
    "解": "xie",
    "仇": "qiu",
    "朴": "piao",
    "区": "ou",
    "查": "zha",
    "盖": "ge",
    "乐": "yue",
    "尉": "yu",
    "缪": "miao",
    "覃": "qin",
    "翟": "zhai",
    "秘": "bi",
    "重": "chong",
    "种": "chong",
    "冼": "xian",
    "长": "chang",
}


def fold(text: str) -> str:
    """Full-width to half-width (NFKC), collapsed whitespace, trimmed."""
    if not text:
        return ""
    if not text.isascii():  # NFKC leaves ASCII as it is
        text = unicodedata.normalize("NFKC", text)
    return " ".join(text.split())


# Chinese mobile numbers, the bulk of what is typed and imported, are checked against
# libphonenumber's own pattern for them without a full parse (same answer, a tenth the time).
_CN_MOBILE = re.compile(
    PhoneMetadata.metadata_for_region("CN").mobile.national_number_pattern + r"\Z"
)
_PLAIN_DIGITS = re.compile(r"\+?[\d \-]+\Z")


def _cn_mobile_fast(text: str) -> str | None:
    """E.164 of a plainly written Chinese mobile number, or None to take the long way."""
    if not _PLAIN_DIGITS.match(text):
        return None
    digits = text.replace(" ", "").replace("-", "").lstrip("+")
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    elif len(digits) == 15 and digits.startswith("0086") and not text.startswith("+"):
        digits = digits[4:]
    elif len(digits) != 11 or text.startswith("+"):
        return None
    return "+86" + digits if _CN_MOBILE.match(digits) else None


# Chinese landlines with their area code (010-12345678, 0755 8123 4567, 021-80074620转638),
# checked against libphonenumber's fixed-line and general patterns in the same way; anything
# else (and a number those patterns do not take) goes the long way.
_CN_FIXED = re.compile(
    "(?:" + PhoneMetadata.metadata_for_region("CN").fixed_line.national_number_pattern + r")\Z"
)
_CN_GENERAL = re.compile(
    "(?:" + PhoneMetadata.metadata_for_region("CN").general_desc.national_number_pattern + r")\Z"
)
_PLAIN_LANDLINE = re.compile(
    r"0(\d{2,3})[- ]?(\d{3,4})[- ]?(\d{4})(?:\s*(?:转|分机)\s*(\d{1,6}))?\Z"
)


def _cn_landline_fast(text: str) -> tuple[str, str] | None:
    """(E.164, extension) of a plainly written Chinese landline, or None."""
    found = _PLAIN_LANDLINE.match(text)
    if not found:
        return None
    national = found[1] + found[2] + found[3]
    if _CN_GENERAL.match(national) and _CN_FIXED.match(national):
        return "+86" + national, found[4] or ""
    return None


def normalize_phone(raw: str, region: str | None = None) -> tuple[str, str]:
    """Return (E.164 number, extension) for a phone typed in any common form.

    "138 0013 8000", "+86-138-0013-8000", "8613800138000" and "0086 138 0013 8000" are one
    number: +8613800138000. Landlines need their area code ("010-12345678").
    """
    text = fold(raw)
    if not text:
        raise ValueError(_("Enter a phone number."))
    region = region or settings.GUANXI_DEFAULT_REGION
    if region == "CN":
        if fast := _cn_mobile_fast(text):
            return fast, ""
        if landline := _cn_landline_fast(text):
            return landline
    return _normalize_phone_parsed(text, raw, region)


def _normalize_phone_parsed(text: str, raw: str, region: str) -> tuple[str, str]:
    """The general case, through libphonenumber."""
    # "010-12345678转123" / "分机 123": the Chinese ways of writing an extension.
    text = re.sub(r"\s*(?:转|分机)\s*", " ext. ", text)
    candidates = [text]
    digits = re.sub(r"\D", "", text)
    if not text.startswith("+") and digits:
        candidates.append("+" + digits)  # a country code written without its plus sign
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            return e164, number.extension or ""
    raise ValueError(_("“%(value)s” is not a valid phone number.") % {"value": raw})


def phone_search_forms(e164: str) -> list[str]:
    """The digit strings a person might search a number by: with and without country code."""
    digits = e164.lstrip("+")
    if len(e164) == 14 and e164.startswith("+861"):  # a Chinese mobile: 86 + 11 digits
        return [digits[2:], digits]
    try:
        national = str(phonenumbers.parse(e164).national_number)
    except phonenumbers.NumberParseException:
        national = digits
    return [digits] if national == digits else [national, digits]


def normalize_email(raw: str) -> str:
    email = fold(raw).lower()
    if not email:
        raise ValueError(_("Enter an email address."))
    if len(email) > 254:
        raise ValueError(_("An email address is at most %(n)d characters.") % {"n": 254})
    if _PLAIN_EMAIL.match(email):
        return email  # the common form, which the full validator accepts too
    try:
        _email_validator(email)
    except ValidationError as e:
        raise ValueError(_("“%(value)s” is not a valid email address.") % {"value": raw}) from e
    return email


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


# Chinese characters (the common blocks), for texts read a character at a time.
_HANS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+\Z")
_CHAR_READINGS: dict[str, list[str]] = {}


def _reading(char: str) -> list[str]:
    try:
        return _CHAR_READINGS[char]
    except KeyError:
        reading = _CHAR_READINGS[char] = lazy_pinyin(char, style=Style.NORMAL, errors="default")
        return reading


def _pinyin(text: str) -> list[str]:
    """lazy_pinyin(text, style=NORMAL), read a character at a time when no part of a short
    Chinese text is a word pypinyin reads as a whole (重庆 → chong qing: it falls back), which
    is most personal names: the same answer for a fraction of the time."""
    n = len(text)
    if n <= 4 and _HANS.match(text):
        if n == 1:
            return _reading(text)
        if n == 2:
            whole = text in PHRASES_DICT
        elif n == 3:  # 张小明: 张小, 小明, the whole
            whole = text in PHRASES_DICT or text[:2] in PHRASES_DICT or text[1:] in PHRASES_DICT
        else:
            whole = any(text[i:j] in PHRASES_DICT for i in range(3) for j in range(i + 2, 5))
        if not whole:
            return [s for c in text for s in _reading(c)]
    return lazy_pinyin(text, style=Style.NORMAL, errors="default")


@lru_cache(maxsize=200_000)
def name_keys(name: str) -> tuple[str, str]:
    """(full pinyin, initials): 张三 → ("zhangsan", "zs"), John Smith → ("johnsmith", "js")."""
    text = fold(name).lower()
    syllables: list[str] = []
    for i, part in enumerate(_pinyin(text)):
        if i == 0 and text[:1] in SURNAME_READINGS:
            part = SURNAME_READINGS[text[0]]
        part = _strip_accents(part)  # Zoë Müller → zoe muller
        syllables.extend(w for w in re.split(r"[^0-9a-z]+", part) if w)
    full = "".join(syllables)
    initials = "".join(s[0] for s in syllables)
    return full[:400], initials[:100]


def build_search_text(
    *,
    name: str,
    company_name: str = "",
    phones=(),
    emails=(),
    external_id: str | None = None,
    contact_names=(),
) -> str:
    """The lower-cased text that substring search runs over (one column, one index)."""
    pinyin, initials = name_keys(name)
    parts = [fold(name).lower(), pinyin, initials]
    if company_name:
        parts += [fold(company_name).lower(), name_keys(company_name)[0]]
    for phone in phones:
        parts += phone_search_forms(phone)
    parts += list(emails)
    for contact_name in contact_names:
        parts += [fold(contact_name).lower(), name_keys(contact_name)[0]]
    if external_id:
        parts.append(external_id.lower())
    return " ".join(p for p in parts if p)


def clean_custom_value(definition, raw):
    """Validate one custom field value against its definition; returns the stored form."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if definition.required:
            raise ValueError(_("This field is required."))
        return None
    kind = definition.field_type
    if isinstance(raw, dict | list | tuple | set):
        raise ValueError(_("Give a single value, not a list or an object."))
    if kind == CustomFieldType.TEXT:
        value = fold(str(raw))
        if definition.max_length and len(value) > definition.max_length:
            raise ValueError(_("At most %(n)d characters.") % {"n": definition.max_length})
        return value
    if kind == CustomFieldType.NUMBER:
        if isinstance(raw, bool):
            raise ValueError(_("Enter a number."))
        try:
            value = Decimal(fold(str(raw)))
        except InvalidOperation as e:
            raise ValueError(_("“%(value)s” is not a number.") % {"value": raw}) from e
        if not value.is_finite():
            raise ValueError(_("Enter a finite number."))
        if definition.min_value is not None and value < definition.min_value:
            raise ValueError(_("Must be at least %(n)s.") % {"n": definition.min_value.normalize()})
        if definition.max_value is not None and value > definition.max_value:
            raise ValueError(_("Must be at most %(n)s.") % {"n": definition.max_value.normalize()})
        return int(value) if value == value.to_integral_value() else float(value)
    if kind == CustomFieldType.DATE:
        if isinstance(raw, date):
            return raw.isoformat()
        try:
            parsed = parse_date(fold(str(raw)))
        except ValueError:
            parsed = None
        if parsed is None:
            raise ValueError(_("“%(value)s” is not a date (use YYYY-MM-DD).") % {"value": raw})
        return parsed.isoformat()
    if kind == CustomFieldType.CHOICE:
        value = fold(str(raw))
        if value not in definition.choices:
            raise ValueError(
                _("“%(value)s” is not one of: %(choices)s.")
                % {"value": raw, "choices": ", ".join(definition.choices)}
            )
        return value
    raise ValueError(_("Unknown field type."))
