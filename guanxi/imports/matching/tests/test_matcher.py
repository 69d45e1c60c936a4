"""Decisions on pairs of customers, with the default (untrained) matcher, and clusters."""

import pytest

from guanxi.imports.matching import DIFFERENT, REVIEW, SAME, Matcher, ScoredPair, clusters


@pytest.fixture(scope="module")
def matcher():
    return Matcher.default()


def test_default_matcher_needs_no_training(matcher):
    assert matcher.model.metadata["trained_by"] == "benchmarks/matching/train_default.py"
    assert (matcher.low, matcher.high) == (0.5, 0.99)


def test_homophone_name_with_the_same_phone_is_the_same_customer(matcher):
    pair = matcher.score(
        {"name": "张三", "phones": ["+8613800138000"]},
        {"name": "章三", "phones": ["+8613800138000"]},
    )
    assert pair.decision == SAME


def test_pinyin_spelling_and_swapped_order_with_the_same_phone_are_the_same_customer(matcher):
    for name in ("Zhang San", "San Zhang"):
        pair = matcher.score(
            {"name": "张三", "phones": ["+8613800138000"]},
            {"name": name, "phones": ["+8613800138000"]},
        )
        assert pair.decision == SAME, name


def test_typo_in_the_name_with_the_same_phone_is_found(matcher):
    a = {"name": "张三", "phones": ["+8613800138000"], "city": "北京"}
    b = {"name": "张山", "phones": ["+8613800138000"], "city": "北京"}
    # Brothers may share a phone, so a person looks; with the same birthday it is one man.
    assert matcher.score(a, b).decision in (REVIEW, SAME)
    born = {"birthday": "1990-01-05"}
    assert matcher.score({**a, **born}, {**b, **born}).decision == SAME


def test_same_company_written_three_ways_is_the_same_customer(matcher):
    base = {"kind": "company", "phones": ["+861065529988"], "city": "北京"}
    names = ["北京阿里巴巴科技有限公司", "阿里巴巴科技", "阿里巴巴（北京）科技有限公司"]
    for other in names[1:]:
        pair = matcher.score({**base, "name": names[0]}, {**base, "name": other})
        assert pair.decision == SAME, other


def test_same_company_name_in_another_city_is_not_the_same_customer(matcher):
    pair = matcher.score(
        {
            "kind": "company",
            "name": "北京明远科技有限公司",
            "phones": ["+861065529988"],
            "city": "北京",
            "street": "建国路88号",
        },
        {
            "kind": "company",
            "name": "上海明远科技有限公司",
            "phones": ["+862155501234"],
            "city": "上海",
            "street": "南京路100号",
        },
    )
    assert pair.decision == DIFFERENT


def test_people_with_a_common_name_and_different_phone_and_birthday_are_different(matcher):
    pair = matcher.score(
        {"name": "张伟", "phones": ["+8613800138000"], "birthday": "1985-03-02", "city": "北京"},
        {"name": "张伟", "phones": ["+8613912345678"], "birthday": "1992-11-20", "city": "北京"},
    )
    assert pair.decision == DIFFERENT


def test_relatives_sharing_a_phone_and_address_are_different_customers(matcher):
    home = {
        "phones": ["+8613800138000"],
        "city": "北京",
        "district": "朝阳区",
        "street": "建国路88号",
    }
    pair = matcher.score(
        {**home, "name": "王建国", "gender": "男", "birthday": "1962-04-01"},
        {**home, "name": "王芳", "gender": "女", "birthday": "1990-08-15"},
    )
    assert pair.decision == DIFFERENT


def test_find_duplicates_scores_the_pairs_worth_a_look(matcher):
    records = [
        {"name": "张三", "phones": ["+8613800138000"], "birthday": "1990-01-05"},
        {"name": "李四", "phones": ["+8613912345678"]},
        {"name": "Zhang San", "phones": ["+8613800138000"], "birthday": "1990-01-05"},
        {"name": "王五", "emails": ["ww@example.com"]},
    ]
    pairs = matcher.find_duplicates(records)
    assert [(p.left, p.right) for p in pairs] == [(0, 2)]
    assert isinstance(pairs[0], ScoredPair)
    assert pairs[0].decision == SAME
    assert pairs[0].explanation[0].weight > 0


def test_link_pairs_records_of_two_sets(matcher):
    file_rows = [{"name": "李四", "phones": ["+8613912345678"]}, {"name": "赵六"}]
    customers = [
        {"name": "张三", "phones": ["+8613800138000"]},
        {"name": "李四", "phones": ["+8613912345678"], "city": "上海"},
    ]
    assert [(p.left, p.right) for p in matcher.link(file_rows, customers)] == [(0, 1)]


def test_decision_bands(matcher):
    assert matcher.decide(0.995) == SAME
    assert matcher.decide(0.7) == REVIEW
    assert matcher.decide(0.2) == DIFFERENT
    with pytest.raises(ValueError):
        Matcher(high=0.4, low=0.5)


def test_clusters_do_not_chain_weak_links():
    pairs = [(0, 1, 0.999), (1, 2, 0.3), (2, 3, 0.998), (4, 5, 0.6)]
    assert clusters(pairs, 0.99) == [[0, 1], [2, 3]]
    assert clusters(pairs, 0.5) == [[0, 1], [2, 3], [4, 5]]


def test_cluster_larger_than_the_cap_is_split_at_its_weakest_links():
    # A chain of strong pairs joined in the middle by a weaker one.
    pairs = [(i, i + 1, 0.9999) for i in range(4)] + [(4, 5, 0.995)]
    pairs += [(i, i + 1, 0.9999) for i in range(5, 9)]
    assert clusters(pairs, 0.99) == [list(range(10))]
    assert clusters(pairs, 0.99, max_size=5) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]


def test_sparse_cluster_is_split_when_density_is_required():
    star = [(0, i, 0.999) for i in range(1, 4)] + [(1, 2, 0.9999)]
    assert clusters(star, 0.99) == [[0, 1, 2, 3]]
    assert clusters(star, 0.99, min_density=0.9) == [[1, 2]]


def test_batch_is_scored_against_prepared_customers_by_their_ids(matcher):
    customers = [
        {"name": "张三", "phones": ["+8613800138000"]},
        {"name": "李四", "phones": ["+8613912345678"], "city": "上海"},
        {"name": "王五", "emails": ["ww@example.com"]},
    ]
    reference = matcher.reference(customers, ids=[101, 102, 103])
    batch = [{"name": "Li Si", "phones": ["+8613912345678"]}, {"name": "赵六"}]
    pairs = matcher.link_batch(batch, reference)
    assert [(p.left, p.right, p.decision) for p in pairs] == [(0, 102, SAME)]
