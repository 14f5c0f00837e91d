"""manage.py import_officers --institution <id> FILE: the bulk onboarding of the upload page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from tqdm import tqdm

from lms.accounts.models import Institution
from lms.accounts.services import ImportFileError, import_officers, read_officer_file


class Command(BaseCommand):
    help = "Import officers from a CSV or XLSX file into an institution (all or nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--institution", type=int, required=True, help="institution id")
        parser.add_argument(
            "--no-invite", action="store_true", help="create people without emailing invitations"
        )
        parser.add_argument("--language", default="en", help="language of the error messages")

    def handle(self, *args: Any, **options: Any) -> None:
        translation.activate(options["language"])
        try:
            institution = Institution.objects.get(pk=options["institution"])
        except Institution.DoesNotExist:
            raise CommandError(f"No institution with id {options['institution']}.") from None
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No file at {path}.")
        with (
            path.open("rb") as stream,
            tqdm(desc="rows checked", unit=" rows", disable=options["verbosity"] == 0) as bar,
        ):
            try:
                result = import_officers(
                    institution=institution,
                    rows=read_officer_file(stream, path.name),
                    invite=not options["no_invite"],
                    progress=bar.update,
                )
            except ImportFileError as exc:
                raise CommandError(str(exc.message)) from None
        if not result.ok:
            for error in result.errors[:1000]:
                self.stderr.write(f"line {error.line}, {error.field}: {error.message}")
            raise CommandError(f"Nothing imported: {len(result.errors)} errors.")
        self.stdout.write(
            self.style.SUCCESS(
                f"{result.created} created, {result.updated} updated, "
                f"{result.unchanged} unchanged in {institution}."
            )
        )
