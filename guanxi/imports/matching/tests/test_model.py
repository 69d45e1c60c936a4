"""The Fellegi–Sunter model: EM, term frequencies, explanations, storage."""

import json

import numpy as np
import pytest
from django.utils import translation

from guanxi.imports.matching import COMPARISONS, Matcher, Model
from guanxi.imports.matching.comparisons import Comparison, Level


class Field(Comparison):
    """A comparison with levels only, for models of synthetic level matrices."""

    def __init__(self, key, n_levels):
        self.key = key
        self.label = key
        self.levels = tuple(Level(f"l{i}", f"level {i}") for i in range(n_levels))


def synthetic_pairs(rng, m, u, n_pairs, n_matches):
    """Level matrix of n_pairs pairs, n_matches drawn from m and the rest from u."""
    columns = []
    for m_c, u_c in zip(m, u, strict=True):
        matches = rng.choice(len(m_c), size=n_matches, p=m_c)
        others = rng.choice(len(u_c), size=n_pairs - n_matches, p=u_c)
        columns.append(np.concatenate([matches, others]))
    return np.stack(columns, axis=1)


def test_em_recovers_m_u_and_the_prior_on_a_synthetic_set_with_known_matches():
    rng = np.random.default_rng(0)
    m = [np.array([0, 0.80, 0.15, 0.05]), np.array([0, 0.7, 0.3]), np.array([0, 0.9, 0.1])]
    u = [np.array([0, 0.01, 0.04, 0.95]), np.array([0, 0.05, 0.95]), np.array([0, 0.02, 0.98])]
    comparisons = tuple(Field(f"f{j}", len(x)) for j, x in enumerate(m))
    n_pairs, n_matches = 200_000, 4_000
    candidates = synthetic_pairs(rng, m, u, n_pairs, n_matches)
    random = synthetic_pairs(rng, m, u, 200_000, 0)
    model = Model(comparisons, contexts=()).fit(candidates, random, total_pairs=n_pairs)
    for estimated, true in zip(model.m, m, strict=True):
        assert np.abs(estimated[1:] - true[1:]).max() < 0.03
    for estimated, true in zip(model.u, u, strict=True):
        assert np.abs(estimated[1:] - true[1:]).max() < 0.005
    assert model.prior == pytest.approx(n_matches / n_pairs, rel=0.1)


def test_a_level_seen_nowhere_carries_no_weight():
    comparisons = (Field("a", 3), Field("b", 3))
    levels = np.array([[1, 1], [2, 1], [2, 2]] * 50)
    model = Model(comparisons, contexts=()).fit(levels, levels, total_pairs=10_000)
    weights = model.level_weights()
    assert weights[1][0] == 0  # "not given"
    model.observed[0][1] = False
    assert model.level_weights()[0][1] == 0


def test_common_name_weighs_less_than_a_rare_one():
    model = Matcher.default().model
    name = model.index("name")
    levels = np.zeros((2, len(model.comparisons)), dtype=np.int64)
    levels[:, name] = 1  # same name
    common, rare = model.tf_weight(levels, {"name": np.array([1e-3, 1e-7])})
    assert common < 0 < rare


def test_model_survives_a_json_round_trip():
    model = Matcher.default().model
    copy = Model.from_dict(json.loads(json.dumps(model.to_dict())))
    rng = np.random.default_rng(1)
    levels = np.stack([rng.integers(0, len(c.levels), size=500) for c in COMPARISONS], axis=1)
    frequencies = {"name": rng.random(500) * 1e-4}
    np.testing.assert_allclose(
        copy.score(levels, frequencies)[0], model.score(levels, frequencies)[0]
    )
    assert copy.shares == model.shares


def test_stored_model_with_other_levels_is_refused():
    data = Matcher.default().model.to_dict()
    data["comparisons"][0]["levels"] = data["comparisons"][0]["levels"][:-1]
    with pytest.raises(ValueError, match="name"):
        Model.from_dict(data)


def test_explanation_adds_up_to_the_match_weight():
    matcher = Matcher.default()
    pair = matcher.score(
        {"name": "张三", "phones": ["+8613800138000"], "birthday": "1990-01-05"},
        {"name": "章三", "phones": ["+8613800138000"], "birthday": "1990-01-05"},
    )
    total = matcher.model.prior_weight() + sum(line.weight for line in pair.explanation)
    assert total == pytest.approx(pair.weight, abs=0.05)


def test_explanation_lines_name_the_field_the_level_and_the_weight():
    matcher = Matcher.default()
    pair = matcher.score(
        {"name": "张三", "phones": ["+8613800138000"]},
        {"name": "Zhang San", "phones": ["+8613800138000"]},
    )
    lines = {line.field: line for line in pair.explanation}
    assert lines["phone"].level == "exact"
    assert str(lines["phone"]).startswith("phone: same number +")
    assert str(lines["name"]).startswith("name: same name in pinyin")
    assert lines["phone"].weight > 0


def test_explanation_labels_are_translatable():
    label = Matcher.default().model.comparisons[0].levels[1].label
    assert str(label) == "same name"
    with translation.override("zh-hans"):
        assert str(label)  # looked up in the catalogue when rendered, English if missing
