"""Who may download, revoke, issue in bulk and verify many: grants and refusals."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from certification.models import Certificate, CertificateEvent
from tests.certification.factories import RunFactory
from tests.factories import RoleAssignmentFactory, UniversityFactory, UserFactory

pytestmark = pytest.mark.django_db


def _client(user: Any | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _coordinator_of(institution: Any) -> Any:
    user = UserFactory(institution=institution)
    RoleAssignmentFactory(user=user, role="coordinator", institution=institution)
    return user


def test_holder_and_coordinator_download_the_pdf(
    certificate: Certificate, coordinator: Any
) -> None:
    for user in (certificate.user, coordinator):
        response = _client(user).get(f"/certificates/{certificate.pk}/pdf")
        assert response.status_code == 200
        assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_others_cannot_download(
    certificate: Certificate, other_institution: Any, instructor: Any, validator: Any
) -> None:
    for user in (UserFactory(), _coordinator_of(other_institution), instructor, validator):
        assert _client(user).get(f"/certificates/{certificate.pk}/pdf").status_code == 403
        response = _client(user).get(f"/certificates/{certificate.pk}/credential.json")
        assert response.status_code == 403
    assert _client(None).get(f"/certificates/{certificate.pk}/pdf").status_code == 302


def test_coordinator_of_issuing_institution_revokes_with_audit(
    certificate: Certificate, coordinator: Any
) -> None:
    response = _client(coordinator).post(
        f"/certificates/{certificate.pk}/revoke", {"reason": "Issued by mistake"}
    )
    assert response.status_code == 302
    certificate.refresh_from_db()
    assert certificate.status == "revoked"
    event = CertificateEvent.objects.get(certificate=certificate, action="revoked")
    assert event.actor == coordinator
    assert event.note == "Issued by mistake"


def test_revocation_needs_a_reason(certificate: Certificate, dps_admin: Any) -> None:
    response = _client(dps_admin).post(
        f"/certificates/{certificate.pk}/revoke", {"reason": ""}, HTTP_ACCEPT_LANGUAGE="es"
    )
    assert response.status_code == 200
    assert "reason" in response.context["form"].errors
    certificate.refresh_from_db()
    assert certificate.revoked_at is None


def test_revocation_refused_to_others(
    certificate: Certificate, other_institution: Any, instructor: Any, validator: Any
) -> None:
    for user in (certificate.user, _coordinator_of(other_institution), instructor, validator):
        response = _client(user).post(f"/certificates/{certificate.pk}/revoke", {"reason": "x"})
        assert response.status_code == 403
    certificate.refresh_from_db()
    assert certificate.revoked_at is None


def test_bulk_issuance_page_scoping(
    run: Any, coordinator: Any, dps_admin: Any, other_institution: Any, instructor: Any
) -> None:
    assert _client(coordinator).get(f"/certificates/runs/{run.pk}/issue").status_code == 200
    assert _client(dps_admin).get(f"/certificates/runs/{run.pk}/issue").status_code == 200
    for user in (_coordinator_of(other_institution), instructor, UserFactory()):
        assert _client(user).get(f"/certificates/runs/{run.pk}/issue").status_code == 403
        assert _client(user).post(f"/certificates/runs/{run.pk}/issue").status_code == 403
    other_run = RunFactory(host_institution=other_institution)
    assert _client(coordinator).get(f"/certificates/runs/{other_run.pk}/issue").status_code == 403


def test_bulk_verification_open_to_validators_only(
    certificate: Certificate, validator: Any, dps_admin: Any, coordinator: Any
) -> None:
    codes = f"{certificate.code}\nZZZZZZZZZZZZ\n"
    for user in (validator, dps_admin):
        response = _client(user).post("/certificates/verify-many", {"codes_text": codes})
        assert response.status_code == 200
        results = response.context["results"]
        assert results[0]["facts"]["status"] == "valid"
        assert results[1]["facts"] is None
    for user in (certificate.user, coordinator):
        assert _client(user).get("/certificates/verify-many").status_code == 403


def test_the_verify_page_offers_bulk_verification_only_to_those_it_serves(
    validator: Any, dps_admin: Any, coordinator: Any, learner: Any
) -> None:
    for user in (validator, dps_admin):
        assert b"/certificates/verify-many" in _client(user).get("/verify/").content
    for user in (learner, coordinator):
        page = _client(user).get("/verify/")
        assert page.status_code == 200
        assert b"/certificates/verify-many" not in page.content
    assert b"/certificates/verify-many" not in Client().get("/verify/").content


def test_bulk_verification_reads_an_uploaded_file(certificate: Certificate, validator: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("codes.csv", f"{certificate.code}\n".encode(), "text/csv")
    response = _client(validator).post("/certificates/verify-many", {"codes_file": upload})
    assert response.context["results"][0]["facts"]["holder"] == certificate.holder_name


def test_my_certificates_lists_only_mine(
    certificate: Certificate, django_assert_max_num_queries: Any
) -> None:
    other = UserFactory()
    client = _client(certificate.user)
    with django_assert_max_num_queries(8):
        response = client.get("/certificates/")
    assert certificate.code in response.content.decode()
    assert certificate.code not in _client(other).get("/certificates/").content.decode()


def test_validator_of_another_university_cannot_see(certificate: Certificate) -> None:
    stranger = UserFactory()
    RoleAssignmentFactory(user=stranger, role="validator", university=UniversityFactory())
    assert _client(stranger).get(f"/certificates/{certificate.pk}/pdf").status_code == 403


def test_revoke_link_only_for_those_who_may_revoke(
    certificate: Certificate, coordinator: Any
) -> None:
    link = f"/certificates/{certificate.pk}/revoke"
    assert link in _client(coordinator).get(f"/verify/{certificate.code}").content.decode()
    for user in (None, certificate.user):
        assert link not in _client(user).get(f"/verify/{certificate.code}").content.decode()
