"""Importing customers: each row cleaned as the customer form would clean it, matched against
the file and the database, then created, merged, updated, skipped or queued for review."""

from collections import OrderedDict

from django.utils.translation import gettext as _

from guanxi.core.errors import ValidationFailed
from guanxi.customers import selectors as customer_selectors
from guanxi.customers.choices import (
    CompanySize,
    ContactChannel,
    CustomerKind,
    CustomFieldType,
    Gender,
    Source,
    Stage,
)
from guanxi.customers.cleaning import normalize_email, normalize_phone
from guanxi.customers.services.bulk import (
    customer_prepare,
    customers_bulk_create,
    customers_bulk_merge,
)

from .. import match_index
from .. import values as v
from ..choices import ImportMode, OnDuplicate, RecordAction, Severity
from ..matching import Matcher, features
from .base import Importer, Issue, Outcome, Prepared

PREVIEW_REFRESH = 20_000  # customers a preview indexes before it looks for duplicates
# The matching features of the customers an import created last (about 1 KB each), kept so
# that later chunks compare with them without reading them back and working them out again.
RECENT_FEATURES = 50_000


def matcher(name_part_frequencies=None) -> Matcher:
    """The matcher of imports: the parameters committed in imports.matching, with names
    weighed by their frequency among all customers when that is known."""
    return Matcher.default(name_part_frequencies=name_part_frequencies)


KIND = v.ChoiceReader(
    CustomerKind,
    {"个人": "person", "个人客户": "person", "自然人": "person", "individual": "person",
     "公司": "company", "企业": "company", "企业客户": "company", "单位": "company",
     "机构": "company", "组织": "company", "business": "company", "organisation": "company",
     "organization": "company"},
)  # fmt: skip
GENDER = v.ChoiceReader(
    Gender,
    {"男": "male", "男性": "male", "先生": "male", "m": "male", "man": "male",
     "女": "female", "女性": "female", "女士": "female", "小姐": "female", "f": "female",
     "woman": "female", "未知": "", "保密": "", "unknown": ""},
)  # fmt: skip
SOURCE = v.ChoiceReader(
    Source,
    {"官网": "web", "网站": "web", "网络": "web", "线上": "web", "门店": "store",
     "线下": "store", "实体店": "store", "转介绍": "referral", "推荐": "referral",
     "介绍": "referral", "展会": "exhibition", "会展": "exhibition", "电话": "phone",
     "来电": "phone", "社交媒体": "social", "微信": "social", "抖音": "social", "微博": "social",
     "小红书": "social", "广告": "advertising", "合作伙伴": "partner", "渠道商": "partner",
     "代理商": "partner", "其他": "other", "其它": "other"},
)  # fmt: skip
STAGE = v.ChoiceReader(
    Stage,
    {"潜在": "lead", "潜在客户": "lead", "线索": "lead", "新客户": "new", "新": "new",
     "活跃": "active", "活跃客户": "active", "现有客户": "active", "老客户": "active",
     "有流失风险": "at_risk", "风险": "at_risk", "流失": "churned", "流失客户": "churned",
     "已流失": "churned", "potential": "lead"},
)  # fmt: skip
CHANNEL = v.ChoiceReader(
    ContactChannel,
    {"电话": "phone", "手机": "phone", "邮件": "email", "邮箱": "email", "短信": "sms",
     "微信": "wechat", "拜访": "visit", "上门": "visit"},
)  # fmt: skip
SIZE = v.ChoiceReader(CompanySize, {"1-9人": "1-9", "10-49人": "10-49", "50-249人": "50-249",
                                    "250-999人": "250-999", "1000人以上": "1000+"})  # fmt: skip

TEXT = ("name", "company_name", "job_title", "industry", "business_scope", "notes")
CHOICES = {
    "kind": KIND,
    "gender": GENDER,
    "source": SOURCE,
    "stage": STAGE,
    "preferred_channel": CHANNEL,
    "company_size": SIZE,
}
ADDRESS = ("province", "city", "district", "street", "postcode")


class CustomerImporter(Importer):
    kind = "customers"
    looked_up = (*Importer.looked_up, "imports.MatchKey")
    bulk_written = {
        "customers.Customer": (),  # read by id and external id: primary key, unique index
        "customers.Address": ("customer_id",),  # a merge reads the addresses it extends
        "customers.StageChange": (),
        "interactions.TimelineEvent": (),
        "accounts.AuditEntry": (),
        "imports.ImportRecord": (),
    }

    # Reading ---------------------------------------------------------------------------------

    def __init__(self, job, **kwargs):
        super().__init__(job, **kwargs)
        mapped = self.columns
        # Only the fields some column is mapped to are looked at, row after row.
        self.text_keys = [k for k in TEXT if k in mapped]
        self.choice_keys = [(k, r) for k, r in CHOICES.items() if k in mapped]
        self.address_keys = [k for k in ADDRESS if k in mapped]
        self.custom_keys = [(k, d) for k, d in self.definitions.items() if f"cf_{k}" in mapped]
        self.matcher = matcher()
        self.recent = OrderedDict()  # customer id → features, of customers created here
        self.pending = None  # the new customers' match keys, held until the import ends

    def begin(self) -> None:
        """Bring the index of existing customers' match keys up to date, and weigh names by
        how common they are among all customers."""
        match_index.refresh()
        self.matcher = matcher(match_index.name_part_frequencies())
        # All or nothing: the keys of the customers created are written when the import
        # ends. Resumable: with each chunk, so that a re-run finds them.
        self.pending = None if self.job.resumable else match_index.PendingKeys()

    def end(self) -> None:
        if self.pending is not None:
            self.pending.flush()
            self.pending = None

    def begin_preview(self) -> None:
        """A preview is quick: the index is brought up to date (and kept) when that is quick
        too; otherwise the preview uses it as it is and the import itself refreshes it."""
        if match_index.pending() <= PREVIEW_REFRESH:
            match_index.refresh()
        self.matcher = matcher(match_index.name_part_frequencies())

    def prepare(self, row) -> Prepared:
        p = Prepared(row.number)
        if row.notes:
            self.cell_notes(p, row)
        data: dict = {}
        for key in self.text_keys:
            _col, text = self.cell(row, key)
            if text:
                data[key] = v.text(text) if key not in ("business_scope", "notes") else text
        for key, reader in self.choice_keys:
            value = self.convert(p, row, key, reader)
            if value:
                data[key] = value
        if (birthday := self.convert(p, row, "birthday", v.parse_date)) is not None:
            data["birthday"] = birthday
        if (external := self.convert(p, row, "external_id", v.digits_text)) is not None:
            data["external_id"] = external
        data["phones"] = self._phones(p, row)
        data["emails"] = self._emails(p, row)
        if self.address_keys:
            address = {k: v.text(self.cell(row, k)[1]) for k in self.address_keys}
            if any(address.get(k) for k in ("province", "city", "district", "street")):
                data["addresses"] = [{**address, "is_primary": True}]
        tags = [t for _c, text in self.cells(row, "tags") for t in v.many(text, tags=True)]
        if tags:
            data["tags"] = tags
        col, owner = self.cell(row, "owner")
        if owner:
            user = self.user_by_name(owner)
            if user is None:
                self.issue(p, col, "owner", owner, self.unknown_user(owner) + " "
                           + _("The customer gets the import's owner."),
                           severity=Severity.WARNING)  # fmt: skip
            else:
                data["owner"] = user.pk
        custom = self._custom(p, row)
        if custom:
            data["custom_fields"] = custom
        if p.issues and any(i.severity == Severity.ERROR for i in p.issues):
            p.values = data
            return p
        try:
            p.item = customer_prepare(data=data, definitions=self.definitions)
            p.match = features(_match_record(p.item))
            match_index.hashes_of(p.match)  # its keys and their hashes, kept for the writer
            match_index.stored_text(p.match)  # and what the index will store of it
        except ValidationFailed as e:
            for field, messages in e.errors.items():
                key = field.split(".")[0] if not field.startswith("custom_fields.") else (
                    "cf_" + field.split(".", 1)[1])  # fmt: skip
                key = {"addresses": "street"}.get(key.split("[")[0], key.split("[")[0])
                col, text = self.cell(row, key)
                for message in messages:
                    self.issue(p, col, key, text, message)
        p.values = data
        return p

    def _phones(self, p: Prepared, row) -> list[str]:
        phones = []
        for col, text in self.cells(row, "phones"):
            for part in v.many(text):
                try:
                    part = v.digits_text(part) if "e" in part.lower() else part
                    number, extension = normalize_phone(part)
                except ValueError as e:
                    self.issue(p, col, "phones", part, e)
                    continue
                phones.append(f"{number} ext. {extension}" if extension else number)
        return phones

    def _emails(self, p: Prepared, row) -> list[str]:
        emails = []
        for col, text in self.cells(row, "emails"):
            for part in v.many(text.replace(" ", ",")):
                try:
                    emails.append(normalize_email(part))
                except ValueError as e:
                    self.issue(p, col, "emails", part, e)
        return emails

    def _custom(self, p: Prepared, row) -> dict:
        custom = {}
        for key, definition in self.custom_keys:
            col, text = self.cell(row, f"cf_{key}")
            if not text:
                continue
            if definition.field_type == CustomFieldType.DATE:
                try:
                    text = v.parse_date(text).isoformat()
                except ValueError as e:
                    self.issue(p, col, f"cf_{key}", text, e)
                    continue
            custom[key] = text
        return custom

    def display(self, p: Prepared) -> dict[str, str]:
        """The row as it will be stored, field by field, for the preview."""
        item = p.item
        if item is None:
            return {
                k: ", ".join(map(str, val)) if isinstance(val, list) else str(val)
                for k, val in p.values.items()
                if k not in ("addresses", "custom_fields")
            }
        shown = {}
        for key, value in item.profile.items():
            if value in (None, ""):
                continue
            reader = CHOICES.get(key)
            if reader is not None:
                value = dict(reader.choices.choices).get(value, value)
            shown[key] = str(value.isoformat() if hasattr(value, "isoformat") else value)
        if item.phones:
            shown["phones"] = ", ".join(n for n, _e in item.phones)
        if item.emails:
            shown["emails"] = ", ".join(item.emails)
        for address in item.addresses[:1]:
            for key in ADDRESS:
                if address.get(key):
                    shown[key] = address[key]
        if item.tags:
            shown["tags"] = ", ".join(item.tags)
        if item.owner_id:
            user = next((u for u in (self._users or {}).values() if u.pk == item.owner_id), None)
            shown["owner"] = user.username if user else str(item.owner_id)
        for key, value in item.custom.items():
            shown[f"cf_{key}"] = str(value)
        return shown

    # Writing ---------------------------------------------------------------------------------

    def write(self, chunk: list[Prepared], *, dry_run: bool) -> Outcome:
        out = Outcome()
        good = [p for p in chunk if p.ok]
        out.add("failed", len(chunk) - len(good))
        if not good:
            return out
        keys = [self._keys(p.item) for p in good]
        found = customer_selectors.customers_by_keys(
            phones=[k for ks in keys for kind, k in ks if kind == "phone"],
            emails=[k for ks in keys for kind, k in ks if kind == "email"],
            external_ids=[k for ks in keys for kind, k in ks if kind == "external_id"],
        )
        matched_ids = {pk for by_value in found.values() for ids in by_value.values() for pk in ids}
        editable = customer_selectors.customer_ids_editable(actor=self.actor, ids=matched_ids)
        visible = customer_selectors.customer_ids_visible(actor=self.actor, ids=matched_ids)

        exact = [self._db_match(found, row_keys) for row_keys in keys]
        likely = self._likely(good, [target is None for target, _why in exact])
        likely_ids = {cid for cid, *_rest in likely.values() if isinstance(cid, int)}
        editable |= customer_selectors.customer_ids_editable(actor=self.actor, ids=likely_ids)
        visible |= customer_selectors.customer_ids_visible(actor=self.actor, ids=likely_ids)

        creates: list[Prepared] = []
        merges: list[tuple[Prepared, object, list]] = []  # (row, target, why)
        reviews: list[tuple[Prepared, object, list, float, list]] = []  # + probability, evidence
        # key → the record earlier rows of this chunk went to (a stored id or a row created)
        lead_of_key: dict[tuple, object] = {}
        went_to: dict[int, object] = {}  # id(row) → where it went (a stored id, or a row created)
        high = self.matcher.high
        for i, (p, row_keys) in enumerate(zip(good, keys, strict=True)):
            target, why = exact[i]
            if target is None:
                lead = next((lead_of_key[k] for k in row_keys if k in lead_of_key), None)
                if lead is not None:
                    target, why = lead, [k[0] for k in row_keys if lead_of_key.get(k) is lead]
            probable = None
            if target is None and i in likely:
                other, probability, pair = likely[i]
                evidence = _Evidence(pair)
                if isinstance(other, Prepared):  # an earlier row: where that row went
                    other = went_to.get(id(other), other)
                if isinstance(other, int) and other not in visible:
                    other = None  # never merged with, nor shown, a customer the actor cannot see
                if other is not None and probability >= high:
                    target, why = other, ["probable"]
                    probable = (probability, evidence)
                elif other is not None:
                    reviews.append((p, other, [], probability, evidence))
            for k in row_keys:
                lead_of_key.setdefault(k, p if target is None else target)
            went_to[id(p)] = p if target is None else target
            if target is None:
                creates.append(p)
                continue
            if isinstance(target, int) and target not in editable:
                message = (
                    _("Duplicate of customer #%(id)s, which you may not change; skipped.")
                    % {"id": target}
                    if target in visible
                    else _("Duplicate of a customer you cannot see; skipped.")
                )
                self._skip(out, p, why, message, target if target in visible else None)
                continue
            merging = self.job.mode == ImportMode.UPSERT or (
                self.job.on_duplicate == OnDuplicate.MERGE
            )
            if merging:
                merges.append((p, target, why))
            elif self.job.on_duplicate == OnDuplicate.REVIEW and "external_id" not in why:
                creates.append(p)
                probability, evidence = probable or (1.0, [{"field": w, "level": "exact"}
                                                           for w in why])  # fmt: skip
                reviews.append((p, target, why, probability, evidence))
            else:
                message = self._duplicate_message(target, why, probable) + " " + _("Skipped.")
                self._skip(out, p, why, message, target)

        ids = customers_bulk_create(
            actor=self.actor,
            customers=[p.item for p in creates],
            cause=_("imported (import #%(id)s)") % {"id": self.job.pk},
            event_data={"import": self.job.pk},
        )
        new_id = {id(p): pk for p, pk in zip(creates, ids, strict=True)}
        for p, pk in zip(creates, ids, strict=True):
            out.records.append((p.row, "customers.customer", pk, RecordAction.CREATED, None))
            out.outcomes[p.row] = {"action": "created"}
        out.add("created", len(ids) - len(reviews))
        created = {pk: p.match for p, pk in zip(creates, ids, strict=True) if p.match}
        match_index.index(created, replace=False, pending=self.pending)
        self._remember(created)

        if merges:
            overwrite = self.job.mode == ImportMode.UPSERT
            action = RecordAction.UPDATED if overwrite else RecordAction.MERGED
            updates = [
                (target if isinstance(target, int) else new_id[id(target)], p.item)
                for p, target, _why in merges
            ]
            undo = customers_bulk_merge(
                actor=self.actor,
                updates=updates,
                overwrite=overwrite,
                event_data={"import": self.job.pk},
            )
            first_row: dict[int, int] = {}
            for (p, _target, _why), (pk, _item) in zip(merges, updates, strict=True):
                out.outcomes[p.row] = {"action": str(action), **_ref(_target)}
                if pk in undo and pk not in first_row:
                    first_row[pk] = p.row
            for pk, row in first_row.items():
                out.records.append((row, "customers.customer", pk, action, undo[pk]))
            out.add("updated" if overwrite else "merged", len(merges))
            match_index.reindex(undo, pending=self.pending)
            for pk in undo:  # changed by the merge: read again when next compared
                self.recent.pop(pk, None)

        for p, target, _why, probability, evidence in reviews:
            other = target if isinstance(target, int) else new_id.get(id(target))
            if other is None or other == new_id[id(p)]:
                continue
            if isinstance(evidence, _Evidence):
                evidence = evidence.json()
            out.reviews.append((new_id[id(p)], other, probability, evidence))
            out.outcomes[p.row] = {"action": "review", **_ref(target)}
        out.add("review", len(out.reviews))
        return out

    def _likely(self, good: list[Prepared], unmatched: list[bool]) -> dict[int, tuple]:
        """For rows no phone, email or external id matched: the most likely duplicate, by the
        probabilistic matcher, among the stored customers (candidates found through the
        match-key index) and the earlier rows of this chunk. {index in good: (a stored id or
        the earlier row, probability, the scored pair)}, at or above the review threshold."""
        m = self.matcher
        rows = [i for i, unmatched_row in enumerate(unmatched) if unmatched_row and good[i].match]
        if not rows:
            return {}
        batch = [good[i].match for i in rows]
        best: dict[int, tuple] = {}

        def keep(i, other, pair):
            if i not in best or pair.probability > best[i][1]:
                best[i] = (other, float(pair.probability), pair)

        held = match_index.holders(
            (h for f in batch for h in match_index.hashes_of(f)), pending=self.pending
        )
        stored = {customer for customers in held.values() for customer in customers}
        if stored:
            # Candidates created by this import's last chunks are at hand; the others' features
            # are read from the index, or (not indexed with them yet) from the customers.
            records = [(pk, self.recent[pk]) for pk in stored if pk in self.recent]
            rest = stored - self.recent.keys()
            if rest:
                kept = match_index.features_of(rest)
                records += kept.items()
                rest -= kept.keys()
            if rest:
                records += customer_selectors.customer_match_records_of(ids=rest)
            reference = m.reference([r for _pk, r in records], ids=[pk for pk, _r in records])
            for pair in m.link_batch(batch, reference):
                keep(rows[pair.left], pair.right, pair)
        for pair in m.find_duplicates(batch):
            left, right = sorted((pair.left, pair.right))
            keep(rows[right], good[rows[left]], pair)  # the later row goes with the earlier
        return best

    def _remember(self, created: dict) -> None:
        self.recent.update(created)
        while len(self.recent) > RECENT_FEATURES:
            self.recent.popitem(last=False)

    @staticmethod
    def _keys(item) -> list[tuple[str, str]]:
        keys = [("phone", number) for number, _ext in item.phones]
        keys += [("email", e) for e in item.emails]
        if item.profile.get("external_id"):
            keys.append(("external_id", item.profile["external_id"]))
        return keys

    @staticmethod
    def _db_match(found, row_keys) -> tuple[int | None, list[str]]:
        """The stored customer sharing the most keys with the row (an external id outweighs)."""
        score: dict[int, list[str]] = {}
        for kind, value in row_keys:
            for pk in found[kind].get(value, ()):
                score.setdefault(pk, []).append(kind)
        if not score:
            return None, []
        best = min(score, key=lambda pk: (-("external_id" in score[pk]), -len(score[pk]), pk))
        return best, sorted(set(score[best]))

    def _duplicate_message(self, target, why, probable=None) -> str:
        if probable is not None:
            where = (
                _("customer #%(id)s") % {"id": target}
                if isinstance(target, int)
                else _("row %(row)s of this file") % {"row": target.row}
            )
            return _("Very likely the same as %(where)s (%(p)s%%).") % {
                "where": where,
                "p": f"{probable[0] * 100:.1f}",
            }
        fields = ", ".join(str(self._key_label(w)) for w in why)
        if isinstance(target, int):
            return _("Same %(fields)s as customer #%(id)s.") % {"fields": fields, "id": target}
        return _("Same %(fields)s as row %(row)s of this file.") % {
            "fields": fields,
            "row": target.row,
        }

    @staticmethod
    def _key_label(kind: str):
        return {"phone": _("phone"), "email": _("email"), "external_id": _("external id")}.get(
            kind, kind
        )

    def _skip(self, out: Outcome, p: Prepared, why, message: str, target=None) -> None:
        out.add("skipped")
        out.outcomes[p.row] = {"action": "skipped", **_ref(target)}
        field = _KEY_FIELD[why[0]] if why else ""
        columns = self.columns.get(field, ())
        header = self.headers[columns[0]] if columns else ""
        out.issues.append(Issue(p.row, header, field, "", message, Severity.WARNING))


_KEY_FIELD = {"phone": "phones", "email": "emails", "external_id": "external_id",
              "probable": "name"}  # fmt: skip


def _match_record(item) -> dict:
    """A prepared customer as the matcher compares it."""
    profile = item.profile
    record = {
        "kind": profile.get("kind", "person"),
        "name": profile.get("name", ""),
        "company_name": profile.get("company_name", ""),
        "phones": [n for n, _e in item.phones],
        "emails": item.emails,
        "external_id": profile.get("external_id"),
        "birthday": profile.get("birthday"),
        "gender": profile.get("gender", ""),
    }
    if item.addresses:
        record.update({k: item.addresses[0].get(k, "") for k in ADDRESS})
    return record


class _Evidence:
    """A scored pair's evidence, worked out only if a review or a message needs it."""

    __slots__ = ("pair",)

    def __init__(self, pair):
        self.pair = pair

    def json(self) -> list[dict]:
        return evidence_json(self.pair)


def evidence_json(pair, *, limit: int = 8) -> list[dict]:
    """A pair's strongest evidence, as the review screen shows it: codes, the weight, and the
    labels in each language (the review queue is read in either)."""
    from django.conf import settings
    from django.utils import translation

    lines = []
    for e in pair.explanation[:limit]:
        line = {"field": e.field, "level": e.level, "weight": round(float(e.weight), 1),
                "labels": {}}  # fmt: skip
        for language, _name in settings.LANGUAGES:
            with translation.override(language):
                line["labels"][language] = [str(e.field_label), str(e.level_label)]
        lines.append(line)
    return lines


def _ref(target) -> dict:
    """Where a row went, for the preview: a stored customer's id, or an earlier row."""
    if isinstance(target, int):
        return {"customer": target}
    if isinstance(target, Prepared):
        return {"same_as_row": target.row}
    return {}
