"""Forms of the import pages: the upload and the column mapping. They only parse what is
typed; the services check it and their errors land on these fields."""

from django import forms
from django.utils.translation import gettext_lazy as _
from unfold.widgets import (
    UnfoldAdminFileFieldWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminTextInputWidget,
    UnfoldBooleanSwitchWidget,
)

from .choices import ImportKind, ImportMode, OnDuplicate

ACCEPT = ".csv,.txt,.tsv,.xlsx,.xlsm,.xls,.ods"


class UploadForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("The file holds"),
        choices=ImportKind.choices,
        initial=ImportKind.CUSTOMERS,
        widget=UnfoldAdminSelectWidget,
    )
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "CSV (UTF-8, GBK/GB18030 or UTF-16; comma, semicolon or tab) or Excel "
            "(.xlsx, .xls). The first row holds the column names."
        ),
        widget=UnfoldAdminFileFieldWidget(attrs={"accept": ACCEPT}),
    )
    saved_mapping = forms.ChoiceField(
        label=_("Column mapping"),
        required=False,
        widget=UnfoldAdminSelectWidget,
        help_text=_("Found from the column names, unless you pick one saved earlier."),
    )

    def __init__(self, *args, saved_mappings=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["saved_mapping"].choices = [("", _("Find it from the column names"))] + [
            (m.name, f"{m.name} ({m.get_kind_display()})") for m in saved_mappings
        ]


class OptionsForm(forms.Form):
    mode = forms.ChoiceField(
        label=_("Rows that match an existing customer"),
        choices=[
            (ImportMode.CREATE, _("are duplicates: handle them as chosen below")),
            (ImportMode.UPSERT, _("update that customer with the file's values")),
        ],
        widget=UnfoldAdminSelectWidget,
    )
    on_duplicate = forms.ChoiceField(
        label=_("Duplicates"),
        choices=OnDuplicate.choices,
        widget=UnfoldAdminSelectWidget,
    )
    resumable = forms.BooleanField(
        label=_("Commit in chunks"),
        required=False,
        widget=UnfoldBooleanSwitchWidget,
        help_text=_(
            "Off: all rows are imported or none. On: chunks of 5,000 rows commit one by one, "
            "and running the import again continues after the last one."
        ),
    )
    save_mapping_as = forms.CharField(
        label=_("Save this mapping as"),
        required=False,
        max_length=100,
        widget=UnfoldAdminTextInputWidget(attrs={"placeholder": _("e.g. Shop members list")}),
    )
