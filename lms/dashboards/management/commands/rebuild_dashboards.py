"""`manage.py rebuild_dashboards`: recompute every dashboard aggregate from the source tables."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from tqdm import tqdm

from lms.dashboards import services


class Command(BaseCommand):
    help = (
        "Recompute the dashboards' aggregates (tallies, rollups, activity) from enrolments, "
        "certificates and attendance, set-based, in one transaction."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with tqdm(
            total=len(services.REBUILD_STEPS) + 1, desc="dashboards", unit="step", file=self.stderr
        ) as bar:

            def advance(name: str) -> None:
                bar.set_postfix_str(name)
                bar.update(1)

            cells = services.rebuild(progress=advance)
            services.analyze()
            advance("analyze")
        self.stdout.write(f"Rebuilt {cells} tally cells.")
