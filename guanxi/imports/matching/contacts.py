"""Comparisons of the ways to reach and to tell a customer: phone, email, ID numbers,
birthday, gender, address, customer type."""

import numpy as np
from django.utils.translation import gettext_lazy as _
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, JaroWinkler

from .levels import (
    JW_PLACE,
    STREET_HIGH,
    STREET_LOW,
    Comparison,
    Level,
    LevelAssigner,
    exact,
    similarity,
)


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
        lv = LevelAssigner(len(a), self.else_level, ~(has_a & has_b))
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
            one = one_digit_apart(xa[near], xb[near]) & valid[near]
            lv.set_at(3, idx[near], one.any(axis=(1, 2)))
        return lv.out


_POWERS = 10 ** np.arange(18, dtype=np.int64)


def one_digit_apart(x: np.ndarray, y: np.ndarray) -> np.ndarray:
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
        lv = LevelAssigner(len(a), self.else_level, missing)
        lv.set(1, ((ea == eb) & valid).any(axis=(1, 2)))
        ua, ub = t.email_users[a][:, :, None], t.email_users[b][:, None, :]
        lv.set(2, ((ua == ub) & (ua != 0)).any(axis=(1, 2)))
        idx = lv.open_indices()
        if idx.size:
            dist = similarity(t.email_text, a[idx], b[idx], OSA.distance, score_cutoff=2)
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
        missing, same = exact(t.id_number, a, b)
        lv = LevelAssigner(len(a), self.else_level, missing)
        lv.set(1, same)
        idx = lv.open_indices()
        if idx.size:
            dist = similarity(t.id_number_text, a[idx], b[idx], OSA.distance, score_cutoff=3)
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
        missing, same = exact(t.external_id, a, b)
        lv = LevelAssigner(len(a), self.else_level, missing)
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
        lv = LevelAssigner(len(a), self.else_level, (ya == 0) | (yb == 0))
        agree = (ya == yb).astype(np.int8) + (ma == mb) + (da == db)
        lv.set(1, agree == 3)
        lv.set(2, (agree == 2) | ((ya == yb) & (ma == db) & (da == mb)))
        # Days counted with 31-day months: close enough to tell "within a year" apart.
        ordinal_a = ya * 372 + ma * 31 + da
        ordinal_b = yb * 372 + mb * 31 + db
        lv.set(3, np.abs(ordinal_a - ordinal_b) <= 372)
        return lv.out


class GenderComparison(Comparison):
    """Given names are gendered: two people who share one share the gender as a rule, so
    then the same gender is no evidence beyond the name (left out, weight 0); a different
    gender still is."""

    key = "gender"
    label = _("gender")
    levels = (
        Level("missing", _("not given")),
        Level("exact", _("same gender")),
        Level("different", _("different gender")),
    )

    def compute(self, t, a, b):
        missing, same = exact(t.gender, a, b)
        given_a = np.where(t.cjk_name[a], t.last_part[a], t.sorted_name[a])
        given_b = np.where(t.cjk_name[b], t.last_part[b], t.sorted_name[b])
        implied = same & (given_a == given_b) & (given_a != 0)
        lv = LevelAssigner(len(a), self.else_level, missing | implied)
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
        lv = LevelAssigner(len(a), self.else_level, ~(given_a & given_b))
        n = len(a)
        same_postcode = (pa != 0) & (pa == pb)
        postcode_typo = np.zeros(n, dtype=bool)
        # A typo leaves the first or the last character of a short code or name in place;
        # other pairs are not worth a string comparison.
        ends_a, ends_b = t.postcode_ends[a], t.postcode_ends[b]
        close = (ends_a[:, 0] == ends_b[:, 0]) | (ends_a[:, 1] == ends_b[:, 1])
        typo = np.flatnonzero(lv.open & (pa != 0) & (pb != 0) & ~same_postcode & close)
        if typo.size:
            dist = similarity(t.postcode_text, a[typo], b[typo], OSA.distance, score_cutoff=2)
            postcode_typo[typo[dist <= 1]] = True
        same_city = (ca != 0) & (ca == cb)
        ends_a, ends_b = t.city_ends[a], t.city_ends[b]
        close = (ends_a[:, 0] == ends_b[:, 0]) | (ends_a[:, 1] == ends_b[:, 1])
        similar = np.flatnonzero(lv.open & (ca != 0) & (cb != 0) & ~same_city & close)
        if similar.size:
            sim = similarity(t.city_text, a[similar], b[similar], JaroWinkler.normalized_similarity)
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
            | one_digit_apart(np.maximum(na, 0), np.maximum(nb, 0))
        )
        fuzzy = candidates[number_agrees]
        if fuzzy.size:
            ratio[fuzzy] = similarity(
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
        missing, same = exact(t.kind, a, b)
        lv = LevelAssigner(len(a), self.else_level, missing)
        lv.set(1, same)
        return lv.out
