"""Customer filters, shared by the API, the staff UI and exports."""

import re
from datetime import date

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from ninja import Schema

from guanxi.core.queries import prefix_q

from .choices import CustomerKind, Source, Stage
from .cleaning import fold
from .models import Address, Customer, CustomFieldDefinition

MIN_SUBSTRING = 3  # trigram indexes answer substrings of three characters or more


class CustomerFilters(Schema):
    q: str | None = None
    kind: CustomerKind | None = None
    stage: Stage | None = None
    owner: str | None = None  # a user id, "me" or "none"
    tag: str | None = None
    city: str | None = None
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
    if connection.vendor == "sqlite":
        phrase = '"' + text.replace('"', '""') + '"'
        return Q(pk__in=_FtsMatch(phrase))
    return Q(search_text__contains=text)


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
            qs = qs.filter(owner_id=int(f.owner))
        else:
            qs = qs.filter(owner__username=f.owner)
    if f.tag:
        qs = qs.filter(tags__name=f.tag) if not f.tag.isdigit() else qs.filter(tags__id=f.tag)
    if f.city:
        qs = qs.filter(Exists(Address.objects.filter(customer=OuterRef("pk"), city=fold(f.city))))
    if f.source:
        qs = qs.filter(source=f.source)
    if f.created_after:
        qs = qs.filter(created_at__date__gte=f.created_after)
    if f.created_before:
        qs = qs.filter(created_at__date__lte=f.created_before)
    return qs


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
