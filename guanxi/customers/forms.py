"""Forms of the customer pages: they parse what staff type into the dicts the services take.

No validation rule lives here beyond the shape of the input: phones, emails, custom field
values and the rest are checked by the services, whose errors the admin puts on these fields.
"""

import re

from django import forms
from django.utils.translation import gettext_lazy as _
from unfold.widgets import (
    UnfoldAdminDecimalFieldWidget,
    UnfoldAdminSelect2MultipleWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminSingleDateWidget,
    UnfoldAdminTextareaWidget,
    UnfoldAdminTextInputWidget,
    UnfoldBooleanSwitchWidget,
)

from guanxi.accounts.admin import ServiceModelForm
from guanxi.accounts.models import User
from guanxi.accounts.selectors import assignable_owners

from .choices import CustomFieldType, Stage
from .models import Contact, Customer, CustomFieldDefinition, Tag
from .selectors import custom_field_definitions, tag_list

LIST_SEPARATORS = re.compile(r"[\n\r,;，；、]+")


def split_list(text: str | None) -> list[str]:
    """ "a, b；c\\nd" → ["a", "b", "c", "d"]: what people use to separate several values."""
    return [part.strip() for part in LIST_SEPARATORS.split(text or "") if part.strip()]


def split_lines(text: str | None) -> list[str]:
    """One value per line (phones may contain commas in extensions, so only lines split)."""
    return [line.strip() for line in re.split(r"[\n\r;；]+", text or "") if line.strip()]


def custom_formfield(definition: CustomFieldDefinition) -> forms.Field:
    """The form field for one admin-defined custom field, labelled in the current language."""
    common = {
        "label": definition.label,
        "required": definition.required,
        "help_text": definition.help_text,
    }
    match definition.field_type:
        case CustomFieldType.NUMBER:
            return forms.DecimalField(
                min_value=definition.min_value,
                max_value=definition.max_value,
                widget=UnfoldAdminDecimalFieldWidget,
                **common,
            )
        case CustomFieldType.DATE:
            return forms.DateField(widget=UnfoldAdminSingleDateWidget, **common)
        case CustomFieldType.CHOICE:
            choices = [("", "—"), *((c, c) for c in definition.choices)]
            return forms.ChoiceField(choices=choices, widget=UnfoldAdminSelectWidget, **common)
    return forms.CharField(
        max_length=definition.max_length or None, widget=UnfoldAdminTextInputWidget, **common
    )


def custom_value_for_service(definition: CustomFieldDefinition, value):
    if value in (None, ""):
        return None
    if definition.field_type == CustomFieldType.NUMBER:
        return str(value)
    return value


PROFILE_FIELDS = (
    "kind",
    "name",
    "company_name",
    "job_title",
    "gender",
    "birthday",
    "industry",
    "company_size",
    "business_scope",
    "source",
    "preferred_channel",
    "owner",
    "stage",
    "notes",
)


STAGE_CHOICES = [(v, label) for v, label in Stage.choices if v != Stage.TERMINATED]


class CustomerForm(ServiceModelForm):
    phones = forms.CharField(
        label=_("Phones"),
        required=False,
        widget=UnfoldAdminTextareaWidget(attrs={"rows": 2}),
        help_text=_(
            "One per line, in any common form: 138 0013 8000, +86-138-0013-8000, 010-12345678."
        ),
    )
    emails = forms.CharField(
        label=_("Emails"),
        required=False,
        widget=UnfoldAdminTextareaWidget(attrs={"rows": 2}),
        help_text=_("One per line."),
    )
    tags = forms.ModelMultipleChoiceField(
        label=_("Tags"),
        queryset=Tag.objects.all(),
        to_field_name="name",
        required=False,
        widget=UnfoldAdminSelect2MultipleWidget,
    )
    new_tags = forms.CharField(
        label=_("New tags"),
        required=False,
        widget=UnfoldAdminTextInputWidget,
        help_text=_("Tags that do not exist yet, separated by commas."),
    )
    stage_cause = forms.CharField(
        label=_("Reason for the stage change"),
        required=False,
        max_length=255,
        widget=UnfoldAdminTextInputWidget,
        help_text=_("Recorded with the stage change; required when ending the relationship."),
    )
    allow_duplicate = forms.BooleanField(
        label=_("Save anyway"), required=False, widget=UnfoldBooleanSwitchWidget
    )

    class Meta:
        model = Customer
        fields = list(PROFILE_FIELDS)
        widgets = {
            "notes": UnfoldAdminTextareaWidget(attrs={"rows": 3}),
            "business_scope": UnfoldAdminTextareaWidget(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.duplicates: list[dict] = []
        self.hidden_duplicates = 0
        self.definitions = custom_field_definitions()
        for definition in self.definitions:
            self.fields[f"cf_{definition.key}"] = custom_formfield(definition)
        self.fields["tags"].queryset = tag_list()
        if "stage" in self.fields:
            # Ending a relationship is a request a manager approves, not a stage picked here.
            self.fields["stage"].choices = STAGE_CHOICES
        if "owner" in self.fields and self.actor is not None:
            owners = assignable_owners(actor=self.actor)
            if self.instance.owner_id:
                owners = owners | User.objects.filter(pk=self.instance.owner_id)
            self.fields["owner"].queryset = owners.distinct().order_by("username")
            # A plain select: "add user" links beside it would lead reps and managers astray.
            self.fields["owner"].widget = getattr(
                self.fields["owner"].widget, "widget", self.fields["owner"].widget
            )
        customer = self.instance
        if customer.pk:
            self.initial.setdefault(
                "phones",
                "\n".join(
                    p.number + (f" ext. {p.extension}" if p.extension else "")
                    for p in customer.phones.all()
                ),
            )
            self.initial.setdefault("emails", "\n".join(e.email for e in customer.emails.all()))
            self.initial.setdefault("tags", [t.name for t in customer.tags.all()])
            for definition in self.definitions:
                value = (customer.custom_fields or {}).get(definition.key)
                if value is not None:
                    self.initial.setdefault(f"cf_{definition.key}", value)

    def custom_field_names(self) -> list[str]:
        return [f"cf_{d.key}" for d in self.definitions]

    def service_data(self, *, change: bool, addresses: list[dict] | None) -> dict:
        """The dict customer_create / customer_update take; on change, only what changed."""
        cd = self.cleaned_data
        changed = set(self.changed_data) if change else None

        def wanted(name):
            return name in self.fields and (changed is None or name in changed)

        data = {}
        for name in PROFILE_FIELDS:
            if wanted(name):
                value = cd.get(name)
                data[name] = value.pk if name == "owner" and value is not None else value
        if wanted("phones"):
            data["phones"] = split_lines(cd.get("phones"))
        if wanted("emails"):
            data["emails"] = split_list(cd.get("emails"))
        if wanted("tags") or wanted("new_tags"):
            names = [t.name for t in cd.get("tags") or []]
            data["tags"] = names + [n for n in split_list(cd.get("new_tags")) if n not in names]
        custom = {
            d.key: custom_value_for_service(d, cd.get(f"cf_{d.key}"))
            for d in self.definitions
            if wanted(f"cf_{d.key}")
        }
        if custom or not change:
            data["custom_fields"] = custom
        if addresses is not None:
            data["addresses"] = addresses
        if cd.get("stage_cause") and ("stage" in data or not change):
            data["stage_cause"] = cd["stage_cause"]
        return data


CONTACT_FIELDS = ("name", "title", "phone", "email", "is_primary", "notes")


class ContactForm(ServiceModelForm):
    class Meta:
        model = Contact
        fields = ["customer", *CONTACT_FIELDS]

    def service_data(self, *, change: bool) -> dict:
        names = [n for n in CONTACT_FIELDS if n in self.fields]
        if change:
            names = [n for n in names if n in self.changed_data]
        return {n: self.cleaned_data.get(n) for n in names}


DEFINITION_FIELDS = (
    "key",
    "label_zh",
    "label_en",
    "field_type",
    "required",
    "min_value",
    "max_value",
    "max_length",
    "help_text",
    "position",
    "is_active",
)


class CustomFieldDefinitionForm(ServiceModelForm):
    choices = forms.CharField(
        label=_("Choices"),
        required=False,
        widget=UnfoldAdminTextareaWidget(attrs={"rows": 4}),
        help_text=_("For a choice field: one option per line."),
    )

    class Meta:
        model = CustomFieldDefinition
        fields = list(DEFINITION_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.setdefault("choices", "\n".join(self.instance.choices or []))
            if "key" in self.fields:
                self.fields["key"].disabled = True

    def service_data(self, *, change: bool) -> dict:
        cd = self.cleaned_data
        data = {n: cd.get(n) for n in DEFINITION_FIELDS if n in self.fields}
        data["choices"] = split_lines(cd.get("choices"))
        if change:
            data.pop("key", None)
        for name in ("min_value", "max_value", "max_length"):
            if data.get(name) == "":
                data[name] = None
        return data


class StageForm(forms.Form):
    """The 360 page's quick stage change; the page offers no "terminated", which the service
    refuses, pointing to the request to end the relationship."""

    stage = forms.ChoiceField(
        label=_("Stage"), choices=Stage.choices, widget=UnfoldAdminSelectWidget
    )
    cause = forms.CharField(
        label=_("Reason"), required=False, max_length=255, widget=UnfoldAdminTextInputWidget
    )


class AssignOwnerForm(forms.Form):
    owner = forms.ModelChoiceField(
        label=_("New owner"), queryset=None, widget=UnfoldAdminSelectWidget
    )

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = assignable_owners(actor=actor)


class TagsForm(forms.Form):
    tags = forms.ModelMultipleChoiceField(
        label=_("Tags"),
        queryset=None,
        to_field_name="name",
        required=False,
        widget=UnfoldAdminSelect2MultipleWidget,
    )
    new_tags = forms.CharField(
        label=_("New tags"),
        required=False,
        widget=UnfoldAdminTextInputWidget,
        help_text=_("Separate several with commas."),
    )

    def __init__(self, *args, allow_new: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tags"].queryset = tag_list()
        if not allow_new:
            del self.fields["new_tags"]

    def names(self) -> list[str]:
        names = [t.name for t in self.cleaned_data.get("tags") or []]
        return names + [n for n in split_list(self.cleaned_data.get("new_tags")) if n not in names]
