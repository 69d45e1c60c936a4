"""Probabilistic record matching for de-duplication and linking (Fellegi–Sunter, as Splink).

    from guanxi.imports.matching import Matcher, clusters

    matcher = Matcher.default()                 # or Matcher().fit(records) to train by EM
    pairs = matcher.find_duplicates(records)    # [ScoredPair(left, right, probability, …)]
    for pair in pairs:
        pair.decision                           # "same" (≥ high), "review" (≥ low)
        pair.explanation                        # [Explanation("phone", …, "same number", 8.1)…]
    groups = clusters(pairs, matcher.high)      # [[0, 17, 230], …] record indices

    # An import: the existing customers prepared once, each file chunk scored against them.
    reference = matcher.reference(customers, ids=customer_ids)
    pairs = matcher.link_batch(chunk_rows, reference)   # right = customer id

Modules: `text` (names in pinyin, company cores, places, streets), `features` (one record →
`Features`), `table` (many features as numpy columns), `levels` (what a comparison is),
`names` and `contacts` (the comparisons), `comparisons` (all of them, `compare_pairs`),
`model` (m / u, scoring, explanations, JSON), `em` (training), `default_params` (the
trained default), `blocking` (keys, candidate pairs, `KeyIndex`), `matcher` (decisions,
batches against prepared customers), `clusters`. No database, and no Django settings
needed to import or run; labels are lazy translations.
"""

from .blocking import (
    MAX_BLOCK,
    MAX_KEYS,
    KeyIndex,
    blocking_keys,
    candidate_pairs,
    candidate_pairs_between,
)
from .clusters import clusters
from .comparisons import COMPARISONS, compare_pairs
from .features import Features, features
from .matcher import (
    DIFFERENT,
    REVIEW,
    SAME,
    Matcher,
    PairScores,
    Reference,
    ScoredPair,
)
from .model import Explanation, Model, weight_to_probability
from .table import FeatureTable

__all__ = [
    "COMPARISONS",
    "DIFFERENT",
    "MAX_BLOCK",
    "MAX_KEYS",
    "REVIEW",
    "SAME",
    "Explanation",
    "FeatureTable",
    "Features",
    "KeyIndex",
    "Matcher",
    "Model",
    "PairScores",
    "Reference",
    "ScoredPair",
    "blocking_keys",
    "candidate_pairs",
    "candidate_pairs_between",
    "clusters",
    "compare_pairs",
    "features",
    "weight_to_probability",
]
