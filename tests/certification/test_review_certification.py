"""Review of the certification app (helper h2): odd verification codes, revoking twice, the
expiry reminder of renewed certificates and its dates."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from certification import services
from certification.models import Certificate

pytestmark = pytest.mark.django_db


def _client(user: Any = None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize(
    "code",
    ["A" * 5000, "ǅǅǅǅ", "ß" * 6, "%00", "７Ｋ３Ｍ", "..", "x.json", "é" * 12, "\u200b" * 12],
)
def test_odd_codes_are_4xx(code: str) -> None:
    for url in (f"/verify/{code}", f"/verify/{code}.json", f"/verify/?code={code}"):
        response = _client().get(url)
        assert response.status_code < 500, (url, response.status_code)


def test_revoking_a_revoked_certificate_is_refused_and_keeps_the_published_reason(
    certificate: Certificate, dps_admin: Any
) -> None:
    client = _client(dps_admin)
    client.post(f"/certificates/{certificate.pk}/revoke", {"reason": "Exam fraud"}, follow=True)
    second = client.post(f"/certificates/{certificate.pk}/revoke", {"reason": "Typo in name"})
    assert second.status_code == 409
    assert "already revoked" in second.content.decode()
    assert "The certificate was revoked." not in second.content.decode()
    certificate.refresh_from_db()
    assert certificate.revocation_reason == "Exam fraud"
    assert client.get(f"/certificates/{certificate.pk}/revoke").status_code == 409


def test_huge_ids_are_404(dps_admin: Any) -> None:
    client = _client(dps_admin)
    big = "9" * 30
    for url in (
        f"/accreditation/requests/{big}/",
        f"/accreditation/requests/{big}/outcomes/",
        f"/certificates/runs/{big}/issue",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/accreditation/requests/{big}/approve/").status_code == 404


def test_bulk_verification_of_odd_input_is_not_a_500(
    validator: Any, certificate: Certificate
) -> None:
    client = _client(validator)
    for text in ("\x00abc", "ǅ" * 100, "A" * 100000, certificate.code + "\n" + "é" * 12):
        response = client.post("/certificates/verify-many", {"codes_text": text})
        assert response.status_code < 500
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        "/certificates/verify-many",
        {"codes_file": SimpleUploadedFile("c.txt", b"\x00\x00" + certificate.code.encode())},
    )
    assert response.status_code < 500


def test_the_expiry_reminder_writes_the_date_as_the_holders_language_does(
    certificate: Certificate, mailoutbox: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone, translation
    from django.utils.formats import date_format

    expires_on = timezone.localdate() + timedelta(days=10)
    Certificate.objects.filter(pk=certificate.pk).update(expires_on=expires_on, language="fr")
    assert services.send_expiry_reminders() == 1
    with translation.override("fr"):
        french = date_format(expires_on, "DATE_FORMAT")  # "12 mars 2027"
    body = mailoutbox[0].body
    assert f"expire le {french}." in body, body
    assert expires_on.isoformat() not in body


def test_a_certificate_already_renewed_gets_no_reminder_to_renew_it(
    learner: Any, run: Any, institution: Any, mailoutbox: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from certification.models import CertificateTemplate
    from tests.certification.factories import RunFactory, completed

    refresher = RunFactory(host_institution=institution)
    CertificateTemplate.objects.create(
        course=run.course, validity_years=2, refresher_course=refresher.course
    )
    original = services.issue_course_certificate(enrollment_id=completed(learner, run).pk)
    assert original is not None
    # The officer took the refresher course early, before the reminder window opened.
    renewed = services.issue_course_certificate(enrollment_id=completed(learner, refresher).pk)
    assert renewed is not None
    assert renewed.renewal_of == original
    Certificate.objects.filter(pk=original.pk).update(
        expires_on=timezone.localdate() + timedelta(days=10)
    )
    assert services.send_expiry_reminders() == 0
    assert mailoutbox == []


def test_a_certificate_whose_renewal_was_revoked_is_still_reminded(
    learner: Any, run: Any, institution: Any, mailoutbox: Any, dps_admin: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from certification.models import CertificateTemplate
    from tests.certification.factories import RunFactory, completed

    refresher = RunFactory(host_institution=institution)
    CertificateTemplate.objects.create(
        course=run.course, validity_years=2, refresher_course=refresher.course
    )
    original = services.issue_course_certificate(enrollment_id=completed(learner, run).pk)
    renewed = services.issue_course_certificate(enrollment_id=completed(learner, refresher).pk)
    assert original is not None
    assert renewed is not None
    services.revoke_certificate(certificate=renewed, actor=dps_admin, reason="Exam fraud")
    Certificate.objects.filter(pk=original.pk).update(
        expires_on=timezone.localdate() + timedelta(days=10)
    )
    assert services.send_expiry_reminders() == 1
