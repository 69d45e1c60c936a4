"""The zh_Hans catalogue is complete, compiled, and covers every string in the code."""

import gettext
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import po  # noqa: E402

LC = ROOT / "guanxi" / "locale" / "zh_Hans" / "LC_MESSAGES"


def _entries():
    return po.parse((LC / "django.po").read_text(encoding="utf-8"))[1:]


def test_every_string_has_a_chinese_translation():
    missing = [e.msgid for e in _entries() if not e.translated]
    assert not missing, f"{len(missing)} untranslated or fuzzy: {missing[:20]}"


def test_compiled_catalogue_matches_the_po_file():
    catalogue = gettext.GNUTranslations((LC / "django.mo").open("rb"))
    stale = []
    for e in _entries():
        if e.msgid_plural is not None or not e.translated:
            continue
        key = f"{e.msgctxt}\x04{e.msgid}" if e.msgctxt else e.msgid
        if catalogue._catalog.get(key) != e.msgstr:
            stale.append(e.msgid)
    assert not stale, f"django.mo is older than django.po (make compilemessages): {stale[:10]}"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext's xgettext")
def test_catalogue_covers_every_string_in_the_code(tmp_path):
    """Re-extract into a scratch copy and compare msgids with the committed catalogue."""
    scratch = tmp_path / "src"
    shutil.copytree(
        ROOT / "guanxi",
        scratch / "guanxi",
        ignore=shutil.ignore_patterns("locale", "__pycache__", "tests", "static"),
    )
    from i18n import makemessages_in

    fresh_po = makemessages_in(scratch)
    fresh = po.parse(fresh_po.read_text())[1:]
    have = {e.msgid for e in _entries()}
    from i18n import django_translates

    new = sorted(m for m in {e.msgid for e in fresh} - have if not django_translates(m))
    assert not new, f"strings missing from the catalogue (make messages): {new[:20]}"
