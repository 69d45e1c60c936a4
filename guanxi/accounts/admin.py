"""Staff UI for users, teams, API tokens and the audit log, and the base every Guanxi admin uses.

`GuanxiModelAdmin` asks accounts.access (not Django's permission tables) who may do what,
reads through the selectors and writes only through the services. Its forms call the admin's
`service_save` while they validate, so a GuanxiError raised by a service becomes a form error
on the field it names (or on the inline row it names, such as ``lines[2].quantity``), and the
page is shown again with nothing written.
"""

import re

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.widgets import RelatedFieldWidgetWrapper
from django.forms.formsets import all_valid
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.filters.admin import ChoicesDropdownFilter, RelatedDropdownFilter
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminPasswordWidget, UnfoldAdminTextInputWidget

from guanxi.core.errors import GuanxiError

from . import access, selectors, services
from .choices import AuditAction, Role
from .models import ApiToken, AuditEntry, Team, User

ROW_KEY = re.compile(r"^(?P<group>\w+)\[(?P<index>\d+)\](?:\.(?P<field>\w+))?$")


# Base classes ---------------------------------------------------------------------------------


class ServiceModelForm(forms.ModelForm):
    """A ModelForm whose saving is a service call made during validation (see module doc)."""

    gx_admin = None
    gx_request = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Inline rows used to build the service's input, by the name the service uses for them
        # ("addresses", "lines"), so errors like "lines[1].quantity" find their row.
        self.gx_rows: dict[str, list] = {}

    @property
    def actor(self):
        return self.gx_request.user if self.gx_request is not None else None

    def _post_clean(self):
        if self.gx_admin is None:
            return super()._post_clean()
        if self._errors:
            return
        formsets = getattr(self.gx_request, "_gx_formsets", [])
        if not all_valid(formsets):
            return
        try:
            self.instance = self.gx_admin.service_save(
                self.gx_request, self, formsets, change=self.instance.pk is not None
            )
        except GuanxiError as error:
            self.gx_admin.apply_service_error(self, error)


class GuanxiAdminMixin:
    """Permission answers from accounts.access; shared by model admins and inlines."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        # No "add / change / delete related" buttons beside selects: each record has its own
        # page, and those popups would bypass the flow (and permissions) of that page.
        if field is not None and isinstance(field.widget, RelatedFieldWidgetWrapper):
            for flag in ("can_add_related", "can_change_related", "can_delete_related"):
                setattr(field.widget, flag, False)
            field.widget.can_view_related = False
        return field

    def has_module_permission(self, request):
        return access.role_of(request.user) is not None

    def has_view_permission(self, request, obj=None):
        return access.role_of(request.user) is not None

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class GuanxiInline(GuanxiAdminMixin, TabularInline):
    """Rows of a parent edited with it; writable exactly when the parent is."""

    extra = 0

    def _parent_editable(self, request, obj):
        parent = self.admin_site._registry.get(self.parent_model)
        if parent is None:
            return False
        if obj is None:
            return parent.has_add_permission(request)
        return parent.has_change_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return self._parent_editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._parent_editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._parent_editable(request, obj)


class GuanxiModelAdmin(GuanxiAdminMixin, ModelAdmin):
    """Base of every Guanxi admin: access.py permissions, selector reads, service writes."""

    form = ServiceModelForm
    list_filter_submit = True
    show_full_result_count = False
    list_per_page = 50
    # Maps a service's field name to this form's field name, when they differ.
    service_field_map: dict[str, str] = {}
    # Maps a service's inline-row field name to the inline form's field name.
    row_field_map: dict[str, str] = {}

    # Reads ------------------------------------------------------------------------------------

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # A record the actor may not see is reported as absent, never as forbidden.
        raise Http404(gettext("Not found."))

    def delete_view(self, request, object_id, extra_context=None):
        # Absent (404) comes before forbidden (403), so ids cannot be probed.
        if self.get_object(request, object_id) is None:
            raise Http404(gettext("Not found."))
        return super().delete_view(request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404(gettext("Not found."))
        return HttpResponseRedirect(self.change_url(obj))

    def change_url(self, obj) -> str:
        opts = self.opts
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])

    def changelist_url(self) -> str:
        opts = self.opts
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")

    # Writes -----------------------------------------------------------------------------------

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        # modelform_factory returns a new class on every call, so this is per request.
        form.gx_admin = self
        form.gx_request = request
        return form

    def _create_formsets(self, request, obj, change):
        formsets, inline_instances = super()._create_formsets(request, obj, change)
        request._gx_formsets = formsets
        return formsets, inline_instances

    def service_save(self, request, form, formsets, *, change):
        """Create or change the record through its service; returns the saved object."""
        raise NotImplementedError

    def service_delete(self, request, obj) -> None:
        raise NotImplementedError

    def save_form(self, request, form, change):
        return form.instance  # already saved by service_save during validation

    def save_model(self, request, obj, form, change):
        pass

    def save_related(self, request, form, formsets, change):
        pass

    def construct_change_message(self, request, form, formsets, add=False):
        return ""

    # The services write Guanxi's own audit log; Django's LogEntry table stays empty.
    def log_addition(self, request, obj, message):
        return None

    def log_change(self, request, obj, message):
        return None

    def log_deletions(self, request, queryset):
        return None

    def apply_service_error(self, form, error: GuanxiError) -> None:
        """Put a service's errors on the fields (or inline rows) they name."""
        if not error.errors:
            form.add_error(None, error.message)
            return
        for key, messages_ in error.errors.items():
            target, field, prefix = self._error_target(form, key)
            for message in messages_:
                target.add_error(field, f"{prefix}{message}" if prefix else message)

    def _error_target(self, form, key: str):
        if key == "__all__":
            return form, None, ""
        name = self.service_field_map.get(key, key)
        if name.startswith("custom_fields."):
            name = "cf_" + name.split(".", 1)[1]
        if name in form.fields:
            return form, name, ""
        if match := ROW_KEY.match(key):
            rows = form.gx_rows.get(match["group"], [])
            index = int(match["index"])
            if index < len(rows):
                row = rows[index]
                field = self.row_field_map.get(match["field"] or "", match["field"])
                if field in row.fields:
                    return row, field, ""
                return row, None, f"{match['field']}: " if match["field"] else ""
        return form, None, f"{key}: "

    def get_deleted_objects(self, objs, request):
        # The services decide what a deletion takes with it; listing every related row of a
        # customer (timeline, orders…) here would be slow and beside the point.
        objs = list(objs)
        return [str(o) for o in objs], {self.opts.verbose_name_plural: len(objs)}, set(), []

    def delete_model(self, request, obj):
        try:
            self.service_delete(request, obj)
        except GuanxiError as error:
            request._gx_delete_error = error.message

    def response_delete(self, request, obj_display, obj_id):
        if message := getattr(request, "_gx_delete_error", None):
            self.message_user(request, message, messages.ERROR)
            return HttpResponseRedirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[obj_id])
            )
        return super().response_delete(request, obj_display, obj_id)

    def delete_queryset(self, request, queryset):
        done, failed = 0, []
        for obj in queryset:
            try:
                self.service_delete(request, obj)
                done += 1
            except GuanxiError as error:
                failed.append(f"{obj}: {error.message}")
        return done, failed

    @admin.action(description=_("Delete selected %(verbose_name_plural)s"), permissions=["delete"])
    def delete_selected(self, request, queryset):
        """Deletion through the services, each record checked on its own."""
        if request.POST.get("apply"):
            done, failed = self.delete_queryset(request, queryset)
            if done:
                self.message_user(
                    request,
                    gettext("Deleted %(n)d %(items)s.")
                    % {"n": done, "items": self.opts.verbose_name_plural},
                    messages.SUCCESS,
                )
            for line in failed[:10]:
                self.message_user(request, line, messages.ERROR)
            return None
        return self.render_action_page(
            request,
            queryset,
            action="delete_selected",
            title=gettext("Delete %(items)s") % {"items": self.opts.verbose_name_plural},
            intro=gettext("These records will be deleted. This cannot be undone."),
            submit_label=gettext("Yes, delete"),
            danger=True,
        )

    def render_action_page(
        self,
        request,
        queryset,
        *,
        action: str,
        title: str,
        intro: str = "",
        form=None,
        submit_label: str,
        danger: bool = False,
    ):
        """An intermediate page for a bulk action: what it applies to, a form, confirm."""
        preview = list(queryset[:21])
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "intro": intro,
            "form": form,
            "action_name": action,
            "preview": preview[:20],
            "more": len(preview) > 20,
            "count": queryset.count() if len(preview) > 20 else len(preview),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "submit_label": submit_label,
            "danger": danger,
            "cancel_url": request.get_full_path(),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "guanxi/admin/action_page.html", context)


# Users, teams, tokens, audit log --------------------------------------------------------------


class UserAddForm(ServiceModelForm):
    password1 = forms.CharField(
        label=_("Password"), widget=UnfoldAdminPasswordWidget, strip=False, required=False
    )
    password2 = forms.CharField(
        label=_("Password (again)"),
        widget=UnfoldAdminPasswordWidget,
        strip=False,
        required=False,
        help_text=_("Leave both empty to create a user who signs in only with an API token."),
    )

    class Meta:
        model = User
        fields = ["username", "display_name", "email", "role", "team"]

    def clean(self):
        data = super().clean()
        if data.get("password1") != data.get("password2"):
            self.add_error("password2", gettext("The two passwords differ."))
        return data


class UserChangeForm(ServiceModelForm):
    class Meta:
        model = User
        fields = ["display_name", "email", "role", "team", "is_active"]


ROLE_LABELS = {
    Role.ADMIN: "danger",
    Role.MANAGER: "warning",
    Role.REP: "primary",
    Role.AGENT: "info",
    Role.MARKETER: "success",
}


@admin.register(User)
class UserAdmin(GuanxiModelAdmin):
    list_display = ["username_display", "role_display", "team", "email", "is_active", "last_login"]
    list_filter = [
        ("role", ChoicesDropdownFilter),
        ("team", RelatedDropdownFilter),
        "is_active",
    ]
    search_fields = ["username", "display_name", "email"]
    ordering = ["username"]
    service_field_map = {"team_id": "team"}

    def get_queryset(self, request):
        return selectors.user_list(actor=request.user)

    def has_module_permission(self, request):
        return access.can(request.user, "user.manage")

    def has_view_permission(self, request, obj=None):
        return access.can(request.user, "user.manage")

    def has_add_permission(self, request, *args):
        return access.can(request.user, "user.manage")

    def has_change_permission(self, request, obj=None):
        return access.can(request.user, "user.manage")

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = UserChangeForm if obj is not None else UserAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [
                (None, {"fields": ["username", "display_name", "email"]}),
                (_("Role"), {"fields": ["role", "team"]}),
                (_("Password"), {"fields": ["password1", "password2"]}),
            ]
        return [
            (None, {"fields": ["display_name", "email"]}),
            (_("Role"), {"fields": ["role", "team", "is_active"]}),
        ]

    def service_save(self, request, form, formsets, *, change):
        data = form.cleaned_data
        if not change:
            return services.user_create(
                actor=request.user,
                username=data["username"],
                role=data["role"],
                password=data.get("password1") or None,
                email=data.get("email") or "",
                display_name=data.get("display_name") or "",
                team=data.get("team"),
            )
        fields = {name: data[name] for name in form.changed_data if name in data}
        return services.user_update(actor=request.user, user=form.instance, **fields)

    @display(description=_("user"), header=True, ordering="username")
    def username_display(self, obj):
        initials = (obj.display_name or obj.username)[:1].upper()
        return [obj.display_name or obj.username, obj.username, initials]

    @display(description=_("role"), label=ROLE_LABELS, ordering="role")
    def role_display(self, obj):
        return obj.role, obj.get_role_display()


@admin.register(Team)
class TeamAdmin(GuanxiModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    fields = ["name"]

    def get_queryset(self, request):
        return Team.objects.all() if access.is_admin(request.user) else Team.objects.none()

    def has_module_permission(self, request):
        return access.is_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return access.is_admin(request.user)

    def has_add_permission(self, request, *args):
        return access.can(request.user, "user.manage")

    def service_save(self, request, form, formsets, *, change):
        return services.team_get_or_create(name=form.cleaned_data["name"].strip())


class TokenAddForm(ServiceModelForm):
    class Meta:
        model = ApiToken
        fields = ["name"]
        widgets = {"name": UnfoldAdminTextInputWidget}


@admin.register(ApiToken)
class ApiTokenAdmin(GuanxiModelAdmin):
    form = TokenAddForm
    list_display = ["token_display", "user", "created_at", "last_used_at", "state"]
    search_fields = ["name", "prefix"]
    actions = ["revoke"]
    readonly_fields = ["user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]

    def get_queryset(self, request):
        return selectors.token_list(actor=request.user)

    def has_add_permission(self, request, *args):
        return access.role_of(request.user) is not None

    def has_revoke_permission(self, request, obj=None):
        return access.role_of(request.user) is not None

    def get_fields(self, request, obj=None):
        return ["name"] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def service_save(self, request, form, formsets, *, change):
        token, plain = services.token_create(
            actor=request.user, user=request.user, name=form.cleaned_data.get("name") or ""
        )
        messages.warning(
            request,
            format_html(
                "{} <code class='gx-token'>{}</code>",
                gettext("Your new API token; copy it now, it is not shown again:"),
                plain,
            ),
        )
        return token

    @display(description=_("token"), header=True)
    def token_display(self, obj):
        return [obj.name or gettext("(unnamed)"), f"{obj.prefix}…"]

    @display(description=_("state"), label={"active": "success", "revoked": "danger"})
    def state(self, obj):
        if obj.revoked_at:
            return "revoked", gettext("Revoked")
        return "active", pgettext("API token state", "Active")

    @action(description=_("Revoke selected tokens"), permissions=["revoke"])
    def revoke(self, request, queryset):
        n = 0
        for token in queryset.filter(revoked_at__isnull=True):
            try:
                services.token_revoke(actor=request.user, token=token)
                n += 1
            except GuanxiError as error:
                self.message_user(request, f"{token}: {error.message}", messages.ERROR)
        self.message_user(request, gettext("Revoked %(n)d tokens.") % {"n": n}, messages.SUCCESS)


AUDIT_LABELS = {
    AuditAction.CREATE: "success",
    AuditAction.UPDATE: "info",
    AuditAction.DELETE: "danger",
    AuditAction.EXPORT: "warning",
    AuditAction.MERGE: "primary",
}


class AuditModelFilter(admin.SimpleListFilter):
    title = _("record type")
    parameter_name = "model"
    template = "unfold/filters/filters_field.html"

    def lookups(self, request, model_admin):
        from django.apps import apps

        out = []
        for label in (
            "customers.customer",
            "customers.contact",
            "customers.customfielddefinition",
            "interactions.interaction",
            "interactions.task",
            "orders.order",
            "accounts.user",
            "accounts.apitoken",
            "accounts.accessgrant",
        ):
            model = apps.get_model(label)
            out.append((label, model._meta.verbose_name))
        return out

    def choices(self, changelist):
        from unfold.contrib.filters.forms import DropdownForm

        yield {
            "form": DropdownForm(
                label=_(" By %(filter_title)s ") % {"filter_title": self.title},
                name=self.parameter_name,
                choices=[("", gettext("All")), *self.lookup_choices],
                data={self.parameter_name: self.value()},
            )
        }

    def queryset(self, request, queryset):
        return queryset.filter(model=self.value()) if self.value() else queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(GuanxiModelAdmin):
    list_display = [
        "at",
        "actor",
        "action_display",
        "channel",
        "record_type",
        "record",
        "changes_short",
    ]
    list_filter = [("action", ChoicesDropdownFilter), AuditModelFilter, "channel"]
    search_fields = ["object_repr", "=object_id"]
    readonly_fields = [
        "at",
        "actor",
        "action",
        "channel",
        "model",
        "object_id",
        "object_repr",
        "customer_id",
        "changes",
    ]
    fields = readonly_fields
    list_select_related = ["actor"]

    def get_queryset(self, request):
        return selectors.audit_list(actor=request.user)

    def has_module_permission(self, request):
        return access.can(request.user, "audit.read_all")

    def has_view_permission(self, request, obj=None):
        return access.can(request.user, "audit.read_all")

    @display(description=_("action"), label=AUDIT_LABELS, ordering="action")
    def action_display(self, obj):
        return obj.action, obj.get_action_display()

    @display(description=_("record type"), ordering="model")
    def record_type(self, obj):
        from django.apps import apps

        try:
            return capfirst(apps.get_model(obj.model)._meta.verbose_name)
        except (LookupError, ValueError):
            return obj.model

    @display(description=_("record"))
    def record(self, obj):
        if obj.customer_id and obj.model == "customers.customer" and obj.action != "delete":
            url = reverse("admin:customers_customer_360", args=[obj.customer_id])
            return format_html('<a class="gx-link" href="{}">{}</a>', url, obj.object_repr)
        return obj.object_repr

    @display(description=_("changes"))
    def changes_short(self, obj):
        text = ", ".join(sorted(obj.changes or {}))
        return text[:80] + ("…" if len(text) > 80 else "")
