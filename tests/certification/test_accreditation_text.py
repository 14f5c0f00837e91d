"""What a certificate says of its course's accreditation: the university, reference, credits and
micro-credential elements when the course version is accredited, none of it otherwise."""

from __future__ import annotations

import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from accreditation.models import AccreditationRequest
from certification import services
from certification.models import Certificate
from tests.accreditation.factories import RequestFactory
from tests.factories import UniversityFactory

pytestmark = pytest.mark.django_db


def _text(certificate: Certificate, tmp_path: Path) -> str:
    path = tmp_path / f"{certificate.code}.pdf"
    path.write_bytes(certificate.pdf.read())
    return subprocess.run(  # noqa: S603 - poppler's pdftotext on our own file
        ["/usr/bin/pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_certificate_of_an_accredited_course_states_the_accreditation(
    enrollment: Any, tmp_path: Path
) -> None:
    university = UniversityFactory(name="Universidad de la Red Policial")
    RequestFactory(
        course_version=enrollment.version,
        university=university,
        status=AccreditationRequest.Status.APPROVED,
        reference="URPI-2026-00042",
        credit_hours=Decimal("75.0"),
        ects_credits=Decimal("3.0"),
        ceu=Decimal("4.0"),
        valid_from=date(2020, 1, 1),
        valid_until=date(2099, 12, 31),
        decided_at=timezone.now(),
        quality_assurance="Reviewed by two faculty members",
    )
    certificate = services.issue_course_certificate(enrollment_id=enrollment.pk)
    assert certificate is not None
    text = " ".join(_text(certificate, tmp_path).split())
    assert "Accredited by Universidad de la Red Policial, reference URPI-2026-00042" in text
    assert "3.0 ECTS" in text
    assert "Reviewed by two faculty members" in text


def test_certificate_of_a_course_without_accreditation_states_none(
    certificate: Certificate, tmp_path: Path
) -> None:
    text = _text(certificate, tmp_path)
    assert certificate.holder_name in text
    assert "Accredited by" not in text
    assert "ECTS" not in text
