"""Features of many records as numpy columns, so that pairs are compared a column at a time.

String columns are kept as the strings' hashes (Python caches a string's hash, so this is
nearly free, and hash("") == 0 marks "not given"), so exact comparisons are integer
comparisons; two different strings with one 64-bit hash are too unlikely to matter. The
strings are kept beside them for the similarity levels, which rapidfuzz computes for many
pairs in one call. Hashes are only compared within one process.
"""

from collections.abc import Sequence
from itertools import chain
from operator import attrgetter

import numpy as np

from .features import Features

MAX_PHONES = 2  # compared per record; blocking keys use the first two as well
MAX_EMAILS = 2

_ID_COLUMNS = (
    "kind",
    "name",
    "pinyin",
    "sorted_name",
    "company",
    "id_number",
    "external_id",
    "gender",
    "province",
    "city",
    "district",
    "street",
    "postcode",
)
_STRING_COLUMNS = frozenset(
    ("name", "pinyin", "sorted_name", "company", "id_number", "city", "street", "postcode")
)


def _phone_number(e164: str) -> int:
    try:
        return int(e164[1:] if e164[:1] == "+" else e164) if len(e164) < 19 else -1
    except ValueError:
        return -1


def _objects(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _matrix(lists: list[tuple], width: int, convert, fill, dtype) -> np.ndarray:
    """Rows of a ragged list of tuples as an (n × width) matrix, padded with `fill`."""
    n = len(lists)
    out = np.full((n, width), fill, dtype=dtype)
    lengths = np.fromiter((min(len(x), width) for x in lists), np.int64, n)
    total = int(lengths.sum())
    if total:
        values = np.fromiter(
            map(convert, chain.from_iterable(x[:width] for x in lists)), dtype, total
        )
        rows = np.repeat(np.arange(n), lengths)
        cols = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        out[rows, cols] = values
    return out


class FeatureTable:
    """Columns of a list of `Features`; row i is features[i]."""

    def __init__(self, rows: Sequence[Features]):
        n = len(rows)
        self.size = n
        intern = hash
        assert hash("") == 0  # CPython: the empty string, "not given", hashes to 0
        columns = list(zip(*map(attrgetter(*_ID_COLUMNS), rows), strict=True)) if n else []
        for name, values in zip(_ID_COLUMNS, columns or [()] * len(_ID_COLUMNS), strict=True):
            setattr(self, name, np.fromiter(map(intern, values), np.int64, n))
            if name in _STRING_COLUMNS:
                setattr(self, name + "_text", _objects(list(values)))
        # First and last name part (surname and given name of a Chinese name), for
        # similarity part by part: a shared surname alone does not make two names similar.
        parts = [f.parts for f in rows]
        first = [p[0] if p else "" for p in parts]
        last = [p[-1] if p else "" for p in parts]
        self.part_count = np.fromiter(map(len, parts), np.int8, n)
        self.first_part = np.fromiter(map(intern, first), np.int64, n)
        self.last_part = np.fromiter(map(intern, last), np.int64, n)
        self.first_part_len = np.fromiter(map(len, first), np.int16, n)
        self.last_part_len = np.fromiter(map(len, last), np.int16, n)
        self.first_part_text = _objects(first)
        self.last_part_text = _objects(last)
        self.cjk_name = np.fromiter((f.cjk for f in rows), bool, n)
        self.name_length = np.fromiter(map(len, self.name_text), np.int16, n)

        phones = [f.phones for f in rows]
        width = min(max(map(len, phones), default=0), MAX_PHONES)
        self.phones = _matrix(phones, max(width, 1), _phone_number, -1, np.int64)
        emails = [f.emails for f in rows]
        width = max(min(max(map(len, emails), default=0), MAX_EMAILS), 1)
        self.emails = _matrix(emails, width, intern, 0, np.int64)
        # zhangwei@qq.com and zhangwei@163.com share a name, not a mailbox: a user name that
        # is just the name's pinyin says nothing.
        users = [
            tuple(
                "" if (u := e.partition("@")[0]).replace(".", "") == f.pinyin else "@user:" + u
                for e in f.emails
            )
            if f.emails
            else ()
            for f in rows
        ]
        self.email_users = _matrix(users, width, intern, 0, np.int64)
        self.email_text = _objects([e[0] if e else "" for e in emails])

        valid = self.phones >= 0
        self.phone_last8 = np.where(valid, self.phones % 100_000_000, -1)
        self.phone_last6 = np.where(valid, self.phones % 1_000_000, -1)
        self.phone_top = np.where(valid, self.phones // 1_000_000, -1)
        # House number, first and last street word: cheap evidence that two streets may be
        # alike, before any string comparison.
        self.street_words = np.fromiter(
            map(intern, chain.from_iterable(f.street_words for f in rows)), np.int64, 3 * n
        ).reshape(n, 3)
        hints = np.fromiter(
            chain.from_iterable(map(attrgetter("hints"), rows)), np.int64, 6 * n
        ).reshape(n, 6)
        self.street_number = hints[:, 0].copy()
        self.street_number_sorted = hints[:, 1].copy()
        self.city_ends = hints[:, 2:4].copy()
        self.postcode_ends = hints[:, 4:6].copy()
        birthdays = np.fromiter(
            chain.from_iterable(f.birthday or (0, 0, 0) for f in rows), np.int32, 3 * n
        ).reshape(n, 3)
        self.birth_year, self.birth_month, self.birth_day = birthdays.T.copy()

    def __len__(self):
        return self.size

    def _part_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Per row, how many rows have its first part, and its last part, as a name part."""
        own_last = self.last_part != self.first_part
        values = np.concatenate([self.first_part, self.last_part[own_last]])
        unique, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
        counts[unique == 0] = 0
        first = counts[inverse[: self.size]]
        last = counts[np.searchsorted(unique, self.last_part)]
        return first, last

    def part_frequencies(self) -> dict[str, float]:
        """Share of rows with each name part among their first and last part."""
        first, last = self._part_counts()
        n = max(self.size, 1)
        out = {}
        for texts, counts in ((self.first_part_text, first), (self.last_part_text, last)):
            for text, c in zip(texts, counts, strict=True):
                if text:
                    out[text] = c / n
        return out

    def name_frequencies(self, part_frequencies: dict[str, float] | None = None) -> np.ndarray:
        """Per row, the estimated share of people with this name: the product of the shares
        of its surname and given name (first and last part).

        A name seen twice in a file is not one in ten thousand; 徐阳然 is about as common as
        徐 times 阳然. Parts missing from `part_frequencies` count as seen once.
        """
        n = max(self.size, 1)
        if part_frequencies is None:
            first, last = (c / n for c in self._part_counts())
        else:
            floor = 1.0 / n
            first = np.fromiter(
                (part_frequencies.get(p, floor) for p in self.first_part_text), np.float64, n
            )
            last = np.fromiter(
                (part_frequencies.get(p, floor) for p in self.last_part_text), np.float64, n
            )
        out = first * np.where(self.last_part != self.first_part, last, 1.0)
        out[self.first_part == 0] = 0.0
        return out[: self.size]

    def frequencies(self, column: str) -> np.ndarray:
        """For each row, the share of rows with the same value in `column` (0 when not given)."""
        values = getattr(self, column)
        unique, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
        counts[unique == 0] = 0
        return counts[inverse] / max(self.size, 1)
