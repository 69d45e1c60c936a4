"""The customer timeline: one function records an event, one describes it for display.

Events store a kind and data, not a sentence, so each reader sees them in their own language.
"""

from django.utils import timezone
from django.utils.translation import gettext as _

from .choices import EventKind
from .models import TimelineEvent

# The columns of a timeline event, in the order set-based writers (core.bulk.Inserter) give them.
EVENT_COLUMNS = ["customer", "kind", "at", "actor", "data", "object_model", "object_id"]


def timeline_record(
    *,
    customer_id: int,
    kind: str,
    actor=None,
    data: dict | None = None,
    at=None,
    obj=None,
) -> TimelineEvent:
    """Record that something happened to a customer (every service that changes one calls this)."""
    return TimelineEvent.objects.create(
        customer_id=customer_id,
        kind=kind,
        actor=actor if actor is not None and actor.is_authenticated else None,
        data=data or {},
        at=at or timezone.now(),
        object_model=obj._meta.label_lower if obj is not None else "",
        object_id=obj.pk if obj is not None else None,
    )


def _label(choices, value):
    try:
        return str(choices(value).label)
    except ValueError:
        return value or "—"


def describe(event: TimelineEvent) -> str:
    """One line, in the current language, saying what the event was."""
    from guanxi.customers.choices import Stage

    d = event.data
    match event.kind:
        case EventKind.CREATED:
            if d.get("import"):
                return _("Customer record created by import #%(id)s") % {"id": d["import"]}
            return _("Customer record created")
        case EventKind.MERGED:
            return _("Merged with %(name)s (#%(id)s), a duplicate; its records are now here") % {
                "name": d.get("name", ""),
                "id": d.get("other"),
            }
        case EventKind.CHANNEL:
            from guanxi.events.choices import EventChannel
            from guanxi.events.choices import EventKind as ChannelEventKind

            channel = _label(EventChannel, d.get("channel"))
            text = f"{channel}: {_label(ChannelEventKind, d.get('kind'))}"
            return f"{text} · {d['summary']}" if d.get("summary") else text
        case EventKind.UNMERGED:
            return _("The merge with %(name)s (#%(id)s) was undone") % {
                "name": d.get("name", ""),
                "id": d.get("other"),
            }
        case EventKind.UPDATED:
            fields = ", ".join(_field_label(f) for f in d.get("fields", []))
            if d.get("undo"):
                return _("Import undone: %(fields)s restored") % {"fields": fields}
            if d.get("import"):
                return _("Profile changed by import #%(id)s: %(fields)s") % {
                    "id": d["import"],
                    "fields": fields,
                }
            return _("Profile changed: %(fields)s") % {"fields": fields}
        case EventKind.STAGE_CHANGED:
            text = _("Stage: %(old)s → %(new)s") % {
                "old": _label(Stage, d.get("from")),
                "new": _label(Stage, d.get("to")),
            }
            return f"{text} ({d['cause']})" if d.get("cause") else text
        case EventKind.OWNER_CHANGED:
            return _("Owner: %(old)s → %(new)s") % {
                "old": d.get("from") or "—",
                "new": d.get("to") or "—",
            }
        case EventKind.TAGGED:
            parts = []
            if d.get("added"):
                parts.append(_("added %(tags)s") % {"tags": ", ".join(d["added"])})
            if d.get("removed"):
                parts.append(_("removed %(tags)s") % {"tags": ", ".join(d["removed"])})
            return _("Tags: %(changes)s") % {"changes": "; ".join(parts)}
        case EventKind.CONTACT:
            return _("Contact %(name)s: %(what)s") % {
                "name": d.get("name", ""),
                "what": _label_action(d.get("action")),
            }
        case EventKind.INTERACTION:
            from .choices import InteractionKind

            return f"{_label(InteractionKind, d.get('kind'))}: {d.get('subject', '')}"
        case EventKind.ORDER:
            if d.get("action") == "status":
                from guanxi.orders.choices import OrderStatus

                return _("Order %(number)s is now %(status)s") % {
                    "number": d.get("number"),
                    "status": _label(OrderStatus, d.get("status")),
                }
            return _("Order %(number)s placed: %(total)s %(currency)s") % {
                "number": d.get("number"),
                "total": d.get("total"),
                "currency": d.get("currency", ""),
            }
        case EventKind.TASK_CREATED:
            return _("Task created: %(title)s") % {"title": d.get("title", "")}
        case EventKind.TASK_DONE:
            return _("Task done: %(title)s") % {"title": d.get("title", "")}
        case EventKind.TERMINATION:
            return _describe_termination(d)
        case EventKind.LOYALTY:
            return _describe_loyalty(d)
    return _label(EventKind, event.kind)


def _describe_loyalty(d: dict) -> str:
    values = {k: d.get(k, "") for k in ("points", "reason", "reward", "code", "on", "name")}
    match d.get("action"):
        case "joined":
            return _("Joined the loyalty program")
        case "tier":
            return _("Membership tier: %(old)s → %(new)s (%(reason)s)") % {
                "old": _tier_label(d.get("from")), "new": _tier_label(d.get("to")),
                "reason": d.get("reason", ""),
            }  # fmt: skip
        case "adjusted":
            return _("Points adjusted by %(points)s: %(reason)s") % values
        case "redeemed":
            return _("Redeemed %(points)s points") % values
        case "reward":
            text = _("Redeemed %(points)s points for %(reward)s") % values
            return f"{text} ({d['code']})" if d.get("code") else text
        case "expired":
            return _("%(points)s points expired") % values
        case "expiry_warning":
            return _("Warned that %(points)s points expire on %(on)s") % values
        case "referred":
            return _("Referred a new customer: %(name)s") % values
        case "referral_converted":
            return _("A referred customer's first order completed (%(order)s)") % {
                "order": d.get("order", "")}  # fmt: skip
    return _label(EventKind, EventKind.LOYALTY)


def _tier_label(key) -> str:
    from django.apps import apps

    if not key:
        return "—"
    tier = apps.get_model("loyalty", "LoyaltyTier").objects.filter(key=key).first()
    return tier.label if tier else key


def _describe_termination(d: dict) -> str:
    action = d.get("action")
    if action == "requested":
        return _("Asked to end the relationship: %(reason)s") % {"reason": d.get("reason", "")}
    if action == "approved":
        text = _("Ending the relationship approved; the records are now read-only")
    elif action == "rejected":
        text = _("Request to end the relationship rejected")
    elif action == "withdrawn":
        text = _("Request to end the relationship withdrawn")
    else:
        text = _label(EventKind, EventKind.TERMINATION)
    return f"{text} ({d['note']})" if d.get("note") else text


def _field_label(name: str) -> str:
    """A customer field's name as people read it ("industry" → 行业), for profile changes."""
    from guanxi.customers.models import Address, Customer, CustomerEmail, CustomerPhone

    plural = {"phones": CustomerPhone, "emails": CustomerEmail, "addresses": Address}
    if name in plural:
        return str(plural[name]._meta.verbose_name_plural)
    try:
        return str(Customer._meta.get_field(name.removesuffix("_id")).verbose_name)
    except Exception:  # a field since removed: show its name as stored
        return name


def _label_action(action):
    return {"create": _("added"), "update": _("changed"), "delete": _("removed")}.get(
        action, action or ""
    )
