"""Blocking keys and candidate pairs."""

import itertools
import random
from collections import Counter

from guanxi.imports.matching import (
    MAX_KEYS,
    blocking_keys,
    candidate_pairs,
    candidate_pairs_between,
    features,
)


def keys(record: dict) -> list[str]:
    return blocking_keys(features(record))


def test_keys_are_a_few_plain_strings_in_the_documented_format():
    record = {
        "name": "张三",
        "phones": ["+8613800138000", "+8613912345678", "+8615000000000"],
        "emails": ["zs@example.com"],
        "id_number": "110101199001051234",
        "birthday": "1990-01-05",
        "city": "北京市",
        "postcode": "100022",
        "street": "建国路88号",
    }
    found = keys(record)
    assert 0 < len(found) <= MAX_KEYS
    assert all(isinstance(k, str) for k in found)
    assert found[:3] == ["id:110101199001051234", "ph:+8613800138000", "ph:+8613912345678"]
    assert "py:zhangsan" in found
    assert "pys:san zhang" in found
    assert "bd:1990-01-05" in found
    assert "ph:+8615000000000" not in found  # two phones at most


def test_name_variants_share_a_key():
    variants = ["张三", "章三", "Zhang San", "San Zhang", "zhang san"]
    shared = set.intersection(*(set(keys({"name": v})) for v in variants))
    assert "pys:san zhang" in shared


def test_records_sharing_any_key_are_candidates():
    rng = random.Random(1)
    key_lists = [[f"a:{rng.randint(0, 30)}", f"b:{rng.randint(0, 60)}"] for _ in range(200)]
    sizes = Counter(k for ks in key_lists for k in ks)
    expected = {
        (i, j)
        for i, j in itertools.combinations(range(200), 2)
        if any(k in key_lists[j] and sizes[k] <= 12 for k in key_lists[i])
    }
    found = {tuple(p) for p in candidate_pairs(key_lists, max_block=12).tolist()}
    assert found == expected


def test_key_shared_by_too_many_records_is_dropped():
    key_lists = [["common:x", f"own:{i // 2}"] for i in range(30)]
    pairs = candidate_pairs(key_lists, max_block=20)
    assert sorted(map(tuple, pairs.tolist())) == [(i, i + 1) for i in range(0, 30, 2)]
    assert len(candidate_pairs(key_lists, max_block=30)) == 30 * 29 // 2


def test_linking_pairs_cross_the_two_sets_and_count_both_for_the_cap():
    a = [["k:1"], ["k:2"], ["k:3"]]
    b = [["k:2"], ["k:1"], ["k:1"], ["k:9"]]
    assert sorted(map(tuple, candidate_pairs_between(a, b, max_block=3).tolist())) == [
        (0, 1),
        (0, 2),
        (1, 0),
    ]
    assert candidate_pairs_between(a, b, max_block=2).tolist() == [[1, 0]]


def test_candidate_pairs_take_features_as_well_as_keys():
    rows = [features({"phones": ["+8613800138000"]}), features({"phones": ["+8613800138000"]})]
    assert candidate_pairs(rows).tolist() == [[0, 1]]
