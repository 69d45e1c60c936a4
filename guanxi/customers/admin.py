"""Staff UI for customers, contacts, tags and custom field definitions.

Reads go through customers.selectors (scoped by the actor), writes through customers.services;
the list links to the 360° page (views.customer_360) rather than to the edit form.
"""

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import F, OrderBy
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from pydantic import ValidationError as PydanticValidationError
from unfold.contrib.filters.admin import ChoicesDropdownFilter, DropdownFilter, TextFilter
from unfold.decorators import action, display
from unfold.views import ChangeList

from guanxi.accounts import access
from guanxi.accounts.admin import GuanxiInline, GuanxiModelAdmin
from guanxi.accounts.choices import Role
from guanxi.accounts.selectors import assignable_owners, user_list
from guanxi.core.errors import Conflict, GuanxiError
from guanxi.core.tabular import table_response

from . import services, termination_views, views
from .choices import CustomerKind, CustomFieldType, Stage
from .exports import contact_export, customer_export
from .filters import CustomerFilters, apply_custom_field_filters, apply_filters, search_q
from .forms import AssignOwnerForm, ContactForm, CustomerForm, CustomFieldDefinitionForm, TagsForm
from .models import Address, Contact, Customer, CustomFieldDefinition, Tag
from .selectors import (
    contact_list,
    contactable_q,
    custom_field_definitions,
    customer_list,
    customer_queryset,
    tag_list,
)

STAGE_LABELS = views.STAGE_VARIANTS
KIND_LABELS = {CustomerKind.PERSON: "default", CustomerKind.COMPANY: "info"}
ADDRESS_FIELDS = ("label", "province", "city", "district", "street", "postcode", "is_primary")


class _NullsLast(OrderBy):
    """An ordering that keeps rows without a value last when the list flips it."""

    def reverse_ordering(self):
        self.descending = not self.descending
        return self


def _nulls_last(field: str):
    """A column's ordering that puts customers without the figure last, either way round."""
    return _NullsLast(F(field), nulls_last=True)


def customer_360_url(customer_id) -> str:
    return reverse("admin:customers_customer_360", args=[customer_id])


# List filters ---------------------------------------------------------------------------------


class _SharedFilter(DropdownFilter):
    """A dropdown whose query is the shared customers.filters.apply_filters."""

    filter_field = ""

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        filters = CustomerFilters(**{self.filter_field: self.value()})
        return apply_filters(queryset, filters, actor=request.user)


class OwnerFilter(_SharedFilter):
    title = _("owner")
    parameter_name = "owner"
    filter_field = "owner"

    def lookups(self, request, model_admin):
        choices = [("me", gettext("Mine")), ("none", gettext("No owner"))]
        role = access.role_of(request.user)
        if role == Role.ADMIN:
            users = user_list(actor=request.user).filter(is_active=True)
        elif role == Role.MANAGER:
            users = assignable_owners(actor=request.user)
        else:
            users = []
        return choices + [(str(u.pk), str(u)) for u in users]


class TagFilter(_SharedFilter):
    title = _("tag")
    parameter_name = "tag"
    filter_field = "tag"

    def lookups(self, request, model_admin):
        return [(t.name, t.name) for t in tag_list()]


class _SharedTextFilter(TextFilter):
    """A text box whose query is the shared customers.filters.apply_filters; text it refuses
    (a bad range, a month that is not YYYY-MM) is the admin's "?e=1", not an error page."""

    filter_field = ""

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            filters = CustomerFilters(**{self.filter_field: self.value()})
        except PydanticValidationError as e:
            raise IncorrectLookupParameters(e) from e
        return apply_filters(queryset, filters, actor=request.user)


class CityFilter(_SharedTextFilter):
    title = _("city")
    parameter_name = "city"
    filter_field = "city"


class SegmentFilter(_SharedFilter):
    title = _("RFM segment")
    parameter_name = "segment"
    filter_field = "segment"

    def lookups(self, request, model_admin):
        from guanxi.analytics.choices import ChineseSegment, NamedSegment

        return [(c, str(label)) for c, label in [*ChineseSegment.choices, *NamedSegment.choices]]


class InSegmentFilter(_SharedFilter):
    title = _("segment or behaviour tag")
    parameter_name = "in_segment"
    filter_field = "in_segment"

    def lookups(self, request, model_admin):
        from guanxi.segments.selectors import segment_list

        return [(str(s.pk), s.label) for s in segment_list(actor=request.user)]


class TierFilter(_SharedFilter):
    title = _("value tier")
    parameter_name = "tier"
    filter_field = "tier"

    def lookups(self, request, model_admin):
        from guanxi.segments.selectors import tier_list

        return [(str(t.pk), t.label) for t in tier_list()]


def _value_filter(name: str, title) -> type:
    return type(
        f"ValueFilter_{name}",
        (_SharedTextFilter,),
        {"title": title, "parameter_name": name, "filter_field": name},
    )


VALUE_FILTERS = [
    _value_filter("lifetime_value", _("predicted lifetime value (from-to)")),
    _value_filter("p_alive", _("P(alive) (from-to, 0-1)")),
    _value_filter("historical_value", _("historical value (from-to)")),
    _value_filter("first_order_month", _("first order in month (YYYY-MM)")),
    _value_filter("ordered_in", _("ordered in month (YYYY-MM)")),
]


def custom_field_filter(definition: CustomFieldDefinition) -> type:
    """A list filter for one custom field: options for a choice, a text box otherwise."""

    def queryset(self, request, queryset):
        if self.value() in (None, ""):
            return queryset
        return apply_custom_field_filters(queryset, {self.parameter_name: self.value()})

    attrs = {
        "title": definition.label,
        "parameter_name": f"cf_{definition.key}",
        "queryset": queryset,
    }
    if definition.field_type == CustomFieldType.CHOICE:
        attrs["lookups"] = lambda self, request, model_admin: [(c, c) for c in definition.choices]
        return type(f"CustomFieldFilter_{definition.key}", (DropdownFilter,), attrs)
    return type(f"CustomFieldFilter_{definition.key}", (TextFilter,), attrs)


class CustomerChangeList(ChangeList):
    def url_for_result(self, result):
        return customer_360_url(result.pk)


# Export of a list page ------------------------------------------------------------------------


class ExportListMixin:
    """An "Export" menu (CSV, Excel) on a list page, for roles that may export personal data.

    It exports exactly the list as shown: the changelist's own queryset, with its filters,
    search and the actor's scope, through the app's export function (`export_table`). The
    menu's links carry the page's query string, which the export's changelist reads again.
    """

    actions_list = [
        {"title": _("Export"), "icon": "download", "items": ["export_csv", "export_xlsx"]}
    ]

    def export_table(self, request, queryset, list_params: dict):
        """The app's export of `queryset` (a Table); each list page says which."""
        raise NotImplementedError

    def has_export_permission(self, request, obj=None):
        return access.can(request.user, "customer.export_personal")

    @action(description=_("CSV"), permissions=["export"], icon="csv", url_path="export-csv")
    def export_csv(self, request):
        return self._export(request, "csv")

    @action(
        description=_("Excel (.xlsx)"),
        permissions=["export"],
        icon="table_view",
        url_path="export-xlsx",
    )
    def export_xlsx(self, request):
        return self._export(request, "xlsx")

    def _export(self, request, fmt: str):
        back = HttpResponseRedirect(self.changelist_url() + _query(request))
        try:
            queryset = self.get_changelist_instance(request).get_queryset(request)
        except IncorrectLookupParameters:
            self.message_user(request, gettext("These filters cannot be exported."), messages.ERROR)
            return back
        list_params = {k: v if len(v) > 1 else v[0] for k, v in request.GET.lists()}
        try:
            table = self.export_table(request, queryset, list_params)
        except GuanxiError as error:
            self.message_user(request, error.message, messages.ERROR)
            return back
        return table_response(table, fmt)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        query = _query(request)
        if context and query:
            exports = {
                reverse(f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{n}")
                for n in ("export_csv", "export_xlsx")
            }
            for entry in context.get("actions_list") or []:
                for item in entry.get("items", [entry]):
                    if item.get("path") in exports:
                        item["path"] += query
        return response


def _query(request) -> str:
    return "?" + request.GET.urlencode() if request.GET else ""


# Customers ------------------------------------------------------------------------------------


class AddressInline(GuanxiInline):
    model = Address
    fields = ADDRESS_FIELDS
    verbose_name_plural = _("addresses")

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj is None else 0


@admin.register(Customer)
class CustomerAdmin(ExportListMixin, GuanxiModelAdmin):
    form = CustomerForm
    inlines = [AddressInline]
    list_display = [
        "name_display",
        "kind_display",
        "primary_phone",
        "primary_email",
        "stage_display",
        "owner",
        "tags_display",
        "segment_display",
        "lifetime_value_display",
        "created",
    ]
    search_fields = ["name"]  # shows the search box; the search itself is search_q
    search_help_text = _("Name, pinyin (zhangsan), initials (zs), part of a phone, email, company")
    actions = ["assign_owner", "add_tags", "remove_tags", "delete_selected"]
    change_form_before_template = "guanxi/customers/duplicate_warning.html"
    list_select_related = ["owner", "value"]
    warn_unsaved_form = True
    # Person-only and company-only fields show for the kind chosen (unfold's Alpine conditions).
    conditional_fields = {
        "gender": "kind == 'person'",
        "job_title": "kind == 'person'",
        "birthday": "kind == 'person'",
        "company_size": "kind == 'company'",
        "business_scope": "kind == 'company'",
    }

    # Permissions: accounts.access decides ----------------------------------------------------

    def has_add_permission(self, request, *args):
        return access.can(request.user, "customer.create")

    def has_change_permission(self, request, obj=None):
        return self._can(request, "customer.edit", obj)

    def has_delete_permission(self, request, obj=None):
        return self._can(request, "customer.delete", obj)

    def has_assign_permission(self, request, obj=None):
        return self._can(request, "customer.assign_owner", obj)

    def has_tag_permission(self, request, obj=None):
        return self._can(request, "customer.tag", obj)

    def _can(self, request, action_name, obj):
        if obj is None:
            return access.can(request.user, action_name)
        if obj.stage == Stage.TERMINATED:
            return False  # the relationship has ended: its records are read-only
        return access.can(request.user, action_name, owner_id=obj.owner_id, record_owner_known=True)

    # Reads ------------------------------------------------------------------------------------

    def get_queryset(self, request):
        from guanxi.analytics.selectors import segment_field

        qs = customer_list(actor=request.user).select_related("value")
        return qs.annotate(rfm_segment=F(segment_field()))

    def get_changelist(self, request, **kwargs):
        return CustomerChangeList

    def get_search_results(self, request, queryset, search_term):
        q = search_q(search_term or "")
        return (queryset.filter(q) if q is not None else queryset), False

    def export_table(self, request, queryset, list_params):
        return customer_export(actor=request.user, queryset=queryset, list_params=list_params)

    def get_list_filter(self, request):
        filters = [
            ("stage", ChoicesDropdownFilter),
            ("kind", ChoicesDropdownFilter),
            ("source", ChoicesDropdownFilter),
            TagFilter,
            CityFilter,
            SegmentFilter,
            InSegmentFilter,
            TierFilter,
            *VALUE_FILTERS,
        ]
        if access.role_of(request.user) != Role.REP:
            filters.insert(1, OwnerFilter)
        filters += [custom_field_filter(d) for d in custom_field_definitions()]
        return filters

    # The value view of the list: the same filters, search and scope, value columns.
    VALUE_COLUMNS = [
        "name_display", "segment_display", "rfm_display", "recency_display", "orders_display",
        "historical_display", "aov_display", "purchases_display", "value_365_display",
        "lifetime_value_only", "p_alive_display", "as_of_display",
    ]  # fmt: skip

    def get_list_display(self, request):
        if getattr(request, "gx_value_columns", False):
            return self.VALUE_COLUMNS
        return super().get_list_display(request)

    def get_ordering(self, request):
        if getattr(request, "gx_value_columns", False):
            # Highest predicted lifetime value first; customers not yet valued last.
            from guanxi.analytics.selectors import value_ordering

            return [value_ordering("-lifetime_value")]
        return super().get_ordering(request)

    def value_list_view(self, request):
        request.gx_value_columns = True
        return self.changelist_view(request, extra_context={"title": gettext("Customers by value")})

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("value/", wrap(self.value_list_view), name="customers_customer_value_list"),
            path(
                "<path:object_id>/360/",
                wrap(views.customer_360),
                {"model_admin": self},
                name="customers_customer_360",
            ),
            path(
                "<path:object_id>/stage/",
                wrap(views.customer_stage),
                {"model_admin": self},
                name="customers_customer_stage",
            ),
            path(
                "<path:object_id>/termination/",
                wrap(termination_views.termination_ask),
                {"model_admin": self},
                name="customers_customer_termination",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # People who may only read a customer get the 360° page, which shows everything.
        if request.method == "GET":
            obj = self.get_object(request, object_id)
            if obj is not None and not self.has_change_permission(request, obj):
                return HttpResponseRedirect(customer_360_url(obj.pk))
        return super().change_view(request, object_id, form_url, extra_context)

    # Columns ----------------------------------------------------------------------------------

    @display(description=_("name"), header=True, ordering="name")
    def name_display(self, obj):
        subtitle = obj.company_name if obj.company_name and obj.company_name != obj.name else ""
        return [obj.name, subtitle, (obj.name or "?")[:1].upper()]

    @display(description=_("kind"), label=KIND_LABELS)
    def kind_display(self, obj):
        return obj.kind, obj.get_kind_display()

    @display(description=_("phone"))
    def primary_phone(self, obj):
        phones = list(obj.phones.all())
        if not phones:
            return None
        return format_html(
            '<span class="gx-nowrap">{}</span>', views.format_phone(phones[0].number)
        )

    @display(description=_("email"))
    def primary_email(self, obj):
        emails = list(obj.emails.all())
        return emails[0].email if emails else None

    @display(description=_("created"), ordering="created_at")
    def created(self, obj):
        return timezone.localtime(obj.created_at).strftime("%Y-%m-%d")

    @display(description=_("lifecycle stage"), label=STAGE_LABELS, ordering="stage")
    def stage_display(self, obj):
        return obj.stage, obj.get_stage_display()

    @display(description=_("tags"), label=True)
    def tags_display(self, obj):
        return [t.name for t in obj.tags.all()] or None

    @display(description=_("RFM segment"), label=True, ordering="rfm_segment")
    def segment_display(self, obj):
        from guanxi.analytics.selectors import segment_label

        code = getattr(obj, "rfm_segment", None)
        # The list shows the short form: "Important value", not "… (重要价值客户)".
        return segment_label(code).split(" (")[0] if code else None

    def _value(self, obj):
        return getattr(obj, "value", None)

    @display(description=_("R F M"), ordering=_nulls_last("value__r_score"))
    def rfm_display(self, obj):
        v = self._value(obj)
        if v is None or v.r_score is None:
            return None
        return format_html('<span class="gx-rfm">{} {} {}</span>', v.r_score, v.f_score, v.m_score)

    @display(description=_("recency (days)"), ordering=_nulls_last("value__recency_days"))
    def recency_display(self, obj):
        v = self._value(obj)
        return None if v is None else v.recency_days

    @display(description=_("orders"), ordering=_nulls_last("value__orders"))
    def orders_display(self, obj):
        v = self._value(obj)
        return None if v is None else v.orders

    @display(description=_("historical value"), ordering=_nulls_last("value__historical_value"))
    def historical_display(self, obj):
        v = self._value(obj)
        return None if v is None else f"¥{v.historical_value:,.2f}"

    @display(
        description=_("average order value"), ordering=_nulls_last("value__average_order_value")
    )
    def aov_display(self, obj):
        v = self._value(obj)
        return (
            None
            if v is None or v.average_order_value is None
            else (f"¥{v.average_order_value:,.2f}")
        )

    @display(
        description=_("predicted purchases, 90 / 365 days"),
        ordering=_nulls_last("value__purchases_365"),
    )
    def purchases_display(self, obj):
        v = self._value(obj)
        if v is None or v.purchases_90 is None:
            return None
        return f"{v.purchases_90:.2f} / {v.purchases_365:.2f}"

    @display(description=_("predicted value, 365 days"), ordering=_nulls_last("value__value_365"))
    def value_365_display(self, obj):
        v = self._value(obj)
        return None if v is None or v.value_365 is None else f"¥{v.value_365:,.2f}"

    @display(
        description=_("predicted lifetime value"), ordering=_nulls_last("value__lifetime_value")
    )
    def lifetime_value_only(self, obj):
        v = self._value(obj)
        return None if v is None or v.lifetime_value is None else f"¥{v.lifetime_value:,.2f}"

    @display(description=_("P(alive)"), ordering=_nulls_last("value__p_alive"))
    def p_alive_display(self, obj):
        v = self._value(obj)
        return None if v is None or v.p_alive is None else f"{v.p_alive:.0%}"

    @display(description=_("as of"), ordering=_nulls_last("value__as_of"))
    def as_of_display(self, obj):
        v = self._value(obj)
        return None if v is None else v.as_of.isoformat()

    @display(description=_("lifetime value"), ordering=_nulls_last("value__lifetime_value"))
    def lifetime_value_display(self, obj):
        value = getattr(obj, "value", None)
        if value is None or value.lifetime_value is None:
            return None
        alive = "" if value.p_alive is None else f" · {value.p_alive:.0%}"
        return format_html(
            '<span class="gx-nowrap" title="{}">¥{}{}</span>',
            gettext("predicted lifetime value · P(alive)"),
            f"{value.lifetime_value:,.0f}",
            alive,
        )

    # Form -------------------------------------------------------------------------------------

    def get_fieldsets(self, request, obj=None):
        main = ["kind", "name", "company_name", "job_title", "stage", "stage_cause"]
        sales = ["source", "owner", "tags", "new_tags", "notes"]
        if not self.has_assign_permission(request, obj):
            sales.remove("owner")  # reps own what they create and cannot hand it over
        details = ["gender", "birthday", "industry", "company_size", "business_scope"]
        fieldsets = [
            (None, {"fields": main}),
            (_("Contact details"), {"fields": ["phones", "emails", "preferred_channel"]}),
            (_("Details"), {"fields": details}),
            (_("Sales"), {"fields": sales}),
        ]
        definitions = custom_field_definitions()
        if definitions:
            fieldsets.append((_("Custom fields"), {"fields": [f"cf_{d.key}" for d in definitions]}))
        return fieldsets

    def get_form(self, request, obj=None, change=False, **kwargs):
        # Custom fields are added by the form itself, per request and language.
        kwargs["fields"] = [f for f in kwargs.get("fields") or [] if not f.startswith("cf_")]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("owner", request.user.pk)
        return initial

    def service_save(self, request, form, formsets, *, change):
        addresses = self._addresses(form, formsets, change=change)
        data = form.service_data(change=change, addresses=addresses)
        allow_duplicate = bool(form.cleaned_data.get("allow_duplicate"))
        try:
            if change:
                if not data:
                    return form.instance
                return services.customer_update(
                    actor=request.user,
                    customer=form.instance,
                    data=data,
                    allow_duplicate=allow_duplicate,
                )
            return services.customer_create(
                actor=request.user, data=data, allow_duplicate=allow_duplicate
            )
        except Conflict as error:
            if "duplicates" in error.extra:
                form.duplicates = error.extra["duplicates"]
                form.hidden_duplicates = error.extra.get("hidden_duplicates", 0)
            raise

    def _addresses(self, form, formsets, *, change):
        for formset in formsets:
            if formset.model is not Address:
                continue
            if change and not formset.has_changed():
                return None
            rows, used = [], []
            for row in formset.forms:
                if formset.can_delete and formset._should_delete_form(row):
                    continue
                if row.instance.pk is None and not row.has_changed():
                    continue
                rows.append({f: row.cleaned_data.get(f) for f in ADDRESS_FIELDS})
                used.append(row)
            form.gx_rows["addresses"] = used
            return rows
        return None

    def service_delete(self, request, obj):
        services.customer_delete(actor=request.user, customer=obj)

    def response_post_save_add(self, request, obj):
        return HttpResponseRedirect(customer_360_url(obj.pk))

    def response_post_save_change(self, request, obj):
        return HttpResponseRedirect(customer_360_url(obj.pk))

    # Bulk actions -----------------------------------------------------------------------------

    @action(description=_("Assign owner"), permissions=["assign"], icon="person_add")
    def assign_owner(self, request, queryset):
        form = AssignOwnerForm(
            request.POST if request.POST.get("apply") else None, actor=request.user
        )
        if form.is_bound and form.is_valid():
            try:
                n = services.customers_assign_owner(
                    actor=request.user,
                    customer_ids=queryset.values_list("pk", flat=True),
                    owner=form.cleaned_data["owner"],
                )
            except GuanxiError as error:
                self.message_user(request, error.message, messages.ERROR)
                return None
            self.message_user(
                request,
                gettext("%(n)d customers now belong to %(owner)s.")
                % {"n": n, "owner": form.cleaned_data["owner"]},
                messages.SUCCESS,
            )
            return None
        return self.render_action_page(
            request,
            queryset,
            action="assign_owner",
            title=gettext("Assign an owner"),
            intro=gettext("Choose who takes over these customers."),
            form=form,
            submit_label=gettext("Assign"),
        )

    @action(description=_("Add tags"), permissions=["tag"], icon="sell")
    def add_tags(self, request, queryset):
        return self._tag_action(request, queryset, add=True)

    @action(description=_("Remove tags"), permissions=["tag"], icon="label_off")
    def remove_tags(self, request, queryset):
        return self._tag_action(request, queryset, add=False)

    def _tag_action(self, request, queryset, *, add: bool):
        form = TagsForm(request.POST if request.POST.get("apply") else None, allow_new=add)
        if form.is_bound and form.is_valid() and form.names():
            names = form.names()
            try:
                n = services.customers_tag(
                    actor=request.user,
                    customer_ids=queryset.values_list("pk", flat=True),
                    add=names if add else (),
                    remove=() if add else names,
                )
            except GuanxiError as error:
                self.message_user(request, error.message, messages.ERROR)
                return None
            self.message_user(
                request,
                gettext("Tags changed on %(n)d customers.") % {"n": n},
                messages.SUCCESS,
            )
            return None
        return self.render_action_page(
            request,
            queryset,
            action="add_tags" if add else "remove_tags",
            title=gettext("Add tags") if add else gettext("Remove tags"),
            intro=gettext("Choose the tags to add to these customers.")
            if add
            else gettext("Choose the tags to remove from these customers."),
            form=form,
            submit_label=gettext("Add tags") if add else gettext("Remove tags"),
        )


# Contacts -------------------------------------------------------------------------------------


@admin.register(Contact)
class ContactAdmin(ExportListMixin, GuanxiModelAdmin):
    form = ContactForm
    list_display = ["name_display", "company", "phone", "email", "is_primary"]
    list_filter = ["is_primary"]
    search_fields = ["name", "phone", "email", "customer__name"]
    autocomplete_fields = ["customer"]
    list_before_template = "guanxi/customers/contacts_tabs.html"
    list_select_related = ["customer"]

    def get_queryset(self, request):
        return contact_list(actor=request.user)

    def export_table(self, request, queryset, list_params):
        return contact_export(actor=request.user, queryset=queryset, list_params=list_params)

    def has_add_permission(self, request, *args):
        return access.can(request.user, "customer.edit")

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return access.can(request.user, "customer.edit")
        if obj.customer.stage == Stage.TERMINATED:
            return False  # read-only, with the rest of the customer's records
        return access.can(
            request.user,
            "customer.edit",
            owner_id=obj.customer.owner_id,
            record_owner_known=True,
        )

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return ["customer"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "customer":
            kwargs["queryset"] = customer_queryset(actor=request.user).filter(
                contactable_q(), kind=CustomerKind.COMPANY
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def service_save(self, request, form, formsets, *, change):
        data = form.service_data(change=change)
        if change:
            return services.contact_update(actor=request.user, contact=form.instance, data=data)
        return services.contact_create(
            actor=request.user, customer=form.cleaned_data["customer"], data=data
        )

    def service_delete(self, request, obj):
        services.contact_delete(actor=request.user, contact=obj)

    def response_post_save_add(self, request, obj):
        return HttpResponseRedirect(customer_360_url(obj.customer_id))

    @display(description=_("name"), header=True, ordering="name")
    def name_display(self, obj):
        return [obj.name, obj.title, obj.name[:1].upper()]

    @display(description=_("company"), ordering="customer__name")
    def company(self, obj):
        return format_html(
            '<a class="gx-link" href="{}">{}</a>', customer_360_url(obj.customer_id), obj.customer
        )


# Tags and custom fields -----------------------------------------------------------------------


@admin.register(Tag)
class TagAdmin(GuanxiModelAdmin):
    list_display = ["name", "customers_link", "created_at"]
    search_fields = ["name"]
    fields = ["name", "color"]

    def get_queryset(self, request):
        return tag_list()

    @display(description=_("customers"))
    def customers_link(self, obj):
        url = reverse("admin:customers_customer_changelist") + "?" + urlencode({"tag": obj.name})
        return format_html('<a class="gx-link" href="{}">{}</a>', url, gettext("Show customers"))


@admin.register(CustomFieldDefinition)
class CustomFieldDefinitionAdmin(GuanxiModelAdmin):
    form = CustomFieldDefinitionForm
    list_display = ["key", "label_zh", "label_en", "type_display", "required", "is_active"]
    list_filter = ["field_type", "is_active"]
    ordering = ["position", "key"]
    fieldsets = [
        (None, {"fields": ["key", "label_zh", "label_en", "field_type", "choices"]}),
        (
            _("Validation"),
            {"fields": ["required", "min_value", "max_value", "max_length", "help_text"]},
        ),
        (_("Display"), {"fields": ["position", "is_active"]}),
    ]

    def get_queryset(self, request):
        if not access.can(request.user, "customfield.manage"):
            return CustomFieldDefinition.objects.none()
        return CustomFieldDefinition.objects.all()

    def has_module_permission(self, request):
        return access.can(request.user, "customfield.manage")

    def has_view_permission(self, request, obj=None):
        return access.can(request.user, "customfield.manage")

    def has_add_permission(self, request, *args):
        return access.can(request.user, "customfield.manage")

    def has_change_permission(self, request, obj=None):
        return access.can(request.user, "customfield.manage")

    def has_delete_permission(self, request, obj=None):
        return access.can(request.user, "customfield.manage")

    def service_save(self, request, form, formsets, *, change):
        data = form.service_data(change=change)
        if change:
            return services.custom_field_update(
                actor=request.user, definition=form.instance, data=data
            )
        return services.custom_field_create(actor=request.user, data=data)

    def service_delete(self, request, obj):
        services.custom_field_delete(actor=request.user, definition=obj)

    @display(description=_("type"), label=True)
    def type_display(self, obj):
        return obj.get_field_type_display()


# Register the duplicate and merge pages, and the requests to end relationships.
from . import merge_admin, termination_admin  # noqa: E402, F401
