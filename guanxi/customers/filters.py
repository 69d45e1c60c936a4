"""Customer filters, shared by the API, the staff UI and exports."""

import re
from datetime import date
from enum import StrEnum

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _
from pydantic import Field, field_validator

from guanxi.core.api import MAX_ID, QueryIn
from guanxi.core.queries import prefix_q

from .choices import CustomerKind, Source, Stage
from .cleaning import fold
from .models import Address, Customer, CustomFieldDefinition

MIN_SUBSTRING = 3  # trigram indexes answer substrings of three characters or more
FTS_TABLE = "customers_customer_fts"


class CustomerSort(StrEnum):
    """Orders of the customer list; the value ones use the latest value refresh."""

    NEWEST = "-created_at"
    NAME = "name"
    LIFETIME_VALUE = "-lifetime_value"
    LIFETIME_VALUE_ASC = "lifetime_value"
    HISTORICAL_VALUE = "-historical_value"
    HISTORICAL_VALUE_ASC = "historical_value"
    P_ALIVE = "-p_alive"
    P_ALIVE_ASC = "p_alive"
    RECENCY = "recency_days"
    RECENCY_DESC = "-recency_days"


def apply_sort(qs: QuerySet[Customer], sort: "CustomerSort | str") -> QuerySet[Customer]:
    """Order by `sort`; customers without the value figure come last either way."""
    sort = CustomerSort(sort)
    if sort in (CustomerSort.NEWEST, CustomerSort.NAME):
        return qs.order_by(sort.value, "-id")
    from guanxi.analytics.selectors import value_ordering  # analytics owns these figures

    return qs.order_by(value_ordering(sort.value), "-id")


class CustomerFilters(QueryIn):
    q: str | None = Field(None, max_length=200)
    kind: CustomerKind | None = None
    stage: Stage | None = None
    owner: str | None = Field(
        None, max_length=150, description='A user id or username, "me" or "none".'
    )
    tag: str | None = Field(None, max_length=50, description="A tag name (or id).")
    city: str | None = Field(None, max_length=50)
    source: Source | None = None
    created_after: date | None = None
    created_before: date | None = None
    # Value figures of the latest refresh (analytics).
    segment: str | None = Field(
        None,
        max_length=20,
        description="An RFM segment: a class (important_value …) or a named segment (champions …).",
    )
    r_score: int | None = Field(None, ge=1, le=5)
    f_score: int | None = Field(None, ge=1, le=5)
    m_score: int | None = Field(None, ge=1, le=5)
    lifetime_value: str | None = Field(
        None,
        max_length=40,
        description="A range of predicted lifetime value: 1000-5000, 1000-, -200.",
    )
    historical_value: str | None = Field(
        None, max_length=40, description="A range, like lifetime_value."
    )
    p_alive: str | None = Field(None, max_length=40, description="A range within 0-1: 0-0.3.")
    first_order_month: str | None = Field(
        None,
        pattern=r"^\d{4}-\d{2}$",
        description="Customers who first bought in this month (YYYY-MM).",
    )
    ordered_in: str | None = Field(
        None,
        pattern=r"^\d{4}-\d{2}$",
        description="Customers with a paid order in this month (YYYY-MM).",
    )
    # Segments, behaviour tags and value tiers (segments).
    in_segment: str | None = Field(
        None,
        max_length=100,
        description="Current members of a segment or behaviour tag (its id or name).",
    )
    tier: str | None = Field(None, max_length=50, description="A value tier (its id or name).")

    @field_validator("lifetime_value", "historical_value", "p_alive")
    @classmethod
    def _range(cls, value):
        from guanxi.analytics.selectors import parse_range

        if value not in (None, ""):
            parse_range(value)  # a ValueError names the problem
        return value or None

    @field_validator("first_order_month", "ordered_in")
    @classmethod
    def _month(cls, value):
        from guanxi.analytics.selectors import parse_month

        if value not in (None, ""):
            parse_month(value)
        return value or None

    @field_validator("segment")
    @classmethod
    def _segment(cls, value):
        from guanxi.analytics.selectors import SEGMENT_CODES

        if value not in (None, "") and value not in SEGMENT_CODES:
            raise ValueError(_("Unknown RFM segment “%(s)s”.") % {"s": value})
        return value or None


def _search_terms(raw: str) -> tuple[str, list[str]]:
    """(folded text, substring variants); no variants when the text is a short prefix."""
    text = fold(raw).lower()
    if re.fullmatch(r"[\d\s()+\-]+", text):
        digits = re.sub(r"\D", "", text)
        text = digits or text
    if len(text) < MIN_SUBSTRING:
        return text, []
    variants = [text]
    squeezed = text.replace(" ", "")
    if squeezed != text and len(squeezed) >= MIN_SUBSTRING:
        variants.append(squeezed)  # "zhang san" finds 张三 (indexed as "zhangsan")
    return text, variants


def _fts_phrases(variants: list[str]) -> str:
    return " OR ".join('"' + v.replace('"', '""') + '"' for v in variants)


def search_q(raw: str) -> Q | None:
    """Name, pinyin ("zhangsan"), initials ("zs"), any part of a phone, email, company.

    Three characters or more: a substring of the search text, served by an FTS5 trigram
    table on SQLite and a pg_trgm GIN index on PostgreSQL. Shorter: a prefix of the name,
    its pinyin or its initials, served by B-tree indexes. (`search` is the faster form for
    lists: it also orders the matches.)
    """
    text, variants = _search_terms(raw)
    if not text:
        return None
    if not variants:
        return (
            prefix_q("name_initials", text)
            | prefix_q("name_pinyin", text)
            | prefix_q("name", fold(raw))
        )
    if connection.vendor == "sqlite":
        return Q(pk__in=_FtsMatch(_fts_phrases(variants)))
    q = Q()
    for v in variants:
        q |= Q(search_text__contains=v)
    return q


def search(qs: QuerySet[Customer], raw: str) -> QuerySet[Customer]:
    """`qs` narrowed to the customers matching `raw`, newest first.

    Matches are ordered by id (customers get ascending ids as they are created, so this is
    newest first), which each database answers without reading every matching row: the
    prefix indexes carry the id; SQLite reads the FTS5 table in descending rowid order,
    joined to the customers, and stops at the page; PostgreSQL may walk the primary key
    backwards when the matches are many.
    """
    text, variants = _search_terms(raw)
    if not text:
        return qs
    if not variants and connection.vendor == "sqlite":
        # The ids first (from the prefix indexes alone), then the rows of the page: SQLite
        # would otherwise read every matching row before sorting.
        ids = Customer.objects.filter(search_q(raw)).values("pk")
        return qs.filter(pk__in=ids).order_by("-id")
    if not variants or connection.vendor != "sqlite":
        return qs.filter(search_q(raw)).order_by("-id")
    # extra() is the one way to put the FTS table in the FROM clause and order by its rowid.
    return qs.extra(  # noqa: S610 - the phrase is a parameter
        tables=[FTS_TABLE],
        where=[f"{FTS_TABLE}.rowid = customers_customer.id", f"{FTS_TABLE} MATCH %s"],
        params=[_fts_phrases(variants)],
        select={"search_order": f"{FTS_TABLE}.rowid"},
        order_by=["-search_order"],
    )


class _FtsMatch:
    """Lazy `rowid IN (SELECT … MATCH …)` for SQLite, usable inside a Q."""

    def __init__(self, phrase: str):
        self.phrase = phrase

    def resolve_expression(self, *args, **kwargs):
        from django.db.models.expressions import RawSQL

        return RawSQL(
            "SELECT rowid FROM customers_customer_fts WHERE customers_customer_fts MATCH %s",
            (self.phrase,),
        ).resolve_expression(*args, **kwargs)


def apply_filters(qs: QuerySet[Customer], f: CustomerFilters, *, actor=None) -> QuerySet:
    if f.q:
        qs = search(qs, f.q)
    if f.kind:
        qs = qs.filter(kind=f.kind)
    if f.stage:
        qs = qs.filter(stage=f.stage)
    if f.owner:
        if f.owner == "me" and actor is not None:
            qs = qs.filter(owner=actor)
        elif f.owner == "none":
            qs = qs.filter(owner__isnull=True)
        elif f.owner.isdigit():
            owner_id = int(f.owner)
            qs = qs.filter(owner_id=owner_id) if owner_id <= MAX_ID else qs.none()
        else:
            qs = qs.filter(owner__username=f.owner)
    if f.tag:
        # A tag is named ("vip", or "2024" for a year); a number also matches a tag's id.
        tagged = Q(tag__name=fold(f.tag))
        if f.tag.isdigit() and int(f.tag) <= MAX_ID:
            tagged |= Q(tag_id=int(f.tag))
        through = Customer.tags.through.objects.filter(tagged, customer_id=OuterRef("pk"))
        qs = qs.filter(Exists(through))
    if f.city:
        qs = qs.filter(Exists(Address.objects.filter(customer=OuterRef("pk"), city=fold(f.city))))
    if f.source:
        qs = qs.filter(source=f.source)
    if f.created_after:
        qs = qs.filter(created_at__date__gte=f.created_after)
    if f.created_before:
        qs = qs.filter(created_at__date__lte=f.created_before)
    from guanxi.analytics.selectors import value_q  # analytics owns these figures

    q = value_q(f)
    if q is not None:
        qs = qs.filter(q)
    if f.in_segment or f.tier:
        from guanxi.segments.selectors import member_q, tier_q  # segments owns these

        for ref, find in ((f.in_segment, member_q), (f.tier, tier_q)):
            if ref:
                found = find(ref)
                qs = qs.filter(found) if found is not None else qs.none()
    return qs


def clean_custom_field_params(params: dict[str, str]) -> dict[str, str]:
    """Check `cf_<key>[__gte|__lte]=value` query parameters; ValidationFailed names the bad ones."""
    from guanxi.core.errors import ValidationFailed

    from .cleaning import clean_custom_value

    if not params:
        return params
    definitions = {d.key: d for d in CustomFieldDefinition.objects.filter(is_active=True)}
    errors: dict[str, list[str]] = {}
    for name, raw in params.items():
        if not name.startswith("cf_") or raw in (None, ""):
            continue
        key, _sep, op = name[3:].partition("__")
        definition = definitions.get(key)
        if "\x00" in raw:
            errors[name] = [_("Text may not contain NUL characters.")]
        elif definition is None:
            errors[name] = [_("No custom field with this key.")]
        elif op not in ("", "gte", "lte"):
            errors[name] = [_("Use cf_<key>, cf_<key>__gte or cf_<key>__lte.")]
        else:
            try:
                clean_custom_value(definition, raw)
            except ValueError as e:
                errors[name] = [str(e)]
    if errors:
        raise ValidationFailed(errors=errors)
    return params


def apply_custom_field_filters(qs: QuerySet[Customer], params: dict[str, str]) -> QuerySet:
    """`cf_<key>=value` filters on custom fields (exact, or a range with cf_<key>__gte/__lte)."""
    from .cleaning import clean_custom_value

    definitions = {d.key: d for d in CustomFieldDefinition.objects.filter(is_active=True)}
    for name, raw in params.items():
        if not name.startswith("cf_") or raw in (None, ""):
            continue
        key, _sep, op = name[3:].partition("__")
        definition = definitions.get(key)
        if definition is None or op not in ("", "gte", "lte"):
            continue
        try:
            value = clean_custom_value(definition, raw)
        except ValueError:
            return qs.none()
        lookup = f"custom_fields__{key}" + (f"__{op}" if op else "")
        qs = qs.filter(**{lookup: value})
    return qs
