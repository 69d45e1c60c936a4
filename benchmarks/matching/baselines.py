"""The comparison pipelines: recordlinkage's and Splink's documented FEBRL set-ups.

Each function returns (predicted pairs as index pairs, extra details). Predicted pairs are
those with match probability ≥ 0.5 (the same rule as ours); recordlinkage's classifiers
give classes, which are used as they are.

- recordlinkage (0.16), following its FEBRL examples (examples/dedup_deterministic.py,
  linking_deterministic.py and the classification guide): a blocking index on given_name,
  surname (and soc_sec_id when the field is used), Compare with Jaro-Winkler ≥ 0.85 on
  surname and the address lines and exact comparison of the rest, then the unsupervised
  ECM classifier. Also, labelled as such, its supervised logistic regression trained on the
  true pairs among the candidates of the same data: an upper bound, not a fair comparison.
- Splink (5.0, duckdb), following its FEBRL3 and FEBRL4 tutorials (docs/demos/examples/
  duckdb/febrl3 and febrl4): the same blocking rules, comparisons (NameComparison,
  DateOfBirthComparison, Damerau-Levenshtein on soc_sec_id, exact street number and
  postcode with term frequencies), λ from the deterministic rules with the tutorial's
  recall, u from 1e6 random pairs, m by EM blocked on date of birth and on postcode.
  Without soc_sec_id its comparison, blocking rule and deterministic rule are left out.

For the generated Chinese file neither library has a documented set-up; `*_chinese` apply
the same recipes to its fields (names as written, first phone, first email, birthday,
city, street, postcode, gender), which is how a user of either library would start.
"""

import logging
import time

import pandas as pd


def _quiet():
    """Splink logs every training step, at levels set on its own child loggers."""
    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] in ("splink", "recordlinkage"):
            logging.getLogger(name).setLevel(logging.ERROR)


def _strings(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    for column in frame.columns:
        frame[column] = frame[column].astype("string").str.strip()
    return frame


# --- recordlinkage ---------------------------------------------------------------------


def _rl_febrl_features(with_id: bool, a: pd.DataFrame, b: pd.DataFrame | None):
    import recordlinkage as rl
    from recordlinkage.compare import Exact, String
    from recordlinkage.index import Block

    indexer = rl.Index()
    indexer.add(Block("given_name"))
    indexer.add(Block("surname"))
    if with_id:
        indexer.add(Block("soc_sec_id"))
    candidates = indexer.index(a) if b is None else indexer.index(a, b)
    comparer = rl.Compare()
    comparer.add(Exact("given_name", "given_name", label="given_name"))
    comparer.add(
        String("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    )
    comparer.add(Exact("date_of_birth", "date_of_birth", label="date_of_birth"))
    comparer.add(Exact("suburb", "suburb", label="suburb"))
    comparer.add(Exact("state", "state", label="state"))
    comparer.add(String("address_1", "address_1", threshold=0.85, label="address_1"))
    comparer.add(String("address_2", "address_2", threshold=0.85, label="address_2"))
    if with_id:
        comparer.add(Exact("soc_sec_id", "soc_sec_id", label="soc_sec_id"))
    features = comparer.compute(candidates, a) if b is None else comparer.compute(candidates, a, b)
    return candidates, features


def _rl_classify(features, true_index, supervised: bool):
    import recordlinkage as rl

    if supervised:
        classifier = rl.LogisticRegressionClassifier()
        classifier.fit(features, true_index)
    else:
        classifier = rl.ECMClassifier(binarize=0.5)
        classifier.fit(features)
    return classifier.predict(features)


def recordlinkage_febrl(frame_a, frame_b=None, *, with_id=True, true_pairs=None):
    """recordlinkage's FEBRL pipeline; returns {"ecm": pairs, "supervised": pairs}, details."""
    _quiet()
    started = time.perf_counter()
    a = frame_a
    b = frame_b
    candidates, features = _rl_febrl_features(with_id, a, b)
    pos_a = {rec_id: i for i, rec_id in enumerate(a.index)}
    pos_b = {rec_id: i for i, rec_id in enumerate((b if b is not None else a).index)}

    def as_pairs(index):
        out = set()
        for left, right in index:
            i, j = pos_a[left], pos_b[right]
            out.add((min(i, j), max(i, j)) if b is None else (i, j))
        return out

    ecm = as_pairs(_rl_classify(features, None, supervised=False))
    seconds = time.perf_counter() - started
    out = {"ecm": (ecm, seconds)}
    if true_pairs is not None:
        started = time.perf_counter()
        ids_a, ids_b = list(a.index), list((b if b is not None else a).index)
        true_index = pd.MultiIndex.from_tuples([(ids_a[i], ids_b[j]) for i, j in true_pairs])
        if b is None:  # candidate pairs come in either order
            true_index = true_index.append(true_index.swaplevel())
        true_index = true_index.intersection(features.index)
        supervised = as_pairs(_rl_classify(features, true_index, supervised=True))
        out["supervised"] = (supervised, seconds + time.perf_counter() - started)
    return out, {"candidate_pairs": len(candidates)}


def recordlinkage_chinese(records):
    """The same recipe on the generated Chinese file."""
    import recordlinkage as rl
    from recordlinkage.compare import Exact, String
    from recordlinkage.index import Block

    _quiet()
    started = time.perf_counter()
    frame = _chinese_frame(records).set_index("rec_id")
    indexer = rl.Index()
    for column in ("name", "phone", "email"):
        indexer.add(Block(column))
    candidates = indexer.index(frame)
    comparer = rl.Compare()
    comparer.add(String("name", "name", method="jarowinkler", threshold=0.85, label="name"))
    for column in ("phone", "email", "birthday", "city", "district", "postcode", "gender"):
        comparer.add(Exact(column, column, label=column))
    comparer.add(String("street", "street", threshold=0.85, label="street"))
    features = comparer.compute(candidates, frame)
    predicted = rl.ECMClassifier(binarize=0.5).fit_predict(features)
    pairs = {(min(int(i), int(j)), max(int(i), int(j))) for i, j in predicted}
    return pairs, {"candidate_pairs": len(candidates), "seconds": time.perf_counter() - started}


# --- Splink ----------------------------------------------------------------------------


def _splink_frame(frame: pd.DataFrame) -> pd.DataFrame:
    frame = _strings(frame.reset_index())
    frame["cluster"] = frame["rec_id"].str.extract(r"^([^-]+-[^-]+)", expand=False)
    return frame


def splink_febrl3(frame, *, with_id=True, threshold=0.5):
    """Splink's FEBRL3 tutorial (dedupe_only)."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    _quiet()
    started = time.perf_counter()
    df = _splink_frame(frame)
    blocking_rules = [
        block_on("given_name"),
        block_on("surname"),
        block_on("date_of_birth"),
        block_on("postcode"),
    ]
    comparisons = [
        cl.NameComparison("given_name"),
        cl.NameComparison("surname"),
        cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
        cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
        cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
    ]
    deterministic = [
        block_on("given_name", "surname", "date_of_birth"),
        "l.given_name = r.surname and l.surname = r.given_name "
        "and l.date_of_birth = r.date_of_birth",
    ]
    if with_id:
        blocking_rules.insert(0, block_on("soc_sec_id"))
        comparisons.insert(3, cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]))
        deterministic.insert(0, block_on("soc_sec_id"))
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=blocking_rules,
        comparisons=comparisons,
        retain_intermediate_calculation_columns=True,
    )
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(df), settings)
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.9)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    result = linker.inference.predict(threshold_match_probability=threshold).as_pandas_dataframe()
    seconds = time.perf_counter() - started
    position = {rec_id: i for i, rec_id in enumerate(frame.index)}
    pairs = {
        (min(position[x], position[y]), max(position[x], position[y]))
        for x, y in zip(result["rec_id_l"], result["rec_id_r"], strict=True)
    }
    return pairs, {"seconds": seconds}


def splink_febrl4(frame_a, frame_b, *, with_id=True, threshold=0.5):
    """Splink's FEBRL4 tutorial (link_only), its detailed model."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    _quiet()
    started = time.perf_counter()
    dfs = [_splink_frame(f) for f in (frame_a, frame_b)]
    blocking_rules = [
        block_on("given_name", "surname"),
        "l.given_name = r.surname and l.surname = r.given_name",
        block_on("date_of_birth"),
        block_on("state", "address_1"),
        block_on("street_number", "address_1"),
        block_on("postcode"),
    ]
    comparisons = [
        cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
        cl.NameComparison("surname").configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison(
            "date_of_birth",
            input_is_string=True,
            datetime_format="%Y%m%d",
            invalid_dates_as_null=True,
        ),
        cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
        cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
            term_frequency_adjustments=True
        ),
    ]
    deterministic = [block_on("given_name", "surname", "date_of_birth")]
    if with_id:
        blocking_rules.insert(3, block_on("soc_sec_id"))
        comparisons.insert(3, cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]))
        deterministic.insert(0, block_on("soc_sec_id"))
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="link_only",
        blocking_rules_to_generate_predictions=blocking_rules,
        comparisons=comparisons,
        retain_intermediate_calculation_columns=True,
    )
    db_api = DuckDBAPI()
    linker = Linker([db_api.register(df) for df in dfs], settings)
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
    for rule in (block_on("date_of_birth"), block_on("postcode")):
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    result = linker.inference.predict(threshold_match_probability=threshold).as_pandas_dataframe()
    seconds = time.perf_counter() - started
    pos_a = {rec_id: i for i, rec_id in enumerate(frame_a.index)}
    pos_b = {rec_id: i for i, rec_id in enumerate(frame_b.index)}
    pairs = set()
    for x, y in zip(result["rec_id_l"], result["rec_id_r"], strict=True):
        # Record ids differ between A (rec-N-org) and B (rec-N-dup-0); either may be left.
        pairs.add((pos_a[x], pos_b[y]) if x in pos_a else (pos_a[y], pos_b[x]))
    return pairs, {"seconds": seconds}


def _chinese_frame(records) -> pd.DataFrame:
    rows = []
    for i, r in enumerate(records):
        rows.append(
            {
                "rec_id": str(i),
                "name": r.get("name") or None,
                "phone": (r.get("phones") or [None])[0],
                "email": (r.get("emails") or [None])[0],
                "birthday": r.get("birthday") or None,
                "city": r.get("city") or None,
                "district": r.get("district") or None,
                "street": r.get("street") or None,
                "postcode": r.get("postcode") or None,
                "gender": r.get("gender") or None,
            }
        )
    return _strings(pd.DataFrame(rows))


def splink_chinese(records, *, threshold=0.5):
    """Splink's FEBRL recipe applied to the generated Chinese file."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    _quiet()
    started = time.perf_counter()
    df = _chinese_frame(records)
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[
            block_on("name"),
            block_on("phone"),
            block_on("email"),
            block_on("birthday"),
            block_on("postcode"),
        ],
        comparisons=[
            cl.NameComparison("name").configure(term_frequency_adjustments=True),
            cl.ExactMatch("phone"),
            cl.EmailComparison("email"),
            cl.DateOfBirthComparison("birthday", input_is_string=True, datetime_format="%Y-%m-%d"),
            cl.ExactMatch("city"),
            cl.ExactMatch("district"),
            cl.LevenshteinAtThresholds("street", [1, 3]),
            cl.ExactMatch("postcode"),
            cl.ExactMatch("gender"),
        ],
        retain_intermediate_calculation_columns=True,
    )
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(df), settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("phone"), block_on("name", "birthday")], recall=0.9
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    # EM sessions blocked on birthday and on name (as the tutorials block on date of birth
    # and postcode); between them every comparison gets m estimates.
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("birthday"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name"))
    result = linker.inference.predict(threshold_match_probability=threshold).as_pandas_dataframe()
    pairs = {
        (min(int(x), int(y)), max(int(x), int(y)))
        for x, y in zip(result["rec_id_l"], result["rec_id_r"], strict=True)
    }
    return pairs, {"seconds": time.perf_counter() - started}
