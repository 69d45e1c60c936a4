"""The nightly jobs: expire lots whose time has come, warn members of points about to
expire, and give birthday bonuses."""

from __future__ import annotations

import datetime as dt

from django.db.models import Sum
from django.utils import timezone

from ..choices import BonusEvent
from ..models import LedgerEntry, LoyaltyProgram, Member
from . import ledger
from .members import members_record

BATCH = 2000


def points_expire(*, now: dt.datetime | None = None) -> dict:
    """Expire every lot past its time, in batches of members (each batch one transaction,
    the members locked first); returns the members and points expired."""
    now = now or timezone.now()
    member_ids = list(
        LedgerEntry.objects.filter(remaining__gt=0, expires_at__lte=now)
        .values_list("member_id", flat=True)
        .distinct()
        .order_by("member_id")
    )
    members = points = 0
    for i in range(0, len(member_ids), BATCH):
        batch = member_ids[i : i + BATCH]
        expired = ledger.lots_expire(member_ids=batch, now=now)
        per: dict[int, int] = {}
        for member_id, _lot, n in expired:
            per[member_id] = per.get(member_id, 0) + n
        customers = dict(Member.objects.filter(pk__in=list(per)).values_list("pk", "customer_id"))
        members_record(
            (customers[m], now, {"action": "expired", "points": n}) for m, n in per.items()
        )
        members += len(per)
        points += sum(per.values())
    return {"members": members, "points": points}


def expiry_warn(*, now: dt.datetime | None = None) -> dict:
    """Warn each member whose points expire within the program's warning days, once per lot:
    a timeline event, and an email to the customer when they can be contacted."""
    from guanxi.customers.models import CustomerEmail
    from guanxi.customers.selectors import contactable_q

    now = now or timezone.now()
    program = LoyaltyProgram.current()
    if not program.warn_days or not program.is_active:
        return {"members": 0, "points": 0}
    until = now + dt.timedelta(days=program.warn_days)
    lots = LedgerEntry.objects.filter(
        remaining__gt=0, expires_at__gt=now, expires_at__lte=until, warned_at__isnull=True
    )
    per = list(
        lots.values("member_id", "member__customer_id")
        .annotate(points=Sum("remaining"))
        .values_list("member_id", "member__customer_id", "points")
    )
    if not per:
        return {"members": 0, "points": 0}
    first = dict(lots.order_by("member_id", "expires_at").values_list("member_id", "expires_at"))
    members_record(
        (cid, now, {"action": "expiry_warning", "points": n,
                    "on": timezone.localtime(first[m]).date().isoformat()})
        for m, cid, n in per
    )  # fmt: skip
    contactable = set(
        Member.objects.filter(pk__in=[m for m, _c, _n in per])
        .filter(contactable_q("customer__"))
        .values_list("pk", flat=True)
    )
    emails = {}
    for cid, email in (
        CustomerEmail.objects.filter(customer_id__in=[c for m, c, _n in per if m in contactable])
        .order_by("customer_id", "pk")
        .values_list("customer_id", "email")
    ):
        emails.setdefault(cid, email)
    messages = [
        (emails[cid], n, timezone.localtime(first[m]).date().isoformat())
        for m, cid, n in per
        if cid in emails
    ]
    lots.update(warned_at=now)
    if messages:
        from django.db import transaction

        from guanxi.tasks import send_loyalty_expiry_warnings

        transaction.on_commit(lambda: send_loyalty_expiry_warnings.enqueue(messages=messages))
    return {"members": len(per), "points": sum(n for _m, _c, n in per), "emailed": len(messages)}


def birthdays_award(*, today: dt.date | None = None) -> int:
    """The birthday bonus for members born on this day (once a year, by the rule's limit)."""
    from .earning import bonus_give

    today = today or timezone.localdate()
    members = Member.objects.filter(
        customer__birthday__month=today.month, customer__birthday__day=today.day
    ).select_related("tier")
    given = 0
    now = timezone.now()
    for member in members.iterator(chunk_size=500):
        if bonus_give(member=member, event=BonusEvent.BIRTHDAY, at=now):
            given += 1
    return given


def expiry_warnings_send(*, messages: list) -> int:
    """Email each (address, points, date): in Chinese, then English (a customer has no
    language setting)."""
    from django.conf import settings
    from django.core.mail import send_mass_mail
    from django.utils import translation
    from django.utils.translation import gettext as _

    program = LoyaltyProgram.current()
    mails = []
    for address, points, on in messages:
        parts = []
        for language in ("zh-hans", "en"):
            with translation.override(language):
                parts.append(
                    _(
                        "%(points)s of your points in %(program)s expire on %(date)s. "
                        "Use them before then."
                    )
                    % {"points": points, "program": program.label, "date": on}
                )
        with translation.override("zh-hans"):
            subject = _("Your points expire soon")
        mails.append((subject, "\n\n".join(parts), settings.DEFAULT_FROM_EMAIL, [address]))
    return send_mass_mail(mails, fail_silently=False)


def loyalty_daily(*, now: dt.datetime | None = None) -> dict:
    """Everything the program does once a day."""
    from .tiers import tiers_evaluate

    now = now or timezone.now()
    return {
        "expired": points_expire(now=now),
        "warned": expiry_warn(now=now),
        "birthdays": birthdays_award(today=timezone.localtime(now).date()),
        "tiers": tiers_evaluate(now=now),
    }
