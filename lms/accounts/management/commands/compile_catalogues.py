"""Compile every django.po catalogue (project and apps) to .mo, with GNU msgfmt or, where it is
missing, with polib, so that a machine with only Python can install the LMS."""

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
