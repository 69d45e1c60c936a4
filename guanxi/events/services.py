"""Taking in events from the other channels (web shop, store, email, social accounts) and
resolving each to one customer.

A batch is handled set-based. Each event names the person by whatever the channel knows:
a phone, an email, the channel's own id, our external id. Events are matched to customers
by any of those; an event nobody matches creates a lead (one per person, even if the batch
holds several of their events); when the identifiers of one event point at two customers,
they are one person and are merged (or, for an actor who may not merge, put on the review
queue). Identifiers seen for the first time are remembered for the customer. A retried
event with the same idempotency key is recognised and not stored twice. Invalid events are
reported by line and field; the valid ones of the batch are stored.
"""

import re
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.core.bulk import Inserter, allocate_ids
from guanxi.core.context import channel as audit_channel
from guanxi.core.errors import Errors, GuanxiError, PermissionDenied
from guanxi.customers import selectors as customer_selectors
from guanxi.customers.cleaning import fold, normalize_email, normalize_phone
from guanxi.customers.services.bulk import (
    customer_prepare,
    customers_bulk_create,
    customers_bulk_merge,
)
from guanxi.interactions.choices import EventKind as TimelineKind
from guanxi.interactions.models import TimelineEvent

from .choices import CHANNEL_SOURCE, EventChannel
from .models import ChannelIdentity, CustomerEvent

MAX_BATCH = 10_000
MAX_PAYLOAD = 16_384  # characters of JSON per event
KIND = re.compile(r"[a-z][a-z0-9_]{0,39}\Z")
IDENTIFIER_FIELDS = {"phone", "email", "external_id", "channel_id", "name"}
EVENT_FIELDS = {"channel", "kind", "occurred_at", "idempotency_key", "identifiers", "payload"}


@dataclass
class Clean:
    line: int
    channel: str
    kind: str
    occurred_at: object
    key: str | None
    payload: dict
    identifiers: dict
    phone: str | None = None
    email: str | None = None
    external_id: str | None = None
    channel_id: str | None = None
    name: str = ""
    customer_id: int | None = None


@dataclass
class Result:
    accepted: int = 0
    duplicates: int = 0
    created_customers: int = 0
    merged_customers: int = 0
    events: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)


def _clean(line: int, raw, errors: Errors, now) -> Clean | None:
    if not isinstance(raw, dict):
        errors.add("__all__", _("An event must be a JSON object."))
        return None
    for name in sorted(set(raw) - EVENT_FIELDS):
        errors.add(name, _("Unknown field."))
    channel = raw.get("channel")
    if channel not in EventChannel.values:
        errors.add("channel", _("Choose one of: %(v)s.") % {"v": ", ".join(EventChannel.values)})
    kind = raw.get("kind")
    if not isinstance(kind, str) or not KIND.match(kind):
        errors.add("kind", _("A lower-case word such as page_view or email_open."))
    occurred = raw.get("occurred_at")
    moment = now
    if occurred is not None:
        moment = parse_datetime(occurred) if isinstance(occurred, str) else None
        if moment is None:
            errors.add("occurred_at", _("A date and time such as 2024-01-05T10:30:00+08:00."))
        else:
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
            if moment > now + timedelta(days=1) or moment.year < 2000:
                errors.add("occurred_at", _("The time is too far in the future or past."))
    key = raw.get("idempotency_key")
    if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= 200):
        errors.add("idempotency_key", _("Text of 1–200 characters."))
    payload = raw.get("payload", {})
    if not isinstance(payload, dict):
        errors.add("payload", _("An object."))
    elif len(str(payload)) > MAX_PAYLOAD:
        errors.add("payload", _("At most %(n)d characters.") % {"n": MAX_PAYLOAD})
    ids = raw.get("identifiers")
    if not isinstance(ids, dict) or not (set(ids) & (IDENTIFIER_FIELDS - {"name"})):
        errors.add(
            "identifiers",
            _("Say who it was: phone, email, external_id or channel_id."),
        )
        ids = {}
    event = Clean(line, channel, kind, moment, key, payload if isinstance(payload, dict)
                  else {}, ids)  # fmt: skip
    for name in sorted(set(ids) - IDENTIFIER_FIELDS):
        errors.add(f"identifiers.{name}", _("Unknown field."))
    for name in IDENTIFIER_FIELDS:
        value = ids.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > 200):
            errors.add(f"identifiers.{name}", _("Text of at most 200 characters."))
            ids = {}
    if ids.get("phone"):
        try:
            event.phone = normalize_phone(ids["phone"])[0]
        except ValueError as e:
            errors.add("identifiers.phone", e)
    if ids.get("email"):
        try:
            event.email = normalize_email(ids["email"])
        except ValueError as e:
            errors.add("identifiers.email", e)
    event.external_id = fold(ids.get("external_id") or "") or None
    event.channel_id = fold(ids.get("channel_id") or "") or None
    event.name = fold(ids.get("name") or "")[:200]
    return None if errors else event


def events_ingest(*, actor, events: list) -> Result:
    """Store a batch of channel events, each attached to one customer (see the module)."""
    if not access.can(actor, "event.ingest"):
        raise PermissionDenied(_("Your role may not send channel events."))
    result = Result()
    now = timezone.now()
    clean: list[Clean] = []
    for line, raw in enumerate(events[:MAX_BATCH], 1):
        errors = Errors()
        event = _clean(line, raw, errors, now)
        if event is None:
            result.errors.append({"line": line, "errors": dict(errors)})
        else:
            clean.append(event)
    if len(events) > MAX_BATCH:
        result.errors.append(
            {
                "line": MAX_BATCH + 1,
                "errors": {"__all__": [_("At most %(n)d events per request.") % {"n": MAX_BATCH}]},
            }  # fmt: skip
        )
    with audit_channel("api"), transaction.atomic():
        clean = _drop_repeats(clean, result)
        if clean:
            _resolve(actor, clean, result)
            _store(actor, clean, result, now)
            from guanxi.segments.services.changes import customers_changed

            customers_changed(customer_ids=[e.customer_id for e in clean], changed={"events"})
    return result


def _drop_repeats(clean: list[Clean], result: Result) -> list[Clean]:
    """Events whose idempotency key is stored already, or repeated in the batch."""
    keys = [e.key for e in clean if e.key]
    stored = dict(
        CustomerEvent.objects.filter(idempotency_key__in=keys).values_list(
            "idempotency_key", "pk"
        )
    ) if keys else {}  # fmt: skip
    seen: set[str] = set()
    kept = []
    for event in clean:
        if event.key and (event.key in stored or event.key in seen):
            result.duplicates += 1
            result.events.append(
                {"line": event.line, "id": stored.get(event.key), "duplicate": True}
            )
            continue
        if event.key:
            seen.add(event.key)
        kept.append(event)
    return kept


def _keys(event: Clean) -> list[tuple[str, str]]:
    keys = []
    if event.phone:
        keys.append(("phone", event.phone))
    if event.email:
        keys.append(("email", event.email))
    if event.external_id:
        keys.append(("external_id", event.external_id))
    if event.channel_id:
        keys.append(("channel", f"{event.channel}:{event.channel_id}"))
    return keys


def _resolve(actor, clean: list[Clean], result: Result) -> None:
    """Attach every event to a customer: found, created as a lead, or two merged into one."""
    found = customer_selectors.customers_by_keys(
        phones=[e.phone for e in clean if e.phone],
        emails=[e.email for e in clean if e.email],
        external_ids=[e.external_id for e in clean if e.external_id],
    )
    pairs = {(e.channel, e.channel_id) for e in clean if e.channel_id}
    found["channel"] = {}
    if pairs:
        for channel, external_id, customer_id in ChannelIdentity.objects.filter(
            channel__in={c for c, _i in pairs}, external_id__in={i for _c, i in pairs}
        ).values_list("channel", "external_id", "customer_id"):
            found["channel"].setdefault(f"{channel}:{external_id}", []).append(customer_id)

    # Events of one person share identifiers: group them, so that an unknown person gets one
    # lead and two customers named by one person's identifiers become one.
    parent: dict = {}

    def root(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def join(a, b):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb, key=str)] = min(ra, rb, key=str)

    for i, event in enumerate(clean):
        node = ("event", i)
        root(node)
        for key in _keys(event):
            join(node, key)
            for customer_id in found[key[0]].get(key[1], ()):
                join(node, ("customer", customer_id))
    groups: dict = {}
    for i, _event in enumerate(clean):
        groups.setdefault(root(("event", i)), []).append(i)
    customers_of: dict = {}
    for node in parent:
        if node[0] == "customer":
            customers_of.setdefault(root(node), set()).add(node[1])

    leads, lead_groups = [], []
    for group_root, members in groups.items():
        ids = sorted(customers_of.get(group_root, ()))
        if not ids:
            leads.append(_lead([clean[i] for i in members]))
            lead_groups.append(members)
            continue
        survivor = ids[0]
        for other in ids[1:]:
            if _merge_or_review(actor, survivor, other):
                result.merged_customers += 1
        for i in members:
            clean[i].customer_id = survivor
    if leads:
        new_ids = customers_bulk_create(
            actor=actor,
            customers=leads,
            cause=_("first seen in a channel event"),
            event_data={"channel_event": True},
            unowned=True,
        )
        for members, customer_id in zip(lead_groups, new_ids, strict=True):
            for i in members:
                clean[i].customer_id = customer_id
        result.created_customers += len(new_ids)
    _remember_identifiers(actor, clean, found)


def _lead(events: list[Clean]):
    """A lead for an unknown person, from what their events say."""
    first = events[0]
    phones = sorted({e.phone for e in events if e.phone})
    emails = sorted({e.email for e in events if e.email})
    name = next((e.name for e in events if e.name), "") or next(
        (e.payload.get("name") for e in events if isinstance(e.payload.get("name"), str)), ""
    )
    if not name:
        if emails:
            name = emails[0].split("@")[0]
        elif phones:
            name = _("Customer %(tail)s") % {"tail": phones[0][-4:]}
        else:
            name = _("%(channel)s user %(id)s") % {
                "channel": EventChannel(first.channel).label,
                "id": (first.channel_id or first.external_id or "")[-8:],
            }
    data = {
        "name": fold(str(name))[:200],
        "phones": phones,
        "emails": emails,
        "source": CHANNEL_SOURCE.get(first.channel, "other"),
        "stage": "lead",
    }
    external = next((e.external_id for e in events if e.external_id), None)
    if external:
        data["external_id"] = external
    return customer_prepare(data=data, definitions={})


def _merge_or_review(actor, survivor: int, other: int) -> bool:
    """Two customers that are one person: merged; if the merge is refused (the actor may
    not change one of them), the pair goes on the review queue instead."""
    from guanxi.customers.models import Customer
    from guanxi.customers.services.merge import customers_merge, duplicate_reviews_create

    a, b = Customer.objects.get(pk=survivor), Customer.objects.get(pk=other)
    try:
        with transaction.atomic():
            customers_merge(actor=actor, survivor=a, other=b)
        return True
    except GuanxiError:
        duplicate_reviews_create(
            pairs=[(a.pk, b.pk, 1.0, [{"field": "identifiers", "level": "one person"}])],
            source="event",
        )
        return False


def _remember_identifiers(actor, clean: list[Clean], found: dict) -> None:
    """Channel ids seen for the first time are kept; a phone or email new to a customer who
    was recognised by another identifier is added to them."""
    from guanxi.customers.services.bulk import PreparedCustomer

    stored = {key for key, ids in found["channel"].items() if ids}
    identities, seen = [], set()
    additions: dict[int, PreparedCustomer] = {}
    for event in clean:
        if event.channel_id:
            key = f"{event.channel}:{event.channel_id}"
            if key not in stored and key not in seen:
                seen.add(key)
                identities.append((event.customer_id, event.channel, event.channel_id))
        known_phone = event.phone and event.customer_id in found["phone"].get(event.phone, ())
        known_email = event.email and event.customer_id in found["email"].get(event.email, ())
        recognised = (
            known_phone
            or known_email
            or (event.channel_id and f"{event.channel}:{event.channel_id}" in stored)
            or (event.external_id and found["external_id"].get(event.external_id))
        )
        if not recognised:
            continue
        item = additions.setdefault(event.customer_id, PreparedCustomer(profile={}))
        if event.phone and not known_phone:
            item.phones.append((event.phone, ""))
        if event.email and not known_email:
            item.emails.append(event.email)
    if identities:
        now = timezone.now()
        Inserter(ChannelIdentity, ["customer", "channel", "external_id", "created_at"]).insert(
            (c, ch, i, now) for c, ch, i in identities
        )
    updates = [(pk, item) for pk, item in additions.items() if item.phones or item.emails]
    if updates:
        editable = customer_selectors.customer_ids_editable(
            actor=actor, ids=[pk for pk, _i in updates]
        )
        updates = [(pk, item) for pk, item in updates if pk in editable]
        customers_bulk_merge(actor=actor, updates=updates, event_data={"channel_event": True})


def _store(actor, clean: list[Clean], result: Result, now) -> None:
    ids = allocate_ids(CustomerEvent, len(clean))
    rows = [
        (pk, e.customer_id, e.channel, e.kind, e.occurred_at, now, e.key, e.identifiers,
         e.payload)
        for pk, e in zip(ids, clean, strict=True)
    ]  # fmt: skip
    try:
        with transaction.atomic():
            Inserter(CustomerEvent, ["id", "customer", "channel", "kind", "occurred_at",
                                     "received_at", "idempotency_key", "identifiers",
                                     "payload"]).insert(rows)  # fmt: skip
    except IntegrityError:
        # Another request stored one of these keys a moment ago: keep the first of each.
        taken = set(
            CustomerEvent.objects.filter(
                idempotency_key__in=[e.key for e in clean if e.key]
            ).values_list("idempotency_key", flat=True)
        )
        keep = [(row, e) for row, e in zip(rows, clean, strict=True) if e.key not in taken]
        result.duplicates += len(rows) - len(keep)
        rows, clean = [r for r, _e in keep], [e for _r, e in keep]
        Inserter(CustomerEvent, ["id", "customer", "channel", "kind", "occurred_at",
                                 "received_at", "idempotency_key", "identifiers",
                                 "payload"]).insert(rows)  # fmt: skip
    actor_id = actor.pk if actor.is_authenticated else None
    Inserter(TimelineEvent, ["customer", "kind", "at", "actor", "data", "object_model",
                             "object_id"]).insert(
        (e.customer_id, TimelineKind.CHANNEL, e.occurred_at, actor_id,
         {"channel": e.channel, "kind": e.kind, "summary": _summary(e)}, "events.customerevent",
         row[0])
        for row, e in zip(rows, clean, strict=True)
    )  # fmt: skip
    result.accepted += len(rows)
    for row, e in zip(rows, clean, strict=True):
        result.events.append({"line": e.line, "id": row[0], "customer": e.customer_id,
                              "duplicate": False})  # fmt: skip
    result.events.sort(key=lambda item: item["line"])


def _summary(event: Clean) -> str:
    """A short line from the payload for the timeline (a page, a subject, a store)."""
    for key in ("title", "subject", "page", "url", "store", "product", "text"):
        value = event.payload.get(key)
        if isinstance(value, str) and value.strip():
            return fold(value)[:120]
    return ""
