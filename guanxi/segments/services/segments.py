"""Writing segments and keeping their members current.

A refresh is set-based: the segment's query fills a temporary table of the customers it
selects now; one INSERT … SELECT opens a membership for those who were not members and one
UPDATE closes it for those who are no longer selected. History is the membership rows
themselves (entered at, left at). One customer is re-evaluated after a change to their
data (an order, an edit) by the same compiled queries narrowed to that customer.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, F
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.accounts.audit import audit_record
from guanxi.accounts.choices import AuditAction
from guanxi.core.errors import Conflict, Errors, ValidationFailed
from guanxi.customers.models import Customer

from .. import definition as rules
from ..choices import SegmentKind, SegmentPurpose
from ..models import Segment, SegmentMembership
from ..shared import set_work_mem

log = logging.getLogger("guanxi.segments")

MEMBERSHIP = SegmentMembership._meta.db_table
SCRATCH = "segments_scratch_now"


@dataclass
class RefreshResult:
    segment_id: int
    members: int
    entered: int
    left: int
    ms: int


def _require_manage(actor) -> None:
    access.require(actor, "segment.manage")


def _clean(data: dict, *, segment: Segment | None) -> dict:
    errors = Errors()
    out: dict = {}
    if "name" in data or segment is None:
        name = str(data.get("name") or "").strip()
        if not name:
            errors.add("name", _("Give the segment a name."))
        elif len(name) > 100:
            errors.add("name", _("At most %(n)d characters.") % {"n": 100})
        elif Segment.objects.filter(name=name).exclude(pk=getattr(segment, "pk", None)).exists():
            errors.add("name", _("A segment with this name already exists."))
        out["name"] = name
    if "name_en" in data:
        name_en = str(data.get("name_en") or "").strip()
        if len(name_en) > 100:
            errors.add("name_en", _("At most %(n)d characters.") % {"n": 100})
        out["name_en"] = name_en
    for key in ("description", "description_en"):
        if key in data:
            out[key] = str(data.get(key) or "")
    if "kind" in data or segment is None:
        kind = data.get("kind") or SegmentKind.DYNAMIC
        if kind not in SegmentKind.values:
            errors.add("kind", _("Use dynamic or static."))
        elif segment is not None and kind != segment.kind:
            errors.add("kind", _("A segment's kind cannot change; make a new segment."))
        out["kind"] = kind
    if "purpose" in data:
        purpose = data.get("purpose") or SegmentPurpose.SEGMENT
        if purpose not in SegmentPurpose.values:
            errors.add("purpose", _("Use segment or tag."))
        out["purpose"] = purpose
    if "is_active" in data:
        out["is_active"] = bool(data["is_active"])
    kind = out.get("kind") or getattr(segment, "kind", SegmentKind.DYNAMIC)
    if out.get("purpose") == SegmentPurpose.BEHAVIOUR_TAG and kind != SegmentKind.DYNAMIC:
        errors.add("purpose", _("A behaviour tag is set by rules, so its segment is dynamic."))
    if "definition" in data:
        if kind == SegmentKind.STATIC and data["definition"] not in (None, {}, {"all": []}):
            errors.add("definition", _("A static segment is a list; it has no rules."))
        else:
            try:
                out["definition"] = rules.validate(
                    data["definition"], self_id=getattr(segment, "pk", None)
                )
            except ValidationFailed as e:
                for key, messages in e.errors.items():
                    for m in messages:
                        errors.add(key, m)
    elif segment is None and kind == SegmentKind.DYNAMIC:
        errors.add("definition", _("A dynamic segment needs its rules."))
    errors.raise_if_any()
    if "definition" in out:
        out["depends"] = rules.depends_on(out["definition"])
    return out


def segment_create(*, actor, data: dict) -> Segment:
    """Save a segment; a dynamic one is filled by its rules at once."""
    _require_manage(actor)
    clean = _clean(data, segment=None)
    with transaction.atomic():
        segment = Segment.objects.create(created_by=_user(actor), **clean)
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            instance=segment,
            changes={"name": [None, segment.name], "definition": [None, segment.definition]},
        )
        if segment.is_dynamic:
            segment_refresh(segment=segment)
    return segment


def segment_update(*, actor, segment: Segment, data: dict) -> Segment:
    """Change a segment's name, description or rules; new rules re-fill it at once."""
    _require_manage(actor)
    clean = _clean(data, segment=segment)
    before = {k: getattr(segment, k) for k in clean}
    with transaction.atomic():
        for key, value in clean.items():
            setattr(segment, key, value)
        segment.save()
        changes = {k: [before[k], clean[k]] for k in clean if before[k] != clean[k]}
        changes.pop("depends", None)
        if changes:
            audit_record(actor=actor, action=AuditAction.UPDATE, instance=segment, changes=changes)
        if segment.is_dynamic and segment.is_active and "definition" in changes:
            segment_refresh(segment=segment)
        if "is_active" in changes and not segment.is_active and segment.is_dynamic:
            _close_all(segment, timezone.now())
    return segment


def segment_delete(*, actor, segment: Segment) -> None:
    """Delete a segment with its history; refused while another segment's rules name it."""
    _require_manage(actor)
    users = [
        s.name
        for s in Segment.objects.exclude(pk=segment.pk)
        if segment.pk in _referenced_segments(s.definition)
    ]
    if users:
        raise Conflict(
            errors={
                "segment": [
                    _("Segments %(names)s use this segment in their rules.")
                    % {"names": ", ".join(users)}
                ]
            }
        )
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.DELETE,
            instance=segment,
            changes={"name": [segment.name, None]},
        )
        segment.delete()


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def _referenced_segments(definition) -> set[int]:
    found: set[int] = set()

    def walk(node):
        if not isinstance(node, dict):
            return
        for key in ("all", "any"):
            for item in node.get(key, ()):
                walk(item)
        if "not" in node:
            walk(node["not"])
        if node.get("field") == "segment":
            found.update(v for v in node.get("value", []) if isinstance(v, int))

    walk(definition)
    return found


def member_query(segment: Segment, *, now=None, shared=None):
    """The customers a dynamic segment's rules select now (unscoped), as a queryset. Customers
    whose relationship has ended are never members: segments feed contact and marketing.
    `shared`: the order aggregates of a refresh of several segments (segments.shared)."""
    from guanxi.customers.selectors import contactable_q

    ctx = rules.Context(now=now or timezone.now(), shared=shared)
    q = rules.compile_definition(segment.definition, ctx)
    return Customer.objects.filter(contactable_q()).filter(q)


def _sql(queryset) -> tuple[str, tuple] | None:
    try:
        return queryset.order_by().values("id").query.sql_with_params()
    except EmptyResultSet:
        return None


def _scratch(cursor) -> None:
    if connection.vendor == "postgresql":
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {SCRATCH} (customer_id bigint PRIMARY KEY) "
            "ON COMMIT DELETE ROWS"
        )
    else:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {SCRATCH} (customer_id integer PRIMARY KEY)"
        )
    cursor.execute(f"DELETE FROM {SCRATCH}")  # noqa: S608 - a constant name


def segment_refresh(*, segment: Segment, now=None, shared=None) -> RefreshResult:
    """Bring a dynamic segment's members in line with its rules, set-based."""
    now = now or timezone.now()
    started = time.perf_counter()
    compiled = _sql(member_query(segment, now=now, shared=shared))
    with transaction.atomic(), connection.cursor() as cur:
        set_work_mem(cur)
        _scratch(cur)
        if compiled is not None:
            sql, params = compiled
            cur.execute(f"INSERT INTO {SCRATCH} (customer_id) {sql}", params)  # noqa: S608
        cur.execute(
            f"UPDATE {MEMBERSHIP} SET left_at = %s WHERE segment_id = %s AND left_at IS NULL "  # noqa: S608
            f"AND NOT EXISTS (SELECT 1 FROM {SCRATCH} n "
            f"WHERE n.customer_id = {MEMBERSHIP}.customer_id)",
            [now, segment.pk],
        )
        left = cur.rowcount
        cur.execute(
            f"INSERT INTO {MEMBERSHIP} (segment_id, customer_id, entered_at) "  # noqa: S608
            f"SELECT %s, n.customer_id, %s FROM {SCRATCH} n WHERE NOT EXISTS "
            f"(SELECT 1 FROM {MEMBERSHIP} m WHERE m.segment_id = %s "
            "AND m.customer_id = n.customer_id AND m.left_at IS NULL)",
            [segment.pk, now, segment.pk],
        )
        entered = cur.rowcount
        cur.execute(f"SELECT COUNT(*) FROM {SCRATCH}")  # noqa: S608
        members = cur.fetchone()[0]
        cur.execute(f"DELETE FROM {SCRATCH}")  # noqa: S608
        ms = int((time.perf_counter() - started) * 1000)
        Segment.objects.filter(pk=segment.pk).update(
            member_count=members, refreshed_at=now, refresh_ms=ms
        )
    segment.member_count, segment.refreshed_at, segment.refresh_ms = members, now, ms
    return RefreshResult(segment.pk, members, entered, left, ms)


def _close_all(segment: Segment, now) -> None:
    SegmentMembership.objects.filter(segment=segment, left_at__isnull=True).update(left_at=now)
    Segment.objects.filter(pk=segment.pk).update(member_count=0, refreshed_at=now)


def _in_dependency_order(segments: list[Segment]) -> list[Segment]:
    """Segments named by others' rules come before the segments that name them."""
    by_id = {s.pk: s for s in segments}
    done: set[int] = set()
    out: list[Segment] = []

    def visit(s: Segment, trail: set[int]):
        if s.pk in done or s.pk in trail:
            return
        for ref in _referenced_segments(s.definition):
            if ref in by_id:
                visit(by_id[ref], trail | {s.pk})
        done.add(s.pk)
        out.append(s)

    for s in segments:
        visit(s, set())
    return out


def segments_refresh(
    *, actor=None, segment_ids=None, depends=None, now=None
) -> list[RefreshResult]:
    """Refresh every active dynamic segment (or those given, or those reading `depends`)."""
    if actor is not None:
        _require_manage(actor)
    now = now or timezone.now()
    qs = Segment.objects.filter(kind=SegmentKind.DYNAMIC, is_active=True)
    if segment_ids is not None:
        qs = qs.filter(pk__in=segment_ids)
    segments = list(qs)
    if depends:
        wanted = set(depends)
        segments = [s for s in segments if wanted & set(s.depends) or "segments" in s.depends]
    if len(segments) < 2:
        return [segment_refresh(segment=s, now=now) for s in segments]
    from ..shared import SharedAggregates, widest_line_window

    shared = SharedAggregates(now, line_days=widest_line_window([s.definition for s in segments]))
    try:
        results = [
            segment_refresh(segment=s, now=now, shared=shared)
            for s in _in_dependency_order(segments)
        ]
    finally:
        shared.drop()
    if segment_ids is None and depends is None:
        # Every segment was refreshed: the order windows none of them read go.
        from ..windows import windows_drop

        windows_drop(keep=shared.windows)
    return results


def customer_reevaluate(*, customer_id: int, changed=("orders",), now=None) -> dict[str, list]:
    """Re-evaluate one customer's dynamic memberships after a change of `changed` data.

    One query answers every affected segment (each rule narrowed to this customer); then
    the memberships that differ are opened or closed. Returns the segment ids entered/left.
    """
    now = now or timezone.now()
    changed = set(changed)
    candidates = [
        s
        for s in Segment.objects.filter(kind=SegmentKind.DYNAMIC, is_active=True)
        if changed & set(s.depends) or "segments" in s.depends
    ]
    if not candidates:
        return {"entered": [], "left": []}
    from guanxi.customers.selectors import contactable_q

    ctx = rules.Context(now=now, ids=[customer_id])
    catalogue = rules.fields()
    current = set(
        SegmentMembership.objects.filter(
            customer_id=customer_id, left_at__isnull=True, segment__in=candidates
        ).values_list("segment_id", flat=True)
    )
    entered: list[int] = []
    left: list[int] = []
    # Segments that name other segments are answered after those (their memberships may
    # just have changed), in dependency order.
    ordered = _in_dependency_order(candidates)
    plain = [s for s in ordered if "segments" not in s.depends]
    nested = [s for s in ordered if "segments" in s.depends]
    for batch in (plain, *([s] for s in nested)):
        if not batch:
            continue
        answers = (
            Customer.objects.filter(pk=customer_id)
            .annotate(
                s_contactable=ExpressionWrapper(contactable_q(), output_field=BooleanField()),
                **{
                    f"s{s.pk}": ExpressionWrapper(
                        rules.compile_definition(s.definition, ctx, catalogue=catalogue),
                        output_field=BooleanField(),
                    )
                    for s in batch
                },
            )
            .values("s_contactable", *[f"s{s.pk}" for s in batch])
            .first()
        )
        if answers is None:
            return {"entered": [], "left": []}
        with transaction.atomic():
            for s in batch:
                now_member = bool(answers[f"s{s.pk}"]) and bool(answers["s_contactable"])
                if now_member and s.pk not in current:
                    SegmentMembership.objects.create(
                        segment=s, customer_id=customer_id, entered_at=now
                    )
                    # One more or one fewer, not a count of every member (seconds at 500k).
                    Segment.objects.filter(pk=s.pk).update(member_count=F("member_count") + 1)
                    entered.append(s.pk)
                elif not now_member and s.pk in current:
                    SegmentMembership.objects.filter(
                        segment=s, customer_id=customer_id, left_at__isnull=True
                    ).update(left_at=now)
                    Segment.objects.filter(pk=s.pk, member_count__gt=0).update(
                        member_count=F("member_count") - 1
                    )
                    left.append(s.pk)
    return {"entered": entered, "left": left}


def _count(segment: Segment) -> int:
    return SegmentMembership.objects.filter(segment=segment, left_at__isnull=True).count()


def segment_members_add(*, actor, segment: Segment, customer_ids) -> int:
    """Put customers the actor may see into a static segment; returns how many entered."""
    _require_manage(actor)
    if segment.is_dynamic:
        raise ValidationFailed(
            errors={"segment": [_("A dynamic segment's members come from its rules.")]}
        )
    from guanxi.customers.selectors import customer_ids_visible

    ids = sorted(customer_ids_visible(actor=actor, ids=list(customer_ids)))
    now = timezone.now()
    with transaction.atomic():
        present = set(
            SegmentMembership.objects.filter(
                segment=segment, left_at__isnull=True, customer_id__in=ids
            ).values_list("customer_id", flat=True)
        )
        new = [i for i in ids if i not in present]
        SegmentMembership.objects.bulk_create(
            SegmentMembership(segment=segment, customer_id=i, entered_at=now) for i in new
        )
        Segment.objects.filter(pk=segment.pk).update(member_count=_count(segment), refreshed_at=now)
    return len(new)


def segment_members_remove(*, actor, segment: Segment, customer_ids) -> int:
    """Take customers the actor may see out of a static segment (their history stays)."""
    _require_manage(actor)
    if segment.is_dynamic:
        raise ValidationFailed(
            errors={"segment": [_("A dynamic segment's members come from its rules.")]}
        )
    from guanxi.customers.selectors import customer_ids_visible

    ids = sorted(customer_ids_visible(actor=actor, ids=list(customer_ids)))
    with transaction.atomic():
        n = SegmentMembership.objects.filter(
            segment=segment, left_at__isnull=True, customer_id__in=ids
        ).update(left_at=timezone.now())
        Segment.objects.filter(pk=segment.pk).update(member_count=_count(segment))
    return n


def segment_freeze(*, actor, segment: Segment, name: str) -> Segment:
    """A static copy of a segment's current members (e.g. the list a campaign went to)."""
    _require_manage(actor)
    clean = _clean({"name": name, "kind": SegmentKind.STATIC}, segment=None)
    now = timezone.now()
    with transaction.atomic():
        frozen = Segment.objects.create(
            created_by=_user(actor),
            description=_("Members of “%(name)s” on %(day)s.")
            % {"name": segment.name, "day": timezone.localdate(now).isoformat()},
            source=f"segment:{segment.pk}",
            **clean,
        )
        with connection.cursor() as cur:
            cur.execute(
                f"INSERT INTO {MEMBERSHIP} (segment_id, customer_id, entered_at) "  # noqa: S608
                f"SELECT %s, customer_id, %s FROM {MEMBERSHIP} "
                "WHERE segment_id = %s AND left_at IS NULL",
                [frozen.pk, now, segment.pk],
            )
        Segment.objects.filter(pk=frozen.pk).update(member_count=_count(frozen), refreshed_at=now)
        frozen.refresh_from_db()
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            instance=frozen,
            changes={"name": [None, frozen.name], "source": [None, frozen.source]},
        )
    return frozen


def segment_static_create(*, actor, name: str, customer_query, description: str = "", source=""):
    """A static segment of the customers an unscoped query selects (clusters, imports of a
    list), written set-based; the actor must be allowed to manage segments."""
    _require_manage(actor)
    clean = _clean({"name": name, "kind": SegmentKind.STATIC}, segment=None)
    now = timezone.now()
    with transaction.atomic():
        segment = Segment.objects.create(
            created_by=_user(actor), description=description, source=source, **clean
        )
        compiled = _sql(customer_query)
        if compiled is not None:
            sql, params = compiled
            with connection.cursor() as cur:
                cur.execute(
                    f"INSERT INTO {MEMBERSHIP} (segment_id, customer_id, entered_at) "  # noqa: S608
                    f"SELECT %s, m.id, %s FROM ({sql}) m",
                    [segment.pk, now, *params],
                )
        Segment.objects.filter(pk=segment.pk).update(member_count=_count(segment), refreshed_at=now)
        segment.refresh_from_db()
    return segment
