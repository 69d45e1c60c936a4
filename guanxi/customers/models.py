from django.conf import settings
from django.db import models
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from guanxi.core.models import OwnedModel, TimestampedModel

from .choices import (
    CompanySize,
    ContactChannel,
    CustomerKind,
    CustomFieldType,
    Gender,
    ReviewSource,
    ReviewStatus,
    Source,
    Stage,
    TerminationStatus,
)


class Tag(TimestampedModel):
    name = models.CharField(_("name"), max_length=50, unique=True)
    color = models.CharField(_("colour"), max_length=20, default="gray")

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Customer(OwnedModel):
    kind = models.CharField(
        _("kind"), max_length=10, choices=CustomerKind.choices, default=CustomerKind.PERSON
    )
    name = models.CharField(_("name"), max_length=200, db_index=True)
    # Search keys derived from the name by the services; never edited directly.
    name_pinyin = models.CharField(_("pinyin"), max_length=400, db_index=True, editable=False)
    name_initials = models.CharField(_("initials"), max_length=100, db_index=True, editable=False)
    search_text = models.TextField(editable=False, default="")
    company_name = models.CharField(_("company"), max_length=200, blank=True)
    job_title = models.CharField(
        pgettext_lazy("a person's position at their company", "job title"),
        max_length=100,
        blank=True,
        default="",
        db_default="",
    )
    gender = models.CharField(
        _("gender"), max_length=10, choices=Gender.choices, blank=True, default=""
    )
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    company_size = models.CharField(
        _("company size"), max_length=10, choices=CompanySize.choices, blank=True, default=""
    )
    business_scope = models.TextField(_("business scope"), blank=True)
    source = models.CharField(
        _("source channel"), max_length=20, choices=Source.choices, blank=True, db_index=True
    )
    preferred_channel = models.CharField(
        _("preferred contact channel"), max_length=10, choices=ContactChannel.choices, blank=True
    )
    stage = models.CharField(
        _("lifecycle stage"),
        max_length=12,
        choices=Stage.choices,
        default=Stage.LEAD,
    )  # indexed with created_at (Meta.indexes)
    stage_changed_at = models.DateTimeField(_("stage changed at"), null=True, blank=True)
    external_id = models.CharField(
        _("external id"), max_length=100, null=True, blank=True, unique=True
    )
    notes = models.TextField(_("notes"), blank=True)
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="customers")

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="cust_owner_created"),
            models.Index(fields=["stage", "-created_at"], name="cust_stage_created"),
        ]

    def __str__(self):
        return self.name

    @property
    def is_company(self) -> bool:
        return self.kind == CustomerKind.COMPANY


class CustomerPhone(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(_("phone"), max_length=20, db_index=True)  # E.164
    extension = models.CharField(_("extension"), max_length=10, blank=True)
    label = models.CharField(_("label"), max_length=30, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("phone")
        verbose_name_plural = _("phones")
        ordering = ["position", "id"]

    def __str__(self):
        return self.number + (f" ext. {self.extension}" if self.extension else "")


class CustomerEmail(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="emails")
    email = models.CharField(_("email"), max_length=254, db_index=True)  # lower-cased
    label = models.CharField(_("label"), max_length=30, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("email")
        verbose_name_plural = _("emails")
        ordering = ["position", "id"]

    def __str__(self):
        return self.email


class Address(TimestampedModel):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    label = models.CharField(_("label"), max_length=50, blank=True)
    province = models.CharField(_("province"), max_length=50, blank=True)
    city = models.CharField(_("city"), max_length=50, blank=True, db_index=True)
    district = models.CharField(_("district"), max_length=50, blank=True)
    street = models.CharField(_("street address"), max_length=255, blank=True)
    postcode = models.CharField(_("postcode"), max_length=12, blank=True)
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        ordering = ["-is_primary", "id"]

    def __str__(self):
        return " ".join(p for p in (self.province, self.city, self.district, self.street) if p)


class Contact(TimestampedModel):
    """A person at a company customer."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("company"), on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(
        pgettext_lazy("job title of a contact", "title"), max_length=100, blank=True
    )
    phone = models.CharField(_("phone"), max_length=20, blank=True, db_index=True)
    email = models.CharField(_("email"), max_length=254, blank=True, db_index=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-is_primary", "name"]

    def __str__(self):
        return f"{self.name} ({self.title})" if self.title else self.name


class CustomFieldDefinition(TimestampedModel):
    """A customer field an admin adds without code; values live in Customer.custom_fields."""

    key = models.SlugField(_("key"), max_length=50, unique=True)
    label_zh = models.CharField(_("label (Chinese)"), max_length=100)
    label_en = models.CharField(_("label (English)"), max_length=100, blank=True)
    field_type = models.CharField(_("type"), max_length=10, choices=CustomFieldType.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    min_value = models.DecimalField(
        _("minimum"), max_digits=18, decimal_places=4, null=True, blank=True
    )
    max_value = models.DecimalField(
        _("maximum"), max_digits=18, decimal_places=4, null=True, blank=True
    )
    max_length = models.PositiveIntegerField(_("maximum length"), null=True, blank=True)
    help_text = models.CharField(_("help text"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["position", "key"]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        if (get_language() or "").startswith("en") and self.label_en:
            return self.label_en
        return self.label_zh or self.label_en or self.key


class StageChange(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(_("from"), max_length=12, choices=Stage.choices, blank=True)
    to_stage = models.CharField(_("to"), max_length=12, choices=Stage.choices)
    cause = models.CharField(_("cause"), max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("time"), db_index=True)

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.customer_id}: {self.from_stage} → {self.to_stage}"


class DuplicateReview(models.Model):
    """Two customers that may be one person or company, waiting for someone to decide."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", verbose_name=_("customer")
    )
    other = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("possible duplicate"),
    )
    score = models.FloatField(_("match probability"))
    explanation = models.JSONField(default=list, blank=True)
    source = models.CharField(_("found by"), max_length=8, choices=ReviewSource.choices)
    import_job_id = models.BigIntegerField(_("import"), null=True, blank=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ReviewStatus.choices,
        default=ReviewStatus.OPEN,
        db_index=True,
    )
    created_at = models.DateTimeField(_("found"), auto_now_add=True)
    resolved_at = models.DateTimeField(_("decided"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("possible duplicate")
        verbose_name_plural = _("possible duplicates")
        ordering = ["-score", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "other"],
                condition=models.Q(status="open"),
                name="uniq_open_duplicate_review",
            )
        ]

    def __str__(self):
        return f"{self.customer_id} ~ {self.other_id} ({self.score:.2f})"


class CustomerMerge(models.Model):
    """One customer merged into another, with everything needed to take it back."""

    survivor = models.ForeignKey(
        Customer,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("kept customer"),
    )
    merged_id = models.BigIntegerField(_("merged customer id"))
    merged_name = models.CharField(_("merged customer"), max_length=200)
    # The merged customer as it was (profile, phones, emails, addresses, tags).
    merged_snapshot = models.JSONField(default=dict)
    # The kept customer's values that the merge changed, before it changed them.
    survivor_before = models.JSONField(default=dict)
    # Model label → ids of the records moved from the merged customer to the kept one.
    moved = models.JSONField(default=dict)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Where the pair came from, when it was a reviewed pair (the review row itself goes
    # with the merged customer).
    found_by = models.CharField(_("found by"), max_length=8, blank=True)
    score = models.FloatField(_("match probability"), null=True, blank=True)
    import_job_id = models.BigIntegerField(_("import"), null=True, blank=True)
    at = models.DateTimeField(_("merged at"), auto_now_add=True)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.merged_name} → {self.survivor_id}"


class TerminationRequest(models.Model):
    """A request to end the relationship with a customer (关系终止) and its decision.

    Written only by customers.services.termination: a person who may edit the customer asks,
    giving the reason; a manager of the customer's team (or an admin) approves once no order
    or task is open, which moves the customer to "terminated" (read-only, never contacted),
    or rejects it; the requester or a manager may withdraw it while it waits.
    """

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="termination_requests",
    )
    reason = models.TextField(_("reason"))
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=TerminationStatus.choices,
        default=TerminationStatus.PENDING,
        db_index=True,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_at = models.DateTimeField(_("requested at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True, default="")
    # What the settlement check found when the request was approved: the orders and tasks
    # still open (none, or it would not have been approved) and the settled ones by status.
    settlement = models.JSONField(_("settlement check"), default=dict, blank=True)

    class Meta:
        verbose_name = _("request to end a relationship")
        verbose_name_plural = _("requests to end a relationship")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(status="pending"),
                name="uniq_pending_termination",
            )
        ]

    def __str__(self):
        return f"{self.customer_id}: {self.get_status_display()}"
