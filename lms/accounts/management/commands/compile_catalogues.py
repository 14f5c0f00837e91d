"""Compile every django.po catalogue (project and apps) to .mo, with GNU msgfmt or, where it is
missing, with polib, so that a machine with only Python can install the LMS.

First it builds settings.DJANGO_PT_BR_AS_PT: the Brazilian Portuguese catalogues of Django and of
the other installed libraries merged into one "pt" catalogue (an earlier app's message first, as
Django merges them), which LOCALE_PATHS puts above their European Portuguese "pt" ones."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import polib  # type: ignore[import-untyped]
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Compile the translation catalogues of the project and of every app."

    def handle(self, *args: Any, **options: Any) -> None:
        target = getattr(settings, "DJANGO_PT_BR_AS_PT", None)
        if target is not None:
            self.stdout.write(f"built {build_pt_br_as_pt(Path(target))} Brazilian message(s)")
        roots = [Path(p) for p in settings.LOCALE_PATHS]
        roots += [Path(config.path) / "locale" for config in apps.get_app_configs()]
        msgfmt = shutil.which("msgfmt")
        compiled = 0
        for root in roots:
            if not root.is_dir() or ".venv" in root.parts:
                continue
            for po_path in sorted(root.glob("*/LC_MESSAGES/*.po")):
                mo_path = po_path.with_suffix(".mo")
                if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                    continue
                if msgfmt:
                    subprocess.run(
                        [msgfmt, "--check-format", "-o", str(mo_path), str(po_path)], check=True
                    )
                else:
                    polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
                compiled += 1
        self.stdout.write(f"compiled {compiled} catalogue(s)")


def build_pt_br_as_pt(target: Path) -> int:
    """Merge the pt_BR catalogues of Django (its core, then its installed apps and the other
    libraries in INSTALLED_APPS order, the first one's translation kept) into
    target/pt/LC_MESSAGES/django.po; rewritten only when a source is newer. The number of
    messages."""
    import django

    # Our own apps have "pt" catalogues only, so every pt_BR one is Django's or a library's.
    sources = [Path(django.__file__).parent / "conf" / "locale"]
    sources += [Path(config.path) / "locale" for config in apps.get_app_configs()]
    files = [path / "pt_BR" / "LC_MESSAGES" / "django.po" for path in sources]
    files = [path for path in files if path.is_file()]
    out = target / "pt" / "LC_MESSAGES" / "django.po"
    newer = [*files, Path(__file__)]  # this builder's own changes rebuild it too
    if out.exists() and all(out.stat().st_mtime >= path.stat().st_mtime for path in newer):
        return len(polib.pofile(str(out)))
    merged = polib.POFile()
    merged.metadata = {
        "Content-Type": "text/plain; charset=UTF-8",
        "Language": "pt",
        "Plural-Forms": "nplurals=2; plural=(n > 1);",  # pt_BR's, which every source uses
    }
    found: dict[tuple[str | None, str], polib.POEntry] = {}
    # Later sources first, so that an earlier one (an app listed before) replaces their entry.
    for path in reversed(files):
        for entry in polib.pofile(str(path)):
            if entry.translated() and not entry.obsolete:
                found[(entry.msgctxt, entry.msgid)] = entry
    lower = _calendar_names()
    for entry in found.values():
        if entry.msgid in lower:
            # Brazilian Portuguese writes months and weekdays in lower case ("6 de dezembro de
            # 2026", "segunda-feira"); Django's pt_BR capitalises them.
            entry.msgstr = entry.msgstr.lower()
        merged.append(
            polib.POEntry(
                msgctxt=entry.msgctxt,
                msgid=entry.msgid,
                msgid_plural=entry.msgid_plural,
                msgstr=entry.msgstr,
                msgstr_plural=dict(entry.msgstr_plural),
                flags=[],
            )  # fmt: skip
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    merged.save(str(out))
    return len(merged)


def _calendar_names() -> set[str]:
    """The English source of Django's month and weekday names, in every form dates use."""
    from django.utils import dates, translation

    with translation.override(None):  # no language: each lazy name gives its source
        return {
            str(name)
            for names in (
                dates.MONTHS, dates.MONTHS_3, dates.MONTHS_AP, dates.MONTHS_ALT,
                dates.WEEKDAYS, dates.WEEKDAYS_ABBR,
            )
            for name in names.values()
        }  # fmt: skip
