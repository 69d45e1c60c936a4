"""The program page: its settings (loyalty.manage saves, everyone else reads), its tiers with
their benefits and members, and the versions of its earning rules; the tier form."""

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from guanxi.accounts import access
from guanxi.core.errors import GuanxiError, PermissionDenied

from .. import selectors, services
from ..choices import VersionStatus
from ..forms import PROGRAM_FIELDS, ProgramForm, TierForm
from ..models import LoyaltyProgram, LoyaltyTier
from . import words
from .common import context, error_messages, form_errors


def _program_url() -> str:
    return reverse("admin:loyalty_loyaltyprogram_changelist")


def program_page(request, model_admin):
    actor = request.user
    if access.role_of(actor) is None:
        raise Http404
    may_manage = access.can(actor, "loyalty.manage")
    program = LoyaltyProgram.current()
    posted = request.method == "POST" and request.POST.get("form") == "program"
    form = ProgramForm(request.POST if posted else None, instance=program)
    if posted and form.is_valid():
        try:
            services.program_update(actor=actor, data={k: form.cleaned_data[k]
                                                       for k in PROGRAM_FIELDS})  # fmt: skip
        except PermissionDenied as e:
            error_messages(request, e)
            return HttpResponseRedirect(_program_url())
        except GuanxiError as e:
            form_errors(form, e)
        else:
            messages.success(request, _("Saved. The program's settings apply from now on."))
            return HttpResponseRedirect(_program_url())
    program = LoyaltyProgram.current()
    counts = dict(
        selectors.member_list(actor=actor)
        .order_by()
        .values("tier_id")
        .annotate(n=Count("id"))
        .values_list("tier_id", "n")
    )
    tiers = [
        {
            "tier": t,
            "threshold": words.threshold_text(t.threshold, program),
            "benefits": words.benefits_text(t.benefits or {}),
            "members": counts.get(t.pk, 0),
            "colour": words.colour(t.color),
            "link": reverse("admin:loyalty_member_changelist") + f"?tier__id__exact={t.pk}",
        }
        for t in LoyaltyTier.objects.order_by("rank")
    ]
    in_force = services.version_in_force()
    versions = [
        {
            "version": v,
            "in_force": in_force is not None and v.pk == in_force.pk,
            "rate": words.rate_text(v),
            "caps": words.caps_text(v),
            "rule_count": len(v.rules or []),
        }
        for v in selectors.versions().select_related("created_by")[:50]
    ]
    settings = [
        (form.fields[k].label, _display(program, k)) for k in PROGRAM_FIELDS
    ]  # fmt: skip
    ctx = context(
        request,
        model_admin,
        title=_("Loyalty program"),
        program=program,
        form=form,
        settings=settings,
        tiers=tiers,
        no_tier=counts.get(None, 0),
        versions=versions,
        in_force=in_force,
        drafts=sum(1 for v in versions if v["version"].status == VersionStatus.DRAFT),
        may_manage=may_manage,
        qualify_label=program.get_qualify_by_display(),
    )
    return TemplateResponse(request, "guanxi/loyalty/program.html", ctx)


def _display(program, key: str) -> str:
    value = getattr(program, key)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if key == "qualify_by":
        return program.get_qualify_by_display()
    if key == "expiry_months" and value == 0:
        return _("never")
    return str(value)


def tier_edit(request, model_admin, tier_id=None):
    """Create or change a membership tier (loyalty.manage)."""
    if not access.can(request.user, "loyalty.manage"):
        raise Http404
    tier = LoyaltyTier.objects.filter(pk=tier_id).first() if tier_id else None
    if tier_id and tier is None:
        raise Http404
    form = TierForm(request.POST or None, tier=tier)
    if request.method == "POST" and form.is_valid():
        try:
            services.tier_save(actor=request.user, tier=tier, data=form.service_data())
        except GuanxiError as e:
            rest = form_errors(form, e)
            for field, errors in rest.items():
                for error in errors:
                    form.add_error(None, f"{field}: {error}")
        else:
            messages.success(request, _("Tier saved."))
            return HttpResponseRedirect(_program_url() + "#tiers")
    ctx = context(
        request,
        model_admin,
        title=_("Tier %(name)s") % {"name": tier.label}
        if tier
        else pgettext("loyalty", "New tier"),
        form=form,
        back=_program_url() + "#tiers",
        tier=tier,
        colour=words.colour(tier.color) if tier else None,
    )
    return TemplateResponse(request, "guanxi/loyalty/tier.html", ctx)


def version_new(request, model_admin):
    """POST: a new draft, a copy of the newest version."""
    if request.method != "POST":
        return HttpResponseRedirect(_program_url())
    try:
        version = services.version_draft(actor=request.user, data={})
    except GuanxiError as e:
        error_messages(request, e)
        return HttpResponseRedirect(_program_url() + "#versions")
    messages.success(request, _("Draft v%(n)s made.") % {"n": version.number})
    return HttpResponseRedirect(reverse("admin:loyalty_ruleversion_change", args=[version.pk]))
