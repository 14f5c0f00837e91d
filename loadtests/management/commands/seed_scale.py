"""manage.py seed_scale: the 200,000-learner data set (see loadtests/seeding.py)."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from loadtests.seeding import Seeder, vacuum_seeded


class Command(BaseCommand):
    help = "Seed realistic data at scale: learners, enrolments, attempts, certificates, statements."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--learners", type=int, default=200_000)
        parser.add_argument("--seed", type=int, default=42, help="same seed, same rows")
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")
        parser.add_argument(
            "--no-dashboards", action="store_true", help="skip rebuild_dashboards afterwards"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("seed_scale needs PostgreSQL (set DATABASE_URL)")
        if options["learners"] < 100:
            raise CommandError("--learners must be at least 100")
        seeder = Seeder(
            learners=options["learners"],
            seed=options["seed"],
            out=self.stdout,
            progress=not options["no_progress"],
        )
        try:
            report = seeder.run()
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        if not options["no_dashboards"] and "rebuild_dashboards" in get_commands():
            call_command("rebuild_dashboards", stdout=self.stdout)
        vacuumed = vacuum_seeded(progress=not options["no_progress"])
        self.stdout.write(f"seeded in {report.total_seconds} s, vacuumed in {vacuumed} s")
        for label, count in report.counts.items():
            self.stdout.write(f"{label}: {count}")
