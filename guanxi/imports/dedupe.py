"""Finding the duplicates already in the database: the same matcher an import uses, over
every customer the actor may see. Pairs likely enough to be one customer go on the review
queue (merging stays a person's decision); the clusters are returned for the report."""

import time
from collections.abc import Callable

from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.core.errors import PermissionDenied
from guanxi.customers.selectors import customer_match_records
from guanxi.customers.services.merge import duplicate_reviews_create

from .importers.customers import evidence_json
from .matching import Matcher, clusters, features


def scan(
    *,
    actor,
    queue: bool = True,
    matcher: Matcher | None = None,
    on_progress: Callable[[str, int], None] | None = None,
) -> dict:
    """Score every likely pair among the customers the actor may see; with `queue`, put the
    pairs at or above the matcher's review threshold on the review queue."""
    if not access.can(actor, "customer.merge"):
        raise PermissionDenied(_("Your role may not merge customers."))
    started = time.monotonic()
    matcher = matcher or Matcher.default()
    ids, rows = [], []
    for pk, record in customer_match_records(actor=actor):
        ids.append(pk)
        rows.append(features(record))
        if on_progress and len(ids) % 50_000 == 0:
            on_progress("read", len(ids))
    if on_progress:
        on_progress("read", len(ids))
    pairs = matcher.find_duplicates(rows)
    if on_progress:
        on_progress("scored", len(pairs))
    groups = [[ids[i] for i in group] for group in clusters(pairs, matcher.high)]
    queued = 0
    if queue and pairs:
        queued = duplicate_reviews_create(
            pairs=[
                (ids[p.left], ids[p.right], float(p.probability), evidence_json(p)) for p in pairs
            ],
            source="scan",
        )
    return {
        "customers": len(ids),
        "pairs": len(pairs),
        "same": sum(1 for p in pairs if p.probability >= matcher.high),
        "clusters": sorted(groups, key=len, reverse=True),
        "queued": queued,
        "seconds": round(time.monotonic() - started, 1),
        "top": [
            (ids[p.left], ids[p.right], float(p.probability))
            for p in sorted(pairs, key=lambda p: -p.probability)[:50]
        ],
    }
