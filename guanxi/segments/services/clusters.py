"""Clustering customers on their value and behaviour figures (k-means, k suggested by the
silhouette), each cluster described in words and saved as a static segment."""

from __future__ import annotations

import time
import traceback

import numpy as np
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.accounts import access
from guanxi.core.bulk import Inserter
from guanxi.core.errors import Errors, ValidationFailed

from .. import clustering
from ..choices import ClusterStatus, SegmentKind
from ..models import ClusterRun, Segment, SegmentMembership

# name, what it is in words ("high spend"), the CustomerValue column; heavy tails are logged.
FEATURES = [
    ("recency", gettext_lazy("days since last order"), "recency_days", True),
    ("frequency", gettext_lazy("orders"), "orders", True),
    ("monetary", gettext_lazy("spend"), "historical_value", True),
    ("aov", gettext_lazy("order value"), "average_order_value", True),
    ("p_alive", gettext_lazy("P(alive)"), "p_alive", False),
]
MIN_CUSTOMERS = 20


def feature_labels() -> dict[str, str]:
    return {name: str(label) for name, label, _col, _log in FEATURES}


def clustering_request(*, actor, k: int | None = None, enqueue: bool = True) -> ClusterRun:
    """Queue a clustering of the valued customers (k=None: suggested by the silhouette);
    `enqueue=False` records it for the caller to run (the CLI runs it at once)."""
    access.require(actor, "segment.manage")
    errors = Errors()
    if k is not None and not 2 <= int(k) <= 12:
        errors.add("k", _("Give a number of clusters from 2 to 12, or leave it empty."))
    errors.raise_if_any()
    run = ClusterRun.objects.create(
        requested_by=actor, k_asked=k, features=[f[0] for f in FEATURES]
    )
    if enqueue:
        from guanxi.tasks import run_clustering

        transaction.on_commit(lambda: run_clustering.enqueue(run.pk))
    return run


def _features() -> tuple[np.ndarray, np.ndarray]:
    from guanxi.analytics.selectors import customer_value_rows
    from guanxi.customers.choices import Stage

    rows = (
        customer_value_rows()
        .filter(orders__gt=0)
        .exclude(customer__stage=Stage.TERMINATED)
        .order_by("customer_id")
        .values_list("customer_id", *[col for _n, _l, col, _log in FEATURES])
    )
    data = np.array(
        [
            [float(v) if v is not None else np.nan for v in row]
            for row in rows.iterator(chunk_size=20000)
        ],
        dtype=np.float64,
    ).reshape(-1, len(FEATURES) + 1)
    ids = data[:, 0].astype(np.int64)
    X = data[:, 1:]
    for j in range(X.shape[1]):  # a missing figure (no model fit yet) is the column's median
        column = X[:, j]
        missing = np.isnan(column)
        if missing.any():
            column[missing] = np.nanmedian(column) if (~missing).any() else 0.0
    return ids, X


def clustering_run(*, run_id: int) -> ClusterRun:
    """Do a queued clustering; each cluster becomes a static segment."""
    run = ClusterRun.objects.select_related("requested_by").get(pk=run_id)
    run.status = ClusterStatus.RUNNING
    run.save(update_fields=["status"])
    started = time.perf_counter()
    try:
        ids, X = _features()
        if len(ids) < MIN_CUSTOMERS:
            raise ValidationFailed(
                errors={"customers": [_("Clustering needs at least %(n)d valued customers; "
                                        "run a value refresh first.") % {"n": MIN_CUSTOMERS}]}
            )  # fmt: skip
        names = [f[0] for f in FEATURES]
        result = clustering.cluster(
            X,
            names,
            k=run.k_asked,
            log_columns=[f[0] for f in FEATURES if f[3]],
            feature_labels=feature_labels(),
        )
        _save(run, ids, result)
        run.status = ClusterStatus.DONE
    except Exception as e:  # recorded on the run; the worker goes on
        run.status = ClusterStatus.FAILED
        run.error = (
            "; ".join(m for ms in e.errors.values() for m in ms)
            if isinstance(e, ValidationFailed)
            else f"{type(e).__name__}: {e}\n\n{traceback.format_exc(limit=5)}"
        )
    run.finished_at = timezone.now()
    run.ms = int((time.perf_counter() - started) * 1000)
    run.save()
    return run


def _phrases(highlights) -> tuple[str, str]:
    """A cluster's name in Chinese and in English."""
    out = []
    for language in ("zh-hans", "en"):
        with translation.override(language):
            words = feature_labels()
            parts = [
                (_("high %(feature)s") if h["direction"] == "high" else _("low %(feature)s"))
                % {"feature": words.get(h["feature"], h["feature"])}
                for h in highlights[:2]
            ]
            joiner = "、" if language == "zh-hans" else ", "
            out.append(joiner.join(parts) if parts else _("average customers"))
    return out[0], out[1]


def _save(run: ClusterRun, ids: np.ndarray, result) -> None:
    now = timezone.now()
    clusters = []
    with transaction.atomic():
        for c in result.clusters:
            highlights = [
                {"feature": h.feature, "direction": h.direction, "z": round(h.z, 3)}
                for h in c.description.highlights
            ]
            zh, en = _phrases(highlights)
            name = f"聚类 #{run.pk}.{c.index + 1}：{zh}"[:100]
            segment = Segment.objects.create(
                name=_unique(name),
                name_en=f"Cluster #{run.pk}.{c.index + 1}: {en}"[:100],
                kind=SegmentKind.STATIC,
                description=_("k-means cluster %(i)d of %(k)d (%(share).1f%% of valued customers).")
                % {"i": c.index + 1, "k": result.k, "share": c.share * 100},
                source=f"cluster:{run.pk}",
                created_by=run.requested_by,
                refreshed_at=now,
                member_count=c.size,
            )
            members = ids[result.labels == c.index]
            Inserter(SegmentMembership, ["segment", "customer", "entered_at"]).insert(
                (segment.pk, int(cid), now) for cid in members.tolist()
            )
            clusters.append(
                {
                    "index": c.index,
                    "size": c.size,
                    "share": round(c.share, 4),
                    "centroid": {
                        n: round(float(v), 4)
                        for n, v in zip(result.feature_names, c.centroid_raw, strict=True)
                    },
                    "highlights": highlights,
                    "segment_id": segment.pk,
                }
            )
    run.k = result.k
    run.customers = len(ids)
    run.clusters = clusters
    run.scores = (
        {str(k): round(v, 4) for k, v in result.suggestion.scores.items()}
        if result.suggestion
        else {}
    )


def _unique(name: str) -> str:
    if not Segment.objects.filter(name=name).exists():
        return name
    n = 2
    while Segment.objects.filter(name=f"{name[:94]} ({n})").exists():
        n += 1
    return f"{name[:94]} ({n})"


def cluster_words(cluster: dict) -> str:
    """A stored cluster described in the viewer's language."""
    words = feature_labels()
    parts = [
        (_("high %(feature)s") if h["direction"] == "high" else _("low %(feature)s"))
        % {"feature": words.get(h["feature"], h["feature"])}
        for h in cluster.get("highlights", [])
    ]
    joiner = "、" if (translation.get_language() or "").startswith("zh") else ", "
    return joiner.join(parts) if parts else _("average customers")
