"""A version of the earning rules: its rules in words, and for a draft the editor (the rules as
JSON, each error shown by its place such as `rules[1].factor`), a new draft from it, and
publishing it (optionally from a later time)."""

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from guanxi.accounts import access
from guanxi.core.errors import GuanxiError, NotFound
from guanxi.orders.choices import SalesChannel

from .. import selectors, services
from ..choices import VersionStatus
from ..forms import PublishForm, VersionForm, rules_json
from ..models import LoyaltyTier
from . import words
from .common import context, error_messages, form_errors


def _version(object_id):
    try:
        return selectors.version_get(version_id=int(object_id))
    except (NotFound, ValueError):
        raise Http404 from None


def _page_url(version) -> str:
    return reverse("admin:loyalty_ruleversion_change", args=[version.pk])


def backtest_url(version) -> str | None:
    """The rule backtest's page for this version, once that page exists."""
    try:
        return reverse("admin:loyalty_backtest", args=[version.pk])
    except NoReverseMatch:
        pass
    try:
        return reverse("admin:loyalty_backtest") + f"?version={version.pk}"
    except NoReverseMatch:
        return None


def version_page(request, object_id, model_admin):
    actor = request.user
    if access.role_of(actor) is None:
        raise Http404
    version = _version(object_id)
    may_manage = access.can(actor, "loyalty.manage")
    is_draft = version.status == VersionStatus.DRAFT
    form = None
    place_errors: dict[str, list[str]] = {}
    if is_draft and may_manage:
        posted = request.method == "POST"
        form = VersionForm(request.POST if posted else None,
                           initial=VersionForm.initial_for(version))  # fmt: skip
        if posted and form.is_valid():
            try:
                services.version_update(actor=actor, version=version, data=form.service_data())
            except GuanxiError as e:
                place_errors = form_errors(form, e)
                version.refresh_from_db()
            else:
                messages.success(request, _("Draft saved."))
                return HttpResponseRedirect(_page_url(version))
    elif request.method == "POST":
        return HttpResponseRedirect(_page_url(version))
    tier_names = {t.key: t.label for t in LoyaltyTier.objects.order_by("rank")}
    in_force = services.version_in_force()
    ctx = context(
        request,
        model_admin,
        title=_("Earning rules v%(n)s") % {"n": version.number},
        version=version,
        is_draft=is_draft,
        in_force=in_force is not None and in_force.pk == version.pk,
        rules=words.rules_in_words(version.rules, tier_names),
        rate=words.rate_text(version),
        caps=words.caps_text(version),
        form=form,
        place_errors=sorted(place_errors.items()),
        publish_form=PublishForm() if is_draft and may_manage else None,
        may_manage=may_manage,
        backtest_url=backtest_url(version),
        rules_json=rules_json(version.rules),
        tier_keys=", ".join(tier_names),
        channels=", ".join(SalesChannel.values),
        back=reverse("admin:loyalty_loyaltyprogram_changelist") + "#versions",
    )
    return TemplateResponse(request, "guanxi/loyalty/version.html", ctx)


def version_action(request, object_id, action, model_admin):
    """POST: a new draft from this version, or publish this draft."""
    version = _version(object_id)
    back = _page_url(version)
    if request.method != "POST":
        return HttpResponseRedirect(back)
    try:
        if action == "draft":
            draft = services.version_draft(actor=request.user, data={}, based_on=version)
            messages.success(
                request,
                _("Draft v%(n)s made from v%(m)s.") % {"n": draft.number, "m": version.number},
            )
            back = _page_url(draft)
        elif action == "publish":
            form = PublishForm(request.POST)
            if not form.is_valid():
                for errors in form.errors.values():
                    for error in errors:
                        messages.error(request, f"{form.fields['effective_from'].label}: {error}")
                return HttpResponseRedirect(back)
            published = services.version_publish(
                actor=request.user, version=version,
                effective_from=form.cleaned_data.get("effective_from"),
            )  # fmt: skip
            messages.success(
                request,
                _("v%(n)s published, in force from %(at)s.")
                % {"n": published.number, "at": _local(published.effective_from)},
            )
        else:
            raise Http404
    except GuanxiError as e:
        error_messages(
            request, e, labels={"effective_from": PublishForm.base_fields["effective_from"].label}
        )
    return HttpResponseRedirect(back)


def _local(at) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")
