"""Blocking: which record pairs are worth comparing at all.

Each record gets a few string keys; two records are candidates when they share a key.
Keys are plain strings, at most MAX_KEYS per record, so the importer can keep each existing
customer's keys in an indexed table and look a file chunk's keys up against it. A key shared
by more than `max_block` records says little about a pair and is dropped.

Key format, `<type>:<value>`:

    id:<id number>              ph:<E.164 phone>          em:<email>
    pl:<last 7 digits of the first phone>
    ex:<external id>            py:<name pinyin>          pys:<name parts, sorted>
    bd+ini:<birthday>|<initials of the name parts, sorted>
    p+bd:<name part>|<birthday> p+loc:<name part>|<city or postcode>
    ad:<house number>|<first street word>|<city or postcode>
    co+sn:<employer's core name>|<surname (either end of a latin name)>

Birthdays are written YYYY-MM-DD; pinyin and name parts are lower-case ASCII for Chinese
names (张三 → py:zhangsan, pys:san zhang); locations are the city without 市, else the
postcode.
"""

from collections.abc import Sequence
from itertools import chain

import numpy as np

from .features import Features

MAX_KEYS = 10
# Blocks larger than this are dropped. Measured on FEBRL3, FEBRL4 and the generated Chinese
# file (benchmarks/matching_quality.py): 20 keeps blocking recall within 0.1 point of 50
# and halves the candidate pairs of a 100,000-record file (5.3 instead of 9.6 per record).
MAX_BLOCK = 20


def blocking_keys(f: Features) -> list[str]:
    """The blocking keys of one record, most useful first, at most MAX_KEYS (worked out
    once per record and kept on it: an import computes them where it prepares the rows)."""
    try:
        return f.block_keys
    except AttributeError:
        pass
    keys = []
    if f.id_number:
        keys.append("id:" + f.id_number)
    phones = f.phones
    if phones:
        keys += ["ph:" + p for p in phones[:2]]
        if len(phones[0]) > 10:
            # A digit typed wrong in the first half of the number leaves the last seven.
            keys.append("pl:" + phones[0][-7:])
    if f.emails:
        keys += ["em:" + e for e in f.emails[:2]]
    if f.external_id:
        keys.append("ex:" + f.external_id)
    parts = f.parts
    if parts:
        keys.append("py:" + f.pinyin)
        if len(parts) > 1:
            keys.append("pys:" + f.sorted_name)
    birthday = f.birthday_key
    if birthday:
        keys.append("bd:" + birthday)
    place = f.city or f.postcode
    if parts:
        # A Chinese surname, or given name, alone selects nothing in a large file; latin
        # names keep both ends alone as well, as either may be the family name.
        if f.cjk:
            ends = (parts[-1],)
        else:
            ends = (parts[0],) if parts[0] == parts[-1] else (parts[0], parts[-1])
            keys += ["p:" + p for p in ends]
        if place:
            keys += ["p+loc:" + p + "|" + place for p in ends]
    if f.company and parts:
        # Colleagues who share a surname are few: the employer with each possible surname.
        surnames = (parts[0],) if f.cjk else ends
        keys += ["co+sn:" + f.company + "|" + p for p in surnames]
    if f.postcode:
        keys.append("pc:" + f.postcode)
    number, word, _last = f.street_words
    if number and word and place:
        # 人民路 88 号 is in every city: the house number and street with the place.
        keys.append("ad:" + number[1:] + "|" + word + "|" + place)
    if birthday and f.initials:
        keys.append("bd+ini:" + birthday + "|" + f.initials)
    if parts and place:
        keys.append("py+loc:" + f.sorted_name + "|" + place)
    f.block_keys = keys = keys[:MAX_KEYS]
    return keys


def _entries(key_lists: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
    """(record index, key hash) for every key of every record.

    Keys are compared by their 64-bit string hashes (cached by Python on the string, so
    nearly free); two keys colliding only add a candidate pair, which scoring then rejects.
    """
    lengths = np.fromiter(map(len, key_lists), np.int64, len(key_lists))
    hashes = np.fromiter(map(hash, chain.from_iterable(key_lists)), np.int64, int(lengths.sum()))
    records = np.repeat(np.arange(len(key_lists), dtype=np.int64), lengths)
    return records, hashes


def _keys_of(items) -> list[Sequence[str]]:
    items = list(items)
    if items and isinstance(items[0], Features):
        return [blocking_keys(f) for f in items]
    return items


def _unique_pairs(left: np.ndarray, right: np.ndarray, width: int) -> np.ndarray:
    code = np.unique(left * width + right)
    return np.stack([code // width, code % width], axis=1)


def _groups(sorted_hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(start, size) of each run of equal values in a sorted array, per entry."""
    n = len(sorted_hashes)
    change = np.flatnonzero(np.diff(sorted_hashes)) + 1
    starts = np.concatenate(([0], change))
    sizes = np.diff(np.append(starts, n))
    group = np.repeat(np.arange(len(starts)), sizes)
    return starts[group], sizes[group]


def candidate_pairs(items, *, max_block: int = MAX_BLOCK) -> np.ndarray:
    """Pairs (i, j), i < j, of records in one set that share a blocking key.

    `items` is a list of `Features` or of their key lists (from `blocking_keys`). A key
    held by more than `max_block` records is dropped. Returns an (n_pairs × 2) int64 array,
    sorted.
    """
    key_lists = _keys_of(items)
    records, hashes = _entries(key_lists)
    if not len(records):
        return np.zeros((0, 2), dtype=np.int64)
    order = np.lexsort((records, hashes))
    records, hashes = records[order], hashes[order]
    starts, sizes = _groups(hashes)
    keep = (sizes >= 2) & (sizes <= max_block)
    # Whole blocks are kept or dropped, so the kept entries' runs are the kept blocks.
    records, hashes = records[keep], hashes[keep]
    if not len(records):
        return np.zeros((0, 2), dtype=np.int64)
    starts, sizes = _groups(hashes)
    position = np.arange(len(records))
    # Each entry pairs with the entries after it in its block.
    partners = starts + sizes - position - 1
    total = int(partners.sum())
    if not total:
        return np.zeros((0, 2), dtype=np.int64)
    left_pos = np.repeat(position, partners)
    step = np.arange(total) - np.repeat(np.cumsum(partners) - partners, partners)
    left, right = records[left_pos], records[left_pos + 1 + step]
    keep = left != right
    lo = np.minimum(left[keep], right[keep])
    hi = np.maximum(left[keep], right[keep])
    return _unique_pairs(lo, hi, max(len(key_lists), 1))


class KeyIndex:
    """The blocking keys of a set of records (say, the existing customers), indexed once so
    that the records of many batches can be looked up against them.

    The importer does the same with an indexed table of (key, customer id); this is its
    in-memory form, and what `candidate_pairs_between` uses.
    """

    def __init__(self, items):
        key_lists = _keys_of(items)
        records, hashes = _entries(key_lists)
        order = np.argsort(hashes, kind="stable")
        self.records, self.hashes = records[order], hashes[order]
        self.size = len(key_lists)

    def __len__(self):
        return self.size

    def lookup(self, items, *, max_block: int = MAX_BLOCK) -> np.ndarray:
        """Pairs (i, j) of record i of `items` and record j of the index sharing a key.

        A key held by more than `max_block` records of both together is dropped. Returns an
        (n_pairs × 2) int64 array, sorted.
        """
        key_lists = _keys_of(items)
        rec_a, hash_a = _entries(key_lists)
        if not len(rec_a) or not len(self.hashes):
            return np.zeros((0, 2), dtype=np.int64)
        start = np.searchsorted(self.hashes, hash_a, side="left")
        size_b = np.searchsorted(self.hashes, hash_a, side="right") - start
        _unique, inverse, counts = np.unique(hash_a, return_inverse=True, return_counts=True)
        size_a = counts[inverse]
        partners = np.where((size_b > 0) & (size_a + size_b <= max_block), size_b, 0)
        total = int(partners.sum())
        if not total:
            return np.zeros((0, 2), dtype=np.int64)
        left = np.repeat(rec_a, partners)
        step = np.arange(total) - np.repeat(np.cumsum(partners) - partners, partners)
        right = self.records[np.repeat(start, partners) + step]
        return _unique_pairs(left, right, max(self.size, 1))


def candidate_pairs_between(items_a, items_b, *, max_block: int = MAX_BLOCK) -> np.ndarray:
    """Pairs (i, j) of a record i of set A and a record j of set B that share a blocking key.

    A key held by more than `max_block` records of both sets together is dropped.
    Returns an (n_pairs × 2) int64 array, sorted.
    """
    return KeyIndex(items_b).lookup(items_a, max_block=max_block)


def random_pairs(n: int, count_: int, *, seed: int = 0) -> np.ndarray:
    """About `count_` distinct pairs (i, j), i < j, drawn uniformly from n records."""
    total = n * (n - 1) // 2
    if total <= count_:
        i, j = np.triu_indices(n, k=1)
        return np.stack([i, j], axis=1).astype(np.int64)
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, size=count_)
    j = rng.integers(0, n - 1, size=count_)
    j = j + (j >= i)
    return _unique_pairs(np.minimum(i, j), np.maximum(i, j), n)


def random_pairs_between(n_a: int, n_b: int, count_: int, *, seed: int = 0) -> np.ndarray:
    """About `count_` distinct pairs (i in A, j in B) drawn uniformly."""
    if n_a * n_b <= count_:
        i, j = np.meshgrid(np.arange(n_a), np.arange(n_b), indexing="ij")
        return np.stack([i.ravel(), j.ravel()], axis=1).astype(np.int64)
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n_a, size=count_)
    j = rng.integers(0, n_b, size=count_)
    return _unique_pairs(i, j, n_b)
