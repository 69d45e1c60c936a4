"""Staff UI for orders (with their lines) and products."""

from django import forms
from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.contrib.filters.admin import ChoicesDropdownFilter, RangeDateFilter
from unfold.decorators import display
from unfold.widgets import UnfoldAdminTextareaWidget

from guanxi.accounts import access
from guanxi.accounts.admin import GuanxiInline, GuanxiModelAdmin, ServiceModelForm
from guanxi.customers.admin import ExportListMixin
from guanxi.customers.selectors import customer_queryset

from . import services
from .choices import OrderStatus
from .exports import order_export
from .models import Order, OrderLine, Product
from .selectors import order_list, product_list

STATUS_LABELS = {
    OrderStatus.PENDING: "warning",
    OrderStatus.PAID: "info",
    OrderStatus.SHIPPED: "info",
    OrderStatus.COMPLETED: "success",
    OrderStatus.CANCELLED: "default",
    OrderStatus.REFUNDED: "danger",
}
LINE_FIELDS = ("product", "product_name", "category", "quantity", "unit_price", "discount")


def money(amount, currency="CNY") -> str:
    if amount is None:
        return "—"
    symbol = "¥" if currency in ("CNY", "RMB") else f"{currency} "
    return f"{symbol}{amount:,.2f}"


class OrderLineForm(forms.ModelForm):
    class Meta:
        model = OrderLine
        fields = LINE_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A chosen product supplies its name, category and list price.
        for name in ("product_name", "unit_price", "discount"):
            if name in self.fields:
                self.fields[name].required = False
        if "product" in self.fields:
            self.fields["product"].label = _("Catalogue product")
        if "product_name" in self.fields:
            self.fields["product_name"].label = _("Product name")


class OrderLineInline(GuanxiInline):
    model = OrderLine
    form = OrderLineForm
    fields = (*LINE_FIELDS, "amount")
    readonly_fields = ["amount"]
    autocomplete_fields = ["product"]
    verbose_name_plural = _("order lines")

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if obj is None else 0


class OrderForm(ServiceModelForm):
    service_fields = ("number", "ordered_at", "status", "channel", "currency", "notes")

    class Meta:
        model = Order
        fields = ["customer", "number", "ordered_at", "status", "channel", "currency", "notes"]
        widgets = {"notes": UnfoldAdminTextareaWidget(attrs={"rows": 3})}

    def service_data(self, *, change: bool) -> dict:
        names = [n for n in self.service_fields if n in self.fields]
        if change:
            names = [n for n in names if n in self.changed_data]
        return {n: self.cleaned_data.get(n) for n in names}


@admin.register(Order)
class OrderAdmin(ExportListMixin, GuanxiModelAdmin):
    form = OrderForm
    inlines = [OrderLineInline]
    list_display = [
        "number_display",
        "customer_link",
        "ordered_at",
        "status_display",
        "channel",
        "total_display",
    ]
    list_filter = [
        ("status", ChoicesDropdownFilter),
        ("channel", ChoicesDropdownFilter),
        ("ordered_at", RangeDateFilter),
    ]
    search_fields = ["=number", "customer__name"]
    search_help_text = _("Order number or customer name")
    autocomplete_fields = ["customer"]
    ordering = ["-ordered_at", "-id"]
    row_field_map = {"sku": "product"}
    fieldsets = [
        (None, {"fields": ["customer", "number", "ordered_at"]}),
        (_("Status"), {"fields": ["status", "channel", "currency", "notes"]}),
    ]

    def get_queryset(self, request):
        return order_list(actor=request.user)

    def export_table(self, request, queryset, list_params):
        return order_export(actor=request.user, queryset=queryset, list_params=list_params)

    def has_add_permission(self, request, *args):
        return access.can(request.user, "order.write")

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return access.can(request.user, "order.write")
        return access.can(
            request.user, "order.write", owner_id=obj.customer.owner_id, record_owner_known=True
        )

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return ["customer"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "customer":
            kwargs["queryset"] = customer_queryset(actor=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        now = timezone.localtime()
        initial.setdefault("ordered_at", now)
        initial.setdefault("number", f"SO{now:%Y%m%d%H%M%S}")
        return initial

    def _lines(self, form, formsets, *, change):
        for formset in formsets:
            if formset.model is not OrderLine:
                continue
            if change and not formset.has_changed():
                return None
            lines, used = [], []
            for row in formset.forms:
                if formset.can_delete and formset._should_delete_form(row):
                    continue
                if row.instance.pk is None and not row.has_changed():
                    continue
                cd = row.cleaned_data
                line = {
                    "product_name": cd.get("product_name") or "",
                    "category": cd.get("category") or "",
                    "quantity": cd.get("quantity"),
                    "discount": cd.get("discount") or 0,
                }
                if cd.get("product") is not None:
                    line["sku"] = cd["product"].sku
                if cd.get("unit_price") is not None:
                    line["unit_price"] = cd["unit_price"]
                lines.append(line)
                used.append(row)
            form.gx_rows["lines"] = used
            return lines
        return None

    def service_save(self, request, form, formsets, *, change):
        data = form.service_data(change=change)
        lines = self._lines(form, formsets, change=change)
        if lines is not None or not change:
            data["lines"] = lines or []
        if change:
            if not data:
                return form.instance
            return services.order_update(actor=request.user, order=form.instance, data=data)
        return services.order_create(
            actor=request.user, customer=form.cleaned_data["customer"], data=data
        )

    def service_delete(self, request, obj):
        services.order_delete(actor=request.user, order=obj)

    def response_post_save_add(self, request, obj):
        return HttpResponseRedirect(reverse("admin:customers_customer_360", args=[obj.customer_id]))

    @display(description=_("order number"), header=True, ordering="number")
    def number_display(self, obj):
        lines = list(obj.lines.all())
        summary = ", ".join(line.product_name for line in lines[:2])
        if len(lines) > 2:
            summary += " " + gettext("and %(n)d more") % {"n": len(lines) - 2}
        return [obj.number, summary]

    @display(description=_("customer"), ordering="customer__name")
    def customer_link(self, obj):
        url = reverse("admin:customers_customer_360", args=[obj.customer_id])
        return format_html('<a class="gx-link" href="{}">{}</a>', url, obj.customer)

    @display(description=_("status"), label=STATUS_LABELS, ordering="status")
    def status_display(self, obj):
        return obj.status, obj.get_status_display()

    @display(description=_("total"), ordering="total", formatting="price")
    def total_display(self, obj):
        return money(obj.total, obj.currency)


@admin.register(Product)
class ProductAdmin(GuanxiModelAdmin):
    list_display = ["name", "sku", "category", "price"]
    search_fields = ["name", "=sku", "category"]
    fields = ["sku", "name", "category", "unit_price"]
    form = ServiceModelForm

    def get_queryset(self, request):
        return product_list()

    def has_add_permission(self, request, *args):
        return access.can(request.user, "order.write")

    def has_change_permission(self, request, obj=None):
        return access.can(request.user, "order.write")

    def get_readonly_fields(self, request, obj=None):
        return ["sku"] if obj is not None else []

    def service_save(self, request, form, formsets, *, change):
        cd = form.cleaned_data
        return services.product_upsert(
            actor=request.user,
            sku=form.instance.sku if change else cd["sku"],
            name=cd["name"],
            category=cd.get("category") or "",
            unit_price=cd.get("unit_price") or 0,
        )

    @display(description=_("list price"), ordering="unit_price", formatting="price")
    def price(self, obj):
        return money(obj.unit_price)
