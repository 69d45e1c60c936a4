"""Comparisons of names: people's names in any script and order, and company names."""

import numpy as np
from django.utils.translation import gettext_lazy as _
from rapidfuzz import fuzz
from rapidfuzz.distance import Hamming, JaroWinkler

from .levels import (
    JW_HIGH,
    JW_LOW,
    JW_PLACE,
    Comparison,
    Level,
    LevelAssigner,
    exact,
    pair_similarity,
    similarity,
)
from .table import FeatureTable


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
            similarity(t.pinyin_text, wa, wb, jw), similarity(t.name_text, wa, wb, jw)
        )
    multi = np.flatnonzero(multi)
    if multi.size:
        ma, mb = a[multi], b[multi]
        first, last = t.first_part_text, t.last_part_text
        # Longer parts weigh more: pia / pai is a slip in a short given name.
        wf, wl = first_len[multi], last_len[multi]
        total = np.maximum(wf + wl, 1)
        straight = (similarity(first, ma, mb, jw) * wf + similarity(last, ma, mb, jw) * wl) / total
        # Crossing matters for names in the other order with a slip in one part (San Zhang /
        # Zhang Shan): one part then agrees crosswise.
        crossed_part = (t.first_part[ma] == t.last_part[mb]) | (t.last_part[ma] == t.first_part[mb])
        low = np.flatnonzero((straight < JW_LOW) & crossed_part)
        if low.size:
            la, lb = ma[low], mb[low]
            f_len = np.maximum(t.first_part_len[la], t.last_part_len[lb])
            l_len = np.maximum(t.last_part_len[la], t.first_part_len[lb])
            crossed = (
                pair_similarity(first, last, la, lb, jw) * f_len
                + pair_similarity(last, first, la, lb, jw) * l_len
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
        missing, same = exact(t.name, a, b)
        lv = LevelAssigner(
            len(a), self.else_level, missing | (t.pinyin[a] == 0) | (t.pinyin[b] == 0)
        )
        lv.set(1, same)
        # 张伟 / "Zhang Wei" loses nothing; 张伟 / 张炜 (or 陆军 / 卢军) may be two people.
        chinese = t.cjk_name[a] & t.cjk_name[b]
        same_pinyin = t.pinyin[a] == t.pinyin[b]
        # "Yuchen Yang" (杨宇晨) and 余晨阳 share the letters yuchenyang, not the name: a
        # romanised name is the same when its parts are, or when it is written as one word.
        same_parts = t.sorted_name[a] == t.sorted_name[b]
        one_word = (t.part_count[a] == 1) | (t.part_count[b] == 1)
        lv.set(2, same_pinyin & ~chinese & (same_parts | one_word))
        lv.set(3, same_pinyin & chinese)
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
            dist = similarity(t.name_text, a[idx], b[idx], Hamming.distance, score_cutoff=2)
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
        missing, same = exact(t.company, a, b)
        lv = LevelAssigner(len(a), self.else_level, missing)
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
            partial = similarity(texts, ia, ib, fuzz.partial_ratio)
            lv.set_at(2, idx, (partial >= 100) & (shorter >= 2))
            sim = similarity(texts, ia, ib, JaroWinkler.normalized_similarity)
            lv.set_at(3, idx, sim >= JW_PLACE)
        return lv.out
