"""Merging two customers that are one person or company, and taking a merge back; the
queue of possible duplicates waiting for someone to decide.

`customers_merge` runs in one transaction: the interactions and orders apps move their
records (their `*_move` services), `customer_absorb` folds in what this app owns (phones,
emails, addresses, tags, contacts, stage history), sets the surviving values and deletes
the absorbed customer, and a `CustomerMerge` keeps what `customers_unmerge` needs.
"""

from datetime import date, datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.accounts.audit import audit_record
from guanxi.accounts.choices import AuditAction
from guanxi.core.bulk import Inserter
from guanxi.core.errors import Conflict, PermissionDenied, ValidationFailed
from guanxi.interactions.choices import EventKind
from guanxi.interactions.timeline import timeline_record

from ..choices import ReviewStatus, TerminationStatus
from ..models import (
    Address,
    Contact,
    Customer,
    CustomerEmail,
    CustomerMerge,
    CustomerPhone,
    DuplicateReview,
    StageChange,
)
from .fields import _sync_search_keys
from .termination import require_not_terminated

# Fields a person merging two customers chooses between, side by side.
CHOOSABLE = (
    "kind", "name", "company_name", "job_title", "gender", "birthday", "industry",
    "company_size", "business_scope", "source", "preferred_channel", "external_id", "notes",
    "owner_id", "stage",
)  # fmt: skip
CHILD_MODELS = (
    ("customers.customerphone", CustomerPhone),
    ("customers.customeremail", CustomerEmail),
    ("customers.address", Address),
    ("customers.contact", Contact),
    ("customers.stagechange", StageChange),
)
TAGS = "customers.customer_tags"


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _snapshot(customer: Customer) -> dict:
    """Everything about a customer row itself, as JSON-safe values."""
    data = {
        f.attname: _plain(getattr(customer, f.attname))
        for f in Customer._meta.concrete_fields
        if f.attname != "id"
    }
    data["id"] = customer.pk
    data["phones"] = list(customer.phones.values("id", "number", "extension", "label", "position"))
    data["emails"] = list(customer.emails.values("id", "email", "label", "position"))
    data["tags"] = list(customer.tags.values_list("pk", flat=True))
    return data


def require_mergeable(actor, *customers: Customer) -> None:
    """The actor may merge these: see and edit both (admins; managers within their team)."""
    for customer in customers:
        access.require_visible(actor, customer.owner_id)
        access.require_on_customer(actor, "customer.merge", customer)


def customer_absorb(*, actor, survivor: Customer, other: Customer, choose: dict) -> dict:
    """Fold `other` into `survivor` and delete `other`; call inside a transaction.

    `choose` maps a field of CHOOSABLE to "other" to keep the other's value (the survivor's
    is kept otherwise). Phones, emails and tags are united, addresses, contacts and stage
    history moved. Returns {"snapshot", "survivor_before", "moved"} for `customer_restore`.
    """
    require_mergeable(actor, survivor, other)
    if survivor.pk == other.pk:
        raise ValidationFailed(errors={"other": [_("A customer cannot be merged into itself.")]})
    unknown = set(choose) - set(CHOOSABLE)
    if unknown or any(v not in ("survivor", "other") for v in choose.values()):
        raise ValidationFailed(
            errors={
                f"choose.{k}": [_("Choose “survivor” or “other”.")] for k in (unknown or choose)
            }  # fmt: skip
        )
    if choose.get("owner_id") == "other" and not access.can(
        actor, "customer.assign_owner", owner_id=survivor.owner_id, record_owner_known=True
    ):
        raise PermissionDenied(errors={"choose.owner_id": [_("You may not change the owner.")]})
    assert transaction.get_connection().in_atomic_block
    survivor = Customer.objects.select_for_update().get(pk=survivor.pk)
    other = Customer.objects.select_for_update().get(pk=other.pk)
    snapshot = _snapshot(other)
    before = {}
    for field, side in choose.items():
        if side == "other" and getattr(survivor, field) != getattr(other, field):
            before[field] = _plain(getattr(survivor, field))
            setattr(survivor, field, getattr(other, field))
    # Custom fields: the survivor's values, with the other's where the survivor has none.
    custom = dict(other.custom_fields) | {k: v for k, v in survivor.custom_fields.items() if v}
    if custom != survivor.custom_fields:
        before["custom_fields"] = survivor.custom_fields
        survivor.custom_fields = custom
    if "external_id" in before:
        other.external_id = None  # unique: free it before the survivor takes it
        Customer.objects.filter(pk=other.pk).update(external_id=None)

    moved: dict[str, list[int]] = {}
    have_phones = set(survivor.phones.values_list("number", flat=True))
    have_emails = set(survivor.emails.values_list("email", flat=True))
    next_position = survivor.phones.count()
    phones = [p for p in other.phones.all() if p.number not in have_phones]
    for i, phone in enumerate(phones):
        CustomerPhone.objects.filter(pk=phone.pk).update(
            customer_id=survivor.pk, position=next_position + i
        )
    moved["customers.customerphone"] = [p.pk for p in phones]
    next_position = survivor.emails.count()
    emails = [e for e in other.emails.all() if e.email not in have_emails]
    for i, email in enumerate(emails):
        CustomerEmail.objects.filter(pk=email.pk).update(
            customer_id=survivor.pk, position=next_position + i
        )
    moved["customers.customeremail"] = [e.pk for e in emails]
    addresses = list(other.addresses.values_list("pk", flat=True))
    Address.objects.filter(pk__in=addresses).update(customer_id=survivor.pk, is_primary=False)
    moved["customers.address"] = addresses
    for label, model in CHILD_MODELS[3:]:
        ids = list(model.objects.filter(customer_id=other.pk).values_list("pk", flat=True))
        model.objects.filter(pk__in=ids).update(customer_id=survivor.pk)
        moved[label] = ids
    Through = Customer.tags.through
    have_tags = set(survivor.tags.values_list("pk", flat=True))
    new_tags = [t for t in snapshot["tags"] if t not in have_tags]
    moved[TAGS] = [Through.objects.create(customer_id=survivor.pk, tag_id=t).pk for t in new_tags]

    other.delete()  # what is left: the phones and emails the survivor already had
    _sync_search_keys(survivor)
    survivor.save()
    now = timezone.now()
    timeline_record(
        customer_id=survivor.pk,
        kind=EventKind.MERGED,
        actor=actor,
        data={"other": snapshot["id"], "name": snapshot["name"]},
        at=now,
    )
    audit_record(
        actor=actor,
        action=AuditAction.MERGE,
        instance=survivor,
        customer_id=survivor.pk,
        changes={
            "merged": [None, {"id": snapshot["id"], "name": snapshot["name"]}],
            **{f: [old, _plain(getattr(survivor, f))] for f, old in before.items()},
        },
    )
    audit_record(
        actor=actor,
        action=AuditAction.MERGE,
        model="customers.customer",
        object_id=snapshot["id"],
        object_repr=snapshot["name"],
        customer_id=snapshot["id"],
        changes={"merged_into": [None, {"id": survivor.pk, "name": survivor.name}]},
    )
    after = {f: _plain(getattr(survivor, f)) for f in before}
    return {
        "snapshot": snapshot,
        "survivor_before": before,
        "survivor_after": after,
        "moved": moved,
    }


def customer_restore(*, actor, survivor: Customer | None, merge: dict) -> Customer:
    """Bring back a customer `customer_absorb` folded away, with the same id, and give it
    back what was moved (what is still on the survivor). Fields of the survivor that the
    merge changed get their old values back unless they were changed again since. Call
    inside a transaction; orders and interactions are moved back by their apps."""
    snapshot = merge["snapshot"]
    if Customer.objects.filter(pk=snapshot["id"]).exists():
        raise ValidationFailed(errors={"merge": [_("That customer already exists again.")]})
    if survivor is not None:
        require_mergeable(actor, survivor)
    assert transaction.get_connection().in_atomic_block
    moved = merge["moved"]
    if survivor is not None:
        survivor = Customer.objects.select_for_update().get(pk=survivor.pk)
        after = merge.get("survivor_after", {})
        for field, old in merge["survivor_before"].items():
            if _plain(getattr(survivor, field)) == after.get(field):
                setattr(survivor, field, _value(field, old))
        survivor.save()
    fields = {
        f.attname: _value(f.attname, snapshot.get(f.attname))
        for f in Customer._meta.concrete_fields
        if f.attname != "id"
    }
    if fields["external_id"] and Customer.objects.filter(external_id=fields["external_id"]):
        fields["external_id"] = None  # taken since by someone else: left empty
    restored = Customer(pk=snapshot["id"], **fields)
    restored.save(force_insert=True)
    Customer.objects.filter(pk=restored.pk).update(created_at=fields["created_at"])
    holder = survivor.pk if survivor is not None else None
    for label, model in CHILD_MODELS:
        ids = moved.get(label, [])
        model.objects.filter(pk__in=ids, customer_id=holder).update(customer_id=restored.pk)
    # Phones and emails the survivor also had were deleted with the absorbed customer.
    kept_phones = set(restored.phones.values_list("number", flat=True))
    CustomerPhone.objects.bulk_create(
        CustomerPhone(customer=restored, **{k: v for k, v in p.items() if k != "id"})
        for p in snapshot["phones"]
        if p["number"] not in kept_phones
    )
    kept_emails = set(restored.emails.values_list("email", flat=True))
    CustomerEmail.objects.bulk_create(
        CustomerEmail(customer=restored, **{k: v for k, v in e.items() if k != "id"})
        for e in snapshot["emails"]
        if e["email"] not in kept_emails
    )
    restored.tags.set(snapshot["tags"])
    _sync_search_keys(restored)
    restored.save()
    if survivor is not None:
        Customer.tags.through.objects.filter(pk__in=moved.get(TAGS, [])).delete()
        _sync_search_keys(survivor)
        survivor.save()
    now = timezone.now()
    for customer, other in ((restored, survivor), (survivor, restored)):
        if customer is not None:
            timeline_record(
                customer_id=customer.pk,
                kind=EventKind.UNMERGED,
                actor=actor,
                data={"other": getattr(other, "pk", None), "name": getattr(other, "name", "")},
                at=now,
            )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        instance=restored,
        customer_id=restored.pk,
        changes={"unmerged_from": [None, holder]},
    )
    return restored


def _value(field: str, value):
    """A snapshot's JSON value back as the model field's type."""
    if value in (None, ""):
        return value
    if field == "birthday":
        return date.fromisoformat(value)
    if field in ("created_at", "updated_at", "stage_changed_at"):
        return datetime.fromisoformat(value)
    return value


# Merging two customers, across the apps that hold their records -------------------------


def customers_merge(
    *,
    actor,
    survivor: Customer,
    other: Customer,
    choose: dict | None = None,
    review: DuplicateReview | None = None,
    import_job_id: int | None = None,
) -> CustomerMerge:
    """Merge `other` into `survivor`: every record of `other` is re-parented, the values
    chosen survive, the merge is on the timeline and in the audit log; `other` is gone
    (with its open reviews) until `customers_unmerge` brings it back."""
    require_mergeable(actor, survivor, other)
    if survivor.pk == other.pk:
        raise ValidationFailed(errors={"other": [_("A customer cannot be merged into itself.")]})
    # An ended relationship is kept as it is, and a waiting request is not lost with `other`.
    require_not_terminated(survivor)
    require_not_terminated(other)
    if other.termination_requests.filter(status=TerminationStatus.PENDING).exists():
        raise Conflict(
            errors={
                "other": [
                    _(
                        "A request to end the relationship with this customer is waiting "
                        "for a decision; decide it first."
                    )
                ]
            }
        )
    with transaction.atomic():
        # Orders and interactions first: deleting the absorbed customer must find none.
        from guanxi.interactions.services import customer_records_move
        from guanxi.orders.services import customer_orders_move

        moved = customer_records_move(from_id=other.pk, to_id=survivor.pk)
        moved["orders.order"] = customer_orders_move(from_id=other.pk, to_id=survivor.pk)
        from guanxi.loyalty.services.members import member_fold

        if loyalty := member_fold(from_id=other.pk, to_id=survivor.pk):
            moved["loyalty.member"] = [loyalty]  # the membership folded in, to give back
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
            import_job_id=import_job_id,
        )
        _segments_follow(
            [survivor.pk], {"customer", "tags", "address", "orders", "interactions", "events"}
        )
    return merge


def _segments_follow(customer_ids, changed) -> None:
    """Segments and behaviour tags follow what moved between the two (segments owns them)."""
    from guanxi.segments.services.changes import customers_changed

    customers_changed(customer_ids=customer_ids, changed=changed)


def customers_unmerge(*, actor, merge: CustomerMerge) -> Customer:
    """Take a merge back: the merged customer returns with its id, its records (those
    still on the kept customer) go back to it, and the kept customer's changed values
    are restored unless changed again since."""
    if merge.undone_at is not None:
        raise Conflict(_("This merge has already been undone."))
    survivor = merge.survivor
    require_not_terminated(survivor)
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
            from guanxi.interactions.services import customer_records_move
            from guanxi.orders.services import customer_orders_move

            customer_records_move(from_id=survivor.pk, to_id=restored.pk, only=merge.moved)
            customer_orders_move(
                from_id=survivor.pk, to_id=restored.pk, only=merge.moved.get("orders.order", [])
            )
            from guanxi.loyalty.services.members import member_unfold

            member_unfold(
                snapshot=(merge.moved.get("loyalty.member") or [None])[0],
                from_id=survivor.pk,
                to_id=restored.pk,
            )
        CustomerMerge.objects.filter(pk=merge.pk).update(undone_at=timezone.now())
        if merge.found_by and survivor is not None:
            # A reviewed pair goes back on the queue, to be decided again.
            DuplicateReview.objects.create(
                customer=restored,
                other=survivor,
                score=merge.score if merge.score is not None else 1.0,
                source=merge.found_by,
                import_job_id=merge.import_job_id,
            )
        _segments_follow(
            [c.pk for c in (restored, survivor) if c is not None],
            {"customer", "tags", "address", "orders", "interactions", "events"},
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
                           review=review, import_job_id=review.import_job_id)  # fmt: skip


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


def duplicate_reviews_create(*, pairs, source: str, import_job_id: int | None = None) -> int:
    """Put pairs (customer id, other id, probability, explanation) on the review queue,
    set-based; a pair already open, or decided to be two customers, is left as it is.
    Returns how many were added."""
    pairs = [(a, b, p, why) for a, b, p, why in pairs if a != b]
    if not pairs:
        return 0
    # Pairs already waiting, or already found to be two customers, are not queued again.
    open_pairs = set()
    for start in range(0, len(pairs), 2000):
        part = pairs[start : start + 2000]
        open_pairs |= set(
            DuplicateReview.objects.filter(
                status__in=[ReviewStatus.OPEN, ReviewStatus.DISMISSED],
                customer_id__in={a for a, *_r in part} | {b for _a, b, *_r in part},
                other_id__in={a for a, *_r in part} | {b for _a, b, *_r in part},
            ).values_list("customer_id", "other_id")
        )
    now = timezone.now()
    rows, seen = [], set()
    for a, b, p, why in pairs:
        if (a, b) in open_pairs or (b, a) in open_pairs or (a, b) in seen:
            continue
        seen.add((a, b))
        rows.append((a, b, p, why, source, import_job_id, ReviewStatus.OPEN, now))
    Inserter(DuplicateReview, ["customer", "other", "score", "explanation", "source",
                               "import_job_id", "status", "created_at"]).insert(rows)  # fmt: skip
    return len(rows)
