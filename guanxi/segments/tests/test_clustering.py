"""Customer clustering (pure functions, no database): standardising, k-means, the silhouette
and the choice of k, and the words for a cluster. scikit-learn, a dev extra only, is the
reference for the silhouette and the inertia."""

import numpy as np
import pytest
from django.utils import translation

from guanxi.segments import clustering

NAMES = ["spend", "orders", "recency", "tenure"]
WORDS = {"spend": "spend", "orders": "orders", "recency": "recency", "tenure": "tenure"}


def blobs(k, *, per=200, d=4, spread=0.3, seed=0):
    """k tight Gaussian blobs, centres far apart (at least 8 apart in every direction drawn)."""
    rng = np.random.default_rng(seed)
    centres = rng.permutation(np.arange(k))[:, None] * 8.0 + rng.normal(0, 2, (k, d))
    centres[:, 0] = np.arange(k) * 10.0  # well apart on the first feature whatever the draw
    X = np.concatenate([c + rng.normal(0, spread, (per, d)) for c in centres])
    truth = np.repeat(np.arange(k), per)
    return X, truth, centres


def same_partition(a, b):
    """Equal up to a permutation of the cluster numbers."""
    pairs = set(zip(np.asarray(a).tolist(), np.asarray(b).tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


# -- standardising -----------------------------------------------------------------------------


def test_standardise_gives_zero_mean_unit_scale():
    rng = np.random.default_rng(1)
    X = rng.normal([10, -5, 300], [1, 4, 50], (1000, 3))
    Z, mean, scale = clustering.standardise(X)
    assert np.allclose(Z.mean(axis=0), 0, atol=1e-12)
    assert np.allclose(Z.std(axis=0), 1)
    assert np.allclose(mean, X.mean(axis=0)) and np.allclose(scale, X.std(axis=0))
    assert np.allclose(Z * scale + mean, X)


def test_a_column_that_does_not_vary_is_all_zeros():
    rng = np.random.default_rng(2)
    X = np.column_stack([rng.normal(0, 1, 500), np.full(500, 0.1), np.full(500, 7.0)])
    Z, mean, scale = clustering.standardise(X)
    assert np.isfinite(Z).all()
    assert (Z[:, 1:] == 0).all()
    assert scale[1:].tolist() == [1.0, 1.0]
    assert mean[2] == 7.0
    # and it neither breaks nor sways the clustering
    result = clustering.cluster(X, ["a", "flat", "const"], k=2)
    assert result.k == 2 and sum(c.size for c in result.clusters) == 500
    for c in result.clusters:
        assert c.centroid_z[1:].tolist() == [0.0, 0.0]
        assert {h.feature for h in c.description.highlights} <= {"a"}


def test_log_columns_get_a_signed_log1p_before_scaling():
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.lognormal(5, 1.5, 400), rng.normal(0, 1, 400)])
    X[0, 0] = -20.0  # a refund: no NaN
    Z, mean, scale = clustering.standardise(X, log_columns=[0])
    logged = np.sign(X[:, 0]) * np.log1p(np.abs(X[:, 0]))
    assert np.isclose(mean[0], logged.mean()) and np.isclose(scale[0], logged.std())
    assert np.allclose(Z[:, 0], (logged - logged.mean()) / logged.std())
    assert np.allclose(Z[:, 1], (X[:, 1] - X[:, 1].mean()) / X[:, 1].std())
    # by name in cluster(), reported as indices
    assert clustering.cluster(X, ["spend", "x"], k=2, log_columns=["spend"]).log_columns == (0,)


def test_bad_input_is_refused():
    with pytest.raises(ValueError):
        clustering.standardise(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError):
        clustering.standardise(np.ones((3, 2)), log_columns=[5])
    with pytest.raises(ValueError):
        clustering.cluster(np.ones((3, 2)), ["a"])
    with pytest.raises(ValueError):
        clustering.kmeans(np.ones((3, 2)), 4)


# -- k-means -----------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [2, 3, 5])
def test_well_separated_blobs_are_recovered_exactly(k):
    X, truth, _ = blobs(k, seed=k)
    Z, _, _ = clustering.standardise(X)
    fit = clustering.kmeans(Z, k)
    assert same_partition(fit.labels, truth)
    assert fit.converged and fit.labels.dtype == np.int32
    assert fit.centroids.shape == (k, X.shape[1])


def test_adjusted_rand_is_one_against_the_truth():
    metrics = pytest.importorskip("sklearn.metrics")
    X, truth, _ = blobs(4, seed=11)
    result = clustering.cluster(X, NAMES, k=4)
    assert metrics.adjusted_rand_score(truth, result.labels) == 1.0


def test_kmeans_is_deterministic_for_a_seed():
    rng = np.random.default_rng(4)
    Z = rng.random((3000, 5))
    a = clustering.kmeans(Z, 6, seed=7)
    b = clustering.kmeans(Z, 6, seed=7)
    assert np.array_equal(a.labels, b.labels)
    assert np.array_equal(a.centroids, b.centroids)
    assert a.inertia == b.inertia and a.iterations == b.iterations
    c = clustering.cluster(Z, list("abcde"), seed=3)
    d = clustering.cluster(Z, list("abcde"), seed=3)
    assert c.k == d.k and np.array_equal(c.labels, d.labels)
    assert c.suggestion.scores == d.suggestion.scores


def test_chunk_sizes_do_not_change_the_result(monkeypatch):
    rng = np.random.default_rng(5)
    Z = rng.random((5000, 3))
    whole = clustering.kmeans(Z, 4, seed=1)
    score = clustering.silhouette(Z[:800], whole.labels[:800])
    monkeypatch.setattr(clustering, "CHUNK_ELEMENTS", 1)  # 256-row chunks
    monkeypatch.setattr(clustering, "PAIRWISE_CHUNK_BYTES", 1)  # one row at a time
    chunked = clustering.kmeans(Z, 4, seed=1)
    assert np.array_equal(whole.labels, chunked.labels)
    assert np.isclose(whole.inertia, chunked.inertia, rtol=1e-12)
    assert np.isclose(clustering.silhouette(Z[:800], whole.labels[:800]), score, atol=1e-12)


def test_an_empty_cluster_is_reseeded(monkeypatch):
    X, truth, _ = blobs(3, per=100, d=2, seed=6)
    reseeds = []
    update = clustering._update

    def spy(*args):
        centers, reseeded = update(*args)
        reseeds.append(reseeded)
        return centers, reseeded

    monkeypatch.setattr(clustering, "_update", spy)
    # one centroid far from every row, two on the same spot: two clusters empty at once
    init = np.array([[1000.0, 1000.0], X[0], X[0]])
    fit = clustering.kmeans(X, 3, init=init)
    assert reseeds[0] is True
    assert np.bincount(fit.labels, minlength=3).min() > 0
    assert same_partition(fit.labels, truth)
    assert np.isfinite(fit.centroids).all()


def test_fewer_distinct_rows_than_clusters_is_an_error():
    Z = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0]]), 50, axis=0)
    with pytest.raises(clustering.TooFewDistinctRows):
        clustering.kmeans(Z, 3)
    assert clustering.suggest_k(Z).k == 2  # the k it can fit


def test_inertia_is_within_one_percent_of_sklearn():
    sk = pytest.importorskip("sklearn.cluster")
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, (6, 6))
    mixed = np.concatenate([c + rng.normal(0, 1, (500, 6)) for c in centres])
    uniform = rng.random((3000, 6))
    for data, k in ((clustering.standardise(mixed)[0], 6), (uniform, 6), (uniform, 3)):
        ours = clustering.kmeans(data, k).inertia
        theirs = sk.KMeans(n_clusters=k, n_init=4, random_state=0).fit(data).inertia_
        assert abs(ours - theirs) <= 0.01 * theirs


def test_inertia_is_the_sum_of_squared_distances():
    rng = np.random.default_rng(8)
    Z = rng.random((1000, 3))
    fit = clustering.kmeans(Z, 4)
    assert np.isclose(fit.inertia, ((Z - fit.centroids[fit.labels]) ** 2).sum(), rtol=1e-12)
    nearest = ((Z[:, None, :] - fit.centroids[None]) ** 2).sum(-1).argmin(1)
    assert np.array_equal(nearest, fit.labels)


# -- silhouette and the choice of k ------------------------------------------------------------


def test_silhouette_agrees_with_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(9)
    Z = rng.normal(0, 1, (600, 4))
    labels = clustering.kmeans(Z, 4).labels
    assert abs(clustering.silhouette(Z, labels) - metrics.silhouette_score(Z, labels)) < 1e-9
    # a row alone in its cluster scores 0; labels need not be 0..k-1
    odd = np.where(labels == 0, 10, labels + 20)
    odd[0] = 99
    assert abs(clustering.silhouette(Z, odd) - metrics.silhouette_score(Z, odd)) < 1e-9
    X, _, _ = blobs(3, per=150, seed=12)
    lab = clustering.kmeans(X, 3).labels
    assert abs(clustering.silhouette(X, lab) - metrics.silhouette_score(X, lab)) < 1e-9


def test_scores_of_many_labelings_in_one_pass_equal_each_alone():
    rng = np.random.default_rng(10)
    Z = rng.random((500, 3))
    labelings = [clustering.kmeans(Z, k).labels for k in (2, 3, 5)]
    together = clustering._silhouettes(Z, labelings)
    assert np.allclose(together, [clustering.silhouette(Z, lab) for lab in labelings])


@pytest.mark.parametrize("k", [3, 5])
def test_suggest_k_finds_the_true_number_of_blobs(k):
    X, _, _ = blobs(k, per=300, seed=20 + k)
    Z, _, _ = clustering.standardise(X)
    suggestion = clustering.suggest_k(Z)
    assert suggestion.k == k
    assert sorted(suggestion.scores) == list(range(2, 9))
    assert max(suggestion.scores, key=suggestion.scores.get) == k
    assert all(-1 <= s <= 1 for s in suggestion.scores.values())


def test_suggest_k_scores_a_sample_of_large_data():
    X, _, _ = blobs(3, per=2000, seed=30)
    suggestion = clustering.suggest_k(X, sample=1500, k_max=5)
    assert suggestion.sample_size == 1500 and suggestion.k == 3
    assert clustering.suggest_k(X, sample=1500, k_max=5).scores == suggestion.scores


def test_ties_go_to_the_smaller_k(monkeypatch):
    monkeypatch.setattr(clustering, "_silhouettes", lambda Z, labelings: [0.5] * len(labelings))
    rng = np.random.default_rng(13)
    assert clustering.suggest_k(rng.random((200, 2)), k_min=3, k_max=6).k == 3


# -- words -------------------------------------------------------------------------------------


def test_describe_names_the_strongest_features_in_english():
    z = np.array([1.2, 0.1, -0.7, 2.0])
    raw = np.array([3200.0, 2.0, 15.0, 900.0])
    with translation.override("en"):
        words = clustering.describe(z, raw, NAMES, WORDS)
    assert words.text == "high tenure, high spend, low recency"
    assert str(words) == words.text
    assert words.name == "high tenure, high spend"
    assert [(h.feature, h.direction, h.raw) for h in words.highlights] == [
        ("tenure", "high", 900.0),
        ("spend", "high", 3200.0),
        ("recency", "low", 15.0),
    ]


def test_describe_keeps_at_most_three_and_uses_the_labels():
    z = np.array([-0.9, 3.0, 0.6, -1.5])
    labels = {"spend": "spend", "orders": "order count"}  # no label: the feature's name
    with translation.override("en"):
        words = clustering.describe(z, None, NAMES, labels)
    assert words.text == "high order count, low tenure, low spend"
    assert words.highlights[0].raw is None


def test_a_centroid_near_the_middle_is_average_customers():
    with translation.override("en"):
        words = clustering.describe(np.array([0.49, -0.3, 0.0, -0.49]), None, NAMES, WORDS)
    assert words.text == words.name == "average customers"
    assert words.highlights == ()


def test_describe_joins_with_the_chinese_comma_in_chinese():
    z = np.array([1.2, 0.1, -0.7, 2.0])
    with translation.override("zh-hans"):
        words = clustering.describe(z, None, NAMES, WORDS)
    assert words.text.count("、") == 2 and ", " not in words.text
    assert words.name.count("、") == 1
    with translation.override("en"):
        english = clustering.describe(z, None, NAMES, WORDS)
    assert english.text.count(", ") == 2 and "、" not in english.text


# -- all together ------------------------------------------------------------------------------


def test_cluster_describes_each_blob():
    rng = np.random.default_rng(14)
    big_spenders = np.column_stack(
        [rng.lognormal(8, 0.2, 150), rng.poisson(20, 150) + 1, rng.uniform(1, 20, 150)]
    )
    lapsed = np.column_stack(
        [rng.lognormal(4, 0.2, 450), rng.poisson(1, 450) + 1, rng.uniform(300, 400, 450)]
    )
    X = np.concatenate([big_spenders, lapsed]).astype(float)
    truth = np.repeat([1, 0], [150, 450])
    with translation.override("en"):
        result = clustering.cluster(
            X,
            ["spend", "orders", "recency"],
            log_columns=["spend", "orders"],
            feature_labels={"recency": "days since last order"},
        )
    assert result.k == 2 and result.suggestion.k == 2
    assert same_partition(result.labels, truth)
    first, second = result.clusters
    assert (first.index, first.size, second.index, second.size) == (0, 450, 1, 150)
    assert np.isclose(first.share, 0.75)
    assert np.array_equal(result.labels == 0, truth == 0)  # the larger cluster comes first
    assert np.allclose(first.centroid_raw, lapsed.mean(axis=0))
    assert np.allclose(second.centroid_raw, big_spenders.mean(axis=0))
    Z, _, _ = clustering.standardise(X, log_columns=[0, 1])
    assert np.allclose(second.centroid_z, Z[truth == 1].mean(axis=0))
    assert "high days since last order" in first.description.text
    assert "low spend" in first.description.text
    assert "high spend" in second.description.text and "high orders" in second.description.text
    assert result.iterations >= 1 and result.inertia > 0
    assert result.feature_names == ("spend", "orders", "recency")


def test_cluster_with_k_given_does_not_suggest():
    X, truth, _ = blobs(3, seed=15)
    result = clustering.cluster(X, NAMES, k=3)
    assert result.suggestion is None and result.k == 3
    assert same_partition(result.labels, truth)
    sizes = [c.size for c in result.clusters]
    assert sizes == sorted(sizes, reverse=True) and sum(sizes) == len(X)
