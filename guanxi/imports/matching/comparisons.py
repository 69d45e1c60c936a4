"""Comparisons: each maps a pair of records to a level, from "not given" through "exact" and
similarity bands to "different", as in Splink. Level 0 is always "not given on one side"
(weight 0); the last level is always "different".

`compare_pairs(table, a, b)` computes the pairs × comparisons matrix of level indices for the
record pairs (a[k], b[k]) of a `FeatureTable`, one column at a time: exact levels are integer
comparisons in numpy, similarity levels are computed by rapidfuzz for the pairs still open.
"""

from typing import NamedTuple

import numpy as np
from django.utils.translation import gettext_lazy as _
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, Hamming, JaroWinkler
from rapidfuzz.process import cpdist

from .table import FeatureTable

# Similarity bands (Splink's customary Jaro-Winkler thresholds; token-set ratio in percent).
JW_HIGH = 0.92
JW_LOW = 0.85
JW_PLACE = 0.9
STREET_HIGH = 90
STREET_LOW = 75
# Threads rapidfuzz may use for a batch of pairs (-1: all cores; it releases the GIL).
WORKERS = -1


class Level(NamedTuple):
    key: str
    label: str


class Comparison:
    """One field's comparison: its levels and how a pair is put on one of them."""

    key: str = ""
    label: str = ""
    levels: tuple[Level, ...] = ()
    # Levels whose weight is adjusted by how common the shared value is (see Model).
    tf_levels: tuple[int, ...] = ()
    tf_column: str = ""

    def compute(self, t: FeatureTable, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @property
    def else_level(self) -> int:
        return len(self.levels) - 1

    def __repr__(self):
        return f"<Comparison {self.key}>"


class _Levels:
    """Assigns levels strongest first: each pair keeps the first level it reaches."""

    def __init__(self, n: int, else_level: int, missing: np.ndarray):
        self.out = np.full(n, else_level, dtype=np.int8)
        self.out[missing] = 0
        self.open = ~missing

    def set(self, level: int, condition: np.ndarray):
        hit = self.open & condition
        self.out[hit] = level
        self.open &= ~hit

    def open_indices(self) -> np.ndarray:
        return np.flatnonzero(self.open)

    def set_at(self, level: int, indices: np.ndarray, condition: np.ndarray):
        hit = indices[condition & self.open[indices]]
        self.out[hit] = level
        self.open[hit] = False


def _similarity(texts: np.ndarray, a: np.ndarray, b: np.ndarray, scorer, **kwargs) -> np.ndarray:
    return _pair_similarity(texts, texts, a, b, scorer, **kwargs)


def _pair_similarity(texts_a, texts_b, a, b, scorer, **kwargs) -> np.ndarray:
    if not len(a):
        return np.zeros(0, dtype=np.float32)
    workers = WORKERS if len(a) > 20_000 else 1
    return cpdist(texts_a[a], texts_b[b], scorer=scorer, workers=workers, **kwargs).reshape(-1)


def _exact(column: np.ndarray, a: np.ndarray, b: np.ndarray):
    """(missing on either side, equal) for a column of string hashes (0: not given)."""
    ca, cb = column[a], column[b]
    return (ca == 0) | (cb == 0), ca == cb


def _name_similarity(t: FeatureTable, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Jaro-Winkler similarity of two names, part by part when both have several parts.

    Parts are compared in order and crossed (given name first), and the better mean, weighted
    by part length, kept: zhang+san / zhang+shan are 0.96 alike, hou+yong / hou+jingting
    only 0.67, although their pinyin strings share the prefix "hou". Other names are
    compared whole, on characters and on pinyin.
    """
    jw = JaroWinkler.normalized_similarity
    sim = np.zeros(len(a), dtype=np.float32)
    multi = (t.part_count[a] > 1) & (t.part_count[b] > 1)
    first_len = np.maximum(t.first_part_len[a], t.first_part_len[b])
    last_len = np.maximum(t.last_part_len[a], t.last_part_len[b])
    whole = np.flatnonzero(~multi)
    if whole.size:
        wa, wb = a[whole], b[whole]
        sim[whole] = np.maximum(
            _similarity(t.pinyin_text, wa, wb, jw), _similarity(t.name_text, wa, wb, jw)
        )
    multi = np.flatnonzero(multi)
    if multi.size:
        ma, mb = a[multi], b[multi]
        first, last = t.first_part_text, t.last_part_text
        # Longer parts weigh more: pia / pai is a slip in a short given name.
        wf, wl = first_len[multi], last_len[multi]
        total = np.maximum(wf + wl, 1)
        straight = (
            _similarity(first, ma, mb, jw) * wf + _similarity(last, ma, mb, jw) * wl
        ) / total
        # Crossing matters for names in the other order with a slip in one part (San Zhang /
        # Zhang Shan): one part then agrees crosswise.
        crossed_part = (t.first_part[ma] == t.last_part[mb]) | (t.last_part[ma] == t.first_part[mb])
        low = np.flatnonzero((straight < JW_LOW) & crossed_part)
        if low.size:
            la, lb = ma[low], mb[low]
            f_len = np.maximum(t.first_part_len[la], t.last_part_len[lb])
            l_len = np.maximum(t.last_part_len[la], t.first_part_len[lb])
            crossed = (
                _pair_similarity(first, last, la, lb, jw) * f_len
                + _pair_similarity(last, first, la, lb, jw) * l_len
            ) / np.maximum(f_len + l_len, 1)
            straight[low] = np.maximum(straight[low], crossed)
        sim[multi] = straight
    return sim


class NameComparison(Comparison):
    key = "name"
    label = _("name")
    levels = (
        Level("missing", _("not given")),
        Level("exact", _("same name")),
        Level("pinyin", _("same name in pinyin")),
        Level("homophone", _("same pinyin, other characters")),
        Level("swapped", _("same name in another order")),
        Level("contained", _("one name contains the other")),
        Level("similar_high", _("very similar name")),
        Level("similar", _("similar name")),
        Level("one_character", _("one character different")),
        Level("one_part", _("same given name or surname, the other different")),
        Level("surname", _("same surname, other given name")),
        Level("different", _("different name")),
    )
    tf_levels = (1, 2, 3, 4)
    tf_column = "sorted_name"

    def compute(self, t, a, b):
        missing, same = _exact(t.name, a, b)
        lv = _Levels(len(a), self.else_level, missing | (t.pinyin[a] == 0) | (t.pinyin[b] == 0))
        lv.set(1, same)
        # 张伟 / "Zhang Wei" loses nothing; 张伟 / 张炜 (or 陆军 / 卢军) may be two people.
        chinese = t.cjk_name[a] & t.cjk_name[b]
        same_pinyin = t.pinyin[a] == t.pinyin[b]
        lv.set(2, same_pinyin & ~chinese)
        lv.set(3, same_pinyin)
        lv.set(4, t.sorted_name[a] == t.sorted_name[b])
        # One name is a part of the other: 张 / 张伟 (张先生), "green" / "mitchell green".
        fa, fb, la, lb = t.first_part[a], t.first_part[b], t.last_part[a], t.last_part[b]
        one_a, one_b = t.part_count[a] == 1, t.part_count[b] == 1
        lv.set(5, (one_a & ((fa == fb) | (fa == lb))) | (one_b & ((fb == fa) | (fb == la))))
        # Names can only be alike when some part starts alike, in either order; the rest
        # are not worth a string comparison.
        ia, ib = t.part_initial[a], t.part_initial[b]
        alike = (
            (ia[:, 0] == ib[:, 0])
            | (ia[:, 1] == ib[:, 1])
            | (ia[:, 0] == ib[:, 1])
            | (ia[:, 1] == ib[:, 0])
        )
        idx = np.flatnonzero(lv.open & alike)
        if idx.size:
            sim = _name_similarity(t, a[idx], b[idx])
            lv.set_at(6, idx, sim >= JW_HIGH)
            lv.set_at(7, idx, sim >= JW_LOW)
        # 孙民宇 / 孙康宇: one wrong character in a name of three or more, a slip a relative's
        # name does not look like.
        same_length = t.name_length[a] == t.name_length[b]
        idx = np.flatnonzero(lv.open & chinese & same_length & (t.name_length[a] >= 3))
        if idx.size:
            dist = _similarity(t.name_text, a[idx], b[idx], Hamming.distance, score_cutoff=2)
            lv.set_at(8, idx, dist == 1)
        # A Chinese name's first part is the surname, which relatives share.
        lv.set(10, chinese & (fa == fb))
        lv.set(9, (fa == fb) | (la == lb) | (fa == lb) | (la == fb))
        return lv.out


class CompanyComparison(Comparison):
    key = "company"
    label = _("company")
    levels = (
        Level("missing", _("not given")),
        Level("exact", _("same company name")),
        Level("contained", _("one company name contains the other")),
        Level("similar", _("similar company name")),
        Level("different", _("different company")),
    )

    def compute(self, t, a, b):
        missing, same = _exact(t.company, a, b)
        lv = _Levels(len(a), self.else_level, missing)
        lv.set(1, same)
        idx = lv.open_indices()
        if idx.size:
            ia, ib = a[idx], b[idx]
            texts = t.company_text
            shorter = np.fromiter(
                (min(len(x), len(y)) for x, y in zip(texts[ia], texts[ib], strict=True)),
                np.int32,
                idx.size,
            )
            partial = _similarity(texts, ia, ib, fuzz.partial_ratio)
            lv.set_at(2, idx, (partial >= 100) & (shorter >= 2))
            sim = _similarity(texts, ia, ib, JaroWinkler.normalized_similarity)
            lv.set_at(3, idx, sim >= JW_PLACE)
        return lv.out


class PhoneComparison(Comparison):
    key = "phone"
    label = _("phone")
    levels = (
        Level("missing", _("not given")),
        Level("exact", _("same number")),
        Level("last8", _("same last 8 digits")),
        Level("one_digit", _("one digit different")),
        Level("different", _("different number")),
    )

    def compute(self, t, a, b):
        has_a, has_b = t.phones[a, 0] >= 0, t.phones[b, 0] >= 0
        lv = _Levels(len(a), self.else_level, ~(has_a & has_b))
        idx = lv.open_indices()
        if not idx.size:
            return lv.out
        # Every number of one record against every number of the other.
        xa, xb = t.phones[a[idx]][:, :, None], t.phones[b[idx]][:, None, :]
        valid = (xa >= 0) & (xb >= 0)

        def any_pair(same):
            return (same & valid).any(axis=(1, 2))

        lv.set_at(1, idx, any_pair(xa == xb))
        lv.set_at(2, idx, any_pair(xa % 100_000_000 == xb % 100_000_000))
        # One digit apart: the numbers agree above or below the digit that differs, so
        # they share their top digits or their last six.
        near = lv.open[idx] & any_pair(
            (xa // 1_000_000 == xb // 1_000_000) | (xa % 1_000_000 == xb % 1_000_000)
        )
        near = np.flatnonzero(near)
        if near.size:
            one = _one_digit_apart(xa[near], xb[near]) & valid[near]
            lv.set_at(3, idx[near], one.any(axis=(1, 2)))
        return lv.out


_POWERS = 10 ** np.arange(18, dtype=np.int64)


def _one_digit_apart(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Numbers that differ in exactly one digit: x − y = d·10^k with every other digit equal."""
    diff = np.abs(x - y)
    k = np.clip(np.searchsorted(_POWERS, diff, side="right") - 1, 0, len(_POWERS) - 2)
    power, above = _POWERS[k], _POWERS[k + 1]
    return (diff > 0) & (x // above == y // above) & (x % power == y % power)


class EmailComparison(Comparison):
    key = "email"
    label = _("email")
    levels = (
        Level("missing", _("not given")),
        Level("exact", _("same email")),
        Level("user", _("same user name, other domain")),
        Level("one_edit", _("email one typo apart")),
        Level("different", _("different email")),
    )

    def compute(self, t, a, b):
        ea, eb = t.emails[a][:, :, None], t.emails[b][:, None, :]
        valid = (ea != 0) & (eb != 0)
        missing = ~valid.any(axis=(1, 2))
        lv = _Levels(len(a), self.else_level, missing)
        lv.set(1, ((ea == eb) & valid).any(axis=(1, 2)))
        ua, ub = t.email_users[a][:, :, None], t.email_users[b][:, None, :]
        lv.set(2, ((ua == ub) & (ua != 0)).any(axis=(1, 2)))
        idx = lv.open_indices()
        if idx.size:
            dist = _similarity(t.email_text, a[idx], b[idx], OSA.distance, score_cutoff=2)
            lv.set_at(3, idx, dist <= 1)
        return lv.out


class IdNumberComparison(Comparison):
    key = "id_number"
    label = _("ID number")
    levels = (
        Level("missing", _("not given")),
        Level("exact", _("same ID number")),
        Level("one_edit", _("ID number one typo apart")),
        Level("two_edits", _("ID number two typos apart")),
        Level("different", _("different ID number")),
    )

    def compute(self, t, a, b):
        missing, same = _exact(t.id_number, a, b)
        lv = _Levels(len(a), self.else_level, missing)
        lv.set(1, same)
        idx = lv.open_indices()
        if idx.size:
            dist = _similarity(t.id_number_text, a[idx], b[idx], OSA.distance, score_cutoff=3)
            lv.set_at(2, idx, dist <= 1)
            lv.set_at(3, idx, dist <= 2)
        return lv.out


class ExternalIdComparison(Comparison):
    key = "external_id"
    label = _("external ID")
    levels = (
        Level("missing", _("not given")),
        Level("exact", _("same external ID")),
        Level("different", _("different external ID")),
    )

    def compute(self, t, a, b):
        missing, same = _exact(t.external_id, a, b)
        lv = _Levels(len(a), self.else_level, missing)
        lv.set(1, same)
        return lv.out


class BirthdayComparison(Comparison):
    key = "birthday"
    label = _("birthday")
    levels = (
        Level("missing", _("not given")),
        Level("exact", _("same birthday")),
        Level("one_part", _("birthday differs in day, month or year only")),
        Level("within_year", _("birthdays within a year")),
        Level("different", _("different birthday")),
    )

    def compute(self, t, a, b):
        ya, yb = t.birth_year[a], t.birth_year[b]
        ma, mb = t.birth_month[a], t.birth_month[b]
        da, db = t.birth_day[a], t.birth_day[b]
        lv = _Levels(len(a), self.else_level, (ya == 0) | (yb == 0))
        agree = (ya == yb).astype(np.int8) + (ma == mb) + (da == db)
        lv.set(1, agree == 3)
        lv.set(2, (agree == 2) | ((ya == yb) & (ma == db) & (da == mb)))
        # Days counted with 31-day months: close enough to tell "within a year" apart.
        ordinal_a = ya * 372 + ma * 31 + da
        ordinal_b = yb * 372 + mb * 31 + db
        lv.set(3, np.abs(ordinal_a - ordinal_b) <= 372)
        return lv.out


class GenderComparison(Comparison):
    key = "gender"
    label = _("gender")
    levels = (
        Level("missing", _("not given")),
        Level("exact", _("same gender")),
        Level("different", _("different gender")),
    )

    def compute(self, t, a, b):
        missing, same = _exact(t.gender, a, b)
        lv = _Levels(len(a), self.else_level, missing)
        lv.set(1, same)
        return lv.out


class AddressComparison(Comparison):
    """Street, postcode, district, city and province as one comparison.

    They describe one place, so they are not independent evidence: two records at the same
    street address also share postcode and district. The levels go from the most precise
    agreement to the least; a pair is counted once, at the first level it reaches. "Same
    area" is the same postcode (or one typo apart) or the same city (or a similar name).
    """

    key = "address"
    label = _("address")
    levels = (
        Level("missing", _("not given")),
        Level("same", _("same address")),
        Level("similar", _("similar street address in the same area")),
        Level("same_street", _("same street address, other area")),
        Level("similar_street", _("similar street address, other area")),
        Level("postcode_city", _("same postcode and city")),
        Level("postcode", _("same postcode")),
        Level("district", _("same city and district")),
        Level("city", _("same city")),
        Level("postcode_typo", _("postcode one typo apart")),
        Level("province", _("same province only")),
        Level("different", _("different address")),
    )

    def compute(self, t, a, b):
        sa, sb = t.street[a], t.street[b]
        ca, cb = t.city[a], t.city[b]
        pa, pb = t.postcode[a], t.postcode[b]
        xa, xb = t.district[a], t.district[b]
        va, vb = t.province[a], t.province[b]
        given_a = (sa != 0) | (ca != 0) | (pa != 0) | (va != 0)
        given_b = (sb != 0) | (cb != 0) | (pb != 0) | (vb != 0)
        lv = _Levels(len(a), self.else_level, ~(given_a & given_b))
        n = len(a)
        same_postcode = (pa != 0) & (pa == pb)
        postcode_typo = np.zeros(n, dtype=bool)
        # A typo leaves the first or the last character of a short code or name in place;
        # other pairs are not worth a string comparison.
        ends_a, ends_b = t.postcode_ends[a], t.postcode_ends[b]
        close = (ends_a[:, 0] == ends_b[:, 0]) | (ends_a[:, 1] == ends_b[:, 1])
        typo = np.flatnonzero(lv.open & (pa != 0) & (pb != 0) & ~same_postcode & close)
        if typo.size:
            dist = _similarity(t.postcode_text, a[typo], b[typo], OSA.distance, score_cutoff=2)
            postcode_typo[typo[dist <= 1]] = True
        same_city = (ca != 0) & (ca == cb)
        ends_a, ends_b = t.city_ends[a], t.city_ends[b]
        close = (ends_a[:, 0] == ends_b[:, 0]) | (ends_a[:, 1] == ends_b[:, 1])
        similar = np.flatnonzero(lv.open & (ca != 0) & (cb != 0) & ~same_city & close)
        if similar.size:
            sim = _similarity(
                t.city_text, a[similar], b[similar], JaroWinkler.normalized_similarity
            )
            same_city[similar[sim >= JW_PLACE]] = True
        same_area = same_postcode | postcode_typo | same_city

        both_streets = (sa != 0) & (sb != 0)
        ratio = np.zeros(n, dtype=np.float32)
        ratio[both_streets & (sa == sb)] = 100
        # Two street addresses are one place only with the same house number (give or take
        # a typo, or none given), and in the same area or with a street word in common;
        # the rest are not worth a string comparison.
        candidates = np.flatnonzero(lv.open & both_streets & (sa != sb))
        wa, wb = t.street_words[a[candidates]], t.street_words[b[candidates]]
        word_shared = np.zeros(len(candidates), dtype=bool)
        for i in (1, 2):
            for j in (1, 2):
                word_shared |= (wa[:, i] == wb[:, j]) & (wa[:, i] != 0)
        candidates = candidates[same_area[candidates] | word_shared]
        ca_, cb_ = a[candidates], b[candidates]
        na, nb = t.street_number[ca_], t.street_number[cb_]
        number_agrees = (
            (na == nb)
            | (na < 0)
            | (nb < 0)
            | (t.street_number_sorted[ca_] == t.street_number_sorted[cb_])  # 34 / 43
            | _one_digit_apart(np.maximum(na, 0), np.maximum(nb, 0))
        )
        fuzzy = candidates[number_agrees]
        if fuzzy.size:
            ratio[fuzzy] = _similarity(
                t.street_text, a[fuzzy], b[fuzzy], fuzz.token_set_ratio, score_cutoff=STREET_LOW
            )
        lv.set(1, (ratio >= STREET_HIGH) & same_area)
        lv.set(2, (ratio >= STREET_LOW) & same_area)
        lv.set(3, ratio >= STREET_HIGH)
        lv.set(4, ratio >= STREET_LOW)
        lv.set(5, same_postcode & same_city)
        lv.set(6, same_postcode)
        lv.set(7, same_city & (xa != 0) & (xa == xb))
        lv.set(8, same_city)
        lv.set(9, postcode_typo)
        lv.set(10, (va != 0) & (va == vb))
        return lv.out


class KindComparison(Comparison):
    key = "kind"
    label = _("customer type")
    levels = (
        Level("missing", _("not given")),
        Level("exact", _("same customer type")),
        Level("different", _("person and company")),
    )

    def compute(self, t, a, b):
        missing, same = _exact(t.kind, a, b)
        lv = _Levels(len(a), self.else_level, missing)
        lv.set(1, same)
        return lv.out


COMPARISONS: tuple[Comparison, ...] = (
    NameComparison(),
    CompanyComparison(),
    PhoneComparison(),
    EmailComparison(),
    IdNumberComparison(),
    ExternalIdComparison(),
    BirthdayComparison(),
    GenderComparison(),
    AddressComparison(),
    KindComparison(),
)


def compare_pairs(
    table: FeatureTable,
    a: np.ndarray,
    b: np.ndarray,
    comparisons: tuple[Comparison, ...] = COMPARISONS,
) -> np.ndarray:
    """The (pairs × comparisons) matrix of level indices for rows a[k] and b[k] of `table`."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    levels = np.empty((len(a), len(comparisons)), dtype=np.int8)
    for j, comparison in enumerate(comparisons):
        levels[:, j] = comparison.compute(table, a, b)
    return levels
