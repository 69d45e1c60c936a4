"""Clustering: run k-means on the valued customers (k suggested or given), see each cluster
described in words with its centroid, and open the static segment it was saved as."""

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.core.charts import chart_data, chart_options, money
from guanxi.core.errors import GuanxiError

from .. import selectors
from ..services import clusters as cluster_services
from .common import context, error_messages


def clusters_page(request, model_admin):
    actor = request.user
    if access.role_of(actor) is None:
        raise Http404
    if request.method == "POST":
        raw = (request.POST.get("k") or "").strip()
        try:
            if raw and not raw.isdigit():
                from guanxi.core.errors import ValidationFailed

                raise ValidationFailed(errors={"k": [_("Give a whole number, or leave it empty.")]})
            cluster_services.clustering_request(actor=actor, k=int(raw) if raw else None)
        except GuanxiError as e:
            error_messages(request, e)
        else:
            messages.success(request, _("Clustering queued; the clusters appear when it is done."))
        return HttpResponseRedirect(reverse("admin:segments_clusterrun_changelist"))
    runs = list(selectors.cluster_runs()[:10])
    latest = next((r for r in runs if r.status == "done"), None)
    clusters, scores_chart = [], None
    if latest:
        labels = cluster_services.feature_labels()
        for c in latest.clusters:
            centroid = c["centroid"]
            clusters.append(
                {
                    **c,
                    "words": cluster_services.cluster_words(c),
                    "share_pct": round(c["share"] * 100, 1),
                    "figures": [
                        (labels["recency"], f"{centroid.get('recency', 0):.0f}"),
                        (labels["frequency"], f"{centroid.get('frequency', 0):.1f}"),
                        (labels["monetary"], money(centroid.get("monetary", 0))),
                        (labels["aov"], money(centroid.get("aov", 0))),
                        (labels["p_alive"], f"{centroid.get('p_alive', 0):.2f}"),
                    ],
                }
            )
        if latest.scores:
            ks = sorted(latest.scores, key=int)
            scores_chart = chart_data(
                [f"k={k}" for k in ks],
                [{"label": _("Silhouette"), "data": [latest.scores[k] for k in ks],
                  "backgroundColor": ["#4f46e5" if int(k) == latest.k else "#a5b4fc"
                                      for k in ks]}],
            )  # fmt: skip
    ctx = context(
        request,
        model_admin,
        title=_("Customer clusters"),
        runs=runs,
        latest=latest,
        clusters=clusters,
        scores_chart=scores_chart,
        chart_options=chart_options(),
        may_run=access.can(actor, "segment.manage"),
    )
    return TemplateResponse(request, "guanxi/segments/clusters.html", ctx)
