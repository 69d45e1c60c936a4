"""Possible duplicates and merges over REST: the review queue, merging two customers, and
taking a merge back."""

from ninja import Query, Router

from guanxi.core.api import ERRORS, READ_ERRORS
from guanxi.core.pagination import PageParams, paginate

from . import selectors
from .schemas import CustomerMergeIn, MergeIn, MergeOut, MergePage, ReviewOut, ReviewPage
from .services import merge as services

router = Router(tags=["duplicates"])


@router.get("/duplicates", response={200: ReviewPage, **READ_ERRORS})
def list_duplicates(request, page: Query[PageParams], status: str = "open"):
    """Pairs of customers that may be one, most likely first (found by imports, scans and
    channel events); only pairs whose two customers you may merge."""
    qs = selectors.review_list(actor=request.user, status=status or None).prefetch_related(
        "customer__phones", "customer__emails", "other__phones", "other__emails"
    )
    return paginate(qs, page)


@router.post("/duplicates/{int:review_id}/merge", response={200: MergeOut, **ERRORS})
def merge_duplicate(request, review_id: int, payload: MergeIn):
    """Merge the pair: `keep` survives, every record of the other moves to it."""
    review = selectors.review_get(actor=request.user, review_id=review_id)
    return services.review_merge(
        actor=request.user, review=review, keep=payload.keep, choose=payload.choose
    )


@router.post("/duplicates/{int:review_id}/dismiss", response={200: ReviewOut, **ERRORS})
def dismiss_duplicate(request, review_id: int):
    """Decide that the pair are two different customers."""
    review = selectors.review_get(actor=request.user, review_id=review_id)
    return services.review_dismiss(actor=request.user, review=review)


@router.post("/customers/{int:customer_id}/merge", response={200: MergeOut, **ERRORS})
def merge_customers(request, customer_id: int, payload: CustomerMergeIn):
    """Merge another customer into this one (it keeps its id; the other goes away until the
    merge is undone)."""
    survivor = selectors.customer_get(actor=request.user, customer_id=customer_id)
    other = selectors.customer_get(actor=request.user, customer_id=payload.other)
    return services.customers_merge(
        actor=request.user, survivor=survivor, other=other, choose=payload.choose
    )


@router.get("/merges", response={200: MergePage, **READ_ERRORS})
def list_merges(request, page: Query[PageParams]):
    """Merges done, newest first."""
    return paginate(selectors.merge_list(actor=request.user), page)


@router.post("/merges/{int:merge_id}/undo", response={200: MergeOut, **ERRORS})
def undo_merge(request, merge_id: int):
    """Take a merge back: the merged customer returns with its records."""
    merge = selectors.merge_get(actor=request.user, merge_id=merge_id)
    services.customers_unmerge(actor=request.user, merge=merge)
    return selectors.merge_get(actor=request.user, merge_id=merge_id)
