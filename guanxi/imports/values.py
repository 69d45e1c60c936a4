"""Turning the text of a cell into a value: dates in the forms Chinese files use, numbers that
Excel turned into exponent form, choices written as their label in either language, cells
holding several values. Pure functions; each raises ValueError with a message for a person.
"""

import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from guanxi.customers.cleaning import fold

EXCEL_EPOCH = date(1899, 12, 30)  # serial 1 is 1900-01-01 (after Excel's 1900 leap-year bug)
_EXPONENT = re.compile(r"^[+-]?\d+(?:\.\d+)?[eE][+]?\d+$")
_DATE_PATTERNS = [
    # 2024-01-05, 2024/1/5, 2024.1.5, 2024年1月5日, 2024-01-05 10:30[:00]
    re.compile(
        r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
        r"(?:[ T]+(?P<H>\d{1,2})[:：时](?P<M>\d{1,2})(?:[:：分](?P<S>\d{1,2}(?:\.\d+)?))?秒?)?$"
    ),
    re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$"),  # 20240105
]
_SPLIT_MANY = re.compile(r"[,，;；、|/\n]+")
_SPLIT_TAGS = re.compile(r"[,，;；、|\n]+")


def text(raw: str) -> str:
    return fold(raw)


def digits_text(raw: str) -> str:
    """A long digit string (phone, ID number) as text. An exponent form is refused unless
    its mantissa still shows every digit: "1.3800138E+10" could be any of 138001380xx."""
    value = fold(raw)
    if _EXPONENT.match(value):
        number = Decimal(value)
        mantissa = value.lower().split("e")[0].lstrip("+-").replace(".", "").lstrip("0")
        whole = format(number, "f").split(".")[0].lstrip("-")
        if number == number.to_integral_value() and len(mantissa) >= len(whole):
            return whole
        raise ValueError(
            _(
                "“%(value)s” is a number Excel wrote in exponent form, losing digits; format "
                "the column as text in Excel and export the file again."
            )
            % {"value": raw}
        )
    return value


def many(raw: str, *, tags: bool = False) -> list[str]:
    """The values of a cell holding several: "138…, 139…" or "VIP、老客户"."""
    parts = (_SPLIT_TAGS if tags else _SPLIT_MANY).split(raw or "")
    return [p for p in (fold(part) for part in parts) if p]


@lru_cache(maxsize=65_536)  # a birthday column repeats its dates (and dates are immutable)
def parse_date(raw: str) -> date:
    """2024-01-05, 2024/1/5, 2024.1.5, 2024年1月5日, 20240105, or an Excel serial number."""
    value = fold(raw)
    moment = _parse_moment(value)
    if moment is None:
        raise ValueError(
            _("“%(value)s” is not a date (write it like 2024-01-05 or 2024年1月5日).")
            % {"value": raw}
        )
    return moment.date() if isinstance(moment, datetime) else moment


def parse_datetime(raw: str) -> datetime:
    """A date with an optional time of day, aware in the current time zone."""
    value = fold(raw)
    moment = _parse_moment(value)
    if moment is None:
        raise ValueError(
            _("“%(value)s” is not a date and time (write it like 2024-01-05 10:30).")
            % {"value": raw}
        )
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day)
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _parse_moment(value: str):
    if not value:
        return None
    if re.fullmatch(r"\d{1,5}(?:\.\d+)?", value) and not re.fullmatch(r"\d{8}", value):
        return _excel_serial(value)
    if "T" in value and re.match(r"^\d{4}-\d{2}-\d{2}T", value):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    for pattern in _DATE_PATTERNS:
        m = pattern.match(value)
        if not m:
            continue
        parts = m.groupdict()
        try:
            day = date(int(parts["y"]), int(parts["m"]), int(parts["d"]))
        except ValueError:
            return None
        if parts.get("H") is None:
            return day
        seconds = float(parts.get("S") or 0)
        try:
            return datetime(
                day.year, day.month, day.day, int(parts["H"]), int(parts["M"]), int(seconds)
            )
        except ValueError:
            return None
    return None


def _excel_serial(value: str):
    number = float(value)
    if not 1 <= number < 2958466:  # 9999-12-31
        return None
    moment = datetime(1899, 12, 30) + timedelta(days=number)
    return moment.date() if number.is_integer() else moment.replace(microsecond=0)


def parse_decimal(raw: str) -> Decimal:
    """1234.5, 1,234.50, ¥1,234.50, 1 234,5 is refused (ambiguous), （全角）digits folded."""
    value = fold(raw).replace("¥", "").replace("￥", "").replace("元", "").strip()
    value = value.replace(",", "") if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", value) else value
    try:
        number = Decimal(value)
    except InvalidOperation as e:
        raise ValueError(_("“%(value)s” is not a number.") % {"value": raw}) from e
    if not number.is_finite():
        raise ValueError(_("“%(value)s” is not a number.") % {"value": raw})
    return number


def parse_bool(raw: str) -> bool:
    value = fold(raw).lower()
    if value in ("1", "true", "yes", "y", "是", "对", "√", "✓", "x"):
        return True
    if value in ("0", "false", "no", "n", "否", "不是", ""):
        return False
    raise ValueError(_("“%(value)s” is not yes or no.") % {"value": raw})


class ChoiceReader:
    """Reads a choice from its stored value or its label in Chinese or English, plus the
    everyday words people use (男/女, 个人/公司 …)."""

    def __init__(self, choices, synonyms: dict[str, str] | None = None):
        self.choices = choices
        self.lookup: dict[str, str] = {}
        self._read: dict[str, str] = {}
        for value, label in choices.choices:
            self.lookup[_key(value)] = value
            for language in ("zh-hans", "en"):
                with translation.override(language):
                    self.lookup.setdefault(_key(str(label)), value)
        for word, value in (synonyms or {}).items():
            self.lookup[_key(word)] = value

    def __call__(self, raw: str) -> str:
        try:
            return self._read[raw]  # a column holds a handful of values, row after row
        except KeyError:
            pass
        value = fold(raw)
        if not value:
            return ""
        try:
            found = self.lookup[_key(value)]
        except KeyError:
            shown = [str(label) for v, label in self.choices.choices if v]
            raise ValueError(
                _("“%(value)s” is not one of: %(choices)s.")
                % {"value": raw, "choices": ", ".join(shown)}
            ) from None
        if len(self._read) < 10_000:
            self._read[raw] = found
        return found


def _key(text: str) -> str:
    return re.sub(r"[\s_\-/()（）]+", "", fold(str(text)).lower())
