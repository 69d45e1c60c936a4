#!/usr/bin/env python
"""Extract and compile Guanxi's translations.

    python scripts/i18n.py extract   # makemessages for our code + the msgids of unfold's templates
    python scripts/i18n.py compile   # compilemessages for guanxi/locale

django-unfold ships no translations of its own strings ("Search apps and models…", "Filters"),
so their msgids are extracted from the installed package into our catalogue.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "guanxi" / "locale"
PO = LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po"
IGNORES = [".venv", "var", "benchmarks", "tests", "scripts", "docs", "*/tests/*", "build"]


def manage(*args, cwd=ROOT):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "guanxi.settings", "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "django", *args], cwd=cwd, env=env, check=True)


def makemessages_in(scratch: Path) -> Path:
    """makemessages over a scratch folder with settings of its own, so it writes only there."""
    (scratch / "locale").mkdir(exist_ok=True)
    (scratch / "scratch_i18n_settings.py").write_text(
        "SECRET_KEY = 'x'\nUSE_I18N = True\nINSTALLED_APPS = []\n"
        f"LOCALE_PATHS = [{str(scratch / 'locale')!r}]\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(scratch),
        "DJANGO_SETTINGS_MODULE": "scratch_i18n_settings",
    }
    subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "makemessages",
            "-l",
            "zh_Hans",
            "--no-location",
            "--ignore=scratch_i18n_settings.py",
        ],
        cwd=scratch,
        env=env,
        check=True,
        capture_output=True,
    )
    return scratch / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def unfold_pot() -> Path | None:
    """Make a .po of unfold's own strings in a scratch copy of the package."""
    import unfold

    src = Path(unfold.__file__).parent
    # Nested one level down: run from inside the copy, its dataclasses.py would shadow the stdlib.
    scratch = Path(tempfile.mkdtemp())
    shutil.copytree(src, scratch / "src", ignore=shutil.ignore_patterns("static", "__pycache__"))
    return makemessages_in(scratch)


def extract():
    sys.path.insert(0, str(ROOT / "scripts"))
    import po

    before = {(e.msgctxt, e.msgid): e for e in po.parse(PO.read_text())[1:]} if PO.exists() else {}
    manage(
        "makemessages",
        "-l",
        "zh_Hans",
        "--no-obsolete",
        "--no-location",
        *[f"--ignore={i}" for i in IGNORES],
    )
    theirs = unfold_pot()
    if theirs and theirs.exists():
        merged = PO.with_suffix(".merged")
        # Ours first: msgcat keeps the first translation it sees for a msgid.
        subprocess.run(
            ["msgcat", "--use-first", "--no-location", "-o", str(merged), str(PO), str(theirs)],
            check=True,
        )
        merged.replace(PO)
    drop_strings_django_translates()
    keep_translations(before)


def keep_translations(before: dict) -> None:
    """makemessages drops unfold's entries (obsolete for our code) and msgcat brings them back
    empty, and msgmerge guesses fuzzy translations: restore what we had, drop the guesses."""
    import po

    entries = po.parse(PO.read_text())
    for e in entries[1:]:
        old = before.get((e.msgctxt, e.msgid))
        if old is not None and old.translated:
            e.msgstr, e.msgstr_plural = old.msgstr, dict(old.msgstr_plural)
        elif "fuzzy" in e.flags:
            e.msgstr = ""
            e.msgstr_plural = {n: "" for n in e.msgstr_plural}
        e.flags.discard("fuzzy")
        e.comments = [c for c in e.comments if not c.startswith("#|")]
    PO.write_text(po.dump(entries))


def django_translates(msgid: str) -> bool:
    """Does Django's own zh_Hans catalogue (core, admin, auth) translate this msgid?"""
    import gettext

    import django

    base = Path(django.__file__).parent
    for folder in (
        base / "conf" / "locale",
        base / "contrib" / "admin" / "locale",
        base / "contrib" / "auth" / "locale",
    ):
        catalogue = gettext.translation("django", str(folder), languages=["zh_Hans"], fallback=True)
        if catalogue.gettext(msgid) != msgid:
            return True
    return False


def drop_strings_django_translates():
    """Unfold reuses many of Django admin's msgids; Django's own catalogue translates those."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import po

    entries = po.parse(PO.read_text())
    header, rest = entries[0], entries[1:]
    kept = [
        e
        for e in rest
        if e.translated or e.msgid_plural is not None or not django_translates(e.msgid)
    ]
    PO.write_text(po.dump([header, *kept]))


def compile_():
    manage("compilemessages", "-l", "zh_Hans", "--ignore=.venv")


if __name__ == "__main__":
    {"extract": extract, "compile": compile_}[sys.argv[1]]()
