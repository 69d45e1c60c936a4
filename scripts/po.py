"""A small reader and writer of gettext .po files (no dependency), for scripts/i18n.py and tests."""

import ast
from dataclasses import dataclass, field


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: str = ""
    msgstr_plural: dict[int, str] = field(default_factory=dict)
    msgctxt: str | None = None
    comments: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)

    @property
    def translated(self) -> bool:
        if "fuzzy" in self.flags:
            return False
        if self.msgid_plural is not None:
            return bool(self.msgstr_plural) and all(self.msgstr_plural.values())
        return bool(self.msgstr)


def parse(text: str) -> list[Entry]:
    entries, cur, last = [], Entry(), None

    def flush():
        nonlocal cur
        if cur.msgid or cur.msgstr or cur.msgid_plural:
            entries.append(cur)
        cur = Entry()

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            flush()
            last = None
            continue
        if line.startswith("#,"):
            cur.flags |= {f.strip() for f in line[2:].split(",")}
            continue
        if line.startswith("#"):
            cur.comments.append(raw)
            continue
        if line.startswith('"'):
            value = ast.literal_eval(line)
            if last == "msgid":
                cur.msgid += value
            elif last == "msgid_plural":
                cur.msgid_plural += value
            elif last == "msgstr":
                cur.msgstr += value
            elif last == "msgctxt":
                cur.msgctxt += value
            elif isinstance(last, int):
                cur.msgstr_plural[last] += value
            continue
        key, _sep, rest = line.partition(" ")
        value = ast.literal_eval(rest)
        if key == "msgid" and (cur.msgid or cur.msgstr):
            flush()
        if key.startswith("msgstr["):
            n = int(key[7:-1])
            cur.msgstr_plural[n] = value
            last = n
        else:
            setattr(cur, key, value)
            last = key
    flush()
    return entries


def _quote(s: str) -> str:
    out = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{out}"'


def dump(entries: list[Entry]) -> str:
    lines = []
    for e in entries:
        lines += e.comments
        if e.flags:
            lines.append("#, " + ", ".join(sorted(e.flags)))
        if e.msgctxt is not None:
            lines.append(f"msgctxt {_quote(e.msgctxt)}")
        lines.append(f"msgid {_quote(e.msgid)}")
        if e.msgid_plural is not None:
            lines.append(f"msgid_plural {_quote(e.msgid_plural)}")
            for n in sorted(e.msgstr_plural):
                lines.append(f"msgstr[{n}] {_quote(e.msgstr_plural[n])}")
        else:
            lines.append(f"msgstr {_quote(e.msgstr)}")
        lines.append("")
    return "\n".join(lines)
