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
    bd+loc:<birthday>|<city or postcode>

Birthdays are written YYYY-MM-DD; pinyin and name parts are lower-case ASCII for Chinese
names (张三 → py:zhangsan, pys:san zhang); locations are the city without 市, else the
postcode.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from itertools import chain, count

import numpy as np

from .features import Features

MAX_KEYS = 10
# Blocks larger than this are dropped. Measured on FEBRL3, FEBRL4 and the generated Chinese
# file (benchmarks/matching_quality.py): 20 keeps blocking recall within 0.1 point of 50
# and halves the candidate pairs of a 100,000-record file (5.3 instead of 9.6 per record).
MAX_BLOCK = 20


def blocking_keys(f: Features) -> list[str]:
    """The blocking keys of one record, most useful first, at most MAX_KEYS."""
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
    if f.postcode:
        keys.append("pc:" + f.postcode)
    number, word, _last = f.street_words
    if number and word:
        keys.append("ad:" + number[1:] + "|" + word)
    if birthday and f.initials:
        keys.append("bd+ini:" + birthday + "|" + f.initials)
    if parts and place:
        keys.append("py+loc:" + f.sorted_name + "|" + place)
    return keys[:MAX_KEYS]


def _entries(key_lists: Iterable[Sequence[str]], vocabulary) -> tuple[np.ndarray, np.ndarray]:
    """(record index, key id) for every key of every record."""
    key_lists = list(key_lists)
    lengths = np.fromiter(map(len, key_lists), np.int64, len(key_lists))
    key_ids = np.fromiter(
        map(vocabulary.__getitem__, chain.from_iterable(key_lists)), np.int64, int(lengths.sum())
    )
    records = np.repeat(np.arange(len(key_lists), dtype=np.int64), lengths)
    return records, key_ids


def _keys_of(items) -> list[Sequence[str]]:
    items = list(items)
    if items and isinstance(items[0], Features):
        return [blocking_keys(f) for f in items]
    return items


def _unique_pairs(left: np.ndarray, right: np.ndarray, width: int) -> np.ndarray:
    code = np.unique(left * width + right)
    return np.stack([code // width, code % width], axis=1)


def candidate_pairs(items, *, max_block: int = MAX_BLOCK) -> np.ndarray:
    """Pairs (i, j), i < j, of records in one set that share a blocking key.

    `items` is a list of `Features` or of their key lists (from `blocking_keys`).
    Returns an (n_pairs × 2) int64 array, sorted.
    """
    key_lists = _keys_of(items)
    n = len(key_lists)
    vocabulary = defaultdict(count().__next__)
    records, key_ids = _entries(key_lists, vocabulary)
    if not len(records):
        return np.zeros((0, 2), dtype=np.int64)
    sizes = np.bincount(key_ids)
    keep = (sizes[key_ids] >= 2) & (sizes[key_ids] <= max_block)
    records, key_ids = records[keep], key_ids[keep]
    order = np.lexsort((records, key_ids))
    records, key_ids = records[order], key_ids[order]
    # Each entry pairs with the entries after it in its block.
    position = np.arange(len(records))
    partners = _dense_end(key_ids) - position - 1
    total = int(partners.sum())
    if not total:
        return np.zeros((0, 2), dtype=np.int64)
    left_pos = np.repeat(position, partners)
    step = np.arange(total) - np.repeat(np.cumsum(partners) - partners, partners)
    right_pos = left_pos + 1 + step
    left, right = records[left_pos], records[right_pos]
    keep = left != right
    lo = np.minimum(left[keep], right[keep])
    hi = np.maximum(left[keep], right[keep])
    return _unique_pairs(lo, hi, max(n, 1))


def _dense_end(sorted_keys: np.ndarray) -> np.ndarray:
    """For entries sorted by key, the position just past the last entry of each one's key."""
    change = np.flatnonzero(np.diff(sorted_keys)) + 1
    ends = np.append(change, len(sorted_keys))
    group = np.searchsorted(change, np.arange(len(sorted_keys)), side="right")
    return ends[group]


def candidate_pairs_between(items_a, items_b, *, max_block: int = MAX_BLOCK) -> np.ndarray:
    """Pairs (i, j) of a record i of set A and a record j of set B that share a blocking key.

    A key held by more than `max_block` records of both sets together is dropped.
    Returns an (n_pairs × 2) int64 array, sorted.
    """
    keys_a, keys_b = _keys_of(items_a), _keys_of(items_b)
    vocabulary = defaultdict(count().__next__)
    rec_a, key_a = _entries(keys_a, vocabulary)
    rec_b, key_b = _entries(keys_b, vocabulary)
    if not len(rec_a) or not len(rec_b):
        return np.zeros((0, 2), dtype=np.int64)
    n_keys = len(vocabulary)
    size_a = np.bincount(key_a, minlength=n_keys)
    size_b = np.bincount(key_b, minlength=n_keys)
    usable = (size_a > 0) & (size_b > 0) & (size_a + size_b <= max_block)
    keep_a, keep_b = usable[key_a], usable[key_b]
    rec_a, key_a = rec_a[keep_a], key_a[keep_a]
    rec_b, key_b = rec_b[keep_b], key_b[keep_b]
    order_b = np.argsort(key_b, kind="stable")
    rec_b, key_b = rec_b[order_b], key_b[order_b]
    start_b = np.searchsorted(key_b, np.arange(n_keys), side="left")
    partners = size_b[key_a] * usable[key_a]
    total = int(partners.sum())
    if not total:
        return np.zeros((0, 2), dtype=np.int64)
    left = np.repeat(rec_a, partners)
    step = np.arange(total) - np.repeat(np.cumsum(partners) - partners, partners)
    right = rec_b[np.repeat(start_b[key_a], partners) + step]
    return _unique_pairs(left, right, max(len(keys_b), 1))


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
