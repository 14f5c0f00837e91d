"""`manage.py rebuild_dashboards`: recompute every dashboard aggregate from the source tables."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from tqdm import tqdm

from lms.dashboards import services

STEPS = ("recount", "clear", "tallies", "activity", "attendance")


class Command(BaseCommand):
    help = "Recompute the dashboards' aggregates from enrolments, certificates and attendance."

    def handle(self, *args: Any, **options: Any) -> None:
        with tqdm(total=len(STEPS), desc="dashboards", unit="step", file=self.stderr) as bar:

            def advance(name: str) -> None:
                bar.set_postfix_str(name)
                bar.update(1)

            cells = services.rebuild(progress=advance)
        self.stdout.write(f"Rebuilt {cells} tally cells.")
