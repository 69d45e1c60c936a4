"""What the importers of contacts, orders and interactions share: rows that name the customer
they belong to, found a chunk at a time among the customers the importing user may see, and
problems found while writing, reported against the row and column they come from."""

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.accounts import access
from guanxi.customers import selectors as customer_selectors
from guanxi.customers.cleaning import normalize_email, normalize_phone

from .. import values as v
from ..choices import Severity
from .base import Importer, Issue, Outcome, Prepared

# Field key → the kind of key it is, in the order they decide which customer a row names.
CUSTOMER_KEYS = {
    "customer_external_id": "external_id",
    "customer_phone": "phone",
    "customer_email": "email",
}
ANY_CUSTOMER_KEY = gettext_lazy("Customer (external id, phone or email)")


@dataclass(slots=True)
class Key:
    """A value of a row that names its customer: an external id, a phone (E.164), an email."""

    kind: str
    value: str
    column: int | None
    field: str
    text: str  # as written in the file


def phone_text(text: str) -> str:
    """A phone as written, with Excel's exponent form refused unless every digit is shown."""
    return v.digits_text(text) if "e" in text.lower() else text


def ids_allowed(actor, action: str, ids) -> set[int]:
    """Which of these customers the actor may see and do `action` (an access rule) to."""
    ids = list(ids)
    if not ids or not access.can(actor, action):
        return set()
    # A customer whose relationship has ended is read-only: their rows fail one by one.
    qs = (
        customer_selectors.customer_queryset(actor=actor)
        .filter(pk__in=ids)
        .filter(customer_selectors.contactable_q())
    )
    if access.MATRIX[action].get(access.role_of(actor)) == "scope":
        qs = qs.filter(access.owner_q(actor, "owner", edit=True))
    return set(qs.values_list("pk", flat=True))


class LinkedImporter(Importer):
    """An importer whose rows belong to a customer named by external id, phone or email."""

    action = "order.write"  # what the importing user must be allowed to do to the customer

    def not_allowed(self, customer_id: int) -> str:
        raise NotImplementedError

    # Reading ---------------------------------------------------------------------------------

    def missing_required(self) -> list[str]:
        missing = super().missing_required()
        if not any(key in self.columns for key in CUSTOMER_KEYS):
            missing.append(str(ANY_CUSTOMER_KEY))
        return missing

    def customer_keys(self, p: Prepared, row) -> list[Key]:
        """The row's keys to its customer, cleaned (a bad phone or email is the row's error)."""
        keys = []
        for field, kind in CUSTOMER_KEYS.items():
            column, text = self.cell(row, field)
            if not text:
                continue
            try:
                if kind == "phone":
                    value = normalize_phone(phone_text(text))[0]
                elif kind == "email":
                    value = normalize_email(text)
                else:
                    value = v.digits_text(text)
            except ValueError as e:
                self.issue(p, column, field, text, e)
                continue
            keys.append(Key(kind, value, column, field, text))
        return keys

    # Writing ---------------------------------------------------------------------------------

    def problem(self, out: Outcome, p: Prepared, column, field: str, value, message,
                severity=Severity.ERROR) -> None:  # fmt: skip
        header = self.headers[column] if column is not None and column < len(self.headers) else ""
        out.issues.append(
            Issue(p.row, header, field, str(value or "")[:500], str(message)[:500], severity)
        )

    def column_of(self, field: str) -> int | None:
        return self.columns.get(field, [None])[0]

    def fail(self, out: Outcome, p: Prepared, column, field: str, value, message) -> None:
        """The row is not imported, for this reason."""
        self.problem(out, p, column, field, value, message)
        if out.outcomes.get(p.row, {}).get("action") != "failed":
            out.outcomes[p.row] = {"action": "failed"}
            out.add("failed")

    def no_customer(self, out: Outcome, p: Prepared) -> None:
        field = next((f for f in CUSTOMER_KEYS if f in self.columns), "customer_phone")
        message = _("Name the customer: give their external id, phone or email.")
        self.fail(out, p, self.column_of(field), field, "", message)

    def link(self, rows: list[tuple[Prepared, list[Key]]], out: Outcome) -> dict[int, int]:
        """Row number → the id of the customer it names, for the rows that name one the
        actor may see and act on; the other rows fail, saying why without telling anything
        about customers the actor may not see."""
        keys = [k for _p, row_keys in rows for k in row_keys]
        found = customer_selectors.customers_by_keys(
            phones=[k.value for k in keys if k.kind == "phone"],
            emails=[k.value for k in keys if k.kind == "email"],
            external_ids=[k.value for k in keys if k.kind == "external_id"],
        )
        candidates = {pk for by_value in found.values() for ids in by_value.values() for pk in ids}
        visible = customer_selectors.customer_ids_visible(actor=self.actor, ids=candidates)
        allowed = ids_allowed(self.actor, self.action, visible)
        linked = {}
        for p, row_keys in rows:
            customer_id = self._choose(out, p, row_keys, found, visible)
            if customer_id is None:
                continue
            if customer_id not in allowed:
                k = row_keys[0]
                self.fail(out, p, k.column, k.field, k.text, self.not_allowed(customer_id))
                continue
            linked[p.row] = customer_id
        return linked

    def _choose(self, out, p, row_keys: list[Key], found, visible) -> int | None:
        """An external id decides alone; phones and emails must agree on one customer."""
        if not row_keys:
            self.no_customer(out, p)
            return None
        external = next((k for k in row_keys if k.kind == "external_id"), None)
        if external is not None:
            ids = [pk for pk in found["external_id"].get(external.value, ()) if pk in visible]
            if not ids:
                self._not_found(out, p, external)
                return None
            return ids[0]
        sets = []
        for k in row_keys:
            ids = {pk for pk in found[k.kind].get(k.value, ()) if pk in visible}
            if ids:
                sets.append((k, ids))
        if not sets:
            for k in row_keys:
                self._not_found(out, p, k)
            return None
        common = set.intersection(*(ids for _k, ids in sets))
        if len(common) == 1:
            return common.pop()
        k = sets[0][0]
        if not common:
            message = _(
                "The customer's phone and email belong to different customers; give the "
                "customer's external id to say which."
            )
        elif k.kind == "phone":
            message = _(
                "%(n)d customers have the phone number “%(value)s”; give the customer's "
                "external id to say which."
            ) % {"n": len(common), "value": k.value}
        else:
            message = _(
                "%(n)d customers have the email “%(value)s”; give the customer's external id "
                "to say which."
            ) % {"n": len(common), "value": k.value}
        self.fail(out, p, k.column, k.field, k.text, message)
        return None

    def _not_found(self, out, p, k: Key) -> None:
        # Said the same way whether no customer has the key or only ones the actor cannot see.
        message = {
            "external_id": _(
                "No customer has the external id “%(value)s” — import the customers first."
            ),
            "phone": _(
                "No customer has the phone number “%(value)s” — import the customers first."
            ),
            "email": _("No customer has the email “%(value)s” — import the customers first."),
        }[k.kind] % {"value": k.value}
        self.fail(out, p, k.column, k.field, k.text, message)
