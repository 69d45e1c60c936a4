"""Merging two customers that are one person or company, and taking a merge back.

One transaction: the customers app folds the profile, phones, emails, tags, addresses,
contacts and stage history in (`customer_absorb`), the interactions and orders apps move
their records, and a `CustomerMerge` keeps what an unmerge needs. Decisions on the review
queue (merge, or "not duplicates") are here too.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.core.errors import Conflict, ValidationFailed
from guanxi.customers.models import Customer
from guanxi.customers.services.merge import customer_absorb, customer_restore, require_mergeable
from guanxi.interactions.services import customer_records_move
from guanxi.orders.services import customer_orders_move

from ..choices import ReviewStatus
from ..models import CustomerMerge, DuplicateReview


def customers_merge(
    *,
    actor,
    survivor: Customer,
    other: Customer,
    choose: dict | None = None,
    review: DuplicateReview | None = None,
    job=None,
) -> CustomerMerge:
    """Merge `other` into `survivor`: every record of `other` is re-parented, the values
    chosen survive, the merge is on the timeline and in the audit log; `other` is gone
    (with its open reviews) until `customers_unmerge` brings it back."""
    require_mergeable(actor, survivor, other)
    if survivor.pk == other.pk:
        raise ValidationFailed(errors={"other": [_("A customer cannot be merged into itself.")]})
    with transaction.atomic():
        # Orders and interactions first: deleting the absorbed customer must find none.
        moved = customer_records_move(from_id=other.pk, to_id=survivor.pk)
        moved["orders.order"] = customer_orders_move(from_id=other.pk, to_id=survivor.pk)
        result = customer_absorb(actor=actor, survivor=survivor, other=other, choose=choose or {})
        moved |= result["moved"]
        merge = CustomerMerge.objects.create(
            survivor=survivor,
            merged_id=result["snapshot"]["id"],
            merged_name=result["snapshot"]["name"][:200],
            merged_snapshot=result["snapshot"],
            survivor_before={
                "before": result["survivor_before"],
                "after": result["survivor_after"],
            },
            moved=moved,
            actor=actor if actor.is_authenticated else None,
            found_by=review.source if review else "",
            score=review.score if review else None,
            job=job,
        )
    return merge


def customers_unmerge(*, actor, merge: CustomerMerge) -> Customer:
    """Take a merge back: the merged customer returns with its id, its records (those
    still on the kept customer) go back to it, and the kept customer's changed values
    are restored unless changed again since."""
    if merge.undone_at is not None:
        raise Conflict(_("This merge has already been undone."))
    survivor = merge.survivor
    with transaction.atomic():
        restored = customer_restore(
            actor=actor,
            survivor=survivor,
            merge={
                "snapshot": merge.merged_snapshot,
                "survivor_before": merge.survivor_before.get("before", {}),
                "survivor_after": merge.survivor_before.get("after", {}),
                "moved": merge.moved,
            },
        )
        if survivor is not None:
            customer_records_move(from_id=survivor.pk, to_id=restored.pk, only=merge.moved)
            customer_orders_move(
                from_id=survivor.pk, to_id=restored.pk, only=merge.moved.get("orders.order", [])
            )
        CustomerMerge.objects.filter(pk=merge.pk).update(undone_at=timezone.now())
        if merge.found_by and survivor is not None:
            # A reviewed pair goes back on the queue, to be decided again.
            DuplicateReview.objects.create(
                customer=restored,
                other=survivor,
                score=merge.score if merge.score is not None else 1.0,
                source=merge.found_by,
                job=merge.job,
            )
    return restored


def review_merge(*, actor, review: DuplicateReview, keep: str = "customer", choose=None):
    """Decide an open review by merging; `keep` says which of the two survives."""
    _require_open(review)
    if keep not in ("customer", "other"):
        raise ValidationFailed(errors={"keep": [_("Choose “customer” or “other”.")]})
    survivor, other = (review.customer, review.other)
    if keep == "other":
        survivor, other = other, survivor
    return customers_merge(actor=actor, survivor=survivor, other=other, choose=choose,
                           review=review, job=review.job)  # fmt: skip


def review_dismiss(*, actor, review: DuplicateReview) -> DuplicateReview:
    """Decide an open review: these are two different customers."""
    _require_open(review)
    require_mergeable(actor, review.customer, review.other)
    review.status = ReviewStatus.DISMISSED
    review.resolved_at = timezone.now()
    review.resolved_by = actor
    review.save(update_fields=["status", "resolved_at", "resolved_by"])
    return review


def _require_open(review: DuplicateReview) -> None:
    if review.status != ReviewStatus.OPEN:
        raise Conflict(_("This pair has already been decided."))
