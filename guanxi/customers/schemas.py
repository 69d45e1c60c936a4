from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from django.core.exceptions import ObjectDoesNotExist
from ninja import Field, Schema

from guanxi.core.api import ErrorOut, Id, PageOut, StrictIn

# A phone or email in a list must say something; blank entries are refused, not skipped.
PhoneText = Annotated[str, Field(min_length=1, max_length=60, pattern=r"\S")]
EmailText = Annotated[str, Field(min_length=1, max_length=254, pattern=r"\S")]
BOUND = 10**13  # what a DecimalField(max_digits=18, decimal_places=4) holds, with room


class AddressSchema(StrictIn):
    label: str = Field("", max_length=50)
    province: str = Field("", max_length=50)
    city: str = Field("", max_length=50)
    district: str = Field("", max_length=50)
    street: str = Field("", max_length=255)
    postcode: str = Field("", max_length=12)
    is_primary: bool = False


class AddressOut(Schema):
    label: str
    province: str
    city: str
    district: str
    street: str
    postcode: str
    is_primary: bool


class CustomerIn(StrictIn):
    kind: str = "person"
    name: str
    company_name: str = ""
    job_title: str = ""
    phones: list[PhoneText] = Field([], max_length=20)
    emails: list[EmailText] = Field([], max_length=20)
    addresses: list[AddressSchema] = []
    gender: str = ""
    birthday: date | None = None
    industry: str = ""
    company_size: str = ""
    business_scope: str = ""
    source: str = ""
    preferred_channel: str = ""
    stage: str = "lead"
    stage_cause: str = Field("", max_length=255)
    external_id: str | None = Field(None, max_length=100)
    notes: str = ""
    tags: list[str] = Field([], max_length=100)
    custom_fields: dict[str, Any] = {}
    owner: Id | None = Field(None, description="User id; reps may only name themselves.")


class CustomerPatch(StrictIn):
    kind: str | None = None
    name: str | None = None
    company_name: str | None = None
    job_title: str | None = None
    phones: list[PhoneText] | None = Field(None, max_length=20)
    emails: list[EmailText] | None = Field(None, max_length=20)
    addresses: list[AddressSchema] | None = None
    gender: str | None = None
    birthday: date | None = None
    industry: str | None = None
    company_size: str | None = None
    business_scope: str | None = None
    source: str | None = None
    preferred_channel: str | None = None
    stage: str | None = None
    stage_cause: str | None = Field(None, max_length=255)
    external_id: str | None = Field(None, max_length=100)
    notes: str | None = None
    tags: list[str] | None = Field(None, max_length=100)
    custom_fields: dict[str, Any] | None = None
    owner: Id | None = None


class CustomerValueBrief(Schema):
    as_of: date
    segment_cn: str
    segment_named: str
    historical_value: Decimal
    lifetime_value: Decimal | None
    p_alive: float | None


class CustomerOut(Schema):
    id: int
    kind: str
    name: str
    name_pinyin: str
    company_name: str
    job_title: str
    phones: list[str]
    emails: list[str]
    addresses: list[AddressOut]
    gender: str
    birthday: date | None
    industry: str
    company_size: str
    business_scope: str
    source: str
    preferred_channel: str
    stage: str
    stage_changed_at: datetime | None
    external_id: str | None
    notes: str
    tags: list[str]
    custom_fields: dict[str, Any]
    owner: int | None
    owner_username: str | None
    created_at: datetime
    updated_at: datetime
    value: CustomerValueBrief | None = None

    @staticmethod
    def resolve_value(obj):
        # The latest value refresh's figures (GET /customers/{id}/value has them all).
        try:
            return obj.value
        except ObjectDoesNotExist:  # not valued yet
            return None

    @staticmethod
    def resolve_phones(obj):
        if listed := getattr(obj, "listed", None):  # selectors.customer_list_load
            return listed["phones"]
        return [p.number for p in obj.phones.all()]

    @staticmethod
    def resolve_emails(obj):
        if listed := getattr(obj, "listed", None):
            return listed["emails"]
        return [e.email for e in obj.emails.all()]

    @staticmethod
    def resolve_tags(obj):
        if listed := getattr(obj, "listed", None):
            return listed["tags"]
        return [t.name for t in obj.tags.all()]

    @staticmethod
    def resolve_addresses(obj):
        if listed := getattr(obj, "listed", None):
            return listed["addresses"]
        return list(obj.addresses.all())

    @staticmethod
    def resolve_owner(obj):
        return obj.owner_id

    @staticmethod
    def resolve_owner_username(obj):
        return obj.owner.username if obj.owner_id else None


class CustomerPage(PageOut):
    items: list[CustomerOut]


class StageIn(StrictIn):
    stage: str
    cause: str = Field("", max_length=255)


class StageChangeOut(Schema):
    from_stage: str
    to_stage: str
    cause: str
    actor: int | None = Field(None, alias="actor_id")
    at: datetime


class BulkAssignIn(StrictIn):
    ids: list[Id] = Field(..., max_length=10000)
    owner: Id


class BulkTagIn(StrictIn):
    ids: list[Id] = Field(..., max_length=10000)
    add: list[str] = Field([], max_length=100)
    remove: list[str] = Field([], max_length=100)


class BulkOut(Schema):
    changed: int


class ContactIn(StrictIn):
    customer: Id
    name: str
    title: str = ""
    phone: str = ""
    email: str = ""
    is_primary: bool = False
    notes: str = ""


class ContactPatch(StrictIn):
    name: str | None = None
    title: str | None = None
    phone: str | None = None
    email: str | None = None
    is_primary: bool | None = None
    notes: str | None = None


class ContactOut(Schema):
    id: int
    customer: int = Field(..., alias="customer_id")
    name: str
    title: str
    phone: str
    email: str
    is_primary: bool
    notes: str


class ContactPage(PageOut):
    items: list[ContactOut]


class CustomFieldIn(StrictIn):
    key: str = Field(..., max_length=50)
    label_zh: str = Field(..., max_length=100)
    label_en: str = Field("", max_length=100)
    field_type: str
    choices: list[str] = Field([], max_length=500)
    required: bool = False
    min_value: float | None = Field(None, ge=-BOUND, le=BOUND, allow_inf_nan=False)
    max_value: float | None = Field(None, ge=-BOUND, le=BOUND, allow_inf_nan=False)
    max_length: int | None = Field(None, ge=1, le=10000)
    help_text: str = Field("", max_length=200)
    position: int = Field(0, ge=0, le=32000)


class CustomFieldPatch(StrictIn):
    label_zh: str | None = Field(None, max_length=100)
    label_en: str | None = Field(None, max_length=100)
    choices: list[str] | None = Field(None, max_length=500)
    required: bool | None = None
    min_value: float | None = Field(None, ge=-BOUND, le=BOUND, allow_inf_nan=False)
    max_value: float | None = Field(None, ge=-BOUND, le=BOUND, allow_inf_nan=False)
    max_length: int | None = Field(None, ge=1, le=10000)
    help_text: str | None = Field(None, max_length=200)
    position: int | None = Field(None, ge=0, le=32000)
    is_active: bool | None = None


class CustomFieldOut(Schema):
    key: str
    label_zh: str
    label_en: str
    field_type: str
    choices: list[str]
    required: bool
    min_value: float | None
    max_value: float | None
    max_length: int | None
    help_text: str
    position: int
    is_active: bool


class TimelineEventOut(Schema):
    id: int
    kind: str
    at: datetime
    actor: int | None = Field(None, alias="actor_id")
    summary: str
    data: dict[str, Any]
    object_model: str
    object_id: int | None

    @staticmethod
    def resolve_summary(obj):
        from guanxi.interactions.timeline import describe

        return describe(obj)


# Duplicates and merges


class CustomerBrief(Schema):
    id: int
    name: str
    kind: str
    company_name: str
    birthday: date | None
    phones: list[str]
    emails: list[str]
    owner: str | None

    @staticmethod
    def resolve_phones(obj):
        return [p.number for p in obj.phones.all()]

    @staticmethod
    def resolve_emails(obj):
        return [e.email for e in obj.emails.all()]

    @staticmethod
    def resolve_owner(obj):
        return obj.owner.username if obj.owner else None


class ReviewOut(Schema):
    id: int
    status: str
    score: float = Field(description="The probability that these are one customer (0–1).")
    source: str
    explanation: list[dict[str, Any]]
    import_job: int | None = Field(None, alias="import_job_id")
    created_at: datetime
    customer: CustomerBrief
    other: CustomerBrief


class ReviewPage(PageOut):
    items: list[ReviewOut]


class MergeIn(StrictIn):
    keep: str = Field("customer", description='Which survives: "customer" or "other".')
    choose: dict[str, str] = Field(
        {}, description='Field → "survivor" or "other": whose value is kept (default survivor).'
    )


class CustomerMergeIn(StrictIn):
    other: int = Field(ge=1, description="The customer to merge into this one (it goes away).")
    choose: dict[str, str] = {}


class MergeOut(Schema):
    id: int
    survivor: int | None = Field(None, alias="survivor_id")
    merged_id: int
    merged_name: str
    found_by: str
    at: datetime
    undone_at: datetime | None
    by: str | None

    @staticmethod
    def resolve_by(obj):
        return obj.actor.username if obj.actor else None


class MergePage(PageOut):
    items: list[MergeOut]


# Ending a relationship (关系终止) ---------------------------------------------------------------


class TerminationIn(StrictIn):
    reason: str = Field(..., max_length=2000, description="Why the relationship should end.")


class TerminationDecisionIn(StrictIn):
    note: str = Field("", max_length=2000, description="Required when rejecting.")


class OpenOrderOut(Schema):
    id: int
    number: str
    status: str


class OpenTaskOut(Schema):
    id: int
    title: str
    owner: str | None


class TerminationOut(Schema):
    id: int
    customer: int = Field(alias="customer_id")
    customer_name: str
    status: str = Field(description="pending, approved, rejected or withdrawn.")
    reason: str
    requested_by: str | None
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str
    settlement: dict[str, Any] = Field(
        description="What the settlement check found at approval: open orders and tasks "
        "(none), and the settled ones counted by status."
    )

    @staticmethod
    def resolve_customer_name(obj):
        return obj.customer.name

    @staticmethod
    def resolve_requested_by(obj):
        return obj.requested_by.username if obj.requested_by else None

    @staticmethod
    def resolve_decided_by(obj):
        return obj.decided_by.username if obj.decided_by else None


class TerminationPage(PageOut):
    items: list[TerminationOut]


class SettlementConflictOut(ErrorOut):
    """The answer (409) when orders or tasks are still open, naming them."""

    open_orders: list[OpenOrderOut] = []
    open_tasks: list[OpenTaskOut] = []
