"""Load the demo data: each app contributes through a `demo.py` module with `seed(context)`.

Apps are visited in INSTALLED_APPS order (lowest first), so that each finds what the apps below it
created in `context`. Running it again changes nothing and duplicates nothing.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction


class Command(BaseCommand):
    help = (
        "Create the demo member states' institutions, university, people and courses (idempotent)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        context: dict[str, Any] = {"logins": []}
        for config in apps.get_app_configs():
            try:
                module = import_module(f"{config.name}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.demo":
                    raise
                continue
            with transaction.atomic():
                module.seed(context)
            self.stdout.write(f"demo data: {config.label} ready")
        if context["logins"]:
            self.stdout.write("")
            self.stdout.write(self.style.SUCCESS("Demo sign-ins (email / password / role):"))
            for email, password, role in context["logins"]:
                self.stdout.write(f"  {email:<40} {password:<20} {role}")
            self.stdout.write("")
