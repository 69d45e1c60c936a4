"""Features of many records as numpy columns, so that pairs are compared a column at a time.

features() gives every record a flat tuple of integers (`Features.codes`, layout in
features.CODES): hashes of its strings (hash("") == 0 marks "not given"; two different
strings with one 64-bit hash are too unlikely to matter), lengths, code points, numbers.
They are computed once per distinct name and address, so the table reads them in one pass
and exact comparisons are integer comparisons. The strings are kept beside them for the
similarity levels, which rapidfuzz computes for many pairs in one call. Hashes are only
compared within one process.
"""

from array import array
from collections.abc import Sequence
from itertools import chain
from operator import attrgetter

import numpy as np

from .features import CODES, Features

# Numbers of phones and emails compared per record (blocking keys use as many).
MAX_PHONES = 2
MAX_EMAILS = 2


def _objects(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _codes(rows: Sequence[Features]) -> np.ndarray:
    """The rows' codes as an (n × codes) array; a record that came from another process
    holds them as the bytes of an int64 array, one made here as a tuple."""
    n = len(rows)
    codes = list(map(attrgetter("codes"), rows))
    if codes and all(type(c) is bytes for c in codes):
        return np.frombuffer(b"".join(codes), np.int64).reshape(n, len(CODES))
    flat = chain.from_iterable(c if type(c) is not bytes else array("q", c) for c in codes)
    return np.fromiter(flat, np.int64, len(CODES) * n).reshape(n, len(CODES))


_TEXT_COLUMNS = (
    "name",
    "pinyin",
    "sorted_name",
    "company",
    "id_number",
    "city",
    "street",
    "postcode",
)
_CODE = {name: k for k, name in enumerate(CODES)}


class FeatureTable:
    """Columns of a list of `Features`; row i is features[i]."""

    def __init__(self, rows: Sequence[Features]):
        n = len(rows)
        self.size = n
        codes = _codes(rows)

        def code(name):
            return codes[:, _CODE[name]].copy()

        for name in (
            "name",
            "pinyin",
            "sorted_name",
            "first_part",
            "last_part",
            "kind",
            "company",
            "id_number",
            "external_id",
            "gender",
            "province",
            "city",
            "district",
            "street",
            "postcode",
            "street_number",
            "street_number_sorted",
        ):
            setattr(self, name, code(name))
        self.part_count = code("part_count").astype(np.int8)
        self.first_part_len = code("first_part_len").astype(np.int16)
        self.last_part_len = code("last_part_len").astype(np.int16)
        self.cjk_name = code("cjk_name").astype(bool)
        self.name_length = code("name_length").astype(np.int16)
        # First letter of the first and last part: names alike share one, in some order.
        self.part_initial = codes[:, [_CODE["first_initial"], _CODE["last_initial"]]].copy()
        self.phones = codes[:, [_CODE["phone_1"], _CODE["phone_2"]]].copy()
        self.emails = codes[:, [_CODE["email_1"], _CODE["email_2"]]].copy()
        self.email_users = codes[:, [_CODE["email_user_1"], _CODE["email_user_2"]]].copy()
        # House number, first and last street word: cheap evidence that two streets may be
        # alike, before any string comparison.
        self.street_words = codes[
            :, [_CODE["street_number_word"], _CODE["street_first"], _CODE["street_last"]]
        ].copy()
        self.city_ends = codes[:, [_CODE["city_first"], _CODE["city_last"]]].copy()
        self.postcode_ends = codes[:, [_CODE["postcode_first"], _CODE["postcode_last"]]].copy()
        self.birth_year = code("birth_year")
        self.birth_month = code("birth_month")
        self.birth_day = code("birth_day")
        # The strings, for the similarity levels.
        for name in _TEXT_COLUMNS:
            setattr(self, name + "_text", _objects(list(map(attrgetter(name), rows))))
        parts = list(map(attrgetter("parts"), rows))
        self.first_part_text = _objects([p[0] if p else "" for p in parts])
        self.last_part_text = _objects([p[-1] if p else "" for p in parts])
        self.email_text = _objects([e[0] if e else "" for e in map(attrgetter("emails"), rows)])

    def __len__(self):
        return self.size

    def _columns(self) -> dict[str, np.ndarray]:
        return {
            k: v
            for k, v in vars(self).items()
            if isinstance(v, np.ndarray) and v.shape[:1] == (self.size,)
        }

    @classmethod
    def _of_columns(cls, columns: dict[str, np.ndarray], size: int) -> "FeatureTable":
        table = cls.__new__(cls)
        table.size = size
        for name, values in columns.items():
            setattr(table, name, values)
        return table

    def take(self, rows) -> "FeatureTable":
        """The table of the given rows, in that order (the candidates of a batch, say)."""
        rows = np.asarray(rows, dtype=np.int64)
        return self._of_columns({k: v[rows] for k, v in self._columns().items()}, len(rows))

    @classmethod
    def concat(cls, tables: Sequence["FeatureTable"]) -> "FeatureTable":
        """One table with the rows of each table in turn."""
        columns = {}
        for name in tables[0]._columns():
            columns[name] = np.concatenate([getattr(t, name) for t in tables])
        return cls._of_columns(columns, sum(t.size for t in tables))

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
