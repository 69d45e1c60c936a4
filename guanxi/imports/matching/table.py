"""Features of many records as numpy columns, so that pairs are compared a column at a time.

Every string column is interned into one vocabulary (id 0 is "not given"), so exact
comparisons are integer comparisons; the strings are kept beside the ids for the similarity
levels, which rapidfuzz computes for many pairs in one call.
"""

from collections import defaultdict
from collections.abc import Sequence
from itertools import count

import numpy as np

from .features import Features
from .text import is_cjk

MAX_PHONES = 3
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
_STRING_COLUMNS = ("name", "pinyin", "sorted_name", "company", "id_number", "city", "street")


def _street_words(street: str) -> tuple[str, str, str]:
    words = street.split(" ")
    number = next((w for w in words if w.isdigit()), "")
    names = [w for w in words if not w.isdigit()] or [""]
    return "#" + number if number else "", names[0], names[-1]


def _phone_number(e164: str) -> int:
    digits = e164.lstrip("+")
    return int(digits) if digits.isdigit() and len(digits) <= 18 else -1


class FeatureTable:
    """Columns of a list of `Features`; row i is features[i]."""

    def __init__(self, rows: Sequence[Features]):
        n = len(rows)
        self.size = n
        vocab: defaultdict[str, int] = defaultdict(count().__next__)
        vocab[""]  # id 0: not given
        for column in _ID_COLUMNS:
            setattr(
                self,
                column,
                np.fromiter((vocab[getattr(f, column)] for f in rows), np.int32, n),
            )
        for column in _STRING_COLUMNS:
            values = np.empty(n, dtype=object)
            values[:] = [getattr(f, column) for f in rows]
            setattr(self, column + "_text", values)
        self.postcode_text = np.empty(n, dtype=object)
        self.postcode_text[:] = [f.postcode for f in rows]
        # First and last name part (surname and given name of a Chinese name), for
        # similarity part by part: a shared surname alone does not make two names similar.
        self.part_count = np.fromiter((len(f.parts) for f in rows), np.int8, n)
        first = [f.parts[0] if f.parts else "" for f in rows]
        last = [f.parts[-1] if f.parts else "" for f in rows]
        self.first_part = np.fromiter(map(vocab.__getitem__, first), np.int32, n)
        self.last_part = np.fromiter(map(vocab.__getitem__, last), np.int32, n)
        self.first_part_len = np.fromiter(map(len, first), np.int16, n)
        self.last_part_len = np.fromiter(map(len, last), np.int16, n)
        self.cjk_name = np.fromiter((is_cjk(f.name) for f in rows), bool, n)
        self.first_part_text = np.empty(n, dtype=object)
        self.first_part_text[:] = first
        self.last_part_text = np.empty(n, dtype=object)
        self.last_part_text[:] = last

        width = max((len(f.phones) for f in rows), default=0)
        self.phones = np.full((n, max(1, min(width, MAX_PHONES))), -1, dtype=np.int64)
        width = max((len(f.emails) for f in rows), default=0)
        self.emails = np.zeros((n, max(1, min(width, MAX_EMAILS))), dtype=np.int32)
        self.email_users = np.zeros_like(self.emails)
        self.email_text = np.empty(n, dtype=object)
        self.email_text[:] = ""
        for i, f in enumerate(rows):
            if f.phones:
                for j, phone in enumerate(f.phones[: self.phones.shape[1]]):
                    self.phones[i, j] = _phone_number(phone)
            if f.emails:
                self.email_text[i] = f.emails[0]
                for j, email in enumerate(f.emails[: self.emails.shape[1]]):
                    self.emails[i, j] = vocab[email]
                    user = email.partition("@")[0]
                    # zhangwei@qq.com and zhangwei@163.com share a name, not a mailbox.
                    if user.replace(".", "") != f.pinyin:
                        self.email_users[i, j] = vocab["@user:" + user]

        valid = self.phones >= 0
        self.phone_last8 = np.where(valid, self.phones % 100_000_000, -1)
        self.phone_last6 = np.where(valid, self.phones % 1_000_000, -1)
        self.phone_top = np.where(valid, self.phones // 1_000_000, -1)
        # House number, first and last street word: cheap evidence that two streets may be
        # alike, before any string comparison.
        self.street_words = np.zeros((n, 3), dtype=np.int32)
        for i, f in enumerate(rows):
            if f.street:
                self.street_words[i] = [vocab[w] for w in _street_words(f.street)]

        birthdays = np.array([f.birthday or (0, 0, 0) for f in rows], dtype=np.int32).reshape(n, 3)
        self.birth_year, self.birth_month, self.birth_day = birthdays.T.copy()
        self.vocabulary_size = len(vocab)

    def __len__(self):
        return self.size

    def frequencies(self, column: str) -> np.ndarray:
        """For each row, the share of rows with the same value in `column` (0 when not given)."""
        ids = getattr(self, column)
        counts = np.bincount(ids, minlength=self.vocabulary_size).astype(np.float64)
        counts[0] = 0
        return counts[ids] / max(self.size, 1)
