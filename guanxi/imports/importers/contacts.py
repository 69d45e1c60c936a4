"""Importing contact people at company customers: each row linked to its company by the
company's external id or its name, matched against the company's stored contacts and the
file's earlier rows by phone, email or name, then created, merged or skipped, set-based."""

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from guanxi.core.errors import ValidationFailed
from guanxi.customers import selectors as customer_selectors
from guanxi.customers.choices import CustomerKind
from guanxi.customers.services.contacts_bulk import (
    contact_prepare,
    contacts_bulk_create,
    contacts_bulk_merge,
)

from .. import values as v
from ..choices import ImportMode, OnDuplicate, RecordAction, Severity
from ..readers import Row
from .base import Importer, Outcome, Prepared
from .linking import LinkedImporter, phone_text

ANY_COMPANY_KEY = gettext_lazy("Company (external id or name)")
BATCH = 5000
MATCH_ORDER = ("phone", "email", "name")  # a stored contact is found by the first that agrees


@dataclass(slots=True)
class ContactRow:
    row: Row
    external_id: str  # the company's
    company: str  # the company's name, folded
    data: dict  # the contact's fields, cleaned by contact_prepare


class ContactImporter(LinkedImporter):
    kind = "contacts"
    action = "customer.edit"

    def not_allowed(self, customer_id: int) -> str:
        return _("You may not change customer #%(id)s.") % {"id": customer_id}

    def missing_required(self) -> list[str]:
        missing = Importer.missing_required(self)  # a company, not a customer key, is needed
        if "company_external_id" not in self.columns and "company" not in self.columns:
            missing.append(str(ANY_COMPANY_KEY))
        return missing

    # Reading ---------------------------------------------------------------------------------

    def prepare(self, row) -> Prepared:
        p = Prepared(row.number)
        if row.notes:
            self.cell_notes(p, row)
        external = self.convert(p, row, "company_external_id", v.digits_text) or ""
        company = v.text(self.cell(row, "company")[1])
        if not external and not company:
            key = "company" if "company" in self.columns else "company_external_id"
            self.issue(p, self.column_of(key), key, "",
                       _("Name the company: give its external id or name."))  # fmt: skip
        data: dict = {}
        for key in ("name", "title", "notes"):
            _column, text = self.cell(row, key)
            if text:
                data[key] = text
        for key, split in (("phone", lambda t: v.many(t)),
                           ("email", lambda t: v.many(t.replace(" ", ",")))):  # fmt: skip
            column, text = self.cell(row, key)
            parts = split(text) if text else []
            if parts:
                try:
                    data[key] = phone_text(parts[0]) if key == "phone" else parts[0]
                except ValueError as e:  # Excel's exponent form lost the phone's digits
                    self.issue(p, column, key, text, e)
            if len(parts) > 1:
                self.issue(p, column, key, text,
                           _("A contact has one %(what)s; only the first was imported.")
                           % {"what": _("phone") if key == "phone" else _("email")},
                           severity=Severity.WARNING)  # fmt: skip
        primary = self.convert(p, row, "is_primary", v.parse_bool)
        if primary is not None:
            data["is_primary"] = primary
        clean = {}
        try:
            clean = contact_prepare(data=data)
        except ValidationFailed as e:
            for key, messages in e.errors.items():
                column, text = self.cell(row, key)
                for message in messages:
                    self.issue(p, column, key, text, message)
        p.values = {"company_external_id": external, "company": company, **(clean or data)}
        if not any(i.severity == Severity.ERROR for i in p.issues):
            p.item = ContactRow(row, external, company, clean)
        return p

    def display(self, p: Prepared) -> dict[str, str]:
        shown = {k: str(val) for k, val in p.values.items() if val not in (None, "", False)}
        if p.values.get("is_primary"):
            shown["is_primary"] = _("yes")
        return shown

    # Writing ---------------------------------------------------------------------------------

    def write(self, chunk: list[Prepared], *, dry_run: bool) -> Outcome:
        out = Outcome()
        good = [p for p in chunk if p.ok]
        out.add("failed", len(chunk) - len(good))
        company_of = self._companies(good, out)
        editable = customer_selectors.customer_ids_editable(
            actor=self.actor, ids=set(company_of.values())
        )
        rows = []
        for p in good:
            if p.row not in company_of:
                continue
            if company_of[p.row] not in editable:
                key = "company_external_id" if p.item.external_id else "company"
                self.fail(out, p, self.column_of(key), key, p.item.external_id or p.item.company,
                          self.not_allowed(company_of[p.row]))  # fmt: skip
                continue
            rows.append(p)
        stored = self._stored_contacts({company_of[p.row] for p in rows})
        index = {}  # (company, kind, value) → stored contact id
        for pk, c in stored.items():
            for kind in MATCH_ORDER:
                if c[kind]:
                    index.setdefault((c["customer_id"], kind, c[kind]), pk)

        overwrite = self.job.mode == ImportMode.UPSERT
        merging = overwrite or self.job.on_duplicate == OnDuplicate.MERGE
        creates: list[Prepared] = []
        updates: list[tuple[int, dict, Prepared]] = []
        seen: dict[tuple, object] = {}  # key → the stored id or the row it went to
        for p in rows:
            company = company_of[p.row]
            keys = [(company, k, p.item.data[k]) for k in MATCH_ORDER if p.item.data.get(k)]
            match = next(((index[k], k[1]) for k in keys if k in index), None)
            if match is None:
                match = next(((seen[k], k[1]) for k in keys if k in seen), None)
            for k in keys:
                seen.setdefault(k, p if match is None else match[0])
            if match is None:
                creates.append(p)
                continue
            target, why = match
            if not merging:
                self._skip(out, p, target, why, company)
            elif isinstance(target, int):
                updates.append((target, p.item.data, p))
            else:  # an earlier row of this chunk, not written yet: it takes this row's values
                _merge_into(target.item.data, p.item.data, overwrite=overwrite)
                out.outcomes[p.row] = {"action": "updated" if overwrite else "merged",
                                       "customer": company, "same_as_row": target.row}  # fmt: skip
                out.add("updated" if overwrite else "merged")

        event = {"import": self.job.pk}
        ids, demoted = contacts_bulk_create(
            actor=self.actor,
            contacts=[(company_of[p.row], p.item.data) for p in creates],
            event_data=event,
        )
        primary_row = {}  # company → the row that gave it its primary contact
        for p, pk in zip(creates, ids, strict=True):
            out.records.append((p.row, "customers.contact", pk, RecordAction.CREATED, None))
            out.outcomes[p.row] = {"action": "created", "customer": company_of[p.row]}
            if p.item.data.get("is_primary"):
                primary_row[company_of[p.row]] = p.row
        out.add("created", len(ids))

        changes = contacts_bulk_merge(
            actor=self.actor,
            updates=[(pk, data) for pk, data, _p in updates],
            overwrite=overwrite,
            event_data=event,
        )
        action = RecordAction.UPDATED if overwrite else RecordAction.MERGED
        first_row: dict[int, int] = {}
        for pk, data, p in updates:
            out.outcomes[p.row] = {"action": str(action), "customer": company_of[p.row]}
            first_row.setdefault(pk, p.row)
            if data.get("is_primary"):
                primary_row[company_of[p.row]] = p.row
        out.add(str(action), len(updates))
        for pk, change in demoted.items():
            changes[pk] = {**change, **changes.get(pk, {})}
        for pk, change in changes.items():
            if pk in first_row:
                row, record_action = first_row[pk], action
            else:  # a stored contact that is no longer primary
                row = primary_row.get(stored[pk]["customer_id"] if pk in stored else None, 0)
                record_action = RecordAction.UPDATED
            out.records.append((row, "customers.contact", pk, record_action, change))
        return out

    def _companies(self, good: list[Prepared], out: Outcome) -> dict[int, int]:
        """Row → the id of its company, among the customers the actor may see; rows whose
        company is missing, a person or not the only one by that name fail, saying why."""
        visible = customer_selectors.customer_queryset(actor=self.actor)
        externals = sorted({p.item.external_id for p in good if p.item.external_id})
        names = sorted({p.item.company for p in good if p.item.company and not p.item.external_id})
        by_external: dict[str, tuple[int, str]] = {}
        by_name: dict[str, list[int]] = {}
        for start in range(0, len(externals), BATCH):
            for pk, external, kind in visible.filter(
                external_id__in=externals[start : start + BATCH]
            ).values_list("pk", "external_id", "kind"):
                by_external[external] = (pk, kind)
        for start in range(0, len(names), BATCH):
            for pk, name in visible.filter(
                kind=CustomerKind.COMPANY, name__in=names[start : start + BATCH]
            ).values_list("pk", "name"):
                by_name.setdefault(name, []).append(pk)
        found = {}
        for p in good:
            item = p.item
            if item.external_id:
                column, key = self.column_of("company_external_id"), "company_external_id"
                pk, kind = by_external.get(item.external_id, (None, None))
                if pk is None:
                    message = _(
                        "No company customer has the external id “%(value)s” — import "
                        "the companies first."
                    ) % {"value": item.external_id}
                elif kind != CustomerKind.COMPANY:
                    message = _(
                        "Customer “%(value)s” is a person, not a company; contacts "
                        "belong to company customers."
                    ) % {"value": item.external_id}
                else:
                    found[p.row] = pk
                    continue
                self.fail(out, p, column, key, item.external_id, message)
                continue
            ids = by_name.get(item.company, [])
            if len(ids) == 1:
                found[p.row] = ids[0]
                continue
            if not ids:
                message = _(
                    "No company customer called “%(name)s” — import the companies first."
                ) % {"name": item.company}
            else:
                message = _(
                    "%(n)d company customers are called “%(name)s”; give the company "
                    "external id to say which."
                ) % {"n": len(ids), "name": item.company}
            self.fail(out, p, self.column_of("company"), "company", item.company, message)
        return found

    def _stored_contacts(self, company_ids: set[int]) -> dict[int, dict]:
        ids = sorted(company_ids)
        stored = {}
        for start in range(0, len(ids), BATCH):
            for row in (
                customer_selectors.contact_list(actor=self.actor)
                .filter(customer_id__in=ids[start : start + BATCH])
                .values("pk", "customer_id", *MATCH_ORDER)
            ):
                stored[row.pop("pk")] = row
        return stored

    def _skip(self, out: Outcome, p: Prepared, target, why: str, company: int) -> None:
        what = {"phone": _("phone"), "email": _("email"), "name": _("name")}[why]
        if isinstance(target, int):
            message = _("This company already has a contact with this %(what)s; skipped.") % {
                "what": what
            }
            ref = {}
        else:
            message = (
                _("Same %(fields)s as row %(row)s of this file.") % {"fields": what,
                                                                     "row": target.row}
                + " " + _("Skipped.")
            )  # fmt: skip
            ref = {"same_as_row": target.row}
        if self.job.on_duplicate == OnDuplicate.REVIEW:
            message += " " + _("Contacts have no review queue, so the row was skipped.")
        self.problem(out, p, self.column_of(why), why, p.item.data.get(why, ""), message,
                     severity=Severity.WARNING)  # fmt: skip
        out.outcomes[p.row] = {"action": "skipped", "customer": company, **ref}
        out.add("skipped")


def _merge_into(data: dict, more: dict, *, overwrite: bool) -> None:
    """A later row's values into an earlier row's: gaps filled, or (upsert) replaced."""
    for key, value in more.items():
        if key == "is_primary":
            data[key] = data.get(key) or value
        elif value and (overwrite or not data.get(key)):
            data[key] = value
