"""Staff UI for interactions (calls, emails, meetings…) and tasks."""

from datetime import timedelta

from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.contrib.filters.admin import ChoicesDropdownFilter, DropdownFilter, RangeDateFilter
from unfold.decorators import action, display

from guanxi.accounts import access
from guanxi.accounts.admin import GuanxiModelAdmin, ServiceModelForm
from guanxi.accounts.selectors import user_list
from guanxi.core.errors import GuanxiError
from guanxi.customers.admin import ExportListMixin
from guanxi.customers.selectors import contact_list, customer_queryset

from . import services
from .choices import TaskPriority, TaskStatus
from .exports import interaction_export, task_export
from .models import Interaction, Task
from .selectors import interaction_list, task_list

STATUS_LABELS = {
    TaskStatus.OPEN: "info",
    TaskStatus.DONE: "success",
    TaskStatus.CANCELLED: "default",
}
PRIORITY_LABELS = {
    TaskPriority.LOW: "default",
    TaskPriority.NORMAL: "info",
    TaskPriority.HIGH: "danger",
}


def _customer_link(customer):
    if customer is None:
        return "—"
    url = reverse("admin:customers_customer_360", args=[customer.pk])
    return format_html('<a class="gx-link" href="{}">{}</a>', url, customer)


def _owner_known(obj):
    return {"owner_id": obj.customer.owner_id, "record_owner_known": True}


# Interactions ---------------------------------------------------------------------------------


class InteractionForm(ServiceModelForm):
    service_fields = (
        "contact",
        "kind",
        "direction",
        "channel",
        "subject",
        "body",
        "outcome",
        "next_step",
        "occurred_at",
    )

    class Meta:
        model = Interaction
        fields = [
            "customer",
            "contact",
            "kind",
            "direction",
            "channel",
            "subject",
            "body",
            "outcome",
            "next_step",
            "occurred_at",
        ]

    def service_data(self, *, change: bool) -> dict:
        names = [n for n in self.service_fields if n in self.fields]
        if change:
            names = [n for n in names if n in self.changed_data]
        return {n: self.cleaned_data.get(n) for n in names}


@admin.register(Interaction)
class InteractionAdmin(ExportListMixin, GuanxiModelAdmin):
    form = InteractionForm
    list_display = [
        "subject_display",
        "customer_link",
        "direction",
        "channel",
        "occurred_at",
        "user",
    ]
    list_filter = [
        ("kind", ChoicesDropdownFilter),
        ("channel", ChoicesDropdownFilter),
        ("direction", ChoicesDropdownFilter),
        ("occurred_at", RangeDateFilter),
    ]
    search_fields = ["subject", "body", "outcome"]
    search_help_text = _("Subject, details or outcome")
    autocomplete_fields = ["customer", "contact"]
    ordering = ["-occurred_at", "-id"]
    fieldsets = [
        (None, {"fields": ["customer", "contact", "kind", "direction", "channel"]}),
        (
            _("What happened"),
            {"fields": ["subject", "body", "outcome", "next_step", "occurred_at"]},
        ),
    ]

    def get_queryset(self, request):
        return interaction_list(actor=request.user)

    def export_table(self, request, queryset, list_params):
        return interaction_export(actor=request.user, queryset=queryset, list_params=list_params)

    def has_add_permission(self, request, *args):
        return access.can(request.user, "interaction.log")

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return access.can(request.user, "interaction.log")
        return access.can(request.user, "interaction.log", **_owner_known(obj))

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return ["customer"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "customer":
            kwargs["queryset"] = customer_queryset(actor=request.user)
        elif db_field.name == "contact":
            kwargs["queryset"] = contact_list(actor=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("occurred_at", timezone.localtime())
        return initial

    def service_save(self, request, form, formsets, *, change):
        data = form.service_data(change=change)
        if change:
            if not data:
                return form.instance
            return services.interaction_update(
                actor=request.user, interaction=form.instance, data=data
            )
        return services.interaction_log(
            actor=request.user, customer=form.cleaned_data["customer"], data=data
        )

    def service_delete(self, request, obj):
        services.interaction_delete(actor=request.user, interaction=obj)

    def response_post_save_add(self, request, obj):
        return HttpResponseRedirect(reverse("admin:customers_customer_360", args=[obj.customer_id]))

    @display(description=_("subject"), header=True, ordering="subject")
    def subject_display(self, obj):
        return [obj.subject, obj.get_kind_display()]

    @display(description=_("customer"), ordering="customer__name")
    def customer_link(self, obj):
        return _customer_link(obj.customer)


# Tasks ----------------------------------------------------------------------------------------


class TaskForm(ServiceModelForm):
    service_fields = ("title", "description", "owner", "due_at", "remind_at", "priority", "status")

    class Meta:
        model = Task
        fields = [
            "title",
            "description",
            "customer",
            "owner",
            "due_at",
            "remind_at",
            "priority",
            "status",
        ]

    def service_data(self, *, change: bool) -> dict:
        names = [n for n in self.service_fields if n in self.fields]
        if change:
            names = [n for n in names if n in self.changed_data]
        return {n: self.cleaned_data.get(n) for n in names}


class AssigneeFilter(DropdownFilter):
    title = _("assigned to")
    parameter_name = "assigned"

    def lookups(self, request, model_admin):
        return [("me", gettext("Me")), ("others", gettext("Others"))]

    def queryset(self, request, queryset):
        if self.value() == "me":
            return queryset.filter(owner=request.user)
        if self.value() == "others":
            return queryset.exclude(owner=request.user)
        return queryset


class DueFilter(DropdownFilter):
    title = _("due")
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [
            ("overdue", gettext("Overdue")),
            ("today", gettext("Today")),
            ("week", gettext("Next 7 days")),
            ("none", gettext("No due date")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        today_end = timezone.localtime().replace(hour=23, minute=59, second=59)
        match self.value():
            case "overdue":
                return queryset.filter(status=TaskStatus.OPEN, due_at__lt=now)
            case "today":
                return queryset.filter(due_at__gte=now, due_at__lte=today_end)
            case "week":
                return queryset.filter(due_at__gte=now, due_at__lte=now + timedelta(days=7))
            case "none":
                return queryset.filter(due_at__isnull=True)
        return queryset


@admin.register(Task)
class TaskAdmin(ExportListMixin, GuanxiModelAdmin):
    form = TaskForm
    list_display = [
        "title_display",
        "customer_link",
        "owner",
        "due_display",
        "priority_display",
        "status_display",
    ]
    list_filter = [
        AssigneeFilter,
        ("status", ChoicesDropdownFilter),
        DueFilter,
        ("priority", ChoicesDropdownFilter),
    ]
    search_fields = ["title", "description"]
    autocomplete_fields = ["customer"]
    actions = ["mark_done", "delete_selected"]
    ordering = ["status", "due_at", "id"]

    def get_queryset(self, request):
        return task_list(actor=request.user)

    def export_table(self, request, queryset, list_params):
        return task_export(actor=request.user, queryset=queryset, list_params=list_params)

    def has_add_permission(self, request, *args):
        return access.can(request.user, "task.write")

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return access.can(request.user, "task.write")
        if obj.customer_id is None or obj.owner_id == request.user.pk:
            return access.can(request.user, "task.write")
        return access.can(request.user, "task.write", **_owner_known(obj))

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request, obj)

    def get_fieldsets(self, request, obj=None):
        main = ["title", "description", "customer", "owner"]
        if not access.can(request.user, "task.assign_others"):
            main.remove("owner")
        when = ["due_at", "remind_at", "priority"] + (["status"] if obj is not None else [])
        return [(None, {"fields": main}), (_("When"), {"fields": when})]

    def get_readonly_fields(self, request, obj=None):
        return ["customer"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "customer":
            kwargs["queryset"] = customer_queryset(actor=request.user)
        elif db_field.name == "owner":
            kwargs["queryset"] = user_list(actor=request.user).filter(is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("owner", request.user.pk)
        return initial

    def service_save(self, request, form, formsets, *, change):
        data = form.service_data(change=change)
        if change:
            if not data:
                return form.instance
            return services.task_update(actor=request.user, task=form.instance, data=data)
        return services.task_create(
            actor=request.user, data=data, customer=form.cleaned_data.get("customer")
        )

    def service_delete(self, request, obj):
        services.task_delete(actor=request.user, task=obj)

    @display(description=_("title"), header=True, ordering="title")
    def title_display(self, obj):
        return [obj.title, (obj.description or "")[:60]]

    @display(description=_("customer"), ordering="customer__name")
    def customer_link(self, obj):
        return _customer_link(obj.customer)

    @display(description=_("due"), ordering="due_at", label={"overdue": "danger", "ok": "default"})
    def due_display(self, obj):
        if obj.due_at is None:
            return None
        text = timezone.localtime(obj.due_at).strftime("%Y-%m-%d %H:%M")
        overdue = obj.status == TaskStatus.OPEN and obj.due_at < timezone.now()
        return ("overdue" if overdue else "ok"), text

    @display(description=_("priority"), label=PRIORITY_LABELS, ordering="priority")
    def priority_display(self, obj):
        return obj.priority, obj.get_priority_display()

    @display(description=_("status"), label=STATUS_LABELS, ordering="status")
    def status_display(self, obj):
        return obj.status, obj.get_status_display()

    @action(description=_("Mark as done"), permissions=["change"], icon="task_alt")
    def mark_done(self, request, queryset):
        done = 0
        for task in queryset.filter(status=TaskStatus.OPEN):
            try:
                services.task_complete(actor=request.user, task=task)
                done += 1
            except GuanxiError as error:
                self.message_user(request, f"{task}: {error.message}", messages.ERROR)
        self.message_user(
            request, gettext("%(n)d tasks marked as done.") % {"n": done}, messages.SUCCESS
        )
