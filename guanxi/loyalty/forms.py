"""Forms of the loyalty staff pages. They parse and check the shape of input only; what is
allowed is decided by loyalty.services, whose errors the views put back on these forms."""

import json

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from guanxi.accounts.admin import ServiceModelForm

from .choices import Period, Rounding
from .models import LoyaltyProgram, Reward

PROGRAM_FIELDS = ["name", "name_en", "is_active", "auto_enrol", "expiry_months", "warn_days",
                  "qualify_by", "grace_days"]  # fmt: skip
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]


def _default(value) -> bool:
    # Identity for False: a 0 (points, priority) is kept.
    return value is None or value is False or value == [] or value == ""


def rules_json(rules: list) -> str:
    """The rules as JSON to edit: one rule a line, without the keys left at their defaults
    (no date, no list, no cap, no stop)."""
    if not rules:
        return "[]"
    lines = ",\n".join(
        "  " + json.dumps({k: v for k, v in rule.items() if not _default(v)},
                          ensure_ascii=False)
        for rule in rules
    )  # fmt: skip
    return f"[\n{lines}\n]"


class ProgramForm(forms.ModelForm):
    class Meta:
        model = LoyaltyProgram
        fields = PROGRAM_FIELDS


class TierForm(forms.Form):
    """A tier with its benefits as separate fields (stored as one JSON object)."""

    key = forms.SlugField(
        label=_("key"), max_length=30,
        help_text=_("Used in rules (“tiers”) and the API; cannot be changed."),
    )  # fmt: skip
    name = forms.CharField(label=_("name"), max_length=50)
    name_en = forms.CharField(label=_("name (English)"), max_length=50, required=False)
    rank = forms.IntegerField(label=_("rank"), min_value=1, max_value=50,
                              help_text=_("1 = lowest."))  # fmt: skip
    threshold = forms.DecimalField(
        label=_("threshold"), min_value=0, max_digits=14, decimal_places=2,
        help_text=_("Spend (yuan) or points in the last 12 months, as the program qualifies."),
    )  # fmt: skip
    color = forms.CharField(label=_("colour"), max_length=9,
                            widget=forms.TextInput(attrs={"type": "color"}))  # fmt: skip
    multiplier = forms.DecimalField(
        label=_("points multiplier"), required=False, min_value=0, max_digits=6,
        decimal_places=2, help_text=_("1.5 = half as many points again. Empty = 1."),
    )  # fmt: skip
    discount_pct = forms.DecimalField(
        label=_("member discount (%)"), required=False, min_value=0, max_value=100,
        max_digits=5, decimal_places=2,
    )  # fmt: skip
    free_shipping = forms.BooleanField(label=_("free shipping"), required=False)
    dedicated_manager = forms.BooleanField(label=_("dedicated account manager"), required=False)
    birthday_gift = forms.CharField(label=_("birthday gift"), max_length=200, required=False)

    BENEFITS = ["multiplier", "discount_pct", "free_shipping", "dedicated_manager",
                "birthday_gift"]  # fmt: skip

    def __init__(self, *args, tier=None, **kwargs):
        if tier is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "key": tier.key, "name": tier.name, "name_en": tier.name_en, "rank": tier.rank,
                "threshold": tier.threshold, "color": tier.color,
                **{k: tier.benefits.get(k) for k in self.BENEFITS},
            }  # fmt: skip
        super().__init__(*args, **kwargs)
        if tier is not None:
            self.fields["key"].disabled = True
        else:
            self.fields["color"].initial = "#9ca3af"

    def service_data(self) -> dict:
        """The service's input: the tier's fields and its benefits object (only those set)."""
        cd = self.cleaned_data
        benefits = {}
        for key in ("multiplier", "discount_pct"):
            if cd.get(key) is not None:
                value = cd[key]
                benefits[key] = int(value) if value == value.to_integral_value() else float(value)
        for key in ("free_shipping", "dedicated_manager"):
            if cd.get(key):
                benefits[key] = True
        if cd.get("birthday_gift"):
            benefits["birthday_gift"] = cd["birthday_gift"]
        data = {k: cd[k] for k in ("name", "name_en", "rank", "threshold", "color")}
        if not self.fields["key"].disabled:
            data["key"] = cd["key"]
        data["benefits"] = benefits
        return data


class VersionForm(forms.Form):
    """A draft version of the earning rules; the rules as JSON (their shape: loyalty.rules)."""

    base_rate = forms.DecimalField(label=_("points per yuan"), min_value=0, max_digits=8,
                                   decimal_places=4)  # fmt: skip
    rounding = forms.ChoiceField(label=_("rounding"), choices=Rounding.choices)
    order_cap = forms.IntegerField(label=_("most points per order"), required=False, min_value=0,
                                   help_text=_("Empty = no cap."))  # fmt: skip
    period_cap = forms.IntegerField(
        label=_("most points from orders per member and period"), required=False, min_value=0,
        help_text=_("Empty = no cap."),
    )  # fmt: skip
    period = forms.ChoiceField(
        label=_("period"), choices=[c for c in Period.choices if c[0] != Period.EVER]
    )
    note = forms.CharField(label=_("note"), max_length=300, required=False)
    rules = forms.CharField(
        label=_("rules (JSON)"), required=False,
        widget=forms.Textarea(attrs={"rows": 18, "spellcheck": "false"}),
    )  # fmt: skip

    @staticmethod
    def initial_for(version) -> dict:
        return {
            "base_rate": version.base_rate.normalize(), "rounding": version.rounding,
            "order_cap": version.order_cap, "period_cap": version.period_cap,
            "period": version.period, "note": version.note,
            "rules": rules_json(version.rules),
        }  # fmt: skip

    def clean_rules(self):
        raw = self.cleaned_data["rules"]
        if not raw.strip():
            return []
        try:
            return json.loads(raw)
        except json.JSONDecodeError as e:
            raise forms.ValidationError(
                gettext("Not valid JSON: %(e)s (line %(line)s, column %(col)s).")
                % {"e": e.msg, "line": e.lineno, "col": e.colno}
            ) from None

    def service_data(self) -> dict:
        return dict(self.cleaned_data)


class PublishForm(forms.Form):
    effective_from = forms.DateTimeField(
        label=_("in force from"), required=False, input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Empty = now."),
    )  # fmt: skip


class RedeemPointsForm(forms.Form):
    points = forms.IntegerField(label=_("points"), min_value=1)
    reason = forms.CharField(label=_("reason"), max_length=300, required=False)


class AdjustPointsForm(forms.Form):
    points = forms.IntegerField(label=_("points"), help_text=_("Below 0 takes points away."))
    reason = forms.CharField(label=_("reason"), max_length=300)


class RewardRedeemForm(forms.Form):
    reward = forms.IntegerField(label=_("reward"), min_value=1)


class RewardForm(ServiceModelForm):
    """The reward admin's form; the admin saves it through reward_create / reward_update."""

    class Meta:
        model = Reward
        fields = ["name", "name_en", "description", "kind", "points", "value", "stock",
                  "min_tier", "valid_from", "valid_until", "coupon_days", "is_active"]  # fmt: skip

    def service_data(self) -> dict:
        data = {k: self.cleaned_data.get(k) for k in self._meta.fields if k in self.cleaned_data}
        tier = data.get("min_tier")
        data["min_tier"] = tier.key if tier is not None else None
        if data.get("coupon_days") is None:
            data.pop("coupon_days", None)
        return data
