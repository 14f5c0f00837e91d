"""`manage.py certification_keys`: a new set of the certificates' signing keys, as environment
lines for a deployment's secrets (deploy/RUNBOOK.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from certification import keys


class Command(BaseCommand):
    help = (
        "Print a new PDF signing key with its self-signed certificate and a new credentials key "
        "as NAME=value lines (each PEM on one line, line breaks written as \\n), for deploy/.env "
        "or deploy/k8s/secrets.env. Generate them once per deployment and keep them: the "
        "certificates issued are verified against them."
    )
    requires_system_checks: list[str] = []  # it is how the deployment check is satisfied

    def handle(self, *args: Any, **options: Any) -> None:
        for name, pem in keys.generate().items():
            one_line = pem.strip().replace("\n", "\\n")  # line breaks as the two characters \n
            self.stdout.write(f"{name}={one_line}")
