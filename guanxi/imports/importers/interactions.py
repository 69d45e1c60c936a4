"""Importing interactions (calls, emails, meetings, visits, chats, notes): each row linked to
its customer by external id, phone or email, validated as `interaction_log` validates, the same
customer, time and subject stored before (or earlier in the file) skipped, written set-based."""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from guanxi.core.errors import ValidationFailed
from guanxi.interactions import selectors as interaction_selectors
from guanxi.interactions.choices import Channel, Direction, InteractionKind
from guanxi.interactions.services import interaction_prepare, interactions_bulk_create

from .. import values as v
from ..choices import RecordAction, Severity
from .base import Outcome, Prepared
from .linking import Key, LinkedImporter

KIND = v.ChoiceReader(
    InteractionKind,
    {"电话": "call", "通话": "call", "来电": "call", "去电": "call", "打电话": "call",
     "电话沟通": "call", "phone": "call", "phonecall": "call", "邮件": "email",
     "电子邮件": "email", "e-mail": "email", "mail": "email", "会议": "meeting",
     "开会": "meeting", "会面": "meeting", "视频会议": "meeting", "拜访": "visit",
     "上门": "visit", "上门拜访": "visit", "走访": "visit", "面访": "visit", "聊天": "chat",
     "微信": "chat", "在线沟通": "chat", "即时消息": "chat", "社交": "social",
     "社交媒体": "social", "微博": "social", "朋友圈": "social", "备注": "note",
     "笔记": "note", "记录": "note", "便签": "note"},
)  # fmt: skip
DIRECTION = v.ChoiceReader(
    Direction,
    {"呼入": "inbound", "来电": "inbound", "来访": "inbound", "收到": "inbound",
     "in": "inbound", "incoming": "inbound", "呼出": "outbound", "去电": "outbound",
     "外呼": "outbound", "发出": "outbound", "out": "outbound", "outgoing": "outbound",
     "内部": "internal"},
)  # fmt: skip
CHANNEL = v.ChoiceReader(
    Channel,
    {"电话": "phone", "手机": "phone", "座机": "phone", "邮件": "email", "邮箱": "email",
     "微信": "wechat", "企业微信": "wechat", "短信": "sms", "当面": "in_person",
     "面谈": "in_person", "线下": "in_person", "现场": "in_person", "面对面": "in_person",
     "视频": "video", "视频会议": "video", "腾讯会议": "video", "网站": "web", "官网": "web",
     "网页": "web", "微博": "weibo", "其他": "other", "其它": "other"},
)  # fmt: skip
CHOICES = {"kind": KIND, "direction": DIRECTION, "channel": CHANNEL}
TEXTS = ("subject", "body", "outcome", "next_step")
SUBJECT_FROM_BODY = 60  # characters of the body's first line that make a missing subject


@dataclass(slots=True)
class InteractionRow:
    keys: list[Key]
    data: dict  # cleaned by interaction_prepare
    user_id: int | None


class InteractionImporter(LinkedImporter):
    kind = "interactions"
    action = "interaction.log"

    def not_allowed(self, customer_id: int) -> str:
        return _("You may not log interactions with customer #%(id)s.") % {"id": customer_id}

    # Reading ---------------------------------------------------------------------------------

    def prepare(self, row) -> Prepared:
        p = Prepared(row.number)
        if row.notes:
            self.cell_notes(p, row)
        keys = self.customer_keys(p, row)
        data: dict = {}
        for key, reader in CHOICES.items():
            value = self.convert(p, row, key, reader)
            if value:
                data[key] = value
        if not self.cell(row, "kind")[1]:
            data["kind"] = InteractionKind.NOTE  # a row that does not say is a note
        for key in TEXTS:
            _column, text = self.cell(row, key)
            if text:
                data[key] = text.strip()
        if not data.get("subject"):
            # Call logs often have none: the body's first line, or the kind, stands for it.
            first = (data.get("body") or "").strip().splitlines()
            line = v.text(first[0]) if first else ""
            data["subject"] = (
                line[: SUBJECT_FROM_BODY - 1] + "…" if len(line) > SUBJECT_FROM_BODY else line
            ) or str(InteractionKind(data.get("kind") or InteractionKind.NOTE).label)
        occurred = self.convert(p, row, "occurred_at", v.parse_datetime)
        if occurred is None and not self.cell(row, "occurred_at")[1]:
            self.issue(p, self.column_of("occurred_at"), "occurred_at", "",
                       _("This field is required."))  # fmt: skip
        data["occurred_at"] = occurred
        user_id = None
        column, name = self.cell(row, "user")
        if name:
            user = self.user_by_name(name)
            if user is None:
                self.issue(p, column, "user", name, self.unknown_user(name) + " "
                           + _("The interaction is recorded as yours."),
                           severity=Severity.WARNING)  # fmt: skip
            else:
                user_id = user.pk
        clean = {}
        if not any(i.severity == Severity.ERROR for i in p.issues):
            try:
                clean = interaction_prepare(data=data)
            except ValidationFailed as e:
                for key, messages in e.errors.items():
                    column, text = self.cell(row, key)
                    for message in messages:
                        self.issue(p, column, key, text, message)
        p.values = {**(clean or data), **{k.field: k.value for k in keys}}
        if user_id is not None:
            p.values["user"] = name
        if not any(i.severity == Severity.ERROR for i in p.issues):
            p.item = InteractionRow(keys, clean, user_id)
        return p

    def display(self, p: Prepared) -> dict[str, str]:
        shown = {}
        for key, value in p.values.items():
            if value in (None, ""):
                continue
            if key == "occurred_at":
                value = value.strftime("%Y-%m-%d %H:%M")
            elif key in CHOICES:
                value = CHOICES[key].choices(value).label
            shown[key] = str(value)
        return shown

    # Writing ---------------------------------------------------------------------------------

    def write(self, chunk: list[Prepared], *, dry_run: bool) -> Outcome:
        out = Outcome()
        good = [p for p in chunk if p.ok]
        out.add("failed", len(chunk) - len(good))
        linked = self.link([(p, p.item.keys) for p in good], out)
        rows = [p for p in good if p.row in linked]
        stored = self._stored(rows, linked)
        seen: dict[tuple, int] = {}  # (customer, time, subject) → the first row with it
        creates = []
        for p in rows:
            key = (linked[p.row], p.item.data["occurred_at"], p.item.data["subject"])
            if key in stored or key in seen:
                message = (
                    _("This customer already has an interaction with this time and subject; "
                      "skipped.")
                    if key in stored
                    else _("Same customer, time and subject as row %(row)s of this file; "
                           "skipped.") % {"row": seen[key]}
                )  # fmt: skip
                subject = p.item.data["subject"]
                self.problem(out, p, self.column_of("subject"), "subject", subject, message,
                             severity=Severity.WARNING)  # fmt: skip
                ref = {} if key in stored else {"same_as_row": seen[key]}
                out.outcomes[p.row] = {"action": "skipped", "customer": linked[p.row], **ref}
                out.add("skipped")
                continue
            seen[key] = p.row
            creates.append(p)
        ids = interactions_bulk_create(
            actor=self.actor,
            interactions=[(linked[p.row], p.item.data, p.item.user_id) for p in creates],
            event_data={"import": self.job.pk},
        )
        for p, pk in zip(creates, ids, strict=True):
            out.records.append((p.row, "interactions.interaction", pk, RecordAction.CREATED, None))
            out.outcomes[p.row] = {"action": "created", "customer": linked[p.row]}
        out.add("created", len(ids))
        return out

    def _stored(self, rows: list[Prepared], linked: dict[int, int]) -> set[tuple]:
        """(customer, time, subject) of the stored interactions these rows may repeat."""
        customers = sorted({linked[p.row] for p in rows})
        times = sorted({p.item.data["occurred_at"] for p in rows})
        if not customers:
            return set()
        found = set()
        qs = interaction_selectors.interaction_list(actor=self.actor)
        for start in range(0, len(times), 2000):
            found |= set(
                qs.filter(customer_id__in=customers, occurred_at__in=times[start : start + 2000])
                .order_by()
                .values_list("customer_id", "occurred_at", "subject")
            )
        return found
