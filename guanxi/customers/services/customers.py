"""Writes of customers: create, change, stage, delete, and the set-based bulk actions."""

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.accounts.audit import audit_record, diff
from guanxi.accounts.choices import AuditAction
from guanxi.accounts.models import AuditEntry, User
from guanxi.core.errors import Conflict, Errors, PermissionDenied, ValidationFailed
from guanxi.interactions.choices import EventKind
from guanxi.interactions.models import TimelineEvent
from guanxi.interactions.timeline import timeline_record

from ..choices import CustomerKind, Stage
from ..models import (
    Customer,
    StageChange,
)
from ..selectors import customer_duplicates
from .fields import (
    _check_external_id,
    _check_owner_allowed,
    _clean_addresses,
    _clean_emails,
    _clean_phones,
    _clean_profile,
    _clean_tags,
    _replace_addresses,
    _replace_emails,
    _replace_phones,
    _resolve_owner,
    _snapshot,
    _sync_search_keys,
    _tags_by_name,
    clean_custom_fields,
    duplicate_conflict,
)
from .termination import require_not_terminated


def customer_create(*, actor, data: dict, allow_duplicate: bool = False) -> Customer:
    """Create a customer from a dict of fields; warns (409) if its phone or email exists."""
    access.require(actor, "customer.create")
    errors = Errors()
    profile = _clean_profile(data, partial=False, errors=errors)
    phones = _clean_phones(data.get("phones"), errors)
    emails = _clean_emails(data.get("emails"), errors)
    addresses = _clean_addresses(data.get("addresses"), errors)
    tag_names = _clean_tags(data.get("tags"), errors)
    custom = clean_custom_fields(data.get("custom_fields") or {}, existing={}, errors=errors)
    owner = _resolve_owner(actor, data.get("owner"), errors) if "owner" in data else actor
    errors.raise_if_any()
    if "owner" in data:
        _check_owner_allowed(actor, owner, creating=True)
    if "tags" in data and tag_names:
        access.require(actor, "customer.tag")
    stage = profile.pop("stage", None) or Stage.LEAD
    if stage == Stage.TERMINATED:
        raise ValidationFailed(errors={"stage": [_("A new customer cannot start terminated.")]})
    _check_external_id(profile.get("external_id"))
    if not allow_duplicate:
        numbers = [p for p, _e in phones]
        duplicates = customer_duplicates(phones=numbers, emails=emails)
        if duplicates:
            raise duplicate_conflict(actor, duplicates, phones=numbers, emails=emails)

    now = timezone.now()
    with transaction.atomic():
        customer = Customer(
            owner=owner, stage=stage, stage_changed_at=now, custom_fields=custom, **profile
        )
        _sync_search_keys(customer, phones=[p for p, _e in phones], emails=emails)
        customer.save()
        _replace_phones(customer, phones)
        _replace_emails(customer, emails)
        _replace_addresses(customer, addresses)
        if tag_names:
            customer.tags.set(_tags_by_name(tag_names))
        StageChange.objects.create(
            customer=customer,
            from_stage="",
            to_stage=stage,
            actor=_user(actor),
            cause=data.get("stage_cause") or _("created"),
            at=now,
        )
        timeline_record(customer_id=customer.pk, kind=EventKind.CREATED, actor=actor, at=now)
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            instance=customer,
            customer_id=customer.pk,
            changes={
                k: [None, v] for k, v in _snapshot(customer).items() if v not in ("", None, [], {})
            },
        )
    return customer


def _user(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def customer_update(
    *, actor, customer: Customer, data: dict, allow_duplicate: bool = False
) -> Customer:
    """Change some fields of a customer; lists given (phones, emails, addresses, tags) replace."""
    access.require_visible(actor, customer.owner_id)
    only_tags = set(data) <= {"tags"}
    if only_tags:
        access.require_on_customer(actor, "customer.tag", customer)
    else:
        access.require_on_customer(actor, "customer.edit", customer)
    require_not_terminated(customer)
    errors = Errors()
    profile = _clean_profile(data, partial=True, errors=errors)
    phones = _clean_phones(data["phones"], errors) if "phones" in data else None
    emails = _clean_emails(data["emails"], errors) if "emails" in data else None
    addresses = _clean_addresses(data["addresses"], errors) if "addresses" in data else None
    tag_names = _clean_tags(data["tags"], errors) if "tags" in data else None
    custom = (
        clean_custom_fields(
            data["custom_fields"] or {}, existing=customer.custom_fields, errors=errors
        )
        if "custom_fields" in data
        else None
    )
    owner = _resolve_owner(actor, data["owner"], errors) if "owner" in data else None
    if profile.get("kind") == CustomerKind.PERSON and customer.contacts.exists():
        errors.add("kind", _("This company has contacts; remove them before making it a person."))
    errors.raise_if_any()
    if "owner" in data:
        _check_owner_allowed(actor, owner, current_owner_id=customer.owner_id)
        if (owner.pk if owner else None) != customer.owner_id:
            access.require_on_customer(actor, "customer.assign_owner", customer)
    if "external_id" in profile:
        _check_external_id(profile["external_id"], exclude_id=customer.pk)
    if not allow_duplicate and (phones or emails):
        numbers = [p for p, _e in phones or []]
        duplicates = customer_duplicates(
            phones=numbers, emails=emails or [], exclude_id=customer.pk
        )
        if duplicates:
            raise duplicate_conflict(actor, duplicates, phones=numbers, emails=emails)
    new_stage = profile.pop("stage", None)
    stage_cause = data.get("stage_cause") or ""

    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        before = _snapshot(customer)
        for field, value in profile.items():
            setattr(customer, field, value)
        if custom is not None:
            customer.custom_fields = custom
        if phones is not None:
            _replace_phones(customer, phones)
        if emails is not None:
            _replace_emails(customer, emails)
        if addresses is not None:
            _replace_addresses(customer, addresses)
        if "owner" in data:
            customer.owner = owner
        _sync_search_keys(customer)
        customer.save()
        if tag_names is not None:
            customer.tags.set(_tags_by_name(tag_names))
        after = _snapshot(customer)
        changes = diff(before, after)
        if new_stage and new_stage != customer.stage:
            _stage_change(actor, customer, new_stage, stage_cause)
            changes["stage"] = [before["stage"], new_stage]
        _record_changes(actor, customer, changes, before, after)
        if changes or addresses is not None:
            _segments_follow([customer.pk], {"customer", "tags", "address"})
    return customer


def _segments_follow(customer_ids, changed) -> None:
    """Dynamic segments and behaviour tags follow the change (segments owns them)."""
    from guanxi.segments.services.changes import customers_changed

    customers_changed(customer_ids=customer_ids, changed=changed)


def _record_changes(actor, customer, changes, before, after):
    if not changes:
        return
    if "owner_id" in changes:
        names = dict(
            User.objects.filter(pk__in=[before["owner_id"], after["owner_id"]]).values_list(
                "pk", "username"
            )
        )
        timeline_record(
            customer_id=customer.pk,
            kind=EventKind.OWNER_CHANGED,
            actor=actor,
            data={"from": names.get(before["owner_id"]), "to": names.get(after["owner_id"])},
        )
    if "tags" in changes:
        old, new = set(before["tags"]), set(after["tags"])
        timeline_record(
            customer_id=customer.pk,
            kind=EventKind.TAGGED,
            actor=actor,
            data={"added": sorted(new - old), "removed": sorted(old - new)},
        )
    profile_fields = sorted(set(changes) - {"owner_id", "tags", "stage"})
    if profile_fields:
        timeline_record(
            customer_id=customer.pk,
            kind=EventKind.UPDATED,
            actor=actor,
            data={"fields": profile_fields},
        )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        instance=customer,
        customer_id=customer.pk,
        changes=changes,
    )


def _stage_change(
    actor,
    customer: Customer,
    stage: str,
    cause: str,
    *,
    cause_field: str = "stage_cause",
    termination: bool = False,
) -> StageChange:
    """Move the customer to `stage`; "terminated" only through an approved request to end
    the relationship (`termination`, see services.termination), or by the system."""
    cause = (cause or "").strip()
    if len(cause) > 255:
        raise ValidationFailed(errors={cause_field: [_("At most %(n)d characters.") % {"n": 255}]})
    if stage == Stage.TERMINATED and not termination:
        if actor is not None:
            raise ValidationFailed(
                errors={
                    "stage": [
                        _(
                            "Ending a relationship needs a request and a manager's approval: "
                            "use “End relationship” on the customer's page (or POST "
                            "/api/v1/customers/{id}/termination)."
                        )
                    ]
                }
            )
        if not cause:
            raise ValidationFailed(
                errors={cause_field: [_("Give the reason for ending the relationship.")]}
            )
    old = customer.stage
    now = timezone.now()
    Customer.objects.filter(pk=customer.pk).update(stage=stage, stage_changed_at=now)
    customer.stage, customer.stage_changed_at = stage, now
    change = StageChange.objects.create(
        customer=customer, from_stage=old, to_stage=stage, cause=cause, actor=_user(actor), at=now
    )
    timeline_record(
        customer_id=customer.pk,
        kind=EventKind.STAGE_CHANGED,
        actor=actor,
        data={"from": old, "to": stage, "cause": cause},
        at=now,
    )
    return change


def customer_change_stage(*, actor, customer: Customer, stage: str, cause: str = "") -> Customer:
    """Move a customer to a lifecycle stage, recording time, cause and actor.

    `actor=None` is the system itself (a rule or job), which needs no permission.
    """
    if actor is not None:
        access.require_visible(actor, customer.owner_id)
        access.require_on_customer(actor, "customer.edit", customer)
    require_not_terminated(customer)
    if stage not in Stage.values:
        raise ValidationFailed(errors={"stage": [_("Unknown stage “%(s)s”.") % {"s": stage}]})
    if stage == customer.stage:
        return customer
    with transaction.atomic():
        old = customer.stage
        _stage_change(actor, customer, stage, cause, cause_field="cause")
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            instance=customer,
            customer_id=customer.pk,
            changes={"stage": [old, stage]},
        )
        _segments_follow([customer.pk], {"customer"})
    return customer


def customer_delete(*, actor, customer: Customer) -> None:
    """Delete a customer and what hangs off it; refused while it has orders."""
    access.require_visible(actor, customer.owner_id)
    access.require_on_customer(actor, "customer.delete", customer)
    require_not_terminated(customer)  # its records are kept
    if customer.orders.exists():
        raise Conflict(_("This customer has orders; end the relationship instead of deleting it."))
    with transaction.atomic():
        snapshot = _snapshot(customer)
        pk, name = customer.pk, str(customer)
        customer.delete()
        audit_record(
            actor=actor,
            action=AuditAction.DELETE,
            model="customers.customer",
            object_id=pk,
            object_repr=name,
            customer_id=pk,
            changes={k: [v, None] for k, v in snapshot.items() if v not in ("", None, [])},
        )


def _editable(actor, action: str, customer_ids) -> QuerySet[Customer]:
    """The customers among `customer_ids` the actor may see and apply `action` to (never
    those whose relationship has ended)."""
    if not access.can(actor, action):
        raise PermissionDenied(_("You do not have permission to do this."))
    # Customers whose relationship has ended are read-only: passed over, like those out of scope.
    visible = access.scope_customers(
        Customer.objects.filter(pk__in=list(customer_ids)).exclude(stage=Stage.TERMINATED), actor
    )
    if access.MATRIX[action].get(access.role_of(actor)) is True:
        return visible
    return visible.filter(access.owner_q(actor, "owner", edit=True))


def customers_assign_owner(*, actor, customer_ids, owner: User) -> int:
    """Hand customers to another user (set-based); returns how many changed hands."""
    if not access.can(actor, "customer.assign_owner"):
        raise PermissionDenied(_("You do not have permission to do this."))
    if not User.objects.filter(access.assignable_owner_q(actor)).filter(pk=owner.pk).exists():
        raise PermissionDenied(errors={"owner": [_("You may not make this user the owner.")]})
    qs = _editable(actor, "customer.assign_owner", customer_ids).exclude(owner=owner)
    rows = list(qs.values_list("pk", "name", "owner__username", "owner_id"))
    if not rows:
        return 0
    ids = [r[0] for r in rows]
    now = timezone.now()
    with transaction.atomic():
        Customer.objects.filter(pk__in=ids).update(owner=owner, updated_at=now)
        TimelineEvent.objects.bulk_create(
            TimelineEvent(
                customer_id=pk,
                kind=EventKind.OWNER_CHANGED,
                actor=_user(actor),
                at=now,
                data={"from": old_name, "to": owner.username},
            )
            for pk, _n, old_name, _o in rows
        )
        _bulk_audit(actor, rows, lambda r: {"owner_id": [r[3], owner.pk]})
    return len(rows)


def _bulk_audit(actor, rows, changes_of):
    from guanxi.core.context import current_channel

    channel = current_channel()
    AuditEntry.objects.bulk_create(
        AuditEntry(
            actor=_user(actor),
            action=AuditAction.UPDATE,
            channel=channel,
            model="customers.customer",
            object_id=str(r[0]),
            object_repr=r[1][:200],
            customer_id=r[0],
            changes=changes_of(r),
        )
        for r in rows
    )


def customers_tag(*, actor, customer_ids, add=(), remove=()) -> int:
    """Add and remove tags on many customers at once; returns how many customers changed."""
    errors = Errors()
    add_names = _clean_tags(add, errors)
    remove_names = _clean_tags(remove, errors)
    errors.raise_if_any()
    qs = _editable(actor, "customer.tag", customer_ids)
    ids = list(qs.values_list("pk", flat=True))
    if not ids or not (add_names or remove_names):
        return 0
    Through = Customer.tags.through
    now = timezone.now()
    changed: dict[int, dict] = {}
    with transaction.atomic():
        if add_names:
            tags = _tags_by_name(add_names)
            have = set(
                Through.objects.filter(customer_id__in=ids, tag__in=tags).values_list(
                    "customer_id", "tag_id"
                )
            )
            new = [
                Through(customer_id=c, tag_id=t.pk)
                for c in ids
                for t in tags
                if (c, t.pk) not in have
            ]
            Through.objects.bulk_create(new)
            for row in new:
                changed.setdefault(row.customer_id, {"added": [], "removed": []})["added"].append(
                    next(t.name for t in tags if t.pk == row.tag_id)
                )
        if remove_names:
            gone = Through.objects.filter(customer_id__in=ids, tag__name__in=remove_names)
            for c, name in gone.values_list("customer_id", "tag__name"):
                changed.setdefault(c, {"added": [], "removed": []})["removed"].append(name)
            Through.objects.filter(pk__in=list(gone.values_list("pk", flat=True))).delete()
        if changed:
            Customer.objects.filter(pk__in=list(changed)).update(updated_at=now)
            TimelineEvent.objects.bulk_create(
                TimelineEvent(
                    customer_id=c, kind=EventKind.TAGGED, actor=_user(actor), at=now, data=d
                )
                for c, d in changed.items()
            )
            names = dict(Customer.objects.filter(pk__in=list(changed)).values_list("pk", "name"))
            _bulk_audit(
                actor,
                [(c, names[c]) for c in changed],
                lambda r: {"tags": [changed[r[0]]["removed"], changed[r[0]]["added"]]},
            )
            _segments_follow(list(changed), {"tags"})
    return len(changed)
