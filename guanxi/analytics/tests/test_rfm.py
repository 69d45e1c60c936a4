"""RFM scoring and both segment schemes (pure functions)."""

import numpy as np

from guanxi.analytics import rfm
from guanxi.analytics.choices import ChineseSegment, NamedSegment


def test_scores_are_quintiles_of_the_base():
    values = np.arange(1, 101)
    scores = rfm.quantile_scores(values, values)
    assert scores.min() == 1 and scores.max() == 5
    assert np.bincount(scores)[1:].tolist() == [20, 20, 20, 20, 20]
    assert scores[0] == 1 and scores[-1] == 5


def test_customers_with_the_same_value_share_a_score():
    # 60% bought once: they all get the same F score, and it is not the top one.
    frequency = np.array([1] * 60 + [2] * 20 + [3] * 10 + [5] * 5 + [9] * 5)
    scores = rfm.quantile_scores(frequency, frequency)
    assert len(set(scores[:60].tolist())) == 1
    assert scores[0] == 2  # mid-rank 30.5 of 100 → share 0.30 → ceil(1.5) = 2
    assert scores[-1] == 5


def test_values_outside_the_base_are_placed_among_the_base():
    base = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    assert rfm.quantile_scores(np.array([0.0, 25.0, 1000.0]), base).tolist() == [1, 2, 5]


def test_recency_scores_favour_recent_buyers():
    r, f, m = rfm.rfm_scores(
        recency_days=[1, 400, 50],
        frequency=[1, 1, 1],
        monetary=[10.0, 500.0, 100.0],
        in_base=[True, True, True],
    )
    assert r.tolist() == [5, 1, 3]
    assert m.tolist() == [1, 5, 3]
    assert f.tolist() == [3, 3, 3]  # everyone alike: the middle


def test_empty_base_scores_nothing():
    assert rfm.quantile_scores(np.array([1.0]), np.array([])).tolist() == [0]


def test_chinese_eight_classes_from_high_and_low():
    r = np.array([5, 5, 1, 1, 5, 5, 1, 1])
    f = np.array([5, 1, 5, 1, 5, 1, 5, 1])
    m = np.array([5, 5, 5, 5, 1, 1, 1, 1])
    assert rfm.chinese_segments(r, f, m, high=4).tolist() == [
        ChineseSegment.IMPORTANT_VALUE,
        ChineseSegment.IMPORTANT_DEVELOP,
        ChineseSegment.IMPORTANT_RETAIN,
        ChineseSegment.IMPORTANT_WIN_BACK,
        ChineseSegment.GENERAL_VALUE,
        ChineseSegment.GENERAL_DEVELOP,
        ChineseSegment.GENERAL_RETAIN,
        ChineseSegment.GENERAL_WIN_BACK,
    ]
    # The threshold is a setting: at 3, a 3 is high.
    assert rfm.chinese_segments([3], [3], [3], high=3).tolist() == ["important_value"]
    assert rfm.chinese_segments([3], [3], [3], high=4).tolist() == ["general_win_back"]


def test_named_segments_follow_the_recency_frequency_grid():
    pairs = [(5, 5), (5, 1), (4, 1), (1, 1), (1, 5), (2, 3), (3, 3), (3, 1), (4, 4), (5, 2)]
    r, f = np.array(pairs).T
    assert rfm.named_segments(r, f).tolist() == [
        NamedSegment.CHAMPIONS,
        NamedSegment.NEW,
        NamedSegment.PROMISING,
        NamedSegment.HIBERNATING,
        NamedSegment.CANNOT_LOSE,
        NamedSegment.AT_RISK,
        NamedSegment.NEED_ATTENTION,
        NamedSegment.ABOUT_TO_SLEEP,
        NamedSegment.LOYAL,
        NamedSegment.POTENTIAL_LOYALIST,
    ]
