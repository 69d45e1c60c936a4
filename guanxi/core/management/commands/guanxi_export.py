"""`guanxi export customers|contacts|orders|interactions|tasks FILE`: a list, with its filters,
written to a CSV (UTF-8 with BOM) or Excel file, as the user named with --as sees it."""

import os
from contextlib import nullcontext
from pathlib import Path

from django.utils.translation import gettext as _
from django.utils.translation import override
from pydantic import ValidationError

from guanxi.core.api import Id, QueryIn
from guanxi.core.errors import ValidationFailed
from guanxi.core.tabular import FORMATS, table_bytes

from ._actor import acting_user
from ._base import GuanxiCommand

KINDS = ("customers", "contacts", "orders", "interactions", "tasks")


class ContactFilters(QueryIn):
    """The contacts list's one filter (GET /contacts takes it as a plain parameter)."""

    customer: Id | None = None


def _filters(schema, values: dict):
    """The list's filter schema from the options given; bad values name their option."""
    try:
        return schema(**{k: v for k, v in values.items() if v is not None})
    except ValidationError as e:
        errors: dict[str, list[str]] = {}
        for err in e.errors():
            field = str(err["loc"][0]) if err.get("loc") else "__all__"
            errors.setdefault(field, []).append(err["msg"])
        raise ValidationFailed(errors=errors) from e


def _custom(pairs: list[str]) -> dict[str, str]:
    from guanxi.customers.filters import clean_custom_field_params

    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValidationFailed(errors={"cf": [_("Write a custom field filter as KEY=VALUE.")]})
        params[f"cf_{key.removeprefix('cf_')}"] = value
    return clean_custom_field_params(params)


def export_table(kind: str, actor, options: dict):
    """The export of `kind` for `actor`, with the filters among `options`."""
    if kind == "customers":
        from guanxi.customers.exports import customer_export
        from guanxi.customers.filters import CustomerFilters

        names = ("q", "kind", "stage", "owner", "tag", "city", "source")
        names += ("created_after", "created_before")
        filters = _filters(CustomerFilters, {n: options.get(n) for n in names})
        return customer_export(actor=actor, filters=filters, custom=_custom(options["cf"]))
    if kind == "contacts":
        from guanxi.customers.exports import contact_export

        customer = _filters(ContactFilters, {"customer": options.get("customer")}).customer
        return contact_export(actor=actor, customer_id=customer)
    if kind == "orders":
        from guanxi.orders.exports import order_export
        from guanxi.orders.schemas import OrderFilters

        names = ("customer", "status", "ordered_after", "ordered_before")
        filters = _filters(OrderFilters, {n: options.get(n) for n in names})
        return order_export(actor=actor, filters=filters)
    if kind == "interactions":
        from guanxi.interactions.exports import interaction_export
        from guanxi.interactions.schemas import InteractionFilters

        names = ("customer", "kind", "channel", "q", "after", "before")
        filters = _filters(InteractionFilters, {n: options.get(n) for n in names})
        return interaction_export(actor=actor, filters=filters)
    from guanxi.interactions.exports import task_export
    from guanxi.interactions.schemas import TaskFilters

    names = ("customer", "status", "owner")
    return task_export(
        actor=actor, filters=_filters(TaskFilters, {n: options.get(n) for n in names})
    )


def file_format(path: Path, given: str) -> str:
    """--format, or else the file's suffix."""
    fmt = (given or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ValidationFailed(
            errors={"format": [_("Give --format csv or xlsx, or a file ending in .csv or .xlsx.")]}
        )
    return fmt


class Command(GuanxiCommand):
    help = _("Export customers, contacts, orders, interactions or tasks to a CSV or Excel file.")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True, metavar="{" + ",".join(KINDS) + "}")
        parsers = {}
        for kind in KINDS:
            p = sub.add_parser(kind, help=_("export %(kind)s to FILE") % {"kind": kind})
            p.add_argument("file", help=_("where to write: a .csv or .xlsx file"))
            p.add_argument(
                "--format",
                default="",
                help=_("csv or xlsx (default: from the file's suffix)"),
            )
            p.add_argument(
                "--as",
                dest="as_user",
                default="",
                help=_("export as this user (default: the first admin)"),
            )
            p.add_argument(
                "--language",
                default="",
                help=_("language of headers and labels, e.g. zh-hans or en (default: the site's)"),
            )
            if kind != "customers":
                p.add_argument("--customer", help=_("only those of this customer (id)"))
            parsers[kind] = p
        c = parsers["customers"]
        c.add_argument("--q", help=_("search: name, pinyin, initials, phone, email, company"))
        c.add_argument("--kind", help=_("person or company"))
        c.add_argument("--stage", help=_("lifecycle stage, e.g. lead, active"))
        c.add_argument("--owner", help=_('owner: a username, a user id, "me" or "none"'))
        c.add_argument("--tag", help=_("tag name"))
        c.add_argument("--city")
        c.add_argument("--source", help=_("source channel, e.g. web, referral"))
        c.add_argument("--created-after", help=_("YYYY-MM-DD"))
        c.add_argument("--created-before", help=_("YYYY-MM-DD"))
        c.add_argument(
            "--cf",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help=_("a custom field filter; repeat for more"),
        )
        o = parsers["orders"]
        o.add_argument("--status", help=_("e.g. paid, shipped, refunded"))
        o.add_argument("--ordered-after", help=_("YYYY-MM-DD"))
        o.add_argument("--ordered-before", help=_("YYYY-MM-DD"))
        i = parsers["interactions"]
        i.add_argument("--kind", help=_("e.g. call, email, meeting, visit"))
        i.add_argument("--channel", help=_("e.g. phone, wechat, email"))
        i.add_argument("--q", help=_("text in subject, details or outcome"))
        i.add_argument("--after", help=_("YYYY-MM-DD"))
        i.add_argument("--before", help=_("YYYY-MM-DD"))
        t = parsers["tasks"]
        t.add_argument("--status", help=_("open, done or cancelled"))
        t.add_argument("--owner", help=_('assigned to: "me" or a user id'))

    def handle(self, *args, what, file, **options):
        path = Path(file)
        fmt = file_format(path, options["format"])
        if not path.parent.is_dir():
            raise ValidationFailed(
                errors={"file": [_("No such directory: %(p)s") % {"p": path.parent}]}
            )
        actor = acting_user(options["as_user"])
        language = override(options["language"]) if options["language"] else nullcontext()
        with language:
            table = export_table(what, actor, options)
            written = 0

            def counted(rows):
                nonlocal written
                for row in rows:
                    written += 1
                    yield row

            table.rows = counted(table.rows)
            # Written beside the target and renamed when complete: no half-written file.
            part = path.with_name(f".{path.name}.part")
            try:
                with open(part, "wb") as out:
                    for piece in table_bytes(table, fmt):
                        out.write(piece)
                os.replace(part, path)
            finally:
                part.unlink(missing_ok=True)
            self.stdout.write(
                _("Wrote %(n)s %(kind)s to %(path)s (%(format)s).")
                % {"n": f"{written:,}", "kind": what, "path": path, "format": fmt}
            )
