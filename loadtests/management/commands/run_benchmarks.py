"""Run the benchmarks in loadtests/bench/ and write docs/PERFORMANCE.md.

Each module `loadtests/bench/bench_<area>.py` defines `run(options) -> str`, returning a Markdown
section; the section is also kept in docs/performance/<area>.md, so that one area can be rerun
(`--only <area>`) and the report still holds the others' last figures.

A section's file keeps what follows its NOTES_MARKER line (notes written by hand) when the area is
measured again.

The areas run with DEBUG off, as a server does: with it on (the bare laptop's default) Django
logs every query with its values written in, which a bulk request pays for more than for its
queries. What DEBUG decides when the settings load (static files, templates) stays as it was.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.test.utils import override_settings

import loadtests.bench


class Command(BaseCommand):
    help = "Run the benchmarks and write docs/PERFORMANCE.md."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--only", action="append", default=[], help="run only these areas")
        parser.add_argument(
            "--scale", type=float, default=1.0, help="fraction of the full data size"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        docs = Path(settings.BASE_DIR) / "docs"
        sections_dir = docs / "performance"
        sections_dir.mkdir(parents=True, exist_ok=True)
        names = sorted(
            name[len("bench_") :]
            for _finder, name, _pkg in pkgutil.iter_modules(loadtests.bench.__path__)
            if name.startswith("bench_")
        )
        for area in names:
            if options["only"] and area not in options["only"]:
                continue
            module = importlib.import_module(f"loadtests.bench.bench_{area}")
            self.stdout.write(f"benchmark {area} …")
            started = time.perf_counter()
            with override_settings(DEBUG=False, **_decided_by_debug()):
                section = module.run({"scale": options["scale"], "stdout": self.stdout})
            elapsed = time.perf_counter() - started
            path = sections_dir / f"{area}.md"
            path.write_text(section.rstrip() + "\n" + _kept_notes(path))
            self.stdout.write(f"benchmark {area} done in {elapsed:.0f} s")
        parts = [
            "# Performance\n",
            "Written by `make bench` (`manage.py run_benchmarks`). Each section says how it was measured;",
            "rerun one area with `make bench BENCH_ARGS='--only <area>'`. The areas run with DEBUG off,",
            "as a server does, their test clients share one handler (the middleware built once, as",
            "in a server process) and a request's queries are counted without being logged",
            "(loadtests/bench/harness.py), BEGIN and COMMIT not included. Sections measured before",
            "2026-12-06's fourth session timed with every query logged and counted BEGIN and COMMIT.\n",
        ]
        parts += [path.read_text() for path in sorted(sections_dir.glob("*.md"))]
        (docs / "PERFORMANCE.md").write_text("\n".join(parts))
        self.stdout.write(self.style.SUCCESS(f"wrote {docs / 'PERFORMANCE.md'}"))


# A section's notes written by hand follow this line; a new measurement keeps them.
NOTES_MARKER = "<!-- Notes written by hand: kept when the benchmark is run again. -->"


def _kept_notes(path: Path) -> str:
    """The hand-written notes of a section file (from NOTES_MARKER on), or nothing."""
    if not path.exists():
        return ""
    text = path.read_text()
    at = text.find(NOTES_MARKER)
    return "" if at < 0 else "\n" + text[at:].rstrip() + "\n"


def _decided_by_debug() -> dict[str, Any]:
    """Settings whose default follows DEBUG at the time they are read, kept as they are."""
    return {
        "CERTIFICATION_GENERATE_KEYS": getattr(
            settings,
            "CERTIFICATION_GENERATE_KEYS",
            settings.DEBUG or getattr(settings, "TESTING", False),
        )
    }
