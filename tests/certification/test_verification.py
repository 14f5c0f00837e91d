"""Public verification: valid, expired and revoked certificates, in the visitor's language, with
nothing private shown, and rate limited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from certification import services
from certification.codes import display_code
from certification.models import Certificate

pytestmark = pytest.mark.django_db


def test_valid_certificate_page_and_json(certificate: Certificate) -> None:
    client = Client()
    page = client.get(f"/verify/{certificate.code}", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    body = page.content.decode()
    assert "This certificate is valid." in body
    assert certificate.holder_name in body
    assert certificate.user.email not in body
    data = client.get(f"/verify/{certificate.code}.json").json()
    assert data["status"] == "valid"
    assert data["holder"] == certificate.holder_name
    assert data["hours"] == "40.0"
    assert "email" not in str(data).lower()


def test_the_page_reads_the_certificate_in_one_query_and_keeps_the_site_around_it(
    certificate: Certificate, dps_admin: Any
) -> None:
    """One query (the certificate with its issuing institution; not its course or program),
    the site's page around the facts (language, landmarks, title), and the revocation link for
    those who may revoke, in their language."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = Client()
    with CaptureQueriesContext(connection) as queries:
        page = client.get(f"/verify/{certificate.code}", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    assert len(sql) == 1, sql
    assert "certification_certificate" in sql[0]
    assert "courses_course" not in sql[0]
    body = page.content.decode()
    assert '<html lang="en"' in body
    assert "<main" in body
    assert "<title>Certificate verification" in body
    assert display_code(certificate.code) in body
    assert "Revoke this certificate" not in body
    client.force_login(dps_admin)
    page = client.get(f"/verify/{certificate.code}", HTTP_ACCEPT_LANGUAGE="es")
    assert f"/certificates/{certificate.pk}/revoke" in page.content.decode()


def test_typed_code_with_dashes_and_lowercase_is_found(certificate: Certificate) -> None:
    typed = display_code(certificate.code).lower()
    response = Client().get("/verify/", {"code": typed})
    assert response.status_code == 302
    assert response["Location"].endswith(f"/verify/{certificate.code}")


def test_expired_certificate(certificate: Certificate) -> None:
    Certificate.objects.filter(pk=certificate.pk).update(
        expires_on=timezone.localdate() - timedelta(days=1)
    )
    data = Client().get(f"/verify/{certificate.code}.json").json()
    assert data["status"] == "expired"
    page = Client().get(f"/verify/{certificate.code}", HTTP_ACCEPT_LANGUAGE="en")
    assert "This certificate has expired." in page.content.decode()


def test_revoked_certificate_shows_the_reason(certificate: Certificate, dps_admin: Any) -> None:
    services.revoke_certificate(certificate=certificate, actor=dps_admin, reason="Exam fraud")
    data = Client().get(f"/verify/{certificate.code}.json").json()
    assert data["status"] == "revoked"
    assert data["revocation_reason"] == "Exam fraud"
    page = Client().get(f"/verify/{certificate.code}", HTTP_ACCEPT_LANGUAGE="en")
    assert "This certificate has been revoked." in page.content.decode()


def test_page_in_the_visitors_language(certificate: Certificate) -> None:
    page = Client().get(f"/verify/{certificate.code}", HTTP_ACCEPT_LANGUAGE="fr")
    body = page.content.decode()
    assert "Gestion policière stratégique" in body
    assert "Ce certificat est valide." in body
    data = Client().get(f"/verify/{certificate.code}.json", HTTP_ACCEPT_LANGUAGE="es").json()
    assert data["title"] == "Gestión policial estratégica"


def test_hours_are_written_as_the_visitors_language_writes_numbers(
    certificate: Certificate,
) -> None:
    """12,5 on a French or Spanish page, 12.5 on an English one; the JSON keeps "12.5"."""
    Certificate.objects.filter(pk=certificate.pk).update(credit_hours="12.5")
    for language, hours in (("fr", "12,5"), ("es", "12,5"), ("en", "12.5")):
        body = Client().get(f"/verify/{certificate.code}", HTTP_ACCEPT_LANGUAGE=language).text
        assert f"<dd>{hours}</dd>" in body, language
    data = Client().get(f"/verify/{certificate.code}.json", HTTP_ACCEPT_LANGUAGE="es").json()
    assert data["hours"] == "12.5"


def test_unknown_code_is_404() -> None:
    assert Client().get("/verify/ZZZZZZZZZZZZ").status_code == 404
    assert Client().get("/verify/not-a-code.json").status_code == 404


def test_verification_is_rate_limited_per_ip(settings: Any, certificate: Certificate) -> None:
    settings.CERTIFICATION_VERIFY_RATE = (5, 60)
    client = Client(REMOTE_ADDR="203.0.113.9")
    statuses = [client.get("/verify/ZZZZZZZZZZZZ").status_code for _ in range(6)]
    assert statuses == [404] * 5 + [429]
    assert client.get(f"/verify/{certificate.code}.json").status_code == 429
    other = Client(REMOTE_ADDR="203.0.113.10")
    assert other.get(f"/verify/{certificate.code}.json").status_code == 200
