"""The program's public pages, for members and the people they invite (no staff login).

- `/m/<token>/`: a member's own page, reached by the signed link staff send them. Everything
  on it, and every action it takes, is bound to the member the token names: no id of a
  member, customer or redemption is ever read from the request, and a reward is honoured only
  if it is among those the member may redeem.
- `/r/<code>/`: the landing page of a referral code, where a new person signs up. It names the
  referrer by the initial of their name only.

Views parse the request, call the loyalty services and selectors, and render.
"""

from __future__ import annotations

import re
import secrets

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from guanxi.core.errors import Conflict, GuanxiError, NotFound, ValidationFailed

from . import selectors, services
from .choices import BonusEvent, EntryKind, QualifyBy
from .models import LedgerEntry, LoyaltyProgram, Member
from .services.members import member_from_token
from .services.referrals import referrer_of

HISTORY_PER_PAGE = 20
DEVICE_COOKIE = "gx_device"
DEVICE_COOKIE_AGE = 2 * 365 * 24 * 60 * 60
DEVICE_ID = re.compile(r"^[A-Za-z0-9_-]{16,100}$")


def _private(response):
    """A member's page holds personal data and its URL is a credential: keep it out of shared
    caches, search engines and the Referer header of links to other sites. (Not no-referrer:
    browsers then send `Origin: null` with the page's own forms, which CSRF checking refuses.)"""
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "same-origin"
    return response


# -- the member's page ---------------------------------------------------------------------


def _entry_text(entry: LedgerEntry) -> str:
    """What a ledger entry was for, in the reader's language."""
    event = (entry.detail or {}).get("event")
    if event in BonusEvent.values:
        return str(BonusEvent(event).label)
    if entry.reward_id and entry.reward is not None:
        return entry.reward.label
    if entry.kind == EntryKind.EARN and entry.order_number:
        return _("Order %(number)s") % {"number": entry.order_number}
    if entry.kind == EntryKind.EXPIRE:
        return _("Points expired")
    return entry.reason or str(EntryKind(entry.kind).label)


def _progress(member: Member) -> dict:
    progress = selectors.member_progress(member=member)
    following = progress["next"]
    value = progress["value"] or 0
    percent = None
    if following is not None and following.threshold > 0:
        percent = min(100, max(0, int(value * 100 / following.threshold)))
    spend = progress["qualify_by"] == QualifyBy.SPEND
    return {**progress, "value": value, "percent": percent, "by_spend": spend}


def _redeem(request, member: Member) -> None:
    try:
        reward_id = int(request.POST.get("reward", ""))
    except ValueError:
        reward_id = None
    # Only a reward on this member's own list is honoured, whatever the form said.
    reward = selectors.reward_list(member=member).filter(pk=reward_id).first()
    if reward_id is None or reward is None:
        messages.error(request, _("This reward is not available to you."))
        return
    try:
        redemption = services.reward_redeem(actor=None, member=member, reward_id=reward.pk)
    except Conflict as e:
        if "points" in e.errors:  # the balance did not cover it
            messages.error(
                request,
                _("Not enough points: %(reward)s needs %(points)s.")
                % {"reward": reward.label, "points": reward.points},
            )
        else:
            messages.error(request, e.message)
        return
    except GuanxiError as e:
        messages.error(request, e.message)
        return
    if redemption.code:
        messages.success(
            request,
            _("You redeemed %(reward)s. Your coupon code is %(code)s.")
            % {"reward": reward.label, "code": redemption.code},
        )
    else:
        messages.success(request, _("You redeemed %(reward)s.") % {"reward": reward.label})


def _sign_in(request, member: Member) -> None:
    if member.last_sign_in == timezone.localdate():
        messages.info(request, _("You have already signed in today. Come back tomorrow!"))
        return
    points = services.sign_in(member=member)
    if points:
        messages.success(
            request, _("Signed in: +%(points)s points. See you tomorrow!") % {"points": points}
        )
    elif Member.objects.filter(pk=member.pk, last_sign_in=timezone.localdate()).exists():
        messages.info(request, _("Signed in. There are no points for signing in at the moment."))
    else:
        messages.info(request, _("You have already signed in today. Come back tomorrow!"))


@require_http_methods(["GET", "POST"])
def self_service(request, token: str):
    """A member's balance, tier, history, rewards, coupons and referral link."""
    try:
        member = member_from_token(token)
    except NotFound:
        raise Http404 from None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "redeem":
            _redeem(request, member)
        elif action == "sign_in":
            _sign_in(request, member)
        return _private(HttpResponseRedirect(request.get_full_path()))
    history = Paginator(selectors.member_ledger(member=member), HISTORY_PER_PAGE).get_page(
        request.GET.get("page")
    )
    rewards = list(selectors.reward_list(member=member))
    referral_url = request.build_absolute_uri(
        reverse("loyalty_referral", args=[member.referral_code])
    )
    context = {
        "program": LoyaltyProgram.current(),
        "member": member,
        "name": member.customer.name,
        "progress": _progress(member),
        "history": history,
        "entries": [{"entry": e, "text": _entry_text(e)} for e in history],
        "rewards": [
            {
                "reward": r,
                "affordable": member.balance >= r.points,
                "short": max(r.points - member.balance, 0),
            }
            for r in rewards
        ],  # fmt: skip
        "coupons": list(selectors.member_redemptions(member=member)),
        "referral_url": referral_url,
        "referrals": selectors.member_referrals(member=member),
        "signed_in_today": member.last_sign_in == timezone.localdate(),
        "now": timezone.now(),
    }
    return _private(render(request, "guanxi/loyalty/public/self_service.html", context))


# -- the referral landing page -------------------------------------------------------------


class SignUpForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Your name"), max_length=200, required=False)
    phone = forms.CharField(label=gettext_lazy("Mobile phone"), max_length=40, required=False)
    email = forms.CharField(label=gettext_lazy("Email"), max_length=254, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        attrs = {
            "name": {"autocomplete": "name"},
            "phone": {"autocomplete": "tel", "inputmode": "tel", "type": "tel"},
            "email": {"autocomplete": "email", "inputmode": "email", "type": "email"},
        }
        for name, extra in attrs.items():
            self.fields[name].widget.attrs.update(extra)
            if "type" in extra:
                self.fields[name].widget.input_type = extra["type"]


def referrer_initial(member: Member) -> str:
    """The referrer as the page shows them: the first character of their name and a star."""
    name = (member.customer.name or "").strip()
    return f"{name[:1]}*" if name else "*"


def _device_id(request) -> tuple[str, bool]:
    """The browser's device id from its long-lived cookie, or a new one (and True)."""
    value = request.COOKIES.get(DEVICE_COOKIE, "")
    if DEVICE_ID.match(value):
        return value, False
    return secrets.token_urlsafe(24), True


@require_http_methods(["GET", "POST"])
def referral_landing(request, code: str):
    """Sign up under a member's referral code."""
    try:
        referrer = referrer_of(code)
    except NotFound:
        raise Http404 from None
    device_id, new_device = _device_id(request)
    form = SignUpForm(request.POST or None)
    problems: list[str] = []
    template = "guanxi/loyalty/public/referral.html"
    if request.method == "POST" and form.is_valid():
        try:
            services.referral_sign_up(
                code=referrer.referral_code,
                data={k: form.cleaned_data[k] for k in ("name", "phone", "email")},
                device_id=device_id,
            )
        except ValidationFailed as e:
            for field, errors in (e.errors or {"__all__": [e.message]}).items():
                for error in errors:
                    if field in form.fields:
                        form.add_error(field, error)
                    else:
                        problems.append(error)
        except (Conflict, GuanxiError) as e:
            problems.extend(m for errors in e.errors.values() for m in errors)
            if not problems:
                problems.append(e.message)
        else:
            template = "guanxi/loyalty/public/referral_done.html"
    context = {
        "program": LoyaltyProgram.current(),
        "referrer": referrer_initial(referrer),
        "form": form,
        "problems": problems,
    }
    response = render(request, template, context)
    response["X-Robots-Tag"] = "noindex, nofollow"
    if new_device:
        response.set_cookie(
            DEVICE_COOKIE, device_id, max_age=DEVICE_COOKIE_AGE, httponly=True, samesite="Lax",
            secure=request.is_secure(),
        )  # fmt: skip
    return response
