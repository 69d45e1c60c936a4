"""The member actions of the 360° page: enrol, redeem points, redeem a reward, adjust points.
Each is a POST back to the customer's page; the services check who may do what, and a
service's error (an overdraw names the balance) is shown as a message with nothing written."""

from django.contrib import messages
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from guanxi.core.errors import GuanxiError, NotFound
from guanxi.customers.selectors import customer_get

from .. import services
from ..forms import AdjustPointsForm, RedeemPointsForm, RewardRedeemForm
from .common import error_messages

ACTIONS = {"enrol", "redeem", "reward", "adjust"}


def _customer(request, customer_id):
    try:
        return customer_get(actor=request.user, customer_id=customer_id)
    except NotFound:
        raise Http404 from None


def _form_messages(request, form) -> None:
    for field, errors in form.errors.items():
        for error in errors:
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}: {error}" if label else error)


def member_action(request, customer_id, action, model_admin):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if action not in ACTIONS:
        raise Http404
    customer = _customer(request, customer_id)
    actor = request.user
    form = None
    try:
        if action == "enrol":
            services.member_enrol(actor=actor, customer=customer)
            messages.success(request, _("Enrolled in the loyalty program."))
        elif action == "redeem":
            form = RedeemPointsForm(request.POST)
            if form.is_valid():
                entry = services.points_redeem(
                    actor=actor, customer=customer, points=form.cleaned_data["points"],
                    reason=form.cleaned_data["reason"],
                )  # fmt: skip
                messages.success(request, _("%(n)s points redeemed.") % {"n": f"{-entry.points:,}"})
            else:
                _form_messages(request, form)
        elif action == "reward":
            form = RewardRedeemForm(request.POST)
            if form.is_valid():
                redemption = services.reward_redeem(
                    actor=actor, customer=customer, reward_id=form.cleaned_data["reward"]
                )
                text = _("%(reward)s redeemed for %(n)s points.") % {
                    "reward": redemption.reward.label, "n": f"{redemption.points:,}"}  # fmt: skip
                if redemption.code:
                    text += " " + _("Coupon code: %(code)s") % {"code": redemption.code}
                messages.success(request, text)
            else:
                _form_messages(request, form)
        elif action == "adjust":
            form = AdjustPointsForm(request.POST)
            if form.is_valid():
                entry = services.points_adjust(
                    actor=actor, customer=customer, points=form.cleaned_data["points"],
                    reason=form.cleaned_data["reason"],
                )  # fmt: skip
                messages.success(
                    request, _("Points adjusted by %(n)s.") % {"n": f"{entry.points:+,}"}
                )
            else:
                _form_messages(request, form)
    except GuanxiError as e:
        error_messages(request, e)
        failed = True
    else:
        failed = bool(form is not None and form.errors)
    # Messages show at the top of the page: after an error, land there to read it; after a
    # change, on the panel that shows it.
    back = reverse("admin:customers_customer_360", args=[customer.pk])
    return HttpResponseRedirect(back if failed else back + "#loyalty")
