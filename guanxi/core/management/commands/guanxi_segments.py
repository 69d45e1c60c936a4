"""`guanxi segments list | show | count | create | update | delete | refresh | history`."""

import datetime as dt
import json
from pathlib import Path

from django.utils.translation import gettext as _

from guanxi.core.errors import ValidationFailed

from ._actor import acting_user
from ._base import GuanxiCommand


def _rules(raw: str | None):
    """Rules given inline as JSON, or as @FILE."""
    if raw is None:
        return None
    text = raw
    if raw.startswith("@"):
        path = Path(raw[1:])
        if not path.is_file():
            raise ValidationFailed(errors={"rules": [_("No file %(p)s.") % {"p": path}]})
        text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValidationFailed(
            errors={"rules": [_("Not valid JSON: %(e)s.") % {"e": e.msg}]}
        ) from e


def _day(raw: str | None, field: str):
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as e:
        raise ValidationFailed(errors={field: [_("Use YYYY-MM-DD.")]}) from e


class Command(GuanxiCommand):
    help = _(
        "Segments: list, show, count rules live, create, change, delete, refresh, and who "
        "joined or left."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)

        def add(name, text):
            p = sub.add_parser(name, help=text)
            p.add_argument("--as", dest="as_user", default="",
                           help=_("act as this user (default: the first admin)"))  # fmt: skip
            return p

        add("list", _("every segment with its members"))
        show = add("show", _("a segment's rules, counts and first members"))
        show.add_argument("segment", help=_("segment id or name"))
        show.add_argument("--members", type=int, default=20, help=_("members to list"))
        count = add("count", _("count the customers that rules select, without saving"))
        count.add_argument("--rules", required=True, help=_("the rules as JSON, or @FILE"))
        create = add("create", _("save a new segment"))
        create.add_argument("--name", required=True)
        create.add_argument("--rules", help=_("the rules as JSON, or @FILE"))
        create.add_argument("--description", default="")
        create.add_argument("--static", action="store_true", help=_("a frozen list"))
        create.add_argument(
            "--tag", action="store_true", help=_("a behaviour tag (members carry the tag)")
        )
        update = add("update", _("change a segment's name or rules"))
        update.add_argument("segment", help=_("segment id or name"))
        update.add_argument("--name")
        update.add_argument("--rules", help=_("the rules as JSON, or @FILE"))
        update.add_argument("--description")
        delete = add("delete", _("delete a segment and its history"))
        delete.add_argument("segment", help=_("segment id or name"))
        refresh = add("refresh", _("recompute dynamic segments now (all, or those named)"))
        refresh.add_argument("segment", nargs="*", help=_("segment ids or names"))
        history = add("history", _("who joined and who left a segment between two days"))
        history.add_argument("segment", help=_("segment id or name"))
        history.add_argument("--since", help=_("first day, YYYY-MM-DD"))
        history.add_argument("--until", help=_("last day, YYYY-MM-DD"))

        add("lifecycle", _("move lifecycle stages by the rules now and open churn warnings"))
        add("tiers", _("sort every customer into a value tier now; who moved and why"))
        cluster = add("cluster", _("cluster the valued customers (k-means) into static segments"))
        cluster.add_argument("--k", type=int, default=None, help=_("clusters (default: suggested)"))

    def _segment(self, actor, ref: str):
        from guanxi.core.errors import NotFound
        from guanxi.segments import selectors

        segment_id = selectors.reference_id("segment", ref)
        if segment_id is None:
            raise NotFound(errors={"segment": [_("No segment “%(s)s”.") % {"s": ref}]})
        return selectors.segment_get(actor=actor, segment_id=segment_id)

    def handle(self, *args, action, as_user, **o):
        from guanxi.segments import definition as rules
        from guanxi.segments import selectors, services

        actor = acting_user(as_user)
        out = self.stdout.write
        if action == "list":
            segments = list(selectors.segment_list(actor=actor))
            counts = selectors.member_counts(actor=actor, segments=segments)
            for s in segments:
                out(f"{s.pk:>5}  {counts[s.pk]:>9,}  {s.get_kind_display():<10} {s.name}")
            if not segments:
                out(_("No segments yet: create one with `guanxi segments create`."))
        elif action == "show":
            s = self._segment(actor, o["segment"])
            members = selectors.segment_members(actor=actor, segment=s).order_by("-id")
            out(f"{s.name}  ({s.get_kind_display()}, {s.get_purpose_display()})")
            if s.is_dynamic:
                out(_("Rules: %(r)s") % {"r": rules.describe(s.definition)})
                out(json.dumps(s.definition, ensure_ascii=False))
            out(
                _("Members: %(n)s (refreshed %(at)s)")
                % {
                    "n": f"{selectors.visible_member_count(actor=actor, segment=s):,}",
                    "at": s.refreshed_at.isoformat(timespec="seconds") if s.refreshed_at else "–",
                }
            )
            for c in members[: o["members"]]:
                out(f"  {c.pk:>8}  {c.name}")
        elif action == "count":
            preview = selectors.definition_preview(actor=actor, definition=_rules(o["rules"]))
            out(_("%(n)s customers: %(rule)s") % {"n": f"{preview['count']:,}",
                                                  "rule": preview["description"]})  # fmt: skip
        elif action == "create":
            data = {
                "name": o["name"],
                "description": o["description"],
                "kind": "static" if o["static"] else "dynamic",
                "purpose": "tag" if o["tag"] else "segment",
            }
            if o["rules"] is not None or not o["static"]:
                data["definition"] = _rules(o["rules"])
            s = services.segment_create(actor=actor, data=data)
            out(_("Segment %(id)s “%(name)s” saved: %(n)s members.")
                % {"id": s.pk, "name": s.name, "n": f"{s.member_count:,}"})  # fmt: skip
        elif action == "update":
            s = self._segment(actor, o["segment"])
            data = {k: o[k] for k in ("name", "description") if o[k] is not None}
            if o["rules"] is not None:
                data["definition"] = _rules(o["rules"])
            s = services.segment_update(actor=actor, segment=s, data=data)
            out(_("Segment %(id)s “%(name)s” saved: %(n)s members.")
                % {"id": s.pk, "name": s.name, "n": f"{s.member_count:,}"})  # fmt: skip
        elif action == "delete":
            s = self._segment(actor, o["segment"])
            name = s.name
            services.segment_delete(actor=actor, segment=s)
            out(_("Segment “%(name)s” deleted.") % {"name": name})
        elif action == "refresh":
            ids = [self._segment(actor, ref).pk for ref in o["segment"]] or None
            results = services.segments_refresh(actor=actor, segment_ids=ids)
            total = 0
            for r in results:
                total += r.ms
                out(_("%(id)5s  %(members)9s members  +%(entered)s −%(left)s  %(ms)s ms")
                    % {"id": r.segment_id, "members": f"{r.members:,}", "entered": r.entered,
                       "left": r.left, "ms": r.ms})  # fmt: skip
            out(
                _("%(n)s segments refreshed in %(s).1f s.") % {"n": len(results), "s": total / 1000}
            )
        elif action == "lifecycle":
            from guanxi.accounts import access
            from guanxi.segments.services.lifecycle import lifecycle_run

            access.require(actor, "segment.manage")
            done = lifecycle_run()
            out(_("%(risk)s customers now at risk, %(churned)s churned; %(alerts)s alerts sent.")
                % {"risk": done["at_risk"], "churned": done["churned"],
                   "alerts": done["alerts"]})  # fmt: skip
        elif action == "tiers":
            from guanxi.segments.services.tiers import tiers_evaluate

            e = tiers_evaluate(actor=actor)
            counts = {"n": f"{e.customers:,}", "moved": e.moved, "up": e.up, "down": e.down}
            text = _("%(n)s customers evaluated: %(moved)s moved (%(up)s up, %(down)s down).")
            out(text % counts)
            tiers = {t.pk: t.label for t in selectors.tier_list()}
            for row in e.summary:
                out(
                    f"  {tiers.get(row['from'], '—')} → {tiers.get(row['to'], '—')}: {row['count']}"
                )
        elif action == "cluster":
            from guanxi.segments.services.clusters import (
                cluster_words,
                clustering_request,
                clustering_run,
            )

            run = clustering_request(actor=actor, k=o["k"], enqueue=False)
            run = clustering_run(run_id=run.pk)
            if run.status != "done":
                raise ValidationFailed(errors={"cluster": [run.error.splitlines()[0]]})
            out(_("%(k)s clusters of %(n)s customers:") % {"k": run.k, "n": f"{run.customers:,}"})
            for c in run.clusters:
                out(f"  {c['index'] + 1}. {cluster_words(c)}  ({c['size']:,}, "
                    f"{c['share'] * 100:.1f}%)  → segment {c['segment_id']}")  # fmt: skip
        elif action == "history":
            s = self._segment(actor, o["segment"])
            since, until = _day(o["since"], "since"), _day(o["until"], "until")
            spells = selectors.segment_history(actor=actor, segment=s, since=since, until=until)
            if since and until:
                counts = selectors.history_counts(actor=actor, segment=s, since=since, until=until)
                out(_("Joined: %(joined)s, left: %(left)s") % counts)
            for m in spells[:200]:
                left = m.left_at.isoformat(timespec="minutes") if m.left_at else "–"
                out(f"  {m.customer_id:>8}  {m.customer.name:<20} "
                    f"{m.entered_at.isoformat(timespec='minutes')} → {left}")  # fmt: skip
