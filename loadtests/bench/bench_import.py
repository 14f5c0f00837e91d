"""Benchmark of bulk onboarding: 200,000 officers from one CSV file, then the same file again.

Measures the whole service (reading the file, validating every row, matching existing people,
writing) as a coordinator's upload or `manage.py import_officers` runs it, on the configured
database (PostgreSQL: COPY into a temporary table and INSERT … ON CONFLICT).
"""

from __future__ import annotations

import contextlib
import csv
import os
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from lms.accounts.models import Institution, MemberState, User
from lms.accounts.services import import_officers, read_officer_file

FULL_ROWS = 200_000
UNITS = ["Dirección de Tránsito", "Policía Fiscal", "Antinarcóticos", "Escuela Regional"]


def _write_file(path: Path, rows: int, changed_every: int = 0) -> None:
    languages = ["es", "en", "pt", "fr"]
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["full_name", "email", "badge_number", "unit", "language"])
        for number in range(rows):
            name = f"Oficial Número {number}"
            if changed_every and number % changed_every == 0:
                name += " (actualizado)"
            writer.writerow(
                [
                    name,
                    f"officer{number}@bench.police.example",
                    f"B{number:07d}",
                    UNITS[number % len(UNITS)] if number % 3 else "",
                    languages[number % 4],
                ]
            )


def _remove_people(institution: Institution) -> None:
    """Delete the benchmark's people (they have no enrolments or any other row).

    Some forty foreign keys point at accounts_user, so a plain DELETE of 200,000 people runs
    millions of referential checks (minutes); where allowed, the checks are switched off for
    this one transaction, since nothing can reference people the benchmark just made.
    """
    from django.db import DatabaseError, transaction

    if connection.vendor == "postgresql":
        # Without superuser rights the fast delete fails; the slower checked delete follows.
        with contextlib.suppress(DatabaseError):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
                cursor.execute(
                    "DELETE FROM accounts_user WHERE institution_id = %s", [institution.pk]
                )
            return
    User.objects.filter(institution=institution)._raw_delete(connection.alias)  # type: ignore[attr-defined]


def _timed_import(institution: Institution, path: Path) -> tuple[float, Any]:
    started = time.perf_counter()
    with path.open("rb") as stream:
        result = import_officers(
            institution=institution, rows=read_officer_file(stream, path.name), invite=False
        )
    elapsed = time.perf_counter() - started
    if not result.ok:
        raise RuntimeError(f"benchmark file rejected: {result.errors[:3]}")
    return elapsed, result


def run(options: dict[str, Any]) -> str:
    """Import FULL_ROWS × scale officers three times and return the Markdown section."""
    rows = max(1000, int(FULL_ROWS * float(options.get("scale", 1.0))))
    stdout = options.get("stdout")
    state = MemberState.objects.get(code="CO")
    institution, _ = Institution.objects.get_or_create(
        parent=None,
        name="Benchmark National Police",
        defaults={"member_state": state, "short_name": "BENCH"},
    )
    for unit in UNITS:
        Institution.objects.get_or_create(
            parent=institution, name=unit, defaults={"member_state": state, "kind": "unit"}
        )
    _remove_people(institution)
    folder = Path(settings.VAR_DIR) / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    first = folder / "officers.csv"
    changed = folder / "officers-changed.csv"
    _write_file(first, rows)
    _write_file(changed, rows, changed_every=100)
    size_mb = first.stat().st_size / 1_000_000

    create_s, created = _timed_import(institution, first)
    if stdout:
        stdout.write(f"  created {created.created} in {create_s:.1f} s")
    same_s, same = _timed_import(institution, first)
    change_s, change = _timed_import(institution, changed)
    total = User.objects.filter(institution=institution).count()
    _remove_people(institution)
    first.unlink()
    changed.unlink()

    load = os.getloadavg()[0]
    database = connection.vendor
    scale = float(options.get("scale", 1.0))
    lines = [
        "## Bulk onboarding of officers (`bench_import`)",
        "",
        f"Measured on this 2-core machine, database {database}, {rows:,} rows "
        f"(scale {scale:g}; full size is {FULL_ROWS:,}), a CSV file of {size_mb:.1f} MB. "
        "Each figure is the whole service as the upload page and `manage.py import_officers` "
        "run it: read the file, validate every row, match existing people by email and badge, "
        "write in one transaction. Invitation emails are queued to Celery in the real import "
        "and were switched off here (`invite=False`), so no time of email sending is included. "
        f"The machine's load average was {load:.1f} at the end of the run (2 cores, shared with "
        "other work at the time; an idle machine gives shorter times).",
        "",
        "| run | created | updated | unchanged | seconds | rows per second |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        f"| first import | {created.created:,} | {created.updated:,} | {created.unchanged:,} "
        f"| {create_s:.1f} | {rows / create_s:,.0f} |",
        f"| same file again | {same.created:,} | {same.updated:,} | {same.unchanged:,} "
        f"| {same_s:.1f} | {rows / same_s:,.0f} |",
        f"| 1% of names changed | {change.created:,} | {change.updated:,} | {change.unchanged:,} "
        f"| {change_s:.1f} | {rows / change_s:,.0f} |",
        "",
        f"People in the institution after the three runs: {total:,} (no duplicates). "
        f"Target: under 120 s for {FULL_ROWS:,} rows; "
        + ("met." if create_s * FULL_ROWS / rows < 120 else "NOT met.")
        + (
            ""
            if rows == FULL_ROWS
            else f" (The target is judged by extrapolating linearly from {rows:,} rows.)"
        ),
        "",
        "Command: `DATABASE_URL=postgres://… make bench BENCH_ARGS='--only import'`.",
    ]
    return "\n".join(lines) + "\n"
