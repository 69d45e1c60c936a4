"""Customer filters, shared by the API, the staff UI and exports."""

import re
from datetime import date

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _
from pydantic import Field

from guanxi.core.api import MAX_ID, QueryIn
from guanxi.core.queries import prefix_q

from .choices import CustomerKind, Source, Stage
from .cleaning import fold
from .models import Address, Customer, CustomFieldDefinition

MIN_SUBSTRING = 3  # trigram indexes answer substrings of three characters or more


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


def search_q(raw: str) -> Q | None:
    """Name, pinyin ("zhangsan"), initials ("zs"), any part of a phone, email, company.

    Three characters or more: a substring of the search text, served by an FTS5 trigram
    table on SQLite and a pg_trgm GIN index on PostgreSQL. Shorter: a prefix of the name,
    its pinyin or its initials, served by B-tree indexes.
    """
    text = fold(raw).lower()
    if not text:
        return None
    if re.fullmatch(r"[\d\s()+\-]+", text):
        digits = re.sub(r"\D", "", text)
        text = digits or text
    if len(text) < MIN_SUBSTRING:
        return (
            prefix_q("name_initials", text)
            | prefix_q("name_pinyin", text)
            | prefix_q("name", fold(raw))
        )
    variants = [text]
    squeezed = text.replace(" ", "")
    if squeezed != text and len(squeezed) >= MIN_SUBSTRING:
        variants.append(squeezed)  # "zhang san" finds 张三 (indexed as "zhangsan")
    if connection.vendor == "sqlite":
        phrases = " OR ".join('"' + v.replace('"', '""') + '"' for v in variants)
        return Q(pk__in=_FtsMatch(phrases))
    q = Q()
    for v in variants:
        q |= Q(search_text__contains=v)
    return q


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
    if f.q and (q := search_q(f.q)) is not None:
        qs = qs.filter(q)
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
